"""Ablations that test where ST-LoRA's gain comes from (node-specific adaptation or extra capacity).

On the same data, seeds and budget as the plain backbone, each arm changes one thing:

===================  ==================================================================================
arm                  what it changes
===================  ==================================================================================
stlora               the default ST-LoRA (per-node full cores, gate, lambda penalty, K predictors)
shared_core          one core shared by all nodes (same rank): no node-specific parameters at all
diagonal_core        per-node diagonal cores ``[N, r]`` instead of full ``[N, r, r]``
no_gate              plain averaging ``(Y_base + mean Z) / 2`` instead of the learned gate R
gate_bias0           the learned gate started at R = 0.5 (gate bias 0; the default since the corrections start at 0)
large_preset         rank 4, K = 2 predictors of 2 blocks, hidden 32 (today's default; kept for the committed runs)
paper_preset         the ``paper`` preset (rank 2, one predictor of one block, hidden 8: the paper's cost)
no_lambda            lambda = 0 (no penalty on node-specific parameters)
single_predictor     K = 1 predictor instead of K chained ones
node_lr10            the node group (per-node cores and their factors A, B) learns at 10x the learning rate
freeze               adapters trained on the frozen, trained plain backbone
wide_backbone        no adapter: the plain backbone widened to at least the parameters of backbone + ST-LoRA
===================  ==================================================================================

Every arm is compared with ``plain`` and with ``stlora`` by paired differences over seeds (paired t-test),
on test data, after the best epoch of every run was chosen on validation data.

Node-specific parameters should matter most where nodes differ most, so the report also splits the test MAE
change by node: the quarter of nodes whose training series is least like the network's mean
(:func:`~stlora_plugin.leaderboard.pernode.node_distinctness`, chosen on training data) against the rest.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .. import zoo  # noqa: E402
from ..adapters.config import PREFIX, PRESETS  # noqa: E402
from ..adapters.report import count_parameters  # noqa: E402
from .pernode import adapter_diagnostics, node_distinctness  # noqa: E402
from .plots import plot_validation_curves  # noqa: E402
from .sweep import Budget, RunKey, Sweep, finished_seeds, plan  # noqa: E402
from .tables import (comparisons, p_text, paired_p_value, pm, report_header, sample_std,  # noqa: E402
                     validation_delta)

__all__ = ["ABLATIONS", "run_ablation", "widen_to"]

#: arm -> (kind, overrides) as in sweep.py; ``wide_backbone`` is sized per dataset at run time
ABLATIONS: dict[str, tuple[str, dict]] = {
    "stlora": ("stlora", {}),
    "shared_core": ("stlora", {"stlora_core": "shared"}),
    "diagonal_core": ("stlora", {"stlora_core": "diagonal"}),
    "no_gate": ("stlora", {"stlora_fusion": "mean"}),
    "gate_bias0": ("stlora", {"stlora_gate_bias": 0.0}),
    "no_lambda": ("stlora", {"stlora_lambda": 0.0}),
    "single_predictor": ("stlora", {"stlora_num_predictors": 1}),
    "large_preset": ("stlora", {"stlora_rank": 4, "stlora_num_predictors": 2, "stlora_num_layers": 2,
                                "stlora_hidden_size": 32}),
    "paper_preset": ("stlora", {PREFIX + k: v for k, v in PRESETS["paper"].items()}),
    "node_lr10": ("stlora", {"optimizer_params": {"node_lr_scale": 10.0}}),
    "freeze": ("freeze", {}),
    "wide_backbone": ("plain", {}),
}


def _wide_arm(dataset: str, model: str, budget: Budget) -> tuple[str, dict]:
    cfg = zoo.experiment(zoo.model_class(model, stlora=True), dataset, num_epochs=1,
                         model_overrides={**budget.backbone, **budget.stlora})
    target = count_parameters(cfg.model(cfg.model_config))["total"]
    return "plain", {**budget.backbone, **widen_to(model, dataset, target)}


def widen_to(name: str, dataset: str | os.PathLike, target_params: int) -> dict[str, int]:
    """Backbone-config overrides that widen ``name`` to at least ``target_params`` parameters (the smallest such
    width of its recipe's width field): the capacity-matched control for an adapter of the same size."""
    recipe = zoo.RECIPES[name]

    def count(width: int) -> int:
        cfg = zoo.experiment(recipe.model, dataset, model_overrides={recipe.width: width}, num_epochs=1)
        return count_parameters(cfg.model(cfg.model_config))["total"]

    config_class = getattr(recipe.model, "Config", None) or recipe.config_class
    low = getattr(config_class(**recipe.config), recipe.width)
    if count(low) >= target_params:
        return {recipe.width: low}
    high = low
    while count(high) < target_params:
        low, high = high, high * 2
    while high - low > 1:  # smallest width reaching the target
        mid = (low + high) // 2
        low, high = (low, mid) if count(mid) >= target_params else (mid, high)
    return {recipe.width: high}


def _render(rows: list[dict], diagnostics: list[dict], by_node: list[dict], arms: list[str], header: str) -> str:
    """``ablation.md``: the comparisons, where the forecast comes from, and the distinct-node split."""
    lines = ["# ST-LoRA ablations", "", header, "",
             "Δ = arm − baseline in average test MAE (negative: the arm is better), mean ± std over seeds; "
             "p = paired t-test; Δ val = the same on each run's best validation MAE (what a choice may use).", "",
             "| dataset | model | arm | vs | baseline MAE | arm MAE | Δ | p | Δ val |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["dataset"], r["model"], r["baseline"], arms.index(r["variant"]))):
        lines.append(f"| {r['dataset']} | {r['model']} | {r['variant']} | {r['baseline']} | "
                     f"{pm(r['base_mean'], r['base_std'])} | {pm(r['variant_mean'], r['variant_std'])} | "
                     f"{pm(r['diff_mean'], r['diff_std'], signed=True)} | {p_text(r['p_value'])} | "
                     f"{pm(r['val_diff_mean'], r['val_diff_std'], signed=True)} |")
    lines += ["", "Where the forecast comes from (validation split, mean over the seeds counted; see "
              "leaderboard/pernode.py): gate R = backbone share of the fused forecast, change = mean |Y - Y_base| "
              "in data units, core spread = how much the per-node cores differ (0: all alike), update norm = mean "
              "over nodes of sum ||B C_v A|| (0: no node-specific update).", "",
              "| dataset | model | arm | seeds | gate R | change | core spread | core norm | update norm |",
              "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {d['dataset']} | {d['model']} | {d['arm']} | {d['seeds']} | {d['gate_R']:.3f} | "
              f"{d['adapter_change']:.3f} | {d['core_spread']:.3f} | {d['core_norm']:.3f} | "
              f"{d.get('update_norm', float('nan')):.4f} |"
              for d in diagnostics]
    lines += ["", "Distinct nodes (test MAE change per node, mean over nodes, then mean ± std over seeds): the quarter of "
              "nodes least like the network mean on training data vs the other nodes; p = paired t-test over seeds "
              "of the two changes.", "",
              "| dataset | model | arm | vs | distinct nodes | Δ distinct | Δ other nodes | p |",
              "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {d['dataset']} | {d['model']} | {d['arm']} | {d['baseline']} | {d['distinct_nodes']} | "
              f"{pm(d['distinct_mean'], d['distinct_std'], signed=True)} | "
              f"{pm(d['other_mean'], d['other_std'], signed=True)} | {p_text(d['p_value'])} |" for d in by_node]
    return "\n".join(lines) + "\n"


def run_ablation(datasets: list[str], models: list[str], seeds: list[int], budget: Budget,
                 out_dir: str | os.PathLike, arms: list[str] | None = None,
                 ckpt_root: str | os.PathLike | None = None,
                 reuse: tuple[str | os.PathLike, ...] = (), train: bool = True) -> list[Path]:
    """Train every arm (reusing finished runs, also those of the ``reuse`` folders trained identically: a
    leaderboard's plain and ST-LoRA runs) and write ``ablation.md``, ``ablation.json``, ``ablation.png`` (the
    differences) and ``val_mae_<dataset>.png`` (every run's validation curve). With ``train=False``
    nothing is trained or copied: the tables cover the runs already recorded (an unfinished ablation)."""
    arms = arms or list(ABLATIONS)
    unknown = [a for a in arms if a not in ABLATIONS]
    if unknown:
        raise ValueError(f"unknown ablation arms {unknown}; choose from {', '.join(ABLATIONS)}")
    out_dir = Path(out_dir)
    diagnostics, by_node, keys = [], [], []
    stored = _stored_diagnostics(out_dir / "ablation.json")
    for dataset in datasets:
        for model in models:
            table = {a: ABLATIONS[a] for a in arms if a != "wide_backbone"}
            if "wide_backbone" in arms:  # sized for this dataset's node count
                table["wide_backbone"] = _wide_arm(dataset, model, budget)
            sweep = Sweep(out_dir / "runs", budget, ckpt_root=ckpt_root, arms=table, reuse=reuse)
            pair_keys = plan([dataset], [model], seeds, ["plain", *table])
            keys += pair_keys
            finished = sweep.run(pair_keys) if train else sweep.records()
            diagnostics += _diagnostics(sweep, finished, dataset, model, seeds, stored)
            by_node += _distinct_nodes(sweep, finished, dataset, model, seeds)
    records = Sweep(out_dir / "runs", budget, ckpt_root=ckpt_root).records()  # every dataset and model
    rows = []
    for arm in arms:
        for baseline in ("plain", "stlora"):
            if arm == baseline:
                continue
            rows += [{**r, **validation_delta(records, r["dataset"], r["model"], baseline, arm)}
                     for r in comparisons(records, baseline=baseline, variant=arm)
                     if r["metric"] == "MAE" and r["horizon"] == "avg"]
    md = out_dir / "ablation.md"
    header = report_header(datasets, models, seeds, budget, finished=finished_seeds(keys, records))
    md.write_text(_render(rows, diagnostics, by_node, arms, header), encoding="utf-8")
    (out_dir / "ablation.json").write_text(json.dumps({"comparisons": rows, "diagnostics": diagnostics,
                                                       "distinct_nodes": by_node}, indent=1),
                                           encoding="utf-8")
    plots = [_plot(rows, arms, out_dir / "ablation.png")]
    plots += [plot_validation_curves(records, dataset, out_dir / f"val_mae_{dataset}.png", ("plain", *arms))
              for dataset in datasets]
    return [md, out_dir / "ablation.json", *(plot for plot in plots if plot)]


def _diagnostics(sweep: Sweep, records: list[dict], dataset: str, model: str, seeds: list[int],
                 stored: dict[tuple[str, str, str], dict]) -> list[dict]:
    """:func:`adapter_diagnostics` of every adapter arm of (dataset, model), averaged over ``seeds`` (the row's
    ``seeds``: how many runs it averages). A run's diagnostics come from its record; older records lack them and
    are read from the run's checkpoints. Where those are gone too (git keeps records, not checkpoints), the arm
    keeps the row of the previous report (``stored``), so rewriting the tables loses nothing."""
    out = []
    for arm, (kind, _) in sweep.arms.items():
        if kind == "plain":
            continue
        values = []
        for r in records:
            if (r["dataset"], r["model"], r["variant"]) != (dataset, model, arm) or r["seed"] not in seeds:
                continue
            if r.get("adapter_diagnostics"):
                values.append(r["adapter_diagnostics"])
            elif Path(r["run_dir"]).is_dir():
                cfg = sweep.config(RunKey(dataset, model, r["seed"], arm), resume=True)
                values.append(adapter_diagnostics(cfg, r["run_dir"]))
        if values:
            out.append({"dataset": dataset, "model": model, "arm": arm, "seeds": len(values),
                        **{k: sum(v[k] for v in values) / len(values) for k in values[0]}})
        elif (dataset, model, arm) in stored:
            out.append(stored[(dataset, model, arm)])
    return out


def _stored_diagnostics(path: Path) -> dict[tuple[str, str, str], dict]:
    """(dataset, model, arm) -> its diagnostics row in a previous ``ablation.json`` (the earliest reports did not
    count their seeds: "–")."""
    if not path.is_file():
        return {}
    rows = json.loads(path.read_text(encoding="utf-8")).get("diagnostics", [])
    return {(d["dataset"], d["model"], d["arm"]): {"seeds": "–", **d} for d in rows}


#: (arm, baseline) pairs split by node: ST-LoRA's gain, and per-node cores against one shared core
NODE_SPLITS = (("stlora", "plain"), ("stlora", "shared_core"))


def _distinct_nodes(sweep: Sweep, records: list[dict], dataset: str, model: str, seeds: list[int]) -> list[dict]:
    """Per-node test MAE change of each pair in :data:`NODE_SPLITS` on the distinct quarter vs the other nodes."""
    runs = {(r["variant"], r["seed"]): r for r in records
            if (r["dataset"], r["model"]) == (dataset, model) and r["seed"] in seeds}
    out, distinct = [], None
    for arm, baseline in NODE_SPLITS:
        paired = [s for s in seeds if (arm, s) in runs and (baseline, s) in runs]
        if not paired:
            continue
        if distinct is None:
            score = node_distinctness(sweep.config(RunKey(dataset, model, paired[0], baseline), resume=True))
            distinct = score >= np.quantile(score, 0.75)
        change = np.array([np.subtract(runs[(arm, s)]["per_node_mae"], runs[(baseline, s)]["per_node_mae"])
                           for s in paired])                                     # [seeds, N]
        top, rest = change[:, distinct].mean(1), change[:, ~distinct].mean(1)
        out.append({"dataset": dataset, "model": model, "arm": arm, "baseline": baseline,
                    "distinct_nodes": f"{int(distinct.sum())} of {distinct.size}", "seeds": len(paired),
                    "distinct_mean": float(top.mean()), "distinct_std": sample_std(top),
                    "other_mean": float(rest.mean()), "other_std": sample_std(rest),
                    "p_value": paired_p_value(top, rest)})
    return out


def _plot(rows: list[dict], arms: list[str], path: Path) -> Path | None:
    """Δ MAE of each arm against the plain backbone, one panel per (dataset, model); None while no arm has a
    seed paired with its baseline (another process still training them)."""
    panels = sorted({(r["dataset"], r["model"]) for r in rows})
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.4), squeeze=False, sharey=False)
    for ax, (dataset, model) in zip(axes[0], panels):
        cells = {r["variant"]: r for r in rows if (r["dataset"], r["model"]) == (dataset, model)
                 and r["baseline"] == "plain"}
        names = [a for a in arms if a in cells]
        ax.barh(names, [cells[a]["diff_mean"] for a in names], xerr=[cells[a]["diff_std"] for a in names],
                color=["tab:blue" if cells[a]["diff_mean"] < 0 else "tab:red" for a in names], capsize=2)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.invert_yaxis()
        ax.set_title(f"{dataset} / {model}", fontsize=9)
        ax.set_xlabel("Δ MAE vs plain")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
