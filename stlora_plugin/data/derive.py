"""Derived datasets for sensitivity studies: less training data, or a share of readings missing.

A derived dataset is a new BasicTS folder beside its source (``<NAME>-train50``, ``<NAME>-miss20``), so every
run still reads an ordinary dataset and BasicTS's own loaders apply unchanged.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from ..runtime import dataset_dir

__all__ = ["derive_dataset"]


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
        for split in ("train", "val", "test"):
            data = np.load(tmp / f"{split}_data.npy")
            data[rng.random(data.shape) < missing_share] = 0.0
            np.save(tmp / f"{split}_data.npy", data)
    meta_file = tmp / "meta.json"
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    meta.update(name=target.name, derived_from=src.name, train_share=train_share, missing_share=missing_share)
    meta_file.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    return target
