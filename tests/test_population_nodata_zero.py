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
from tests.osm_support import osm_xml

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


# ----- batch on the synthetic raster --------------------------------------------------------------


@pytest.fixture(scope="module")
def lake_batch(lake_raster, tmp_path_factory) -> dict:
    """A batch over three areas (people, the nodata block, beyond the raster), run without and
    with ``--nodata-as-zero`` into two folders."""
    folder = tmp_path_factory.mktemp("lake-batch")
    streets, facilities = write_layers(folder, "people", cell_box(0, 0, 10, 10))
    areas = gpd.GeoDataFrame(
        {"code": ["people", "block", "beyond"]},
        geometry=[box(*cell_box(2, 2, 9, 9)), box(*cell_box(14, 14, 26, 26)), box(114.2, 30.5, 114.21, 30.51)],
        crs="EPSG:4326",
    )
    areas.to_file(folder / "areas.gpkg")
    args = ["batch", "--areas", str(folder / "areas.gpkg"), "--id-field", "code", "--network", str(streets), "--network-noded",
            "--facilities", str(facilities), "--population", str(lake_raster)]
    runs = {}
    for name, extra in (("without", []), ("with", ["--nodata-as-zero"])):
        out = folder / name
        report = run_batch_json(*args, *extra, "--out", str(out))
        runs[name] = {"report": report, "summary": pd.read_csv(report["summary"]).set_index("area_id"), "out": out}
    return {"args": args, "runs": runs, "raster": lake_raster}


def test_batch_area_on_the_nodata_block_fails_without_the_option(lake_batch):
    run = lake_batch["runs"]["without"]
    assert (run["report"]["done"], run["report"]["failed"]) == (1, 2)
    block = run["summary"].loc["block"]
    assert block["status"] == "failed" and block["verdict"] == "error"
    assert f"file '{lake_batch['raster']}'" in block["error"] and "area block lies outside the population data" in block["error"]
    assert "nodata" in block["error"] and np.isnan(block["population"])
    assert not (run["out"] / "areas" / "block.gpkg").exists()


def test_batch_area_on_the_nodata_block_is_done_with_0_people_with_the_option(lake_batch):
    run = lake_batch["runs"]["with"]
    assert (run["report"]["areas"], run["report"]["done"], run["report"]["failed"]) == (3, 2, 1)
    block = run["summary"].loc["block"]
    assert block["status"] == "done" and pd.isna(block["error"])
    assert block["population"] == 0 and block["elderly_population"] == 0 and block["covered_population"] == 0
    assert np.isnan(block["covered_share"]) and block["verdict"] == "not assessable"
    assert block["note"] == NODATA_AS_ZERO_NOTE != NO_RESIDENTS_NOTE
    area = gpd.read_file(run["out"] / "areas" / "block.gpkg", layer="area")
    assert list(area["note"]) == [NODATA_AS_ZERO_NOTE]
    # the populated area: the same numbers either way (5 people in each of its 7 × 7 cells)
    people = run["summary"].loc["people"]
    assert people["population"] == pytest.approx(5.0 * 49) == lake_batch["runs"]["without"]["summary"].loc["people", "population"]
    assert pd.isna(people["note"])


def test_batch_area_beyond_the_raster_fails_either_way(lake_batch):
    for name in ("without", "with"):
        beyond = lake_batch["runs"][name]["summary"].loc["beyond"]
        assert beyond["status"] == "failed", name
        assert f"file '{lake_batch['raster']}'" in beyond["error"] and "do not overlap the raster" in beyond["error"], beyond["error"]


def test_batch_option_is_part_of_the_resume_key(lake_batch):
    """A rerun with the option skips its done areas; without it the areas run again (another key),
    and the block fails again."""
    out = lake_batch["runs"]["with"]["out"]
    again = run_batch_json(*lake_batch["args"], "--nodata-as-zero", "--out", str(out))
    assert (again["done"], again["skipped"], again["failed"]) == (0, 2, 1)
    summary = pd.read_csv(again["summary"]).set_index("area_id")
    assert summary.loc["block", "note"] == NODATA_AS_ZERO_NOTE and summary.loc["block", "population"] == 0
    plain = run_batch_json(*lake_batch["args"], "--out", str(out))
    assert (plain["done"], plain["skipped"], plain["failed"]) == (1, 0, 2)
    assert pd.read_csv(plain["summary"]).set_index("area_id").loc["block", "status"] == "failed"


