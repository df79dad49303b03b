"""``--nodata-as-zero``: nodata cells inside the population rasters' extent read as 0 people.

WorldPop marks rivers and lakes nodata. By default no data is not 0 people: a network window or a
batch area whose raster cells are all nodata fails ("outside the population data"). With the
explicit option the planner says nobody lives there: such a place is a valid result of 0 people
(``batch``: ``done``, population 0, a note saying its cells are nodata read as 0 people), while a
place outside the rasters' extent still fails naming the file. Through the command line, on a
synthetic raster with a nodata block and on the real Wuhan WorldPop 60+ bands (the Yangtze is
nodata in them).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin
from scipy.ndimage import minimum_filter
from shapely.geometry import Point, box

from analysis.batch.area_job import NO_RESIDENTS_NOTE, NODATA_AS_ZERO_NOTE
from analysis.batch.task import BatchParams
from cli.main import main
from layers.population_raster import read_population_raster
from tests.batch_support import run_batch_json, wuhan_case
from tests.conftest import PROJECT_ROOT, shared_path

NODATA = -9999.0
#: Synthetic raster: 40 × 40 cells of 0.001° from (114.0, 30.64) down; 5 people per cell except
#: the nodata block of rows and columns 10-29 (a lake).
ORIGIN, CELL, SIDE, BLOCK = (114.0, 30.64), 0.001, 40, (10, 30)


def cell_box(row0: int, col0: int, row1: int, col1: int) -> tuple[float, float, float, float]:
    """Lon/lat bounds of rows ``row0..row1-1`` and columns ``col0..col1-1`` of the synthetic raster."""
    x0, y0 = ORIGIN
    return (x0 + col0 * CELL, y0 - row1 * CELL, x0 + col1 * CELL, y0 - row0 * CELL)


def lattice(bounds: tuple[float, float, float, float], n: int = 6) -> gpd.GeoDataFrame:
    """An ``n × n`` street lattice spanning ``bounds`` (lon/lat), as residential streets."""
    x0, y0, x1, y1 = bounds
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    lines = [shapely.LineString([(x, y0), (x, y1)]) for x in xs] + [shapely.LineString([(x0, y), (x1, y)]) for y in ys]
    return gpd.GeoDataFrame({"highway": ["residential"] * len(lines)}, geometry=lines, crs="EPSG:4326")


def write_layers(folder: Path, name: str, bounds: tuple[float, float, float, float]) -> tuple[Path, Path]:
    """A street lattice over ``bounds`` and one day-care facility at its centre, as files."""
    folder.mkdir(parents=True, exist_ok=True)
    streets, facilities = folder / f"{name}_streets.gpkg", folder / f"{name}_facilities.gpkg"
    lattice(bounds).to_file(streets)
    x0, y0, x1, y1 = bounds
    gpd.GeoDataFrame(
        {"name": ["日间照料"], "kind": ["day_care"]}, geometry=[Point((x0 + x1) / 2, (y0 + y1) / 2)], crs="EPSG:4326"
    ).to_file(facilities)
    return streets, facilities


@pytest.fixture(scope="module")
def lake_raster(tmp_path_factory) -> Path:
    """The synthetic raster: 5 people per cell, a 20 × 20 nodata block (rows/columns 10-29)."""
    values = np.full((SIDE, SIDE), 5.0, dtype="float32")
    values[BLOCK[0] : BLOCK[1], BLOCK[0] : BLOCK[1]] = NODATA
    path = tmp_path_factory.mktemp("lake") / "pop_lake.tif"
    with rasterio.open(
        path, "w", driver="GTiff", width=SIDE, height=SIDE, count=1, dtype="float32", crs="EPSG:4326",
        transform=from_origin(*ORIGIN, CELL, CELL), nodata=NODATA,
    ) as dst:
        dst.write(values, 1)
    return path


def circles(capsys, tmp_path: Path, streets: Path, facilities: Path, rasters: list[Path], *extra: str) -> tuple[int, str, str]:
    """``circles --json`` in-process: (exit status, stdout, stderr)."""
    args = ["circles", "--network", str(streets), "--network-noded", "--facilities", str(facilities),
            "--population", *map(str, rasters), "--out", str(tmp_path / "circles.gpkg"), "--json", *extra]
    status = main(args)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# ----- circles on the synthetic raster -----------------------------------------------------------


def test_circles_on_the_nodata_block_fails_without_the_option_and_counts_0_with_it(lake_raster, tmp_path, capsys):
    streets, facilities = write_layers(tmp_path, "lake", cell_box(13, 13, 27, 27))  # well inside the block
    status, out, err = circles(capsys, tmp_path, streets, facilities, [lake_raster])
    assert status == 2 and out == "", out
    assert f"file '{lake_raster}'" in err and "no cell holds people" in err and "Traceback" not in err, err
    assert not (tmp_path / "circles.gpkg").exists()

    status, out, err = circles(capsys, tmp_path, streets, facilities, [lake_raster], "--nodata-as-zero")
    assert status == 0, err
    report = json.loads(out)
    assert report["total_population"] == 0 and report["covered_population"] == 0
    assert report["covered_share"] is None and report["elderly_population"] == 0  # undefined, not 0 %
    assert report["graph_nodes"] > 0 and report["facilities"] == 1
    (note,) = [n for n in report["notes"] if "--nodata-as-zero" in n]
    window = read_population_raster(lake_raster, bounds=tuple(lattice(cell_box(13, 13, 27, 27)).total_bounds), keep_zero=True,
                                    nodata_as_zero=True)
    assert note == f"every one of the {len(window)} population raster cells in the requested bounds is nodata: read as 0 people (--nodata-as-zero)"
    layer = gpd.read_file(tmp_path / "circles.gpkg", layer="population")
    assert len(layer) == len(window) and layer["population"].sum() == 0  # the cells, 0 people each


def test_circles_with_people_gives_the_same_numbers_with_the_option(lake_raster, tmp_path, capsys):
    """Half on the block, half on people: nodata was already 0 there; the option only adds a note."""
    streets, facilities = write_layers(tmp_path, "edge", cell_box(15, 2, 25, 18))
    status, out, err = circles(capsys, tmp_path, streets, facilities, [lake_raster])
    assert status == 0, err
    without = json.loads(out)
    status, out, err = circles(capsys, tmp_path, streets, facilities, [lake_raster], "--nodata-as-zero")
    assert status == 0, err
    with_option = json.loads(out)
    for key in ("total_population", "covered_population", "covered_share", "elderly_population", "covered_share_by_speed"):
        assert with_option[key] == without[key], key
    assert without["total_population"] > 0 and not any("--nodata-as-zero" in n for n in without["notes"])
    (note,) = [n for n in with_option["notes"] if "--nodata-as-zero" in n]
    assert "population raster cells in the requested bounds are nodata: read as 0 people" in note


def test_circles_outside_the_extent_fails_either_way(lake_raster, tmp_path, capsys):
    streets, facilities = write_layers(tmp_path, "far", (114.2, 30.5, 114.21, 30.51))  # east of the raster
    for extra in ((), ("--nodata-as-zero",)):
        status, out, err = circles(capsys, tmp_path, streets, facilities, [lake_raster], *extra)
        assert status == 2 and out == "", (extra, out)
        assert f"file '{lake_raster}'" in err and "do not overlap the raster" in err, (extra, err)
    assert not (tmp_path / "circles.gpkg").exists()


def test_option_on_a_population_that_is_not_a_raster_is_refused(tmp_path, capsys):
    out = tmp_path / "circles.gpkg"
    assert main(["circles", "--embedded", "helsinki", "--nodata-as-zero", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--nodata-as-zero" in err and "GeoTIFF rasters only" in err and "Traceback" not in err, err
    grid = PROJECT_ROOT / "data" / "helsinki_population_grid_2020.gpkg"
    assert main(["circles", "--embedded", "helsinki", "--population", str(grid), "--nodata-as-zero", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"file '{grid}'" in err and "--nodata-as-zero" in err, err
    assert not out.exists()


def test_check_and_sites_take_the_option(lake_raster, tmp_path, capsys):
    """``check`` and ``sites`` read the rasters the same way: 0 people on the block with the option."""
    streets, facilities = write_layers(tmp_path, "lake", cell_box(13, 13, 27, 27))
    base = ["--network", str(streets), "--network-noded", "--facilities", str(facilities), "--population", str(lake_raster)]
    report = tmp_path / "report"
    assert main(["check", *base, "--no-pdf", "--out", str(report), "--json"]) == 2
    assert "no cell holds people" in capsys.readouterr().err
    assert not report.exists()
    assert main(["check", *base, "--nodata-as-zero", "--no-pdf", "--out", str(report), "--json"]) == 0
    verdicts = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["rules"]
    assert verdicts and all(v["passed"] == 0 for v in verdicts.values())  # nobody to serve: nothing passes
    page = (report / "report.html").read_text(encoding="utf-8")
    assert "read as 0 people (--nodata-as-zero)" in page and "人口栅格无数据像元按0人计 nodata_as_zero" in page
    # sites: the population error without the option; with it, nobody is left to cover (one line, exit 2)
    assert main(["sites", *base, "--p", "1", "--out", str(tmp_path / "sites.gpkg"), "--json"]) == 2
    assert "no cell holds people" in capsys.readouterr().err
    assert main(["sites", *base, "--nodata-as-zero", "--p", "1", "--out", str(tmp_path / "sites.gpkg"), "--json"]) == 2
    err = capsys.readouterr().err
    assert "no candidate sites" in err and "no cell holds people" not in err and "Traceback" not in err, err
