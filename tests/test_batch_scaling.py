"""How `python -m coverage batch` scales (issue 14, province case): the big inputs are read once,
by the partitioning only (the tasks never open them), the parts grow linearly with the number of
areas, each area's work is bounded by its own size, and the per-area CPU savings keep the numbers."""

from __future__ import annotations

import contextlib
import io
import json
import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import shapely
from pyproj import Transformer

import analysis.batch.partition as partition_module
import cli.batch as batch_cli
import layers.projection as projection
from analysis.batch.areas import read_areas
from analysis.batch.partition import partition_inputs
from cli.main import main
from tests.batch_support import grid_areas, wuhan_case
from tests.conftest import shared_path

JSON_KEYS = ["areas", "done", "failed", "skipped", "seconds", "summary"]


def run_json(*args: str) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main([*args, "--json", "--no-progress"])
    assert status == 0, out.getvalue()
    (line,) = out.getvalue().strip().splitlines()
    return json.loads(line)


def test_streets_read_once_and_tasks_never_open_the_big_inputs(tmp_path, monkeypatch):
    """Real WorldPop 60+ rasters under a generated lattice, 2 × 2 areas, through the CLI: the street
    file is read once (a patched reader counts), then moved away before the Dask workers start, and
    every area still runs from its part (and its raster window)."""
    case, rasters = wuhan_case(tmp_path / "wuhan", side=40)
    grid_areas(tuple(case.area_frame.total_bounds), 2, 2).to_file(case.areas)
    reads: list[str] = []
    real_read = partition_module.read_network

    def counting_read(path, **kwargs):
        reads.append(str(path))
        return real_read(path, **kwargs)

    monkeypatch.setattr(partition_module, "read_network", counting_read)
    real_stream = partition_module.stream_street_parts

    def counting_stream(path, *args, **kwargs):  # a line layer is streamed in batches: one pass
        reads.append(str(path))
        return real_stream(path, *args, **kwargs)

    monkeypatch.setattr(partition_module, "stream_street_parts", counting_stream)
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    real_run_parts = batch_cli.run_parts

    def run_without_big_inputs(parts, params, **kwargs):
        shutil.move(case.network, hidden / case.network.name)
        shutil.move(case.facilities, hidden / case.facilities.name)
        try:
            return real_run_parts(parts, params, **kwargs)
        finally:
            shutil.move(hidden / case.network.name, case.network)
            shutil.move(hidden / case.facilities.name, case.facilities)

    monkeypatch.setattr(batch_cli, "run_parts", run_without_big_inputs)
    out = tmp_path / "batch"
    args = [*case.args(out), "--population", *map(str, rasters), "--population-elderly", "--network-noded"]
    report = run_json(*args, "--workers", "1")
    assert list(report)[: len(JSON_KEYS)] == JSON_KEYS
    assert reads == [str(case.network)]
    assert (report["areas"], report["done"], report["failed"]) == (4, 4, 0), pd.read_csv(report["summary"])
    summary = pd.read_csv(report["summary"])
    assert summary["population"].sum() > 1000
    # load-independent cost of each area (the benchmark's CPU per area): measured, and within its wall time
    assert (summary["cpu_seconds"] > 0).all()
    assert (summary["cpu_seconds"] <= summary["seconds"] * 2 + 0.5).all()  # one kernel thread (GEOS may use a second)


def _lattice(folder, side: int, spacing_m: float = 100.0):
    """A ``side × side`` street lattice over Wuhan (GeoPackage, EPSG:4326) and one facility per 100 nodes."""
    x0, y0 = Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True).transform(114.30, 30.59)
    xs, ys = np.meshgrid(x0 + np.arange(side) * spacing_m, y0 + np.arange(side) * spacing_m)
    starts = np.concatenate([np.stack([xs[:, :-1], ys[:, :-1]], -1).reshape(-1, 2), np.stack([xs[:-1], ys[:-1]], -1).reshape(-1, 2)])
    ends = np.concatenate([np.stack([xs[:, 1:], ys[:, 1:]], -1).reshape(-1, 2), np.stack([xs[1:], ys[1:]], -1).reshape(-1, 2)])
    streets = gpd.GeoDataFrame(
        {"highway": np.full(len(starts), "residential")}, geometry=shapely.linestrings(np.stack([starts, ends], 1)), crs="EPSG:32650"
    ).to_crs(4326)
    folder.mkdir(parents=True, exist_ok=True)
    streets.to_file(folder / "streets.gpkg")
    pick = (slice(5, None, 10), slice(5, None, 10))
    facilities = gpd.GeoDataFrame(
        {"name": [f"站{i}" for i in range(xs[pick].size)], "kind": "day_care"},
        geometry=shapely.points(xs[pick].ravel() + 10, ys[pick].ravel() + 10), crs="EPSG:32650",
    ).to_crs(4326)
    facilities.to_file(folder / "facilities.gpkg")
    x0, y0, x1, y1 = streets.total_bounds
    return folder / "streets.gpkg", folder / "facilities.gpkg", (x0, y0, x1, y1), len(streets)


