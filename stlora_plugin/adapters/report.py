"""What an ST-LoRA model costs and whether its node-specific part is alive.

ST-LoRA (Ruan et al. 2024) adds ``r (d_in + d_out) + N r^2`` parameters per NALL layer
(``y_v = W x_v + b + (alpha / r) B C_v A x_v``). :func:`parameter_report` counts the backbone, the adapter and
its node-specific share, and shows the exact formula of the adapter split into its shared part and its
per-node part (``budget.split_formula``) with their values, the settings in force (after a ``param_budget``
was resolved) and the budget; a formula that disagrees with the counted parameters is logged as a warning.
:class:`ParameterReportCallback` writes that report to the run's log when BasicTS starts training
(``benchmark_config`` adds it for wrapped models through their ``default_callbacks``).

:func:`core_spread` measures whether the per-node cores still differ across nodes: with ``C`` the ``[N, P]``
matrix of every node's core entries (all NALLs), ``relative_spread = ||C - mean_v C_v||_F / ||C||_F``: 0 when
all nodes share one core (the adapter degenerated to a shared MLP, or ``core="shared"``), near 1 when
nothing is shared.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Optional

import torch
from basicts.runners.callback import BasicTSCallback

from .budget import SYMBOLS, split_formula

__all__ = ["ParameterReport", "ParameterReportCallback", "core_spread", "parameter_report"]

logger = logging.getLogger(__name__)

_ADAPTER_PREFIX = "st_lora."


@dataclass(frozen=True)
class ParameterReport:
    """Parameter counts of a wrapped model; ``overhead_percent`` = adapter / backbone * 100."""

    total: int
    trainable: int
    backbone: int
    adapter: int
    node_specific: int
    node_share_percent: float
    overhead_percent: float
    settings: dict = field(default_factory=dict)  # rank, hidden_size, num_layers, num_predictors, core, fusion
    shared_formula: str = ""  # the adapter's terms without N
    node_formula: str = ""  # its terms linear in N (the per-node cores)
    shared_part: int = 0  # the two formulas at this model's N, r, D, L, K, L_in, H
    node_part: int = 0
    budget: Optional[dict] = None  # the resolved param_budget (BudgetChoice.as_dict()), if one was set

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return (f"parameters: total {self.total:,}, trainable {self.trainable:,}, backbone {self.backbone:,}, "
                f"adapter {self.adapter:,} (+{self.overhead_percent:.2f}% over the backbone), node-specific "
                f"{self.node_specific:,} ({self.node_share_percent:.1f}% of the adapter); adapter = shared "
                f"[{self.shared_formula}] = {self.shared_part:,} + per-node [{self.node_formula}] = "
                f"{self.node_part:,} at {self.settings}"
                + (f"; chosen for param_budget={self.budget['requested']!r} (limit {self.budget['limit']:,})"
                   if self.budget else ""))


def _unwrap(model):
    return getattr(model, "module", model)  # DistributedDataParallel keeps the model in .module


def count_parameters(model) -> dict[str, int]:
    """Total, trainable and adapter parameters (those under ST-LoRA's ``st_lora`` module; 0 for a plain model) of
    a built model: the one count every report, table and budget uses."""
    named = list(_unwrap(model).named_parameters())
    return {"total": sum(p.numel() for _, p in named),
            "trainable": sum(p.numel() for _, p in named if p.requires_grad),
            "adapter": sum(p.numel() for n, p in named if n.startswith(_ADAPTER_PREFIX))}


def parameter_report(model) -> ParameterReport:
    """Count the parameters of a model made by ``st_lora``."""
    model = _unwrap(model)
    counts = count_parameters(model)
    adapter, backbone = counts["adapter"], counts["total"] - counts["adapter"]
    node = sum(p.numel() for p in model.st_lora.node_specific_parameters())
    hp = model.stlora_hparams
    settings = {k: hp[k] for k in ("rank", "hidden_size", "num_layers", "num_predictors", "core", "fusion")}
    shared_expr, node_expr = split_formula(hp["core"], hp["fusion"])
    values = dict(zip(SYMBOLS, (model.stlora_dims[0], hp["rank"], hp["hidden_size"], hp["num_layers"],
                                hp["num_predictors"], *model.stlora_dims[1:])))
    shared_part, node_part = int(shared_expr.subs(values)), int(node_expr.subs(values))
    if (shared_part + node_part, node_part) != (adapter, node):
        logger.warning("%s: the adapter formula gives %d (%d per-node) but the model has %d (%d per-node) "
                       "parameters; was the adapter changed after it was built?", type(model).__qualname__,
                       shared_part + node_part, node_part, adapter, node)
    budget = getattr(model, "stlora_budget", None)
    return ParameterReport(
        total=counts["total"], trainable=counts["trainable"], backbone=backbone,
        adapter=adapter, node_specific=node, node_share_percent=100.0 * node / max(adapter, 1),
        overhead_percent=100.0 * adapter / max(backbone, 1), settings=settings, shared_formula=str(shared_expr),
        node_formula=str(node_expr), shared_part=shared_part, node_part=node_part,
        budget=budget.as_dict() if budget is not None else None)


@torch.no_grad()
def core_spread(model) -> dict[str, float]:
    """``{"relative_spread", "node_norm", "update_norm"}`` of the per-node cores (see the module docstring).

    ``node_norm`` is the mean over nodes of ``||C_v||`` (all of node v's core entries together); ``update_norm``
    the mean over nodes of ``sum_NALL ||Delta W_v||_F``, the size of what the cores do (a core norm alone can
    shrink at no cost while ``A``, ``B`` grow).
    """
    nalls = _unwrap(model).st_lora.nalls()
    flat = torch.cat([nall.node_cores() for nall in nalls], dim=1).float()  # [N, P], identical rows if shared
    total = torch.linalg.matrix_norm(flat)
    spread = torch.linalg.matrix_norm(flat - flat.mean(dim=0, keepdim=True))
    with torch.no_grad():
        update = sum(nall.update_norms() for nall in nalls)  # [N]
    return {"relative_spread": float(spread / total) if total > 0 else 0.0,
            "node_norm": float(flat.norm(dim=1).mean()), "update_norm": float(update.mean())}


class ParameterReportCallback(BasicTSCallback):
    """Log :func:`parameter_report` to the BasicTS run log when training starts."""

    def on_train_start(self, runner, *args, **kwargs):
        report = parameter_report(runner.model)
        runner.logger.info("ST-LoRA %s", report)
        logger.info("%s", report)
