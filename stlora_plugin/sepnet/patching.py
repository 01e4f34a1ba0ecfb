"""Patch embedding of univariate series (PatchTST / Time-LLM style), the first step of the temporal branch.

A series ``x [L]`` is padded at its end by repeating the last value ``stride`` times, cut into
``P = (L + stride - patch_len) // stride + 1`` overlapping patches of ``patch_len`` steps, and each patch is
embedded linearly with a learned position embedding: ``e_p = W x[p*stride : p*stride + patch_len] + pos_p``.
(Nie et al., ICLR'23, "A Time Series is Worth 64 Words"; Jin et al., ICLR'24, Time-LLM.)
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["PatchEmbedding", "num_patches"]


def num_patches(input_len: int, patch_len: int, stride: int) -> int:
    """How many patches a series of ``input_len`` steps gives (after padding ``stride`` steps at its end)."""
    if patch_len < 1 or stride < 1:
        raise ValueError(f"patch_len and stride must be >= 1, got {patch_len} and {stride}")
    if patch_len > input_len + stride:
        raise ValueError(f"patch_len={patch_len} is longer than input_len + stride = {input_len + stride}; "
                         "choose patch_len <= input_len + stride")
    return (input_len + stride - patch_len) // stride + 1


class PatchEmbedding(nn.Module):
    """Cut series into overlapping patches and embed each one.

    Shapes:
        series ``[S, L]`` -> patch embeddings ``[S, P, d_model]``.
    """

    def __init__(self, input_len: int, d_model: int, *, patch_len: int = 4, stride: int = 2, dropout: float = 0.1):
        super().__init__()
        self.input_len, self.patch_len, self.stride = input_len, patch_len, stride
        self.num_patches = num_patches(input_len, patch_len, stride)
        self.value = nn.Linear(patch_len, d_model)
        self.position = nn.Parameter(torch.empty(self.num_patches, d_model))
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.position, std=0.02)

    def extra_repr(self) -> str:
        return f"input_len={self.input_len}, patch_len={self.patch_len}, stride={self.stride}, " \
               f"num_patches={self.num_patches}"

    def forward(self, series: torch.Tensor) -> torch.Tensor:
        if series.shape[-1] != self.input_len:
            raise ValueError(f"series has {series.shape[-1]} steps but the patch embedding was built for "
                             f"input_len={self.input_len}")
        padded = F.pad(series[:, None, :], (0, self.stride), mode="replicate")[:, 0]  # [S, L + stride]
        patches = padded.unfold(-1, self.patch_len, self.stride)  # [S, P, patch_len]
        return self.dropout(self.value(patches) + self.position)  # [S, P, d_model]
