"""The ``elderly-coverage-app`` console command (and ``python -m ui.launch``): start the map app.

It finds ``app.py`` beside the packages (in a checkout and in site-packages alike) and passes the
settings of ``.streamlit/config.toml`` as flags: headless, no usage statistics, and a fixed address
(no external-IP lookup). Before the server opens, it imports the libraries and modules the page
needs (:data:`PRELOADED_MODULES`, ~1.3 s) in the server's own process, so the first visitor's page
does not wait for them (Streamlit runs ``app.py`` only when a browser connects); ``scripts/demo.sh``
starts the app this way.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

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
    "--server.fileWatcherType",
    "none",
)


#: Imported before the server opens: the third-party stack and the engine, nothing that declares a
#: Streamlit component (streamlit_folium, ``ui.*``): a component declared before the server's runtime
#: exists is not registered with it, and its frame answers 404.
PRELOADED_MODULES: tuple[str, ...] = (
    "geopandas",
    "shapely",
    "pyogrio",
    "folium",
    "scipy.sparse.csgraph",
    "numba",
    "coverage.pipeline",
    "coverage.kernels",
    "analysis.report",
)


def preload(modules: Sequence[str] = PRELOADED_MODULES) -> None:
    """Import ``modules`` now (a module that fails to import is left for the page to report)."""
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the page shows the real error to the planner
            pass


def app_path() -> Path:
    """The Streamlit page ``app.py``: beside the packages, in a checkout and in site-packages alike."""
    return Path(__file__).resolve().parents[1] / "app.py"


def streamlit_command(argv: Sequence[str] = ()) -> list[str]:
    """The ``python -m streamlit run app.py ...`` command; ``argv`` (e.g. ``--server.port 8502``) goes last."""
    return [sys.executable, "-m", "streamlit", "run", str(app_path()), *STREAMLIT_FLAGS, *argv]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def background_app(log: BinaryIO, *, start_s: float = 60.0, cwd: Path | None = None) -> Iterator[str]:
    """Serve the app as :func:`main` does, in a child process (own process group) on a free local port.

    Waits for Streamlit's health check (at most ``start_s`` seconds), yields the app's URL, and
    always stops the process group (SIGTERM, then SIGKILL after 10 s). Used by the browser tests
    and the responsiveness benchmark, so both drive the app exactly as a planner starts it.

    Raises
    ------
    RuntimeError
        The app exited or did not answer in time (the message ends with the log's last lines).
    """
    port = free_port()
    command = [sys.executable, "-m", "ui.launch", "--server.port", str(port), "--server.address", "127.0.0.1"]
    proc = subprocess.Popen(command, cwd=cwd or app_path().parent, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def tail() -> str:
        log.flush()
        return Path(log.name).read_text(errors="replace")[-2000:]

    try:
        deadline = time.monotonic() + start_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the app exited with {proc.returncode}: {tail()}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the app did not answer within {start_s:g} s: {tail()}")
            time.sleep(0.3)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def main(argv: Sequence[str] | None = None) -> int:
    """Preload the page's modules, then run Streamlit serving the app in this process (Ctrl+C stops it)."""
    command = streamlit_command(sys.argv[1:] if argv is None else argv)
    if not Path(command[4]).is_file():
        print(f"error: the app's page is missing: {command[4]}", file=sys.stderr)
        return 2
    print(f"Starting the map app (Ctrl+C to stop): {' '.join(command[1:5])}", flush=True)
    sys.path.insert(0, str(app_path().parent))  # the page's packages, as `streamlit run` would add
    preload()
    from streamlit.web import cli as streamlit_cli

    sys.argv = ["streamlit", *command[3:]]
    try:
        streamlit_cli.main()  # a click command: it ends with SystemExit
    except SystemExit as done:
        return int(done.code or 0) if not isinstance(done.code, str) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
