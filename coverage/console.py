"""The ``elderly-coverage`` console command (``[project.scripts]`` in pyproject.toml).

The same as ``python -m coverage``: SIGTERM removes temporaries on the way out, like Ctrl-C, and
the exit status is :func:`coverage.cli.main`'s. Once the command line lives in the top-level
``cli`` package, the entry point names ``cli.main:main`` and this shim goes.
"""

from __future__ import annotations

from collections.abc import Sequence

from coverage.cli import main as cli_main
from coverage.cli_errors import terminate_on_sigterm


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    terminate_on_sigterm()
    return cli_main(argv)
