"""Adaptive k-nearest-neighbour hyperedges: members against brute force, weights, gradients, errors."""
import math

import pytest
import torch

from hypergraph import AdaptiveHypergraph, HypergraphConv, knn_hyperedges


def brute_force_neighbours(points, v, count):
    """The ``count`` nearest other points of ``v``, by explicit distances (the test's reference)."""
    dist = [(math.dist(points[v].tolist(), points[u].tolist()), u) for u in range(len(points)) if u != v]
    return {u for _, u in sorted(dist)[:count]}


@pytest.mark.parametrize("num_nodes, k, dim, seed", [(5, 3, 4, 0), (5, 1, 2, 1), (5, 5, 3, 2), (12, 3, 16, 3),
                                                     (30, 4, 8, 4)])
def test_each_hyperedge_is_its_node_and_its_k_minus_1_nearest(num_nodes, k, dim, seed):
    points = torch.randn(num_nodes, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    members = knn_hyperedges(points, k)
    assert members.shape == (num_nodes, k) and members.dtype == torch.long
    for v in range(num_nodes):
        row = members[v].tolist()
        assert row[0] == v and len(set(row)) == k
        assert set(row[1:]) == brute_force_neighbours(points, v, k - 1)


def test_adaptive_hypergraph_members_and_weights():
    torch.manual_seed(0)
    model = AdaptiveHypergraph(12, embed_dim=6, k=3, tau=0.5).double()
    hg = model()
    features = model.node_features()
    torch.testing.assert_close(features, torch.tanh(3.0 * (model.embedding @ model.transform.weight.t()
                                                           + model.transform.bias)))
    assert torch.equal(hg.members, knn_hyperedges(features, 3))
    incidence = hg.incidence()                                            # [N, M]
    assert incidence.shape == (12, 12)
    for e in range(12):
        members = hg.members[e].tolist()
        assert (incidence[:, e] != 0).sum() == 3
        for u in members:
            expected = math.exp(-((features[u] - features[e]) ** 2).mean().item() / 0.5)
            assert incidence[u, e].item() == pytest.approx(expected)
        assert hg.edge_weight[e].item() == pytest.approx(incidence[members, e].mean().item())
    assert torch.all(incidence.diagonal() == 1)
    torch.testing.assert_close(hg.node_degree(), incidence @ hg.edge_weight)
    torch.testing.assert_close(hg.edge_degree(), incidence.sum(0))


def test_gradients_reach_node_embeddings_through_the_weights():
    torch.manual_seed(1)
    model = AdaptiveHypergraph(10, embed_dim=4, k=3)
    conv = HypergraphConv(3, 2)
    conv(torch.randn(2, 10, 3), model()).pow(2).sum().backward()
    for name, param in [*model.named_parameters(), *conv.named_parameters()]:
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name
    assert (model.embedding.grad.abs().sum(1) > 0).all()                  # every node's embedding learns


def test_construction_is_deterministic_and_follows_the_device_of_the_parameters():
    model = AdaptiveHypergraph(8, k=2)
    first, second = model(), model()
    assert torch.equal(first.members, second.members)
    assert torch.equal(first.membership, second.membership)
    assert first.members.device == model.embedding.device


def test_reset_parameters_and_repr():
    model = AdaptiveHypergraph(6, embed_dim=3, k=2, alpha=2.0)
    before = model.embedding.detach().clone()
    model.reset_parameters()
    assert not torch.equal(before, model.embedding)
    assert "k=2" in repr(model) and "alpha=2.0" in repr(model)


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_nodes=4, k=5), "k"),
    (dict(num_nodes=4, k=0), "k"),
    (dict(num_nodes=0), "num_nodes"),
    (dict(num_nodes=4, embed_dim=0), "embed_dim"),
    (dict(num_nodes=4, tau=0.0), "tau"),
    (dict(num_nodes=4, alpha=-1.0), "alpha"),
])
def test_invalid_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AdaptiveHypergraph(**kwargs)


def test_knn_errors():
    with pytest.raises(ValueError, match=r"\[N, d\]"):
        knn_hyperedges(torch.randn(3), 2)
    with pytest.raises(ValueError, match="k"):
        knn_hyperedges(torch.randn(3, 2), 4)
