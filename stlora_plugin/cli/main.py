"""The parser of every ``stlora`` command and the one place user mistakes become a line on stderr."""
from __future__ import annotations

import argparse
import logging
import sys

from .data import add_data_commands
from .options import stlora_settings
from .run import add_run_commands
from .studies import add_study_commands

__all__ = ["USER_ERRORS", "build_parser", "main"]

#: the exceptions that are the user's mistake: one line and exit status 2 (``--debug``: the traceback)
USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError)


class ConsoleHandler(logging.StreamHandler):
    """Log lines written above the progress bars (``tqdm.write``), not into the line of one."""

    def emit(self, record):
        from tqdm import tqdm

        try:
            tqdm.write(self.format(record), file=self.stream)
        except Exception:  # noqa: BLE001 - logging must never raise; it reports the failure its own way
            self.handleError(record)


class _Parser(argparse.ArgumentParser):
    """argparse, with a bad option reported as one line (and a pointer to --help) instead of the usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="stlora", description="prepare data, train and evaluate BasicTS configs, run the demo "
                                                "and the studies of ST-LoRA")
    parser.add_argument("--debug", action="store_true", help="show the traceback of user mistakes too")
    commands = parser.add_subparsers(dest="command", required=True)

    add_data_commands(commands)
    add_run_commands(commands)
    add_study_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s",
                        handlers=[ConsoleHandler()])
    logging.getLogger("stlora_plugin").setLevel(logging.INFO)
    try:
        if getattr(args, "verbose", False):
            from ..leaderboard.sweep import Sweep

            Sweep.verbose = True
        if hasattr(args, "stlora"):  # every setting checked before anything trains
            args.stlora_settings = stlora_settings(args.stlora)
        args.func(args)
    except USER_ERRORS as error:
        if args.debug:
            raise
        print(f"stlora: error: {error}", file=sys.stderr)
        return 2
    return 0
