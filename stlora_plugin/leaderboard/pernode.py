"""What a finished run's best checkpoint does on a data split: per-node test MAE, and ST-LoRA's diagnostics.

BasicTS reports metrics averaged over nodes only, so this evaluates the best checkpoint on a split directly
(``runtime.forecast``), with the run's own scaler statistics and the same masking (``null_val``) as the
benchmark's masked MAE.

:func:`adapter_diagnostics` tells where an ST-LoRA model's forecast comes from, on the validation split:

- ``gate_R``: the mean backbone share ``R`` of the gate (``Y = R Y_base + (1 - R) mean Z``); 0.5 for the
  ``mean`` fusion, which has no gate;
- ``adapter_change``: mean ``|Y - Y_base|`` in the data's units, how far the adapter moves the forecast;
- ``core_spread`` / ``core_norm`` / ``update_norm``: :func:`~stlora_plugin.adapters.core_spread` of the trained
  cores (a spread near 0 means the per-node cores ended up alike; an update norm near 0, that the per-node
  updates ``B C_v A`` vanished: no node-specific adaptation left either way).

:func:`node_distinctness` ranks nodes by how unlike the network their training series is, to ask whether
node-specific parameters help where nodes differ most.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from basicts.utils.mask import null_val_mask

from ..adapters import core_spread
from ..runtime.forecast import forecasts, load_checkpoint_model

__all__ = ["adapter_diagnostics", "node_distinctness", "per_node_mae"]


def _best_model(cfg, run_dir: str | os.PathLike):
    """The run's best-validation model in eval mode, and its scaler's mean and std."""
    return load_checkpoint_model(cfg, next(Path(run_dir).glob(f"{cfg.model.__name__}_best_val_*.pt")))


@torch.no_grad()
def per_node_mae(cfg, run_dir: str | os.PathLike, batch_size: int = 256) -> np.ndarray:
    """``[N]`` masked MAE per node on the test split, in the data's own units."""
    model, mean, std = _best_model(cfg, run_dir)
    total = count = 0.0
    for prediction, targets in forecasts(cfg, model, mean, std, "test", batch_size):
        mask = null_val_mask(targets, cfg.null_val).float()
        total = total + ((prediction - targets).abs() * mask).sum((0, 1))
        count = count + mask.sum((0, 1))
    return (total / count.clamp(min=1)).numpy()


def node_distinctness(cfg) -> np.ndarray:
    """``[N]``: 1 - Pearson correlation of each node's training series with the network's mean series.

    The mean is taken over the nodes' standardized series (each node z-scored on its own valid readings), so
    large nodes do not dominate it and a missing reading does not shift it. 0 for a node that moves with the
    network, up to 2 for one that moves against it, 1 for a flat node. Training split only: choosing nodes by
    it does not look at test data. Missing readings (``null_val``) are left out.
    """
    params = cfg.dataset_params
    folder = params.get("data_file_path") or os.path.join("datasets", params["dataset_name"])
    data = np.load(os.path.join(folder, "train_data.npy")).astype(np.float32)
    if data.ndim == 3:
        data = data[..., 0]                                                      # [T, N]: the target channel
    valid = null_val_mask(torch.from_numpy(data), cfg.null_val).numpy()
    values = np.where(valid, data, 0.0).astype(np.float64)
    counts = np.maximum(valid.sum(0), 1)
    mean = values.sum(0) / counts
    std = np.sqrt((np.where(valid, values - mean, 0.0) ** 2).sum(0) / counts)
    present = valid & (std > 0)                                                  # flat nodes have no z-scores
    z = np.where(present, (values - mean) / np.where(std > 0, std, 1.0), 0.0)  # [T, N]
    network = np.where(present.any(1), z.sum(1) / np.maximum(present.sum(1), 1), np.nan)
    out = np.ones(data.shape[1])                                                 # flat or empty nodes
    for node in range(data.shape[1]):
        keep = present[:, node] & np.isfinite(network)
        if keep.sum() > 1 and network[keep].std() > 0:
            out[node] = 1.0 - np.corrcoef(z[keep, node], network[keep])[0, 1]
    return out


@torch.no_grad()
def adapter_diagnostics(cfg, run_dir: str | os.PathLike, batch_size: int = 256) -> dict[str, float]:
    """Gate share, the adapter's change of the forecast and core spread of an ST-LoRA run (validation split)."""
    model, mean, std = _best_model(cfg, run_dir)
    adapter = model.st_lora
    shares, bases = [], []
    hooks = [adapter.register_forward_pre_hook(lambda _, args: bases.append(args[1]))]  # (inputs, base)
    if adapter.gate is not None:
        hooks.append(adapter.gate.register_forward_hook(lambda _, __, out: shares.append(torch.sigmoid(out).mean())))
    change = []
    for prediction, _ in forecasts(cfg, model, mean, std, "val", batch_size):
        change.append((prediction - (bases[-1] * std + mean)).abs().mean())
    for hook in hooks:
        hook.remove()
    spread = core_spread(model)
    return {"gate_R": float(torch.stack(shares).mean()) if shares else 0.5,
            "adapter_change": float(torch.stack(change).mean()), "core_spread": spread["relative_spread"],
            "core_norm": spread["node_norm"], "update_norm": spread["update_norm"]}
