"""The studies: ``stlora leaderboard``, ``compare``, ``summarize``, ``ablate``, ``sanity``, ``adapt``, ``sweep``."""
from __future__ import annotations

from .options import budget, csv_of, model_list, positive_int, reuse_option, study_options

__all__ = ["add_study_commands", "print_leaderboard"]


def print_leaderboard(markdown_file) -> None:
    """A leaderboard's closing tables (average MAE by dataset, efficiency) and where all its files are."""
    text = markdown_file.read_text(encoding="utf-8")
    start = text.index("## Average MAE by dataset")
    print("\n" + text[start:])
    print(f"tables, CSV, JSON and plots: {markdown_file.parent}")


def _cmd_leaderboard(args) -> None:
    from ..leaderboard.compare import run_leaderboard

    variants = ("plain", "stlora", "freeze") if args.freeze else ("plain", "stlora")
    files = run_leaderboard(args.datasets, args.models, args.seeds, budget(args), args.out, variants,
                            train=not args.report_only, reuse=args.reuse)
    print_leaderboard(files[0])


def _cmd_compare(args) -> None:
    from ..leaderboard.models import run_model_comparison

    files = run_model_comparison(args.dataset, args.models, args.reference or args.models[0], args.seeds,
                                 budget(args), args.out, train=not args.report_only)
    print(files[0].read_text(encoding="utf-8"))
    print(f"table, CSV, JSON and plot: {files[0].parent}")


def _cmd_summarize(args) -> None:
    from ..leaderboard.summary import write_summary

    out = write_summary(args.folders, args.out, args.variants)
    print(out.read_text(encoding="utf-8"))
    print(f"written: {out}")


def _cmd_ablate(args) -> None:
    from ..leaderboard.ablation import run_ablation

    files = run_ablation(args.datasets, args.models, args.seeds, budget(args), args.out, args.arms,
                         reuse=args.reuse, train=not args.report_only)
    print(files[0].read_text(encoding="utf-8"))


def _cmd_sanity(args) -> None:
    from ..leaderboard.sanity import run_sanity

    print(run_sanity(args.dataset, args.models, args.seed, budget(args), args.out).read_text(encoding="utf-8"))


def _cmd_adapt(args) -> None:
    from ..leaderboard.adapt import run_adaptation

    files = run_adaptation(args.model, args.source, args.target, args.shift, args.weeks, args.seeds, budget(args),
                           args.out, val_weeks=args.val_weeks, test_weeks=args.test_weeks,
                           train=not args.report_only)
    print(files[0].read_text(encoding="utf-8"))
    print(f"table, JSON and plot: {files[0].parent}")


def _cmd_sweep(args) -> None:
    from ..leaderboard.compare import run_sensitivity

    files = run_sensitivity(args.dataset, args.model, args.knob, args.values, args.seeds, budget(args), args.out)
    print(files[0].read_text(encoding="utf-8"))


