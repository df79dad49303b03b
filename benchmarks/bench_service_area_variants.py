"""Street-following service areas (issue 14): the engine against the convex hull and the buffered unions.

Run from the project root (real data from ``../shared/data``)::

    .venv/bin/python benchmarks/bench_service_area_variants.py [--cases helsinki,nanjing,grid1e5,grid1e6]

Each case builds the same walk result as ``bench_engine.py`` (its facilities and population; the
10⁶-node grid needs ~3 GB and minutes), then times, best of ``--repeats`` runs:

- the convex hull of each facility's reached nodes (the cheap peer the target is set against:
  ≤ 10× the hull);
- the engine's ``service_areas`` (reached pieces, straight runs joined, the 50 m band traced on a
  distance lattice of 5-10 m chosen per facility from its runs), on all CPUs and on one thread,
  and its two steps; and the same with the fixed 5 m lattice of before (``cell_m=5``);
- the engine before issue 14's change: the same pieces merged into lines (``line_merge``), one
  GEOS buffer per line (arcs of 4 segments per quarter circle) and a union per facility, on all CPUs;
- the straightforward construction: each reached piece buffered on its own (arcs of 16 segments
  per quarter circle, within 0.2 % of true circles) and the buffers unioned per facility.

For each polygon construction it reports the largest per-facility area error and symmetric
difference against the straightforward one (issue 14's tolerance: area within 0.5 %, symmetric
difference < 1 % of the area), and the load average before the case.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import shapely  # noqa: E402

BUFFER_M = 50.0


def best_of(fn, repeats: int):
    """(fastest wall seconds, its CPU seconds, last output) over ``repeats`` calls."""
    fastest, cpu, out = np.inf, np.inf, None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall = time.perf_counter() - t0
        if wall < fastest:
            fastest, cpu = wall, time.process_time() - c0
    return fastest, cpu, out


def run(name: str, repeats: int) -> list[tuple]:
    import bench_engine as bench

    import coverage.service_areas as module
    from coverage.band_contour import band_polygons
    from coverage.circles import compute_coverage
    from coverage.service_areas import lattice_cells, reached_pieces, reached_runs, service_areas
    from coverage.settings import SERVICE_AREA_CELL_M

    load = os.getloadavg()[0]
    graph, node_xy, fac_pts, pop_pts, *_ = bench.make_case(name)
    fac = gpd.GeoDataFrame({"name": np.arange(fac_pts.size)}, geometry=fac_pts, crs=graph.crs)
    pop = gpd.GeoDataFrame(
        {"population": np.full(pop_pts.size, 10.0), "elderly_population": np.full(pop_pts.size, 2.5)},
        geometry=pop_pts, crs=graph.crs,
    )
    result = compute_coverage(graph, fac, pop, speed="general")
    reach, dist, owner = result.reach_m, result.nodes.distance_m, result.nodes.facility
    big = name == "grid1e6"
    slow_repeats = 1 if big else repeats

    def hull():
        ok = (dist <= reach) & (owner >= 0)
        order = np.argsort(owner[ok], kind="stable")
        return shapely.convex_hull(
            shapely.multipoints(node_xy[ok][order], indices=np.unique(owner[ok][order], return_inverse=True)[1])
        )

    service_areas(result)  # compiles / loads the kernels
    rows = []
    t_hull, c_hull, _ = best_of(hull, max(repeats, 5))
    t_engine, c_engine, areas = best_of(lambda: service_areas(result), repeats)
    labels = areas["facility_label"].to_numpy()
    engine = areas.geometry.to_numpy()
    real_count = module._cpu_count
    module._cpu_count = lambda: 1
    try:
        t_one, c_one, _ = best_of(lambda: service_areas(result), repeats)
    finally:
        module._cpu_count = real_count
    t_fixed, c_fixed, fixed = best_of(lambda: service_areas(result, cell_m=SERVICE_AREA_CELL_M), repeats)
    t_runs, c_runs, (segments, label) = best_of(lambda: reached_runs(result), repeats)
    order = np.argsort(label, kind="stable")
    segments, label = segments[order], label[order]
    present, group = np.unique(label, return_inverse=True)
    bounds = np.searchsorted(group, np.arange(present.size + 1))
    street_m = np.bincount(group, weights=np.hypot(*(segments[:, 1] - segments[:, 0]).T))
    cells = lattice_cells(street_m, np.diff(bounds), BUFFER_M)
    t_trace, c_trace, _ = best_of(lambda: band_polygons(segments, bounds, BUFFER_M, cells), repeats)

    pieces, piece_label = reached_pieces(result)
    p_order = np.argsort(piece_label, kind="stable")
    lines = shapely.linestrings(pieces[p_order])
    p_present, p_group = np.unique(piece_label[p_order], return_inverse=True)
    p_bounds = np.searchsorted(p_group, np.arange(p_present.size + 1))
    assert np.array_equal(p_present, labels)

    def before():  # the engine's polygon step before issue 14's change (pieces found as now)
        merged = shapely.line_merge(shapely.multilinestrings(lines, indices=p_group))
        parts, part_owner = shapely.get_parts(merged, return_index=True)
        cut = np.searchsorted(part_owner, np.arange(p_present.size + 1))
        workers = module._cpu_count()
        with ThreadPoolExecutor(workers) as pool:
            chunks = np.array_split(np.arange(parts.size), workers)
            bands = np.concatenate(list(pool.map(lambda r: shapely.buffer(parts[r], BUFFER_M, quad_segs=4), chunks)))
            return np.array(list(pool.map(lambda i: shapely.union_all(bands[cut[i] : cut[i + 1]]), range(p_present.size))))

    def straightforward():
        bands = shapely.buffer(lines, BUFFER_M, quad_segs=16)
        return np.array([shapely.union_all(bands[p_bounds[i] : p_bounds[i + 1]]) for i in range(p_present.size)])

    t_before, c_before, old = best_of(before, slow_repeats)
    t_ref, c_ref, ref = best_of(straightforward, slow_repeats)
    ref_area = shapely.area(ref)

    def errors(polys):
        return (
            float(np.max(np.abs(shapely.area(polys) / ref_area - 1))),
            float(np.max(shapely.area(shapely.symmetric_difference(polys, ref)) / ref_area)),
            float(shapely.area(polys).sum() / ref_area.sum() - 1),
        )

    nan3 = (np.nan, np.nan, np.nan)
    rows.append((name, load, "convex hull of reached nodes (peer)", t_hull, c_hull, (t_hull, c_hull), nan3))
    rows.append((name, load, "engine service_areas (2 threads)", t_engine, c_engine, (t_hull, c_hull), errors(engine)))
    rows.append((name, load, "engine service_areas, one thread", t_one, c_one, (t_hull, c_hull), errors(engine)))
    rows.append((name, load, "  of which reached_runs", t_runs, c_runs, (t_hull, c_hull), nan3))
    rows.append((name, load, "  of which band tracing, one thread", t_trace, c_trace, (t_hull, c_hull), nan3))
    rows.append((name, load, "engine, fixed 5 m lattice (cell_m=5; 2 threads)", t_fixed, c_fixed, (t_hull, c_hull),
                 errors(fixed.geometry.to_numpy())))
    rows.append((name, load, "engine before (line_merge, buffer, union; 2 threads)", t_before, c_before, (t_hull, c_hull), errors(old)))
    rows.append((name, load, "straightforward union of buffered pieces (reference)", t_ref, c_ref, (t_hull, c_hull), errors(ref)))
    print(f"{name}: {graph.n_nodes} nodes, {present.size} facilities, {piece_label.size} pieces, "
          f"{label.size} runs, lattice cells {cells.min():.1f}-{cells.max():.1f} m (median {np.median(cells):.1f})",
          file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="helsinki,nanjing,grid1e5")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    rows = []
    for name in args.cases.split(","):
        print(f"{name} ...", file=sys.stderr, flush=True)
        rows += run(name, args.repeats)

    def pct(v: float) -> str:
        return "—" if not np.isfinite(v) else f"{v:.2%}"

    print("\n| case | load avg | polygons by | wall s (best) | CPU s | × hull (wall) | × hull (CPU) | max area error "
          "| max sym. diff. | total area |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, load, label_, t, c, (t_hull, c_hull), (area_err, sym, total) in rows:
        print(f"| {name} | {load:.1f} | {label_} | {t:.4f} | {c:.4f} | {t / t_hull:.1f}× | {c / c_hull:.1f}× | "
              f"{pct(area_err)} | {pct(sym)} | {pct(total)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
