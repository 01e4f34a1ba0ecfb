"""How much a trained run's score depends on the day of week it reads: its best-validation checkpoint evaluated on
validation and test twice, with the real day of week and with every input's day set to one day (default Thursday).

    python scripts/check_day_of_week.py results/convergence_nyc_taxi_2019_d2stgnn \
        NYC-Taxi-inflow-until2020-01-01 D2STGNN plain 0

The run is the one a comparison trained into that output folder (its checkpoint under ``checkpoints/``), rebuilt
with the budget in its record (a run still training: the default budget), reading the day of week; a run recorded
without it is refused. A large change means the score rests on the day of week: on data where training holds every
day, what the model learned from it; where it does not (``"days of week unseen in training"`` in the dataset's
``meta.json``), embeddings of days it never trained on.
"""
from __future__ import annotations

import argparse
import dataclasses
import inspect

import torch
from basicts.metrics import masked_mae
from basicts.utils.mask import null_val_mask

from stlora_plugin.leaderboard.sweep import Budget, RunKey, Sweep, recorded_settings, run_settings
from stlora_plugin.runtime.forecast import forecasts, load_checkpoint_model
from stlora_plugin.runtime.protocol import DAY_NAMES, DAY_OF_WEEK_FIELDS, day_value


def split_mae(cfg, model, mean, std, split: str) -> float:
    """The masked MAE of ``split``, as the benchmark scores it (readings equal to ``null_val`` left out)."""
    pairs = list(forecasts(cfg, model, mean, std, split))
    prediction, target = torch.cat([p for p, _ in pairs]), torch.cat([t for _, t in pairs])
    return float(masked_mae(prediction, target, null_val_mask(target, cfg.null_val)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name in ("out", "dataset", "model", "variant"):
        parser.add_argument(name)
    parser.add_argument("seed", type=int)
    parser.add_argument("--day", default="Thursday", choices=DAY_NAMES)
    args = parser.parse_args()
    key = RunKey(args.dataset, args.model, args.seed, args.variant)
    records = [r for r in Sweep(args.out, Budget()).records() if RunKey.of(r) == key]
    budget = Budget(**records[0]["budget"]) if records else Budget()  # a run still training: the default budget
    cfg = Sweep(args.out, budget).config(key, resume=True)
    switches = [f.name for f in dataclasses.fields(cfg.model_config) if f.name in DAY_OF_WEEK_FIELDS]
    if "inputs_timestamps" not in inspect.signature(cfg.model.forward).parameters or not switches:
        raise SystemExit(f"{args.model} does not read the day of week: it cannot change its forecasts")
    if records and not recorded_settings(records[0].get("settings", {}), run_settings(cfg)).get(switches[0], True):
        raise SystemExit(f"{key.slug} was trained without the day of week ({switches[0]}=False): nothing to measure")
    sweep = Sweep(args.out, dataclasses.replace(budget, backbone={**budget.backbone, switches[0]: True}))
    cfg = sweep.config(key, resume=True)
    try:
        checkpoint = sweep.best_checkpoint(key)
    except FileNotFoundError as error:
        raise SystemExit(str(error)) from None
    model, mean, std = load_checkpoint_model(cfg, checkpoint)
    forward = model.forward

    def fixed_day(inputs, inputs_timestamps, **kwargs):
        timestamps = inputs_timestamps.clone()
        timestamps[..., 1] = day_value(DAY_NAMES.index(args.day))
        return forward(inputs, inputs_timestamps=timestamps, **kwargs)

    with torch.no_grad():
        for label, call in (("real day of week", forward), (f"every day read as {args.day}", fixed_day)):
            model.forward = call
            print(f"{key.slug}, {label}: " + ", ".join(
                f"{split} MAE {split_mae(cfg, model, mean, std, split):.3f}" for split in ("val", "test")), flush=True)


if __name__ == "__main__":
    main()
