"""The two studies users run: a leaderboard comparison and a sensitivity sweep.

``run_leaderboard`` trains backbone and backbone + ST-LoRA (and optionally the frozen-backbone protocol) for every
dataset, model and seed under one budget, then writes the paper-style tables and the plots.
``run_sensitivity`` varies one knob (an ST-LoRA hyperparameter, the share of training data, or the share of
missing readings) and reports plain vs ST-LoRA at each value.
"""
from __future__ import annotations

import dataclasses

import json
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..data import derive_dataset  # noqa: E402
from .plots import plot_all  # noqa: E402
from .sweep import Budget, Sweep, finished_seeds, plan  # noqa: E402
from .tables import comparisons, p_text, pm, report_header, write_tables  # noqa: E402

__all__ = ["SENSITIVITY_KNOBS", "run_leaderboard", "run_sensitivity"]

#: knob -> where it acts: an ST-LoRA model-config field, or a property of the data
SENSITIVITY_KNOBS = {
    "rank": "stlora_rank",
    "layers": "stlora_num_layers",
    "predictors": "stlora_num_predictors",
    "train_share": "data",
    "missing_share": "data",
}


def run_leaderboard(datasets: list[str], models: list[str], seeds: list[int], budget: Budget,
                    out_dir: str | os.PathLike, variants: tuple[str, ...] = ("plain", "stlora"),
                    ckpt_root: str | os.PathLike | None = None, train: bool = True,
                    reuse: tuple[str | os.PathLike, ...] = ()) -> list[Path]:
    """Train (or reuse) every run, then write tables and plots into ``out_dir``; returns the files written.

    With ``train=False`` nothing is trained: the tables cover the runs already recorded (an unfinished sweep).
    ``reuse``: other comparison folders whose identical runs are copied instead of trained (:meth:`Sweep.copy_runs`).
    """
    sweep = Sweep(out_dir, budget, ckpt_root=ckpt_root, reuse=reuse)
    records = sweep.run(plan(datasets, models, seeds, list(variants))) if train else sweep.records()
    records = [r for r in records if r["dataset"] in datasets and r["model"] in models and r["seed"] in seeds]
    if not records:
        raise ValueError(f"no finished runs for these datasets, models and seeds in {sweep.records_path}")
    finished = finished_seeds(plan(datasets, models, seeds, list(variants)), records)
    context = report_header(datasets, models, seeds, budget, finished=finished)
    shown = tuple(v for v in variants if v != "plain")
    written = write_tables(records, out_dir, title="Leaderboard: backbone vs backbone + ST-LoRA", context=context,
                           variants=shown)
    for variant in shown:
        written += plot_all(records, Path(out_dir) / ("plots" if variant == "stlora" else f"plots_{variant}"),
                            variant)
    return written


def run_sensitivity(dataset: str, model: str, knob: str, values: list[float], seeds: list[int], budget: Budget,
                    out_dir: str | os.PathLike, ckpt_root: str | os.PathLike | None = None) -> list[Path]:
    """Plain vs ST-LoRA at each value of ``knob``; writes ``sensitivity_<knob>.md/.json/.png``."""
    if knob not in SENSITIVITY_KNOBS:
        raise ValueError(f"unknown knob '{knob}'; choose one of {', '.join(SENSITIVITY_KNOBS)}")
    out_dir = Path(out_dir)
    field = SENSITIVITY_KNOBS[knob]

    def sweep_of(tag: str, point: Budget = budget) -> Sweep:  # each its own checkpoints, derived from its folder
        return Sweep(out_dir / "runs" / tag, point, ckpt_root=None if ckpt_root is None else Path(ckpt_root) / tag)

    shared_plain = sweep_of("plain")
    rows = []
    for value in values:
        tag = f"{knob}={value:g}"
        if field == "data":  # both variants on the derived data
            data = derive_dataset(dataset, **{knob: float(value)}).name
            records = sweep_of(tag).run(plan([data], [model], seeds, ["plain", "stlora"]))
        else:  # the plain backbone does not depend on an ST-LoRA knob: train it once
            point = dataclasses.replace(budget, stlora={**budget.stlora, field: int(value)})
            records = shared_plain.run(plan([dataset], [model], seeds, ["plain"])) + \
                sweep_of(tag, point).run(plan([dataset], [model], seeds, ["stlora"]))
        (cell,) = [r for r in comparisons(records) if r["metric"] == "MAE" and r["horizon"] == "avg"]
        adapter = np.mean([r["params"]["adapter"] for r in records if r["variant"] == "stlora"])
        rows.append({"value": value, **{k: cell[k] for k in ("base_mean", "base_std", "variant_mean", "variant_std",
                                                             "diff_mean", "diff_std", "p_value")},
                     "adapter_params": float(adapter)})
    lines = [f"# Sensitivity of {model} + ST-LoRA to {knob} on {dataset}", "",
             report_header([dataset], [model], seeds, budget), "",
             f"| {knob} | plain MAE | +ST-LoRA MAE | Δ | p | adapter params |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['value']:g} | {pm(r['base_mean'], r['base_std'])} | "
                     f"{pm(r['variant_mean'], r['variant_std'])} | "
                     f"{pm(r['diff_mean'], r['diff_std'], signed=True)} | {p_text(r['p_value'], 2)} | "
                     f"{r['adapter_params']:,.0f} |")
    md = out_dir / f"sensitivity_{knob}.md"
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out_dir / f"sensitivity_{knob}.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    fig, ax = plt.subplots(figsize=(4.5, 3.4))
    x = [r["value"] for r in rows]
    for key, label in (("base", "plain"), ("variant", "+ST-LoRA")):
        ax.errorbar(x, [r[f"{key}_mean"] for r in rows], yerr=[r[f"{key}_std"] for r in rows], marker="o",
                    capsize=3, label=label)
    ax.set_xlabel(knob)
    ax.set_ylabel("average test MAE")
    ax.set_title(f"{model} on {dataset}")
    ax.legend()
    fig.tight_layout()
    png = out_dir / f"sensitivity_{knob}.png"
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return [md, out_dir / f"sensitivity_{knob}.json", png]
