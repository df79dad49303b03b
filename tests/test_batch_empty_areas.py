"""`python -m coverage batch` on areas without residents vs areas outside the population data.

A real province has lakes and mountains: an area whose population data counts nobody is a valid
result (population 0, covered shares undefined, no rule applicable, verdict "not assessable",
a ``note`` saying why), not a failure. An area outside the population data (a raster window that
is all nodata or misses the rasters, an area beyond a vector layer's extent) is a failure whose
error names the file. Real data: Wuhan's WorldPop 60+ bands, Nanjing's buildings.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from rasterio.windows import Window, from_bounds
from shapely.geometry import box

from analysis.batch.area_job import NO_RESIDENTS_NOTE
from analysis.batch.areas import area_of_points
from layers.errors import EmptyLayerError
from layers.population_raster import read_population_raster
from tests.batch_support import nanjing_case, run_batch_json, wuhan_case

JSON_KEYS = ["areas", "done", "failed", "skipped", "seconds", "summary"]


def run_json(*args: str) -> dict:
    report = run_batch_json(*args)
    assert list(report)[: len(JSON_KEYS)] == JSON_KEYS
    return report


def zeroed_rasters(rasters: list[Path], folder: Path, bounds: tuple[float, float, float, float]) -> list[Path]:
    """Copies of the real bands whose cells centred inside lon/lat ``bounds`` hold 0 people (a lake)."""
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for raster in rasters:
        copy = folder / raster.name
        shutil.copy(raster, copy)
        with rasterio.open(copy, "r+") as dst:
            window = from_bounds(*bounds, transform=dst.transform)
            col0, row0 = int(np.ceil(window.col_off - 0.5)), int(np.ceil(window.row_off - 0.5))
            col1 = int(np.floor(window.col_off + window.width - 0.5))
            row1 = int(np.floor(window.row_off + window.height - 0.5))
            zeros = np.zeros((row1 - row0 + 1, col1 - col0 + 1), dtype="float32")
            dst.write(zeros, 1, window=Window(col0, row0, zeros.shape[1], zeros.shape[0]))
        copies.append(copy)
    return copies


def area_cells(rasters: list[Path], polygon: shapely.Geometry) -> gpd.GeoDataFrame:
    """The real 60+ cells whose centre lies in ``polygon`` (read whole, not in the batch's way)."""
    cells = read_population_raster(rasters, elderly=True, bounds=tuple(np.add(polygon.bounds, (-0.01, -0.01, 0.01, 0.01))))
    return cells.loc[shapely.intersects(polygon, cells.geometry.values)]


@pytest.fixture(scope="module")
def wuhan_batch(tmp_path_factory):
    """One batch over four areas: people, a lake (zeroed cells), nodata cells, beyond the rasters."""
    folder = tmp_path_factory.mktemp("wuhan-empty")
    case, rasters = wuhan_case(folder / "case")
    people, lake = case.area_frame.geometry  # two real areas of central Wuhan
    lake_rasters = zeroed_rasters(rasters, folder / "rasters", lake.bounds)
    with rasterio.open(rasters[0]) as src:
        data = src.read(1, masked=True)
        nodata_row, nodata_col = 20, 20  # the north-west corner: inside the rasters, outside the city
        assert np.ma.getmaskarray(data)[: nodata_row + 40, : nodata_col + 40].all()
        corner_x, corner_y = src.xy(nodata_row, nodata_col)
        beyond_x = src.bounds.right + 0.5
    areas = gpd.GeoDataFrame(
        {"code": ["people", "lake", "nodata", "beyond"]},
        geometry=[people, lake, box(corner_x, corner_y - 0.01, corner_x + 0.01, corner_y),
                  box(beyond_x, 30.5, beyond_x + 0.02, 30.52)],
        crs="EPSG:4326",
    )
    areas.to_file(case.areas)
    out = folder / "batch"
    args = [*case.args(out), "--population", *map(str, lake_rasters), "--population-elderly", "--network-noded"]
    report = run_json(*args)
    return {"report": report, "args": args, "out": out, "rasters": rasters, "lake_rasters": lake_rasters, "areas": areas}


def test_area_without_residents_is_done_with_population_0(wuhan_batch):
    report = wuhan_batch["report"]
    assert (report["areas"], report["done"], report["failed"], report["skipped"]) == (4, 2, 2, 0)
    summary = pd.read_csv(report["summary"]).set_index("area_id")
    lake = summary.loc["lake"]
    assert lake["status"] == "done" and pd.isna(lake["error"])
    assert lake["population"] == 0 and lake["elderly_population"] == 0 and lake["covered_population"] == 0
    assert np.isnan(lake["covered_share"]) and np.isnan(lake["covered_share_frail"])  # undefined, not 0 %
    assert lake["verdict"] == "not assessable" and lake["findings_assessed"] == 0
    assert lake["note"] == NO_RESIDENTS_NOTE
    rules = pd.read_csv(Path(report["summary"]).with_name("summary_rules.csv"))
    assert "lake" not in set(rules["area_id"]) and "people" in set(rules["area_id"])
    gpkg = wuhan_batch["out"] / "areas" / "lake.gpkg"
    assert {"area", "facilities"} <= {str(row[0]) for row in pyogrio.list_layers(gpkg)}
    # the summary for QGIS carries the area (grey, "not assessable"), with its numbers
    qgis = gpd.read_file(wuhan_batch["out"] / "summary.gpkg", layer="areas").set_index("area_id")
    assert qgis.loc["lake", "population"] == 0 and qgis.loc["lake", "colour"] == "#bdbdbd"


def test_area_with_people_keeps_the_real_numbers(wuhan_batch):
    summary = pd.read_csv(wuhan_batch["report"]["summary"]).set_index("area_id")
    polygon = wuhan_batch["areas"].geometry.iloc[0]
    cells = area_cells(wuhan_batch["rasters"], polygon)  # the real, unzeroed bands
    row = summary.loc["people"]
    assert row["status"] == "done" and pd.isna(row["note"])
    assert row["elderly_population"] == pytest.approx(cells["elderly_population"].sum(), abs=0.5)
    assert row["elderly_population"] > 100 and 0 < row["covered_share"] <= 1


def test_area_outside_the_population_data_fails_naming_the_file(wuhan_batch):
    summary = pd.read_csv(wuhan_batch["report"]["summary"]).set_index("area_id")
    first = str(wuhan_batch["lake_rasters"][0])
    for code, why in (("nodata", "nodata"), ("beyond", "do not overlap the raster")):
        row = summary.loc[code]
        assert row["status"] == "failed" and row["verdict"] == "error"
        assert f"file '{first}'" in row["error"], row["error"]
        assert f"area {code} lies outside the population data" in row["error"] and why in row["error"], row["error"]
        assert np.isnan(row["population"])
    assert not (wuhan_batch["out"] / "areas" / "nodata.gpkg").exists()


def test_rerun_skips_the_area_without_residents(wuhan_batch):
    report = run_json(*wuhan_batch["args"])
    assert (report["done"], report["skipped"], report["failed"]) == (0, 2, 2)
    summary = pd.read_csv(report["summary"]).set_index("area_id")
    assert summary.loc["lake", "population"] == 0 and summary.loc["lake", "note"] == NO_RESIDENTS_NOTE


def test_raster_reader_keeps_zero_cells_but_not_nodata(wuhan_batch):
    """The layer reader under the batch: 0-people cells are data; a nodata-only window is an error."""
    lake = wuhan_batch["areas"].geometry.iloc[1]
    bounds = lake.bounds
    cells = read_population_raster(wuhan_batch["lake_rasters"], elderly=True, bounds=bounds, keep_zero=True)
    inside = cells.loc[shapely.intersects(lake, cells.geometry.values)]
    assert len(inside) > 100 and inside["elderly_population"].sum() == 0  # the lake's cells: data, 0 people
    assert (cells["elderly_population"] > 0).any()  # the window's edge reaches real people beside it
    people = read_population_raster(wuhan_batch["lake_rasters"], elderly=True, bounds=bounds)
    assert len(people) == int((cells["elderly_population"] > 0).sum())  # without keep_zero: people only
    with pytest.raises(EmptyLayerError, match="no cell holds people"):
        read_population_raster(wuhan_batch["lake_rasters"], elderly=True, bounds=tuple(np.add(bounds, (0.002, 0.002, -0.002, -0.002))))
    nodata = wuhan_batch["areas"].geometry.iloc[2].bounds
    with pytest.raises(EmptyLayerError, match="every cell is nodata") as error:
        read_population_raster(wuhan_batch["lake_rasters"], elderly=True, bounds=nodata, keep_zero=True)
    assert error.value.file == str(wuhan_batch["lake_rasters"][0])


def test_nanjing_area_without_buildings_vs_area_beyond_the_data(tmp_path):
    """Real Nanjing streets and building-estimated population: a block holding no building is an
    area without residents; an area beyond the buildings' extent fails naming the file."""
    case = nanjing_case(tmp_path / "nanjing")
    people = gpd.read_file(case.population)
    points = people.geometry.representative_point()
    x0, y0, x1, y1 = case.area_frame.total_bounds
    step = 0.0015
    empty = next(
        cell
        for cell in (box(x, y, x + step, y + step) for x in np.arange(x0, x1 - step, step) for y in np.arange(y0, y1 - step, step))
        if not shapely.intersects(cell, points.values).any() and not shapely.intersects(cell, people.geometry.values).any()
    )
    beyond = box(119.6, 32.6, 119.61, 32.61)
    areas = gpd.GeoDataFrame(
        {"code": ["A1", "empty", "beyond"]}, geometry=[case.area_frame.geometry.iloc[0], empty, beyond], crs="EPSG:4326"
    )
    areas.to_file(case.areas)
    report = run_json(*case.args(tmp_path / "batch"))
    assert (report["areas"], report["done"], report["failed"]) == (3, 2, 1)
    summary = pd.read_csv(report["summary"]).set_index("area_id")
    assert summary.loc["empty", "population"] == 0 and summary.loc["empty", "note"] == NO_RESIDENTS_NOTE
    assert summary.loc["empty", "verdict"] == "not assessable"
    owner = area_of_points(points, areas)
    assert summary.loc["A1", "population"] == pytest.approx(people.loc[owner == 0, "population"].sum(), abs=0.5)
    error = summary.loc["beyond", "error"]
    assert summary.loc["beyond", "status"] == "failed"
    assert f"file '{case.population}'" in error and "area beyond lies outside the population data" in error, error


def cropped_rasters(rasters: list[Path], folder: Path, east_lon: float) -> list[Path]:
    """Copies of the real bands cut at longitude ``east_lon`` (the columns east of it dropped)."""
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for raster in rasters:
        with rasterio.open(raster) as src:
            col = int(np.floor((east_lon - src.bounds.left) / src.res[0]))
            window = Window(0, 0, col, src.height)
            profile = src.profile | {"width": col, "transform": src.window_transform(window)}
            profile.pop("blockxsize", None), profile.pop("blockysize", None), profile.pop("tiled", None)
            copy = folder / raster.name
            with rasterio.open(copy, "w", **profile) as dst:
                dst.write(src.read(window=window))
        copies.append(copy)
    return copies


def test_area_reaching_past_the_rasters_says_how_much_is_not_counted(tmp_path):
    """Real Wuhan bands cut through the middle of a populated area: the area is done with the
    people of its covered half only, and its note says which share of it lies past the rasters."""
    case, rasters = wuhan_case(tmp_path / "case")
    whole, other = case.area_frame.geometry
    x0, _, x1, _ = whole.bounds
    cut = cropped_rasters(rasters, tmp_path / "cut", east_lon=(x0 + x1) / 2)
    with rasterio.open(cut[0]) as src:
        edge = src.bounds.right
    args = [*case.args(tmp_path / "batch"), "--population", *map(str, cut), "--population-elderly", "--network-noded"]
    report = run_json(*args)
    summary = pd.read_csv(report["summary"]).set_index("area_id")
    codes = list(case.area_frame["code"])
    halved, east = summary.loc[codes[0]], summary.loc[codes[1]]
    assert other.bounds[0] >= x1 - 1e-9  # the second area lies east of the first: wholly past the cut
    assert (report["done"], report["failed"]) == (1, 1) and halved["status"] == "done"
    assert east["status"] == "failed" and "lies outside the population data" in east["error"]
    share = (x1 - edge) / (x1 - x0)  # the area's share east of the rasters' new edge
    assert 0.3 < share < 0.7
    assert halved["note"] == f"{share:.0%} of the area lies outside the population rasters: nobody is counted there"
    west = shapely.box(x0, whole.bounds[1], edge, whole.bounds[3])
    assert halved["elderly_population"] == pytest.approx(area_cells(rasters, whole & west)["elderly_population"].sum(), abs=0.5)
    # the same area on the whole bands: no note
    whole_run = run_json(*case.args(tmp_path / "batch-whole"), "--population", *map(str, rasters), "--population-elderly", "--network-noded")
    assert pd.isna(pd.read_csv(whole_run["summary"]).set_index("area_id").loc[codes[0], "note"])
