"""Optimizers that keep node-specific parameters in their own parameter group.

ST-LoRA's per-node cores ``C_v`` receive roughly ``1/N`` of the forecasting gradient each, since every node
sees only its own samples. Under Adam with coupled weight decay, the decay term ``wd * C_v`` then dominates
the normalized update and shrinks every core to zero within a few hundred steps (measured on STID; see
DESIGN.md, "Measured pitfall"), after which the adapter is a shared MLP. The optimizers here put every
parameter marked node-specific into a second group without weight decay (by default) and with an optional
learning rate of its own:

    group 0: shared parameters          lr, weight_decay
    group 1: node-specific parameters   node_lr (default lr), node_weight_decay (default 0)

BasicTS builds the optimizer as ``cfg.optimizer(model.parameters(), **cfg.optimizer_params)``, which hands
over bare parameters without module names, so the split reads a mark that the layer creating the parameter
sets on it (:func:`mark_node_specific`), not a substring of a parameter name.
"""
from __future__ import annotations

import logging
from typing import Iterable, Optional

import torch
from torch import nn

__all__ = ["NodeGroupAdam", "NodeGroupAdamW", "is_node_specific", "mark_node_specific", "split_node_groups"]

logger = logging.getLogger(__name__)

#: Attribute set on a Parameter whose leading axis indexes nodes ([N, ...]).
NODE_MARK = "_stlora_node_specific"


def mark_node_specific(param: nn.Parameter) -> nn.Parameter:
    """Mark ``param`` (a per-node weight with a leading node axis) for the node-specific group; returns it."""
    setattr(param, NODE_MARK, True)
    return param


def is_node_specific(param: torch.Tensor) -> bool:
    """Whether ``param`` carries the node-specific mark."""
    return bool(getattr(param, NODE_MARK, False))


def split_node_groups(params: Iterable, *, node_lr: Optional[float] = None,
                      node_weight_decay: float = 0.0) -> list[dict]:
    """Split parameters (or parameter-group dicts) into shared and node-specific groups.

    Each input group becomes up to two groups; the node-specific one gets ``weight_decay=node_weight_decay``
    and, when given, ``lr=node_lr``. Groups left empty are dropped.
    """
    params = list(params)
    if not params:
        raise ValueError("the optimizer got an empty parameter list; does the model have trainable parameters?")
    groups = params if isinstance(params[0], dict) else [{"params": params}]
    out = []
    for group in groups:
        members = list(group["params"])
        options = {k: v for k, v in group.items() if k != "params"}
        shared = [p for p in members if not is_node_specific(p)]
        node = [p for p in members if is_node_specific(p)]
        if shared:
            out.append({**options, "params": shared})
        if node:
            node_options = {**options, "weight_decay": node_weight_decay, "node_specific": True}
            if node_lr is not None:
                node_options["lr"] = node_lr
            out.append({**node_options, "params": node})
    logger.debug("optimizer groups: %s", [(len(g["params"]), g.get("node_specific", False)) for g in out])
    return out


def _check(node_lr: Optional[float], node_weight_decay: float) -> None:
    if node_lr is not None and not node_lr > 0:
        raise ValueError(f"node_lr={node_lr!r} is not allowed; expected a float > 0, or None to use lr")
    if not node_weight_decay >= 0:
        raise ValueError(f"node_weight_decay={node_weight_decay!r} is not allowed; expected a float >= 0")


class NodeGroupAdam(torch.optim.Adam):
    """Adam with node-specific parameters in their own group (no weight decay unless asked).

    Usable as ``BasicTSForecastingConfig(optimizer=NodeGroupAdam, optimizer_params={"lr": ..., ...})``.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 amsgrad: bool = False, *, node_lr: Optional[float] = None, node_weight_decay: float = 0.0):
        _check(node_lr, node_weight_decay)
        groups = split_node_groups(params, node_lr=node_lr, node_weight_decay=node_weight_decay)
        super().__init__(groups, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)


class NodeGroupAdamW(torch.optim.AdamW):
    """AdamW (decoupled decay) with node-specific parameters in their own group, as :class:`NodeGroupAdam`."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, *, node_lr: Optional[float] = None, node_weight_decay: float = 0.0):
        _check(node_lr, node_weight_decay)
        groups = split_node_groups(params, node_lr=node_lr, node_weight_decay=node_weight_decay)
        super().__init__(groups, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
