"""st_lora on this package's six backbones (tiny sizes, the 12-node synthetic dataset with its graph)."""
from __future__ import annotations

import importlib
import inspect

import pytest
import torch

from adapters_helpers import BACKBONES, forward_kwargs
from stlora_plugin import st_lora
from stlora_plugin.runtime import NodeGroupAdam, fill_dataset_fields


def _backbone(name: str):
    module, cls_name, extra = BACKBONES[name]
    return getattr(importlib.import_module(f"stlora_plugin.backbones.{module}"), cls_name), extra


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_backbone_with_st_lora_trains_a_few_steps(name, synthetic_dataset):
    model_cls, extra = _backbone(name)
    wrapped = st_lora(model_cls, hidden_size=8, rank=2, num_layers=1)
    assert inspect.signature(wrapped.forward) == inspect.signature(model_cls.forward)
    config = fill_dataset_fields(wrapped.Config(**extra), synthetic_dataset)
    torch.manual_seed(0)
    model = wrapped(config).train()
    n = model.stlora_dims[0]
    assert n == 12
    optimizer = NodeGroupAdam(model.parameters(), lr=1e-2, weight_decay=1e-4)
    inputs, kwargs = torch.randn(2, 12, n), forward_kwargs(model_cls, n)
    for step in range(3):
        out = model(inputs, **kwargs)
        assert out["prediction"].shape == (2, 12, n)
        (out["prediction"].abs().mean() + out["aux_loss"]).backward()
        no_grad = [p for p, param in model.named_parameters() if param.requires_grad and param.grad is None]
        assert not [p for p in no_grad if p.startswith("st_lora.")], f"step {step}: adapter without gradient"
        optimizer.step()
        optimizer.zero_grad()
    assert all(c.abs().sum() > 0 for c in model.st_lora.node_specific_parameters())
