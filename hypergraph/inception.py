"""Dilated inception temporal convolution with tanh * sigmoid gating, as in MTGNN.

Wu et al., "Connecting the Dots: Multivariate Time Series Forecasting with Graph Neural Networks"
(MTGNN, KDD 2020), Eqs. 9-10. Parallel 1-D convolutions over time with kernel sizes ``2, 3, 6, 7``, each
with ``C_out / 4`` filters and the same dilation ``d``, all cropped to the shortest output and concatenated
(several receptive fields side by side, so no single kernel size has to be tuned):

    X_inc = concat_k( conv_{1 x k, dilation d}(X)[..., -T':] ),    T' = T - d (max k - 1)
    X'    = tanh(X_inc^filter) * sigmoid(X_inc^gate)              (gated, two separate inceptions)

Shapes:
    x: [B, C_in, N, T] -> [B, C_out, N, T - d * (max(kernel_sizes) - 1)].
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

__all__ = ["DilatedInception", "GatedDilatedInception", "KERNEL_SIZES"]

KERNEL_SIZES = (2, 3, 6, 7)


class DilatedInception(nn.Module):
    """Concatenated dilated convolutions of several kernel sizes, cropped to a common length.

    Shapes:
        x: [B, C_in, N, T] -> [B, C_out, N, T - dilation * (max(kernel_sizes) - 1)].
    """

    def __init__(self, in_channels: int, out_channels: int, *, dilation: int = 1,
                 kernel_sizes: Sequence[int] = KERNEL_SIZES):
        super().__init__()
        kernel_sizes = tuple(kernel_sizes)
        if not kernel_sizes or min(kernel_sizes) < 1:
            raise ValueError(f"kernel_sizes must be a non-empty sequence of sizes >= 1, got {kernel_sizes}")
        if out_channels % len(kernel_sizes):
            raise ValueError(f"out_channels={out_channels} must be divisible by the number of kernel sizes "
                             f"({len(kernel_sizes)}: {kernel_sizes})")
        if in_channels < 1 or dilation < 1:
            raise ValueError(f"in_channels and dilation must be >= 1, got {in_channels} and {dilation}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.dilation, self.kernel_sizes = dilation, kernel_sizes
        self.shrink = dilation * (max(kernel_sizes) - 1)
        self.branches = nn.ModuleList(
            nn.Conv2d(in_channels, out_channels // len(kernel_sizes), (1, k), dilation=(1, dilation))
            for k in kernel_sizes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for branch in self.branches:
            branch.reset_parameters()

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, dilation={self.dilation}, kernel_sizes={self.kernel_sizes}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels or x.shape[-1] <= self.shrink:
            raise ValueError(f"x has shape {tuple(x.shape)}; expected [B, C_in={self.in_channels}, N, T] "
                             f"with T > {self.shrink} (the receptive field minus one)")
        length = x.shape[-1] - self.shrink
        return torch.cat([branch(x)[..., -length:] for branch in self.branches], dim=1)  # [B, C_out, N, T']


class GatedDilatedInception(nn.Module):
    """``tanh(filter(x)) * sigmoid(gate(x))`` with two :class:`DilatedInception` blocks.

    Shapes:
        x: [B, C_in, N, T] -> [B, C_out, N, T - dilation * (max(kernel_sizes) - 1)].
    """

    def __init__(self, in_channels: int, out_channels: int, *, dilation: int = 1,
                 kernel_sizes: Sequence[int] = KERNEL_SIZES):
        super().__init__()
        self.filter = DilatedInception(in_channels, out_channels, dilation=dilation, kernel_sizes=kernel_sizes)
        self.gate = DilatedInception(in_channels, out_channels, dilation=dilation, kernel_sizes=kernel_sizes)
        self.shrink = self.filter.shrink

    def reset_parameters(self) -> None:
        self.filter.reset_parameters()
        self.gate.reset_parameters()

    def extra_repr(self) -> str:
        return f"shrink={self.shrink}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.filter(x)) * torch.sigmoid(self.gate(x))
