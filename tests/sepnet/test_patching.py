"""PatchEmbedding: patch count, replicate padding, overlapping windows, errors."""
from __future__ import annotations

import pytest
import torch

from stlora_plugin.sepnet import PatchEmbedding
from stlora_plugin.sepnet.patching import num_patches


@pytest.mark.parametrize("input_len,patch_len,stride,expected", [
    (12, 4, 2, 6), (12, 12, 12, 2), (48, 16, 8, 6), (12, 14, 2, 1), (7, 1, 1, 8),
])
def test_num_patches(input_len, patch_len, stride, expected):
    assert num_patches(input_len, patch_len, stride) == expected


@pytest.mark.parametrize("patch_len,stride", [(4, 2), (3, 3), (5, 1)])
def test_patches_are_padded_windows(patch_len, stride):
    length = 12
    embed = PatchEmbedding(length, patch_len, patch_len=patch_len, stride=stride, dropout=0.0)
    with torch.no_grad():  # identity embedding: the output is the patches themselves
        embed.value.weight.copy_(torch.eye(patch_len))
        embed.value.bias.zero_()
        embed.position.zero_()
    series = torch.randn(3, length)
    out = embed(series)
    padded = torch.cat([series, series[:, -1:].expand(-1, stride)], dim=1)
    expected = torch.stack([padded[:, p * stride:p * stride + patch_len] for p in range(embed.num_patches)], 1)
    torch.testing.assert_close(out, expected)


def test_shape_and_gradient():
    embed = PatchEmbedding(12, 8, patch_len=4, stride=2)
    out = embed(torch.randn(10, 12))
    assert out.shape == (10, 6, 8)
    out.sum().backward()
    assert embed.position.grad.abs().sum() > 0 and embed.value.weight.grad.abs().sum() > 0


def test_errors():
    with pytest.raises(ValueError, match="patch_len"):
        PatchEmbedding(12, 8, patch_len=20, stride=2)
    with pytest.raises(ValueError, match="stride"):
        PatchEmbedding(12, 8, patch_len=4, stride=0)
    with pytest.raises(ValueError, match="input_len=12"):
        PatchEmbedding(12, 8)(torch.randn(2, 24))
