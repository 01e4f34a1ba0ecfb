"""``stlora data prepare`` and ``stlora data list``."""
from __future__ import annotations

import json
from pathlib import Path

from .options import positive_int

__all__ = ["add_data_commands"]


def _cmd_data_prepare(args) -> None:
    from ..data import prepare

    options = {k: v for k, v in dict(adj=args.adj, step_minutes=args.step_minutes, start=args.start, key=args.key,
                                     channel=args.channel).items() if v is not None}
    result = prepare(args.format, args.raw_path, args.out, name=args.name, force=args.force, until=args.until,
                     **options)
    print(f"prepared {result.path}: {result.num_steps} steps x {result.num_nodes} nodes, "
          f"{result.step_minutes}-minute steps, NaN {100 * result.nan_share:.2f}%, zeros {100 * result.zero_share:.2f}%")


def _cmd_data_list(args) -> None:
    from ..runtime import datasets_root
    from ..runtime.protocol import unseen_days

    root = Path(args.root) if args.root else datasets_root()
    metas = sorted(root.glob("*/meta.json"))
    if not metas:
        print(f"no prepared datasets in {root} (prepare one with `stlora data prepare ...`)")
        return
    rows = [json.loads(path.read_text()) for path in metas]
    width = max(len("dataset"), *(len(meta["name"]) for meta in rows)) + 2
    print(f"{'dataset':<{width}}{'steps':>8}{'nodes':>7}{'step':>8}  graph  days of week unseen in training")
    for meta, path in zip(rows, metas):
        unseen = ", ".join(unseen_days(path.parent)) or "-"
        graph = "yes" if meta.get("has_graph") else "no"
        print(f"{meta['name']:<{width}}{meta['num_time_steps']:>8}{meta['num_vars']:>7}"
              f"{str(meta['frequency (minutes)']) + 'min':>8}  {graph:<5}  {unseen}")


def add_data_commands(commands) -> None:
    data = commands.add_parser("data", help="prepare and list datasets").add_subparsers(dest="data_command",
                                                                                         required=True)
    prep = data.add_parser("prepare", help="raw files -> a BasicTS dataset folder")
    prep.add_argument("format", choices=["pems", "metr", "nyc", "los-loop", "generic", "synthetic"])
    prep.add_argument("raw_path", nargs="?", help="raw file or folder (not needed for synthetic)")
    prep.add_argument("--out", help="folder that receives <NAME>/ (default: $STLORA_DATASETS or ./datasets)")
    prep.add_argument("--name", help="dataset name (default: from the raw files)")
    prep.add_argument("--force", action="store_true", help="overwrite an existing dataset")
    prep.add_argument("--adj", help="adjacency file (generic, nyc)")
    prep.add_argument("--step-minutes", type=positive_int, help="sampling interval in minutes (generic)")
    prep.add_argument("--start", help="ISO time of the first step (generic), for real time-of-day/day-of-week")
    prep.add_argument("--until", help="keep only the steps before this date or time, e.g. 2020-01-01 (NYC data "
                                      "before the COVID-19 collapse); the name gets '-until<date>'")
    prep.add_argument("--key", help="array key inside an .npz (generic)")
    prep.add_argument("--channel", type=int, help="channel of a [T, N, C] array (nyc: 0 inflow, 1 outflow)")
    prep.set_defaults(func=_cmd_data_prepare)
    listing = data.add_parser("list", help="show prepared datasets")
    listing.add_argument("--root", help="datasets folder (default: $STLORA_DATASETS or ./datasets)")
    listing.set_defaults(func=_cmd_data_list)
