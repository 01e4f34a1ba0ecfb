"""Sanity check for the backbones: each, trained under a stated budget, against historical inertia (HI).

Historical inertia repeats the last observed value; a trained spatio-temporal model that does not beat it on
test MAE is broken or badly under-trained. Plain backbones run through the same resumable sweep as the
leaderboard. HI is evaluated directly on the test split with BasicTS's masked metrics: BasicTS's own ``HI`` model
cannot be run through ``BasicTSLauncher`` in 1.1.0 (with the ``NoBP`` callback it requires, the training loop never
advances its step counter and repeats epoch 1 forever).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from basicts.data import BasicTSForecastingDataset
from basicts.metrics import masked_mae, masked_mape, masked_rmse
from basicts.utils.mask import null_val_mask
from torch.utils.data import DataLoader

from ..runtime import dataset_dir, read_meta
from ..runtime.protocol import INPUT_LEN, OUTPUT_LEN, reported_horizons
from .sweep import Budget, Sweep, plan
from .tables import report_header

__all__ = ["historical_inertia", "run_sanity"]

METRIC_FUNCTIONS = {"MAE": masked_mae, "RMSE": masked_rmse, "MAPE": masked_mape}  # the protocol's METRICS


@torch.no_grad()
def historical_inertia(dataset: str, input_len: int = INPUT_LEN, output_len: int = OUTPUT_LEN) -> dict[str, dict[str, float]]:
    """Test metrics of repeating the last input value, in the ``test_metrics.json`` layout (overall, horizons)."""
    folder = dataset_dir(dataset)
    null_val = read_meta(folder).get("regular_settings", {}).get("null_val", 0.0)
    data = BasicTSForecastingDataset(read_meta(folder)["name"], input_len, output_len, "test",
                                     data_file_path=str(folder))
    predictions, targets = [], []
    for batch in DataLoader(data, batch_size=512):
        predictions.append(batch["inputs"][:, -1:, :].float().expand(-1, output_len, -1))
        targets.append(batch["targets"].float())
    prediction, target = torch.cat(predictions), torch.cat(targets)
    mask = null_val_mask(target, null_val)
    sections = {"overall": slice(None), **{f"horizon_{h}": h - 1 for h in reported_horizons(output_len)}}
    return {name: {m: float(fn(prediction[:, idx], target[:, idx], mask[:, idx])) for m, fn in METRIC_FUNCTIONS.items()}
            for name, idx in sections.items()}


def run_sanity(dataset: str, models: list[str], seed: int, budget: Budget, out_dir: str | os.PathLike,
               ckpt_root: str | os.PathLike | None = None) -> Path:
    """Train each plain model and HI on ``dataset``; write ``sanity.md``/``sanity.json`` into ``out_dir``."""
    out_dir = Path(out_dir)
    records = Sweep(out_dir, budget, ckpt_root=ckpt_root).run(plan([dataset], models, [seed], ["plain"]))
    hi = historical_inertia(dataset)
    rows = [{"model": r["model"], "MAE": r["metrics"]["overall"]["MAE"], "RMSE": r["metrics"]["overall"]["RMSE"],
             "params": r["params"]["total"], "trainable": r["params"]["trainable"], "sec_per_epoch": r["sec_per_epoch"],
             "beats_HI": r["metrics"]["overall"]["MAE"] < hi["overall"]["MAE"]}
            for r in records if r["dataset"] == dataset and r["model"] in models and r["variant"] == "plain"]
    lines = [f"# Sanity: models vs historical inertia on {dataset}", "",
             report_header([dataset], models, [seed], budget), "",
             "| model | test MAE | test RMSE | params | trainable | s/epoch | beats HI |", "|---|---|---|---|---|---|---|",
             f"| HI (last value) | {hi['overall']['MAE']:.3f} | {hi['overall']['RMSE']:.3f} | 0 | 0 | - | - |"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['MAE']:.3f} | {r['RMSE']:.3f} | {r['params']:,} | {r['trainable']:,} | "
                     f"{r['sec_per_epoch'] if r['sec_per_epoch'] is not None else float('nan'):.1f} | "
                     f"{'yes' if r['beats_HI'] else 'NO'} |")
    md = out_dir / "sanity.md"
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out_dir / "sanity.json").write_text(json.dumps({"HI": hi, "models": rows}, indent=1), encoding="utf-8")
    return md
