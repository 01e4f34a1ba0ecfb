"""Fixtures of the hypergraph tests."""
import pytest

from hypergraph_helpers import make_weighted_hypergraph


@pytest.fixture
def weighted_hypergraph():
    """A small random weighted hypergraph with one isolated node and one empty hyperedge (float64)."""
    return make_weighted_hypergraph()
