"""Adaptation study: a backbone trained on one period, adapted to a changed regime from its first K weeks.

What LoRA exists for: a trained model meets data that changed (NYC taxis after March 2020) and a little of the new
data. For each K in ``weeks`` and each seed, on the same later test weeks:

==============  ======================================================================================
arm             what it does with the K weeks after ``shift`` (the week after them chooses the epoch)
==============  ======================================================================================
none            nothing: the source model as trained (its own input statistics)
adapters        ST-LoRA adapters trained on the frozen source backbone, inputs on the source's scale
finetune        every backbone weight trained further, from the source model, inputs on the source's scale
adapters_own    ``adapters`` with the inputs scaled by the K weeks' own statistics
finetune_own    ``finetune`` with the inputs scaled by the K weeks' own statistics
scratch         the backbone trained from scratch on the K weeks alone (their own statistics)
==============  ======================================================================================

A fine-tuned run keeps the source run's input statistics (``runtime.scaler``) unless it is an ``_own`` arm: a
regime change can move the level so far (NYC taxis: 30 times fewer trips) that the source's scale is itself a
handicap, and the ``_own`` arms tell that apart from what the weights can learn. All
trained runs share the budget (epochs, early stopping, batch size) and go through ``BasicTSLauncher``; the source
model is trained first on ``source`` (e.g. the 2019 data) with the same budget. Results: ``adaptation.md``,
``adaptation.json``, ``adaptation.png`` (test MAE against K) and ``val_mae_weeks<K>.png`` (every run's validation
curve).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
from basicts.utils.mask import null_val_mask

from .. import zoo
from ..data import period_dataset, step_times
from ..runtime import OwnStatisticsScaler
from ..runtime.forecast import predict
from .plots import plot_validation_curves
from .sanity import METRIC_FUNCTIONS
from .sweep import Budget, RunKey, Sweep
from .tables import p_text, paired_p_value, pm, report_header, sample_std

__all__ = ["ARMS", "adaptation_periods", "run_adaptation"]

ARMS = ("none", "adapters", "finetune", "adapters_own", "finetune_own", "scratch")
WEEK = np.timedelta64(7, "D")


def adaptation_periods(target: str, shift: str, weeks: list[int], val_weeks: int = 1,
                       test_weeks: int = 4) -> dict[int, dict[str, tuple[str, str]]]:
    """For each K: train on ``[shift, shift + K weeks)``, validate on the ``val_weeks`` after that, and test on
    the same ``test_weeks`` for every K, starting after the longest training and validation period."""
    if not weeks or any(k < 1 for k in weeks) or len(set(weeks)) != len(weeks):
        raise ValueError(f"--weeks {weeks}: expected distinct positive numbers of weeks, e.g. 1,2,4")
    try:
        start = np.datetime64(shift, "m")
    except ValueError:
        raise ValueError(f"--shift {shift!r}: expected a date or time such as 2020-03-30") from None
    test_start = start + (max(weeks) + val_weeks) * WEEK
    test = (str(test_start), str(test_start + test_weeks * WEEK))
    last = step_times(target)[-1]
    if np.datetime64(test[1]) > last + np.timedelta64(1, "h"):
        raise ValueError(f"the test weeks {test[0]} .. {test[1]} end after {target}'s last step ({last}); choose an "
                         "earlier --shift or fewer --weeks / --test-weeks")
    return {k: {"train": (str(start), str(start + k * WEEK)),
                "val": (str(start + k * WEEK), str(start + (k + val_weeks) * WEEK)), "test": test}
            for k in weeks}


def _arms(source_checkpoint: Path) -> dict:
    start = {"finetune_from": str(source_checkpoint), "strict_load": False}  # the adapters are not in it
    own = {**start, "scaler": OwnStatisticsScaler}
    return {"adapters": ("stlora", {"stlora_freeze_backbone": True, "train": start}),
            "finetune": ("plain", {"train": start}),
            "adapters_own": ("stlora", {"stlora_freeze_backbone": True, "train": own}),
            "finetune_own": ("plain", {"train": own}),
            "scratch": ("plain", {})}


def _unadapted(model: str, dataset: Path, checkpoint: Path) -> dict[str, float]:
    """Test metrics of the source model as trained on ``dataset``'s test split (the runner's masked metrics)."""
    cfg = zoo.named_experiment(model, dataset, num_epochs=1, ckpt_save_dir=str(dataset / ".unadapted"))
    arrays = predict(cfg, checkpoint, split="test")
    prediction, target = torch.from_numpy(arrays["prediction"]), torch.from_numpy(arrays["target"])
    mask = null_val_mask(target, cfg.null_val)
    return {name: float(fn(prediction, target, mask)) for name, fn in METRIC_FUNCTIONS.items()}


def run_adaptation(model: str, source: str, target: str, shift: str, weeks: list[int], seeds: list[int],
                   budget: Budget, out_dir: str | os.PathLike, *, val_weeks: int = 1,
                   test_weeks: int = 4, train: bool = True) -> list[Path]:
    """Train the source model, then every (K, arm, seed); write the report into ``out_dir``.

    ``train=False`` rewrites the report from what is stored: the trained arms from each ``weeks<K>/runs.jsonl``,
    the ``none`` arm (which needs the source checkpoints to evaluate) from the previous ``adaptation.json``."""
    out_dir = Path(out_dir)
    zoo.model_class(model, stlora=True)  # a backbone with an ST-LoRA twin, or a clear error
    periods = adaptation_periods(target, shift, weeks, val_weeks, test_weeks)
    source_sweep = Sweep(out_dir / "source", budget)
    if train:
        source_sweep.run([RunKey(source, model, seed, "plain") for seed in seeds])
    stored = {} if train else _stored_unadapted(out_dir)
    rows, curves, names = [], [], {}
    for k, split in periods.items():
        dataset = period_dataset(target, **split)
        names[k] = dataset.name
        finished = None if train else Sweep(out_dir / f"weeks{k}", budget).records()
        for seed in seeds:
            if train:
                checkpoint = source_sweep.best_checkpoint(RunKey(source, model, seed, "plain"))
                sweep = Sweep(out_dir / f"weeks{k}", budget, arms=_arms(checkpoint))
                found = sweep.run([RunKey(dataset.name, model, seed, arm) for arm in ARMS[1:]])
                unadapted = _unadapted(model, dataset, checkpoint)
            else:
                found, unadapted = finished, stored.get((k, seed))
            records = {r["variant"]: r for r in found if r["seed"] == seed and r["dataset"] == dataset.name}
            missing = [arm for arm in ARMS[1:] if arm not in records] + ["none"] * (unadapted is None)
            if missing:
                raise ValueError(f"K={k}, seed {seed}: no finished {', '.join(missing)} run in {out_dir}; "
                                 "run the command without --report-only")
            rows.append({"weeks": k, "seed": seed, "arm": "none", "metrics": unadapted,
                         "trainable": 0, "seconds": 0.0, "epochs": 0})
            rows += [{"weeks": k, "seed": seed, "arm": arm, "metrics": records[arm]["metrics"]["overall"],
                      "trainable": records[arm]["params"]["trainable"], "seconds": records[arm]["wall_seconds"],
                      "epochs": records[arm]["epochs_trained"]}
                     for arm in ARMS[1:]]
            curves += records.values()
    context = report_header([f"{source} -> {target}"], [model], seeds, budget,
                            split="splits by date: the periods below")
    written = _write_report(rows, periods, out_dir, context)
    written += [plot_validation_curves(curves, name, out_dir / f"val_mae_weeks{k}.png", ARMS[1:])
                for k, name in names.items()]
    return [path for path in written if path]


def _stored_unadapted(out_dir: Path) -> dict[tuple[int, int], dict]:
    """(K, seed) -> test metrics of the ``none`` arm, as the last full run wrote them into ``adaptation.json``."""
    path = out_dir / "adaptation.json"
    if not path.is_file():
        return {}
    return {(r["weeks"], r["seed"]): r["metrics"] for r in json.loads(path.read_text(encoding="utf-8"))["runs"]
            if r["arm"] == "none"}


def _summary(rows: list[dict]) -> list[dict]:
    """Per (K, arm): MAE mean and std over seeds, paired difference against ``scratch``, parameters, time."""
    out = []
    for k in sorted({r["weeks"] for r in rows}):
        by_arm = {arm: {r["seed"]: r for r in rows if r["weeks"] == k and r["arm"] == arm} for arm in ARMS}
        seeds = sorted(by_arm["scratch"])
        scratch = np.array([by_arm["scratch"][s]["metrics"]["MAE"] for s in seeds])
        for arm in ARMS:
            mae = np.array([by_arm[arm][s]["metrics"]["MAE"] for s in seeds])
            out.append({"weeks": k, "arm": arm, "mae_mean": float(mae.mean()), "mae_std": sample_std(mae),
                        "diff_vs_scratch": float((mae - scratch).mean()), "diff_std": sample_std(mae - scratch),
                        "p_vs_scratch": paired_p_value(mae, scratch),
                        "trainable": int(np.mean([by_arm[arm][s]["trainable"] for s in seeds])),
                        "seconds": float(np.mean([by_arm[arm][s]["seconds"] for s in seeds])),
                        "epochs": float(np.mean([by_arm[arm][s]["epochs"] for s in seeds]))})
    return out


def _write_report(rows: list[dict], periods: dict, out_dir: Path, context: str) -> list[Path]:
    summary = _summary(rows)
    lines = ["# Adaptation to a changed regime", "", context, "",
             "Periods (train / val / test, [start, end)): " + "; ".join(
                 f"K={k}: {p['train'][0][:10]}..{p['train'][1][:10]} / {p['val'][0][:10]}..{p['val'][1][:10]} / "
                 f"{p['test'][0][:10]}..{p['test'][1][:10]}" for k, p in periods.items()), "",
             "Test MAE (mean ± std over seeds); Δ = arm − scratch, paired by seed (p: paired t-test); trainable "
             "parameters; mean seconds per run (training and test; none: no training).", "",
             "| K weeks | arm | MAE | Δ vs scratch (p) | trainable | seconds | epochs |", "|---|---|---|---|---|---|---|"]
    for s in summary:
        diff = "– (the reference)" if s["arm"] == "scratch" else \
            f"{pm(s['diff_vs_scratch'], s['diff_std'], signed=True)} ({p_text(s['p_vs_scratch'], 2)})"
        lines.append(f"| {s['weeks']} | {s['arm']} | {pm(s['mae_mean'], s['mae_std'])} | {diff} | "
                     f"{s['trainable']:,} | {s['seconds']:.0f} | {s['epochs']:.1f} |")
    md, js, png = out_dir / "adaptation.md", out_dir / "adaptation.json", out_dir / "adaptation.png"
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")
    js.write_text(json.dumps({"periods": periods, "summary": summary, "runs": rows}, indent=1), encoding="utf-8")
    _plot(summary, png)
    return [md, js, png]


def _plot(summary: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for arm in ARMS:
        points = [s for s in summary if s["arm"] == arm]
        ax.errorbar([s["weeks"] for s in points], [s["mae_mean"] for s in points],
                    yerr=[s["mae_std"] for s in points], marker="o", capsize=3, label=arm)
    ax.set_xlabel("weeks of the new regime used (K)")
    ax.set_ylabel("test MAE")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
