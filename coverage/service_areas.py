"""Service-area polygons that follow the streets reached, never a convex hull.

Each street is cut once into straight pieces of at most ``SERVICE_AREA_PIECE_M`` metres. Walking
distance along a piece changes by at most one metre per metre, so the distances at its two ends,
computed in one vectorised call, tell whether the piece is reached, missed, or reached up to a
point, where it is cut by linear interpolation. Each piece goes to the facility nearest to its
nearer end (the facility's catchment; together they make up the covered area). A facility's
reached pieces are merged into long lines (``line_merge``), which are buffered in one vectorised
call and unioned per facility: far fewer, larger buffers than one per edge, and no noding of all
lines at once (which buffering a whole MultiLineString does, ~30× slower). Buffers and unions run
on one thread per CPU (GEOS releases the GIL; 1.8× faster on 2 cores). See ``benchmarks/``.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from coverage.circles import CoverageResult
from coverage.engine import distances_on_edges
from coverage.graph import WalkGraph
from coverage.settings import SERVICE_AREA_BUFFER_M, SERVICE_AREA_PIECE_M


@dataclass(frozen=True)
class StreetPieces:
    """Straight pieces of every edge: the edge, positions of both ends along it (m) and coordinates."""

    edge: np.ndarray
    start_m: np.ndarray
    end_m: np.ndarray
    xy0: np.ndarray
    xy1: np.ndarray


def street_pieces(graph: WalkGraph, edges: np.ndarray, piece_m: float = SERVICE_AREA_PIECE_M) -> StreetPieces:
    """Cut the given edges into straight pieces no longer than ``piece_m`` metres."""
    dense = shapely.segmentize(graph.edge_geometry[edges], piece_m)
    coords, owner = shapely.get_coordinates(dense, return_index=True)
    same = owner[1:] == owner[:-1]
    xy0 = coords[:-1][same]
    xy1 = coords[1:][same]
    edge = edges[owner[:-1][same]]
    step = np.hypot(*(xy1 - xy0).T)
    # position along the edge: cumulative length within each edge
    cumulative = np.cumsum(step)
    first = np.ones(edge.size, dtype=bool)
    first[1:] = edge[1:] != edge[:-1]
    base = np.maximum.accumulate(np.where(first, cumulative - step, 0.0))
    end_m = cumulative - base
    start_m = end_m - step
    # edges are measured on their geometry, so scale only guards rounding
    geometry_length = shapely.length(graph.edge_geometry)[edge]
    scale = np.divide(graph.edge_length_m[edge], geometry_length, out=np.ones_like(step), where=geometry_length > 0)
    return StreetPieces(edge, start_m * scale, end_m * scale, xy0, xy1)


def _candidate_edges(result: CoverageResult, reach: float) -> np.ndarray:
    """Edges that may hold reached streets: one end within reach, or a facility on the edge."""
    graph = result.graph
    near = result.nodes.distance_m <= reach
    candidate = near[graph.edge_u] | near[graph.edge_v]
    on = result.facility_snap.on_network
    candidate[result.facility_snap.edge[on]] = True
    return np.flatnonzero(candidate)


def reached_pieces(result: CoverageResult, reach_m: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return reached street pieces as an (n, 2, 2) coordinate array and each piece's facility label.

    Parameters
    ----------
    result : CoverageResult
    reach_m : float, optional
        Walking metres that count as reached; default the result's minutes × speed.
    """
    reach = result.reach_m if reach_m is None else reach_m
    pieces = street_pieces(result.graph, _candidate_edges(result, reach))
    labels = result.labels
    args = (result.nodes, result.facility_snap, labels)
    d0, l0 = distances_on_edges(result.graph, pieces.edge, pieces.start_m, *args)
    d1, l1 = distances_on_edges(result.graph, pieces.edge, pieces.end_m, *args)
    near0 = d0 <= d1
    d_near = np.where(near0, d0, d1)
    keep = d_near <= reach
    d_near, d_far, near0 = d_near[keep], np.where(near0, d1, d0)[keep], near0[keep]
    label = np.where(near0, l0[keep], l1[keep])
    start = np.where(near0[:, None], pieces.xy0[keep], pieces.xy1[keep])
    end = np.where(near0[:, None], pieces.xy1[keep], pieces.xy0[keep])
    length = np.hypot(*(end - start).T)
    # cut partly reached pieces where the walk runs out (distance grows 1 m per m from the near end)
    fraction = np.ones_like(length)
    partial = d_far > reach
    fraction[partial] = np.clip((reach - d_near[partial]) / np.maximum(length[partial], 1e-9), 0.0, 1.0)
    end = start + (end - start) * fraction[:, None]
    return np.stack([start, end], axis=1), label


def _cpu_count() -> int:
    """CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def service_areas(
    result: CoverageResult, *, buffer_m: float = SERVICE_AREA_BUFFER_M, reach_m: float | None = None
) -> gpd.GeoDataFrame:
    """Service-area polygon of each facility: its reached streets buffered by ``buffer_m`` metres.

    Returns
    -------
    GeoDataFrame
        One row per facility with reached streets (metric CRS): ``facility_label``,
        ``reached_street_m`` (metres of street in its catchment), ``area_m2`` and the polygon.
    """
    segments, label = reached_pieces(result, reach_m)
    crs = result.graph.crs
    if label.size == 0:
        return gpd.GeoDataFrame({"facility_label": [], "reached_street_m": [], "area_m2": []}, geometry=[], crs=crs)
    order = np.argsort(label, kind="stable")
    segments, label = segments[order], label[order]
    lines = shapely.linestrings(segments)
    present, group = np.unique(label, return_inverse=True)
    street_m = np.bincount(group, weights=shapely.length(lines))
    # Merge each facility's pieces into long lines, buffer those (vectorised), then union per facility.
    # Buffering a whole MultiLineString at once is ~30x slower: GEOS nodes all lines together first.
    merged = shapely.line_merge(shapely.multilinestrings(lines, indices=group))
    parts, owner = shapely.get_parts(merged, return_index=True)
    bounds = np.searchsorted(owner, np.arange(present.size + 1))
    workers = _cpu_count()
    with ThreadPoolExecutor(workers) as pool:
        chunks = np.array_split(np.arange(parts.size), workers)
        bands = np.concatenate(list(pool.map(lambda rows: shapely.buffer(parts[rows], buffer_m, quad_segs=4), chunks)))
        unions = pool.map(lambda i: shapely.union_all(bands[bounds[i] : bounds[i + 1]]), range(present.size))
        polygons = np.empty(present.size, dtype=object)
        polygons[:] = list(unions)
    return gpd.GeoDataFrame(
        {"facility_label": present, "reached_street_m": street_m, "area_m2": shapely.area(polygons)},
        geometry=polygons,
        crs=crs,
    )
