"""Load a BasicTS config file (a Python file defining ``CFG``) the way ``stlora train`` and ``eval`` do.

A config file is an ordinary BasicTS 1.x script: it builds a ``BasicTSForecastingConfig`` named ``CFG`` and may
end with ``if __name__ == "__main__": BasicTSLauncher.launch_training(CFG)``, so BasicTS's own launcher runs it
too. Files inside the project (``baselines_cfg/...``) are imported under their dotted module name, so classes
defined in them are found again by BasicTS (``cfg.json`` stores ``{"name", "module"}``) and by DDP workers.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from contextlib import nullcontext
from pathlib import Path

from basicts.configs import BasicTSForecastingConfig

from .protocol import reading_finished_runs

__all__ = ["load_config_file"]


def _module_name(path: Path) -> str:
    try:
        relative = path.relative_to(Path.cwd())
    except ValueError:
        relative = None
    if relative is not None and all(part.isidentifier() for part in relative.with_suffix("").parts):
        return ".".join(relative.with_suffix("").parts)
    return "stlora_cfg_" + "".join(c if c.isalnum() else "_" for c in path.stem)


def load_config_file(path: str | os.PathLike, *, finished_run: bool = False) -> BasicTSForecastingConfig:
    """Import the config file at ``path`` and return its ``CFG``; ``finished_run=True`` to evaluate or predict from
    it after it was trained (its run folder then exists, which a config built for training refuses)."""
    path = Path(path).resolve()
    if not path.is_file() or path.suffix != ".py":
        raise FileNotFoundError(f"config file not found: {path} (expected a .py file defining CFG)")
    name = _module_name(path)
    if "." in name and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
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
