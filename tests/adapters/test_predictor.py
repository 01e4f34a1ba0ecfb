"""NodeSpecificPredictor: shapes, node isolation, the activation table and errors."""
from __future__ import annotations

import pytest
import torch

from stlora_plugin.adapters import NodeSpecificPredictor
from stlora_plugin.adapters.predictor import ACTIVATIONS, make_activation

B, N, T_IN, T_OUT = 2, 5, 12, 12


def _predictor(**kw) -> NodeSpecificPredictor:
    torch.manual_seed(0)
    predictor = NodeSpecificPredictor(T_IN, T_OUT, N, hidden_size=8, rank=2, **kw)
    with torch.no_grad():
        for block in predictor.blocks:
            block.nall.core.normal_()
        predictor.head.weight.normal_(std=0.3)  # as after training: the head starts at zero
    return predictor.eval()


def test_a_fresh_predictor_outputs_zero():
    torch.manual_seed(0)
    predictor = NodeSpecificPredictor(T_IN, T_OUT, N, hidden_size=8, rank=2)
    assert torch.equal(predictor(torch.randn(B, N, T_IN)), torch.zeros(B, N, T_OUT))


@pytest.mark.parametrize("num_layers, core", [(1, "full"), (3, "diagonal")])
def test_shape(num_layers, core):
    predictor = _predictor(num_layers=num_layers, core=core)
    assert len(predictor.blocks) == num_layers
    assert predictor(torch.randn(B, N, T_IN)).shape == (B, N, T_OUT)


@pytest.mark.parametrize("node", [0, 4])
def test_nodes_never_mix(node):
    predictor = _predictor(num_layers=2)
    x = torch.randn(B, N, T_IN)
    x2 = x.clone()
    x2[:, node, 5] += 1.0
    changed = (predictor(x2) - predictor(x)).abs().sum(dim=(0, 2)) > 0
    assert changed.tolist() == [v == node for v in range(N)]


def test_same_series_at_two_nodes_gives_different_forecasts():
    predictor = _predictor()
    x = torch.randn(1, 1, T_IN).expand(B, N, T_IN)
    out = predictor(x)
    assert not torch.allclose(out[:, 0], out[:, 1])  # only the per-node cores can tell them apart


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_table(name):
    assert isinstance(make_activation(name), ACTIVATIONS[name])


def test_unknown_activation_lists_the_choices():
    with pytest.raises(ValueError, match="'swish' is not known; choose one of"):
        make_activation("swish")


def test_wrong_length_is_reported():
    with pytest.raises(ValueError, match="input has 10 steps .* in_len=12"):
        _predictor()(torch.randn(B, N, 10))


@pytest.mark.parametrize("kwargs, match", [
    ({"num_layers": 0}, "num_layers=0"),
    ({"hidden_size": -1}, "hidden_size=-1"),
])
def test_bad_sizes_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NodeSpecificPredictor(T_IN, T_OUT, N, **kwargs)
