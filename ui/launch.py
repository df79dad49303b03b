"""The ``elderly-coverage-app`` console command: start the map app from an installed package.

In a checkout, ``scripts/demo.sh`` runs ``streamlit run app.py`` from the project root, where
``.streamlit/config.toml`` applies. An installed package has no project root to run from, so this
command finds the installed ``app.py`` beside the packages and passes the same settings as flags:
headless, no usage statistics, and a fixed address (no external-IP lookup).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

#: The settings of ``.streamlit/config.toml`` plus headless, as ``streamlit run`` flags.
STREAMLIT_FLAGS: tuple[str, ...] = (
    "--server.headless",
    "true",
    "--browser.gatherUsageStats",
    "false",
    "--browser.serverAddress",
    "localhost",
    "--client.toolbarMode",
    "viewer",
)


def app_path() -> Path:
    """The Streamlit page ``app.py``: beside the packages, in a checkout and in site-packages alike."""
    return Path(__file__).resolve().parents[1] / "app.py"


def streamlit_command(argv: Sequence[str] = ()) -> list[str]:
    """The ``python -m streamlit run app.py ...`` command; ``argv`` (e.g. ``--server.port 8502``) goes last."""
    return [sys.executable, "-m", "streamlit", "run", str(app_path()), *STREAMLIT_FLAGS, *argv]


def main(argv: Sequence[str] | None = None) -> int:
    """Replace this process with Streamlit serving the app (Ctrl+C stops it)."""
    command = streamlit_command(sys.argv[1:] if argv is None else argv)
    if not Path(command[4]).is_file():
        print(f"error: the app's page is missing: {command[4]}", file=sys.stderr)
        return 2
    print(f"Starting the map app (Ctrl+C to stop): {' '.join(command[1:5])}", flush=True)
    os.execv(sys.executable, command)
    return 0  # not reached: execv replaces the process
