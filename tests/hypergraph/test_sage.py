"""HypergraphSAGE against its dense formula; isolated nodes; gradients; errors."""
import pytest
import torch

from hypergraph import HypergraphSAGE
from hypergraph_helpers import NUM_NODES, inverse_power


def dense_sage(x, incidence, edge_weight, layer):
    """``Theta [x || D_v^-1 H W D_e^-1 H^T x] + b`` with ``D_v = diag(H w)``, ``D_e = diag(1^T H)``."""
    edge_mean = torch.diag(inverse_power(incidence.sum(0), 1.0)) @ incidence.t() @ x
    node_mean = torch.diag(inverse_power(incidence @ edge_weight, 1.0)) @ incidence @ torch.diag(edge_weight) \
        @ edge_mean
    return torch.cat([x, node_mean], -1) @ layer.linear.weight.t() + layer.linear.bias


@pytest.mark.parametrize("batch", [(2,), (2, 3)])
def test_matches_dense_formula(weighted_hypergraph, batch):
    incidence, edge_weight, hg = weighted_hypergraph
    layer = HypergraphSAGE(4, 3).double()
    x = torch.randn(*batch, NUM_NODES, 4, dtype=torch.float64)
    torch.testing.assert_close(layer(x, hg), dense_sage(x, incidence, edge_weight, layer))


def test_aggregate_is_a_mean_of_means():
    """Two hyperedges {0, 1} and {1, 2} with weights 1 and 3: node 1 averages the two edge means 1:3."""
    from hypergraph import Hypergraph
    incidence = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]], dtype=torch.float64)
    hg = Hypergraph.from_incidence(incidence, torch.tensor([1.0, 3.0], dtype=torch.float64))
    x = torch.tensor([[0.0], [2.0], [4.0]], dtype=torch.float64)
    agg = HypergraphSAGE(1, 1).double().aggregate(x, hg)
    torch.testing.assert_close(agg.squeeze(-1), torch.tensor([1.0, 0.25 * 1.0 + 0.75 * 3.0, 3.0],
                                                             dtype=torch.float64))


def test_isolated_node_depends_on_itself_only(weighted_hypergraph):
    _, _, hg = weighted_hypergraph
    layer = HypergraphSAGE(4, 3).double()
    x = torch.randn(2, NUM_NODES, 4, dtype=torch.float64)
    out = layer(x, hg)
    assert torch.isfinite(out).all()
    expected = torch.cat([x[:, -1], torch.zeros(2, 4, dtype=torch.float64)], -1) @ layer.linear.weight.t() \
        + layer.linear.bias
    torch.testing.assert_close(out[:, -1], expected)


def test_gradients_reach_every_parameter(weighted_hypergraph):
    _, _, hg = weighted_hypergraph
    layer = HypergraphSAGE(4, 3).double()
    layer(torch.randn(2, NUM_NODES, 4, dtype=torch.float64), hg).pow(2).sum().backward()
    for name, param in layer.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_repr_and_errors(weighted_hypergraph):
    _, _, hg = weighted_hypergraph
    layer = HypergraphSAGE(4, 3, bias=False).double()
    layer.reset_parameters()
    assert "bias=False" in repr(layer)
    with pytest.raises(ValueError, match="in_channels=4"):
        layer(torch.randn(2, NUM_NODES, 2, dtype=torch.float64), hg)
    with pytest.raises(ValueError, match="5 nodes"):
        layer(torch.randn(2, 4, 4, dtype=torch.float64), hg)
