"""What an ST-LoRA model costs and whether its node-specific part is alive.

ST-LoRA (Ruan et al. 2024) adds ``r (d_in + d_out) + N r^2`` parameters per NALL layer
(``y_v = W x_v + b + (alpha / r) B C_v A x_v``). :func:`parameter_report` counts the backbone, the adapter and
its node-specific share; :class:`ParameterReportCallback` writes that report to the run's log when BasicTS
starts training (``benchmark_config`` adds it for wrapped models through their ``default_callbacks``).

:func:`core_spread` measures whether the per-node cores still differ across nodes: with ``C`` the ``[N, P]``
matrix of every node's core entries (all NALLs), ``relative_spread = ||C - mean_v C_v||_F / ||C||_F``: 0 when
all nodes share one core (the adapter degenerated to a shared MLP), near 1 when nothing is shared.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import torch
from basicts.runners.callback import BasicTSCallback

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

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return (f"parameters: total {self.total:,}, trainable {self.trainable:,}, backbone {self.backbone:,}, "
                f"adapter {self.adapter:,} (+{self.overhead_percent:.2f}% over the backbone), node-specific "
                f"{self.node_specific:,} ({self.node_share_percent:.1f}% of the adapter)")


def _unwrap(model):
    return getattr(model, "module", model)  # DistributedDataParallel keeps the model in .module


def parameter_report(model) -> ParameterReport:
    """Count the parameters of a model made by ``st_lora``."""
    model = _unwrap(model)
    named = list(model.named_parameters())
    adapter = sum(p.numel() for n, p in named if n.startswith(_ADAPTER_PREFIX))
    backbone = sum(p.numel() for n, p in named if not n.startswith(_ADAPTER_PREFIX))
    node = sum(p.numel() for p in model.st_lora.node_specific_parameters())
    return ParameterReport(
        total=adapter + backbone, trainable=sum(p.numel() for _, p in named if p.requires_grad), backbone=backbone,
        adapter=adapter, node_specific=node, node_share_percent=100.0 * node / max(adapter, 1),
        overhead_percent=100.0 * adapter / max(backbone, 1))


@torch.no_grad()
def core_spread(model) -> dict[str, float]:
    """``{"relative_spread": ..., "node_norm": ...}`` of the per-node cores (see the module docstring).

    ``node_norm`` is the mean over nodes of ``||C_v||`` (all of node v's core entries together).
    """
    cores = _unwrap(model).st_lora.node_specific_parameters()
    flat = torch.cat([c.reshape(c.shape[0], -1) for c in cores], dim=1).float()  # [N, P]
    total = torch.linalg.matrix_norm(flat)
    spread = torch.linalg.matrix_norm(flat - flat.mean(dim=0, keepdim=True))
    return {"relative_spread": float(spread / total) if total > 0 else 0.0,
            "node_norm": float(flat.norm(dim=1).mean())}


class ParameterReportCallback(BasicTSCallback):
    """Log :func:`parameter_report` to the BasicTS run log when training starts."""

    def on_train_start(self, runner, *args, **kwargs):
        report = parameter_report(runner.model)
        runner.logger.info("ST-LoRA %s", report)
        logger.info("%s", report)
