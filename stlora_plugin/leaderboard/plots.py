"""Plots of a comparison (PNG, matplotlib's non-interactive backend).

* ``mae_by_horizon_<dataset>.png``: MAE at the horizons the runs report (3/6/12 for 12 steps) and on average,
  plain vs variant, one panel per backbone;
* ``params_vs_mae.png``: parameters against average MAE, an arrow from each plain backbone to its variant;
* ``node_change_<dataset>_<model>.png``: per-node change of test MAE (variant − plain, mean over seeds), drawn on
  the sensor map where the dataset has ``locations.csv`` (LOS-LOOP, METR-LA, PEMS-BAY), else sorted bars;
* ``val_mae_<dataset>.png``: validation MAE after each epoch of every run, plain vs variant (an ablation: every
  arm), one panel per backbone, the best (tested) epoch marked: whether a budget let validation stop improving;
* :func:`plot_summary` (``stlora summarize``): the paired difference of every (backbone, dataset) pair over many
  folders, each seed a dot beside the mean ± std, one panel per dataset: the effect against seed noise at a glance.
"""
from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .tables import comparisons, p_text  # noqa: E402

__all__ = ["plot_all", "plot_mae_by_horizon", "plot_node_change", "plot_params_vs_mae", "plot_summary",
           "plot_validation_curves"]


