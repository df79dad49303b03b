"""The partitioning streams a street line layer in batches (bounded driver memory, one pass) and
gives the numbers of the whole read: real Wuhan WorldPop 60+ bands under generated lattices, real
Nanjing streets as a line layer, through `python -m coverage batch`."""

from __future__ import annotations

import contextlib
import io

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

import analysis.batch.partition as partition_module
from cli.main import main
from layers.network import read_network
from tests.batch_support import nanjing_case, run_batch_json, wuhan_case

NUMBERS = ["population", "elderly_population", "covered_population", "covered_elderly_population",
           "covered_share", "covered_share_frail", "covered_share_general", "facilities",
           "findings_assessed", "findings_passed", "findings_failed", "findings_not_assessable", "verdict"]


run_json = run_batch_json


def numbers(report: dict) -> pd.DataFrame:
    return pd.read_csv(report["summary"]).set_index("area_id")[NUMBERS]


def long_line_lattice(path, side: int = 40, spacing_m: float = 100.0) -> None:
    """The lattice of :func:`tests.batch_support.wuhan_case` as ``2 × side`` long lines crossing
    without shared vertices (a layer that is not noded: the crossings are its junctions)."""
    x0, y0 = Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True).transform(114.30, 30.59)
    far = (side - 1) * spacing_m
    rows = [shapely.LineString([(x0, y0 + k * spacing_m), (x0 + far, y0 + k * spacing_m)]) for k in range(side)]
    cols = [shapely.LineString([(x0 + k * spacing_m, y0), (x0 + k * spacing_m, y0 + far)]) for k in range(side)]
    gpd.GeoDataFrame({"highway": ["residential"] * (2 * side)}, geometry=rows + cols, crs="EPSG:32650").to_crs(4326).to_file(path)


def read_whole(monkeypatch, *args: str) -> dict:
    """The batch with the street layer read whole (the partitioning before streaming)."""
    with monkeypatch.context() as patch:
        patch.setattr(partition_module, "_streamable", lambda network: False)
        return run_json(*args)


def test_streamed_layer_gives_the_numbers_of_the_whole_read(tmp_path, monkeypatch):
    """Segments (noded) read in batches of 300 lines, and 80 long crossing lines (not noded: each
    task splits its part at the crossings) in batches of 7, vs the same layers read whole."""
    case, rasters = wuhan_case(tmp_path / "wuhan")
    raster_args = ["--population", *map(str, rasters), "--population-elderly"]
    whole = read_whole(monkeypatch, *case.args(tmp_path / "whole"), *raster_args, "--network-noded")
    monkeypatch.setattr(partition_module, "STREET_BATCH_ROWS", 300)
    batches = []
    real_stream = partition_module.stream_street_parts

    def counting(path, *args, **kwargs):
        scratch = real_stream(path, *args, **kwargs)
        batches.append(len({p.stem.split("-")[1] for pieces in scratch for p in pieces}))
        return scratch

    monkeypatch.setattr(partition_module, "stream_street_parts", counting)
    streamed = run_json(*case.args(tmp_path / "streamed"), *raster_args, "--network-noded")
    assert batches[0] >= 9  # 3 120 segments in batches of 300, both areas meet every batch
    assert (whole["done"], streamed["done"]) == (2, 2)
    pd.testing.assert_frame_equal(numbers(streamed), numbers(whole))
    assert numbers(whole)["covered_population"].min() > 0

    lines = tmp_path / "long_lines.gpkg"
    long_line_lattice(lines)
    crossing_args = [a if a != str(case.network) else str(lines) for a in case.args(tmp_path / "crossing")]
    crossing_whole = read_whole(monkeypatch, *[a.replace("crossing", "crossing_whole") for a in crossing_args], *raster_args)
    monkeypatch.setattr(partition_module, "STREET_BATCH_ROWS", 7)
    crossing = run_json(*crossing_args, *raster_args)
    assert (crossing["done"], crossing_whole["done"]) == (2, 2) and batches[-1] >= 10
    pd.testing.assert_frame_equal(numbers(crossing), numbers(crossing_whole))
    assert numbers(crossing)["covered_population"].min() > 0
    assert not (tmp_path / "streamed" / "partitions" / ".streets-scratch").exists()  # scratch pieces removed


def test_real_nanjing_streets_as_a_line_layer_streamed(tmp_path, monkeypatch):
    """Nanjing's real streets written as a line layer and streamed in batches of 500: the numbers of
    the batch on the ``.osm.pbf`` (read whole, OSM is never streamed). A layer with only closed
    ways still fails as before, naming the file."""
    case = nanjing_case(tmp_path / "nanjing")
    edges = read_network(case.network).edges.drop(columns=["u", "v"])
    lines = tmp_path / "nanjing_lines.gpkg"
    edges.to_file(lines)
    from_pbf = run_json(*case.args(tmp_path / "pbf"))
    monkeypatch.setattr(partition_module, "STREET_BATCH_ROWS", 500)
    args = case.args(tmp_path / "lines")
    args[args.index(str(case.network))] = str(lines)
    streamed = run_json(*args, "--network-noded")
    assert (from_pbf["done"], streamed["done"]) == (4, 4)
    pd.testing.assert_frame_equal(numbers(streamed), numbers(from_pbf))

    closed = tmp_path / "motorways.gpkg"
    edges.assign(highway="motorway").to_file(closed)
    args = case.args(tmp_path / "closed")
    args[args.index(str(case.network))] = str(closed)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()) as err:
        status = main([*args, "--network-noded", "--no-progress"])
    assert status == 2
    assert f"file '{closed}'" in err.getvalue() and "no walkable ways" in err.getvalue(), err.getvalue()


@pytest.mark.parametrize("batch_rows", [37, 1000])  # 37: many batches, the last one short
def test_streamed_parts_hold_every_street_meeting_the_buffer(tmp_path, batch_rows):
    """The parts of a streamed layer hold exactly the streets (as read whole) meeting each buffer."""
    from analysis.batch.areas import buffered, read_areas, walk_limit_m

    case, _rasters = wuhan_case(tmp_path / "wuhan", side=20)
    areas = read_areas(case.areas, "code")
    buffers = buffered(areas, walk_limit_m(15, 300))
    pieces = partition_module.stream_street_parts(case.network, buffers, tmp_path / "scratch", noded=True, batch_rows=batch_rows)
    whole = read_network(case.network, noded=True).edges
    for i, buffer in enumerate(buffers):
        got = pd.concat([gpd.read_parquet(p) for p in pieces[i]]) if pieces[i] else whole.iloc[:0]
        expected = whole.loc[shapely.intersects(whole.geometry.values, buffer)]
        assert len(got) == len(expected) > 0
        assert np.array_equal(np.sort(shapely.to_wkb(got.geometry.values)), np.sort(shapely.to_wkb(expected.geometry.values)))
