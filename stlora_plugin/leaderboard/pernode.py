"""Per-node test MAE of a finished run, computed from its best checkpoint.

BasicTS reports metrics averaged over nodes only, and its saved test results are unreliable in 1.1.0 (the last
partial batch lands at the wrong offset), so this evaluates the best checkpoint on the test split directly,
with the run's own scaler statistics and the same masking (``null_val``) as the benchmark's masked MAE.
"""
from __future__ import annotations

import inspect
import os
from pathlib import Path

import numpy as np
import torch
from basicts.data import BasicTSForecastingDataset
from basicts.utils.mask import null_val_mask
from torch.utils.data import DataLoader

__all__ = ["per_node_mae"]


@torch.no_grad()
def per_node_mae(cfg, run_dir: str | os.PathLike, batch_size: int = 256) -> np.ndarray:
    """``[N]`` masked MAE per node on the test split, in the data's own units."""
    run_dir = Path(run_dir)
    ckpt = next(run_dir.glob(f"{cfg.model.__name__}_best_val_*.pt"))
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    model = cfg.model(cfg.model_config)
    model.load_state_dict(state["model_state_dict"])
    model.eval()
    mean, std = state["scaler_stats"]["mean"], state["scaler_stats"]["std"]

    params = {k: v for k, v in cfg.dataset_params.items() if k != "mode"}
    dataset = BasicTSForecastingDataset(mode="test", **params)
    takes_timestamps = "inputs_timestamps" in inspect.signature(cfg.model.forward).parameters
    total = None
    count = None
    for batch in DataLoader(dataset, batch_size=batch_size):
        inputs, targets = batch["inputs"].float(), batch["targets"].float()
        in_mask = null_val_mask(inputs, cfg.null_val)
        x = torch.where(in_mask, (inputs - mean) / std, torch.zeros_like(inputs))
        kwargs = {"inputs_timestamps": batch["inputs_timestamps"].float()} if takes_timestamps else {}
        out = model(x, **kwargs)
        prediction = (out["prediction"] if isinstance(out, dict) else out) * std + mean
        mask = null_val_mask(targets, cfg.null_val).float()
        error = (prediction - targets).abs() * mask
        total = error.sum((0, 1)) if total is None else total + error.sum((0, 1))
        count = mask.sum((0, 1)) if count is None else count + mask.sum((0, 1))
    return (total / count.clamp(min=1)).numpy()
