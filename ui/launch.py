"""The ``elderly-coverage-app`` console command (and ``python -m ui.launch``): start the map app.

It finds ``app.py`` beside the packages (in a checkout and in site-packages alike) and passes the
settings of ``.streamlit/config.toml`` as flags: headless, no usage statistics, and a fixed address
(no external-IP lookup). Before the server opens, it imports the libraries and modules the page
needs (:data:`PRELOADED_MODULES`, ~1.3 s) in the server's own process, so the first visitor's page
does not wait for them (Streamlit runs ``app.py`` only when a browser connects); ``scripts/demo.sh``
starts the app this way.
"""

from __future__ import annotations

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
