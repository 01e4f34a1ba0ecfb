"""Argument types and checks that several ``stlora`` commands share; each turns a bad value into one line."""
from __future__ import annotations

import argparse

__all__ = ["budget", "check_gpus", "csv_of", "model_list", "positive_int", "reuse_option", "seed_list",
           "stlora_settings", "study_options"]


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got '{text}'") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {value}")
    return value


def seed_list(text: str) -> list[int]:
    try:
        seeds = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers (e.g. 0,1,2), got '{text}'") from None
    duplicates = sorted({s for s in seeds if seeds.count(s) > 1})
    if not seeds or duplicates:
        raise argparse.ArgumentTypeError(f"expected distinct seeds (e.g. 0,1,2), got '{text}'"
                                         + (f" (repeated: {duplicates})" if duplicates else ""))
    return seeds


def csv_of(kind):
    def parse(text: str) -> list:
        try:
            return [kind(x) for x in text.split(",") if x.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {kind.__name__} values, got '{text}'") from None
    return parse


def model_list(text: str) -> list[str]:
    from ..zoo import split_models

    models = split_models(text)
    if not models:
        raise argparse.ArgumentTypeError(f"expected comma-separated model names, got '{text}'")
    return models


def stlora_settings(items: list[str]) -> dict:
    """``--stlora KEY=VALUE ...`` as ``stlora_*`` config fields, each checked before anything trains."""
    from ..adapters.config import HYPERPARAMETERS, PREFIX, validate_hyperparameter
    from ..zoo import parse_value

    settings = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--stlora expects KEY=VALUE (e.g. rank=8), got '{item}'")
        name = key.removeprefix(PREFIX)
        if name not in HYPERPARAMETERS:
            raise ValueError(f"--stlora {key}: unknown setting; choose from {', '.join(HYPERPARAMETERS)}")
        value = parse_value(value)
        validate_hyperparameter(name, value, owner="--stlora")
        settings[PREFIX + name] = value
    return settings


def check_gpus(gpus: str | None) -> None:
    """``--gpus`` names CUDA devices this torch sees (None: the CPU, nothing to check)."""
    if gpus is None:
        return
    import torch

    if not torch.cuda.is_available():
        raise ValueError(f"--gpus {gpus}: this torch ({torch.__version__}) sees no CUDA device; drop --gpus to use "
                         "the CPU, or install a CUDA build (TORCH_SPEC / TORCH_INDEX in .ci/setup)")
    wanted = [int(g) for g in gpus.split(",") if g.strip().isdigit()]
    if len(wanted) != len(gpus.split(",")) or max(wanted) >= torch.cuda.device_count():
        raise ValueError(f"--gpus {gpus}: expected comma-separated device numbers below "
                         f"{torch.cuda.device_count()} (the CUDA devices this machine has)")


def budget(args):
    """The study options as the :class:`~stlora_plugin.leaderboard.sweep.Budget` every run of a study shares."""
    from ..leaderboard.sweep import Budget

    if not getattr(args, "report_only", False):  # tables of runs trained on GPUs need none
        check_gpus(args.gpus)
    return Budget(num_epochs=args.epochs, patience=args.patience, batch_size=args.batch_size,
                  stlora=args.stlora_settings, gpus=args.gpus, horizon=getattr(args, "horizon", None))


def study_options(p) -> None:
    """The options every comparison command shares."""
    p.add_argument("--seeds", type=seed_list, default=[0, 1, 2], help="comma-separated, distinct (default 0,1,2)")
    p.add_argument("--epochs", type=positive_int, default=10,
                   help="training epochs per run (with --patience: the most it trains)")
    p.add_argument("--patience", type=positive_int,
                   help="stop a run after this many epochs without a better validation MAE (default: none)")
    p.add_argument("--batch-size", type=positive_int,
                   help="one batch size for all runs (default: each model's recipe)")
    p.add_argument("--stlora", nargs="*", metavar="KEY=VALUE", help="ST-LoRA settings, e.g. rank=8 core=diagonal")
    p.add_argument("--out", required=True, help="folder for runs.jsonl, tables and plots (e.g. results/mine)")
    p.add_argument("--gpus", help="train every run on these GPUs, e.g. '0' or '0,1' (default: CPU); "
                                  "--batch-size is then per GPU process")
    p.add_argument("--verbose", action="store_true",
                   help="show BasicTS's output of every run (default: in each run's console.log)")


def reuse_option(p) -> None:
    p.add_argument("--reuse", type=csv_of(str), default=[], metavar="FOLDERS",
                   help="comparison folders whose runs with the same settings, budget and seed are copied instead "
                        "of trained again (e.g. a leaderboard's plain and ST-LoRA runs for an ablation)")
