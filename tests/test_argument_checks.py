"""Every argument and input problem of issue 10 through the front door (`coverage.cli.main`).

Each bad case: exit status 2, one line ``error: ...`` naming the CLI flag, no output written.
Each good ``--json`` run prints strict JSON (no NaN/Infinity).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from coverage.cli import main
from coverage.json_out import dumps
from coverage.pipeline import load_inputs, run_circles
from tests.conftest import shared_path

HELSINKI_GRID = ("helsinki", "helsinki_population_grid_2020.gpkg")


def fails(capsys, argv: list[str], out: Path | None = None) -> str:
    """Run the CLI expecting a bad-input stop; return the one error line."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    if out is not None:
        assert not out.exists(), f"{out} was written by a failed run"
    return lines[0]


def strict_json(text: str) -> dict:
    """Parse one JSON line, refusing NaN/Infinity like a strict parser (jq, JavaScript)."""

    def refuse(constant: str):
        raise AssertionError(f"invalid JSON constant {constant} in the --json line")

    return json.loads(text, parse_constant=refuse)


# ----- numeric flags ---------------------------------------------------------------------------
BAD_NUMBERS = [
    ("circles", "--minutes", "nan"),
    ("circles", "--minutes", "inf"),
    ("circles", "--minutes", "-inf"),
    ("circles", "--minutes", "0"),
    ("circles", "--minutes", "-5"),
    ("circles", "--minutes", "100000"),
    ("circles", "--minutes", "quarter"),
    ("circles", "--max-snap", "-1"),
    ("circles", "--max-snap", "nan"),
    ("circles", "--max-snap", "0"),
    ("circles", "--max-snap", "1e9"),
    ("circles", "--elderly-share", "nan"),
    ("circles", "--elderly-share", "1.5"),
    ("circles", "--elderly-share", "-0.2"),
    ("circles", "--speed", "nan"),
    ("circles", "--speed", "inf"),
    ("circles", "--speed", "4.5"),
    ("circles", "--speed", "-1"),
    ("check", "--persons-per-household", "nan"),
    ("check", "--persons-per-household", "0"),
    ("check", "--persons-per-household", "inf"),
    ("check", "--speed", "nan"),
    ("sites", "--minutes", "nan"),
    ("sites", "--minutes", "inf"),
    ("sites", "--max-snap", "-1"),
    ("sites", "--elderly-share", "inf"),
    ("sites", "--p", "nan"),
    ("sites", "--p", "0"),
    ("sites", "--p", "2.5"),
    ("sites", "--clusters", "-3"),
    ("sites", "--clusters", "inf"),
    ("sites", "--target-coverage", "nan"),
    ("sites", "--target-coverage", "90"),
    ("sites", "--cap-minutes", "inf"),
    ("sites", "--cap-minutes", "-1"),
    ("sites", "--time-limit", "nan"),
    ("sites", "--time-limit", "0"),
    ("sites", "--capacity", "nan"),
    ("sites", "--capacity", "inf"),
    ("sites", "--capacity", "-10"),
    ("sites", "--speed", "inf"),
]


@pytest.mark.parametrize(("command", "flag", "value"), BAD_NUMBERS)
def test_every_numeric_flag_is_checked(command, flag, value, capsys, tmp_path):
    out = tmp_path / ("report" if command == "check" else "result.gpkg")
    line = fails(capsys, [command, f"{flag}={value}", "--out", str(out), "--json"], out)
    assert line.startswith(f"error: {flag} must be"), line
    assert capsys.readouterr().out == ""


def test_max_snap_blames_the_flag_not_the_facilities(capsys, tmp_path):
    out = tmp_path / "c.gpkg"
    line = fails(capsys, ["circles", "--max-snap", "-1", "--out", str(out)], out)
    assert "--max-snap" in line and "facilit" not in line and "coordinate" not in line


def test_library_checks_minutes_and_max_snap_with_flag_and_keyword():
    inputs = load_inputs()
    for kwargs, name in (
        ({"minutes": float("nan")}, "--minutes (minutes=)"),
        ({"minutes": float("inf")}, "--minutes (minutes=)"),
        ({"max_snap_m": -1.0}, "--max-snap (max_snap_m=)"),
        ({"max_snap_m": float("nan")}, "--max-snap (max_snap_m=)"),
    ):
        with pytest.raises(ValueError, match=r"must be a finite number") as caught:
            run_circles(inputs, **kwargs)
        assert name in str(caught.value)


def test_json_lines_never_hold_nan_or_infinity():
    line = dumps({"a": float("nan"), "b": [np.float64("inf"), 1.5], "c": {"d": np.int64(3), "e": -math.inf}})
    assert strict_json(line) == {"a": None, "b": [None, 1.5], "c": {"d": 3, "e": None}}


def test_helsinki_real_grid_json_is_strict_and_edge_values_accepted(capsys, tmp_path):
    """Real data: the embedded Helsinki streets with the real HSY population grid."""
    grid = shared_path(*HELSINKI_GRID)
    out = tmp_path / "c.gpkg"
    argv = ["circles", "--population", str(grid), "--minutes", "30", "--elderly-share", "1", "--out", str(out), "--json"]
    assert main(argv) == 0
    summary = strict_json(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["minutes"] == 30
    assert summary["total_population"] > 1000  # the grid cells inside the embedded extract
    assert 0 < summary["covered_share"] <= 1
    assert summary["elderly_population"] == pytest.approx(summary["total_population"], rel=1e-6)
    assert out.exists()
