"""Fusion gates: convex combination, per-node behaviour, gradients, one registry."""
from __future__ import annotations

import pytest
import torch

from stlora_plugin.sepnet import GATES, build_gate

B, H, N = 2, 12, 5
NAMES = sorted(GATES)


def forecasts(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(B, H, N, generator=gen), torch.randn(B, H, N, generator=gen) + 2.0


@pytest.mark.parametrize("name", NAMES)
def test_output_between_the_two_forecasts(name):
    gate = build_gate(name, H, hidden_dim=8)
    temporal, spatial = forecasts()
    out = gate(temporal, spatial)
    assert out.shape == (B, H, N)
    low, high = torch.minimum(temporal, spatial), torch.maximum(temporal, spatial)
    assert torch.all(out >= low - 1e-6) and torch.all(out <= high + 1e-6)
    torch.testing.assert_close(gate(temporal, temporal), temporal)


@pytest.mark.parametrize("name", NAMES)
def test_gradients_reach_every_parameter_and_both_inputs(name):
    gate = build_gate(name, H, hidden_dim=8)
    temporal, spatial = (t.requires_grad_() for t in forecasts())
    gate(temporal, spatial).pow(2).sum().backward()
    assert temporal.grad.abs().sum() > 0 and spatial.grad.abs().sum() > 0
    for param_name, param in gate.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, param_name


@pytest.mark.parametrize("name", NAMES)
def test_nodes_are_gated_independently(name):
    gate = build_gate(name, H, hidden_dim=8).eval()
    temporal, spatial = forecasts()
    moved = temporal.clone()
    moved[:, :, 0] += 1.0
    diff = (gate(moved, spatial) - gate(temporal, spatial)).abs().sum(dim=(0, 1))
    assert diff[0] > 0 and torch.all(diff[1:] == 0)


@pytest.mark.parametrize("name", NAMES)
def test_gate_adapts_to_inputs(name):
    gate = build_gate(name, H, hidden_dim=8)
    temporal, spatial = forecasts()
    weights = gate.weights(temporal, spatial)
    other = gate.weights(*forecasts(seed=1))
    assert not torch.allclose(weights, other)
    assert torch.all((weights > 0) & (weights < 1))


def test_errors():
    with pytest.raises(ValueError, match="gate must be one of"):
        build_gate("mean", H)
    with pytest.raises(ValueError, match=r"\[B, 12, N\]"):
        build_gate("sigmoid", H)(torch.randn(B, H, N), torch.randn(B, H, N + 1))
