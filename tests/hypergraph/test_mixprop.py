"""MixProp and the transition matrix (MTGNN) against their formulas."""
import pytest
import torch

from hypergraph import MixProp, transition_matrix


@pytest.mark.parametrize("adjacency", [
    [[0.0, 2.0, 0.0], [1.0, 0.0, 1.0], [0.0, 0.0, 0.0]],
    [[0.0, 0.0], [0.0, 0.0]],
])
def test_transition_matrix(adjacency):
    a = torch.tensor(adjacency, dtype=torch.float64)
    looped = a + torch.eye(len(a), dtype=torch.float64)
    expected = looped / looped.sum(1, keepdim=True)
    torch.testing.assert_close(transition_matrix(a), expected)
    torch.testing.assert_close(transition_matrix(a).sum(1), torch.ones(len(a), dtype=torch.float64))


@pytest.mark.parametrize("depth, beta", [(2, 0.05), (1, 0.0), (3, 0.5)])
def test_mixprop_formula(depth, beta):
    torch.manual_seed(0)
    layer = MixProp(3, 4, depth=depth, beta=beta).double()
    x = torch.randn(2, 3, 5, 6, dtype=torch.float64)                     # [B, C, N, T]
    p = transition_matrix(torch.rand(5, 5, dtype=torch.float64))
    hops, h = [x], x
    for _ in range(depth):
        h = beta * x + (1 - beta) * torch.einsum("vw,bcwt->bcvt", p, h)
        hops.append(h)
    stacked = torch.cat(hops, 1).permute(0, 2, 3, 1)                     # [B, N, T, (depth+1) C]
    weight = layer.mix.weight[:, :, 0, 0]
    expected = (stacked @ weight.t() + layer.mix.bias).permute(0, 3, 1, 2)
    torch.testing.assert_close(layer(x, p), expected)


def test_identity_transition_keeps_nodes_apart():
    torch.manual_seed(1)
    layer = MixProp(2, 2)
    x = torch.randn(1, 2, 4, 3)
    y = x.clone()
    y[:, :, 0] += 1.0
    diff = (layer(x, torch.eye(4)) - layer(y, torch.eye(4))).abs().sum((0, 1, 3))
    assert diff[0] > 0 and torch.all(diff[1:] == 0)


def test_errors_and_repr():
    layer = MixProp(3, 4)
    assert "depth=2, beta=0.05" in repr(layer)
    with pytest.raises(ValueError, match=r"C_in=3, N=5"):
        layer(torch.randn(2, 3, 4, 6), torch.eye(5))
    with pytest.raises(ValueError, match="beta"):
        MixProp(3, 4, beta=1.5)
    with pytest.raises(ValueError, match="square"):
        transition_matrix(torch.ones(2, 3))
