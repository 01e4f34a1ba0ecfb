"""The ``stlora`` command: prepare data, train and evaluate BasicTS configs, run the demo.

User mistakes (a missing file, a bad option or value) end with one line on stderr and exit status 2, checked
before anything trains; ``--debug`` shows their traceback too. Any other exception (a programming error in the
package or in a config file) keeps its traceback.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["main"]

USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError)


class ConsoleHandler(logging.StreamHandler):
    """Log lines written above the progress bars (``tqdm.write``), not into the line of one."""

    def emit(self, record):
        from tqdm import tqdm

        try:
            tqdm.write(self.format(record), file=self.stream)
        except Exception:  # noqa: BLE001 - logging must never raise; it reports the failure its own way
            self.handleError(record)


def _cmd_data_prepare(args) -> None:
    from .data import prepare

    options = {k: v for k, v in dict(adj=args.adj, step_minutes=args.step_minutes, start=args.start, key=args.key,
                                     channel=args.channel).items() if v is not None}
    result = prepare(args.format, args.raw_path, args.out, name=args.name, force=args.force, until=args.until,
                     **options)
    print(f"prepared {result.path}: {result.num_steps} steps x {result.num_nodes} nodes, "
          f"{result.step_minutes}-minute steps, NaN {100 * result.nan_share:.2f}%, zeros {100 * result.zero_share:.2f}%")


def _cmd_data_list(args) -> None:
    import json
    from pathlib import Path

    from .runtime import datasets_root

    root = Path(args.root) if args.root else datasets_root()
    metas = sorted(root.glob("*/meta.json"))
    if not metas:
        print(f"no prepared datasets in {root} (prepare one with `stlora data prepare ...`)")
        return
    print(f"{'dataset':<28}{'steps':>8}{'nodes':>7}{'step':>8}  graph")
    for path in metas:
        meta = json.loads(path.read_text())
        print(f"{meta['name']:<28}{meta['num_time_steps']:>8}{meta['num_vars']:>7}"
              f"{str(meta['frequency (minutes)']) + 'min':>8}  {'yes' if meta.get('has_graph') else 'no'}")


def _cmd_train(args) -> None:
    from basicts import BasicTSLauncher

    _check_gpus(args.gpus)
    if (args.config is None) == (args.model is None):
        raise ValueError("give either a config file or --model NAME --dataset NAME")
    cfg = _named_config(args) if args.model else _file_config(args)
    if args.gpus is not None:
        cfg.gpus, cfg.gpu_num = args.gpus, len(args.gpus.split(","))
    print(f"training {cfg.model.__name__} on {cfg.dataset_name}: checkpoints, cfg.json and the training log go to "
          f"{Path(cfg.ckpt_save_dir) / cfg.md5}")
    BasicTSLauncher.launch_training(cfg)


def _file_config(args):
    from .runtime import load_config_file

    extra = [name for name in ("dataset", "epochs", "seed", "patience") if getattr(args, name) is not None]
    if extra or args.stlora is not None:
        raise ValueError(f"--{', --'.join(extra or ['stlora'])} only go with --model; a config file sets its own")
    return load_config_file(args.config)


def _named_config(args):
    """The zoo's config for ``--model`` on ``--dataset``, with the recipe's settings unless given."""
    from . import zoo
    from .runtime import EarlyStopping

    if args.dataset is None:
        raise ValueError("--model needs --dataset NAME (a prepared dataset; see `stlora data list`)")
    overrides = {k: v for k, v in (("num_epochs", args.epochs), ("seed", args.seed)) if v is not None}
    if args.patience is not None:
        overrides["callbacks"] = [EarlyStopping(args.patience)]
    return zoo.named_experiment(args.model, args.dataset, stlora=args.stlora is not None,
                                model_overrides=args.stlora_settings or None, **overrides)


def _check_gpus(gpus: str | None) -> None:
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


def _cmd_eval(args) -> None:
    from basicts import BasicTSLauncher

    from .runtime import load_config_file
    from .runtime.forecast import load_checkpoint_model

    _check_gpus(args.gpus)
    if not Path(args.checkpoint).is_file():
        raise FileNotFoundError(f"checkpoint not found: {args.checkpoint}")
    cfg = load_config_file(args.config, finished_run=True)
    load_checkpoint_model(cfg, args.checkpoint)  # one line if it is another model's checkpoint
    BasicTSLauncher.launch_evaluation(cfg, args.checkpoint, gpus=args.gpus)


def _cmd_predict(args) -> None:
    from .runtime import load_config_file
    from .runtime.forecast import predict, save_predictions

    cfg = load_config_file(args.config, finished_run=True)
    arrays = predict(cfg, args.checkpoint, split=args.split)
    path = save_predictions(arrays, args.out)
    valid = ~np.isnan(arrays["target"]) & (arrays["target"] != arrays["null_val"])
    mae = np.abs(arrays["prediction"] - arrays["target"])[valid].mean()
    print(f"wrote {path}: {args.split} split, {arrays['prediction'].shape[0]} windows x {arrays['prediction'].shape[1]} "
          f"steps x {arrays['num_nodes']} nodes (prediction, target in the data's units); masked MAE {mae:.4f}")


def _print_summary(markdown_file) -> None:
    text = markdown_file.read_text(encoding="utf-8")
    start = text.index("## Average MAE by dataset")
    print("\n" + text[start:])
    print(f"tables, CSV, JSON and plots: {markdown_file.parent}")


def _cmd_demo(args) -> None:
    from .leaderboard.demo import run_demo

    _check_gpus(args.gpus)
    start = time.time()
    leaderboard = run_demo(epochs=args.epochs, seed=args.seed, out=args.out, gpus=args.gpus)
    print(f"\ndemo: STGCN and STID, plain vs +ST-LoRA, on the built-in synthetic dataset, {args.epochs} epochs, "
          f"seed {args.seed} ({time.time() - start:.0f} s)")
    _print_summary(leaderboard)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got '{text}'") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {value}")
    return value


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers (e.g. 0,1,2), got '{text}'") from None
    duplicates = sorted({s for s in seeds if seeds.count(s) > 1})
    if not seeds or duplicates:
        raise argparse.ArgumentTypeError(f"expected distinct seeds (e.g. 0,1,2), got '{text}'"
                                         + (f" (repeated: {duplicates})" if duplicates else ""))
    return seeds


def _csv(kind):
    def parse(text: str) -> list:
        try:
            return [kind(x) for x in text.split(",") if x.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {kind.__name__} values, got '{text}'") from None
    return parse


def _models(text: str) -> list[str]:
    from .zoo import split_models

    models = split_models(text)
    if not models:
        raise argparse.ArgumentTypeError(f"expected comma-separated model names, got '{text}'")
    return models


def _stlora_settings(items: list[str]) -> dict:
    """``--stlora KEY=VALUE ...`` as ``stlora_*`` config fields, each checked before anything trains."""
    from .adapters.config import HYPERPARAMETERS, PREFIX, validate_hyperparameter
    from .zoo import parse_value

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


def _budget(args):
    from .leaderboard.sweep import Budget

    if not getattr(args, "report_only", False):  # tables of runs trained on GPUs need none
        _check_gpus(args.gpus)
    return Budget(num_epochs=args.epochs, patience=args.patience, batch_size=args.batch_size,
                  stlora=args.stlora_settings, gpus=args.gpus, horizon=getattr(args, "horizon", None))


def _cmd_leaderboard(args) -> None:
    from .leaderboard.compare import run_leaderboard

    variants = ("plain", "stlora", "freeze") if args.freeze else ("plain", "stlora")
    files = run_leaderboard(args.datasets, args.models, args.seeds, _budget(args), args.out, variants,
                            train=not args.report_only, reuse=args.reuse)
    _print_summary(files[0])


def _cmd_compare(args) -> None:
    from .leaderboard.models import run_model_comparison

    files = run_model_comparison(args.dataset, args.models, args.reference or args.models[0], args.seeds,
                                 _budget(args), args.out, train=not args.report_only)
    print(files[0].read_text(encoding="utf-8"))
    print(f"table, CSV, JSON and plot: {files[0].parent}")


def _cmd_summarize(args) -> None:
    from .leaderboard.summary import write_summary

    out = write_summary(args.folders, args.out, args.variants)
    print(out.read_text(encoding="utf-8"))
    print(f"written: {out}")


def _cmd_ablate(args) -> None:
    from .leaderboard.ablation import run_ablation

    files = run_ablation(args.datasets, args.models, args.seeds, _budget(args), args.out, args.arms,
                         reuse=args.reuse, train=not args.report_only)
    print(files[0].read_text(encoding="utf-8"))


def _cmd_sanity(args) -> None:
    from .leaderboard.sanity import run_sanity

    print(run_sanity(args.dataset, args.models, args.seed, _budget(args), args.out).read_text(encoding="utf-8"))


def _cmd_adapt(args) -> None:
    from .leaderboard.adapt import run_adaptation

    files = run_adaptation(args.model, args.source, args.target, args.shift, args.weeks, args.seeds, _budget(args),
                           args.out, val_weeks=args.val_weeks, test_weeks=args.test_weeks,
                           train=not args.report_only)
    print(files[0].read_text(encoding="utf-8"))
    print(f"table, JSON and plot: {files[0].parent}")


def _cmd_sweep(args) -> None:
    from .leaderboard.compare import run_sensitivity

    files = run_sensitivity(args.dataset, args.model, args.knob, args.values, args.seeds, _budget(args), args.out)
    print(files[0].read_text(encoding="utf-8"))


class _Parser(argparse.ArgumentParser):
    """argparse, with a bad option reported as one line (and a pointer to --help) instead of the usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="stlora", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show the traceback of user mistakes too")
    commands = parser.add_subparsers(dest="command", required=True)

    _add_data_commands(commands)
    _add_run_commands(commands)
    _add_study_commands(commands)
    return parser


