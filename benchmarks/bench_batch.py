"""Benchmark of ``python -m coverage batch``: areas per minute on 1 and 2 Dask workers.

A synthetic street lattice (100 m spacing, in UTM 50N) is laid over Wuhan and cut into square
areas; the population is Wuhan's real WorldPop 60+ bands (``../shared/data/wuhan_worldpop``):
a 400 × 400-cell block of central Wuhan (≈ 32 × 37 km, real values, its unpopulated cells
nodata as WorldPop has them) is repeated over the whole lattice into one tiled GeoTIFF mosaic per
band (ten, georeferenced over the lattice's extent, written once with the inputs), so every area
holds real people however large the lattice; each task reads only its area's window. One facility
per 2 500 street nodes (a regular grid of them, so that every area has facilities within reach).
The inputs are partitioned once (timed), then the same parts run on a LocalCluster of 1 and of
2 worker processes (one thread each). Run from the project root::

    .venv/bin/python benchmarks/bench_batch.py --side 300 --areas-per-side 6     # 90 000 nodes, 36 areas
    .venv/bin/python benchmarks/bench_batch.py --side 1415 --areas-per-side 15 --workers 2 --inputs /work/prov-inputs
        # the province case: 2·10^6 nodes, 225 areas

It prints one Markdown table (see ``benchmarks/README.md``): wall time, areas per minute, the
partitioning share, the speed-up of 2 workers over 1, and the peak memory of each worker; and,
since the host is shared, the load-independent figures: CPU seconds per area (every worker
process's user + system time over the run, Dask's own work included, divided by the areas), the
CPU-bound speed-up (1 worker's CPU over the busiest of 2 workers' CPU: the speed-up with a free
core per worker), the driver's (scheduler's) CPU, and the host's load average during the run.
``--inputs DIR`` keeps the generated inputs in DIR and reuses them on the next run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow.parquet as pq
import shapely
from pyproj import Transformer

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WUHAN = ROOT.parent / "shared" / "data" / "wuhan_worldpop"
CENTRE_LONLAT = (114.30, 30.59)
CRS = "EPSG:32650"
SPACING_M = 100.0
NODES_PER_FACILITY = 2500
#: The block of the real rasters repeated over the lattice: ``half`` cells each side of the
#: population-weighted centre of Wuhan's 60+ bands (every 9.4 km area window of the repeated
#: block holds ≥ 2 496 populated cells: checked when the block was chosen, and by ``done`` counts).
TILE_HALF_CELLS = 200
#: Version of the generated inputs (a stamp written with them; older inputs are rebuilt).
INPUTS_VERSION = 2


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    """Peak resident memory of the calling process's own address space (MB).

    ``VmHWM`` from ``/proc/self/status`` (reset at exec), not ``ru_maxrss``: Linux keeps the
    latter across fork and exec, so a worker would report the driver's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cpu_seconds() -> float:
    """User + system CPU seconds of the calling process (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def band_rasters() -> list[Path]:
    """Wuhan's WorldPop 60+ bands (ages 60-80+, female and male): ten GeoTIFFs on one grid."""
    return sorted(WUHAN.glob("pop_[678]?_[fm]_wuhan.tif"))


def tile_block(bands: list[Path], half: int = TILE_HALF_CELLS) -> tuple[int, int, int]:
    """``(row0, col0, size)`` of the square block repeated: around the bands' population centre."""
    import rasterio

    total = None
    for band in bands:
        with rasterio.open(band) as src:
            cells = np.ma.filled(src.read(1, masked=True).astype(np.float64), 0.0)
        total = cells if total is None else total + cells
    rows, cols = np.nonzero(total > 0)
    weights = total[rows, cols]
    centre_row, centre_col = int(np.average(rows, weights=weights)), int(np.average(cols, weights=weights))
    return centre_row - half, centre_col - half, 2 * half