def test_batch_keys_without_the_option_are_those_of_earlier_runs():
    """Without the option the parameters' digest is the one earlier versions wrote (no rerun after
    an upgrade); with it the digest differs."""
    params = BatchParams(out_dir="/x", rules="jilin-2023", rules_digest="r", elderly_share=None, population_elderly=True)
    earlier = {"rules": "jilin-2023", "rules_digest": "r", "elderly_share": None, "population_elderly": True}
    assert params.digest() == hashlib.sha256(json.dumps(earlier, sort_keys=True).encode()).hexdigest()
    with_option = BatchParams(**{**asdict(params), "nodata_as_zero": True})
    assert with_option.digest() != params.digest()


def test_batch_option_on_a_vector_population_is_refused(tmp_path, capsys):
    grid = PROJECT_ROOT / "data" / "helsinki_population_grid_2020.gpkg"
    out = tmp_path / "batch"
    args = ["batch", "--areas", str(grid), "--network", str(grid), "--facilities", str(grid), "--population", str(grid),
            "--nodata-as-zero", "--out", str(out), "--json"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"file '{grid}'" in err and "--nodata-as-zero" in err and "GeoTIFF rasters only" in err, err
    assert not out.exists()  # refused before any work


# ----- real data: the Wuhan WorldPop 60+ bands, where the Yangtze is nodata -----------------------


def yangtze_cell(rasters: list[Path], side: int = 10) -> tuple[int, int]:
    """Row and column of the centre of the ``side × side`` block of cells that are nodata in every
    band nearest to central Wuhan (114.30 E, 30.59 N): the Yangtze between Hankou and Wuchang."""
    nodata = None
    for raster in rasters:
        with rasterio.open(raster) as src:
            mask = np.ma.getmaskarray(src.read(1, masked=True))
            row0, col0 = src.index(114.30, 30.59)
        nodata = mask if nodata is None else nodata & mask
    full = minimum_filter(nodata.astype(np.uint8), size=side, mode="constant", cval=0) == 1
    rows, cols = np.nonzero(full)
    nearest = int(np.argmin((rows - row0) ** 2 + (cols - col0) ** 2))
    return int(rows[nearest]), int(cols[nearest])


def cells_bounds(raster: Path, row0: int, col0: int, row1: int, col1: int) -> tuple[float, float, float, float]:
    """Lon/lat bounds of the cells ``row0..row1-1`` × ``col0..col1-1`` of ``raster``."""
    with rasterio.open(raster) as src:
        x0, y1 = src.transform @ (col0, row0)
        x1, y0 = src.transform @ (col1, row1)
    return (x0, y0, x1, y1)


@pytest.fixture(scope="module")
def wuhan(tmp_path_factory) -> dict:
    """The Wuhan case of the batch tests (a lattice over central Wuhan, its real 60+ bands) and
    the Yangtze block's centre cell."""
    shared_path("wuhan_worldpop")
    folder = tmp_path_factory.mktemp("wuhan-nodata")
    case, rasters = wuhan_case(folder / "case")
    row, col = yangtze_cell(rasters)
    return {"folder": folder, "case": case, "rasters": rasters, "row": row, "col": col}


def test_wuhan_circles_on_the_yangtze(wuhan, tmp_path, capsys):
    """A street lattice on the river, 5 × 5 nodata cells: an error without the option, 0 people
    aged 60+ with it."""
    rasters, row, col = wuhan["rasters"], wuhan["row"], wuhan["col"]
    x0, y0, x1, y1 = cells_bounds(rasters[0], row - 2, col - 2, row + 3, col + 3)
    half = 0.25 * (x1 - x0) / 5  # a quarter cell inside: the window stays on the river's cells
    streets, facilities = write_layers(tmp_path, "yangtze", (x0 + half, y0 + half, x1 - half, y1 - half))
    status, out, err = circles(capsys, tmp_path, streets, facilities, rasters, "--population-elderly")
    assert status == 2 and out == "", out
    assert f"file '{rasters[0]}'" in err and "no cell holds people" in err, err
    status, out, err = circles(capsys, tmp_path, streets, facilities, rasters, "--population-elderly", "--nodata-as-zero")
    assert status == 0, err
    report = json.loads(out)
    assert (report["total_population"], report["elderly_population"], report["covered_share"]) == (0, 0, None)
    assert "every one of the 25 population raster cells in the requested bounds is nodata: read as 0 people (--nodata-as-zero)" in report["notes"]
    print(f"\nWuhan Yangtze lattice (cells {row - 2}-{row + 2} × {col - 2}-{col + 2}): {report['graph_nodes']} nodes, "
          f"total {report['total_population']}, elderly {report['elderly_population']}, covered_share {report['covered_share']}")


def test_wuhan_circles_with_people_unchanged_by_the_option(wuhan, tmp_path, capsys):
    case, rasters = wuhan["case"], wuhan["rasters"]
    numbers = []
    for extra in ((), ("--nodata-as-zero",)):
        status, out, err = circles(capsys, tmp_path, case.network, case.facilities, rasters, "--population-elderly", *extra)
        assert status == 0, err
        numbers.append(json.loads(out))
    without, with_option = numbers
    for key in ("total_population", "elderly_population", "covered_population", "covered_share", "covered_share_by_speed"):
        assert with_option[key] == without[key], key
    assert without["elderly_population"] > 10_000
    print(f"\nWuhan lattice, 60+ bands: elderly {without['elderly_population']}, covered share {without['covered_share']} "
          f"with and without --nodata-as-zero; note: {[n for n in with_option['notes'] if 'nodata' in n]}")


@pytest.fixture(scope="module")
def wuhan_batch(wuhan) -> dict:
    """The two real areas of central Wuhan, an area on the Yangtze, one inside the rasters but
    outside the city (nodata), one beyond the rasters; run without and with ``--nodata-as-zero``."""
    case, rasters, row, col = wuhan["case"], wuhan["rasters"], wuhan["row"], wuhan["col"]
    with rasterio.open(rasters[0]) as src:
        corner_x, corner_y = src.xy(20, 20)  # the north-west corner: nodata, outside the city boundary
        beyond_x = src.bounds.right + 0.5
    people = list(case.area_frame.geometry)
    areas = gpd.GeoDataFrame(
        {"code": ["west", "east", "yangtze", "outside_city", "beyond"]},
        geometry=[*people, box(*cells_bounds(rasters[0], row - 3, col - 3, row + 4, col + 4)),
                  box(corner_x, corner_y - 0.01, corner_x + 0.01, corner_y), box(beyond_x, 30.5, beyond_x + 0.02, 30.52)],
        crs="EPSG:4326",
    )
    areas.to_file(case.areas)
    runs = {}
    for name, extra in (("without", []), ("with", ["--nodata-as-zero"])):
        args = [*case.args(wuhan["folder"] / name), "--population", *map(str, rasters), "--population-elderly",
                "--network-noded", *extra]
        report = run_batch_json(*args)
        runs[name] = {"report": report, "summary": pd.read_csv(report["summary"]).set_index("area_id")}
    return {"runs": runs, "rasters": rasters}


def test_wuhan_batch_area_on_the_yangtze(wuhan_batch):
    first = str(wuhan_batch["rasters"][0])
    without, with_option = (wuhan_batch["runs"][name]["summary"] for name in ("without", "with"))
    assert (wuhan_batch["runs"]["without"]["report"]["done"], wuhan_batch["runs"]["without"]["report"]["failed"]) == (2, 3)
    assert (wuhan_batch["runs"]["with"]["report"]["done"], wuhan_batch["runs"]["with"]["report"]["failed"]) == (4, 1)
    for code in ("yangtze", "outside_city"):  # nodata inside the rasters' extent
        row = without.loc[code]
        assert row["status"] == "failed" and f"file '{first}'" in row["error"] and "nodata" in row["error"], row["error"]
        row = with_option.loc[code]
        assert row["status"] == "done" and row["population"] == 0 and row["elderly_population"] == 0
        assert row["note"] == NODATA_AS_ZERO_NOTE and row["verdict"] == "not assessable"
    for summary in (without, with_option):  # beyond the rasters: fails either way, naming the file
        assert summary.loc["beyond", "status"] == "failed"
        assert f"file '{first}'" in summary.loc["beyond", "error"] and "do not overlap" in summary.loc["beyond", "error"]
    for code in ("west", "east"):  # the populated areas: the same numbers
        assert with_option.loc[code, "status"] == "done" and with_option.loc[code, "elderly_population"] > 100
        for column in ("elderly_population", "covered_elderly_population", "covered_share"):
            assert with_option.loc[code, column] == without.loc[code, column], (code, column)
    print("\nWuhan batch with --nodata-as-zero:\n"
          + with_option[["status", "population", "elderly_population", "covered_share", "note"]].to_string())


# ----- the app: a checkbox beside the raster upload ---------------------------------------------------


def osm_lattice(bounds: tuple[float, float, float, float], n: int = 6) -> bytes:
    """An OSM XML street lattice (``highway=residential``) over lon/lat ``bounds``: the app's network upload."""
    x0, y0, x1, y1 = bounds
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    nodes = {1 + i * n + j: (round(float(xs[j]), 7), round(float(ys[i]), 7)) for i in range(n) for j in range(n)}
    rows_and_columns = [refs for k in range(n) for refs in ([1 + k * n + j for j in range(n)], [1 + i * n + k for i in range(n)])]
    ways = [(w + 1, refs, {"highway": "residential"}) for w, refs in enumerate(rows_and_columns)]
    return osm_xml(nodes, ways).encode()


def test_app_data_choice_reads_the_raster_with_the_option(lake_raster, tmp_path):
    """The app's layers (``ui.data_choice``, what the sidebar builds): an uploaded street network
    on the nodata block with the raster uploaded; the checkbox turns the error into 0 people."""
    from ui import state as ss
    from ui.uploads import save_upload

    bounds = cell_box(13, 13, 27, 27)
    network = save_upload("lake.osm", osm_lattice(bounds), "network", root=tmp_path)
    _, facilities_file = write_layers(tmp_path / "layers", "lake", bounds)
    facilities = save_upload("sites.gpkg", facilities_file.read_bytes(), "facilities", root=tmp_path)
    population = save_upload("pop_lake.tif", lake_raster.read_bytes(), "population", root=tmp_path)
    plain = ss.DataChoice(network, facilities, population)
    analysis, error = ss.attempt({}, lambda: ss.build_analysis(plain, 15, "elderly"))
    assert analysis is None and "pop_lake.tif" in error and "no cell holds people" in error, error
    ticked = ss.DataChoice(network, facilities, population, nodata_as_zero=True)
    assert ticked.key() != plain.key() and ticked.key() == f"{plain.key()}|nodata=0"
    analysis, error = ss.attempt({}, lambda: ss.build_analysis(ticked, 15, "elderly"))
    assert error is None, error
    assert analysis.result.population["population"].sum() == 0 and np.isnan(analysis.result.covered_share())
    assert any("nodata: read as 0 people (--nodata-as-zero)" in note for note in analysis.inputs.notes)


def test_app_sidebar_has_the_checkbox_beside_the_upload():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert not [box for box in at.sidebar.checkbox if box.key == "nodata_as_zero"]  # embedded data: no raster upload
    at.sidebar.radio(key="data_source__en").set_value("upload").run()
    assert not at.exception, at.exception
    (box,) = [box for box in at.sidebar.checkbox if box.key == "nodata_as_zero"]
    assert box.label == "Nodata cells of the raster: nobody lives there (0 people)" and box.value is False
