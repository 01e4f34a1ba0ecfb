"""Static neighbourhood hypergraph from a weighted adjacency: a table of graphs and their incidences."""
import pytest
import torch

from hypergraph import static_hypergraph

CASES = {
    "path, both directions read": (
        [[0, 1, 0], [0, 0, 0], [0, 2, 0]],
        [[1, 0.5, 0], [1, 1, 1], [0, 1, 1]]),        # H[u, e_v]: column v is node v's hyperedge
    "no edges gives the identity": (
        [[0, 0], [0, 0]],
        [[1, 0], [0, 1]]),
    "isolated node and a self-loop": (
        [[5, 0, 0], [0, 0, 4], [0, 4, 0]],
        [[1, 0, 0], [0, 1, 1], [0, 1, 1]]),
    "weights scaled by the strongest link": (
        [[0, 2, 1, 0], [2, 0, 0, 0], [1, 0, 0, 3], [0, 0, 3, 0]],
        [[1, 1, 1 / 3, 0], [1, 1, 0, 0], [0.5, 0, 1, 1], [0, 0, 1, 1]]),
}


@pytest.mark.parametrize("adjacency, expected", CASES.values(), ids=CASES.keys())
def test_static_incidence(adjacency, expected):
    hg = static_hypergraph(torch.tensor(adjacency, dtype=torch.float64))
    torch.testing.assert_close(hg.incidence(), torch.tensor(expected, dtype=torch.float64))
    assert torch.equal(hg.members[:, 0], torch.arange(len(adjacency)))
    assert torch.all(hg.edge_weight == 1)
    assert torch.all(hg.edge_degree() > 0)                    # no empty hyperedge


def test_integer_adjacency_is_accepted():
    hg = static_hypergraph(torch.tensor([[0, 1], [1, 0]]))
    assert hg.membership.is_floating_point()


@pytest.mark.parametrize("adjacency, match", [
    (torch.ones(2, 3), "square"),
    (torch.tensor([[0.0, -1.0], [0.0, 0.0]]), "non-negative"),
    (torch.tensor([[0.0, float("nan")], [0.0, 0.0]]), "finite"),
])
def test_invalid_adjacency(adjacency, match):
    with pytest.raises(ValueError, match=match):
        static_hypergraph(adjacency)
