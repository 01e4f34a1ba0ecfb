"""Result tables in the ST-LoRA paper's format, from sweep records.

Per dataset and backbone: the plain backbone, backbone + ST-LoRA and their difference (ST-LoRA minus plain,
negative is better), each ``mean ± std`` over seeds, for MAE / RMSE / MAPE at horizons 3, 6, 12 and on average.
Differences are paired by seed; the p-value is a paired t-test over seeds (two-sided).
"""
from __future__ import annotations

import csv
import json
import os
import shlex
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import stats

from ..runtime.protocol import HORIZONS as PROTOCOL_HORIZONS, INPUT_LEN, METRICS, OUTPUT_LEN, SPLIT

__all__ = ["HORIZONS", "METRICS", "command_line", "comparisons", "efficiency", "horizon_sections", "mean_epochs",
           "mean_field", "p_text", "paired_p_value", "pm", "render_markdown", "report_header", "sample_std",
           "seed_differences", "validation_delta", "write_tables"]

#: (metrics section, column label) of every horizon the protocol reports, then the average over the horizon
HORIZONS = tuple((f"horizon_{h}", f"@{h}") for h in PROTOCOL_HORIZONS) + (("overall", "avg"),)


def horizon_sections(records: list[dict]) -> tuple[tuple[str, str], ...]:
    """(metrics section, column label) of the horizons these records report (the protocol's, or e.g. 12, 24
    and 48 for 48-step runs), then the average; the horizons every record has."""
    if not records:
        return HORIZONS
    common = set.intersection(*(set(r["metrics"]) for r in records))
    steps = sorted(int(k.removeprefix("horizon_")) for k in common if k.startswith("horizon_"))
    return tuple((f"horizon_{h}", f"@{h}") for h in steps) + (("overall", "avg"),)


def command_line() -> str:
    """The command line that makes these runs (``--report-only`` rebuilds the same tables from them)."""
    args = [shlex.quote(a) for a in sys.argv[1:] if a != "--report-only"]
    program = Path(sys.argv[0])
    is_cli = program.name == "stlora" or (program.name == "__main__.py" and program.parent.name == "cli")
    return "stlora " + " ".join(args) if is_cli else " ".join([sys.argv[0], *args])


def report_header(datasets, models, seeds, budget, split: str | None = None, finished=None) -> str:
    """What every report states first: the command, data, budget (a ``sweep.Budget``), seeds and models;
    ``split`` describes the data split when it is not the protocol's (e.g. periods by date); ``finished``, the
    seeds with finished runs where they are fewer than the command's (a comparison still training)."""
    batch = f"batch {budget.batch_size}" if budget.batch_size else "each model's recipe batch size"
    steps = f"{budget.horizon} -> {budget.horizon}" if getattr(budget, "horizon", None) else f"{INPUT_LEN} -> {OUTPUT_LEN}"
    patience = getattr(budget, "patience", None)
    epochs = (f"at most {budget.num_epochs} epochs per run, stopped after {patience} epochs without a better "
              "validation MAE (epochs each run trained: epochs_trained in runs.jsonl)" if patience else f"{budget.num_epochs} epochs per run")
    split = split or "/".join(str(round(100 * share)) for share in SPLIT) + " split"
    seed_text = ", ".join(map(str, seeds))
    if finished is not None and set(finished) != set(seeds):
        seed_text += f" (finished so far: {', '.join(map(str, sorted(finished))) or 'none'})"
    return (f"Command: `{command_line()}`  \nData: {', '.join(datasets)} ({steps}, {split}, "
            f"masked metrics on the test split)  \nBudget: {epochs}, {batch}, best epoch chosen on "
            f"validation MAE  \nSeeds: {seed_text}  \nModels: {', '.join(models)}  \n"
            f"ST-LoRA settings: {budget.stlora or 'defaults'}")


def sample_std(values: np.ndarray) -> float:
    """Standard deviation over seeds (``ddof=1``); NaN for a single seed, whose spread is unknown (not 0)."""
    return float(values.std(ddof=1)) if len(values) > 1 else float("nan")


def pm(mean: float, std: float, digits: int = 3, signed: bool = False) -> str:
    """``mean ± std`` as every table writes it; the spread reads "–" where it is undefined (one seed)."""
    spread = "–" if np.isnan(std) else f"{std:.{digits}f}"
    return f"{mean:{'+' if signed else ''}.{digits}f} ± {spread}"


def p_text(p: float, digits: int = 3) -> str:
    """A p-value as tables write it: "–" where there is none (one seed, or identical pairs)."""
    return "–" if np.isnan(p) else f"{p:.{digits}f}"


def paired_p_value(b: np.ndarray, a: np.ndarray) -> float:
    """Two-sided paired t-test of ``b`` against ``a`` over seeds; NaN for one seed or identical pairs."""
    return float(stats.ttest_rel(b, a).pvalue) if len(a) > 1 and (b - a).std() > 0 else float("nan")


