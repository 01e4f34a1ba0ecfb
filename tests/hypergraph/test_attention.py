"""HypergraphAttention against its dense formula (Bai et al. 2021); isolated nodes; dropout; gradients."""
import pytest
import torch
import torch.nn.functional as F

from hypergraph import HypergraphAttention
from hypergraph_helpers import NUM_NODES, inverse_power


def dense_attention_incidence(h, incidence, att_node, att_edge, slope):
    """``Ht[v, e] = softmax over v's hyperedges of LeakyReLU(a_n x_v P + a_e e_e P)`` as a dense [..., N, M]."""
    edges = torch.diag(inverse_power(incidence.sum(0), 1.0)) @ incidence.t() @ h               # [..., M, C]
    scores = F.leaky_relu((h @ att_node)[..., :, None] + (edges @ att_edge)[..., None, :], slope)  # [..., N, M]
    member = incidence != 0
    exp = torch.where(member, torch.exp(scores), torch.zeros_like(scores))
    return exp * inverse_power(exp.sum(-1, keepdim=True), 1.0)


def dense_hgat(x, incidence, edge_weight, layer):
    h = x @ layer.theta.weight.t()
    att = dense_attention_incidence(h, incidence, layer.att_node, layer.att_edge, layer.negative_slope)
    dv = torch.diag_embed(inverse_power(att @ edge_weight, 0.5))
    de = torch.diag_embed(inverse_power(att.sum(-2), 1.0))
    propagation = dv @ att @ torch.diag(edge_weight) @ de @ att.transpose(-1, -2) @ dv                # [..., N, N]
    return propagation @ h + layer.bias


def make_layer(**kwargs):
    layer = HypergraphAttention(4, 3, **kwargs).double()
    torch.nn.init.normal_(layer.bias)
    torch.nn.init.normal_(layer.att_node)
    torch.nn.init.normal_(layer.att_edge)
    return layer


@pytest.mark.parametrize("batch", [(2,), (2, 3)])
@pytest.mark.parametrize("slope", [0.2, 0.0])
def test_matches_dense_formula(weighted_hypergraph, batch, slope):
    incidence, edge_weight, hg = weighted_hypergraph
    layer = make_layer(negative_slope=slope)
    x = torch.randn(*batch, NUM_NODES, 4, dtype=torch.float64)
    torch.testing.assert_close(layer(x, hg), dense_hgat(x, incidence, edge_weight, layer))


def test_attention_is_a_softmax_over_each_nodes_hyperedges(weighted_hypergraph):
    incidence, _, hg = weighted_hypergraph
    layer = make_layer()
    x = torch.randn(2, NUM_NODES, 4, dtype=torch.float64)
    att = layer.attention(x, hg)                                             # [B, M, K]
    dense = torch.zeros(2, hg.num_edges, NUM_NODES, dtype=torch.float64)
    dense = dense.scatter_add(2, hg.members.expand(2, -1, -1), att).transpose(1, 2)   # [B, N, M]
    expected = dense_attention_incidence(x @ layer.theta.weight.t(), incidence, layer.att_node, layer.att_edge,
                                         layer.negative_slope)
    torch.testing.assert_close(dense, expected)
    torch.testing.assert_close(dense.sum(-1)[:, :-1], torch.ones(2, NUM_NODES - 1, dtype=torch.float64))
    assert torch.all(dense[:, -1] == 0)                                      # the isolated node


def test_isolated_node_and_empty_edge_give_finite_output(weighted_hypergraph):
    _, _, hg = weighted_hypergraph
    layer = make_layer()
    out = layer(torch.randn(2, NUM_NODES, 4, dtype=torch.float64), hg)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[:, -1], layer.bias.expand(2, 3))


def test_dropout_only_in_training(weighted_hypergraph):
    _, _, hg = weighted_hypergraph
    layer = make_layer(dropout=0.5)
    x = torch.randn(2, NUM_NODES, 4, dtype=torch.float64)
    torch.manual_seed(0)
    assert not torch.allclose(layer(x, hg), layer(x, hg))
    layer.eval()
    assert torch.equal(layer(x, hg), layer(x, hg))


def test_gradients_reach_every_parameter_and_stay_finite(weighted_hypergraph):
    _, _, hg = weighted_hypergraph
    layer = make_layer()
    x = torch.randn(2, NUM_NODES, 4, dtype=torch.float64, requires_grad=True)
    layer(x, hg).pow(2).sum().backward()
    for name, param in layer.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name
    assert torch.isfinite(x.grad).all()


def test_reset_parameters_repr_and_errors(weighted_hypergraph):
    _, _, hg = weighted_hypergraph
    layer = make_layer()
    layer.reset_parameters()
    assert torch.all(layer.bias == 0) and layer.att_node.abs().max() <= 3 ** -0.5
    assert "negative_slope=0.2" in repr(layer)
    with pytest.raises(ValueError, match="in_channels=4"):
        layer(torch.randn(2, NUM_NODES, 3, dtype=torch.float64), hg)
    with pytest.raises(ValueError, match="dropout"):
        HypergraphAttention(4, 3, dropout=1.0)
