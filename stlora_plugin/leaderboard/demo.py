"""The main job's demo: a small comparison on the built-in synthetic dataset, on CPU.

STGCN and STID, each plain and with ST-LoRA, one seed, a few epochs: the same machinery as a full leaderboard
(``stlora leaderboard``), sized to finish in minutes on two cores.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from ..data import SYNTHETIC_NAME, prepare
from ..runtime import datasets_root
from .compare import run_leaderboard
from .sweep import Budget

__all__ = ["DEMO_MODELS", "ensure_synthetic", "run_demo"]

logger = logging.getLogger(__name__)

DEMO_MODELS = ("STGCN", "STID")


def ensure_synthetic(root: str | os.PathLike | None = None) -> Path:
    """The built-in synthetic dataset folder, generated on first use."""
    root = Path(root) if root is not None else datasets_root()
    folder = root / SYNTHETIC_NAME
    if not (folder / "meta.json").is_file():
        logger.info("generating the built-in dataset %s in %s", SYNTHETIC_NAME, root)
        prepare("synthetic", None, root)
    return folder


def run_demo(epochs: int = 2, seed: int = 0, out: str | os.PathLike = "checkpoints/demo",
             gpus: str | None = None) -> Path:
    """Train the demo comparison (reusing finished runs in ``out``); returns the leaderboard file."""
    ensure_synthetic()
    files = run_leaderboard([SYNTHETIC_NAME], list(DEMO_MODELS), [seed],
                            Budget(num_epochs=epochs, batch_size=64, gpus=gpus), out, ckpt_root=Path(out) / "runs")
    return files[0]
