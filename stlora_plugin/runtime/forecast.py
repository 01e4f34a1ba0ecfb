"""Forecasts of a trained checkpoint on a data split, in the data's own units.

BasicTS 1.1 saves test forecasts as ``test_results/prediction.npy``, a headerless memmap whose last partial batch
lands at the wrong offset (rows overwritten, trailing rows zero), so this evaluates a checkpoint directly: the
split's windows in order (window ``i`` reads steps ``i .. i + L - 1`` of the split and forecasts the next ``H``),
inputs scaled with the run's own scaler statistics (stored in the checkpoint) and missing inputs (``null_val``)
set to 0 in the scaled space, as the benchmark's runner does. :func:`predict` returns them as arrays; the CLI's
``stlora predict`` writes them to an ``.npz``.
"""
from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from basicts.data import BasicTSForecastingDataset
from basicts.utils.mask import null_val_mask
from torch.utils.data import DataLoader

from .paths import dataset_dir, read_meta
from .protocol import SPLITS

__all__ = ["forecasts", "load_checkpoint_model", "predict", "save_predictions"]


def load_checkpoint_model(cfg, checkpoint: str | os.PathLike):
    """``cfg.model`` with the checkpoint's weights, in eval mode, and the scaler's mean and std it was trained with."""
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise FileNotFoundError(f"checkpoint not found: {checkpoint}")
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    stats = state.get("scaler_stats") or {}
    if "mean" not in stats or "std" not in stats:
        raise ValueError(f"{checkpoint} holds no scaler statistics (mean, std); it was not written by a BasicTS run "
                         "with a z-score scaler")
    model = cfg.model(cfg.model_config)
    try:
        missing, unexpected = model.load_state_dict(state["model_state_dict"], strict=False)
    except RuntimeError as err:  # shapes that differ
        detail = str(err).splitlines()[1].strip() if len(str(err).splitlines()) > 1 else str(err)
        raise ValueError(f"{checkpoint} does not fit {cfg.model.__name__} ({detail}); is it a checkpoint of this "
                         "config's model?") from None
    if missing or unexpected:
        raise ValueError(f"{checkpoint} does not fit {cfg.model.__name__}: {len(missing)} missing keys "
                         f"(e.g. {missing[:2]}), {len(unexpected)} unexpected (e.g. {unexpected[:2]}); is it a "
                         "checkpoint of this config's model?")
    return model.eval(), stats["mean"], stats["std"]


@torch.no_grad()
def forecasts(cfg, model, mean, std, split: str, batch_size: int = 256) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``(prediction, targets)`` batches of ``split``'s windows in order, in the data's units ([B, H, N] each)."""
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is not known; choose one of {SPLITS}")
    params = {k: v for k, v in cfg.dataset_params.items() if k != "mode"}
    params.setdefault("input_len", cfg.input_len)
    params.setdefault("output_len", cfg.output_len)
    params.setdefault("use_timestamps", True)
    takes_timestamps = "inputs_timestamps" in inspect.signature(cfg.model.forward).parameters
    for batch in DataLoader(BasicTSForecastingDataset(mode=split, **params), batch_size=batch_size):
        inputs, targets = batch["inputs"].float(), batch["targets"].float()
        x = torch.where(null_val_mask(inputs, cfg.null_val), (inputs - mean) / std, torch.zeros_like(inputs))
        kwargs = {"inputs_timestamps": batch["inputs_timestamps"].float()} if takes_timestamps else {}
        out = model(x, **kwargs)
        yield (out["prediction"] if isinstance(out, dict) else out) * std + mean, targets


def predict(cfg, checkpoint: str | os.PathLike, split: str = "test", batch_size: int = 256) -> dict[str, np.ndarray]:
    """Every window of ``split``: ``prediction`` and ``target`` ``[windows, horizon, nodes]`` in the data's units,
    ``target_start_step`` (index in the whole series of each window's first forecast step), ``target_start_time``
    (``datetime64[m]``, when the dataset knows its start time), ``num_nodes`` and ``null_val``."""
    model, mean, std = load_checkpoint_model(cfg, checkpoint)
    pairs = list(forecasts(cfg, model, mean, std, split, batch_size))
    prediction = torch.cat([p for p, _ in pairs]).numpy()
    target = torch.cat([t for _, t in pairs]).numpy()
    folder = dataset_dir(cfg.dataset_params["data_file_path"])
    meta = read_meta(folder)
    earlier = SPLITS[:SPLITS.index(split)]  # the split files are consecutive pieces of one series
    offset = sum(np.load(folder / f"{name}_data.npy", mmap_mode="r").shape[0] for name in earlier)
    steps = offset + cfg.input_len + np.arange(len(prediction), dtype=np.int64)
    out = {"prediction": prediction, "target": target, "target_start_step": steps,
           "num_nodes": np.int64(prediction.shape[-1]), "null_val": np.float64(cfg.null_val)}
    if meta.get("start"):
        step = np.timedelta64(int(meta["frequency (minutes)"]), "m")
        out["target_start_time"] = np.datetime64(meta["start"], "m") + steps * step
    return out


def save_predictions(arrays: dict[str, np.ndarray], path: str | os.PathLike) -> Path:
    """Write ``arrays`` as an ``.npz`` that loads with ``np.load(path, allow_pickle=False)`` (atomically)."""
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"--out {path}: expected a file name ending in .npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)
    return path
