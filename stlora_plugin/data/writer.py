"""Write a BasicTS 1.1 dataset folder, atomically.

Layout read by BasicTS (``datasets/<NAME>/``): ``{train,val,test}_data.npy`` float32 ``[T_split, N]``,
``{train,val,test}_timestamps.npy`` float32 ``[T_split, 2]`` (time of day, day of week, both in [0, 1)),
``meta.json`` with the benchmark's ``regular_settings``, and ``adj_mx.pkl`` (pickled float32 ``[N, N]``);
optionally ``locations.csv`` (sensor coordinates).
Splits are contiguous 60/20/20 as in BasicTS's own preparation scripts.
"""
from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..runtime.protocol import DAY_NAMES, METRICS, SPLIT, SPLITS, day_value, days_unseen_in_training, split_lengths

__all__ = ["PreparedDataset", "make_timestamps", "split_lengths", "write_dataset"]

logger = logging.getLogger(__name__)

#: The null value of the benchmark's masked metrics: readings equal to it (or NaN) count as missing.
NULL_VALUE = 0.0
#: Above this share of missing readings, preparing a dataset warns.
MISSING_WARN_SHARE = 0.5


@dataclass
class PreparedDataset:
    """What :func:`write_dataset` wrote, for reporting."""

    path: Path
    num_steps: int
    num_nodes: int
    step_minutes: int
    nan_share: float
    zero_share: float


def make_timestamps(num_steps: int, step_minutes: int, start: str | None = None) -> np.ndarray:
    """``[T, 2]`` float32: time of day and day of week (Monday = 0), both scaled to [0, 1) (the protocol's
    timestamps, ``runtime.protocol.day_index`` decodes the day).

    With a known ``start`` (ISO time) the calendar is real; without, step 0 is taken as Monday 00:00.
    """
    if 1440 % step_minutes:
        raise ValueError(f"step_minutes={step_minutes} does not divide a day (1440 minutes)")
    if start is None:
        index = np.arange(num_steps)
        steps_per_day = 1440 // step_minutes
        tod = (index % steps_per_day) / steps_per_day
        dow = day_value((index // steps_per_day) % len(DAY_NAMES))
    else:
        times = pd.date_range(pd.Timestamp(start), periods=num_steps, freq=f"{step_minutes}min")
        tod = (times.hour * 60 + times.minute).to_numpy() / 1440
        dow = day_value(times.dayofweek.to_numpy())
    return np.stack([tod, dow], axis=1).astype(np.float32)


def write_dataset(data: np.ndarray, adj: np.ndarray | None, out_dir: str | os.PathLike, name: str, *,
                  step_minutes: int, start: str | None = None, domain: str = "traffic",
                  force: bool = False, description: str = "",
                  locations: np.ndarray | None = None) -> PreparedDataset:
    """Write ``data [T, N]`` and ``adj [N, N]`` as the BasicTS dataset ``out_dir/name``.

    ``locations`` (``[N, 2]`` latitude, longitude) is kept as ``locations.csv`` for maps of per-node results.
    Nothing is overwritten without ``force``; the folder appears only once complete (written to a
    temporary sibling, then renamed), so a failure leaves nothing half-written.
    """
    data, adj = _checked_arrays(data, adj, name, step_minutes)
    num_steps, num_nodes = data.shape
    target = Path(out_dir) / name
    if target.exists() and not force:
        raise FileExistsError(f"{target} already exists; pass --force (force=True) to overwrite it")
    nan_share = float(np.isnan(data).mean())
    zero_share = float((data == 0).mean())
    missing = float((np.isnan(data) | (data == NULL_VALUE)).mean())
    if missing == 1.0:
        raise ValueError(f"data for '{name}' has no valid reading: every value is NaN or the null value "
                         f"{NULL_VALUE} (NaN {100 * nan_share:.0f}%); nothing could be trained or scored on it")
    if missing > MISSING_WARN_SHARE:
        logger.warning("%s: %.1f%% of the readings are missing (NaN or %s); the masked metrics score only the rest",
                       name, 100 * missing, NULL_VALUE)
    timestamps = make_timestamps(num_steps, step_minutes, start)
    train_steps = split_lengths(num_steps)[0]
    unseen = days_unseen_in_training(timestamps[:train_steps], timestamps[train_steps:])
    if unseen:
        logger.warning("%s: validation or test hold %s, which the training split (its first %d%%) never does: a "
                       "model's day-of-week embedding for these days is never trained; the zoo's recipes read no day "
                       "of week on these data", name, ", ".join(unseen), round(100 * SPLIT[0]))
    meta = {
        "name": name, "domain": domain, "description": description, "frequency (minutes)": step_minutes,
        "start": start, "shape": [num_steps, num_nodes], "num_time_steps": num_steps, "num_vars": num_nodes,
        "has_graph": adj is not None, "nan_share": nan_share, "zero_share": zero_share,
        "timestamps": ["time of day", "day of week"], "days of week unseen in training": unseen,
        "regular_settings": {"train_val_test_ratio": list(SPLIT), "norm_each_channel": False, "rescale": True,
                             "metrics": list(METRICS), "null_val": NULL_VALUE},
    }
    _write_atomically(target, data, timestamps, adj, locations, meta)
    logger.debug("wrote %s: %d steps x %d nodes, NaN %.2f%%, zero %.2f%%",
                target, num_steps, num_nodes, 100 * nan_share, 100 * zero_share)
    return PreparedDataset(target, num_steps, num_nodes, step_minutes, nan_share, zero_share)


def _checked_arrays(data, adj, name: str, step_minutes) -> tuple[np.ndarray, np.ndarray | None]:
    """``data`` and ``adj`` as float32, or a ValueError naming what is wrong with them."""
    if isinstance(step_minutes, bool) or not isinstance(step_minutes, (int, np.integer)) or step_minutes <= 0:
        raise ValueError(f"step_minutes={step_minutes!r} is not allowed; expected a positive whole number of minutes")
    data = np.asarray(data, dtype=np.float32)
    if data.ndim != 2:
        raise ValueError(f"data for '{name}' has shape {data.shape}; expected [time steps, nodes]")
    num_steps, num_nodes = data.shape
    if num_steps < 100:
        raise ValueError(f"data for '{name}' has only {num_steps} time steps; at least 100 are needed")
    if adj is not None:
        adj = np.asarray(adj, dtype=np.float32)
        if adj.shape != (num_nodes, num_nodes):
            raise ValueError(f"the graph for '{name}' is {adj.shape[0]} x {adj.shape[1] if adj.ndim > 1 else '?'} "
                             f"but the data has {num_nodes} nodes; array and graph must have the same node count")
    return data, adj


def _write_atomically(target: Path, data: np.ndarray, timestamps: np.ndarray, adj, locations, meta: dict) -> None:
    """The dataset folder written into a temporary sibling, then renamed to ``target`` (replacing it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it 700; the dataset folder gets the usual permissions
    try:
        bounds = np.cumsum((0,) + split_lengths(len(data)))
        for split, lo, hi in zip(SPLITS, bounds[:-1], bounds[1:]):
            np.save(tmp / f"{split}_data.npy", data[lo:hi])
            np.save(tmp / f"{split}_timestamps.npy", timestamps[lo:hi])
        if adj is not None:
            with open(tmp / "adj_mx.pkl", "wb") as f:
                pickle.dump(adj, f)
        if locations is not None:
            pd.DataFrame(np.asarray(locations), columns=["latitude", "longitude"]).to_csv(tmp / "locations.csv",
                                                                                        index=False)
        with open(tmp / "meta.json", "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=2)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
