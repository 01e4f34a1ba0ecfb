"""One table over many comparison folders: each (backbone, dataset) pair's paired difference in average test MAE.

A leaderboard or ablation folder holds the runs of a few pairs (``runs.jsonl``, or ``runs/runs.jsonl`` for an
ablation); a study such as "ST-LoRA at convergence" spans a dozen folders. :func:`summary_rows` reads them all,
and :func:`render_summary` writes the table a reader checks first: plain and variant MAE, the difference
``variant − plain`` (mean ± std over the seeds both have), its paired p-value, the budget and epochs actually
trained, the adapter's parameter share and the time overhead, with the folder each row comes from.
:func:`write_summary` draws the same differences, seed by seed, beside the table (``<out>.png``).
"""
from __future__ import annotations

import os
from pathlib import Path

from .plots import plot_summary
from .sweep import Budget, Sweep, records_folder
from .tables import command_line, comparisons, efficiency, p_text, pm, seed_differences

__all__ = ["read_folder", "render_summary", "summary_rows", "write_summary"]


def read_folder(folder: str | os.PathLike) -> list[dict]:
    """The run records of a leaderboard (``runs.jsonl``) or ablation (``runs/runs.jsonl``) folder."""
    return Sweep(records_folder(folder), Budget()).records()


def _budget(records: list[dict]) -> str:
    """The budget every run of a pair had, and where it trained (the time column is only comparable on one kind)."""
    budgets = {(r["budget"]["num_epochs"], r["budget"].get("patience"), r["budget"].get("batch_size"),
                bool(r["budget"].get("gpus"))) for r in records}
    if len(budgets) > 1:
        return "mixed"
    epochs, patience, batch, on_gpu = budgets.pop()
    text = f"≤ {epochs} ep., patience {patience}" if patience else f"{epochs} ep."
    return text + (f", batch {batch}" if batch else ", recipe batch") + (", GPU" if on_gpu else "")


def summary_rows(folders, variants=("stlora",), baseline: str = "plain") -> list[dict]:
    """One row per (folder, dataset, model, variant) with both arms on at least one common seed."""
    rows = []
    for folder in folders:
        records = read_folder(folder)
        for variant in variants:
            costs = {(e["dataset"], e["model"]): e for e in efficiency(records, baseline, variant)}
            for row in comparisons(records, baseline, variant):
                if row["horizon"] != "avg" or row["metric"] != "MAE":
                    continue
                pair = [r for r in records if (r["dataset"], r["model"]) == (row["dataset"], row["model"])
                        and r["variant"] in (baseline, variant)]
                seed_diffs = seed_differences(records, row["dataset"], row["model"], baseline, variant)
                rows.append({**row, **costs[(row["dataset"], row["model"])], "folder": str(folder),
                             "budget": _budget(pair), "seed_diffs": list(seed_diffs.values())})
    return rows


def render_summary(rows: list[dict]) -> str:
    """A markdown table of :func:`summary_rows`, headed by the command that wrote it."""
    lines = [f"Command: `{command_line()}`  ",
             "Δ = variant − plain in average test MAE (12 steps), mean ± std over the seeds both arms have; p: paired "
             "t-test over those seeds; epochs: trained on average over those seeds (plain / variant); time: seconds "
             "per epoch of the variant against plain, over those seeds.", "",
             "| model | data | variant | seeds | budget | plain MAE | variant MAE | Δ ± std | p | epochs | adapter % "
             "| time | folder |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['dataset']} | {r['variant']} | {r['seeds']} | {r['budget']} | "
                     f"{r['base_mean']:.3f} | {r['variant_mean']:.3f} | "
                     f"{pm(r['diff_mean'], r['diff_std'], signed=True)} | {p_text(r['p_value'])} | "
                     f"{r['base_epochs']:.1f} / {r['epochs']:.1f} | {r['adapter_percent']:.2f} | "
                     f"{r['time_overhead_percent']:+.0f}% | `{r['folder']}` |")
    return "\n".join(lines) + "\n"


def write_summary(folders, out: str | os.PathLike, variants=("stlora",)) -> Path:
    """Write :func:`render_summary` of ``folders`` to ``out`` (a ``.md`` file) and, where a pair has runs, its plot
    to ``out`` with ``.png`` (:func:`.plots.plot_summary`), shown under the table; returns the table's path. Without
    a pair, a plot an earlier summary left at that path is removed: it would no longer match its table."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = summary_rows(folders, variants)
    text = render_summary(rows)
    plot = out.with_suffix(".png")
    if plot_summary(rows, plot):
        text += f"\n![Δ per seed]({plot.name})\n"
    else:
        plot.unlink(missing_ok=True)
    out.write_text(text, encoding="utf-8")
    return out
