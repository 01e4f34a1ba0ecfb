"""HypergraphConv against its dense formula; isolated nodes and empty edges; gradients; errors."""
import pytest
import torch

from hypergraph_helpers import NUM_NODES, inverse_power
from hypergraph import AdaptiveHypergraph, Hypergraph, HypergraphConv


def dense_hgnn(x, incidence, edge_weight, theta, bias):
    """``D_v^-1/2 H W D_e^-1 H^T D_v^-1/2 X Theta + b`` with explicit diagonal matrices."""
    dv = torch.diag(inverse_power(incidence @ edge_weight, 0.5))
    de = torch.diag(inverse_power(incidence.sum(0), 1.0))
    propagation = dv @ incidence @ torch.diag(edge_weight) @ de @ incidence.t() @ dv   # [N, N]
    return propagation @ x @ theta.t() + bias


@pytest.mark.parametrize("batch", [(2,), (2, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_matches_dense_formula(weighted_hypergraph, batch, bias):
    incidence, edge_weight, hg = weighted_hypergraph
    conv = HypergraphConv(4, 3, bias=bias).double()
    if bias:
        torch.nn.init.normal_(conv.bias)
    x = torch.randn(*batch, NUM_NODES, 4, dtype=torch.float64)
    expected = dense_hgnn(x, incidence, edge_weight, conv.theta.weight, conv.bias if bias else 0.0)
    torch.testing.assert_close(conv(x, hg), expected)


def test_isolated_node_and_empty_edge_give_finite_output(weighted_hypergraph):
    _, _, hg = weighted_hypergraph
    conv = HypergraphConv(4, 3).double()
    torch.nn.init.normal_(conv.bias)
    out = conv(torch.randn(2, NUM_NODES, 4, dtype=torch.float64), hg)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[:, -1], conv.bias.expand(2, 3))       # the isolated node keeps the bias


def test_empty_hypergraph_is_finite():
    hg = Hypergraph.from_incidence(torch.zeros(3, 2))
    out = HypergraphConv(2, 2)(torch.randn(1, 3, 2), hg)
    assert torch.isfinite(out).all()


def test_gradients_reach_parameters_memberships_and_edge_weights(weighted_hypergraph):
    _, _, base = weighted_hypergraph
    membership = base.membership.clone().requires_grad_(True)
    edge_weight = base.edge_weight.clone().requires_grad_(True)
    hg = Hypergraph(base.members, membership, edge_weight, base.num_nodes)
    conv = HypergraphConv(4, 3).double()
    conv(torch.randn(2, NUM_NODES, 4, dtype=torch.float64), hg).pow(2).sum().backward()
    for name, param in conv.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert torch.isfinite(membership.grad).all() and membership.grad.abs().sum() > 0
    assert torch.isfinite(edge_weight.grad).all() and edge_weight.grad[:-1].abs().sum() > 0


def test_works_on_an_adaptive_hypergraph_and_is_deterministic():
    torch.manual_seed(0)
    hg = AdaptiveHypergraph(7, k=3)()
    conv = HypergraphConv(4, 4)
    x = torch.randn(2, 3, 7, 4)
    torch.testing.assert_close(conv(x, hg), dense_hgnn(x, hg.incidence(), hg.edge_weight, conv.theta.weight,
                                                      conv.bias), rtol=1e-5, atol=1e-5)
    assert torch.equal(conv(x, hg), conv(x, hg))


def test_reset_parameters_and_repr():
    conv = HypergraphConv(4, 3)
    torch.nn.init.normal_(conv.bias)
    conv.reset_parameters()
    assert torch.all(conv.bias == 0)
    assert repr(conv).startswith("HypergraphConv(\n  4, 3, bias=True")


def test_errors(weighted_hypergraph):
    _, _, hg = weighted_hypergraph
    with pytest.raises(ValueError, match="in_channels=4"):
        HypergraphConv(4, 3).double()(torch.randn(2, NUM_NODES, 5, dtype=torch.float64), hg)
    with pytest.raises(ValueError, match="5 nodes"):
        HypergraphConv(4, 3).double()(torch.randn(2, 6, 4, dtype=torch.float64), hg)
    with pytest.raises(ValueError, match="in_channels"):
        HypergraphConv(0, 3)
