"""LoRALinear: zero start, scaling, merge/unmerge idempotence, gradients, both wrapped layer types."""
from __future__ import annotations

import pytest
import torch
from torch import nn
from transformers.pytorch_utils import Conv1D

from stlora_plugin.sepnet import LoRALinear

D_IN, D_OUT = 6, 5


def make_base(kind: str) -> nn.Module:
    torch.manual_seed(0)
    return nn.Linear(D_IN, D_OUT) if kind == "linear" else Conv1D(D_OUT, D_IN)


def trained_adapter(kind: str, rank: int = 2, alpha: float = 4.0) -> LoRALinear:
    layer = LoRALinear(make_base(kind), rank=rank, alpha=alpha)
    with torch.no_grad():
        layer.lora_B.normal_()
    return layer


@pytest.mark.parametrize("kind", ["linear", "conv1d"])
def test_starts_as_base_and_freezes_it(kind):
    base = make_base(kind)
    layer = LoRALinear(base, rank=3)
    x = torch.randn(2, 4, D_IN)
    assert torch.equal(layer(x), base(x))
    assert not any(p.requires_grad for p in base.parameters())
    assert {n for n, p in layer.named_parameters() if p.requires_grad} == {"lora_A", "lora_B"}
    assert (layer.in_features, layer.out_features) == (D_IN, D_OUT)


@pytest.mark.parametrize("kind", ["linear", "conv1d"])
@pytest.mark.parametrize("rank,alpha", [(1, 1.0), (2, 8.0), (4, 2.0)])
def test_update_is_scaled_low_rank_product(kind, rank, alpha):
    layer = trained_adapter(kind, rank, alpha).eval()
    x = torch.randn(3, D_IN)
    expected = layer.base(x) + (alpha / rank) * x @ layer.lora_A.T @ layer.lora_B.T
    torch.testing.assert_close(layer(x), expected)


@pytest.mark.parametrize("kind", ["linear", "conv1d"])
def test_merge_unmerge_idempotent(kind):
    layer = trained_adapter(kind).eval()
    original = layer.base.weight.detach().clone()
    x = torch.randn(3, D_IN)
    before = layer(x)
    layer.merge()
    layer.merge()  # second merge must not add the update again
    torch.testing.assert_close(layer(x), before)
    assert not torch.allclose(layer.base.weight, original)
    layer.unmerge()
    layer.unmerge()
    torch.testing.assert_close(layer.base.weight, original)
    torch.testing.assert_close(layer(x), before)


@pytest.mark.parametrize("kind", ["linear", "conv1d"])
def test_one_step_changes_adapter_and_output(kind):
    layer = LoRALinear(make_base(kind), rank=2)
    base_weight = layer.base.weight.detach().clone()
    x, y = torch.randn(8, D_IN), torch.randn(8, D_OUT)
    before = layer(x).detach()
    optim = torch.optim.SGD([p for p in layer.parameters() if p.requires_grad], lr=0.1)
    nn.functional.mse_loss(layer(x), y).backward()
    assert layer.lora_B.grad is not None and layer.lora_B.grad.abs().sum() > 0
    optim.step()
    assert not torch.allclose(layer(x), before)
    assert torch.equal(layer.base.weight, base_weight)


def test_training_while_merged_is_refused():
    layer = trained_adapter("linear").train()
    layer.merge()
    with pytest.raises(RuntimeError, match="unmerge"):
        layer(torch.randn(2, D_IN))
    with torch.no_grad():
        layer(torch.randn(2, D_IN))  # inference under no_grad stays allowed


@pytest.mark.parametrize("base,rank,dropout,error", [
    (nn.Conv2d(1, 1, 1), 2, 0.0, TypeError),
    (nn.Linear(2, 2), 0, 0.0, ValueError),
    (nn.Linear(2, 2), 2, 1.0, ValueError),
])
def test_bad_arguments(base, rank, dropout, error):
    with pytest.raises(error):
        LoRALinear(base, rank=rank, dropout=dropout)