def _add_data_commands(commands) -> None:
    data = commands.add_parser("data", help="prepare and list datasets").add_subparsers(dest="data_command",
                                                                                         required=True)
    prep = data.add_parser("prepare", help="raw files -> a BasicTS dataset folder")
    prep.add_argument("format", choices=["pems", "metr", "nyc", "los-loop", "generic", "synthetic"])
    prep.add_argument("raw_path", nargs="?", help="raw file or folder (not needed for synthetic)")
    prep.add_argument("--out", help="folder that receives <NAME>/ (default: $STLORA_DATASETS or ./datasets)")
    prep.add_argument("--name", help="dataset name (default: from the raw files)")
    prep.add_argument("--force", action="store_true", help="overwrite an existing dataset")
    prep.add_argument("--adj", help="adjacency file (generic, nyc)")
    prep.add_argument("--step-minutes", type=_positive_int, help="sampling interval in minutes (generic)")
    prep.add_argument("--start", help="ISO time of the first step (generic), for real time-of-day/day-of-week")
    prep.add_argument("--until", help="keep only the steps before this date or time, e.g. 2020-01-01 (NYC data "
                                      "before the COVID-19 collapse); the name gets '-until<date>'")
    prep.add_argument("--key", help="array key inside an .npz (generic)")
    prep.add_argument("--channel", type=int, help="channel of a [T, N, C] array (nyc: 0 inflow, 1 outflow)")
    prep.set_defaults(func=_cmd_data_prepare)
    listing = data.add_parser("list", help="show prepared datasets")
    listing.add_argument("--root", help="datasets folder (default: $STLORA_DATASETS or ./datasets)")
    listing.set_defaults(func=_cmd_data_list)