def plot_mae_by_horizon(records: list[dict], dataset: str, path: Path, variant: str = "stlora") -> Path | None:
    """None (no plot) while no seed has both arms, e.g. a comparison whose first plain runs alone are finished."""
    rows = [r for r in comparisons(records, variant=variant) if r["dataset"] == dataset and r["metric"] == "MAE"]
    models = sorted({r["model"] for r in rows})
    if not models:
        return None
    fig, axes = plt.subplots(1, len(models), figsize=(3.2 * len(models), 3.2), squeeze=False)
    labels = list(dict.fromkeys(r["horizon"] for r in rows))  # the horizons the runs report, e.g. @3 @6 @12 avg
    x = np.arange(len(labels))
    for ax, model in zip(axes[0], models):
        cell = {r["horizon"]: r for r in rows if r["model"] == model}
        for offset, (key, name) in zip((-0.18, 0.18), (("base", "plain"), ("variant", f"+ST-LoRA ({variant})"))):
            ax.bar(x + offset, [cell[h][f"{key}_mean"] for h in labels], 0.36,
                   yerr=[cell[h][f"{key}_std"] for h in labels], label=name, capsize=2)
        ax.set_xticks(x, labels)
        ax.set_title(model)
        low = min(cell[h]["base_mean"] for h in labels)
        ax.set_ylim(bottom=0.8 * low)
    axes[0][0].set_ylabel("test MAE")
    axes[0][-1].legend(fontsize=7)
    fig.suptitle(f"{dataset}: MAE by horizon (mean ± std over seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_params_vs_mae(records: list[dict], path: Path, variant: str = "stlora") -> Path:
    datasets = sorted({r["dataset"] for r in records})
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 3.6), squeeze=False)
    by_key = defaultdict(list)
    for r in records:
        by_key[(r["dataset"], r["model"], r["variant"])].append(r)
    for ax, dataset in zip(axes[0], datasets):
        for (d, model, v), runs in sorted(by_key.items()):
            if d != dataset or v != "plain" or (d, model, variant) not in by_key:
                continue
            points = []
            for key in ((d, model, "plain"), (d, model, variant)):
                group = by_key[key]
                points.append((group[0]["params"]["total"], np.mean([g["metrics"]["overall"]["MAE"] for g in group])))
            ax.annotate("", xy=points[1], xytext=points[0], arrowprops={"arrowstyle": "->", "color": "tab:red"})
            ax.scatter(*points[0], color="tab:blue")
            ax.scatter(*points[1], color="tab:red")
            ax.annotate(model, points[0], fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("parameters")
        ax.set_title(dataset)
    axes[0][0].set_ylabel("average test MAE (blue plain, red +ST-LoRA)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_node_change(records: list[dict], dataset: str, model: str, path: Path, variant: str = "stlora",
                     locations: np.ndarray | None = None) -> Path | None:
    pairs = defaultdict(dict)
    for r in records:
        if r["dataset"] == dataset and r["model"] == model and r["variant"] in ("plain", variant):
            pairs[r["seed"]][r["variant"]] = np.array(r["per_node_mae"])
    diffs = [p[variant] - p["plain"] for p in pairs.values() if len(p) == 2]
    if not diffs:
        return None
    change = np.mean(diffs, axis=0)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    limit = np.abs(change).max() or 1.0
    if locations is not None and len(locations) == len(change):
        points = ax.scatter(locations[:, 1], locations[:, 0], c=change, cmap="RdBu_r", vmin=-limit, vmax=limit, s=18)
        fig.colorbar(points, ax=ax, label="Δ test MAE (ST-LoRA − plain)")
        ax.set_xlabel("longitude")
        ax.set_ylabel("latitude")
    else:
        order = np.argsort(change)
        ax.bar(np.arange(len(change)), change[order], color=np.where(change[order] < 0, "tab:blue", "tab:red"))
        ax.set_xlabel("nodes, sorted by change")
        ax.set_ylabel("Δ test MAE (ST-LoRA − plain)")
    better = (change < 0).mean()
    ax.set_title(f"{dataset} / {model}: per-node test MAE change\n{100 * better:.0f}% of nodes improve with {variant}",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_validation_curves(records: list[dict], dataset: str, path: Path,
                           variants: tuple[str, ...] = ("plain", "stlora")) -> Path | None:
    """Validation MAE after each epoch of every run of ``variants`` on ``dataset``, one color per variant, one panel
    per model (four to a row); None (no plot) while no such run has a validation curve."""
    runs = [r for r in records if r["dataset"] == dataset and r["variant"] in variants and r.get("val_mae")]
    models = sorted({r["model"] for r in runs})
    if not models:
        return None
    cols = min(len(models), 4)
    rows = (len(models) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(max(5.0, 3.6 * cols), 3.4 * rows), squeeze=False)
    for ax in axes.flat[len(models):]:
        ax.axis("off")
    for ax, model in zip(axes.flat, models):
        tails = []
        for color, variant in enumerate(variants):
            group = sorted((r for r in runs if (r["model"], r["variant"]) == (model, variant)), key=lambda r: r["seed"])
            seeds = f"{len(group)} seed{'s' if len(group) != 1 else ''}"
            label = f"{variant} ({seeds})" if len(variants) > 1 else seeds
            for i, r in enumerate(group):
                curve = np.asarray(r["val_mae"], dtype=float)
                epochs, best = np.arange(1, len(curve) + 1), int(np.nanargmin(curve))
                ax.plot(epochs, curve, color=f"C{color}", alpha=0.7, lw=1,
                        label=label if i == 0 else None)
                ax.plot(epochs[best], curve[best], "o", color=f"C{color}", ms=4)
                tails.append(curve[1:] if len(curve) > 1 else curve)
        ax.set_ylim(top=np.nanmax(np.concatenate(tails)))  # from epoch 2 on: the first is often far above
        ax.set_xlabel("epoch")
        ax.set_title(model)
    for row in axes:
        row[0].set_ylabel("validation MAE")
    axes[0][-1].legend(fontsize=7)
    fig.suptitle(f"{dataset}\nvalidation MAE per epoch, every run (dot: its best epoch, the one tested)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_summary(rows: list[dict], path: Path) -> Path | None:
    """Δ average test MAE (variant − plain) of each summary row (:func:`..summary.summary_rows`): every seed's
    difference as a dot, the mean ± std as a bar, its paired p in the label; one panel per dataset (MAE units
    differ between datasets). None (no plot) without rows."""
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    if not datasets:
        return None
    height = max(sum(r["dataset"] == d for r in rows) for d in datasets)
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.0 * len(datasets), 1.2 + 0.42 * height), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        cells = [r for r in rows if r["dataset"] == dataset]
        y = np.arange(len(cells))
        for i, r in enumerate(cells):
            color = "tab:blue" if r["diff_mean"] < 0 else "tab:red"
            ax.errorbar(r["diff_mean"], i, xerr=0 if np.isnan(r["diff_std"]) else r["diff_std"], fmt="D", ms=5,
                        color=color, capsize=3)
            ax.scatter(r["seed_diffs"], np.full(len(r["seed_diffs"]), i + 0.18), s=12, color="grey", zorder=3)
        ax.axvline(0, color="black", linewidth=0.8)
        names = [r["model"] if r["variant"] == "stlora" else f"{r['model']} {r['variant']}" for r in cells]
        ax.set_yticks(y, [f"{n} (p {p_text(r['p_value'])})" for n, r in zip(names, cells)], fontsize=8)
        ax.set_ylim(height - 0.5, -0.5)  # the same row spacing in every panel
        ax.set_xlabel("Δ test MAE (variant − plain)")
        ax.set_title(dataset, fontsize=9)
    fig.suptitle("Paired difference per seed (grey dots), mean ± std over seeds; left of 0: the variant is better",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _locations(dataset: str) -> np.ndarray | None:
    from ..runtime import dataset_dir

    try:
        file = dataset_dir(dataset) / "locations.csv"
    except FileNotFoundError:
        return None
    return pd.read_csv(file).to_numpy() if file.is_file() else None


def plot_all(records: list[dict], out_dir: str | os.PathLike, variant: str = "stlora") -> list[Path]:
    """Every plot of a comparison into ``out_dir``; returns the files written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [plot_params_vs_mae(records, out_dir / "params_vs_mae.png", variant)]
    for dataset in sorted({r["dataset"] for r in records}):
        made = [plot_mae_by_horizon(records, dataset, out_dir / f"mae_by_horizon_{dataset}.png", variant),
                plot_validation_curves(records, dataset, out_dir / f"val_mae_{dataset}.png", ("plain", variant))]
        locations = _locations(dataset)
        for model in sorted({r["model"] for r in records if r["dataset"] == dataset}):
            made.append(plot_node_change(records, dataset, model, out_dir / f"node_change_{dataset}_{model}.png",
                                         variant, locations))
        written += [path for path in made if path]
    return written
