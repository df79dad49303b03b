"""Small builders for hand-made street graphs and an independent networkx reference."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from coverage.circles import CoverageResult
from coverage.graph import WalkGraph, build_walk_graph
from coverage.snapping import SnappedPoints

METRIC_CRS = "EPSG:32650"  # UTM 50N (Nanjing): hand-made layers are in metres


def lines_network(segments: list[tuple[tuple[float, float], tuple[float, float]]]) -> gpd.GeoDataFrame:
    """Edges from ((x0, y0), (x1, y1)) pairs in metres; nodes are shared end points."""
    coords = {}
    u, v, geoms = [], [], []
    for a, b in segments:
        for p in (a, b):
            coords.setdefault(p, len(coords))
        u.append(coords[a])
        v.append(coords[b])
        geoms.append(shapely.LineString([a, b]))
    return gpd.GeoDataFrame({"u": u, "v": v}, geometry=geoms, crs=METRIC_CRS)


def grid_network(n: int, spacing_m: float = 100.0) -> gpd.GeoDataFrame:
    """An n × n street grid with ``spacing_m`` between junctions."""
    segments = []
    for i in range(n):
        for j in range(n):
            p = (i * spacing_m, j * spacing_m)
            if i + 1 < n:
                segments.append((p, ((i + 1) * spacing_m, j * spacing_m)))
            if j + 1 < n:
                segments.append((p, (i * spacing_m, (j + 1) * spacing_m)))
    return lines_network(segments)


def points(xy: list[tuple[float, float]], **columns) -> gpd.GeoDataFrame:
    """Points in metres with optional columns."""
    return gpd.GeoDataFrame(columns, geometry=[shapely.Point(p) for p in xy], crs=METRIC_CRS)


def population(xy: list[tuple[float, float]], counts: list[float] | None = None) -> gpd.GeoDataFrame:
    """Population points with ``population`` and a quarter of it as ``elderly_population``."""
    counts = counts or [100.0] * len(xy)
    return points(xy, population=counts, elderly_population=[c / 4 for c in counts])


def graph_of(edges: gpd.GeoDataFrame) -> WalkGraph:
    """Build the walking graph in the hand-made layers' CRS."""
    return build_walk_graph(edges, crs=METRIC_CRS)


def reference_distances(result: CoverageResult) -> np.ndarray:
    """Walking metres from the nearest facility to each population unit, computed with networkx.

    Independent of the engine's arithmetic: every snapped point is inserted into a networkx graph
    by splitting its edge at the joining point (points on one edge are chained in order along it),
    with the access leg as an extra edge; then ``multi_source_dijkstra_path_length``. The snapping
    itself (nearest point on the nearest edge) is the engine's, as the rule W4 defines it.
    """
    graph = result.graph
    fac_snap = result.facility_snap
    pop_snap = result.population_snap
    snapped = SnappedPoints.concat([fac_snap, pop_snap])
    n_fac = len(fac_snap)
    g = nx.Graph()
    best: dict[tuple[int, int], float] = {}
    for u, v, length in zip(graph.edge_u.tolist(), graph.edge_v.tolist(), graph.edge_length_m.tolist()):
        if u == v:
            continue
        key = (min(u, v), max(u, v))
        best[key] = min(best.get(key, np.inf), length)
    split_edges = set(snapped.edge[snapped.edge >= 0].tolist())
    for (a, b), length in best.items():
        g.add_edge(a, b, length=length)
    for e in split_edges:
        u, v, length = int(graph.edge_u[e]), int(graph.edge_v[e]), float(graph.edge_length_m[e])
        which = np.flatnonzero(snapped.edge == e)
        order = which[np.argsort(snapped.offset_m[which], kind="stable")]
        previous, previous_pos = u, 0.0
        for k in order:
            joint = ("joint", int(k))
            g.add_edge(previous, joint, length=float(snapped.offset_m[k]) - previous_pos)
            g.add_edge(joint, ("point", int(k)), length=float(snapped.access_m[k]))
            previous, previous_pos = joint, float(snapped.offset_m[k])
        g.add_edge(previous, v, length=length - previous_pos)
    sources = [("point", k) for k in range(n_fac) if fac_snap.edge[k] >= 0]
    lengths = nx.multi_source_dijkstra_path_length(g, sources, weight="length") if sources else {}
    out = np.full(len(pop_snap), np.inf)
    for i in range(len(pop_snap)):
        out[i] = lengths.get(("point", n_fac + i), np.inf)
    return out