def write_tiled_bands(folder: Path, bounds: tuple[float, float, float, float]) -> list[Path]:
    """One GeoTIFF per band: the real block repeated over ``bounds`` (lon/lat, EPSG:4326).

    The mosaic keeps each band's cell size, nodata value and float32 cells; it is tiled
    (256 × 256 blocks, LZW) so that the tasks' windowed reads touch only their blocks.
    """
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    bands = band_rasters()
    row0, col0, size = tile_block(bands)
    out_dir = folder / "rasters"
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    min_lon, min_lat, max_lon, max_lat = bounds
    for band in bands:
        with rasterio.open(band) as src:
            block = src.read(1, window=Window(col0, row0, size, size))
            res_x, res_y = abs(src.res[0]), abs(src.res[1])
            profile = src.profile
        width, height = int(np.ceil((max_lon - min_lon) / res_x)), int(np.ceil((max_lat - min_lat) / res_y))
        mosaic = np.tile(block, (height // size + 1, width // size + 1))[:height, :width]
        profile.update(
            width=width, height=height, transform=from_origin(min_lon, max_lat, res_x, res_y),
            tiled=True, blockxsize=256, blockysize=256, compress="lzw",
        )
        path = out_dir / band.name.replace("_wuhan.tif", "_wuhan_tiled.tif")
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(mosaic, 1)
        paths.append(path)
    return paths


def make_inputs(folder: Path, side: int, areas_per_side: int) -> dict[str, object]:
    """Write the lattice (GeoPackage lines), facilities and areas; return their paths and sizes."""
    x0, y0 = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(*CENTRE_LONLAT)
    x0 -= side * SPACING_M / 2
    y0 -= side * SPACING_M / 2
    coords = np.arange(side) * SPACING_M
    xs, ys = np.meshgrid(x0 + coords, y0 + coords)
    starts = np.concatenate([np.stack([xs[:, :-1], ys[:, :-1]], -1).reshape(-1, 2), np.stack([xs[:-1], ys[:-1]], -1).reshape(-1, 2)])
    ends = np.concatenate([np.stack([xs[:, 1:], ys[:, 1:]], -1).reshape(-1, 2), np.stack([xs[1:], ys[1:]], -1).reshape(-1, 2)])
    lines = shapely.linestrings(np.stack([starts, ends], 1))
    streets = gpd.GeoDataFrame({"highway": np.full(len(lines), "residential")}, geometry=lines, crs=CRS).to_crs(4326)
    streets.to_file(folder / "streets.gpkg", driver="GPKG")
    stride = int(np.sqrt(NODES_PER_FACILITY))  # a facility every 50 × 50 nodes: every area has some in reach
    rows, cols = np.meshgrid(np.arange(stride // 2, side, stride), np.arange(stride // 2, side, stride))
    pick = (rows * side + cols).ravel()
    n_fac = len(pick)
    facilities = gpd.GeoDataFrame(
        {"name": [f"site {i}" for i in range(n_fac)], "kind": "day_care", "beds": 30.0},
        geometry=shapely.points(xs.ravel()[pick] + 20, ys.ravel()[pick] + 20), crs=CRS,
    ).to_crs(4326)
    facilities.to_file(folder / "facilities.gpkg")
    edges = x0 - 50 + np.linspace(0, side * SPACING_M, areas_per_side + 1)
    edges_y = y0 - 50 + np.linspace(0, side * SPACING_M, areas_per_side + 1)
    boxes = [shapely.box(edges[i], edges_y[j], edges[i + 1], edges_y[j + 1]) for j in range(areas_per_side) for i in range(areas_per_side)]
    areas = gpd.GeoDataFrame({"code": [f"T{k:04d}" for k in range(len(boxes))]}, geometry=boxes, crs=CRS).to_crs(4326)
    areas.to_file(folder / "areas.gpkg")
    pad = 0.05  # degrees (≈ 5 km) beyond the lattice: the walking buffer and the windows' padding
    x0, y0, x1, y1 = streets.total_bounds
    n_edges = len(lines)
    del streets, lines
    write_tiled_bands(folder, (x0 - pad, y0 - pad, x1 + pad, y1 + pad))
    return {"nodes": side * side, "edges": n_edges, "facilities": n_fac, "areas": len(boxes)}


def run_on(parts, params, workers: int) -> dict[str, float]:
    """Run ``parts`` on a fresh LocalCluster of ``workers`` processes.

    Returns wall seconds, counts, each worker's peak memory (VmHWM, MB) and CPU seconds over the
    run, the driver's CPU seconds (the scheduler runs in it) and the load average before/after.
    """
    from dask.distributed import Client, LocalCluster

    from analysis.batch.runner import run_parts

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
        client.run(lambda: __import__("analysis.batch.task"))  # import (and numba cache load) before timing
        load_before = os.getloadavg()[0]
        cpu_before = client.run(cpu_seconds)
        driver_before = cpu_seconds()
        start = time.perf_counter()
        results = run_parts(parts, params, scheduler=cluster.scheduler_address, progress=False)
        seconds = time.perf_counter() - start
        driver_cpu = cpu_seconds() - driver_before
        cpu_after = client.run(cpu_seconds)
        memory = client.run(peak_rss_mb)
        load_after = os.getloadavg()[0]
    statuses = [r["row"]["status"] for r in results]
    for r in results:
        if r["row"]["status"] == "failed":
            log(f"failed {r['row']['area_id']}: {r['row']['error']}")
    worker_cpu = [cpu_after[w] - cpu_before[w] for w in cpu_after]
    task_cpu = [r["row"]["cpu_seconds"] for r in results if r["row"]["status"] == "done"]
    return {"seconds": seconds, "done": statuses.count("done"), "failed": statuses.count("failed"),
            "worker_peak_mb": max(memory.values()), "worker_peaks_mb": sorted(memory.values()),
            "worker_cpu_s": worker_cpu, "task_cpu_s": float(sum(task_cpu)), "driver_cpu_s": driver_cpu,
            "load_before": load_before, "load_after": load_after}


def prepared_inputs(folder: Path, side: int, areas_per_side: int) -> dict[str, object]:
    """The inputs in ``folder``: reused when written before for this side and area count."""
    stamp = folder / "sizes.json"
    if stamp.exists():
        sizes = json.loads(stamp.read_text())
        same = (sizes.get("side"), sizes.get("areas_per_side"), sizes.get("version")) == (side, areas_per_side, INPUTS_VERSION)
        if same:
            return sizes
    folder.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    sizes = {**make_inputs(folder, side, areas_per_side), "side": side, "areas_per_side": areas_per_side,
             "version": INPUTS_VERSION}
    stamp.write_text(json.dumps(sizes))
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--side", type=int, default=300, help="lattice side (nodes); nodes = side²")
    parser.add_argument("--areas-per-side", type=int, default=6, help="areas = this²")
    parser.add_argument("--workers", default="1,2", help="worker counts to run, e.g. 1,2")
    parser.add_argument("--inputs", type=Path, help="keep the generated inputs here (reused when present)")
    parser.add_argument("--prepare-only", action="store_true", help="write the inputs (--inputs DIR) and stop")
    parser.add_argument("--partition-only", action="store_true", help="partition (timed, driver peak memory) and stop")
    args = parser.parse_args()
    if args.prepare_only and args.inputs is None:
        parser.error("--prepare-only needs --inputs DIR")
    if not WUHAN.exists():
        sys.exit(f"needs {WUHAN}")
    from analysis.batch.areas import read_areas
    from analysis.batch.partition import partition_inputs
    from analysis.batch.task import BatchParams

    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        folder = args.inputs or Path(tmp)
        start = time.perf_counter()
        sizes = prepared_inputs(folder, args.side, args.areas_per_side)
        log(f"inputs {sizes} ready in {time.perf_counter() - start:.1f} s")
        if args.prepare_only:
            return
        generated = peak_rss_mb()  # the driver's peak so far: generating the inputs (none when reused)
        rasters = sorted(str(p) for p in (folder / "rasters").glob("pop_*_tiled.tif"))
        load_before = os.getloadavg()[0]
        start, cpu_start = time.perf_counter(), cpu_seconds()
        areas = read_areas(folder / "areas.gpkg", "code")
        partition = partition_inputs(
            areas, Path(tmp) / "parts", network=folder / "streets.gpkg", network_noded=True,
            facilities=folder / "facilities.gpkg", population=rasters, population_elderly=True, minutes=15, max_snap_m=300,
        )
        partition_s, partition_cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
        driver_mb = peak_rss_mb()
        part_rows = sum(pq.read_metadata(p.files["streets"]).num_rows for p in partition.parts)
        log(f"partitioned in {partition_s:.1f} s, CPU {partition_cpu:.1f} s (driver peak {driver_mb:.0f} MB, "
            f"{part_rows:,} street rows in the parts for {sizes['edges']:,} edges, load {load_before:.1f})")
        if args.partition_only:
            print(json.dumps({"sizes": sizes, "partition_s": partition_s, "partition_cpu_s": partition_cpu,
                              "driver_peak_mb": driver_mb, "peak_before_partition_mb": generated,
                              "part_street_rows": part_rows}))
            return
        runs = {}
        for workers in (int(w) for w in args.workers.split(",")):
            out = Path(tmp) / f"out{workers}"
            (out / "areas").mkdir(parents=True)
            params = BatchParams(out_dir=str(out), rules="jilin-2023", rules_digest="bench", population_elderly=True)
            runs[workers] = run_on(partition.parts, params, workers)
            log(f"{workers} worker(s): {runs[workers]}")
    n = sizes["areas"]
    print(f"\nLattice {args.side}×{args.side} = {sizes['nodes']:,} nodes, {sizes['edges']:,} edges, "
          f"{sizes['facilities']} facilities, {n} areas, Wuhan WorldPop 60+ (10 bands, windows per area)")
    print(f"partition: {partition_s:.1f} s wall, {partition_cpu:.1f} s CPU, driver peak {driver_mb:.0f} MB "
          f"({generated:.0f} MB before partitioning: the inputs were {'generated in this run' if generated > 600 else 'reused'}), "
          f"{part_rows:,} street rows written for {sizes['edges']:,} edges ({part_rows / sizes['edges']:.2f}×)\n")
    print("| workers | batch wall s | areas/min | partition wall s (CPU s) | partition share | wall speed-up | "
          "CPU s per area | CPU-bound speed-up | driver CPU s | worker peak MB | load avg | done / failed |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    base = runs.get(1)
    for workers, run in runs.items():
        speed_up = f"{base['seconds'] / run['seconds']:.2f}×" if base else "-"
        cpu_speed_up = f"{sum(base['worker_cpu_s']) / max(run['worker_cpu_s']):.2f}×" if base else "-"
        share = partition_s / (partition_s + run["seconds"])
        per_area = sum(run["worker_cpu_s"]) / max(1, run["done"] + run["failed"])
        peaks = "/".join(f"{m:.0f}" for m in run["worker_peaks_mb"])
        print(f"| {workers} | {run['seconds']:.1f} | {60 * n / run['seconds']:.1f} | {partition_s:.1f} ({partition_cpu:.1f}) | "
              f"{share:.0%} | {speed_up} | {per_area:.2f} | {cpu_speed_up} | {run['driver_cpu_s']:.1f} | {peaks} | "
              f"{run['load_before']:.0f}-{run['load_after']:.0f} | {run['done']} / {run['failed']} |")
    print(json.dumps({"sizes": sizes, "partition_s": partition_s, "partition_cpu_s": partition_cpu,
                      "driver_peak_mb": driver_mb, "part_street_rows": part_rows, "runs": runs}))


if __name__ == "__main__":
    main()
