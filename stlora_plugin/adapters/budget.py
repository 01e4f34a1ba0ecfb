"""ST-LoRA's exact parameter count as a formula, and configuration by a parameter budget.

Ruan et al., "ST-LoRA: Low-rank Adaptation for Spatio-Temporal Forecasting" (ECML-PKDD 2024) state the cost
of one NALL as ``O(r (d_in + d_out) + N r^2)``. :func:`adapter_formula` gives the exact count of the whole
adapter as a sympy expression in ``N`` (nodes), ``r`` (rank), ``D`` (hidden size), ``L`` (layers per
predictor), ``K`` (predictors), ``L_in`` (input steps) and ``H`` (horizon), derived from the modules: the
NALL's own shape table (``NodeAdaptiveLowRankLinear.parameter_shapes``) and the linear and norm layers of
``predictor.py`` and ``fusion.py``. For the default (full core, gate):

    adapter = shared part (no N)                                                          + per-node part
            = K (L (D^2 + D (2 r + 3)) + D (2 H + L_in + 1) + H) - D L_in + H (H + L_in + 1)  + K L N r^2

(``L (D^2 + 2 r D + 3 D)``: each block's ``W``, ``b``, ``A``, ``B`` and layer norm; ``D (2 H + L_in + 1) + H``:
embedding and head, with ``- D L_in`` because the first predictor sees ``H`` steps, not ``L_in + H``;
``H (H + L_in + 1)``: the gate, absent for ``fusion="mean"``).

The per-node part is ``K L N r^2`` (full), ``K L N r`` (diagonal) or ``0`` (shared); ``tests`` check the
formula against ``sum(p.numel())`` over a table of configurations.

``param_budget`` (``st_lora(Backbone, param_budget=0.01)`` or ``=20000``) is resolved when the model is built,
in the wrapper's ``__init__`` after the backbone exists and before the adapter is: only then are ``N`` (the
config's node field) and the backbone's parameter count known. A float in (0, 1) is a share of the backbone's
parameters (floored to an int), an int a parameter count. The rule, over the grid ``RANKS x HIDDEN_SIZES x
LAYERS`` with ``r <= D`` (the configured core type, ``K`` and fusion are kept):

1. keep the settings whose exact adapter count fits the budget;
2. take the one with the most per-node parameters (the paper's claim is about node-specific capacity);
3. among equals, the largest adapter, then the largest hidden size.

With ``core="shared"`` every setting has 0 per-node parameters, so the largest adapter that fits wins. A
budget above the grid's largest adapter (``r = 32, D = 256, L = 4``) gets that one.

A larger budget never chooses a smaller adapter: a setting newly fitting a larger budget costs more than the
old budget, so more than the old choice; otherwise the choice is unchanged. The core type is never changed:
at rank 1 a diagonal core costs exactly what a full one costs, and at any rank it buys fewer per-node
parameters for the same shared cost, so switching to it never makes a budget feasible nor adds capacity.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import sympy

from .fusion import FUSIONS
from .nall import NodeAdaptiveLowRankLinear

__all__ = ["HIDDEN_SIZES", "LAYERS", "RANKS", "SYMBOLS", "BudgetChoice", "adapter_formula", "apply_budget",
           "budget_limit", "choose_by_budget", "formula_count", "split_formula"]

logger = logging.getLogger(__name__)

#: The formula's symbols: nodes, rank, hidden size, layers per predictor, predictors, input steps, horizon.
SYMBOLS = N, r, D, L, K, L_in, H = sympy.symbols("N r D L K L_in H", positive=True, integer=True)
_NAMES = dict(zip(("num_nodes", "rank", "hidden_size", "num_layers", "num_predictors", "input_len", "output_len"),
                  SYMBOLS))

#: The grid a budget is resolved over.
RANKS = (1, 2, 4, 8, 16, 32)
HIDDEN_SIZES = (4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)
LAYERS = (1, 2, 3, 4)


def _linear(d_in, d_out):
    return d_in * d_out + d_out  # nn.Linear: weight [d_out, d_in] and bias [d_out]


def _predictor(t_in, core: str):
    """``NodeSpecificPredictor(t_in, H, N, hidden_size=D, num_layers=L, rank=r, core=core)``."""
    nall = sum(sympy.Mul(*shape) for shape in NodeAdaptiveLowRankLinear.parameter_shapes(D, D, N, r, core).values())
    block = 2 * D + nall  # LayerNorm(D) (weight and bias) + NALL(D -> D)
    return _linear(t_in, D) + L * block + _linear(D, H)  # embed, L blocks, head


@lru_cache(maxsize=None)
def adapter_formula(core: str = "full", fusion: str = "gate") -> sympy.Expr:
    """Exact adapter parameter count of ``STLoRAFusion`` as an expanded polynomial in :data:`SYMBOLS`."""
    if fusion not in FUSIONS:
        raise ValueError(f"adapter_formula: fusion={fusion!r} is not allowed; choose one of {tuple(FUSIONS)}")
    predictors = _predictor(H, core) + (K - 1) * _predictor(L_in + H, core)  # P_1 sees Y_base, P_k [X, Z_{k-1}]
    gate = _linear(L_in + H, H) if FUSIONS[fusion][0] else 0
    return sympy.expand(predictors + gate)


@lru_cache(maxsize=None)
def split_formula(core: str = "full", fusion: str = "gate") -> tuple[sympy.Expr, sympy.Expr]:
    """``(shared part, per-node part)``: the terms without ``N`` and those linear in it (the cores)."""
    expr = adapter_formula(core, fusion)
    if sympy.Poly(expr, N).degree() > 1:
        raise ArithmeticError(f"the adapter count {expr} is not linear in N")
    node = sympy.factor(expr.coeff(N, 1)) * N
    return _grouped(expr - expr.coeff(N, 1) * N, (K, L, D)), node


def _grouped(expr: sympy.Expr, symbols: tuple) -> sympy.Expr:
    """``expr`` collected by the first symbol, its coefficients by the next ones (readable, same value)."""
    if not symbols:
        return sympy.factor(expr)
    parts = sympy.collect(sympy.expand(expr), symbols[0], evaluate=False)
    return sum(power * _grouped(coefficient, symbols[1:]) for power, coefficient in parts.items())


def formula_count(core: str = "full", fusion: str = "gate", **values: int) -> int:
    """The formula at ``values`` (keywords ``num_nodes, rank, hidden_size, num_layers, num_predictors,
    input_len, output_len``)."""
    missing = sorted(set(_NAMES) - set(values))
    if missing:
        raise TypeError(f"formula_count needs {missing}")
    return int(adapter_formula(core, fusion).subs({_NAMES[k]: v for k, v in values.items()}))


@lru_cache(maxsize=None)
def _lambdified(core: str, fusion: str):
    shared, node = split_formula(core, fusion)
    return sympy.lambdify(SYMBOLS, shared), sympy.lambdify(SYMBOLS, node)


@dataclass(frozen=True)
class BudgetChoice:
    """A resolved budget: what was asked, the limit in parameters, and the settings chosen for it."""

    requested: Any
    limit: int
    backbone: int
    rank: int
    hidden_size: int
    num_layers: int
    core: str
    parameters: int
    node_parameters: int

    def settings(self) -> dict[str, Any]:
        return {"rank": self.rank, "hidden_size": self.hidden_size, "num_layers": self.num_layers}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return (f"param_budget={self.requested!r} (limit {self.limit:,} parameters, backbone {self.backbone:,}) -> "
                f"rank {self.rank}, hidden_size {self.hidden_size}, num_layers {self.num_layers}, core {self.core}: "
                f"{self.parameters:,} parameters ({self.node_parameters:,} per-node)")


def budget_limit(budget: float | int, backbone_parameters: int) -> int:
    """The budget in parameters: ``floor(budget * backbone)`` for a share in (0, 1), else ``budget``."""
    if isinstance(budget, bool) or not (isinstance(budget, float) and 0 < budget < 1
                                        or isinstance(budget, int) and budget >= 1):
        raise ValueError(f"param_budget={budget!r} is not allowed; expected a float in (0, 1) (a share of the "
                         "backbone's parameters) or an int >= 1 (a parameter count)")
    return int(budget * backbone_parameters) if isinstance(budget, float) else budget


def choose_by_budget(budget: float | int, *, backbone_parameters: int, num_nodes: int, input_len: int,
                     output_len: int, num_predictors: int, core: str = "full", fusion: str = "gate",
                     owner: str = "st_lora") -> BudgetChoice:
    """The grid setting the module docstring's rule picks; ``ValueError`` when none fits."""
    limit = budget_limit(budget, backbone_parameters)
    shared_of, node_of = _lambdified(core, fusion)
    options = []
    for rank in RANKS:
        for hidden in (d for d in HIDDEN_SIZES if d >= rank):
            for layers in LAYERS:
                point = (num_nodes, rank, hidden, layers, num_predictors, input_len, output_len)
                node = int(node_of(*point))
                options.append((node, node + int(shared_of(*point)), hidden, rank, layers))
    fitting = [o for o in options if o[1] <= limit]
    if not fitting:
        smallest = min(o[1] for o in options)
        share = f" = {budget:g} x the backbone's {backbone_parameters:,}" if isinstance(budget, float) else ""
        raise ValueError(
            f"{owner}: param_budget={budget!r} ({limit:,} parameters{share}) is below the smallest ST-LoRA adapter "
            f"at N={num_nodes} nodes: {smallest:,} parameters "
            f"({100.0 * smallest / max(backbone_parameters, 1):.2f}% of the backbone; rank 1, hidden_size "
            f"{HIDDEN_SIZES[0]}, 1 layer, core {core}, {num_predictors} predictors, fusion {fusion}). Raise "
            f"param_budget, or lower stlora_num_predictors / use stlora_fusion='mean'")
    node, total, hidden, rank, layers = max(fitting)
    return BudgetChoice(requested=budget, limit=limit, backbone=backbone_parameters, rank=rank,
                        hidden_size=hidden, num_layers=layers, core=core, parameters=total, node_parameters=node)


def apply_budget(hparams: dict, *, num_nodes: int, input_len: int, output_len: int, backbone_parameters: int,
                 owner: str) -> tuple[dict, BudgetChoice | None]:
    """``hparams`` with rank, hidden_size and num_layers chosen for ``hparams["param_budget"]`` (if set)."""
    if hparams.get("param_budget") is None:
        return hparams, None
    choice = choose_by_budget(hparams["param_budget"], backbone_parameters=backbone_parameters,
                              num_nodes=num_nodes, input_len=input_len, output_len=output_len,
                              num_predictors=hparams["num_predictors"], core=hparams["core"],
                              fusion=hparams["fusion"], owner=owner)
    replaced = {k: hparams[k] for k in choice.settings() if hparams[k] != choice.settings()[k]}
    logger.info("%s: %s (replacing the config's %s)", owner, choice, replaced or "same values")
    return {**hparams, **choice.settings()}, choice
