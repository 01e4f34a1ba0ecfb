"""HyperSAGE-style aggregation: node -> hyperedge mean -> node mean, concatenated with the node itself.

Arya et al., "HyperSAGE: Generalizing Inductive Representation Learning on Hypergraphs" (2020), with
mean aggregators at both levels, as GraphSAGE (Hamilton et al., NeurIPS 2017) does on graphs:

    m_e   = sum_v H[v, e] x_v / d(e)                                  (hyperedge mean, d(e) = sum_v H[v, e])
    a_v   = sum_e w_e H[v, e] m_e / d(v)                              (node mean, d(v) = sum_e w_e H[v, e])
    x'_v  = Theta [x_v || a_v] + b

Inverses are guarded: an empty hyperedge has ``m_e = 0`` and a node in no hyperedge has ``a_v = 0``, so
its output depends on itself only. Both means are sparse aggregations over the member lists.

Shapes:
    x: [..., N, C_in] -> [..., N, C_out].
"""
from __future__ import annotations

import torch
from torch import nn

from .structure import Hypergraph, HypergraphLayer, safe_inverse_power

__all__ = ["HypergraphSAGE"]


class HypergraphSAGE(HypergraphLayer):
    """``x'_v = Theta [x_v || mean_{e ∋ v} mean_{u ∈ e} x_u] + b``.

    Shapes:
        x: [..., N, C_in], hypergraph on N nodes -> [..., N, C_out].
    """

    def __init__(self, in_channels: int, out_channels: int, *, bias: bool = True):
        super().__init__(in_channels, out_channels)
        self.linear = nn.Linear(2 * in_channels, out_channels, bias=bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.linear.reset_parameters()

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, bias={self.linear.bias is not None}"

    def aggregate(self, x: torch.Tensor, hypergraph: Hypergraph) -> torch.Tensor:
        """The two-level mean ``a_v`` -> ``[..., N, C_in]``."""
        edge_mean = hypergraph.node_to_edge(x) * safe_inverse_power(
            hypergraph.edge_degree(), 1.0).unsqueeze(-1)                         # [..., M, C_in]
        weighted = hypergraph.edge_weight.unsqueeze(-1) * hypergraph.membership  # [M, K]
        node_sum = hypergraph.edge_to_node(edge_mean, weighted)                  # [..., N, C_in]
        return node_sum * safe_inverse_power(hypergraph.node_degree(), 1.0).unsqueeze(-1)

    def forward(self, x: torch.Tensor, hypergraph: Hypergraph) -> torch.Tensor:
        self.check_input(x, hypergraph)
        return self.linear(torch.cat([x, self.aggregate(x, hypergraph)], dim=-1))  # [..., N, C_out]
