"""Adaptive k-nearest-neighbour hypergraph learned from node embeddings (ST-SepNet's spatial branch).

Chen et al., "Decoupling Spatio-Temporal Prediction: When Lightweight Large Models Meet Adaptive
Hypergraphs" (STH-SepNet, KDD 2025). Every node ``v`` owns a learned embedding ``E_v`` (``E [N, d]``);

    M = tanh(alpha * W E)                                   (W a Linear, as MTGNN's graph learner)
    e_v = {v} + the k - 1 nearest other nodes of v in M    (one hyperedge of order k per node, M = N)

Selection is one ``torch.cdist`` and one ``topk`` on the model's device: no sklearn, no host round trip,
no Python loop (the published code ran sklearn ``NearestNeighbors`` on CPU copies and filled ``H`` in a
loop in every forward).

Weights, and how gradients reach ``E``: ``topk`` returns indices, which are piecewise constant in ``E``, so
the choice of members is not differentiable. The memberships are: with the mean squared coordinate
distance ``delta(v, u) = ||M_v - M_u||^2 / d`` (in ``[0, 4]`` because of the tanh),

    H[u, e_v] = exp(-delta(v, u) / tau)      for the members u of e_v (the centre has H = 1)
    w_{e_v}   = mean_{u in e_v} H[u, e_v]    (a tight hyperedge weighs more)

Both are computed from the members' embeddings gathered after the selection, so the loss reaches ``E``
and ``W`` through every membership and edge weight (``d H / d M_u = -2 (M_u - M_v) H / (d tau)``).

Shapes:
    output: a :class:`~hypergraph.structure.Hypergraph` with members [N, k], membership [N, k],
    edge_weight [N]; hyperedge ``e`` is centred on node ``e`` and ``members[e, 0] == e``.
"""
from __future__ import annotations

import torch
from torch import nn

from .structure import Hypergraph

__all__ = ["AdaptiveHypergraph", "knn_hyperedges"]


def knn_hyperedges(points: torch.Tensor, k: int) -> torch.Tensor:
    """Member ids ``[N, k]``: row ``v`` is ``v`` followed by its ``k - 1`` nearest other rows of ``points [N, d]``.

    Not differentiable (indices); neighbours are ordered by increasing Euclidean distance.
    """
    if points.ndim != 2:
        raise ValueError(f"points must be [N, d], got shape {tuple(points.shape)}")
    num_nodes = points.shape[0]
    if not 1 <= k <= num_nodes:
        raise ValueError(f"hyperedge order k must be in [1, N={num_nodes}], got {k}")
    with torch.no_grad():
        dist = torch.cdist(points, points)                                       # [N, N]
        dist.fill_diagonal_(float("inf"))                                        # the centre is added below
        neighbours = dist.topk(k - 1, dim=1, largest=False).indices              # [N, k-1]
    centre = torch.arange(num_nodes, device=points.device).unsqueeze(1)          # [N, 1]
    return torch.cat([centre, neighbours], dim=1)                                # [N, k]


class AdaptiveHypergraph(nn.Module):
    """Learns node embeddings and builds one order-``k`` hyperedge per node from their nearest neighbours.

    Shapes:
        forward() -> Hypergraph(members [N, k], membership [N, k], edge_weight [N]).
    """

    def __init__(self, num_nodes: int, *, embed_dim: int = 16, k: int = 3, alpha: float = 3.0,
                 tau: float = 1.0):
        super().__init__()
        for name, value, low in (("num_nodes", num_nodes, 1), ("embed_dim", embed_dim, 1), ("k", k, 1)):
            if not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if k > num_nodes:
            raise ValueError(f"k (hyperedge order) must be <= num_nodes={num_nodes}, got {k}")
        if alpha <= 0 or tau <= 0:
            raise ValueError(f"alpha and tau must be > 0, got alpha={alpha}, tau={tau}")
        self.num_nodes, self.embed_dim, self.k = num_nodes, embed_dim, k
        self.alpha, self.tau = float(alpha), float(tau)
        self.embedding = nn.Parameter(torch.empty(num_nodes, embed_dim))
        self.transform = nn.Linear(embed_dim, embed_dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.embedding)
        self.transform.reset_parameters()

    def extra_repr(self) -> str:
        return (f"num_nodes={self.num_nodes}, embed_dim={self.embed_dim}, k={self.k}, "
                f"alpha={self.alpha}, tau={self.tau}")

    def node_features(self) -> torch.Tensor:
        """``M = tanh(alpha * W E)`` -> ``[N, d]``."""
        return torch.tanh(self.alpha * self.transform(self.embedding))

    def forward(self) -> Hypergraph:
        features = self.node_features()                                          # [N, d]
        members = knn_hyperedges(features, self.k)                               # [N, k]
        offsets = features[members] - features.unsqueeze(1)                      # [N, k, d]
        delta = offsets.pow(2).mean(-1)                                          # [N, k]
        membership = torch.exp(-delta / self.tau)                                # [N, k], centre = 1
        return Hypergraph(members, membership, membership.mean(-1), self.num_nodes)
