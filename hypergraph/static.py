"""A static hypergraph from a road graph: each node with its graph neighbours forms one hyperedge.

The "static" counterpart of ST-SepNet's adaptive hypergraph (Chen et al., KDD 2025): instead of nearest
neighbours in a learned embedding space, hyperedge ``e_v`` gathers node ``v`` and every node adjacent
to it in the given weighted adjacency ``A`` (read in both directions, ``A_s = max(A, A^T)``). Memberships
keep the graph's edge weights, scaled by the strongest link of the centre:

    H[v, e_v] = 1,     H[u, e_v] = A_s[v, u] / max_{u' != v} A_s[v, u']   (u != v, A_s[v, u] > 0)
    w_{e_v}   = 1

so a node isolated in the graph still has its own one-member hyperedge (no empty edges), and
``H = I`` for a graph without edges. Self-loops in ``A`` are ignored (the centre always has weight 1).

Shapes:
    adjacency: [N, N] -> Hypergraph(members [N, K], membership [N, K], edge_weight [N]),
    K = 1 + the largest number of neighbours; ``members[e, 0] == e``.
"""
from __future__ import annotations

import torch

from .structure import Hypergraph, safe_inverse_power

__all__ = ["static_hypergraph"]


def static_hypergraph(adjacency: torch.Tensor) -> Hypergraph:
    """The neighbourhood hypergraph of a non-negative weighted adjacency ``[N, N]`` (see the module docstring)."""
    if not isinstance(adjacency, torch.Tensor):
        adjacency = torch.as_tensor(adjacency)
    if adjacency.ndim != 2 or adjacency.shape[0] != adjacency.shape[1]:
        raise ValueError(f"adjacency must be a square [N, N] matrix, got shape {tuple(adjacency.shape)}")
    if not adjacency.is_floating_point():
        adjacency = adjacency.to(torch.get_default_dtype())
    if not torch.isfinite(adjacency).all() or (adjacency < 0).any():
        raise ValueError("adjacency must hold finite, non-negative edge weights")
    num_nodes = adjacency.shape[0]
    eye = torch.eye(num_nodes, dtype=torch.bool, device=adjacency.device)
    links = torch.maximum(adjacency, adjacency.t()).masked_fill(eye, 0.0)       # [N, N], row v = edge e_v
    scaled = links * safe_inverse_power(links.amax(1, keepdim=True), 1.0)       # [N, N], strongest link = 1
    incidence = (scaled + eye.to(scaled.dtype)).t()                              # [N(nodes), N(edges)]
    # from_incidence lists members by node id; put each centre first so members[e, 0] == e.
    hypergraph = Hypergraph.from_incidence(incidence)
    centre_first = torch.argsort((hypergraph.members != torch.arange(num_nodes, device=adjacency.device)[:, None])
                                 .to(torch.int8), dim=1, stable=True)            # [N, K]
    return Hypergraph(hypergraph.members.gather(1, centre_first), hypergraph.membership.gather(1, centre_first),
                      hypergraph.edge_weight, num_nodes)
