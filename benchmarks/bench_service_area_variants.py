"""Street-following service areas (issue 14): the current engine against faster variants and the hull.

Run from the project root (real data from ``../shared/data``)::

    .venv/bin/python benchmarks/bench_service_area_variants.py [--cases helsinki,nanjing,grid1e4]

Each case builds the same walk result as ``bench_engine.py`` (its facilities and population), then
times, best of ``--repeats`` runs on a loaded machine, the engine's ``service_areas`` (reached
street pieces, ``line_merge``, one 50 m buffer per merged line, union per facility), the convex hull of
each facility's reached nodes (the cheap peer the target is set against: ≤ 10× the hull) and
variants of the polygon step on the same reached pieces. For every variant it reports the largest
per-facility area error and symmetric difference against the engine's polygons (tolerance of issue
14: areas within 0.5 %, symmetric difference < 1 % of the area).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
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
    """(fastest seconds, last output) over ``repeats`` calls."""
    fastest, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        fastest = min(fastest, time.perf_counter() - t0)
    return fastest, out


def run(name: str, repeats: int) -> list[tuple]:
    import bench_engine as bench
    from rasterio import features
    from rasterio.transform import from_origin

    from coverage.circles import compute_coverage
    from coverage.service_areas import reached_pieces, service_areas

    graph, node_xy, fac_pts, pop_pts, *_ = bench.make_case(name)
    fac = gpd.GeoDataFrame({"name": np.arange(fac_pts.size)}, geometry=fac_pts, crs=graph.crs)
    pop = gpd.GeoDataFrame(
        {"population": np.full(pop_pts.size, 10.0), "elderly_population": np.full(pop_pts.size, 2.5)},
        geometry=pop_pts, crs=graph.crs,
    )
    result = compute_coverage(graph, fac, pop, speed="general")
    reach, dist, owner = result.reach_m, result.nodes.distance_m, result.nodes.facility

    def hull():
        ok = (dist <= reach) & (owner >= 0)
        order = np.argsort(owner[ok], kind="stable")
        return shapely.convex_hull(
            shapely.multipoints(node_xy[ok][order], indices=np.unique(owner[ok][order], return_inverse=True)[1])
        )

    rows = []
    t_hull, _ = best_of(hull, max(repeats, 5))
    t_engine, areas = best_of(lambda: service_areas(result), repeats)
    ref = areas.geometry.to_numpy()
    ref_area = shapely.area(ref)
    t_pieces, _ = best_of(lambda: reached_pieces(result), repeats)
    rows.append((name, "convex hull (peer)", t_hull, t_hull, np.nan, np.nan))
    rows.append((name, "engine service_areas (current)", t_engine, t_hull, 0.0, 0.0))
    rows.append((name, "  of which reached_pieces", t_pieces, t_hull, np.nan, np.nan))

    segments, label = reached_pieces(result)
    order = np.argsort(label, kind="stable")
    lines = shapely.linestrings(segments[order])
    present, group = np.unique(label[order], return_inverse=True)
    merged = shapely.line_merge(shapely.multilinestrings(lines, indices=group))
    parts, part_owner = shapely.get_parts(merged, return_index=True)
    bounds = np.searchsorted(part_owner, np.arange(present.size + 1))

    def per_facility(pieces, quad_segs=4, **union_kw):
        bands = shapely.buffer(pieces, BUFFER_M, quad_segs=quad_segs)
        return np.array(
            [shapely.union_all(bands[bounds[i] : bounds[i + 1]], **union_kw) for i in range(present.size)], dtype=object
        )

    def raster(cell_m: float):
        bands = shapely.buffer(parts, BUFFER_M, quad_segs=4)
        out = []
        for i in range(present.size):
            b = bands[bounds[i] : bounds[i + 1]]
            x0, y0, x1, y1 = shapely.total_bounds(b)
            shape = (int(np.ceil((y1 - y0) / cell_m)) + 1, int(np.ceil((x1 - x0) / cell_m)) + 1)
            transform = from_origin(x0, y1, cell_m, cell_m)
            mask = features.rasterize(((g, 1) for g in b), out_shape=shape, transform=transform, dtype="uint8")
            polys = [shapely.geometry.shape(g) for g, _ in features.shapes(mask, mask=mask.astype(bool), transform=transform)]
            out.append(shapely.union_all(polys))
        return np.array(out, dtype=object)

    simplified = shapely.simplify(parts, 0.5)
    variants = {
        "buffer + union, one thread (the engine's core)": lambda: per_facility(parts),
        "simplify merged lines 0.5 m first": lambda: per_facility(simplified),
        "quad_segs=2": lambda: per_facility(simplified, 2),
        "union with grid_size=1 m": lambda: per_facility(simplified, 4, grid_size=1.0),
        "buffer a MultiLineString per facility": lambda: shapely.buffer(
            shapely.multilinestrings(simplified, indices=part_owner), BUFFER_M, quad_segs=4
        ),
        "rasterise 5 m + vectorise": lambda: raster(5.0),
        "rasterise 2 m + vectorise": lambda: raster(2.0),
    }
    for label_, fn in variants.items():
        slow = "MultiLineString" in label_ and name.startswith("grid")
        t, polys = best_of(fn, 1 if slow or "MultiLineString" in label_ else repeats)
        area_err = float(np.max(np.abs(shapely.area(polys) / ref_area - 1)))
        sym = float(np.max(shapely.area(shapely.symmetric_difference(polys, ref)) / ref_area))
        rows.append((name, label_, t, t_hull, area_err, sym))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="helsinki,nanjing,grid1e4")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    rows = []
    for name in args.cases.split(","):
        print(f"{name} ...", file=sys.stderr, flush=True)
        rows += run(name, args.repeats)
    print("\n| case | polygons by | seconds (best of N) | × hull | max area error | max sym. difference |")
    print("|---|---|---:|---:|---:|---:|")
    def fmt(v: float) -> str:
        return "—" if not np.isfinite(v) else f"{v:.2%}"

    for name, label_, t, t_hull, area_err, sym in rows:
        print(f"| {name} | {label_} | {t:.4f} | {t / t_hull:.0f}× | {fmt(area_err)} | {fmt(sym)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
