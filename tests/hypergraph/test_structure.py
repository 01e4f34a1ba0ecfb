"""Hypergraph storage: dense round trip, degrees and both aggregations against dense matrix products."""
import pytest
import torch

from hypergraph import Hypergraph, safe_inverse_power


def random_incidence(num_nodes=5, num_edges=4, seed=0, empty_edge=True, isolated_node=True):
    g = torch.Generator().manual_seed(seed)
    h = torch.rand(num_nodes, num_edges, generator=g, dtype=torch.float64)
    h = h * (torch.rand(num_nodes, num_edges, generator=g, dtype=torch.float64) < 0.6)
    h[0, 0] = 0.7                                        # at least one member somewhere
    if empty_edge:
        h[:, -1] = 0
    if isolated_node:
        h[-1, :] = 0
    return h


@pytest.mark.parametrize("num_nodes, num_edges, seed", [(5, 4, 0), (5, 7, 1), (8, 3, 2)])
def test_round_trip_and_degrees(num_nodes, num_edges, seed):
    h = random_incidence(num_nodes, num_edges, seed)
    w = torch.rand(num_edges, dtype=torch.float64) + 0.5
    hg = Hypergraph.from_incidence(h, w)
    assert hg.members.shape == (num_edges, int((h != 0).sum(0).max()))
    torch.testing.assert_close(hg.incidence(), h)
    torch.testing.assert_close(hg.node_degree(), h @ w)
    torch.testing.assert_close(hg.edge_degree(), h.sum(0))
    assert hg.num_edges == num_edges


@pytest.mark.parametrize("batch", [(2,), (2, 3), ()])
def test_aggregations_match_dense_products(batch):
    h = random_incidence(6, 5, seed=3)
    hg = Hypergraph.from_incidence(h)
    x = torch.randn(*batch, 6, 4, dtype=torch.float64)
    y = torch.randn(*batch, 5, 4, dtype=torch.float64)
    torch.testing.assert_close(hg.node_to_edge(x), h.t() @ x)
    torch.testing.assert_close(hg.edge_to_node(y), h @ y)


def test_aggregations_with_batched_coefficients():
    h = random_incidence(6, 5, seed=4)
    hg = Hypergraph.from_incidence(h)
    coef = torch.rand(2, *hg.members.shape, dtype=torch.float64) * (hg.membership != 0)   # [B, M, K]
    dense = torch.zeros(2, 5, 6, dtype=torch.float64)
    dense.scatter_add_(2, hg.members.expand(2, -1, -1), coef)
    dense = dense.transpose(1, 2)                                                             # [B, N, M]
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    y = torch.randn(2, 5, 3, dtype=torch.float64)
    torch.testing.assert_close(hg.node_to_edge(x, coef), dense.transpose(1, 2) @ x)
    torch.testing.assert_close(hg.edge_to_node(y, coef), dense @ y)


def test_aggregations_are_differentiable_in_memberships():
    h = random_incidence(5, 4, seed=5)
    base = Hypergraph.from_incidence(h)
    membership = base.membership.clone().requires_grad_(True)
    hg = Hypergraph(base.members, membership, base.edge_weight, 5)
    hg.edge_to_node(hg.node_to_edge(torch.randn(2, 5, 3, dtype=torch.float64))).pow(2).sum().backward()
    assert torch.isfinite(membership.grad).all()
    assert membership.grad[base.membership != 0].abs().min() > 0


def test_safe_inverse_power_values_and_gradients():
    x = torch.tensor([0.0, 4.0, -1.0, 0.25], requires_grad=True)
    out = safe_inverse_power(x, 0.5)
    torch.testing.assert_close(out, torch.tensor([0.0, 0.5, 0.0, 2.0]))
    out.sum().backward()
    assert torch.isfinite(x.grad).all()
    torch.testing.assert_close(x.grad, torch.tensor([0.0, -0.5 * 4.0 ** -1.5, 0.0, -0.5 * 0.25 ** -1.5]))


@pytest.mark.parametrize("members, membership, weight, match", [
    (torch.zeros(3, 2), torch.ones(3, 2), torch.ones(3), "int64"),
    (torch.zeros(3, 2, dtype=torch.long), torch.ones(3, 3), torch.ones(3), "membership"),
    (torch.zeros(3, 2, dtype=torch.long), torch.ones(3, 2), torch.ones(2), "edge_weight"),
])
def test_invalid_hypergraph(members, membership, weight, match):
    with pytest.raises(ValueError, match=match):
        Hypergraph(members, membership, weight, 4)


def test_wrong_node_count_is_reported():
    hg = Hypergraph.from_incidence(random_incidence(5, 4))
    with pytest.raises(ValueError, match="5 nodes"):
        hg.node_to_edge(torch.randn(2, 6, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="4"):
        hg.edge_to_node(torch.randn(2, 3, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"\[N, M\]"):
        Hypergraph.from_incidence(torch.ones(3))


@pytest.mark.parametrize("batch", [(2,), (2, 3), ()])
def test_propagate_equals_the_two_aggregations(batch):
    """The sparse [N, N] product of ``propagate`` against the two aggregations it replaces (and the dense
    ``H_t H_e^T``), with repeated node pairs across edges, an empty edge and an isolated node."""
    h = random_incidence(6, 5, seed=6)
    hg = Hypergraph.from_incidence(h)
    g = torch.Generator().manual_seed(7)
    to_edge = torch.rand(hg.members.shape, generator=g, dtype=torch.float64) * (hg.membership != 0)
    to_node = torch.rand(hg.members.shape, generator=g, dtype=torch.float64) * (hg.membership != 0)
    x = torch.randn(*batch, 6, 4, generator=g, dtype=torch.float64)
    two_steps = hg.edge_to_node(hg.node_to_edge(x, to_edge), to_node)
    torch.testing.assert_close(hg.propagate(x, to_edge, to_node), two_steps)
    dense = lambda coef: torch.zeros(5, 6, dtype=torch.float64).scatter_add(1, hg.members, coef).t()  # [N, M]
    torch.testing.assert_close(hg.propagate(x, to_edge, to_node), dense(to_node) @ dense(to_edge).t() @ x)
    assert hg.propagate(x, to_edge, to_node)[..., -1, :].abs().max() == 0  # the isolated node receives nothing


def test_propagate_gradients_match_finite_differences():
    h = random_incidence(5, 4, seed=8)
    hg = Hypergraph.from_incidence(h)
    g = torch.Generator().manual_seed(9)
    to_edge = torch.rand(hg.members.shape, generator=g, dtype=torch.float64).requires_grad_(True)
    to_node = torch.rand(hg.members.shape, generator=g, dtype=torch.float64).requires_grad_(True)
    x = torch.randn(2, 5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(hg.propagate, (x, to_edge, to_node))
