"""A weighted hypergraph stored by its hyperedges' member lists, and the two aggregations over it.

A hypergraph on ``N`` nodes with ``M`` hyperedges is usually written as an incidence matrix ``H [N, M]``
(``H[v, e] > 0`` when node ``v`` belongs to hyperedge ``e``, its value a soft membership) and hyperedge
weights ``w [M]`` (Feng et al., "Hypergraph Neural Networks", AAAI 2019). The degrees are

    d(v) = sum_e w_e H[v, e]        (node degree, the diagonal of D_v)
    d(e) = sum_v H[v, e]            (edge degree, the diagonal of D_e)

The adaptive hypergraphs of ST-SepNet have ``M = N`` hyperedges of ``K = k`` members each, so a dense
``H`` is ``N / k`` times larger than needed and a dense ``H^T X`` costs ``O(N^2 C)``. Here a hypergraph
keeps ``members [M, K]`` (node ids) and ``membership [M, K]`` (``H[members[e, j], e]``); edges with fewer
than ``K`` members are padded with membership 0, so padding never contributes. The two aggregations

    node_to_edge:  Y[e] = sum_j a[e, j] X[members[e, j]]       ( = H^T X  when a = membership)
    edge_to_node:  X[v] = sum_{(e, j): members[e, j] = v} a[e, j] Y[e]   ( = H Y )

are one gather and one ``index_add`` over all edges: ``O(M K C)``, no loop over nodes or samples, and
differentiable in ``X``, ``Y`` and the coefficients ``a``. When both steps share one ``[M, K]`` coefficient pair
across samples (the convolution), :meth:`Hypergraph.propagate` does them as one sparse ``[N, N]`` product with
at most ``M K^2`` entries instead: 3.3x (N = 307) and 2.9x (N = 883) faster forward + backward than the two
aggregations on ``[16, 40, N, 32]`` features on CPU (benchmarks/results/bench_hypergraph.txt). The aggregations
alone, with one ``[M, K]`` coefficient matrix for all samples, move the features node-major first (``[N, F]``
with every leading axis and the channels in ``F``), so that each gather and scatter moves whole rows.

Shapes:
    members, membership: [M, K]; edge_weight: [M]; features: [..., N, C] (any leading batch axes).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

__all__ = ["Hypergraph", "HypergraphLayer", "safe_inverse_power"]


def safe_inverse_power(x: torch.Tensor, power: float) -> torch.Tensor:
    """``x ** -power`` where ``x > 0`` and 0 elsewhere (isolated nodes, empty edges), with finite gradients.

    The masked entries are replaced by 1 before the power so that neither the value nor its gradient
    passes through ``0 ** -power = inf`` (``torch.where`` alone would give ``0 * inf = NaN`` gradients).
    """
    positive = x > 0
    safe = torch.where(positive, x, torch.ones_like(x))
    return torch.where(positive, safe.pow(-power), torch.zeros_like(x))


@dataclass(frozen=True)
class Hypergraph:
    """Hyperedges as padded member lists with soft memberships and hyperedge weights.

    Shapes:
        members: [M, K] int64 node ids; membership: [M, K] (0 marks padding); edge_weight: [M].
    """

    members: torch.Tensor
    membership: torch.Tensor
    edge_weight: torch.Tensor
    num_nodes: int

    def __post_init__(self):
        if self.members.ndim != 2 or self.members.dtype != torch.long:
            raise ValueError(f"members must be an int64 tensor [M, K], got {self.members.dtype} "
                             f"{tuple(self.members.shape)}")
        if self.membership.shape != self.members.shape:
            raise ValueError(f"membership has shape {tuple(self.membership.shape)} but members has "
                             f"{tuple(self.members.shape)}; they must match ([M, K])")
        if self.edge_weight.shape != self.members.shape[:1]:
            raise ValueError(f"edge_weight has shape {tuple(self.edge_weight.shape)}; expected "
                             f"[{self.members.shape[0]}] (one weight per hyperedge)")
        if self.num_nodes < 1:
            raise ValueError(f"num_nodes must be >= 1, got {self.num_nodes}")

    @property
    def num_edges(self) -> int:
        return self.members.shape[0]

    @classmethod
    def from_incidence(cls, incidence: torch.Tensor, edge_weight: Optional[torch.Tensor] = None) -> "Hypergraph":
        """Build from a dense incidence ``[N, M]`` (zeros mean "not a member"); ``edge_weight`` defaults to 1.

        Not meant for ``forward``: it reads the largest edge size back to the host.
        """
        if incidence.ndim != 2:
            raise ValueError(f"incidence must be [N, M], got shape {tuple(incidence.shape)}")
        num_nodes, num_edges = incidence.shape
        present = (incidence != 0).to(torch.int8)                                # [N, M]
        size = max(1, int(present.sum(0).max()))
        order = torch.argsort(present, dim=0, descending=True, stable=True)[:size]  # [K, M]: members first
        membership = incidence.gather(0, order)                                  # [K, M], 0 on padding
        if edge_weight is None:
            edge_weight = torch.ones(num_edges, dtype=incidence.dtype, device=incidence.device)
        return cls(order.t().contiguous(), membership.t().contiguous(), edge_weight, num_nodes)

    def incidence(self) -> torch.Tensor:
        """The dense incidence matrix ``H [N, M]``."""
        dense = torch.zeros(self.num_edges, self.num_nodes, dtype=self.membership.dtype,
                            device=self.membership.device)
        return dense.scatter_add(1, self.members, self.membership).t()          # [N, M]

    def edge_degree(self) -> torch.Tensor:
        """``d(e) = sum_v H[v, e]`` -> ``[M]``."""
        return self.membership.sum(-1)

    def node_degree(self) -> torch.Tensor:
        """``d(v) = sum_e w_e H[v, e]`` -> ``[N]``."""
        weighted = self.edge_weight[:, None] * self.membership                   # [M, K]
        zeros = weighted.new_zeros(self.num_nodes)
        return zeros.index_add(0, self.members.reshape(-1), weighted.reshape(-1))

    def node_to_edge(self, x: torch.Tensor, coefficient: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``Y[..., e, :] = sum_j a[..., e, j] x[..., members[e, j], :]`` (``a`` defaults to the membership).

        ``x [..., N, C]``, ``coefficient [..., M, K]`` -> ``[..., M, C]``.
        """
        self.check_nodes(x)
        a = self.membership if coefficient is None else coefficient
        if a.ndim == 2:  # one coefficient per member slot: node-major rows, one [1, K] x [K, F] product per edge
            rows = x.movedim(-2, 0)                                                # [N, ..., C]
            flat = rows.reshape(self.num_nodes, -1)                                # [N, F]
            edges = torch.bmm(a.unsqueeze(1), flat[self.members])                  # [M, 1, F]
            return edges.reshape(self.num_edges, *rows.shape[1:]).movedim(0, -2)  # [..., M, C]
        gathered = x.index_select(-2, self.members.reshape(-1))                  # [..., M*K, C]
        gathered = gathered.unflatten(-2, self.members.shape)                     # [..., M, K, C]
        return (a.unsqueeze(-1) * gathered).sum(-2)                               # [..., M, C]

    def edge_to_node(self, y: torch.Tensor, coefficient: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``X[..., v, :] = sum_{members[e, j] = v} a[..., e, j] y[..., e, :]`` (``a`` defaults to the membership).

        ``y [..., M, C]``, ``coefficient [..., M, K]`` -> ``[..., N, C]``.
        """
        if y.shape[-2] != self.num_edges:
            raise ValueError(f"edge features have {y.shape[-2]} hyperedges on axis -2 but the hypergraph has "
                             f"{self.num_edges}; expected [..., M, C]")
        a = self.membership if coefficient is None else coefficient
        if a.ndim == 2:  # node-major rows: scatter whole rows of all leading axes at once
            rows = y.movedim(-2, 0)                                                # [M, ..., C]
            flat = rows.reshape(self.num_edges, -1)                                # [M, F]
            messages = (a.unsqueeze(-1) * flat.unsqueeze(1)).flatten(0, 1)         # [M*K, F]
            out = flat.new_zeros(self.num_nodes, flat.shape[1]).index_add(0, self.members.reshape(-1), messages)
            return out.reshape(self.num_nodes, *rows.shape[1:]).movedim(0, -2)     # [..., N, C]
        messages = a.unsqueeze(-1) * y.unsqueeze(-2)                              # [..., M, K, C]
        messages = messages.flatten(-3, -2)                                       # [..., M*K, C]
        out = messages.new_zeros(*messages.shape[:-2], self.num_nodes, messages.shape[-1])
        return out.index_add(out.ndim - 2, self.members.reshape(-1), messages)   # [..., N, C]

    def propagate(self, x: torch.Tensor, to_edge: torch.Tensor, to_node: torch.Tensor) -> torch.Tensor:
        """``edge_to_node(node_to_edge(x, to_edge), to_node)`` for one ``[M, K]`` coefficient pair shared by all
        samples, as one sparse ``[N, N]`` product: ``X' = S X`` with ``S[v, u] = sum_(e, i, j) to_node[e, i]
        to_edge[e, j]`` over the slots ``members[e, i] = v``, ``members[e, j] = u`` (at most ``M K^2`` entries).

        Features are moved node-major (``[N, F]``), multiplied by ``S`` in CSR form, and moved back; the backward
        gives ``S^T G`` for the features and, for the entries of ``S``, only the ``M K^2`` sampled products
        (``torch.sparse.sampled_addmm``), so gradients reach the coefficients (and the memberships behind
        them) without a dense ``[N, N]`` product. ``x [..., N, C]`` -> ``[..., N, C]``.
        """
        self.check_nodes(x)
        num_edges, size = self.members.shape
        rows = self.members.unsqueeze(2).expand(num_edges, size, size).reshape(-1)   # [M K K] node v of slot i
        cols = self.members.unsqueeze(1).expand(num_edges, size, size).reshape(-1)   # [M K K] node u of slot j
        products = (to_node.unsqueeze(2) * to_edge.unsqueeze(1)).reshape(-1)         # [M K K]
        keys, slot = torch.unique(rows * self.num_nodes + cols, return_inverse=True)   # sorted: CSR order
        values = products.new_zeros(keys.numel()).index_add(0, slot, products)      # [nnz], duplicates summed
        crow = torch.zeros(self.num_nodes + 1, dtype=torch.long, device=keys.device)
        crow[1:] = torch.bincount(keys // self.num_nodes, minlength=self.num_nodes).cumsum(0)
        rows_first = x.movedim(-2, 0)                                                 # [N, ..., C]
        out = _CSRMatmul.apply(values, crow, keys % self.num_nodes, rows_first.reshape(self.num_nodes, -1))
        return out.view(rows_first.shape).movedim(0, -2)                              # [..., N, C]

    def check_nodes(self, x: torch.Tensor) -> None:
        """Raise a ValueError unless ``x`` is ``[..., N, C]`` with this hypergraph's ``N``."""
        if x.ndim < 2 or x.shape[-2] != self.num_nodes:
            raise ValueError(f"node features have shape {tuple(x.shape)} but the hypergraph has "
                             f"{self.num_nodes} nodes; expected [..., N={self.num_nodes}, C]")


class HypergraphLayer(nn.Module):
    """Base of the hypergraph convolutions: ``in_channels -> out_channels`` on ``[..., N, C]`` node features.

    Checks the channel counts once and each call's input (:meth:`check_input`) with one message style.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"in_channels and out_channels must be >= 1, got {in_channels} and {out_channels}")
        self.in_channels, self.out_channels = in_channels, out_channels

    def check_input(self, x: torch.Tensor, hypergraph: Hypergraph) -> None:
        """Raise a ValueError unless ``x`` is ``[..., N, C_in]`` on ``hypergraph``'s ``N`` nodes."""
        if x.shape[-1] != self.in_channels:
            raise ValueError(f"x has {x.shape[-1]} channels on its last axis; expected in_channels="
                             f"{self.in_channels} ([..., N, C_in])")
        hypergraph.check_nodes(x)


class _CSRMatmul(torch.autograd.Function):
    """``S @ x`` for ``S [N, N]`` given as CSR structure (``crow``, ``col``) and differentiable ``values``.

    PyTorch's own backward for a sparse matrix's values forms the dense ``[N, N]`` product ``G x^T`` first; this
    one samples it at the ``nnz`` entries only.
    """

    @staticmethod
    def forward(ctx, values: torch.Tensor, crow: torch.Tensor, col: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(values, crow, col, x)
        return _csr(crow, col, values, x.shape[0]) @ x                               # [N, F]

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        values, crow, col, x = ctx.saved_tensors
        grad, num_nodes = grad.contiguous(), x.shape[0]
        grad_values = grad_x = None
        if ctx.needs_input_grad[0]:
            pattern = _csr(crow, col, torch.zeros_like(values), num_nodes)
            grad_values = torch.sparse.sampled_addmm(pattern, grad, x.t()).values()   # (G x^T)[v, u] at nnz
        if ctx.needs_input_grad[3]:
            grad_x = _csr(crow, col, values, num_nodes).t().to_sparse_csr() @ grad   # S^T G
        return grad_values, None, None, grad_x


def _csr(crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor, num_nodes: int) -> torch.Tensor:
    with warnings.catch_warnings():  # PyTorch marks CSR tensors "beta" on first use; the ops used here are tested
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(crow, col, values, (num_nodes, num_nodes), check_invariants=False)
