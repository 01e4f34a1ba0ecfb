"""Hypergraph convolution (HGNN).

Feng et al., "Hypergraph Neural Networks", AAAI 2019; in the form of Bai et al., "Hypergraph convolution
and hypergraph attention", Pattern Recognition 2021, Eq. 3:

    X' = D_v^-1/2 H W D_e^-1 H^T D_v^-1/2 X Theta + b

with the incidence ``H [N, M]``, hyperedge weights ``W = diag(w)``, node degrees ``D_v = diag(H w)`` and
edge degrees ``D_e = diag(1^T H)``. The inverses are guarded: an isolated node (``d(v) = 0``) or an empty
hyperedge (``d(e) = 0``) contributes 0, never inf or NaN, so an isolated node's output is the bias.

Computed as one sparse product ``S X Theta`` with ``S = D_v^-1/2 H W D_e^-1 H^T D_v^-1/2`` built from the
hyperedges' member lists (:meth:`hypergraph.structure.Hypergraph.propagate`): at most ``M K^2`` entries, so
``O(M K^2 C)`` rather than ``O(N M C)`` for a dense ``H``. The diagonal scalings are folded into the ``[M, K]``
coefficients (``D_v^-1/2[v] H[v, e]`` is known per member slot), and gradients reach the memberships.

Shapes:
    x: [..., N, C_in] (e.g. [B, N, C] or [B, T, N, C]) -> [..., N, C_out].
"""
from __future__ import annotations

import torch
from torch import nn

from .structure import Hypergraph, HypergraphLayer, safe_inverse_power

__all__ = ["HypergraphConv"]


class HypergraphConv(HypergraphLayer):
    """``X' = D_v^-1/2 H W D_e^-1 H^T D_v^-1/2 X Theta + b`` on a :class:`Hypergraph`.

    Shapes:
        x: [..., N, C_in], hypergraph on N nodes -> [..., N, C_out].
    """

    def __init__(self, in_channels: int, out_channels: int, *, bias: bool = True):
        super().__init__(in_channels, out_channels)
        self.theta = nn.Linear(in_channels, out_channels, bias=False)
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.theta.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, bias={self.bias is not None}"

    def forward(self, x: torch.Tensor, hypergraph: Hypergraph) -> torch.Tensor:
        self.check_input(x, hypergraph)
        # D_v^-1/2 of each member slot's node, then W D_e^-1 of each edge: [M, K] coefficients.
        to_nodes = hypergraph.membership * safe_inverse_power(hypergraph.node_degree(), 0.5)[hypergraph.members]
        edge_scale = hypergraph.edge_weight * safe_inverse_power(hypergraph.edge_degree(), 1.0)   # [M]
        out = hypergraph.propagate(self.theta(x), to_nodes * edge_scale.unsqueeze(-1), to_nodes)  # [..., N, C_out]
        return out if self.bias is None else out + self.bias
