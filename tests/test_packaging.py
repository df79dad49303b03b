"""``pip install .`` gives a working console command, outside the checkout.

The wheel is built from a copy of the checkout's files (tracked and new, not ignored ones), installed
with ``--no-deps`` into a fresh venv that sees this environment's already-installed dependencies
through a ``.pth`` file (nothing is downloaded), and run with the working directory in ``tmp_path``
so that nothing is imported from the checkout. The embedded defaults (demo sites, demo townships,
rule files, translations, Leaflet) must come from the installed files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, SHARED_DATA

PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _source_files() -> list[str]:
    """The checkout's files a clean clone would hold (plus new, not ignored ones), relative paths."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:
        pytest.skip(f"not a git checkout: {listed.stderr.decode(errors='replace').strip()}")
    names = [n for n in listed.stdout.decode().split("\0") if n and not n.startswith(".venv")]
    return [n for n in names if (PROJECT_ROOT / n).is_file()]


def _has_modern_setuptools() -> bool:
    """True when this environment can build the wheel itself (no download of the build backend)."""
    try:
        import setuptools
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= 77


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the project's wheel installed; returns the venv folder."""
    work = tmp_path_factory.mktemp("packaging")
    source = work / "source"
    for name in _source_files():
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_ROOT / name, target)
    dist = work / "dist"
    # with a recent setuptools here, build offline; else pip fetches the build backend from PyPI
    isolation = ["--no-build-isolation"] if _has_modern_setuptools() else []
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-q", "-w", str(dist), str(source)],
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    wheels = list(dist.glob("elderly_coverage-*.whl"))
    assert len(wheels) == 1, wheels

    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    new_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # This environment's packages (dependencies, and pip to install with), after the venv's own:
    # an `import` line in a .pth runs, and addsitedir also reads that folder's own .pth files.
    ours = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    lines = [f"import site; site.addsitedir({path!r})" for path in ours]
    (Path(new_site) / "zz_project_dependencies.pth").write_text("\n".join(lines) + "\n", encoding="utf-8")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheels[0])],
        capture_output=True,
        text=True,
        env=_clean_env(),
        cwd=work,
        timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    return venv


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, env=_clean_env(), timeout=600)


