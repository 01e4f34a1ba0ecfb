"""Adaptive (learned) directed graph from two sets of node embeddings, as in MTGNN.

Wu et al., "Connecting the Dots: Multivariate Time Series Forecasting with Graph Neural Networks"
(MTGNN, KDD 2020), Eqs. 1-6; the first-order half of ST-SepNet's spatial branch (Chen et al., KDD 2025):

    M1 = tanh(alpha E1 Theta1),   M2 = tanh(alpha E2 Theta2)
    A  = ReLU(tanh(alpha (M1 M2^T - M2 M1^T)))          (antisymmetric inside: one direction per pair)
    keep the ``top_k`` largest entries of each row, zero the rest

Unlike the published code, no random noise is added before the top-k (no randomness in ``forward``):
ties are broken by ``topk``'s deterministic order. The selection is not differentiable; the kept
weights are, so the embeddings learn through them.

Shapes:
    forward() -> adjacency [N, N] (row v: the weights of the links v receives from, as MTGNN uses it).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["GraphLearner"]


class GraphLearner(nn.Module):
    """Learns a sparse non-negative adjacency ``[N, N]`` from node embeddings.

    Shapes:
        forward() -> [N, N].
    """

    def __init__(self, num_nodes: int, *, embed_dim: int = 16, alpha: float = 3.0, top_k: int = 20):
        super().__init__()
        for name, value in (("num_nodes", num_nodes), ("embed_dim", embed_dim), ("top_k", top_k)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if alpha <= 0:
            raise ValueError(f"alpha must be > 0, got {alpha}")
        self.num_nodes, self.embed_dim, self.alpha = num_nodes, embed_dim, float(alpha)
        self.top_k = min(top_k, num_nodes)
        self.source = nn.Parameter(torch.empty(num_nodes, embed_dim))
        self.target = nn.Parameter(torch.empty(num_nodes, embed_dim))
        self.source_transform = nn.Linear(embed_dim, embed_dim)
        self.target_transform = nn.Linear(embed_dim, embed_dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.source)
        nn.init.normal_(self.target)
        self.source_transform.reset_parameters()
        self.target_transform.reset_parameters()

    def extra_repr(self) -> str:
        return f"num_nodes={self.num_nodes}, embed_dim={self.embed_dim}, alpha={self.alpha}, top_k={self.top_k}"

    def dense(self) -> torch.Tensor:
        """``ReLU(tanh(alpha (M1 M2^T - M2 M1^T)))`` before sparsification -> ``[N, N]``."""
        m1 = torch.tanh(self.alpha * self.source_transform(self.source))         # [N, d]
        m2 = torch.tanh(self.alpha * self.target_transform(self.target))         # [N, d]
        return F.relu(torch.tanh(self.alpha * (m1 @ m2.t() - m2 @ m1.t())))      # [N, N]

    def forward(self) -> torch.Tensor:
        adjacency = self.dense()
        keep = adjacency.detach().topk(self.top_k, dim=1).indices                # [N, top_k]
        mask = torch.zeros_like(adjacency).scatter_(1, keep, 1.0)                # [N, N]
        return adjacency * mask
