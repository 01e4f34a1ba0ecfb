"""Node-specific parameter groups: the split, the decay they escape, and their choice by benchmark_config."""
from __future__ import annotations

import pytest
import torch
from basicts.configs import BasicTSForecastingConfig
from basicts.models.STID import STID, STIDConfig
from basicts.runners.builder import Builder
from torch import nn

from stlora_plugin.runtime import (NodeGroupAdam, NodeGroupAdamW, benchmark_config, in_node_group, is_node_specific,
                                   mark_node_factor, mark_node_specific, split_node_groups)


class _TwoKinds(nn.Module):
    def __init__(self):
        super().__init__()
        self.shared = nn.Parameter(torch.ones(3))
        self.core = mark_node_specific(nn.Parameter(torch.ones(5, 2)))
        self.factor = mark_node_factor(nn.Parameter(torch.ones(2, 3)))


def test_split_puts_marked_parameters_in_their_own_group():
    model = _TwoKinds()
    groups = split_node_groups(model.parameters(), node_lr=0.5, node_weight_decay=0.01)
    assert [len(g["params"]) for g in groups] == [1, 2]
    assert groups[0]["params"][0] is model.shared and "weight_decay" not in groups[0]
    assert groups[1]["params"] == [model.core, model.factor]
    assert (groups[1]["lr"], groups[1]["weight_decay"], groups[1]["node_group"]) == (0.5, 0.01, True)
    assert is_node_specific(model.core) and not is_node_specific(model.factor)
    assert in_node_group(model.factor) and not in_node_group(model.shared)


def test_split_keeps_the_options_of_given_groups():
    model = _TwoKinds()
    groups = split_node_groups([{"params": [model.shared, model.core, model.factor], "lr": 0.1}])
    assert [g["lr"] for g in groups] == [0.1, 0.1] and groups[1]["weight_decay"] == 0.0


@pytest.mark.parametrize("optimizer_cls", [NodeGroupAdam, NodeGroupAdamW])
def test_weight_decay_shrinks_shared_weights_but_not_the_node_group(optimizer_cls):
    model = _TwoKinds()
    optimizer = optimizer_cls(model.parameters(), lr=0.1, weight_decay=0.5)
    for _ in range(5):  # the task gradient is zero: only weight decay could move anything
        (0.0 * sum(p.sum() for p in model.parameters())).backward()
        optimizer.step()
        optimizer.zero_grad()
    assert model.shared.detach().max() < 0.9
    torch.testing.assert_close(model.core.detach(), torch.ones(5, 2))
    torch.testing.assert_close(model.factor.detach(), torch.ones(2, 3))


def test_plain_adam_would_decay_the_cores():
    model = _TwoKinds()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1, weight_decay=0.5)
    (0.0 * model.core.sum() + model.shared.sum()).backward()
    optimizer.step()
    assert model.core.detach().max() < 1.0  # the pitfall the groups exist for


@pytest.mark.parametrize("kwargs, match", [({"node_lr": 0.0}, "node_lr=0.0"), ({"node_weight_decay": -1.0},
                                                                               "node_weight_decay=-1.0"),
                                           ({"node_lr_scale": 0.0}, "node_lr_scale=0.0"),
                                           ({"node_lr": 1e-3, "node_lr_scale": 10.0}, "not both")])
def test_bad_group_options_name_the_option(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NodeGroupAdam(_TwoKinds().parameters(), **kwargs)


def test_node_lr_scale_is_relative_to_lr():
    optimizer = NodeGroupAdam(_TwoKinds().parameters(), lr=2e-3, node_lr_scale=10.0)
    assert [g["lr"] for g in optimizer.param_groups] == [2e-3, pytest.approx(2e-2)]


def test_basicts_builds_it_from_a_config():
    model = _TwoKinds()
    cfg = BasicTSForecastingConfig(model=STID, model_config=STIDConfig(num_features=5), dataset_name="X",
                                   optimizer=NodeGroupAdam, optimizer_params={"lr": 2e-3, "weight_decay": 1e-4,
                                                                              "node_lr": 1e-3})
    optimizer = Builder._build_optimizer(cfg, model)
    assert [(g["lr"], g["weight_decay"], len(g["params"])) for g in optimizer.param_groups] == [(2e-3, 1e-4, 1),
                                                                                                (1e-3, 0.0, 2)]


def test_benchmark_config_uses_the_models_optimizer_unless_overridden(synthetic_dataset, tmp_path):
    from stlora_plugin import st_lora
    from stlora_plugin.adapters import ParameterReportCallback

    wrapped = st_lora(STID)
    cfg = benchmark_config(wrapped, wrapped.Config(), synthetic_dataset, ckpt_save_dir=str(tmp_path / "a"))
    assert cfg.optimizer is NodeGroupAdam
    assert any(isinstance(cb, ParameterReportCallback) for cb in cfg.callbacks)
    cfg = benchmark_config(wrapped, wrapped.Config(), synthetic_dataset, optimizer=torch.optim.AdamW,
                           ckpt_save_dir=str(tmp_path / "b"))
    assert cfg.optimizer is torch.optim.AdamW
    cfg = benchmark_config(STID, STIDConfig(), synthetic_dataset, ckpt_save_dir=str(tmp_path / "c"))
    assert cfg.optimizer is torch.optim.Adam


def test_the_node_group_survives_swapped_parameters_on_conversion():
    """With swap_module_params_on_conversion, ``.to()`` hands back new Parameter objects; the layer marks them
    again, so the node group is still found (a control: an unmarked copy of the layer's core is not)."""
    from stlora_plugin.adapters import NodeAdaptiveLowRankLinear

    layer = NodeAdaptiveLowRankLinear(4, 4, 3, rank=2)
    before = torch.__future__.get_swap_module_params_on_conversion()
    torch.__future__.set_swap_module_params_on_conversion(True)
    try:
        layer.to(torch.float64)
    finally:
        torch.__future__.set_swap_module_params_on_conversion(before)
    assert layer.core.dtype == torch.float64
    assert in_node_group(layer.core) and in_node_group(layer.lora_A) and in_node_group(layer.lora_B)
    assert not in_node_group(torch.nn.Parameter(layer.core.detach().clone()))
    groups = NodeGroupAdam(layer.parameters(), lr=1e-3, weight_decay=1e-4).param_groups
    assert [len(g["params"]) for g in groups] == [2, 3] and groups[1]["weight_decay"] == 0.0
