"""The main job's demo: prepare the built-in synthetic dataset and train a model through BasicTS on CPU."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from ..data import SYNTHETIC_NAME, prepare
from ..runtime import benchmark_config, datasets_root, launch_training, read_meta, read_test_metrics

__all__ = ["ensure_synthetic", "run_demo"]

logger = logging.getLogger(__name__)


def ensure_synthetic(root: str | os.PathLike | None = None) -> Path:
    """The built-in synthetic dataset folder, generated on first use."""
    root = Path(root) if root is not None else datasets_root()
    folder = root / SYNTHETIC_NAME
    if not (folder / "meta.json").is_file():
        logger.info("generating the built-in dataset %s in %s", SYNTHETIC_NAME, root)
        prepare("synthetic", None, root)
    return folder


def run_demo(epochs: int = 5, seed: int = 42) -> dict:
    """Train STID on the synthetic dataset through ``BasicTSLauncher``; return its test metrics."""
    from basicts.models.STID import STID, STIDConfig

    dataset = ensure_synthetic()
    steps_per_day = 1440 // read_meta(dataset)["frequency (minutes)"]
    config = STIDConfig(if_time_in_day=True, if_day_in_week=True, num_time_in_day=steps_per_day, num_layers=3)
    cfg = benchmark_config(STID, config, dataset, num_epochs=epochs, seed=seed)
    return read_test_metrics(launch_training(cfg))
