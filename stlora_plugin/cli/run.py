"""``stlora train``, ``eval``, ``predict`` and ``demo``: one model or config through BasicTS's launcher."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .options import check_gpus, positive_int
from .studies import print_leaderboard

__all__ = ["add_run_commands"]


def _cmd_train(args) -> None:
    from basicts import BasicTSLauncher

    check_gpus(args.gpus)
    if (args.config is None) == (args.model is None):
        raise ValueError("give either a config file or --model NAME --dataset NAME")
    cfg = _named_config(args) if args.model else _file_config(args)
    if args.gpus is not None:
        cfg.gpus, cfg.gpu_num = args.gpus, len(args.gpus.split(","))
    print(f"training {cfg.model.__name__} on {cfg.dataset_name}: checkpoints, cfg.json and the training log go to "
          f"{Path(cfg.ckpt_save_dir) / cfg.md5}")
    BasicTSLauncher.launch_training(cfg)


def _file_config(args):
    from ..runtime import load_config_file

    extra = [name for name in ("dataset", "epochs", "seed", "patience") if getattr(args, name) is not None]
    if extra or args.stlora is not None:
        raise ValueError(f"--{', --'.join(extra or ['stlora'])} only go with --model; a config file sets its own")
    return load_config_file(args.config)


def _named_config(args):
    """The zoo's config for ``--model`` on ``--dataset``, with the recipe's settings unless given."""
    from .. import zoo
    from ..runtime import EarlyStopping

    if args.dataset is None:
        raise ValueError("--model needs --dataset NAME (a prepared dataset; see `stlora data list`)")
    overrides = {k: v for k, v in (("num_epochs", args.epochs), ("seed", args.seed)) if v is not None}
    if args.patience is not None:
        overrides["callbacks"] = [EarlyStopping(args.patience)]
    return zoo.named_experiment(args.model, args.dataset, stlora=args.stlora is not None,
                                model_overrides=args.stlora_settings or None, **overrides)


def _cmd_eval(args) -> None:
    from basicts import BasicTSLauncher

    from ..runtime import load_config_file
    from ..runtime.forecast import load_checkpoint_model

    check_gpus(args.gpus)
    if not Path(args.checkpoint).is_file():
        raise FileNotFoundError(f"checkpoint not found: {args.checkpoint}")
    cfg = load_config_file(args.config, finished_run=True)
    load_checkpoint_model(cfg, args.checkpoint)  # one line if it is another model's checkpoint
    BasicTSLauncher.launch_evaluation(cfg, args.checkpoint, gpus=args.gpus)


def _cmd_predict(args) -> None:
    from ..runtime import load_config_file
    from ..runtime.forecast import predict, save_predictions

    cfg = load_config_file(args.config, finished_run=True)
    arrays = predict(cfg, args.checkpoint, split=args.split)
    path = save_predictions(arrays, args.out)
    valid = ~np.isnan(arrays["target"]) & (arrays["target"] != arrays["null_val"])
    mae = np.abs(arrays["prediction"] - arrays["target"])[valid].mean()
    print(f"wrote {path}: {args.split} split, {arrays['prediction'].shape[0]} windows x {arrays['prediction'].shape[1]} "
          f"steps x {arrays['num_nodes']} nodes (prediction, target in the data's units); masked MAE {mae:.4f}")


def _cmd_demo(args) -> None:
    from ..leaderboard.demo import run_demo

    check_gpus(args.gpus)
    start = time.time()
    leaderboard = run_demo(epochs=args.epochs, seed=args.seed, out=args.out, gpus=args.gpus)
    print(f"\ndemo: STGCN and STID, plain vs +ST-LoRA, on the built-in synthetic dataset, {args.epochs} epochs, "
          f"seed {args.seed} ({time.time() - start:.0f} s)")
    print_leaderboard(leaderboard)


def add_run_commands(commands) -> None:
    train = commands.add_parser("train", help="train a BasicTS config file, or a zoo model by name, through "
                                              "BasicTSLauncher")
    train.add_argument("config", nargs="?", help="a .py file defining CFG (or use --model and --dataset)")
    train.add_argument("--model", help="a zoo model: STID, LSTM, STGCN, GWNet, AGCRN, D2STGNN, STAEformer, STSepNet...")
    train.add_argument("--dataset", help="a prepared dataset name (with --model)")
    train.add_argument("--stlora", nargs="*", metavar="KEY=VALUE",
                       help="wrap the model in ST-LoRA (default preset), optionally with settings, e.g. rank=8")
    train.add_argument("--epochs", type=positive_int, help="training epochs (default: the recipe's 100)")
    train.add_argument("--patience", type=positive_int, help="stop after this many epochs without a better "
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
    demo.add_argument("--epochs", type=positive_int, default=2)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--out", default="checkpoints/demo", help="where runs, tables and plots go")
    demo.add_argument("--gpus", help="e.g. '0' (default: CPU)")
    demo.add_argument("--verbose", action="store_true", help="show BasicTS's output of every run")
    demo.set_defaults(func=_cmd_demo)