def _add_run_commands(commands) -> None:
    train = commands.add_parser("train", help="train a BasicTS config file, or a zoo model by name, through "
                                              "BasicTSLauncher")
    train.add_argument("config", nargs="?", help="a .py file defining CFG (or use --model and --dataset)")
    train.add_argument("--model", help="a zoo model: STID, LSTM, STGCN, GWNet, AGCRN, D2STGNN, STAEformer, STSepNet...")
    train.add_argument("--dataset", help="a prepared dataset name (with --model)")
    train.add_argument("--stlora", nargs="*", metavar="KEY=VALUE",
                       help="wrap the model in ST-LoRA (default preset), optionally with settings, e.g. rank=8")
    train.add_argument("--epochs", type=_positive_int, help="training epochs (default: the recipe's 100)")
    train.add_argument("--patience", type=_positive_int, help="stop after this many epochs without a better "
                                                               "validation MAE")
    train.add_argument("--seed", type=int, help="random seed (default: BasicTS's)")
    train.add_argument("--gpus", help="e.g. '0' or '0,1' (default: CPU)")
    train.set_defaults(func=_cmd_train)

    evaluate = commands.add_parser("eval", help="evaluate a checkpoint on the test split")
    evaluate.add_argument("config")
    evaluate.add_argument("checkpoint")
    evaluate.add_argument("--gpus")
    evaluate.set_defaults(func=_cmd_eval)

    forecast = commands.add_parser("predict", help="a checkpoint's forecasts of a split, as an .npz")
    forecast.add_argument("config")
    forecast.add_argument("checkpoint")
    forecast.add_argument("--out", required=True, help="the .npz to write (prediction, target, window start times)")
    forecast.add_argument("--split", choices=["test", "val", "train"], default="test")
    forecast.set_defaults(func=_cmd_predict)

    demo = commands.add_parser("demo", help="the main job: a small comparison on the built-in synthetic dataset")
    demo.add_argument("--epochs", type=_positive_int, default=2)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--out", default="checkpoints/demo", help="where runs, tables and plots go")
    demo.add_argument("--gpus", help="e.g. '0' (default: CPU)")
    demo.add_argument("--verbose", action="store_true", help="show BasicTS's output of every run")
    demo.set_defaults(func=_cmd_demo)