def _by_run(records):
    runs = defaultdict(dict)  # (dataset, model, variant) -> seed -> record
    for r in records:
        runs[(r["dataset"], r["model"], r["variant"])][r["seed"]] = r
    return runs


def _pairs(records, baseline: str, variant: str):
    """``(dataset, model, baseline runs by seed, variant runs by seed)`` for each (dataset, model) that has both."""
    runs = _by_run(records)
    for (dataset, model, v), by_seed in sorted(runs.items()):
        if v == variant and (dataset, model, baseline) in runs:
            yield dataset, model, runs[(dataset, model, baseline)], by_seed


def _value(record, section, metric):
    v = record["metrics"][section][metric]
    return 100 * v if metric == "MAPE" else v


def _paired_values(base: dict, variant: dict, seeds, section: str, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """The baseline's and the variant's value of ``metric`` in ``section``, seed by seed (runs by seed)."""
    return (np.array([_value(base[s], section, metric) for s in seeds]),
            np.array([_value(variant[s], section, metric) for s in seeds]))


def comparisons(records: list[dict], baseline: str = "plain", variant: str = "stlora") -> list[dict]:
    """One row per (dataset, model, horizon, metric): baseline and variant mean/std, paired difference, p-value."""
    rows = []
    for dataset, model, base, by_seed in _pairs(records, baseline, variant):
        seeds = sorted(set(base) & set(by_seed))
        if not seeds:
            continue
        for section, label in horizon_sections([*base.values(), *by_seed.values()]):
            for metric in METRICS:
                a, b = _paired_values(base, by_seed, seeds, section, metric)
                d = b - a
                rows.append({"dataset": dataset, "model": model, "horizon": label, "metric": metric,
                             "seeds": len(seeds), "base_mean": a.mean(), "base_std": sample_std(a),
                             "variant_mean": b.mean(), "variant_std": sample_std(b),
                             "diff_mean": d.mean(), "diff_std": sample_std(d),
                             "p_value": paired_p_value(b, a), "baseline": baseline, "variant": variant})
    return rows


def seed_differences(records: list[dict], dataset: str, model: str, baseline: str = "plain",
                     variant: str = "stlora", section: str = "overall", metric: str = "MAE") -> dict[int, float]:
    """``variant − baseline`` of each seed both arms have: the values whose mean and spread :func:`comparisons`
    reports as ``diff_mean`` and ``diff_std``."""
    runs = _by_run(records)
    base, var = runs.get((dataset, model, baseline), {}), runs.get((dataset, model, variant), {})
    seeds = sorted(set(base) & set(var))
    a, b = _paired_values(base, var, seeds, section, metric)
    return dict(zip(seeds, (b - a).tolist()))


def validation_delta(records: list[dict], dataset: str, model: str, baseline: str, variant: str) -> dict:
    """Paired difference variant − baseline of each run's best validation MAE, over the seeds both have."""
    runs = _by_run(records)
    base, var = runs.get((dataset, model, baseline), {}), runs.get((dataset, model, variant), {})
    d = np.array([min(var[s]["val_mae"]) - min(base[s]["val_mae"]) for s in sorted(set(base) & set(var))
                  if var[s]["val_mae"] and base[s]["val_mae"]])
    return {"val_diff_mean": float(d.mean()) if d.size else float("nan"), "val_diff_std": sample_std(d)}


def efficiency(records: list[dict], baseline: str = "plain", variant: str = "stlora") -> list[dict]:
    """Per (dataset, model): parameters, adapter share, seconds per epoch and the overhead of the variant, and the
    epochs trained, over the seeds both arms have (as the paired differences), or every run while none is shared."""
    rows = []
    for dataset, model, base_by_seed, var_by_seed in _pairs(records, baseline, variant):
        seeds = set(base_by_seed) & set(var_by_seed)
        base = [r for s, r in base_by_seed.items() if s in seeds or not seeds]
        var = [r for s, r in var_by_seed.items() if s in seeds or not seeds]
        b_time, v_time = _mean_epoch_time(base), _mean_epoch_time(var)
        b_epochs, v_epochs = mean_epochs(base), mean_epochs(var)
        params = var[0]["params"]
        rows.append({"dataset": dataset, "model": model, "base_params": base[0]["params"]["total"],
                     "total_params": params["total"], "trainable_params": params["trainable"],
                     "adapter_params": params["adapter"],
                     "adapter_percent": 100 * params["adapter"] / base[0]["params"]["total"],
                     "base_sec_per_epoch": b_time, "sec_per_epoch": v_time,
                     "time_overhead_percent": 100 * (v_time / b_time - 1),
                     "base_epochs": b_epochs, "epochs": v_epochs})
    return rows


def mean_field(records, key: str) -> float:
    """Mean of ``key`` over the records that have a value for it (NaN if none: e.g. a run whose log had no epoch
    time, or a record written before peak memory was measured)."""
    values = [r[key] for r in records if r.get(key) is not None]
    return float(np.mean(values)) if values else float("nan")


def _mean_epoch_time(records: list[dict]) -> float:
    return mean_field(records, "sec_per_epoch")


def mean_epochs(records) -> float:
    """Mean epochs trained (records before early stopping: the length of their validation curve)."""
    return float(np.mean([r.get("epochs_trained", len(r.get("val_mae") or [])) for r in records]))


def render_markdown(records: list[dict], *, title: str, context: str, variant: str = "stlora") -> str:
    """The comparison tables (one per dataset), the per-dataset summary and the efficiency table."""
    rows = comparisons(records, variant=variant)
    label = {"stlora": "+ST-LoRA", "freeze": "+ST-LoRA (frozen backbone)"}.get(variant, variant)
    out = [f"# {title}", "", context, "", f"Δ = {label} − plain (negative is better), paired by seed; "
           "p = paired t-test over seeds.", ""]
    labels = list(dict.fromkeys(r["horizon"] for r in rows)) or [h for _, h in HORIZONS]
    columns = [f"{m} {h}" for h in labels for m in METRICS]
    for dataset in sorted({r["dataset"] for r in rows}):
        out += [f"## {dataset}", "", "| model | | " + " | ".join(columns) + " |",
                "|---|---|" + "---|" * len(columns)]
        for model in sorted({r["model"] for r in rows if r["dataset"] == dataset}):
            cell = {(r["metric"], r["horizon"]): r for r in rows if r["dataset"] == dataset and r["model"] == model}
            ordered = [cell[(m, h)] for h in labels for m in METRICS]
            plain = [pm(c["base_mean"], c["base_std"], 2) for c in ordered]
            adapted = [pm(c["variant_mean"], c["variant_std"], 2) for c in ordered]
            delta = [f"{pm(c['diff_mean'], c['diff_std'], 2, signed=True)} ({p_text(c['p_value'], 2)})"
                     for c in ordered]
            out += [f"| {model} | plain | " + " | ".join(plain) + " |", f"| | {label} | " + " | ".join(adapted) + " |",
                    "| | Δ (p) | " + " | ".join(delta) + " |"]
        out.append("")
    out += ["## Average MAE by dataset (Δ = ST-LoRA − plain; ✓ where Δ < −1 std over seeds)", "",
            "| model | " + " | ".join(sorted({r["dataset"] for r in rows})) + " |",
            "|---|" + "---|" * len({r["dataset"] for r in rows})]
    for model in sorted({r["model"] for r in rows}):
        cells = []
        for dataset in sorted({r["dataset"] for r in rows}):
            hit = [r for r in rows if r["dataset"] == dataset and r["model"] == model
                   and r["metric"] == "MAE" and r["horizon"] == "avg"]
            if hit:
                c = hit[0]
                mark = " ✓" if c["diff_mean"] < -c["diff_std"] and c["seeds"] > 1 else ""
                spread = f" ± {c['diff_std']:.3f}" if c["seeds"] > 1 else ", 1 seed"
                cells.append(f"{c['base_mean']:.3f} → {c['variant_mean']:.3f} ({c['diff_mean']:+.3f}{spread}){mark}")
            else:
                cells.append("-")
        out.append(f"| {model} | " + " | ".join(cells) + " |")
    out += ["", "## Efficiency", "", "| dataset | model | params (plain) | params (+ST-LoRA) | trainable | adapter | "
            "adapter % | s/epoch plain | s/epoch +ST-LoRA | time overhead % | epochs plain | epochs +ST-LoRA |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for e in efficiency(records, variant=variant):
        out.append(f"| {e['dataset']} | {e['model']} | {e['base_params']:,} | {e['total_params']:,} | "
                   f"{e['trainable_params']:,} | {e['adapter_params']:,} | {e['adapter_percent']:.2f} | "
                   f"{e['base_sec_per_epoch']:.2f} | {e['sec_per_epoch']:.2f} | {e['time_overhead_percent']:+.1f} | "
                   f"{e['base_epochs']:.1f} | {e['epochs']:.1f} |")
    return "\n".join(out) + "\n"


def write_tables(records: list[dict], out_dir: str | os.PathLike, *, title: str, context: str,
                 variants: tuple[str, ...] = ("stlora",)) -> list[Path]:
    """Write ``leaderboard.md`` (and ``leaderboard_<variant>.md``), CSV and JSON of the comparisons."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for variant in variants:
        suffix = "" if variant == "stlora" else f"_{variant}"
        md = out_dir / f"leaderboard{suffix}.md"
        md.write_text(render_markdown(records, title=title, context=context, variant=variant), encoding="utf-8")
        rows = comparisons(records, variant=variant)
        with open(out_dir / f"leaderboard{suffix}.csv", "w", newline="", encoding="utf-8") as f:
            if rows:
                writer = csv.DictWriter(f, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
        (out_dir / f"leaderboard{suffix}.json").write_text(
            json.dumps({"comparisons": rows, "efficiency": efficiency(records, variant=variant)}, indent=1),
            encoding="utf-8")
        written += [md, out_dir / f"leaderboard{suffix}.csv", out_dir / f"leaderboard{suffix}.json"]
    return written
