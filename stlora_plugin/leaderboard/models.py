"""Models against each other: any zoo models (backbones, ST-SepNet variants, either with settings in brackets)
trained on one dataset under one budget, with paired differences against a named reference model.

The leaderboard pairs a backbone with its ST-LoRA twin; this study compares models that are not such pairs
(ST-SepNet's variants against each other and against the backbones). Every model is trained as a plain arm of
the same resumable :class:`~.sweep.Sweep`, so data, protocol, seeds, budget and early stopping are the
leaderboard's. Runs go seed by seed (every model at seed 0 first), so an unfinished comparison already compares
every model. Tables: ``comparison.md`` / ``.csv`` / ``.json``, ``comparison.png`` and ``val_mae.png`` (every
run's validation MAE per epoch, one panel per model).
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .. import zoo  # noqa: E402
from ..runtime.protocol import METRICS  # noqa: E402
from .plots import plot_validation_curves  # noqa: E402
from .sweep import Budget, RunKey, Sweep, finished_seeds  # noqa: E402
from .tables import (_value, horizon_sections, mean_epochs, mean_field, p_text, paired_p_value, pm,  # noqa: E402
                     report_header, sample_std)

__all__ = ["model_rows", "run_model_comparison"]


def model_rows(records: list[dict], dataset: str, models: list[str], reference: str) -> list[dict]:
    """Per model (in the order given, those with a finished run): mean ± std over seeds of every metric at every
    reported horizon, the paired difference against ``reference`` over the seeds both finished (with its
    two-sided paired t-test p), parameters, seconds per epoch, epochs trained and peak memory."""
    runs = {m: {r["seed"]: r for r in records if r["dataset"] == dataset and r["model"] == m and r["variant"] == "plain"}
            for m in models}
    sections = horizon_sections([r for by_seed in runs.values() for r in by_seed.values()])
    ref = runs.get(reference, {})
    rows = []
    for model in models:
        by_seed = runs[model]
        if not by_seed:
            continue
        seeds = sorted(by_seed)
        row = {"model": model, "seeds": len(seeds)}
        for section, label in sections:
            for metric in METRICS:
                values = np.array([_value(by_seed[s], section, metric) for s in seeds])
                row[f"{metric} {label}"] = (float(values.mean()), sample_std(values))
        paired = sorted(set(seeds) & set(ref))
        for metric in METRICS:
            a = np.array([_value(ref[s], "overall", metric) for s in paired])
            b = np.array([_value(by_seed[s], "overall", metric) for s in paired])
            row[f"diff {metric}"] = (float((b - a).mean()) if paired else float("nan"), sample_std(b - a))
            row[f"p {metric}"] = paired_p_value(b, a)
        row["paired_seeds"] = len(paired)
        first = by_seed[seeds[0]]
        row.update(params=first["params"]["total"], trainable=first["params"]["trainable"],
                   sec_per_epoch=mean_field(by_seed.values(), "sec_per_epoch"),
                   epochs=mean_epochs(list(by_seed.values())),
                   peak_memory_mb=mean_field(by_seed.values(), "peak_memory_mb"),
                   peak_memory_kind=first.get("peak_memory_kind"))
        rows.append(row)
    return rows


def _markdown(rows: list[dict], dataset: str, reference: str, context: str) -> str:
    metric_columns = [k for k in rows[0] if k.split(" ")[0] in METRICS] if rows else []
    memory = {"cuda": "peak GPU MiB", "rss": "peak RSS MiB"}.get(rows[0]["peak_memory_kind"] if rows else None,
                                                                 "peak MiB")
    out = [f"# Models compared on {dataset}, against {reference}", "", context, "",
           f"Mean ± std over seeds (MAPE in %). Δ = model − {reference} on the average over the horizon, paired by "
           "seed (seeds both finished); p = paired t-test over those seeds (two-sided).", "",
           "## Accuracy", "", "| model | seeds | " + " | ".join(metric_columns) + " |",
           "|---|---|" + "---|" * len(metric_columns)]
    for r in rows:
        out.append(f"| {r['model']} | {r['seeds']} | " + " | ".join(pm(*r[c], 2) for c in metric_columns) + " |")
    out += ["", f"## Against {reference} (average over the horizon)", "",
            "| model | paired seeds | " + " | ".join(f"Δ {m} (p)" for m in METRICS) + " |",
            "|---|---|" + "---|" * len(METRICS)]
    for r in rows:
        if r["model"] == reference:
            continue
        cells = [f"{pm(*r[f'diff {m}'], signed=True)} ({p_text(r[f'p {m}'])})" if r["paired_seeds"]
                 else "– (no seed of both yet)" for m in METRICS]
        out.append(f"| {r['model']} | {r['paired_seeds']} | " + " | ".join(cells) + " |")
    out += ["", "## Cost", "", f"| model | params | trainable | s/epoch | epochs trained | {memory} |",
            "|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['model']} | {r['params']:,} | {r['trainable']:,} | {r['sec_per_epoch']:.1f} | "
                   f"{r['epochs']:.1f} | {r['peak_memory_mb']:.0f} |")
    return "\n".join(out) + "\n"


def _plot(rows: list[dict], dataset: str, reference: str, png: Path) -> None:
    """Average MAE ± std per model (the reference hatched), and MAE against seconds per epoch."""
    fig, (bars, cost) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [3, 2]})
    mae = [r["MAE avg"] for r in rows]
    x = np.arange(len(rows))
    drawn = bars.bar(x, [m for m, _ in mae], yerr=[s for _, s in mae], capsize=3, color="tab:blue")
    for bar, r in zip(drawn, rows):
        if r["model"] == reference:
            bar.set_hatch("//")
            bar.set_color("tab:orange")
    low = min(m - s for m, s in mae)
    bars.set_ylim(bottom=max(0.0, low - 0.1 * (max(m + s for m, s in mae) - low + 1e-9)))
    bars.set_xticks(x, [r["model"] for r in rows], rotation=30, ha="right", fontsize=8)
    bars.set_ylabel("test MAE (horizon average)")
    bars.set_title(f"{dataset} (orange: {reference})")
    for r in rows:
        cost.errorbar(r["sec_per_epoch"], r["MAE avg"][0], yerr=r["MAE avg"][1], marker="o", capsize=3)
        cost.annotate(r["model"], (r["sec_per_epoch"], r["MAE avg"][0]), fontsize=7, xytext=(3, 3),
                      textcoords="offset points")
    cost.set_xscale("log")
    cost.set_xlabel("seconds per training epoch (log)")
    cost.set_ylabel("test MAE")
    cost.set_title("accuracy against cost")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def run_model_comparison(dataset: str, models: list[str], reference: str, seeds: list[int], budget: Budget,
                         out_dir: str | os.PathLike, ckpt_root: str | os.PathLike | None = None,
                         train: bool = True) -> list[Path]:
    """Train (or reuse) every (model, seed) on ``dataset``, then write the tables and the plot into ``out_dir``.

    ``reference`` must be one of ``models``; ``train=False`` reports the runs finished so far."""
    if reference not in models:
        raise ValueError(f"the reference model '{reference}' is not among --models ({', '.join(models)})")
    if len(set(models)) != len(models):
        raise ValueError(f"--models names a model twice: {', '.join(models)}")
    for model in models:
        zoo.parse_model(model)  # unknown names and settings stop here, before anything trains
    out_dir = Path(out_dir)
    sweep = Sweep(out_dir, budget, ckpt_root=ckpt_root)
    keys = [RunKey(dataset, m, s, "plain") for s in seeds for m in models]  # seed by seed
    records = sweep.run(keys) if train else sweep.records()
    records = [r for r in records if r["seed"] in seeds]
    rows = model_rows(records, dataset, models, reference)
    if not rows:
        raise ValueError(f"no finished runs of these models on {dataset} in {sweep.records_path}")
    md, table, js, png = (out_dir / f"comparison.{ext}" for ext in ("md", "csv", "json", "png"))
    header = report_header([dataset], models, seeds, budget, finished=finished_seeds(keys, records))
    md.write_text(_markdown(rows, dataset, reference, header), encoding="utf-8")
    flat = [{k: (v[0] if isinstance(v, tuple) else v) for k, v in r.items()}
            | {f"{k} std": v[1] for k, v in r.items() if isinstance(v, tuple)} for r in rows]
    with open(table, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(flat[0]))
        writer.writeheader()
        writer.writerows(flat)
    js.write_text(json.dumps({"dataset": dataset, "reference": reference, "models": flat}, indent=1),
                  encoding="utf-8")
    _plot(rows, dataset, reference, png)
    curves = plot_validation_curves(records, dataset, out_dir / "val_mae.png", ("plain",))
    return [md, table, js, png] + ([curves] if curves else [])