def _study_options(p) -> None:
    """The options every comparison command shares."""
    p.add_argument("--seeds", type=_seeds, default=[0, 1, 2], help="comma-separated, distinct (default 0,1,2)")
    p.add_argument("--epochs", type=_positive_int, default=10,
                   help="training epochs per run (with --patience: the most it trains)")
    p.add_argument("--patience", type=_positive_int,
                   help="stop a run after this many epochs without a better validation MAE (default: none)")
    p.add_argument("--batch-size", type=_positive_int,
                   help="one batch size for all runs (default: each model's recipe)")
    p.add_argument("--stlora", nargs="*", metavar="KEY=VALUE", help="ST-LoRA settings, e.g. rank=8 core=diagonal")
    p.add_argument("--out", required=True, help="folder for runs.jsonl, tables and plots (e.g. results/mine)")
    p.add_argument("--gpus", help="train every run on these GPUs, e.g. '0' or '0,1' (default: CPU); "
                                  "--batch-size is then per GPU process")
    p.add_argument("--verbose", action="store_true",
                   help="show BasicTS's output of every run (default: in each run's console.log)")


def _reuse_option(p) -> None:
    p.add_argument("--reuse", type=_csv(str), default=[], metavar="FOLDERS",
                   help="comparison folders whose runs with the same settings, budget and seed are copied instead "
                        "of trained again (e.g. a leaderboard's plain and ST-LoRA runs for an ablation)")


