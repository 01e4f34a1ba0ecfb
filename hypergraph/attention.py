"""Hypergraph attention: a learned incidence from node-hyperedge attention, then hypergraph convolution.

Bai et al., "Hypergraph convolution and hypergraph attention", Pattern Recognition 2021, Eqs. 5-6.
With ``P = Theta`` the shared projection, the hyperedge features taken as the membership-weighted mean of
their members ``e_j = D_e^-1 H^T X`` (the paper assumes node and edge features in one space), and
``a = [a_node; a_edge]`` the attention vector:

    s(v, j)   = LeakyReLU(a_node^T x_v P + a_edge^T e_j P)                  for v in e_j
    Ht[v, j]  = exp(s(v, j)) / sum_{j' : v in e_j'} exp(s(v, j'))           (softmax over v's hyperedges)
    X'        = D~_v^-1/2 Ht W D~_e^-1 Ht^T D~_v^-1/2 X P + b

where ``D~_v = diag(Ht w)`` and ``D~_e = diag(1^T Ht)`` are the degrees of the attention incidence.
The given hypergraph's memberships shape the edge features and fix the support of ``Ht``; a node in no
hyperedge gets an all-zero row (its output is the bias), never NaN. The softmax is one scatter over all
(edge, member) pairs, no loop over nodes or samples; the attention is computed per sample.

Shapes:
    x: [..., N, C_in] -> [..., N, C_out]; attention Ht stored as [..., M, K] (one value per member slot).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .structure import Hypergraph, HypergraphLayer, safe_inverse_power

__all__ = ["HypergraphAttention"]


def _softmax_per_node(logits: torch.Tensor, hypergraph: Hypergraph) -> torch.Tensor:
    """Softmax of ``logits [..., M, K]`` over the member slots that share a node; padding slots give 0."""
    mask = (hypergraph.membership != 0).reshape(-1)                              # [M*K]
    flat = logits.flatten(-2).masked_fill(~mask, float("-inf"))                  # [..., M*K]
    index = hypergraph.members.reshape(-1).expand_as(flat)                       # [..., M*K]
    peak = flat.new_full((*flat.shape[:-1], hypergraph.num_nodes), float("-inf"))
    peak = peak.scatter_reduce(-1, index, flat.detach(), reduce="amax")          # [..., N]
    peak = torch.where(torch.isfinite(peak), peak, torch.zeros_like(peak))       # nodes in no hyperedge
    scores = torch.exp(flat - peak.gather(-1, index))                            # [..., M*K], 0 on padding
    total = scores.new_zeros(peak.shape).index_add(-1, hypergraph.members.reshape(-1), scores)  # [..., N]
    share = scores / total.gather(-1, index).clamp_min(torch.finfo(scores.dtype).tiny)
    return share.unflatten(-1, hypergraph.members.shape)                         # [..., M, K]


class HypergraphAttention(HypergraphLayer):
    """Hypergraph convolution whose incidence is node-hyperedge attention (one head).

    Shapes:
        x: [..., N, C_in], hypergraph on N nodes -> [..., N, C_out].
    """

    def __init__(self, in_channels: int, out_channels: int, *, negative_slope: float = 0.2,
                 dropout: float = 0.0, bias: bool = True):
        super().__init__(in_channels, out_channels)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.negative_slope, self.dropout = negative_slope, dropout
        self.theta = nn.Linear(in_channels, out_channels, bias=False)
        self.att_node = nn.Parameter(torch.empty(out_channels))
        self.att_edge = nn.Parameter(torch.empty(out_channels))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.theta.weight)
        bound = self.out_channels ** -0.5
        nn.init.uniform_(self.att_node, -bound, bound)
        nn.init.uniform_(self.att_edge, -bound, bound)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, negative_slope={self.negative_slope}, "
                f"dropout={self.dropout}, bias={self.bias is not None}")

    def attention(self, x: torch.Tensor, hypergraph: Hypergraph) -> torch.Tensor:
        """The attention incidence ``Ht`` as ``[..., M, K]`` (``Ht[members[e, j], e]``), before dropout."""
        return self._attention(self.theta(x), hypergraph)

    def forward(self, x: torch.Tensor, hypergraph: Hypergraph) -> torch.Tensor:
        self.check_input(x, hypergraph)
        h = self.theta(x)                                                        # [..., N, C_out]
        att = F.dropout(self._attention(h, hypergraph), self.dropout, self.training)  # [..., M, K]
        weighted = hypergraph.edge_weight.unsqueeze(-1) * att                    # [..., M, K]
        node_degree = weighted.new_zeros(*weighted.shape[:-2], hypergraph.num_nodes).index_add(
            -1, hypergraph.members.reshape(-1), weighted.flatten(-2))            # [..., N]
        node_scale = safe_inverse_power(node_degree, 0.5).unsqueeze(-1)          # [..., N, 1]
        edge_scale = hypergraph.edge_weight * safe_inverse_power(att.sum(-1), 1.0)  # [..., M]
        edges = hypergraph.node_to_edge(h * node_scale, att) * edge_scale.unsqueeze(-1)  # [..., M, C_out]
        out = hypergraph.edge_to_node(edges, att) * node_scale                   # [..., N, C_out]
        return out if self.bias is None else out + self.bias

    def _attention(self, h: torch.Tensor, hypergraph: Hypergraph) -> torch.Tensor:
        edge_mean = hypergraph.node_to_edge(h) * safe_inverse_power(hypergraph.edge_degree(), 1.0).unsqueeze(-1)
        node_term = (h @ self.att_node)[..., hypergraph.members]                 # [..., M, K]
        edge_term = (edge_mean @ self.att_edge).unsqueeze(-1)                    # [..., M, 1]
        logits = F.leaky_relu(node_term + edge_term, self.negative_slope)        # [..., M, K]
        return _softmax_per_node(logits, hypergraph)
