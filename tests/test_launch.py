"""``ui.launch``: what it imports before the server opens, and the command it runs."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import PROJECT_ROOT
from ui.launch import PRELOADED_MODULES, STREAMLIT_FLAGS, app_path, streamlit_command


def test_preloading_declares_no_streamlit_component():
    # a component declared before the server's runtime exists is not registered: its map frame 404s
    code = (
        "import sys\n"
        "from ui.launch import preload\n"
        "preload()\n"
        "loaded = [m for m in sys.modules if m.startswith(('streamlit_folium', 'ui.tab_', 'ui.mapping'))]\n"
        "print(sorted(loaded))\n"
        "from ui.launch import PRELOADED_MODULES\n"
        "print([m for m in PRELOADED_MODULES if m not in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "[]"]  # no component declared; every module imported
    assert "coverage.pipeline" in PRELOADED_MODULES and "geopandas" in PRELOADED_MODULES


def test_command_serves_the_page_headless_without_a_file_watcher():
    command = streamlit_command(["--server.port", "8600"])
    assert command[1:5] == ["-m", "streamlit", "run", str(app_path())] and app_path().is_file()
    assert command[-2:] == ["--server.port", "8600"]
    flags = dict(zip(STREAMLIT_FLAGS[::2], STREAMLIT_FLAGS[1::2], strict=True))
    assert flags["--server.headless"] == "true" and flags["--server.fileWatcherType"] == "none"
    assert flags["--browser.gatherUsageStats"] == "false"
