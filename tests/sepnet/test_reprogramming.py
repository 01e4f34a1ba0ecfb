"""TextPrototypes and Reprogramming: the map of the vocabulary, attention over prototypes, independence."""
from __future__ import annotations

import pytest
import torch

from stlora_plugin.sepnet import Reprogramming, TextPrototypes

VOCAB, D_LLM, D_MODEL = 50, 24, 8


def test_prototypes_are_linear_map_of_vocabulary():
    protos = TextPrototypes(VOCAB, num_prototypes=7)
    words = torch.randn(VOCAB, D_LLM)
    out = protos(words)
    assert out.shape == (7, D_LLM)
    torch.testing.assert_close(out, protos.mapping.weight @ words + protos.mapping.bias[:, None])
    with pytest.raises(ValueError, match="vocabulary"):
        protos(torch.randn(VOCAB + 1, D_LLM))
    with pytest.raises(ValueError, match="num_prototypes"):
        TextPrototypes(VOCAB, 0)


@pytest.mark.parametrize("heads,head_dim", [(1, 8), (4, 4)])
def test_shape_and_gradients(heads, head_dim):
    layer = Reprogramming(D_MODEL, D_LLM, num_heads=heads, head_dim=head_dim, dropout=0.0)
    protos = torch.randn(5, D_LLM, requires_grad=True)
    out = layer(torch.randn(6, 3, D_MODEL), protos)
    assert out.shape == (6, 3, D_LLM)
    out.pow(2).sum().backward()
    assert protos.grad.abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in layer.parameters())


def test_attention_is_convex_over_prototypes():
    # identical prototypes: any softmax over the prototype axis returns the same value for every query
    layer = Reprogramming(D_MODEL, D_LLM, num_heads=2, head_dim=4, dropout=0.0)
    protos = torch.randn(1, D_LLM).expand(9, -1)
    out = layer(torch.randn(4, 3, D_MODEL), protos)
    expected = layer.out(layer.value(protos[:1]))  # [1, d_llm]
    torch.testing.assert_close(out, expected.expand_as(out))


def test_series_are_independent():
    layer = Reprogramming(D_MODEL, D_LLM, dropout=0.0)
    protos, patches = torch.randn(5, D_LLM), torch.randn(4, 3, D_MODEL)
    moved = patches.clone()
    moved[0] += 1.0
    diff = (layer(moved, protos) - layer(patches, protos)).abs().sum(dim=(1, 2))
    assert diff[0] > 0 and torch.all(diff[1:] == 0)
