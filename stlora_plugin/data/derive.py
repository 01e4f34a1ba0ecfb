"""Derived datasets: less training data, a share of readings missing, or splits chosen by date.

A derived dataset is a new BasicTS folder beside its source (``<NAME>-train50``, ``<NAME>-miss20``,
``<NAME>-<train start>-<train end>``), so every run still reads an ordinary dataset and BasicTS's own loaders apply
unchanged. :func:`period_dataset` cuts train, validation and test splits from given periods of the whole series
(the adaptation study: train on the first weeks after a change, test on fixed later weeks).
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from ..runtime import dataset_dir
from ..runtime.protocol import SPLITS, unseen_days

__all__ = ["derive_dataset", "period_dataset", "step_times"]


def derive_dataset(source: str | os.PathLike, *, train_share: float = 1.0, missing_share: float = 0.0,
                   seed: int = 0, force: bool = False) -> Path:
    """A copy of ``source`` keeping the last ``train_share`` of its training split and with ``missing_share``
    of all readings set to the null value 0 (val and test too: missing inputs at test time)."""
    if not 0 < train_share <= 1:
        raise ValueError(f"train_share={train_share} is not allowed; expected a share in (0, 1]")
    if not 0 <= missing_share < 1:
        raise ValueError(f"missing_share={missing_share} is not allowed; expected a share in [0, 1)")
    src = dataset_dir(source)
    suffix = (f"-train{round(100 * train_share)}" if train_share < 1 else "") + \
             (f"-miss{round(100 * missing_share)}" if missing_share > 0 else "")
    if not suffix:
        return src
    target = src.parent / f"{src.name}{suffix}"
    if target.exists() and not force:
        return target
    tmp = src.parent / f".{target.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    rng = np.random.default_rng(seed)
    train = np.load(tmp / "train_data.npy")
    keep = max(int(len(train) * train_share), 48)
    np.save(tmp / "train_data.npy", train[-keep:])
    np.save(tmp / "train_timestamps.npy", np.load(tmp / "train_timestamps.npy")[-keep:])
    if missing_share > 0:
        for split in SPLITS:
            data = np.load(tmp / f"{split}_data.npy")
            data[rng.random(data.shape) < missing_share] = 0.0
            np.save(tmp / f"{split}_data.npy", data)
    _update_meta(tmp, name=target.name, derived_from=src.name, train_share=train_share, missing_share=missing_share)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    return target


def step_times(folder: str | os.PathLike) -> np.ndarray:
    """The time of every step of a prepared dataset (its splits in order), ``datetime64[m]`` from its meta."""
    folder = dataset_dir(folder)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    if not meta.get("start"):
        raise ValueError(f"{folder.name} does not know its start time (meta.json 'start'); prepare it with --start "
                         "to cut splits by date")
    step = np.timedelta64(int(meta["frequency (minutes)"]), "m")
    return np.datetime64(meta["start"], "m") + np.arange(int(meta["num_time_steps"])) * step


def period_dataset(source: str | os.PathLike, *, train: tuple[str, str], val: tuple[str, str],
                   test: tuple[str, str], force: bool = False) -> Path:
    """A copy of ``source`` whose train, val and test splits are the steps in the given ``[start, end)`` periods
    (ISO dates or times) of its whole series; its name says the training period."""
    src = dataset_dir(source)
    times = step_times(src)
    periods = {"train": train, "val": val, "test": test}
    bounds = {split: (np.datetime64(a, "m"), np.datetime64(b, "m")) for split, (a, b) in periods.items()}
    for split, (a, b) in bounds.items():
        if not times[0] <= a < b <= times[-1] + (times[1] - times[0]):
            raise ValueError(f"{split} period {periods[split][0]} .. {periods[split][1]} is empty or outside "
                             f"{src.name} ({times[0]} .. {times[-1]})")
    if not (bounds["train"][1] <= bounds["val"][0] and bounds["val"][1] <= bounds["test"][0]):
        raise ValueError(f"periods must come in order train < val < test without overlap, got {periods}")
    target = src.parent / f"{src.name}-{_stamp(train[0])}-{_stamp(train[1])}"
    if target.exists() and not force:
        meta = json.loads((target / "meta.json").read_text(encoding="utf-8"))
        if meta.get("periods") == periods:
            return target
    whole = np.concatenate([np.load(src / f"{split}_data.npy") for split in SPLITS])
    stamps = np.concatenate([np.load(src / f"{split}_timestamps.npy") for split in SPLITS])
    tmp = src.parent / f".{target.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    kept = 0
    for split, (a, b) in bounds.items():
        keep = (times >= a) & (times < b)
        np.save(tmp / f"{split}_data.npy", whole[keep])
        np.save(tmp / f"{split}_timestamps.npy", stamps[keep])
        kept += int(keep.sum())
    # the splits need not be contiguous, so no single start time describes them: their periods do
    _update_meta(tmp, name=target.name, derived_from=src.name, periods=periods, start=None, num_time_steps=kept)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    return target


def _update_meta(folder: Path, **fields) -> None:
    """Write ``fields`` into the ``meta.json`` of a derived dataset's ``folder``, with the days of week unseen in
    training of its new splits (the copied value describes the source's)."""
    meta_file = folder / "meta.json"
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    meta.update(fields, **{"days of week unseen in training": unseen_days(folder)})
    meta_file.write_text(json.dumps(meta, indent=2), encoding="utf-8")


def _stamp(when: str) -> str:
    return str(np.datetime64(when, "D")).replace("-", "")
