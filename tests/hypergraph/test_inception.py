"""Dilated inception (MTGNN): output lengths, branch formula, gating, errors."""
import pytest
import torch
import torch.nn.functional as F

from hypergraph import DilatedInception, GatedDilatedInception


@pytest.mark.parametrize("length, dilation", [(13, 1), (12, 1), (19, 2), (8, 1)])
def test_matches_cropped_branch_convolutions(length, dilation):
    torch.manual_seed(0)
    layer = DilatedInception(3, 8, dilation=dilation).double()
    x = torch.randn(2, 3, 5, length, dtype=torch.float64)
    out = layer(x)
    expected_len = length - dilation * 6
    assert out.shape == (2, 8, 5, expected_len)
    parts = [F.conv2d(x, b.weight, b.bias, dilation=(1, dilation))[..., -expected_len:] for b in layer.branches]
    torch.testing.assert_close(out, torch.cat(parts, 1))


def test_gated_is_tanh_times_sigmoid():
    torch.manual_seed(1)
    layer = GatedDilatedInception(2, 4).double()
    x = torch.randn(1, 2, 3, 9, dtype=torch.float64)
    torch.testing.assert_close(layer(x), torch.tanh(layer.filter(x)) * torch.sigmoid(layer.gate(x)))
    assert layer.shrink == 6 and "shrink=6" in repr(layer)


def test_time_axis_stays_causal_per_node():
    """Perturbing node 0 never changes node 1, and the last input step only reaches the last output step."""
    torch.manual_seed(2)
    layer = DilatedInception(1, 4)
    x = torch.randn(1, 1, 2, 10)
    y = x.clone()
    y[0, 0, 0, -1] += 1.0
    diff = (layer(x) - layer(y)).abs()
    assert torch.all(diff[:, :, 1] == 0) and torch.all(diff[..., :-1] == 0) and diff[0, :, 0, -1].sum() > 0


@pytest.mark.parametrize("kwargs, match", [
    (dict(in_channels=2, out_channels=6), "divisible"),
    (dict(in_channels=2, out_channels=4, dilation=0), "dilation"),
    (dict(in_channels=2, out_channels=4, kernel_sizes=()), "kernel_sizes"),
])
def test_invalid_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DilatedInception(**kwargs)


def test_too_short_input():
    with pytest.raises(ValueError, match="T > 6"):
        DilatedInception(2, 4)(torch.randn(1, 2, 3, 6))
