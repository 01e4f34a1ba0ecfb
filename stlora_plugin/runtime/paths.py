"""Where prepared datasets live.

BasicTS reads ``datasets/<NAME>/`` relative to the working directory. This package resolves a dataset
given either as a name (looked up under ``$STLORA_DATASETS``, default ``./datasets``) or as a path to a
prepared folder, so configs keep working from any working directory.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["datasets_root", "dataset_dir", "read_meta"]

ENV_VAR = "STLORA_DATASETS"


def datasets_root() -> Path:
    """The folder holding prepared datasets: ``$STLORA_DATASETS`` or ``./datasets``."""
    return Path(os.environ.get(ENV_VAR, "datasets")).expanduser().resolve()


def dataset_dir(dataset: str | os.PathLike) -> Path:
    """Resolve a dataset name or folder path to an existing prepared dataset folder."""
    candidate = Path(dataset).expanduser()
    if candidate.is_dir() and (candidate / "meta.json").is_file():
        return candidate.resolve()
    named = datasets_root() / str(dataset)
    if named.is_dir() and (named / "meta.json").is_file():
        return named
    raise FileNotFoundError(
        f"no prepared dataset '{dataset}': looked for a folder with meta.json at {candidate} and {named}. "
        f"Prepare one with `stlora data prepare FORMAT RAW_PATH --out {datasets_root()}` "
        f"or set ${ENV_VAR} to the folder that holds your datasets.")


def read_meta(dataset: str | os.PathLike) -> dict:
    """The dataset's ``meta.json`` as a dict."""
    with open(dataset_dir(dataset) / "meta.json", encoding="utf-8") as f:
        return json.load(f)
