"""``python -m coverage circles|check|sites``: the parser and the dispatcher (console entry :func:`main`).

Every command is a thin shell over a library function (:mod:`cli.circles`, :mod:`cli.check`,
:mod:`cli.sites`). Errors in the inputs print one line naming the file, layer and field and exit
with status 2; see :mod:`cli.errors` for the other statuses.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from cli.batch import add_batch_parser, run_batch_command
from cli.check import add_check_parser, run_check_command
from cli.circles import add_circles_parser, run_circles_command
from cli.errors import EXIT_INPUT_ERROR, run_reporting_errors, terminate_on_sigterm
from cli.numbers import OneLineParser
from cli.sites import add_sites_parser, run_sites_command


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``python -m coverage``."""
    parser = OneLineParser(prog="python -m coverage", description="Elderly-care walking coverage planner")
    sub = parser.add_subparsers(dest="command", required=True)
    add_circles_parser(sub)
    add_check_parser(sub)
    add_sites_parser(sub)
    add_batch_parser(sub)
    return parser


COMMANDS = {
    "circles": run_circles_command, "check": run_check_command, "sites": run_sites_command, "batch": run_batch_command,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point (console command ``cli.main:main``); returns the exit status (see :mod:`cli.errors`).

    Called without ``argv`` (the installed command), SIGTERM first learns to remove temporaries
    on the way out, like Ctrl-C.
    """
    if argv is None:
        terminate_on_sigterm()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a bad argument (one line printed, status 2) or --help (0)
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT_ERROR
    command = COMMANDS.get(args.command)
    if command is None:
        parser.error(f"unknown command {args.command}")
        return EXIT_INPUT_ERROR
    return run_reporting_errors(command, args)
