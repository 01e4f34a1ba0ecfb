"""Optimizers that keep ST-LoRA's node-adaptive path in a parameter group without weight decay.

ST-LoRA's NALL update ``(alpha / r) B C_v A x_v`` receives little gradient: each per-node core ``C_v`` sees
only its own node's samples, and the shared factors ``A``, ``B`` act only through the cores. Under Adam with
coupled weight decay, the decay term then dominates their normalized update and shrinks them at about
``lr`` per step; excluding the cores alone is not enough, ``A`` and ``B`` decay the same way
(``docs/stlora.md`` has the measurement). So the path gets a group of its own:

    group 0: all other parameters                     lr, weight_decay
    group 1: node-specific parameters (cores)          node_lr (default lr * node_lr_scale, scale 1),
             and the factors acting only through them   node_weight_decay (default 0)

BasicTS builds the optimizer as ``cfg.optimizer(model.parameters(), **cfg.optimizer_params)``, which hands
over bare parameters without module names, so the split reads a mark that the layer creating the parameter
sets on it (:func:`mark_node_specific`, :func:`mark_node_factor`), not a substring of a parameter name.
"""
from __future__ import annotations

import logging
from typing import Iterable, Optional

import torch
from torch import nn

__all__ = ["NodeGroupAdam", "NodeGroupAdamW", "in_node_group", "is_node_specific", "mark_node_factor",
           "mark_node_specific", "split_node_groups"]

logger = logging.getLogger(__name__)

#: Attribute set on a Parameter of the node group: "node" (leading node axis, [N, ...]) or "factor".
NODE_MARK = "_stlora_node_group"


def mark_node_specific(param: nn.Parameter) -> nn.Parameter:
    """Mark ``param`` (a per-node weight with a leading node axis) for the node group; returns it."""
    setattr(param, NODE_MARK, "node")
    return param


def mark_node_factor(param: nn.Parameter) -> nn.Parameter:
    """Mark ``param`` (a shared factor acting only through node-specific weights) for the node group."""
    setattr(param, NODE_MARK, "factor")
    return param


def is_node_specific(param: torch.Tensor) -> bool:
    """Whether ``param`` is marked as a per-node weight."""
    return getattr(param, NODE_MARK, None) == "node"


def in_node_group(param: torch.Tensor) -> bool:
    """Whether ``param`` belongs in the node group (per-node weights and their factors)."""
    return getattr(param, NODE_MARK, None) is not None


def split_node_groups(params: Iterable, *, node_lr: Optional[float] = None,
                      node_weight_decay: float = 0.0) -> list[dict]:
    """Split parameters (or parameter-group dicts) into other and node groups.

    Each input group becomes up to two groups; the node group gets ``weight_decay=node_weight_decay`` and,
    when given, ``lr=node_lr``. Groups left empty are dropped.
    """
    params = list(params)
    if not params:
        raise ValueError("the optimizer got an empty parameter list; does the model have trainable parameters?")
    groups = params if isinstance(params[0], dict) else [{"params": params}]
    out = []
    for group in groups:
        members = list(group["params"])
        options = {k: v for k, v in group.items() if k != "params"}
        shared = [p for p in members if not in_node_group(p)]
        node = [p for p in members if in_node_group(p)]
        if shared:
            out.append({**options, "params": shared})
        if node:
            node_options = {**options, "weight_decay": node_weight_decay, "node_group": True}
            if node_lr is not None:
                node_options["lr"] = node_lr
            out.append({**node_options, "params": node})
    logger.debug("optimizer groups: %s", [(len(g["params"]), g.get("node_group", False)) for g in out])
    return out


def _node_lr(lr: float, node_lr: Optional[float], node_lr_scale: float, node_weight_decay: float) -> Optional[float]:
    """The node group's learning rate (None: the optimizer's), after checking the node-group options."""
    if node_lr is not None and not node_lr > 0:
        raise ValueError(f"node_lr={node_lr!r} is not allowed; expected a float > 0, or None to use lr")
    if not node_lr_scale > 0:
        raise ValueError(f"node_lr_scale={node_lr_scale!r} is not allowed; expected a float > 0")
    if node_lr is not None and node_lr_scale != 1:
        raise ValueError(f"give node_lr={node_lr!r} or node_lr_scale={node_lr_scale!r}, not both")
    if not node_weight_decay >= 0:
        raise ValueError(f"node_weight_decay={node_weight_decay!r} is not allowed; expected a float >= 0")
    return lr * node_lr_scale if node_lr_scale != 1 else node_lr


class NodeGroupAdam(torch.optim.Adam):
    """Adam with the node group (per-node weights and their factors) free of weight decay unless asked.

    Usable as ``BasicTSForecastingConfig(optimizer=NodeGroupAdam, optimizer_params={"lr": ..., ...})``;
    ``node_lr`` sets the node group's learning rate, or ``node_lr_scale`` sets it relative to ``lr``.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 amsgrad: bool = False, *, node_lr: Optional[float] = None, node_lr_scale: float = 1.0,
                 node_weight_decay: float = 0.0):
        node_lr = _node_lr(lr, node_lr, node_lr_scale, node_weight_decay)
        groups = split_node_groups(params, node_lr=node_lr, node_weight_decay=node_weight_decay)
        super().__init__(groups, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)


class NodeGroupAdamW(torch.optim.AdamW):
    """AdamW (decoupled decay) with the node group in its own parameter group, as :class:`NodeGroupAdam`."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, *, node_lr: Optional[float] = None, node_lr_scale: float = 1.0,
                 node_weight_decay: float = 0.0):
        node_lr = _node_lr(lr, node_lr, node_lr_scale, node_weight_decay)
        groups = split_node_groups(params, node_lr=node_lr, node_weight_decay=node_weight_decay)
        super().__init__(groups, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
