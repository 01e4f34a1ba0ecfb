"""The node-adaptive low-rank linear layer (NALL) of ST-LoRA.

Ruan et al., "ST-LoRA: Low-rank Adaptation for Spatio-Temporal Forecasting" (ECML-PKDD 2024,
https://arxiv.org/abs/2404.07919). For the features ``x_v`` of node ``v``:

    y_v = W x_v + b + (alpha / r) * B C_v A x_v

with ``A [r, d_in]`` and ``B [d_out, r]`` shared by all nodes and a small core ``C_v`` per node, either a
full ``[r, r]`` matrix (tensor ``[N, r, r]``) or a diagonal (tensor ``[N, r]``). The adapter costs
``r (d_in + d_out) + N r^2`` (full) or ``r (d_in + d_out) + N r`` (diagonal) parameters.

Initialisation: the cores start at zero, so the low-rank update is zero at step 0, while ``A`` and ``B``
start random (Kaiming-uniform, as LoRA's ``A``). This puts the zero on the node-specific factor on
purpose: the gradient of ``C_v`` is ``(alpha / r) B^T g_v (A x_v)^T``, non-zero and different for every node
from the first step, so the cores turn node-specific at once. The LoRA convention ``B = 0`` would give every
core an exactly zero gradient until ``B`` has grown, and a shared start the optimizer must break first.
The cores are marked node-specific and ``A``, ``B`` as their factors (``stlora_plugin.runtime.optim``), so
that the optimizer keeps weight decay off the whole ``B C_v A`` path: its gradient is small, and under
coupled decay all three shrink to zero within a few hundred steps (measured; see ``runtime/optim.py``).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from stlora_plugin.runtime.optim import mark_node_factor, mark_node_specific

__all__ = ["CORE_TYPES", "NodeAdaptiveLowRankLinear"]

#: Core parametrizations: a full ``r x r`` matrix per node, or its diagonal only.
CORE_TYPES = ("full", "diagonal")


class NodeAdaptiveLowRankLinear(nn.Module):
    """``y_v = W x_v + b + (alpha / r) B C_v A x_v`` for every node ``v`` in one batched einsum.

    Shapes:
        x: ``[..., N, d_in]`` (any leading axes, nodes second to last) -> ``[..., N, d_out]``.
        core: ``[N, r, r]`` (full) or ``[N, r]`` (diagonal).
    """

    def __init__(self, in_features: int, out_features: int, num_nodes: int, *, rank: int = 4, alpha: float = 4.0,
                 core: str = "full", dropout: float = 0.0, bias: bool = True):
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features),
                            ("num_nodes", num_nodes), ("rank", rank)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"NodeAdaptiveLowRankLinear: {name}={value!r} is not allowed; expected an int >= 1")
        if core not in CORE_TYPES:
            raise ValueError(f"NodeAdaptiveLowRankLinear: core={core!r} is not allowed; choose one of {CORE_TYPES}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"NodeAdaptiveLowRankLinear: dropout={dropout!r} is not allowed; expected [0, 1)")
        self.in_features, self.out_features, self.num_nodes = in_features, out_features, num_nodes
        self.rank, self.alpha, self.core_type = rank, float(alpha), core
        self.scaling = self.alpha / rank
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        self.lora_a = mark_node_factor(nn.Parameter(torch.empty(rank, in_features)))
        self.lora_b = mark_node_factor(nn.Parameter(torch.empty(out_features, rank)))
        core_shape = (num_nodes, rank, rank) if core == "full" else (num_nodes, rank)
        self.core = mark_node_specific(nn.Parameter(torch.empty(core_shape)))
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features)
            nn.init.uniform_(self.bias, -bound, bound)
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        nn.init.kaiming_uniform_(self.lora_b, a=math.sqrt(5))
        nn.init.zeros_(self.core)

    def __setstate__(self, state):
        # deepcopy and pickling rebuild Parameters without their attributes in some paths: mark again.
        super().__setstate__(state)
        mark_node_specific(self.core)
        mark_node_factor(self.lora_a)
        mark_node_factor(self.lora_b)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, num_nodes={self.num_nodes}, "
                f"rank={self.rank}, alpha={self.alpha}, core={self.core_type}, bias={self.bias is not None}")

    def merge(self) -> None:
        """Not possible: ``B C_v A`` differs per node, so it cannot be folded into the one shared ``W``."""
        raise NotImplementedError(
            "NodeAdaptiveLowRankLinear cannot merge its update into W: the update B C_v A is different for every "
            "node v, while W is shared by all nodes. Keep the layer unmerged (inference cost is r * (d_in + d_out "
            "+ r) extra multiply-adds per node).")

    def delta(self, x: torch.Tensor) -> torch.Tensor:
        """The low-rank update ``(alpha / r) B C_v A x_v`` alone, ``[..., N, d_out]``."""
        if x.shape[-2] != self.num_nodes:
            raise ValueError(f"NodeAdaptiveLowRankLinear: input has {x.shape[-2]} nodes (axis -2) but the layer was "
                             f"built for {self.num_nodes} (num_nodes); input shape {tuple(x.shape)}")
        u = self.dropout(x) @ self.lora_a.t()  # [..., N, r]
        if self.core_type == "full":
            u = torch.einsum("...ns,nrs->...nr", u, self.core)  # [..., N, r]: C_v u_v for all v at once
        else:
            u = u * self.core  # [..., N, r]
        return self.scaling * (u @ self.lora_b.t())  # [..., N, d_out]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.weight, self.bias) + self.delta(x)
