"""Helpers of the batch tests: real areas cut from ../shared/data, a real Dask cluster of processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
from shapely.geometry import Point, box

from analysis.batch.areas import area_of_points
from layers.population import read_population
from tests.conftest import PROJECT_ROOT, shared_path

DASK = Path(sys.executable).with_name("dask")
#: Nanjing's core box (lon/lat) from ../shared/data/README.md.
NANJING_BOX = (118.767, 32.035, 118.797, 32.052)


@dataclass
class Case:
    """Files of a real batch case and its area polygons."""

    areas: Path
    network: Path
    facilities: Path
    population: Path
    area_frame: gpd.GeoDataFrame

    def args(self, out: Path) -> list[str]:
        return [
            "batch", "--areas", str(self.areas), "--id-field", "code", "--network", str(self.network),
            "--facilities", str(self.facilities), "--population", str(self.population), "--out", str(out),
        ]

    def area_population(self, code: str, folder: Path) -> Path:
        """The population units of one area alone (their representative point in it), as a file."""
        people = gpd.read_file(self.population)
        owner = area_of_points(people.geometry.representative_point(), self.area_frame)
        index = list(self.area_frame["code"]).index(code)
        path = folder / f"population_{code}.gpkg"
        people.loc[owner == index].to_file(path)
        return path


def grid_areas(bounds: tuple[float, float, float, float], cols: int, rows: int) -> gpd.GeoDataFrame:
    """``cols × rows`` rectangles over ``bounds`` with codes ``A1``, ``A2``, ..."""
    x0, y0, x1, y1 = bounds
    xs, ys = np.linspace(x0, x1, cols + 1), np.linspace(y0, y1, rows + 1)
    cells = [box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for j in range(rows) for i in range(cols)]
    return gpd.GeoDataFrame({"code": [f"A{k + 1}" for k in range(len(cells))]}, geometry=cells, crs="EPSG:4326")


def nanjing_case(folder: Path) -> Case:
    """Real Nanjing streets and building-estimated population split into 2 × 2 areas, 12 facilities."""
    pbf = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")
    folder.mkdir(parents=True, exist_ok=True)
    areas = grid_areas(NANJING_BOX, 2, 2)
    areas.to_file(folder / "areas.gpkg")
    x0, y0, x1, y1 = NANJING_BOX
    points = [Point(x, y) for x in np.linspace(x0 + 0.003, x1 - 0.003, 4) for y in np.linspace(y0 + 0.002, y1 - 0.002, 3)]
    kinds = ["day_care", "community_station", "institution"]
    facilities = gpd.GeoDataFrame(
        {"name": [f"站点{i}" for i in range(len(points))], "kind": [kinds[i % 3] for i in range(len(points))],
         "beds": [20.0 + i for i in range(len(points))]},
        geometry=points, crs="EPSG:4326",
    )
    facilities.to_file(folder / "facilities.gpkg")
    people = read_population(pbf, kind="buildings")[["population", "geometry"]]
    people.to_file(folder / "population.gpkg")
    return Case(folder / "areas.gpkg", pbf, folder / "facilities.gpkg", folder / "population.gpkg", areas)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def project_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PROJECT_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def start(args: list[str], log: Path) -> subprocess.Popen:
    """Start a process in its own session (so its whole group can be killed), output to ``log``."""
    handle = open(log, "wb")  # noqa: SIM115 - closed with the process by stop()
    proc = subprocess.Popen(
        args, cwd=PROJECT_ROOT, env=project_env(), stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    proc.log_handle = handle  # type: ignore[attr-defined]
    return proc


def stop(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Kill ``proc`` and every process it started (its session's group); wait for it."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=20)
    finally:
        proc.log_handle.close()  # type: ignore[attr-defined]


@dataclass
class Cluster:
    """A ``dask scheduler`` and its ``dask worker`` processes on localhost."""

    address: str
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen]

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            stop(proc)


def start_cluster(folder: Path, n_workers: int = 2, timeout_s: float = 60.0) -> Cluster:
    """Start a scheduler and ``n_workers`` single-thread workers as separate processes; wait for them."""
    from dask.distributed import Client

    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = start([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], folder / "scheduler.log")
    workers: list[subprocess.Popen] = []
    cluster = Cluster(address, scheduler, workers)
    try:
        for i in range(n_workers):
            workers.append(
                start(
                    [str(DASK), "worker", address, "--nthreads", "1", "--no-dashboard", "--name", f"w{i}",
                     "--local-directory", str(folder / f"w{i}")],
                    folder / f"worker{i}.log",
                )
            )
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(n_workers, timeout=max(1.0, deadline - time.monotonic()))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def helsinki_case(folder: Path) -> Case:
    """The embedded Helsinki streets with the real 2020 population grid, split into west and east."""
    from coverage.pipeline import DEMO_FACILITIES
    from layers.network import embedded_network_path

    grid = shared_path("helsinki", "helsinki_population_grid_2020.gpkg")
    folder.mkdir(parents=True, exist_ok=True)
    from layers.network import read_network

    gx0, gy0, gx1, gy1 = gpd.read_file(grid).total_bounds
    nx0, ny0, nx1, ny1 = read_network(embedded_network_path()).edges.total_bounds
    areas = grid_areas((max(gx0, nx0), max(gy0, ny0), min(gx1, nx1), min(gy1, ny1)), 2, 1)  # where both are
    areas.to_file(folder / "areas.gpkg")
    return Case(folder / "areas.gpkg", embedded_network_path(), DEMO_FACILITIES, grid, areas)


def wuhan_case(folder: Path, side: int = 40, spacing_m: float = 100.0) -> tuple[Case, list[Path]]:
    """A street lattice generated over central Wuhan, its real WorldPop 60+ rasters, 2 areas.

    Returns the case (its ``population`` is the first raster) and every raster of ages 60-80+.
    """
    import shapely
    from pyproj import Transformer

    wuhan = shared_path("wuhan_worldpop")
    rasters = sorted(wuhan.glob("pop_[678]?_[fm]_wuhan.tif"))
    folder.mkdir(parents=True, exist_ok=True)
    x0, y0 = Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True).transform(114.30, 30.59)
    coords = np.arange(side) * spacing_m
    xs, ys = np.meshgrid(x0 + coords, y0 + coords)
    starts = np.concatenate([np.stack([xs[:, :-1], ys[:, :-1]], -1).reshape(-1, 2), np.stack([xs[:-1], ys[:-1]], -1).reshape(-1, 2)])
    ends = np.concatenate([np.stack([xs[:, 1:], ys[:, 1:]], -1).reshape(-1, 2), np.stack([xs[1:], ys[1:]], -1).reshape(-1, 2)])
    lines = shapely.linestrings(np.stack([starts, ends], 1))
    streets = gpd.GeoDataFrame({"highway": ["residential"] * len(lines)}, geometry=lines, crs="EPSG:32650")
    streets.to_crs(4326).to_file(folder / "streets.gpkg")
    picks = [(5, 5), (5, side - 6), (side - 6, 5), (side // 2, side // 2)]
    facilities = gpd.GeoDataFrame(
        {"name": [f"日间照料{i}" for i in range(len(picks))], "kind": ["day_care"] * len(picks)},
        geometry=[Point(xs[i, j] + 10, ys[i, j] + 10) for i, j in picks], crs="EPSG:32650",
    ).to_crs(4326)
    facilities.to_file(folder / "facilities.gpkg")
    x0, y0, x1, y1 = streets.to_crs(4326).total_bounds
    quarter = 0.0002  # a quarter of a WorldPop cell: no cell centre on an area's border
    areas = grid_areas((x0 + quarter, y0 + quarter, x1 - quarter, y1 - quarter), 2, 1)
    areas.to_file(folder / "areas.gpkg")
    return Case(folder / "areas.gpkg", folder / "streets.gpkg", folder / "facilities.gpkg", rasters[0], areas), rasters


def run_batch_json(*args: str) -> dict:
    """``batch ... --json`` in-process on one local worker, no progress bar: its one JSON line."""
    import contextlib
    import io
    import json

    from cli.main import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main([*args, "--json", "--no-progress", "--workers", "1"])
    assert status == 0, out.getvalue()
    (line,) = out.getvalue().strip().splitlines()
    return json.loads(line)