def test_console_command_runs_circles_outside_the_checkout(installed, tmp_path):
    command = installed / "bin" / "elderly-coverage"
    assert command.is_file(), "pip did not create the console command"
    # the embedded default: the installed Nanjing extract, its buildings and its DEMO sites
    args = [str(command), "circles", "--json", "--out", str(tmp_path / "out" / "circles.gpkg")]
    done = _run(args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["facilities"] == 5 and summary["demo_facilities"] is True  # the installed demo sites
    assert "nanjing_xuanwu.osm.pbf" in summary["sources"]["network"] and "ODbL" in summary["sources"]["network"]
    assert 0 < summary["covered_population"] <= summary["total_population"]
    assert 0 < summary["covered_share"] < 1
    assert (tmp_path / "out" / "circles.gpkg").stat().st_size > 0
    # the same numbers as the checkout's `python -m coverage` on the same inputs
    here_args = [str(tmp_path / "checkout.gpkg") if a == args[4] else a for a in args[1:]]  # another --out
    here_run = subprocess.run(
        [sys.executable, "-m", "coverage", *here_args], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=600
    )
    assert here_run.returncode == 0, here_run.stderr
    here = json.loads(here_run.stdout)
    numbers = {k for k, v in summary.items() if isinstance(v, int | float) and k != "seconds"}
    assert {k: summary[k] for k in numbers} == {k: here[k] for k in numbers}
    assert summary["covered_share_by_speed"] == here["covered_share_by_speed"]
    # the second embedded choice: Helsinki with the installed HSY population grid
    helsinki = _run([str(command), "circles", "--embedded", "helsinki", "--json", "--out", str(tmp_path / "h.gpkg")], cwd=tmp_path)
    assert helsinki.returncode == 0, helsinki.stderr
    found = json.loads(helsinki.stdout)
    assert found["facilities"] == 4 and "HSY" in found["sources"]["population"]
    grid = SHARED_DATA / "helsinki" / "helsinki_population_grid_2020.gpkg"
    if grid.is_file():  # the same numbers as the real grid given by hand in the checkout
        by_hand = subprocess.run(
            [sys.executable, "-m", "coverage", "circles", "--embedded", "helsinki", "--population", str(grid), "--json",
             "--out", str(tmp_path / "h2.gpkg")], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=600,
        )
        assert by_hand.returncode == 0, by_hand.stderr
        assert json.loads(by_hand.stdout)["covered_population"] == found["covered_population"]


def test_installed_files_come_from_the_venv(installed, tmp_path):
    code = (
        "import importlib.util, json, coverage, analysis.rules as r, ui.i18n as i, ui.map_assets as m\n"
        "print(json.dumps({'coverage': coverage.__file__, 'version': coverage.__version__,\n"
        "  'rules': r.available_rule_sets(), 'rules_dir': str(r.RULES_DIR), 'zh': str(i.ZH_FILE),\n"
        "  'zh_ok': i.translate('Map', 'zh') != 'Map', 'leaflet': m.LEAFLET_DIR.is_dir(),\n"
        "  'app': importlib.util.find_spec('app').origin}))\n"
    )
    done = _run([str(installed / "bin" / "python"), "-c", code], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    prefix = str(installed.resolve())
    for key in ("coverage", "rules_dir", "zh", "app"):
        assert str(Path(found[key]).resolve()).startswith(prefix), (key, found[key])
    assert found["version"] == PYPROJECT["project"]["version"]  # from the installed metadata
    assert {"jilin-2023", "hebei-2022", "national"} <= set(found["rules"])
    assert found["zh_ok"] and found["leaflet"]


def test_installed_check_and_module_help(installed, tmp_path):
    python = str(installed / "bin" / "python")
    done = _run([python, "-m", "coverage", "--help"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "circles" in done.stdout and "check" in done.stdout and "sites" in done.stdout
    # check on the embedded default: the installed rule file and demo townships are read
    done = _run([python, "-m", "coverage", "check", "--json", "--out", str(tmp_path / "report")], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["rule_set"] == "jilin-2023"
    t1 = result["rules"]["T1"]  # township centres: assessed on the demo townships shipped in data/
    assert t1["assessed"] > 0 and t1["not_assessable"] == 0, t1
    assert (tmp_path / "report" / "report.html").is_file()


def test_console_command_reports_bad_input_in_one_line(installed, tmp_path):
    done = _run([str(installed / "bin" / "elderly-coverage"), "circles", "--minutes", "nan", "--out", "x.gpkg"], cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_app_command_serves_the_installed_app(installed, tmp_path):
    import time
    import urllib.request

    port = _free_port()
    command = [str(installed / "bin" / "elderly-coverage-app"), "--server.port", str(port)]
    server = subprocess.Popen(command, cwd=tmp_path, env=_clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, health = time.monotonic() + 90, None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                    health = response.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        assert health == "ok", f"the app did not start: {server.poll()}"
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert f"{installed.resolve()}/lib/" in output and "app.py" in output  # the installed page, not the checkout's
    # the installed page itself runs on the embedded default, outside the checkout
    code = (
        "from streamlit.testing.v1 import AppTest\n"
        "from ui.launch import app_path\n"
        "at = AppTest.from_file(str(app_path()), default_timeout=300).run()\n"
        "assert not at.exception, [e.message for e in at.exception]\n"
        "print(str(app_path()), [m.label for m in at.metric])\n"
    )
    done = _run([str(installed / "bin" / "python"), "-c", code], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert str(installed.resolve()) in str(Path(done.stdout.split()[0]).resolve())
    assert "Covered population" in done.stdout
