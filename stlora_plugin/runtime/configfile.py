"""Load a BasicTS config file (a Python file defining ``CFG``) the way ``stlora train`` and ``eval`` do.

A config file is an ordinary BasicTS 1.x script: it builds a ``BasicTSForecastingConfig`` named ``CFG`` and may
end with ``if __name__ == "__main__": BasicTSLauncher.launch_training(CFG)``, so BasicTS's own launcher runs it
too. Files below the working directory (``baselines_cfg/...``) are imported under their dotted module name, other
files under their file name with their folder on ``sys.path``, so classes defined in them are found again by
BasicTS (``cfg.json`` stores ``{"name", "module"}``) and by spawned DDP workers, wherever the file lies.
"""
from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
from contextlib import nullcontext
from pathlib import Path

from basicts.configs import BasicTSForecastingConfig

from .protocol import reading_finished_runs

__all__ = ["load_config_file"]

logger = logging.getLogger(__name__)


def _module_name(path: Path) -> str:
    """An importable name for the config module: dotted relative to the working directory when the file lies
    below it, else its file name with its folder put on ``sys.path`` (which spawned DDP workers inherit)."""
    try:
        relative = path.relative_to(Path.cwd())
    except ValueError:
        relative = None
    if relative is not None and all(part.isidentifier() for part in relative.with_suffix("").parts):
        if str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))
        return ".".join(relative.with_suffix("").parts)
    if path.stem.isidentifier():
        existing = sys.modules.get(path.stem)
        if existing is None and importlib.util.find_spec(path.stem) is None or \
                getattr(existing, "__file__", None) == str(path):
            if str(path.parent) not in sys.path:
                sys.path.insert(0, str(path.parent))
            return path.stem
    name = "stlora_cfg_" + "".join(c if c.isalnum() else "_" for c in path.stem)
    logger.warning("%s: its name clashes with an importable module (or is not a Python identifier), so it is loaded "
                   "as %s, which spawned DDP workers cannot import; rename the file to train it on several GPUs",
                   path, name)
    return name


def load_config_file(path: str | os.PathLike, *, finished_run: bool = False) -> BasicTSForecastingConfig:
    """Import the config file at ``path`` and return its ``CFG``; ``finished_run=True`` to evaluate or predict from
    it after it was trained (its run folder then exists, which a config built for training refuses)."""
    path = Path(path).resolve()
    if not path.is_file() or path.suffix != ".py":
        raise FileNotFoundError(f"config file not found: {path} (expected a .py file defining CFG)")
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        with reading_finished_runs() if finished_run else nullcontext():
            spec.loader.exec_module(module)
    except SyntaxError as err:  # a user mistake: one line naming the place; other errors keep their traceback
        raise ValueError(f"{err.filename}:{err.lineno}: syntax error in the config file: {err.msg}") from None
    cfg = getattr(module, "CFG", None)
    if not isinstance(cfg, BasicTSForecastingConfig):
        raise ValueError(f"{path} defines no CFG (a BasicTSForecastingConfig); "
                         "build one with stlora_plugin.runtime.benchmark_config(...) and name it CFG")
    return cfg