def add_study_commands(commands) -> None:
    board = commands.add_parser("leaderboard", help="backbone vs backbone + ST-LoRA: tables and plots")
    board.add_argument("--datasets", type=csv_of(str), required=True, help="prepared dataset names, comma-separated")
    board.add_argument("--models", type=csv_of(str), required=True, help="e.g. STID,STGCN,GWNet")
    board.add_argument("--freeze", action="store_true", help="also train adapters on the frozen trained backbone")
    board.add_argument("--report-only", action="store_true", help="tables and plots of the runs finished so far")
    reuse_option(board)
    study_options(board)
    board.set_defaults(func=_cmd_leaderboard)

    compare = commands.add_parser("compare", help="any zoo models (e.g. ST-SepNet variants and backbones) against "
                                                  "a reference model, paired by seed: tables and a plot")
    compare.add_argument("--dataset", required=True)
    compare.add_argument("--models", type=model_list, required=True,
                         help="comma-separated zoo names, each optionally with settings: "
                              "STSepNet-mean,STSepNet-noLLM[gamma=0,gamma_learnable=False],GWNet")
    compare.add_argument("--reference", help="the model the others are paired against (default: the first)")
    compare.add_argument("--horizon", type=positive_int,
                         help="forecast this many steps from as many (default: the protocol's 12 -> 12; 48: the "
                              "ST-SepNet paper's)")
    compare.add_argument("--report-only", action="store_true", help="tables and plot of the runs finished so far")
    study_options(compare)
    compare.set_defaults(func=_cmd_compare)

    summarize = commands.add_parser("summarize", help="one table of the paired MAE difference of every (backbone, "
                                                      "dataset) pair over many leaderboard or ablation folders")
    summarize.add_argument("folders", nargs="+", help="leaderboard or ablation output folders, e.g. results/conv*")
    summarize.add_argument("--variants", type=csv_of(str), default=["stlora"],
                           help="arms paired against plain (default: stlora; e.g. stlora,shared_core,wide_backbone)")
    summarize.add_argument("--out", required=True, help="the markdown file to write (its plot: the same name, .png)")
    summarize.set_defaults(func=_cmd_summarize)

    ablate = commands.add_parser("ablate", help="ST-LoRA ablations: node-specificity, gate, lambda, K, capacity")
    ablate.add_argument("--datasets", type=csv_of(str), required=True)
    ablate.add_argument("--models", type=csv_of(str), required=True)
    ablate.add_argument("--arms", type=csv_of(str), help="subset of arms (default: all; see leaderboard/ablation.py)")
    ablate.add_argument("--report-only", action="store_true", help="tables and plot of the runs finished so far")
    reuse_option(ablate)
    study_options(ablate)
    ablate.set_defaults(func=_cmd_ablate)

    sanity = commands.add_parser("sanity", help="plain models (backbones, ST-SepNet variants) vs historical inertia (HI)")
    sanity.add_argument("--dataset", required=True)
    sanity.add_argument("--models", type=csv_of(str), required=True)
    sanity.add_argument("--seed", type=int, default=0)
    study_options(sanity)
    sanity.set_defaults(func=_cmd_sanity)

    adapt = commands.add_parser("adapt", help="adapt a trained backbone to a changed regime from its first weeks: "
                                              "none, ST-LoRA adapters, full fine-tuning, from scratch")
    adapt.add_argument("--model", required=True, help="a zoo backbone, e.g. STID")
    adapt.add_argument("--source", required=True, help="the dataset the backbone is trained on (e.g. 2019)")
    adapt.add_argument("--target", required=True, help="a dataset holding the new regime (prepared with its start)")
    adapt.add_argument("--shift", required=True, help="first day of the new regime, e.g. 2020-03-30")
    adapt.add_argument("--weeks", type=csv_of(int), default=[1, 2, 4], help="weeks K of the new regime to adapt on")
    adapt.add_argument("--val-weeks", type=positive_int, default=1, help="weeks after the K that choose the epoch")
    adapt.add_argument("--test-weeks", type=positive_int, default=4,
                       help="test weeks, the same for every K, after the longest K and its validation")
    adapt.add_argument("--report-only", action="store_true",
                       help="rewrite the report from the finished runs and the stored unadapted scores")
    study_options(adapt)
    adapt.set_defaults(func=_cmd_adapt)

    sweep = commands.add_parser("sweep", help="sensitivity of ST-LoRA to one knob")
    sweep.add_argument("--dataset", required=True)
    sweep.add_argument("--model", required=True)
    sweep.add_argument("--knob", required=True, choices=["rank", "layers", "predictors", "train_share",
                                                         "missing_share"])
    sweep.add_argument("--values", type=csv_of(float), required=True, help="e.g. 1,2,4,8 or 0.25,0.5,1")
    study_options(sweep)
    sweep.set_defaults(func=_cmd_sweep)
