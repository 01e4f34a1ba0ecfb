"""Helpers shared by the hypergraph tests (a module name unique across tests/, importable from any test)."""
import torch

from hypergraph import Hypergraph

NUM_NODES, NUM_EDGES = 5, 6


def inverse_power(x, power):
    """The tests' own guarded ``x ** -power`` (0 where ``x == 0``)."""
    return torch.where(x > 0, x.clamp_min(1e-300) ** -power, torch.zeros_like(x))


def make_weighted_hypergraph(seed=7):
    """``(incidence [N, M], edge_weight [M], Hypergraph)`` in float64; node N-1 isolated, edge M-1 empty."""
    g = torch.Generator().manual_seed(seed)
    incidence = torch.rand(NUM_NODES, NUM_EDGES, generator=g, dtype=torch.float64) + 0.1
    incidence = incidence * (torch.rand(NUM_NODES, NUM_EDGES, generator=g, dtype=torch.float64) < 0.6)
    incidence[torch.arange(NUM_NODES - 1), torch.arange(NUM_NODES - 1)] = 0.9   # every other node has an edge
    incidence[-1, :] = 0
    incidence[:, -1] = 0
    edge_weight = torch.rand(NUM_EDGES, generator=g, dtype=torch.float64) + 0.5
    return incidence, edge_weight, Hypergraph.from_incidence(incidence, edge_weight)
