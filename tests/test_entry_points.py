"""The two front doors of the command line: ``python -m coverage`` and the console entry ``cli.main:main``."""

from __future__ import annotations

import subprocess
import sys

from cli.main import main
from tests.conftest import PROJECT_ROOT

#: Runs ``python -m coverage circles`` with a Ctrl-C arriving while ``cli.main`` is being imported.
INTERRUPT_WHILE_LOADING = """
import runpy, sys
import coverage  # the engine package itself (numba) is loaded first, as ``python -m`` does


class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == "cli.main":
            raise KeyboardInterrupt
        return None


sys.meta_path.insert(0, CtrlC())
sys.argv = ["coverage", "circles", "--out", sys.argv[1]]
runpy.run_module("coverage", run_name="__main__", alter_sys=True)
"""


def test_ctrl_c_while_the_libraries_load_is_one_line_and_130(tmp_path):
    out = tmp_path / "c.gpkg"
    proc = subprocess.run(
        [sys.executable, "-c", INTERRUPT_WHILE_LOADING, str(out)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 130, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error: interrupted (Ctrl-C)"), proc.stderr
    assert not out.exists()


def test_console_entry_is_the_same_parser(capsys):
    assert main(["--help"]) == 0
    assert "circles" in capsys.readouterr().out
    assert main(["circles", "--minutes", "-3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "--minutes" in err[0]
