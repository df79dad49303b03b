"""Tests of layers.population: rasters, counted polygons, building estimates and bad inputs."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine

from coverage.circles import unit_points
from coverage.settings import DEFAULT_ELDERLY_SHARE
from layers.errors import (
    CoordinateError,
    EmptyLayerError,
    FieldError,
    GeometryError,
    InputError,
    MissingCRSError,
    UnsupportedFileError,
)
from layers.population import (
    DEFAULT_RESIDENTIAL_SHARE,
    estimate_population_from_buildings,
    read_population,
    read_population_polygons,
    read_population_raster,
)
from tests.conftest import shared_path

WUHAN_ELDERLY_BANDS = [f"pop_{age}_{sex}_wuhan.tif" for age in (60, 65, 70, 75, 80) for sex in ("f", "m")]
#: A box over central Wuhan (Hankou / Wuchang), lon/lat degrees.
WUHAN_CENTRE = (114.20, 30.50, 114.40, 30.70)
NODATA = -9999.0


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


def write_raster(
    path: Path,
    values: np.ndarray,
    *,
    crs: str | None = "EPSG:4326",
    nodata: float | None = NODATA,
    origin: tuple[float, float] = (114.0, 30.6),
    cell: float = 0.001,
) -> Path:
    """Write ``values`` (rows x cols, people per cell) as a single-band float32 GeoTIFF."""
    values = np.asarray(values, dtype=np.float32)
    profile = {
        "driver": "GTiff",
        "height": values.shape[0],
        "width": values.shape[1],
        "count": 1,
        "dtype": "float32",
        "transform": Affine(cell, 0.0, origin[0], 0.0, -cell, origin[1]),
        "nodata": nodata,
    }
    if crs is not None:
        profile["crs"] = crs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(values, 1)
    return path


def raster_sum(paths: list[Path], window: rasterio.windows.Window | None = None) -> float:
    """Sum of the valid cells of ``paths`` in persons, read independently of the module."""
    total = 0.0
    for path in paths:
        with rasterio.open(path) as src:
            band = src.read(1, masked=True, window=window).astype(np.float64)
            total += float(np.nansum(band.filled(0.0)))
    return total


def square(x: float, y: float, size: float = 0.001) -> shapely.Polygon:
    """A lon/lat square with its lower-left corner at (x, y)."""
    return shapely.box(x, y, x + size, y + size)


def polygons_layer(counts: list, *, field: str = "population", crs: str | None = "EPSG:4326") -> gpd.GeoDataFrame:
    """Squares in a row over Wuhan carrying ``counts`` in ``field``."""
    geometry = [square(114.3 + 0.002 * i, 30.6) for i in range(len(counts))]
    return gpd.GeoDataFrame({field: counts}, geometry=geometry, crs=crs)


# --------------------------------------------------------------------------------------------------
# Wuhan WorldPop rasters (real data)
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wuhan_files() -> list[Path]:
    return [shared_path("wuhan_worldpop", name) for name in WUHAN_ELDERLY_BANDS]


@pytest.fixture(scope="module")
def wuhan_elderly(wuhan_files: list[Path]) -> gpd.GeoDataFrame:
    return read_population_raster(wuhan_files, elderly=True)


def test_wuhan_elderly_total_is_about_1_94_million(wuhan_elderly: gpd.GeoDataFrame) -> None:
    total = wuhan_elderly["elderly_population"].sum()
    print(f"Wuhan people aged 60+ (WorldPop 60-80+ bands): {total:,.1f} in {len(wuhan_elderly):,} cells")
    assert total == pytest.approx(1.94e6, rel=0.03)
    assert wuhan_elderly.crs == "EPSG:4326"
    assert list(wuhan_elderly.columns) == ["population", "elderly_population", "geometry"]
    assert (wuhan_elderly.geom_type == "Point").all()
    assert wuhan_elderly["population"].dtype == np.float64
    assert (wuhan_elderly["elderly_population"] > 0).all()
    # population is estimated from the 60+ counts with the default share
    np.testing.assert_allclose(
        wuhan_elderly["population"], wuhan_elderly["elderly_population"] / DEFAULT_ELDERLY_SHARE
    )


def test_wuhan_points_sum_to_the_raster_sum(wuhan_elderly: gpd.GeoDataFrame, wuhan_files: list[Path]) -> None:
    assert wuhan_elderly["elderly_population"].sum() == pytest.approx(raster_sum(wuhan_files), rel=1e-9)


def test_wuhan_points_are_cell_centres(wuhan_elderly: gpd.GeoDataFrame, wuhan_files: list[Path]) -> None:
    with rasterio.open(wuhan_files[0]) as src:
        left, bottom, right, top = src.bounds
        cell_x, cell_y = src.res
    x = wuhan_elderly.geometry.x.to_numpy()
    y = wuhan_elderly.geometry.y.to_numpy()
    assert x.min() > left and x.max() < right and y.min() > bottom and y.max() < top
    # x = left + (col + 0.5) * cell: the fractional part of the column is one half
    np.testing.assert_allclose(((x - left) / cell_x) % 1.0, 0.5, atol=1e-6)
    np.testing.assert_allclose(((top - y) / cell_y) % 1.0, 0.5, atol=1e-6)


def test_wuhan_bounds_window_reads_fewer_cells(wuhan_elderly: gpd.GeoDataFrame, wuhan_files: list[Path]) -> None:
    window = read_population_raster(wuhan_files, elderly=True, bounds=WUHAN_CENTRE)
    print(f"Wuhan 60+ inside {WUHAN_CENTRE}: {window['elderly_population'].sum():,.1f} in {len(window):,} cells")
    assert 0 < len(window) < len(wuhan_elderly)
    assert 0 < window["elderly_population"].sum() < wuhan_elderly["elderly_population"].sum()
    with rasterio.open(wuhan_files[0]) as src:
        cell = max(src.res)
        expected = raster_sum(
            wuhan_files, rasterio.windows.from_bounds(*WUHAN_CENTRE, transform=src.transform).round_offsets()
        )
    min_x, min_y, max_x, max_y = window.total_bounds
    assert min_x > WUHAN_CENTRE[0] - cell and max_x < WUHAN_CENTRE[2] + cell
    assert min_y > WUHAN_CENTRE[1] - cell and max_y < WUHAN_CENTRE[3] + cell
    assert window["elderly_population"].sum() == pytest.approx(expected, rel=0.01)


def test_wuhan_bounds_outside_the_raster(wuhan_files: list[Path]) -> None:
    with pytest.raises(CoordinateError, match="do not overlap"):
        read_population_raster(wuhan_files[:1], bounds=(118.0, 32.0, 118.1, 32.1))


# --------------------------------------------------------------------------------------------------
# synthetic rasters
# --------------------------------------------------------------------------------------------------


def test_raster_nodata_and_nan_cells_are_not_counted(tmp_path: Path) -> None:
    values = np.array([[1.5, NODATA, 0.0], [np.nan, 2.0, 10.0]])
    path = write_raster(tmp_path / "pop.tif", values)
    points = read_population_raster(path)
    assert len(points) == 3
    assert points["population"].sum() == pytest.approx(13.5)
    np.testing.assert_allclose(points["elderly_population"], points["population"] * DEFAULT_ELDERLY_SHARE)
    # the first cell's centre: origin (114.0, 30.6) plus half a 0.001° cell
    first = points.geometry.iloc[0]
    assert (first.x, first.y) == pytest.approx((114.0005, 30.5995))


def test_raster_several_files_are_summed_cell_by_cell(tmp_path: Path) -> None:
    women = write_raster(tmp_path / "f.tif", [[1.0, 0.0], [NODATA, 4.0]])
    men = write_raster(tmp_path / "m.tif", [[2.0, 0.5], [3.0, NODATA]])
    points = read_population_raster([women, men], elderly=True, elderly_share=0.25)
    np.testing.assert_allclose(np.sort(points["elderly_population"].to_numpy()), [0.5, 3.0, 3.0, 4.0])
    assert points["population"].sum() == pytest.approx(10.5 / 0.25)


def test_raster_projected_crs_comes_out_in_wgs84(tmp_path: Path) -> None:
    path = write_raster(tmp_path / "utm.tif", [[5.0, 7.0]], crs="EPSG:32650", origin=(230000.0, 3400000.0), cell=100.0)
    points = read_population_raster(path)
    assert points.crs == "EPSG:4326"
    assert points["population"].sum() == pytest.approx(12.0)
    assert 113 < points.geometry.x.min() < 115 and 30 < points.geometry.y.min() < 31


def test_raster_all_nodata_is_empty(tmp_path: Path) -> None:
    path = write_raster(tmp_path / "empty.tif", np.full((3, 3), NODATA))
    with pytest.raises(EmptyLayerError):
        read_population_raster(path)


def test_raster_all_zero_is_empty(tmp_path: Path) -> None:
    with pytest.raises(EmptyLayerError):
        read_population_raster(write_raster(tmp_path / "zero.tif", np.zeros((2, 2))))


def test_raster_negative_values(tmp_path: Path) -> None:
    path = write_raster(tmp_path / "neg.tif", [[1.0, -3.0]])
    with pytest.raises(FieldError, match="negative") as error:
        read_population_raster(path)
    assert error.value.file == str(path)


def test_raster_without_crs(tmp_path: Path) -> None:
    path = write_raster(tmp_path / "nocrs.tif", [[1.0, 2.0]], crs=None)
    with pytest.raises(MissingCRSError) as error, warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        read_population_raster(path)
    assert error.value.file == str(path)


def test_rasters_with_different_shapes(tmp_path: Path) -> None:
    first = write_raster(tmp_path / "a.tif", np.ones((2, 2)))
    second = write_raster(tmp_path / "b.tif", np.ones((3, 2)))
    with pytest.raises(InputError, match="grid") as error:
        read_population_raster([first, second])
    assert error.value.file == str(second)


def test_rasters_with_different_crs(tmp_path: Path) -> None:
    first = write_raster(tmp_path / "a.tif", np.ones((2, 2)))
    second = write_raster(tmp_path / "b.tif", np.ones((2, 2)), crs="EPSG:4490")
    with pytest.raises(InputError, match="CRS"):
        read_population_raster([first, second])


def test_raster_missing_file_and_bad_share(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_population_raster(tmp_path / "missing.tif")
    path = write_raster(tmp_path / "pop.tif", [[1.0]])
    with pytest.raises(ValueError, match="elderly_share"):
        read_population_raster(path, elderly_share=25.22)


def test_dispatcher_reads_rasters(tmp_path: Path) -> None:
    path = write_raster(tmp_path / "pop.tiff", [[1.0, 2.0]])
    assert read_population(path)["population"].sum() == pytest.approx(3.0)
    other = write_raster(tmp_path / "pop2.tiff", [[3.0, 4.0]])
    assert read_population([path, other], kind="raster")["population"].sum() == pytest.approx(10.0)
    with pytest.raises(InputError, match="counted twice"):  # the same raster twice would double it
        read_population([path, path], kind="raster")


# --------------------------------------------------------------------------------------------------
# polygons with counts (real data)
# --------------------------------------------------------------------------------------------------


def test_helsinki_grid() -> None:
    path = shared_path("helsinki", "helsinki_population_grid_2020.gpkg")
    grid = read_population_polygons(path)
    print(f"Helsinki grid: {grid['population'].sum():,.0f} residents in {len(grid)} cells")
    assert len(grid) == 92
    assert grid["population"].sum() == 71_724
    assert grid.crs == "EPSG:4326"
    assert list(grid.columns) == ["population", "elderly_population", "geometry"]
    np.testing.assert_allclose(grid["elderly_population"], grid["population"] * DEFAULT_ELDERLY_SHARE)
    assert read_population(path)["population"].sum() == 71_724


def test_helsinki_grid_bounds_reads_fewer_cells() -> None:
    path = shared_path("helsinki", "helsinki_population_grid_2020.gpkg")
    full = read_population_polygons(path)
    min_x, min_y, max_x, max_y = full.total_bounds
    half = (min_x, min_y, (min_x + max_x) / 2, max_y)
    part = read_population(path, bounds=half)
    assert 0 < len(part) < len(full)


def test_sao_paulo_zipped_hexgrid() -> None:
    path = shared_path("sao_paulo", "spo_hexgrid_EPSG32723.gpkg.zip")
    grid = read_population(path)
    print(f"Sao Paulo hexgrid: {grid['population'].sum():,.0f} residents in {len(grid)} hexagons")
    assert len(grid) == 323
    assert grid["population"].sum() == 517_570
    assert grid.crs == "EPSG:4326"
    min_x, min_y, max_x, max_y = grid.total_bounds
    assert -47.5 < min_x < max_x < -46 and -24.5 < min_y < max_y < -23


def test_csv_is_not_a_population_layer() -> None:
    with pytest.raises(UnsupportedFileError, match="GeoPackage"):
        read_population(shared_path("sao_paulo", "spo_hexgrid.csv"))


# --------------------------------------------------------------------------------------------------
# polygons with counts (synthetic)
# --------------------------------------------------------------------------------------------------


def test_auto_detected_chinese_field_and_elderly_field(tmp_path: Path) -> None:
    layer = polygons_layer([100, 250], field="常住人口")
    layer["老年人口"] = [30, 40]
    layer.to_file(tmp_path / "村.gpkg")
    units = read_population_polygons(tmp_path / "村.gpkg", elderly_field="老年人口")
    assert units["population"].tolist() == [100.0, 250.0]
    assert units["elderly_population"].tolist() == [30.0, 40.0]


def test_numeric_text_counts_are_accepted(tmp_path: Path) -> None:
    polygons_layer(["12", "30.5"], field="POP").to_file(tmp_path / "text.gpkg")
    assert read_population_polygons(tmp_path / "text.gpkg")["population"].tolist() == [12.0, 30.5]


def test_points_with_counts_are_kept_as_points(tmp_path: Path) -> None:
    points = shapely.points([[114.3, 30.6], [114.31, 30.6]])
    layer = gpd.GeoDataFrame({"residents": [10, 20]}, geometry=points, crs=4326)
    layer.to_file(tmp_path / "points.geojson")
    units = read_population(tmp_path / "points.geojson")
    assert (units.geom_type == "Point").all() and units["population"].sum() == 30


def test_zipped_shapefile_in_a_projected_crs(tmp_path: Path) -> None:
    polygons_layer([5, 6], field="pop_total").to_crs(32650).to_file(tmp_path / "grid.shp")
    archive = tmp_path / "grid.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for part in tmp_path.glob("grid.*"):
            if part != archive:
                zipped.write(part, part.name)
    units = read_population(archive)
    assert units.crs == "EPSG:4326" and units["population"].sum() == 11
    assert units.total_bounds == pytest.approx(polygons_layer([5, 6]).total_bounds, abs=1e-6)


def test_non_numeric_counts(tmp_path: Path) -> None:
    polygons_layer(["many", "12"]).to_file(tmp_path / "bad.gpkg")
    with pytest.raises(FieldError, match="not numbers") as error:
        read_population_polygons(tmp_path / "bad.gpkg")
    assert error.value.field == "population"


def test_negative_counts(tmp_path: Path) -> None:
    polygons_layer([10, -1]).to_file(tmp_path / "neg.gpkg")
    with pytest.raises(FieldError, match="negative") as error:
        read_population(tmp_path / "neg.gpkg")
    assert error.value.field == "population"


def test_missing_counts(tmp_path: Path) -> None:
    polygons_layer([10.0, None]).to_file(tmp_path / "null.gpkg")
    with pytest.raises(FieldError, match="no \\(or an infinite\\) count"):
        read_population_polygons(tmp_path / "null.gpkg")


def test_elderly_more_than_residents(tmp_path: Path) -> None:
    layer = polygons_layer([10, 20])
    layer["age60"] = [5, 25]
    layer.to_file(tmp_path / "old.gpkg")
    with pytest.raises(FieldError, match="more people aged 60"):
        read_population_polygons(tmp_path / "old.gpkg", elderly_field="age60")


@pytest.mark.filterwarnings("ignore:'crs' was not provided:UserWarning")
def test_missing_crs_in_geopackage_and_shapefile(tmp_path: Path) -> None:
    polygons_layer([10], crs=None).to_file(tmp_path / "nocrs.gpkg")
    with pytest.raises(MissingCRSError):
        read_population(tmp_path / "nocrs.gpkg")
    polygons_layer([10], crs=None).to_file(tmp_path / "nocrs.shp")
    assert not (tmp_path / "nocrs.prj").exists()
    with pytest.raises(MissingCRSError):
        read_population(tmp_path / "nocrs.shp")


def test_empty_layer(tmp_path: Path) -> None:
    gpd.GeoDataFrame({"population": []}, geometry=[], crs=4326).to_file(tmp_path / "empty.gpkg")
    with pytest.raises(EmptyLayerError):
        read_population_polygons(tmp_path / "empty.gpkg")


def test_everybody_zero_is_empty(tmp_path: Path) -> None:
    polygons_layer([0, 0]).to_file(tmp_path / "zero.gpkg")
    with pytest.raises(EmptyLayerError):
        read_population_polygons(tmp_path / "zero.gpkg")


def test_no_or_several_count_columns_list_the_numeric_columns(tmp_path: Path) -> None:
    layer = polygons_layer([10, 20], field="value")
    layer["name"] = ["a", "b"]
    layer.to_file(tmp_path / "none.gpkg")
    with pytest.raises(FieldError, match="no count column found.*value"):
        read_population(tmp_path / "none.gpkg")
    assert read_population(tmp_path / "none.gpkg", field="value")["population"].sum() == 30

    layer["total"] = [1, 2]
    layer["POP"] = [3, 4]
    layer.to_file(tmp_path / "several.gpkg")
    with pytest.raises(FieldError, match="several count columns") as error:
        read_population_polygons(tmp_path / "several.gpkg", field=None)
    assert "value" in str(error.value) and "total, POP" in str(error.value)
    with pytest.raises(FieldError, match="no column 'inhabitants'"):
        read_population_polygons(tmp_path / "several.gpkg", field="inhabitants")


def test_several_layers_need_a_layer_name(tmp_path: Path) -> None:
    path = tmp_path / "two.gpkg"
    polygons_layer([1]).to_file(path, layer="a")
    polygons_layer([2, 3]).to_file(path, layer="b")
    with pytest.raises(InputError, match="several layers"):
        read_population(path)
    assert read_population(path, layer="b")["population"].sum() == 5
    with pytest.raises(InputError, match="no such layer"):
        read_population(path, layer="c")


def test_geometry_problems(tmp_path: Path) -> None:
    lines = gpd.GeoDataFrame({"population": [1]}, geometry=[shapely.LineString([(114, 30), (114.1, 30)])], crs=4326)
    lines.to_file(tmp_path / "lines.gpkg")
    with pytest.raises(GeometryError, match="LineString"):
        read_population_polygons(tmp_path / "lines.gpkg")

    empty = polygons_layer([1, 2])
    empty.loc[1, "geometry"] = shapely.Polygon()
    empty.to_file(tmp_path / "emptygeom.gpkg")
    with pytest.raises(GeometryError, match="no geometry"):
        read_population_polygons(tmp_path / "emptygeom.gpkg")


def test_invalid_polygons_are_repaired_with_a_warning(tmp_path: Path) -> None:
    bowtie = shapely.Polygon([(114.0, 30.0), (114.01, 30.01), (114.01, 30.0), (114.0, 30.01)])
    gpd.GeoDataFrame({"population": [8]}, geometry=[bowtie], crs=4326).to_file(tmp_path / "bowtie.gpkg")
    with pytest.warns(UserWarning, match="repaired 1 invalid"):
        units = read_population_polygons(tmp_path / "bowtie.gpkg")
    assert units.is_valid.all() and units["population"].sum() == 8


def test_unknown_extension_csv_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "pop.xyz").write_text("1 2 3")
    with pytest.raises(UnsupportedFileError, match="unknown population file type"):
        read_population(tmp_path / "pop.xyz")
    (tmp_path / "pop.csv").write_text("name,population\na,10\n")
    with pytest.raises(UnsupportedFileError, match="a table has no shapes"):
        read_population(tmp_path / "pop.csv")
    with pytest.raises(InputError, match="not found"):
        read_population(tmp_path / "absent.gpkg")
    with pytest.raises(ValueError, match="kind"):
        read_population(tmp_path / "pop.xyz", kind="census")


def test_unit_points_are_inside_their_polygons() -> None:
    """The engine walks from one point per unit: inside an L-shaped block, not at its centroid."""
    corner = shapely.Polygon([(0, 0), (3, 0), (3, 1), (1, 1), (1, 3), (0, 3)])  # L-shaped block
    assert not corner.contains(corner.centroid)
    layer = gpd.GeoDataFrame(
        {"population": [5.0, 2.0]}, geometry=[corner, shapely.Point(10, 10)], crs=32650, index=[7, 9]
    )
    points = unit_points(layer.geometry)
    assert len(points) == 2 and (shapely.get_type_id(points) == 0).all()
    assert corner.contains(points[0]) and points[1].equals(shapely.Point(10, 10))


# --------------------------------------------------------------------------------------------------
# buildings
# --------------------------------------------------------------------------------------------------


def test_building_hand_computed() -> None:
    # 20 m x 50 m footprint, 6 storeys: 1000 m² x 6 / 35 m² per person = 171.43 persons
    footprint = shapely.box(500_000, 3_500_000, 500_020, 3_500_050)
    buildings = gpd.GeoDataFrame({"building:levels": ["6"]}, geometry=[footprint], crs=32650)
    estimate = estimate_population_from_buildings(buildings)
    assert estimate["footprint_m2"].iloc[0] == pytest.approx(1000.0)
    assert estimate["storeys"].iloc[0] == 6
    assert estimate["population"].iloc[0] == pytest.approx(1000 * 6 / 35)
    assert estimate["population"].iloc[0] == pytest.approx(171.4, abs=0.05)
    assert estimate["elderly_population"].iloc[0] == pytest.approx(1000 * 6 / 35 * DEFAULT_ELDERLY_SHARE)
    assert estimate.crs == "EPSG:4326" and (estimate.geom_type == "Polygon").all()
    # the same footprint given in lon/lat is measured in its UTM zone again
    again = estimate_population_from_buildings(buildings.to_crs(4326))
    assert again["population"].iloc[0] == pytest.approx(1000 * 6 / 35, rel=1e-6)


def test_building_storeys_fallbacks_and_residential_shares() -> None:
    footprint = shapely.box(500_000, 3_500_000, 500_010, 3_500_035)  # 350 m²
    buildings = gpd.GeoDataFrame(
        {
            "building": ["apartments", "yes", "office", "mystery", None],
            "building:levels": ["4", None, "10", "2;3", None],
            "height": [None, "18 m", None, None, None],
        },
        geometry=[footprint] * 5,
        crs=32650,
    )
    estimate = estimate_population_from_buildings(buildings)
    assert estimate["storeys"].tolist() == [4, 6, 10, 2, 3]  # levels, height 18/3, levels, first number, default
    assert estimate["residential_share"].tolist() == [1.0, 0.5, 0.0, 0.5, 0.5]
    np.testing.assert_allclose(estimate["population"], [40, 30, 0, 10, 15])  # 350 m² x storeys x share / 35
    overridden = estimate_population_from_buildings(
        buildings, residential_share={"yes": 1.0}, floor_area_per_person_m2=70.0, default_storeys=1.0
    )
    np.testing.assert_allclose(overridden["population"], [20, 30, 0, 10, 5])
    assert DEFAULT_RESIDENTIAL_SHARE["apartments"] == 1.0 and DEFAULT_RESIDENTIAL_SHARE["school"] == 0.0


def test_building_non_polygons_are_dropped() -> None:
    buildings = gpd.GeoDataFrame(
        {"levels": [2, 2]},
        geometry=[shapely.box(500_000, 3_500_000, 500_010, 3_500_010), shapely.Point(500_000, 3_500_000)],
        crs=32650,
    )
    with pytest.warns(UserWarning, match="dropped 1"):
        estimate = estimate_population_from_buildings(buildings)
    assert list(estimate.index) == [0] and estimate["population"].iloc[0] == pytest.approx(100 * 2 / 35)


def test_building_bad_inputs() -> None:
    footprint = shapely.box(500_000, 3_500_000, 500_010, 3_500_010)
    offices = gpd.GeoDataFrame({"building": ["office"]}, geometry=[footprint], crs=32650)
    with pytest.raises(EmptyLayerError, match="no residents"):
        estimate_population_from_buildings(offices)
    with pytest.raises(MissingCRSError):
        estimate_population_from_buildings(offices.set_crs(None, allow_override=True))
    with pytest.raises(EmptyLayerError):
        estimate_population_from_buildings(offices.iloc[:0])
    with pytest.raises(FieldError, match="no column 'stories'"):
        estimate_population_from_buildings(offices, storeys_field="stories")
    with pytest.raises(ValueError, match="floor_area_per_person_m2"):
        estimate_population_from_buildings(offices, floor_area_per_person_m2=0)


def test_suzhou_buildings() -> None:
    path = shared_path("suzhou_buildings", "suzhou_buildings.json")
    raw = gpd.read_file(path)
    estimate = read_population(path)  # no count column, but Floor/height: buildings
    print(f"Suzhou buildings: {estimate['population'].sum():,.0f} residents estimated in {len(estimate)} footprints")
    assert len(estimate) == 3076
    assert "footprint_m2" in estimate.columns
    assert (estimate["population"] > 0).all()
    np.testing.assert_array_equal(estimate["storeys"], raw["Floor"].astype(float))
    expected = estimate["footprint_m2"] * raw["Floor"] / 35.0
    np.testing.assert_allclose(estimate["population"], expected)


@pytest.fixture(scope="module")
def nanjing_buildings() -> gpd.GeoDataFrame:
    import pyrosm

    return pyrosm.OSM(str(shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf"))).get_buildings()


def test_nanjing_osm_buildings(nanjing_buildings: gpd.GeoDataFrame) -> None:
    estimate = estimate_population_from_buildings(nanjing_buildings)
    print(
        f"Nanjing Xuanwu OSM buildings: {estimate['population'].sum():,.0f} residents estimated "
        f"in {len(estimate)} footprints ({nanjing_buildings['building:levels'].notna().sum()} with levels)"
    )
    assert 1271 <= len(nanjing_buildings) <= 1290
    assert nanjing_buildings["building:levels"].notna().sum() == 131
    assert estimate["population"].sum() > 0 and (estimate["population"] >= 0).all()
    tagged = nanjing_buildings["building:levels"].notna()
    levels = pd.to_numeric(nanjing_buildings.loc[tagged, "building:levels"], errors="coerce")
    np.testing.assert_array_equal(estimate.loc[tagged, "storeys"], levels.astype(float))
    schools = nanjing_buildings["building"] == "school"
    assert (estimate.loc[schools, "population"] == 0).all()


def _osm_xml_building_residents(path: Path) -> tuple[int, float]:
    """Buildings and residents of an OSM XML file, computed without pyrosm or the building model.

    Closed ``building=*`` ways and ``building=*`` multipolygon relations (outer minus inner rings),
    areas in UTM 50N (m²); storeys from the first number of ``building:levels``, else
    ``round(height / 3 m)`` (at least 1), else 3; residents = area × storeys × share / 35 m² per
    person, the share from the default table (0.5 for types not in it).
    """
    import re
    import xml.etree.ElementTree as ET

    from pyproj import Transformer

    root = ET.parse(path).getroot()
    to_utm = Transformer.from_crs(4326, 32650, always_xy=True)
    nodes = {n.get("id"): (float(n.get("lon")), float(n.get("lat"))) for n in root.iter("node")}
    ways = {w.get("id"): w for w in root.iter("way")}

    def ring(way) -> np.ndarray:
        lonlat = np.array([nodes[nd.get("ref")] for nd in way.iter("nd")])
        return np.column_stack(to_utm.transform(lonlat[:, 0], lonlat[:, 1]))

    def residents(tags: dict[str, str], area_m2: float) -> float:
        levels = re.search(r"\d+(?:\.\d+)?", tags.get("building:levels", ""))
        height = re.search(r"\d+(?:\.\d+)?", tags.get("height", ""))
        if levels:
            storeys = float(levels.group())
        elif height and float(height.group()) > 0:
            storeys = max(round(float(height.group()) / 3.0), 1.0)
        else:
            storeys = 3.0
        return area_m2 * storeys * DEFAULT_RESIDENTIAL_SHARE.get(tags["building"].strip().casefold(), 0.5) / 35.0

    count, total = 0, 0.0
    for way in ways.values():
        tags = {t.get("k"): t.get("v") for t in way.findall("tag")}
        refs = [nd.get("ref") for nd in way.iter("nd")]
        if "building" in tags and len(refs) >= 4 and refs[0] == refs[-1]:
            count += 1
            total += residents(tags, shapely.Polygon(ring(way)).area)
    for relation in root.iter("relation"):
        tags = {t.get("k"): t.get("v") for t in relation.findall("tag")}
        if "building" not in tags:
            continue
        rings = {"outer": [], "inner": []}
        for member in relation.findall("member"):
            if member.get("type") == "way" and member.get("ref") in ways and member.get("role") in rings:
                rings[member.get("role")].append(shapely.LineString(ring(ways[member.get("ref")])))
        footprint = shapely.unary_union(list(shapely.polygonize(rings["outer"]).geoms))
        if rings["inner"]:
            footprint = footprint.difference(shapely.unary_union(list(shapely.polygonize(rings["inner"]).geoms)))
        count += 1
        total += residents(tags, footprint.area)
    return count, total


def test_nanjing_pbf_through_the_dispatcher() -> None:
    """The .osm.pbf read by pyrosm through read_population gives the residents that the same
    extract's XML export gives when counted by hand (1 278 buildings, 78 705 residents)."""
    pbf = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")
    buildings, residents = _osm_xml_building_residents(shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm"))
    assert buildings == 1278 and residents == pytest.approx(78_705.47, abs=0.01)
    estimate = read_population(pbf)
    assert estimate.crs == "EPSG:4326"
    assert len(estimate) == buildings
    assert estimate["population"].sum() == pytest.approx(residents, rel=1e-9)
    assert estimate["elderly_population"].sum() == pytest.approx(residents * DEFAULT_ELDERLY_SHARE, rel=1e-9)
    core = read_population(pbf, bounds=(118.767, 32.035, 118.797, 32.052))  # the core box of the extract
    assert 0 < len(core) < buildings and 0 < core["population"].sum() < residents