def _add_study_commands(commands) -> None:
    board = commands.add_parser("leaderboard", help="backbone vs backbone + ST-LoRA: tables and plots")
    board.add_argument("--datasets", type=_csv(str), required=True, help="prepared dataset names, comma-separated")
    board.add_argument("--models", type=_csv(str), required=True, help="e.g. STID,STGCN,GWNet")
    board.add_argument("--freeze", action="store_true", help="also train adapters on the frozen trained backbone")
    board.add_argument("--report-only", action="store_true", help="tables and plots of the runs finished so far")
    _reuse_option(board)
    _study_options(board)
    board.set_defaults(func=_cmd_leaderboard)

    compare = commands.add_parser("compare", help="any zoo models (e.g. ST-SepNet variants and backbones) against "
                                                  "a reference model, paired by seed: tables and a plot")
    compare.add_argument("--dataset", required=True)
    compare.add_argument("--models", type=_models, required=True,
                         help="comma-separated zoo names, each optionally with settings: "
                              "STSepNet-mean,STSepNet-noLLM[gamma=0,gamma_learnable=False],GWNet")
    compare.add_argument("--reference", help="the model the others are paired against (default: the first)")
    compare.add_argument("--horizon", type=_positive_int,
                         help="forecast this many steps from as many (default: the protocol's 12 -> 12; 48: the "
                              "ST-SepNet paper's)")
    compare.add_argument("--report-only", action="store_true", help="tables and plot of the runs finished so far")
    _study_options(compare)
    compare.set_defaults(func=_cmd_compare)

    summarize = commands.add_parser("summarize", help="one table of the paired MAE difference of every (backbone, "
                                                      "dataset) pair over many leaderboard or ablation folders")
    summarize.add_argument("folders", nargs="+", help="leaderboard or ablation output folders, e.g. results/conv*")
    summarize.add_argument("--variants", type=_csv(str), default=["stlora"],
                           help="arms paired against plain (default: stlora; e.g. stlora,shared_core,wide_backbone)")
    summarize.add_argument("--out", required=True, help="the markdown file to write")
    summarize.set_defaults(func=_cmd_summarize)

    ablate = commands.add_parser("ablate", help="ST-LoRA ablations: node-specificity, gate, lambda, K, capacity")
    ablate.add_argument("--datasets", type=_csv(str), required=True)
    ablate.add_argument("--models", type=_csv(str), required=True)
    ablate.add_argument("--arms", type=_csv(str), help="subset of arms (default: all; see leaderboard/ablation.py)")
    ablate.add_argument("--report-only", action="store_true", help="tables and plot of the runs finished so far")
    _reuse_option(ablate)
    _study_options(ablate)
    ablate.set_defaults(func=_cmd_ablate)

    sanity = commands.add_parser("sanity", help="plain models (backbones, ST-SepNet variants) vs historical inertia (HI)")
    sanity.add_argument("--dataset", required=True)
    sanity.add_argument("--models", type=_csv(str), required=True)
    sanity.add_argument("--seed", type=int, default=0)
    _study_options(sanity)
    sanity.set_defaults(func=_cmd_sanity)

    adapt = commands.add_parser("adapt", help="adapt a trained backbone to a changed regime from its first weeks: "
                                              "none, ST-LoRA adapters, full fine-tuning, from scratch")
    adapt.add_argument("--model", required=True, help="a zoo backbone, e.g. STID")
    adapt.add_argument("--source", required=True, help="the dataset the backbone is trained on (e.g. 2019)")
    adapt.add_argument("--target", required=True, help="a dataset holding the new regime (prepared with its start)")
    adapt.add_argument("--shift", required=True, help="first day of the new regime, e.g. 2020-03-30")
    adapt.add_argument("--weeks", type=_csv(int), default=[1, 2, 4], help="weeks K of the new regime to adapt on")
    adapt.add_argument("--val-weeks", type=_positive_int, default=1, help="weeks after the K that choose the epoch")
    adapt.add_argument("--test-weeks", type=_positive_int, default=4,
                       help="test weeks, the same for every K, after the longest K and its validation")
    adapt.add_argument("--report-only", action="store_true",
                       help="rewrite the report from the finished runs and the stored unadapted scores")
    _study_options(adapt)
    adapt.set_defaults(func=_cmd_adapt)

    sweep = commands.add_parser("sweep", help="sensitivity of ST-LoRA to one knob")
    sweep.add_argument("--dataset", required=True)
    sweep.add_argument("--model", required=True)
    sweep.add_argument("--knob", required=True, choices=["rank", "layers", "predictors", "train_share",
                                                         "missing_share"])
    sweep.add_argument("--values", type=_csv(float), required=True, help="e.g. 1,2,4,8 or 0.25,0.5,1")
    _study_options(sweep)
    sweep.set_defaults(func=_cmd_sweep)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s",
                        handlers=[ConsoleHandler()])
    logging.getLogger("stlora_plugin").setLevel(logging.INFO)
    try:
        if getattr(args, "verbose", False):
            from .leaderboard.sweep import Sweep

            Sweep.verbose = True
        if hasattr(args, "stlora"):  # every setting checked before anything trains
            args.stlora_settings = _stlora_settings(args.stlora)
        args.func(args)
    except USER_ERRORS as error:
        if args.debug:
            raise
        print(f"stlora: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
