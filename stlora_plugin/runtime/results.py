"""Read a finished BasicTS run into a plain record.

BasicTS writes ``<ckpt_save_dir>/<md5>/test_metrics.json`` after training with ``overall`` and
``horizon_3/6/12`` sections. Trust that file, not the per-epoch "test @ horizon" log lines (those pool
validation and test samples in 1.1.0).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

__all__ = ["find_run_dir", "format_metrics", "last_checkpoint_epoch", "read_test_metrics", "read_training_log"]


def find_run_dir(ckpt_save_dir: str | os.PathLike) -> Path:
    """The single ``<md5>`` run folder inside an experiment's ``ckpt_save_dir``."""
    root = Path(ckpt_save_dir)
    runs = [p.parent for p in root.glob("*/cfg.json")]
    if not runs:
        raise FileNotFoundError(f"no BasicTS run under {root} (no */cfg.json)")
    if len(runs) > 1:
        raise ValueError(f"{root} holds {len(runs)} runs ({', '.join(p.name for p in runs)}); pass one of them")
    return runs[0]


def read_test_metrics(run_dir: str | os.PathLike) -> dict[str, dict[str, float]]:
    """``{"overall": {"MAE": .., "RMSE": .., "MAPE": ..}, "horizon_3": {...}, ...}`` of a finished run.

    ``run_dir`` is the ``<md5>`` folder, or an experiment folder holding exactly one such run.
    """
    path = Path(run_dir)
    if not (path / "test_metrics.json").is_file() and not (path / "cfg.json").is_file():
        path = find_run_dir(path)
    file = path / "test_metrics.json"
    if not file.is_file():
        raise FileNotFoundError(f"{file} is missing: the run did not finish (or eval_after_train was off)")
    with open(file, encoding="utf-8") as f:
        raw = json.load(f)
    return {section: {k: float(v) for k, v in values.items()} for section, values in raw.items()}


_RESULT_LINE = re.compile(r"Result <(train|val)>: \[(.*)\]")
_EPOCH_LINE = re.compile(r"Epoch (\d+) / \d+")
_EPOCH_CHECKPOINT = re.compile(r".+_(\d+)\.pt")


def read_training_log(run_dir: str | os.PathLike) -> dict[str, list[float]]:
    """Per-epoch series from a run's training log: ``{"train/loss": [...], "train/time": [...], "val/MAE": ...}``.

    Times are seconds per epoch as BasicTS measured them. A resumed run has one ``training_log_*.log`` per
    launch: they are read oldest first, and an epoch logged twice (interrupted, then trained again after the
    resume) counts once, as the later log has it.
    """
    path = Path(run_dir)
    logs = sorted(path.glob("training_log_*.log")) or sorted(find_run_dir(path).glob("training_log_*.log"))
    if not logs:
        raise FileNotFoundError(f"no training_log_*.log in {path}")
    epochs: dict[int, dict[str, float]] = {}
    for log in logs:
        epoch = None
        for line in log.read_text(encoding="utf-8").splitlines():
            if (start := _EPOCH_LINE.search(line)) is not None:
                epoch = int(start.group(1))
                epochs[epoch] = {}
            elif epoch is not None and (result := _RESULT_LINE.search(line)) is not None:
                for item in result.group(2).split(", "):
                    key, _, value = item.partition(": ")
                    epochs[epoch][key] = float(value.split()[0])
    series: dict[str, list[float]] = {}
    for epoch in sorted(epochs):
        for key, value in epochs[epoch].items():
            series.setdefault(key, []).append(value)
    return series


def last_checkpoint_epoch(run_dir: str | os.PathLike) -> int:
    """The last epoch whose checkpoint (``<model>_<epoch>.pt``) an unfinished run left in its ``<md5>`` folder;
    0 when there is none to continue from (no folder, no epoch checkpoint, or the run finished and was tested)."""
    path = Path(run_dir)
    if not path.is_dir() or (path / "test_metrics.json").is_file():
        return 0
    return max((int(m.group(1)) for p in path.glob("*.pt") if (m := _EPOCH_CHECKPOINT.fullmatch(p.name))),
               default=0)


def format_metrics(metrics: dict[str, dict[str, float]]) -> str:
    """A plain-text table of one run's test metrics: rows horizon 3/6/12 and average, columns MAE/RMSE/MAPE."""
    rows = [(f"horizon {k.split('_')[1]}", v) for k, v in metrics.items() if k.startswith("horizon_")]
    rows.append(("average", metrics["overall"]))
    names = list(metrics["overall"])
    lines = [f"{'':<12}" + "".join(f"{n:>10}" for n in names)]
    for label, values in rows:
        cells = "".join(f"{100 * values[n]:>9.2f}%" if n == "MAPE" else f"{values[n]:>10.3f}" for n in names)
        lines.append(f"{label:<12}{cells}")
    return "\n".join(lines)
