"""The node-adaptive low-rank linear layer (NALL) of ST-LoRA.

Ruan et al., "ST-LoRA: Low-rank Adaptation for Spatio-Temporal Forecasting" (ECML-PKDD 2024,
https://arxiv.org/abs/2404.07919). For the features ``x_v`` of node ``v``:

    y_v = W x_v + b + (alpha / r) * B C_v A x_v

with ``A [r, d_in]`` and ``B [d_out, r]`` shared by all nodes and a small core ``C_v`` per node (``CORE_SHAPES``):

========  =============  ==============================================  ============================
core      tensor         meaning                                         adapter parameters
========  =============  ==============================================  ============================
full      ``[N, r, r]``  one full matrix per node (the paper)            ``r (d_in + d_out) + N r^2``
diagonal  ``[N, r]``     ``C_v = diag(c_v)``                             ``r (d_in + d_out) + N r``
shared    ``[r, r]``     one ``C`` for every node: nothing node-specific  ``r (d_in + d_out) + r^2``
========  =============  ==============================================  ============================

"shared" is the control of the ablation study: same rank, same function class per node, same einsum (the
one core expanded over the node axis), but no node-specific parameter at all.

Initialisation: the cores start at zero, so the low-rank update is zero at step 0, while ``A`` and ``B``
start random (Kaiming-uniform, as LoRA's ``A``). The gradient of ``C_v`` is ``(alpha / r) B^T g_v (A x_v)^T``,
different for every node from its first non-zero signal, so the cores turn node-specific at once; the LoRA
convention ``B = 0`` would keep every core's gradient at zero until ``B`` has grown. Inside ST-LoRA the
predictor's output layer starts at zero as well (``predictor.py``), which is what makes a wrapped model start
exactly as its backbone. :meth:`NodeAdaptiveLowRankLinear.update_norms` gives ``||Delta W_v||_F`` per node for
the penalty, through ``r x r`` Gram products.
Per-node cores are marked node-specific and ``A``, ``B`` as their factors (``stlora_plugin.runtime.optim``),
so that the optimizer keeps weight decay off the whole ``B C_v A`` path: its gradient is small, and under
coupled decay all three shrink to zero within a few hundred steps (measured; ``docs/stlora.md``). A
shared core is marked as a factor, not as node-specific: it stays on the same no-decay path as ``A`` and
``B`` (so the ablation changes node-specificity only, not the optimizer's treatment of the update), but it
is no per-node parameter (no node axis; reports count 0 node-specific parameters).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from stlora_plugin.runtime.optim import mark_node_factor, mark_node_specific

__all__ = ["CORE_SHAPES", "CORE_TYPES", "NodeAdaptiveLowRankLinear"]

#: Core type -> shape of the core tensor for ``(num_nodes, rank)``. The symbolic parameter count
#: (``budget.adapter_formula``) multiplies these same shapes, so the formula follows the module.
CORE_SHAPES = {
    "full": lambda n, r: (n, r, r),  # C_v, a full r x r matrix per node
    "diagonal": lambda n, r: (n, r),  # diag(C_v) per node
    "shared": lambda n, r: (r, r),  # one C for all nodes (ablation control)
}
CORE_TYPES = tuple(CORE_SHAPES)


class NodeAdaptiveLowRankLinear(nn.Module):
    """``y_v = W x_v + b + (alpha / r) B C_v A x_v`` for every node ``v`` in one batched einsum.

    Shapes:
        x: ``[..., N, d_in]`` (any leading axes, nodes second to last) -> ``[..., N, d_out]``.
        core: ``[N, r, r]`` (full), ``[N, r]`` (diagonal) or ``[r, r]`` (shared).
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
        self.node_specific = core != "shared"
        for pname, shape in self.parameter_shapes(in_features, out_features, num_nodes, rank, core, bias).items():
            setattr(self, pname, nn.Parameter(torch.empty(shape)))
        if not bias:
            self.bias = None
        self._mark()
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    @staticmethod
    def parameter_shapes(in_features, out_features, num_nodes, rank, core: str = "full",
                         bias: bool = True) -> dict[str, tuple]:
        """Name -> shape of every parameter; works on ints and on sympy symbols alike (see ``budget.py``)."""
        shapes = {"weight": (out_features, in_features), "bias": (out_features,), "lora_A": (rank, in_features),
                  "lora_B": (out_features, rank), "core": CORE_SHAPES[core](num_nodes, rank)}
        if not bias:
            del shapes["bias"]
        return shapes

    def reset_parameters(self) -> None:
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features)
            nn.init.uniform_(self.bias, -bound, bound)
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        nn.init.kaiming_uniform_(self.lora_B, a=math.sqrt(5))
        nn.init.zeros_(self.core)

    def _mark(self) -> None:
        (mark_node_specific if self.node_specific else mark_node_factor)(self.core)
        mark_node_factor(self.lora_A)
        mark_node_factor(self.lora_B)

    def _apply(self, fn, recurse: bool = True):
        # .to() / .cuda() / .float() may hand back new Parameter objects (always with
        # torch.__future__.set_swap_module_params_on_conversion(True)): mark them again
        out = super()._apply(fn, recurse)
        self._mark()
        return out

    #: parameter names of checkpoints written before the factors were named as in LoRA (lora_A, lora_B)
    _FORMER_NAMES = {"lora_a": "lora_A", "lora_b": "lora_B"}

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for old, new in self._FORMER_NAMES.items():  # earlier checkpoints load unchanged
            if prefix + old in state_dict and prefix + new not in state_dict:
                state_dict[prefix + new] = state_dict.pop(prefix + old)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def __setstate__(self, state):
        # deepcopy and pickling rebuild Parameters without their attributes in some paths: mark again.
        super().__setstate__(state)
        self._mark()

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, num_nodes={self.num_nodes}, "
                f"rank={self.rank}, alpha={self.alpha}, core={self.core_type}, bias={self.bias is not None}")

    def merge(self) -> None:
        """Not possible: ``B C_v A`` differs per node, so it cannot be folded into the one shared ``W``."""
        if not self.node_specific:
            raise NotImplementedError(
                "NodeAdaptiveLowRankLinear(core='shared') could fold B C A into W (one update for all nodes), but "
                "it exists as the ablation control of the per-node cores and keeps their unmerged computation")
        raise NotImplementedError(
            "NodeAdaptiveLowRankLinear cannot merge its update into W: the update B C_v A is different for every "
            "node v, while W is shared by all nodes. Keep the layer unmerged (inference cost is r * (d_in + d_out "
            "+ r) extra multiply-adds per node).")

    def delta(self, x: torch.Tensor) -> torch.Tensor:
        """The low-rank update ``(alpha / r) B C_v A x_v`` alone, ``[..., N, d_out]``."""
        if x.shape[-2] != self.num_nodes:
            raise ValueError(f"NodeAdaptiveLowRankLinear: input has {x.shape[-2]} nodes (axis -2) but the layer was "
                             f"built for {self.num_nodes} (num_nodes); input shape {tuple(x.shape)}")
        u = self.dropout(x) @ self.lora_A.t()  # [..., N, r]
        if self.core_type == "diagonal":
            u = u * self.core  # [..., N, r]
        else:
            core = self.core.expand(self.num_nodes, -1, -1)  # [N, r, r]: a view for "shared", no copy
            u = torch.einsum("...ns,nrs->...nr", u, core)  # [..., N, r]: C_v u_v for all v at once
        return self.scaling * (u @ self.lora_B.t())  # [..., N, d_out]

    def update_norms(self) -> torch.Tensor:
        """``||Delta W_v||_F`` for every node, ``[N]``, with ``Delta W_v = (alpha / r) B C_v A``.

        Through ``r x r`` Gram matrices, never the ``[N, d_out, d_in]`` updates:
        ``||B C A||_F^2 = tr(B^T B C A A^T C^T) = sum((G_B C G_A) * C)`` with ``G_B = B^T B``, ``G_A = A A^T``;
        for a diagonal core ``c^T (G_B * G_A) c``. Invariant under ``(s B, C / s, A)`` and ``(B, C / s, s A)``.
        The gradient is zero (not NaN) where an update is exactly zero, as at initialisation.
        """
        gram_b = self.lora_B.t() @ self.lora_B  # [r, r]
        gram_a = self.lora_A @ self.lora_A.t()  # [r, r]
        if self.core_type == "diagonal":
            squared = torch.einsum("nr,rs,ns->n", self.core, gram_b * gram_a, self.core)  # [N]
        else:
            core = self.core.expand(self.num_nodes, -1, -1)  # [N, r, r]
            squared = torch.einsum("rs,nst,tu,nru->n", gram_b, core, gram_a, core)  # [N]
        positive = squared > 0
        safe = torch.where(positive, squared, torch.ones_like(squared))  # sqrt'(0) is infinite: keep it out
        return self.scaling * torch.where(positive, safe.sqrt(), torch.zeros_like(squared))

    def node_cores(self) -> torch.Tensor:
        """Every node's core entries as rows, ``[N, r * r]`` or ``[N, r]`` (identical rows for "shared")."""
        if self.node_specific:
            return self.core.reshape(self.num_nodes, -1)  # [N, P]
        return self.core.reshape(1, -1).expand(self.num_nodes, -1)  # [N, r * r]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.weight, self.bias) + self.delta(x)
