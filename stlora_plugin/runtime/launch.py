"""Run BasicTS training so that every run in a process gets its own log file.

easy-torch creates a logger's file handler only the first time a logger name is seen in a process, so with
``BasicTSLauncher`` the second and later runs of one process write their training log into the *first*
run's folder (their own folder gets none). Sweeps and tests train many models in one process; this resets
the logger before each launch.

A quiet launch sends everything BasicTS writes to the console (its INFO lines, its progress bars, prints and
warnings) to ``console.log`` in the run's checkpoint folder instead; the run's own log file is written as
always, and :class:`EpochProgress` shows one bar over the run's epochs on the real console.
"""
from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path

from tqdm import tqdm

from basicts import BasicTSLauncher
from basicts.configs import BasicTSConfig
from basicts.runners.callback import BasicTSCallback
from easytorch.utils import logging as easytorch_logging

from .results import find_run_dir

__all__ = ["EpochProgress", "launch_training"]

RUNNER_LOGGERS = ("BasicTS-training", "BasicTS-evaluation")


def _reset_loggers() -> None:
    for name in RUNNER_LOGGERS:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
        easytorch_logging.logger_initialized.discard(name)


def launch_training(cfg: BasicTSConfig, *, quiet: bool = False) -> Path:
    """``BasicTSLauncher.launch_training(cfg)`` with a fresh log file; returns the run folder.

    ``quiet``: BasicTS's console output goes to ``<ckpt_save_dir>/console.log`` (see the module docstring)."""
    _reset_loggers()
    try:
        if not quiet:
            BasicTSLauncher.launch_training(cfg)
        else:
            folder = Path(cfg.ckpt_save_dir)
            folder.mkdir(parents=True, exist_ok=True)
            EpochProgress.console = sys.stderr
            with open(folder / "console.log", "a", encoding="utf-8") as log, \
                    contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                BasicTSLauncher.launch_training(cfg)
    finally:
        _reset_loggers()  # close the file so the run folder can be moved or deleted
    return find_run_dir(cfg.ckpt_save_dir)


class EpochProgress(BasicTSCallback):
    """One progress bar over a run's epochs, with the latest validation MAE, on the console of a quiet launch."""

    console = None  # the real console (stderr), set by a quiet launch_training

    def __init__(self, label: str = ""):
        super().__init__()
        self.label, self._bar = label, None

    def on_train_start(self, runner, **kwargs):
        self._bar = tqdm(total=runner.num_epochs, initial=runner.start_epoch or 0, desc=self.label or "epochs",
                         unit="epoch", leave=False, file=self.console or sys.stderr, dynamic_ncols=True)

    def on_validate_end(self, runner, **kwargs):
        if self._bar is not None:
            self._bar.set_postfix_str(f"val MAE {runner.meter_pool.get_value('val/MAE'):.4f}")

    def on_epoch_end(self, runner, **kwargs):
        if self._bar is not None:
            self._bar.update()

    def on_train_end(self, runner, **kwargs):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
