"""The ``stlora`` command: prepare data, train and evaluate BasicTS configs, run the demo.

User mistakes (a missing file, a bad option) end with one line on stderr and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time

__all__ = ["main"]

USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError, KeyError, TypeError)


def _cmd_data_prepare(args) -> None:
    from .data import prepare

    options = {k: v for k, v in dict(adj=args.adj, step_minutes=args.step_minutes, start=args.start, key=args.key,
                                     channel=args.channel).items() if v is not None}
    result = prepare(args.format, args.raw_path, args.out, name=args.name, force=args.force, **options)
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

    from .runtime import load_config_file

    cfg = load_config_file(args.config)
    if args.gpus is not None:
        cfg.gpus, cfg.gpu_num = args.gpus, len(args.gpus.split(","))
    BasicTSLauncher.launch_training(cfg)


def _cmd_eval(args) -> None:
    from basicts import BasicTSLauncher

    from .runtime import load_config_file

    cfg = load_config_file(args.config)
    BasicTSLauncher.launch_evaluation(cfg, args.checkpoint, gpus=args.gpus)


def _cmd_demo(args) -> None:
    from .leaderboard.demo import run_demo
    from .runtime import format_metrics

    start = time.time()
    metrics = run_demo(epochs=args.epochs, seed=args.seed)
    print(f"\nSTID on the built-in synthetic dataset, {args.epochs} epochs, seed {args.seed} "
          f"({time.time() - start:.0f} s), test set:")
    print(format_metrics(metrics))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stlora", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="prepare and list datasets").add_subparsers(dest="data_command",
                                                                                         required=True)
    prep = data.add_parser("prepare", help="raw files -> a BasicTS dataset folder")
    prep.add_argument("format", choices=["pems", "metr", "nyc", "los-loop", "generic", "synthetic"])
    prep.add_argument("raw_path", nargs="?", help="raw file or folder (not needed for synthetic)")
    prep.add_argument("--out", default="datasets", help="folder that receives <NAME>/ (default: ./datasets)")
    prep.add_argument("--name", help="dataset name (default: from the raw files)")
    prep.add_argument("--force", action="store_true", help="overwrite an existing dataset")
    prep.add_argument("--adj", help="adjacency file (generic, nyc)")
    prep.add_argument("--step-minutes", type=int, help="sampling interval in minutes (generic)")
    prep.add_argument("--start", help="ISO time of the first step (generic), for real time-of-day/day-of-week")
    prep.add_argument("--key", help="array key inside an .npz (generic)")
    prep.add_argument("--channel", type=int, help="channel of a [T, N, C] array (nyc: 0 inflow, 1 outflow)")
    prep.set_defaults(func=_cmd_data_prepare)
    listing = data.add_parser("list", help="show prepared datasets")
    listing.add_argument("--root", help="datasets folder (default: $STLORA_DATASETS or ./datasets)")
    listing.set_defaults(func=_cmd_data_list)

    train = commands.add_parser("train", help="train a BasicTS config file through BasicTSLauncher")
    train.add_argument("config", help="a .py file defining CFG")
    train.add_argument("--gpus", help="e.g. '0' or '0,1' (default: CPU)")
    train.set_defaults(func=_cmd_train)

    evaluate = commands.add_parser("eval", help="evaluate a checkpoint on the test split")
    evaluate.add_argument("config")
    evaluate.add_argument("checkpoint")
    evaluate.add_argument("--gpus")
    evaluate.set_defaults(func=_cmd_eval)

    demo = commands.add_parser("demo", help="the main job on the built-in synthetic dataset")
    demo.add_argument("--epochs", type=int, default=5)
    demo.add_argument("--seed", type=int, default=42)
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("stlora_plugin").setLevel(logging.INFO)
    try:
        args.func(args)
    except USER_ERRORS as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"stlora: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