def test_parts_grow_linearly_with_the_areas_and_each_is_bounded_by_its_area(tmp_path):
    """Areas of the same size (20 × 20 nodes) over a lattice grown with them (3 × 3, then 5 × 5
    areas): the middle area's part (its whole 1 500 m buffer) is the same (±1 %: the areas are
    lon/lat boxes), every part is bounded by
    its buffered area, and all parts together hold at most (20 + 2 × 15)² / 20² ≈ 6.3 times the
    streets, whatever the number of areas."""
    rasters = [str(r) for r in sorted(shared_path("wuhan_worldpop").glob("pop_[678]?_[fm]_wuhan.tif"))]
    middle = {}
    for per_side in (3, 5):
        streets, facilities, bounds, n_edges = _lattice(tmp_path / f"in{per_side}", 20 * per_side)
        grid_areas(bounds, per_side, per_side).to_file(tmp_path / f"areas{per_side}.gpkg")
        parts = partition_inputs(
            read_areas(tmp_path / f"areas{per_side}.gpkg", "code"), tmp_path / f"out{per_side}", network=streets,
            facilities=facilities, population=rasters, minutes=15, max_snap_m=300, network_noded=True,
        ).parts
        rows = np.array([pq.read_metadata(p.files["streets"]).num_rows for p in parts])
        assert len(parts) == per_side**2 and (rows > 0).all()
        assert rows.max() <= 2 * 50 * 51 + 4 * 52  # 20 + 2 × 15 nodes a side, plus lines touching the buffer
        assert rows.sum() <= 6.3 * n_edges
        middle[per_side] = rows[(per_side // 2) * per_side + per_side // 2]
    assert middle[5] > 2 * 40 * 41 and abs(middle[3] - middle[5]) <= 0.01 * middle[5]  # lon/lat boxes: ±1 line


def test_metric_crs_shortcut_answers_as_geopandas_and_asks_proj_once_per_zone(monkeypatch):
    rng = np.random.default_rng(7)
    points = np.c_[rng.uniform(-179, 179, 150), rng.uniform(-79, 83, 150)]
    edges = np.array([[-12.0, 40.0], [114.0, 30.5], [3.0, 60.0], [0.0, 0.0], [117.0, 1e-9], [-12.005, 83.9]])
    for lon, lat in np.r_[points, edges]:
        frame = gpd.GeoDataFrame(geometry=[shapely.box(lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01)], crs=4326)
        assert projection.local_metric_crs(frame) == frame.estimate_utm_crs(), (lon, lat)
    # 30 areas of one province (UTM 50N): PROJ's database asked once
    monkeypatch.setattr(projection, "_UTM_BY_ZONES", {})
    asked = []
    real = gpd.GeoDataFrame.estimate_utm_crs
    monkeypatch.setattr(gpd.GeoDataFrame, "estimate_utm_crs", lambda self, *a, **k: asked.append(1) or real(self, *a, **k))
    answers = {
        projection.local_metric_crs(gpd.GeoDataFrame(geometry=[shapely.box(x, y, x + 0.1, y + 0.1)], crs=4326))
        for x in np.linspace(114.1, 116.5, 6) for y in np.linspace(29.1, 31.5, 5)
    }
    assert [a.to_epsg() for a in answers] == [32650] and len(asked) == 1


def test_tasks_run_the_kernels_on_one_thread_and_leave_the_callers_setting():
    """One area per worker thread: inside a task numba uses one thread; the caller's own setting
    (the whole suite runs in-process tasks too) and other threads' settings are untouched."""
    import threading

    import numba

    from analysis.batch.area_job import one_kernel_thread

    before = numba.get_num_threads()
    seen = {}
    with one_kernel_thread():
        seen["task"] = numba.get_num_threads()
        other = threading.Thread(target=lambda: seen.setdefault("other", numba.get_num_threads()))
        other.start()
        other.join()
    assert seen == {"task": 1, "other": numba.config.NUMBA_NUM_THREADS}
    assert numba.get_num_threads() == before
