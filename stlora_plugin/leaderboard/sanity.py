"""Sanity check for the backbones: each, trained under a stated budget, against historical inertia (HI).

HI (BasicTS's ``HI``) repeats the last observed value; a trained spatio-temporal model that does not beat it on
test MAE is broken or badly under-trained. Plain backbones run through the same resumable sweep as the
leaderboard; HI runs once with BasicTS's ``NoBP`` callback (it has nothing to train).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from basicts.models.HI import HI, HIConfig
from basicts.runners.callback import NoBP

from ..runtime import benchmark_config, launch_training, read_test_metrics
from .compare import _context
from .sweep import Budget, Sweep, plan

__all__ = ["run_sanity"]


def run_sanity(dataset: str, models: list[str], seed: int, budget: Budget, out_dir: str | os.PathLike,
               ckpt_root: str | os.PathLike = "checkpoints/sanity") -> Path:
    """Train each plain model and HI on ``dataset``; write ``sanity.md``/``sanity.json`` into ``out_dir``."""
    out_dir = Path(out_dir)
    records = Sweep(out_dir, budget, ckpt_root=ckpt_root).run(plan([dataset], models, [seed], ["plain"]))
    hi_file = out_dir / f"hi_{dataset}.json"
    if not hi_file.is_file():
        cfg = benchmark_config(HI, HIConfig(input_len=12, output_len=12), dataset, num_epochs=1, seed=seed,
                               callbacks=[NoBP()], ckpt_save_dir=str(Path(ckpt_root) / dataset / "HI"), resume=True)
        hi_file.write_text(json.dumps(read_test_metrics(launch_training(cfg))), encoding="utf-8")
    hi = json.loads(hi_file.read_text(encoding="utf-8"))
    rows = [{"model": r["model"], "MAE": r["metrics"]["overall"]["MAE"], "RMSE": r["metrics"]["overall"]["RMSE"],
             "params": r["params"]["total"], "sec_per_epoch": r["sec_per_epoch"],
             "beats_HI": r["metrics"]["overall"]["MAE"] < hi["overall"]["MAE"]}
            for r in records if r["dataset"] == dataset and r["model"] in models and r["variant"] == "plain"]
    lines = [f"# Sanity: backbones vs historical inertia on {dataset}", "",
             _context([dataset], models, [seed], budget), "",
             "| model | test MAE | test RMSE | params | s/epoch | beats HI |", "|---|---|---|---|---|---|",
             f"| HI (last value) | {hi['overall']['MAE']:.3f} | {hi['overall']['RMSE']:.3f} | 0 | - | - |"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['MAE']:.3f} | {r['RMSE']:.3f} | {r['params']:,} | "
                     f"{r['sec_per_epoch']:.1f} | {'yes' if r['beats_HI'] else 'NO'} |")
    md = out_dir / "sanity.md"
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out_dir / "sanity.json").write_text(json.dumps({"HI": hi, "models": rows}, indent=1), encoding="utf-8")
    return md
