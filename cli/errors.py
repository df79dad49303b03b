"""One line and an exit status for every way a command can fail; never a traceback.

=====================================================  ======
Failure                                                Status
=====================================================  ======
bad input or argument (:class:`InputError`, includes   2
``--out`` is an input / a folder / under a file /
a folder this tool did not write)
the environment refused (permission denied, disk       1
full, I/O error: :class:`WriteError`, other OSError)
standard output closed by its reader (broken pipe)     1
Ctrl-C (KeyboardInterrupt)                             130
SIGTERM (when :func:`terminate_on_sigterm` is on)      143
=====================================================  ======

Output files are never left half-written in any of these cases (see :mod:`coverage.safe_write`).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable

from coverage.safe_write import EXIT_WRITE_FAILURE, WriteError
from layers.errors import InputError

EXIT_INPUT_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM so that temporaries are removed on the way out."""


def terminate_on_sigterm() -> None:
    """Turn SIGTERM into :class:`Terminated` (for ``python -m coverage``; not for library use)."""

    def handler(signum, frame):  # noqa: ARG001 - the signal API
        raise Terminated()

    signal.signal(signal.SIGTERM, handler)


def _say(message: str) -> None:
    try:
        print(f"error: {message}", file=sys.stderr, flush=True)
    except (OSError, ValueError):  # stderr closed as well: nothing more can be said
        pass


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (tests capture stdout)
        pass


def run_reporting_errors(command: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a subcommand; print one ``error: ...`` line and return the status for any failure."""
    out = getattr(args, "out", None)
    try:
        status = command(args)
        sys.stdout.flush()  # a closed pipe shows here, not as a warning at interpreter exit
        return status
    except (InputError, ValueError) as exc:
        _say(str(exc))
        return EXIT_INPUT_ERROR
    except WriteError as exc:
        _say(str(exc))
        return EXIT_WRITE_FAILURE
    except BrokenPipeError:
        _silence_stdout()
        _say(f"standard output was closed by its reader (broken pipe); the result was written to '{out}'")
        return EXIT_WRITE_FAILURE
    except KeyboardInterrupt:
        _say(f"interrupted (Ctrl-C); '{out}' holds the earlier result or the whole new one, never a part")
        return EXIT_INTERRUPTED
    except Terminated:
        _say(f"terminated (SIGTERM); '{out}' holds the earlier result or the whole new one, never a part")
        return EXIT_TERMINATED
    except OSError as exc:
        where = f"'{exc.filename}': " if exc.filename else ""
        _say(f"{where}{exc.strerror or exc}")
        return EXIT_WRITE_FAILURE
