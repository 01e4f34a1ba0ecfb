"""Run BasicTS training so that every run in a process gets its own log file.

easy-torch creates a logger's file handler only the first time a logger name is seen in a process, so with
``BasicTSLauncher`` the second and later runs of one process write their training log into the *first*
run's folder (their own folder gets none). Sweeps and tests train many models in one process; this resets
the logger before each launch.
"""
from __future__ import annotations

import logging
from pathlib import Path

from basicts import BasicTSLauncher
from basicts.configs import BasicTSConfig
from easytorch.utils import logging as easytorch_logging

from .results import find_run_dir

__all__ = ["launch_training"]

RUNNER_LOGGERS = ("BasicTS-training", "BasicTS-evaluation")


def _reset_loggers() -> None:
    for name in RUNNER_LOGGERS:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
        easytorch_logging.logger_initialized.discard(name)


def launch_training(cfg: BasicTSConfig) -> Path:
    """``BasicTSLauncher.launch_training(cfg)`` with a fresh log file; returns the run folder."""
    _reset_loggers()
    try:
        BasicTSLauncher.launch_training(cfg)
    finally:
        _reset_loggers()  # close the file so the run folder can be moved or deleted
    return find_run_dir(cfg.ckpt_save_dir)
