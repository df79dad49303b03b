"""`python -m coverage circles`: the contract, real runs, and every kind of bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from cli.main import main
from layers.chinese_crs import wgs84_to_gcj02
from layers.network import read_network
from tests.conftest import PROJECT_ROOT, shared_path

SUMMARY_KEYS = {
    "total_population",
    "covered_population",
    "covered_share",
    "facilities",
    "off_network_points",
    "graph_nodes",
    "graph_edges",
    "seconds",
}
LAYERS = {"service_areas", "population", "facilities", "network_edges"}


def run_json(capsys, *args: str) -> dict:
    assert main(["circles", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def fails(capsys, *args: str) -> str:
    """Run the CLI expecting an input error; return its message."""
    assert main(["circles", *args]) == 2
    return capsys.readouterr().err


def test_default_run_as_a_module(tmp_path):
    out = tmp_path / "result.gpkg"
    proc = subprocess.run(
        [sys.executable, "-m", "coverage", "circles", "--out", str(out), "--json"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    summary = json.loads(lines[0])
    assert SUMMARY_KEYS <= summary.keys()
    assert summary["demo_facilities"] is True
    assert summary["facilities"] == 5  # the embedded default: central Nanjing and its five DEMO sites
    assert summary["graph_nodes"] > 1000 and "nanjing_xuanwu.osm.pbf" in summary["sources"]["network"]
    assert 0 < summary["covered_share"] < 1
    assert summary["covered_population"] <= summary["total_population"]
    by_speed = summary["covered_share_by_speed"]
    assert by_speed["frail"] <= by_speed["elderly"] <= by_speed["general"]
    assert set(pyogrio.list_layers(out)[:, 0]) == LAYERS
    for layer in LAYERS:
        assert gpd.read_file(out, layer=layer).crs.to_epsg() == 4326
    facilities = gpd.read_file(out, layer="facilities")
    assert facilities["name"].str.contains("DEMO").all()


@pytest.fixture(scope="module")
def nanjing_edges():
    return read_network(shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")).edges


def _sites_csv(path: Path, edges: gpd.GeoDataFrame, *, gcj02: bool = False) -> Path:
    metric = edges.to_crs(edges.estimate_utm_crs())
    points = shapely.line_interpolate_point(metric.geometry.to_numpy()[::200], 0.5, normalized=True)
    lonlat = gpd.GeoSeries(points, crs=metric.crs).to_crs(4326)
    lon, lat = lonlat.x.to_numpy(), lonlat.y.to_numpy()
    if gcj02:
        lon, lat = wgs84_to_gcj02(lon, lat)
    frame = pd.DataFrame({"名称": [f"社区养老服务站{i}" for i in range(lon.size)], "经度": lon, "纬度": lat, "床位": 10})
    frame.to_csv(path, index=False)
    return path


def test_nanjing_csv_in_gcj02_matches_wgs84(tmp_path, capsys, nanjing_edges):
    network = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")
    wgs = _sites_csv(tmp_path / "wgs.csv", nanjing_edges)
    gcj = _sites_csv(tmp_path / "gcj.csv", nanjing_edges, gcj02=True)
    a = run_json(capsys, "--network", str(network), "--facilities", str(wgs), "--out", str(tmp_path / "a.gpkg"))
    b = run_json(
        capsys, "--network", str(network), "--facilities", str(gcj), "--facilities-crs", "gcj02",
        "--out", str(tmp_path / "b.gpkg"),
    )
    assert a["facilities"] == b["facilities"] >= 5
    assert b["covered_share"] == pytest.approx(a["covered_share"], abs=0.01)
    fa = gpd.read_file(tmp_path / "a.gpkg", layer="facilities")
    fb = gpd.read_file(tmp_path / "b.gpkg", layer="facilities")
    gap = fa.to_crs(32650).distance(fb.to_crs(32650))
    assert gap.max() < 1.0  # GCJ-02 inverse accurate to < 1 m
    assert (fa["kind"] == "community_station").all() and (fa["beds"] == 10).all()
    # without the option the same file lands ~500 m off: it must not look the same
    c = run_json(capsys, "--network", str(network), "--facilities", str(gcj), "--out", str(tmp_path / "c.gpkg"))
    fc = gpd.read_file(tmp_path / "c.gpkg", layer="facilities")
    assert fc.to_crs(32650).distance(fa.to_crs(32650)).min() > 200
    assert c["facilities"] == a["facilities"]


def test_helsinki_with_real_population_grid(tmp_path, capsys):
    grid = shared_path("helsinki", "helsinki_population_grid_2020.gpkg")
    demo = PROJECT_ROOT / "data" / "demo_facilities_helsinki.geojson"
    from layers.network import embedded_network_path

    summary = run_json(
        capsys, "--network", str(embedded_network_path()), "--facilities", str(demo), "--population", str(grid),
        "--speed", "general", "--out", str(tmp_path / "h.gpkg"),
    )
    # the grid reaches beyond the extract: only cells over the network's extent are read
    assert 0 < summary["total_population"] < 71_724
    assert summary["covered_share"] > 0.5
    assert summary["speed_mps"] == 1.0
    population = gpd.read_file(tmp_path / "h.gpkg", layer="population")
    assert {"walk_minutes", "nearest_facility", "covered", "on_network"} <= set(population.columns)
    assert population.loc[population["covered"], "walk_minutes"].max() <= 15.0
    assert population.loc[~population["on_network"], "covered"].eq(False).all()


# --------------------------------------------------------------------- bad input ----------


@pytest.fixture
def existing_out(tmp_path):
    out = tmp_path / "keep.gpkg"
    out.write_bytes(b"SQLite format 3\x00an earlier result")  # an earlier GeoPackage's header
    return out


def _assert_untouched(out: Path) -> None:
    assert out.read_bytes() == b"SQLite format 3\x00an earlier result"
    assert [p.name for p in out.parent.glob(".keep-*")] == []


def _facilities(tmp_path: Path, xy, crs="EPSG:4326", name="f.gpkg") -> Path:
    path = tmp_path / name
    frame = gpd.GeoDataFrame({"name": [f"site {i}" for i in range(len(xy))]}, geometry=gpd.points_from_xy(*zip(*xy)), crs=crs)
    frame.to_file(path)
    return path


HELSINKI_XY = [(24.945, 60.170), (24.940, 60.168)]


def test_missing_crs(tmp_path, capsys, existing_out):
    path = tmp_path / "nocrs.shp"
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Point(24.945, 60.17)]).to_file(path)
    err = fails(capsys, "--facilities", str(path), "--out", str(existing_out))
    assert "nocrs.shp" in err and "coordinate reference system" in err and "geometry" in err
    _assert_untouched(existing_out)


def test_lonlat_swapped(tmp_path, capsys, existing_out):
    csv = tmp_path / "swapped.csv"
    pd.DataFrame({"name": ["a"], "lon": [60.17], "lat": [24.945]}).to_csv(csv, index=False)
    err = fails(capsys, "--facilities", str(csv), "--out", str(existing_out))
    assert "swapped" in err and "swapped.csv" in err
    bad_lat = tmp_path / "badlat.csv"
    pd.DataFrame({"name": ["a"], "lon": [32.04], "lat": [118.78]}).to_csv(bad_lat, index=False)
    err = fails(capsys, "--facilities", str(bad_lat), "--out", str(existing_out))
    assert "latitudes outside ±90" in err and "swapped" in err
    _assert_untouched(existing_out)


def test_points_outside_the_network(tmp_path, capsys, existing_out):
    path = _facilities(tmp_path, [(118.78, 32.04)])  # Nanjing facilities on Helsinki streets
    err = fails(capsys, "--embedded", "helsinki", "--facilities", str(path), "--out", str(existing_out))
    assert "extent" in err and "layer 'facilities'" in err
    _assert_untouched(existing_out)


def test_facilities_all_off_network(tmp_path, capsys, existing_out):
    # inside the extent's margin but ~1 km out at sea from any street
    path = _facilities(tmp_path, [(24.960, 60.160)])
    err = fails(capsys, "--embedded", "helsinki", "--facilities", str(path), "--out", str(existing_out))
    assert "every facility is more than 300 m from a walkable street" in err
    _assert_untouched(existing_out)


def test_empty_layer_and_empty_geometry(tmp_path, capsys, existing_out):
    empty = tmp_path / "empty.gpkg"
    gpd.GeoDataFrame({"name": []}, geometry=[], crs=4326).to_file(empty)
    assert "no features" in fails(capsys, "--facilities", str(empty), "--out", str(existing_out))
    hollow = tmp_path / "hollow.gpkg"
    gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[shapely.Point(24.945, 60.17), shapely.Point()], crs=4326).to_file(hollow)
    err = fails(capsys, "--facilities", str(hollow), "--out", str(existing_out))
    assert "empty geometry" in err and "field 'geometry'" in err
    _assert_untouched(existing_out)


def test_invalid_geometry(tmp_path, capsys, existing_out):
    bowtie = shapely.Polygon([(24.94, 60.16), (24.95, 60.17), (24.95, 60.16), (24.94, 60.17)])
    path = tmp_path / "bowtie.gpkg"
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[bowtie], crs=4326).to_file(path)
    err = fails(capsys, "--facilities", str(path), "--out", str(existing_out))
    assert "invalid geometries" in err
    _assert_untouched(existing_out)


def test_unknown_file_type_and_missing_file(tmp_path, capsys, existing_out):
    odd = tmp_path / "sites.xlsx"
    odd.write_bytes(b"PK")
    assert "unknown facility file type" in fails(capsys, "--facilities", str(odd), "--out", str(existing_out))
    assert "does not exist" in fails(capsys, "--network", str(tmp_path / "nope.osm.pbf"), "--out", str(existing_out))
    net = tmp_path / "streets.dwg"
    net.write_bytes(b"x")
    assert "unknown street network file type" in fails(capsys, "--network", str(net), "--out", str(existing_out))
    _assert_untouched(existing_out)


def test_csv_without_coordinates(tmp_path, capsys, existing_out):
    csv = tmp_path / "names.csv"
    pd.DataFrame({"名称": ["养老院"], "地址": ["x"]}).to_csv(csv, index=False)
    err = fails(capsys, "--facilities", str(csv), "--out", str(existing_out))
    assert "no coordinate columns" in err and "经度/纬度" in err
    _assert_untouched(existing_out)


def test_negative_and_non_numeric_population(tmp_path, capsys, existing_out):
    demo = PROJECT_ROOT / "data" / "demo_facilities_helsinki.geojson"
    cells = [shapely.box(24.94, 60.165, 24.945, 60.17), shapely.box(24.945, 60.165, 24.95, 60.17)]
    for values, words in (([10, -5], "negative"), (["10", "many"], "non-numeric")):
        path = tmp_path / f"pop_{words}.gpkg"
        gpd.GeoDataFrame({"population": values}, geometry=cells, crs=4326).to_file(path)
        err = fails(capsys, "--embedded", "helsinki", "--facilities", str(demo), "--population", str(path),
                    "--out", str(existing_out))
        assert words in err and "field 'population'" in err, err
    _assert_untouched(existing_out)


def test_raster_with_nodata_only(tmp_path, capsys, existing_out):
    demo = PROJECT_ROOT / "data" / "demo_facilities_helsinki.geojson"
    path = tmp_path / "nodata.tif"
    with rasterio.open(
        path, "w", driver="GTiff", width=10, height=10, count=1, dtype="float32", crs="EPSG:4326",
        transform=from_origin(24.93, 60.18, 0.002, 0.002), nodata=-99999,
    ) as dst:
        dst.write(np.full((1, 10, 10), -99999, dtype="float32"))
    err = fails(capsys, "--embedded", "helsinki", "--facilities", str(demo), "--population", str(path),
                "--out", str(existing_out))
    assert "nodata.tif" in err and ("nodata" in err or "no people" in err)
    _assert_untouched(existing_out)


def test_network_without_walkable_ways(tmp_path, capsys, existing_out):
    path = tmp_path / "motorway.gpkg"
    gpd.GeoDataFrame(
        {"highway": ["motorway", "motorway_link"], "name": ["ring", "ramp"]},
        geometry=[shapely.LineString([(24.94, 60.16), (24.95, 60.17)]), shapely.LineString([(24.95, 60.17), (24.96, 60.17)])],
        crs=4326,
    ).to_file(path)
    sites = _facilities(tmp_path, HELSINKI_XY)
    err = fails(capsys, "--network", str(path), "--facilities", str(sites), "--out", str(existing_out))
    assert "no walkable ways" in err and "field 'highway'" in err
    _assert_untouched(existing_out)


def test_bad_speed_and_minutes(capsys, existing_out):
    assert "km/h" in fails(capsys, "--speed", "4.5", "--out", str(existing_out))
    assert "unknown walking speed" in fails(capsys, "--speed", "brisk", "--out", str(existing_out))
    assert "minutes must be positive" in fails(capsys, "--minutes", "0", "--out", str(existing_out))
    _assert_untouched(existing_out)
