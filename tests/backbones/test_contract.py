"""The BasicTS model contract, for every backbone of this package: one parametrized test each.

Forward ``[B, L, N]`` (+ timestamps where the model reads them) -> ``[B, H, N]``; a gradient reaching every
parameter; identical outputs in eval mode; a state-dict round trip; the config class found from ``__init__``'s
annotation (what ``st_lora`` needs); a wrong node count refused. Model-specific behaviour is tested in the
per-model files beside this one.
"""
from __future__ import annotations

import inspect

import pytest
import torch

from adapters.adapters_helpers import BACKBONES
from stlora_plugin import zoo
from stlora_plugin.data import make_timestamps

B, L, N = 2, 12, 12


def build(name: str, dataset: str, seed: int = 0):
    torch.manual_seed(seed)
    cfg = zoo.experiment(zoo.RECIPES[name].model, dataset, model_overrides=BACKBONES[name][2], num_epochs=1)
    return cfg.model(cfg.model_config)


def call(model, inputs: torch.Tensor, stamps: torch.Tensor) -> torch.Tensor:
    takes_timestamps = "inputs_timestamps" in inspect.signature(model.forward).parameters
    return model(inputs, stamps) if takes_timestamps else model(inputs)


def batch(num_nodes: int = N, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    calendar = torch.from_numpy(make_timestamps(2 * 288, step_minutes=5))
    starts = torch.randint(0, len(calendar) - L, (B,), generator=gen)
    return torch.randn(B, L, num_nodes, generator=gen), torch.stack([calendar[s:s + L] for s in starts])


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_shape_and_a_gradient_to_every_parameter(name, synthetic_dataset):
    model = build(name, synthetic_dataset)
    out = call(model, *batch())
    assert out.shape == (B, 12, N) and torch.isfinite(out).all()
    out.abs().mean().backward()
    assert [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0] == []


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_eval_is_deterministic_and_a_state_dict_round_trip_is_exact(name, synthetic_dataset):
    model = build(name, synthetic_dataset).eval()
    inputs, stamps = batch()
    with torch.no_grad():
        expected = call(model, inputs, stamps)
        assert torch.equal(call(model, inputs, stamps), expected)
        other = build(name, synthetic_dataset, seed=1).eval()
        assert not torch.equal(call(other, inputs, stamps), expected)  # the control: other weights differ
        other.load_state_dict(model.state_dict())
        assert torch.equal(call(other, inputs, stamps), expected)


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_config_class_is_discoverable(name):
    """``st_lora`` finds the config class from the real (not stringified) ``__init__`` annotation."""
    model = zoo.RECIPES[name].model
    assert inspect.signature(model.__init__).parameters["config"].annotation is model.Config


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_a_wrong_node_count_is_refused(name, synthetic_dataset):
    model = build(name, synthetic_dataset)
    with pytest.raises(ValueError, match=r"9 nodes|\b9\b"):
        call(model, *batch(num_nodes=9))


@pytest.mark.parametrize("name", ["D2STGNN", "LSTM", "STAEformer"])
def test_day_of_week_is_read_only_when_switched_on(name, synthetic_dataset):
    inputs, stamps = batch()
    next_day = stamps.clone()
    next_day[..., 1] = (next_day[..., 1] * 7 + 1).remainder(7) / 7
    for day_of_week in (True, False):
        torch.manual_seed(0)
        cfg = zoo.experiment(zoo.RECIPES[name].model, synthetic_dataset, num_epochs=1,
                             model_overrides={**BACKBONES[name][2], "day_of_week": day_of_week})
        model = cfg.model(cfg.model_config).eval()
        with torch.no_grad():
            same = torch.equal(model(inputs, stamps), model(inputs, next_day))
        assert same is not day_of_week  # on: another day, another forecast (the control); off: the day is not read
