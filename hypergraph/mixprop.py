"""Mix-hop propagation on a graph, as in MTGNN.

Wu et al., "Connecting the Dots: Multivariate Time Series Forecasting with Graph Neural Networks"
(MTGNN, KDD 2020), Eqs. 7-8. With the random-walk transition of the graph with self-loops
``P = D~^-1 (A + I)`` (``D~`` the row sums of ``A + I``) and retain ratio ``beta``:

    H^(0) = X,    H^(k) = beta X + (1 - beta) P H^(k-1)    (k = 1..depth)
    X'    = Theta [H^(0) || H^(1) || ... || H^(depth)]       (a 1x1 convolution over channels)

Keeping a share ``beta`` of the input at each hop stops deep propagation from over-smoothing, and the
concatenation lets the output choose among hop depths. Rows of ``P`` with no links (only possible for
negative or zero ``A + I`` rows) are zero rather than inf or NaN.

Shapes:
    x: [B, C_in, N, T] (MTGNN's layout), transition: [N, N] -> [B, C_out, N, T].
"""
from __future__ import annotations

import torch
from torch import nn

from .structure import safe_inverse_power

__all__ = ["MixProp", "transition_matrix"]


def transition_matrix(adjacency: torch.Tensor) -> torch.Tensor:
    """``P = D~^-1 (A + I)`` of a non-negative adjacency ``[N, N]`` (row-stochastic, self-loops added)."""
    if adjacency.ndim != 2 or adjacency.shape[0] != adjacency.shape[1]:
        raise ValueError(f"adjacency must be a square [N, N] matrix, got shape {tuple(adjacency.shape)}")
    looped = adjacency + torch.eye(adjacency.shape[0], dtype=adjacency.dtype, device=adjacency.device)
    return looped * safe_inverse_power(looped.sum(1, keepdim=True), 1.0)         # [N, N]


class MixProp(nn.Module):
    """``Theta [X || H^(1) || ... || H^(depth)]`` with ``H^(k) = beta X + (1 - beta) P H^(k-1)``.

    Shapes:
        x: [B, C_in, N, T], transition: [N, N] -> [B, C_out, N, T].
    """

    def __init__(self, in_channels: int, out_channels: int, *, depth: int = 2, beta: float = 0.05):
        super().__init__()
        if in_channels < 1 or out_channels < 1 or depth < 1:
            raise ValueError(f"in_channels, out_channels and depth must be >= 1, got {in_channels}, "
                             f"{out_channels} and {depth}")
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"beta (retain ratio) must be in [0, 1], got {beta}")
        self.in_channels, self.out_channels, self.depth, self.beta = in_channels, out_channels, depth, beta
        self.mix = nn.Conv2d((depth + 1) * in_channels, out_channels, kernel_size=(1, 1))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.mix.reset_parameters()

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, depth={self.depth}, beta={self.beta}"

    def forward(self, x: torch.Tensor, transition: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels or x.shape[2] != transition.shape[0]:
            raise ValueError(f"x has shape {tuple(x.shape)}; expected [B, C_in={self.in_channels}, "
                             f"N={transition.shape[0]}, T]")
        hops = [x]
        for _ in range(self.depth):  # a loop over hops (depth 2), not over nodes or samples
            propagated = torch.einsum("vw,bcwt->bcvt", transition, hops[-1])     # [B, C, N, T]
            hops.append(self.beta * x + (1.0 - self.beta) * propagated)
        return self.mix(torch.cat(hops, dim=1))                                  # [B, C_out, N, T]
