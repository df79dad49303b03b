"""Service-area polygons that follow the streets reached, never a convex hull.

Each street is cut once into straight pieces of at most ``SERVICE_AREA_PIECE_M`` metres. Walking
distance along a piece changes by at most one metre per metre, so the distances at its two ends,
computed in one vectorised call, tell whether the piece is reached, missed, or reached up to a
point, where it is cut by linear interpolation. Each piece goes to the facility nearest to its
nearer end (the facility's catchment; together they make up the covered area). Straight runs of
whole pieces of one facility are joined into single segments, and the polygon, every point within
``SERVICE_AREA_BUFFER_M`` of the facility's segments, is traced as a contour of their distance
field (:mod:`coverage.band_contour`, one facility per thread) on a lattice whose spacing is chosen
per facility (:func:`lattice_cells`): ``SERVICE_AREA_CELL_M`` (5 m) where its runs are short and
winding, up to ``SERVICE_AREA_CELL_MAX_M`` (10 m) along long straight ones, where the band's
error, which sits only on its round parts, stays small. That replaced buffering the lines and
unioning the buffers in GEOS, which cost 100-450× a convex hull of the reached nodes (issue 14;
measurements in ``benchmarks/README.md``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import geopandas as gpd
import numba
import numpy as np
import pandas as pd
import shapely

from coverage.band_contour import band_polygons
from coverage.circles import CoverageResult
from coverage.engine import distances_on_edges
from coverage.graph import WalkGraph
from coverage.settings import SERVICE_AREA_BUFFER_M, SERVICE_AREA_CELL_M, SERVICE_AREA_PIECE_M
from layers.defaults import SERVICE_AREA_CELL_ERROR, SERVICE_AREA_CELL_MAX_M


@dataclass(frozen=True)
class StreetPieces:
    """Straight pieces of every edge: the edge, positions of both ends along it (m) and coordinates."""

    edge: np.ndarray
    start_m: np.ndarray
    end_m: np.ndarray
    xy0: np.ndarray
    xy1: np.ndarray


def street_pieces(graph: WalkGraph, edges: np.ndarray, piece_m: float = SERVICE_AREA_PIECE_M) -> StreetPieces:
    """Cut the given edges into straight pieces no longer than ``piece_m`` metres.

    Each straight segment of an edge's line longer than ``piece_m`` is cut into the fewest equal
    pieces no longer than that (as ``shapely.segmentize`` places its points), in numpy rather
    than by building densified lines; segments of no length are left out.
    """
    coords, owner = shapely.get_coordinates(graph.edge_geometry[edges], return_index=True)
    same = np.flatnonzero(owner[1:] == owner[:-1])
    s0 = np.take(coords, same, axis=0)
    s1 = np.take(coords, same + 1, axis=0)
    seg_owner = owner[same]
    seg_d = s1 - s0
    seg_len = np.hypot(seg_d[:, 0], seg_d[:, 1])
    # metres along the edge where each segment starts: running sum, restarted per edge
    running = np.cumsum(seg_len)
    first = np.ones(seg_len.size, dtype=bool)
    first[1:] = seg_owner[1:] != seg_owner[:-1]
    seg_start = running - seg_len - np.maximum.accumulate(np.where(first, running - seg_len, 0.0))
    keep = seg_len > 0
    s0, seg_d, seg_len, seg_owner, seg_start = s0[keep], seg_d[keep], seg_len[keep], seg_owner[keep], seg_start[keep]
    cuts = np.maximum(np.ceil(seg_len / piece_m), 1).astype(np.int64)
    seg = np.repeat(np.arange(seg_len.size), cuts)
    k = np.arange(seg.size) - np.repeat(np.cumsum(cuts) - cuts, cuts)
    part = (seg_len / cuts)[seg]
    length = seg_len[seg]
    f0 = k * part / length
    f1 = np.where(k + 1 == cuts[seg], 1.0, (k + 1) * part / length)
    d = np.take(seg_d, seg, axis=0)
    origin = np.take(s0, seg, axis=0)
    xy0 = origin + f0[:, None] * d
    xy1 = origin + f1[:, None] * d
    piece_owner = seg_owner[seg]
    edge = edges[piece_owner]
    start_m = seg_start[seg] + f0 * length
    end_m = seg_start[seg] + f1 * length
    # edges are measured on their geometry, so scale only guards rounding
    geometry_length = np.bincount(seg_owner, weights=seg_len, minlength=edges.size)[piece_owner]
    scale = np.divide(graph.edge_length_m[edge], geometry_length, out=np.ones_like(start_m), where=geometry_length > 0)
    return StreetPieces(edge, start_m * scale, end_m * scale, xy0, xy1)


def _candidate_edges(result: CoverageResult, reach: float) -> np.ndarray:
    """Edges that may hold reached streets: one end within reach, or a facility on the edge."""
    graph = result.graph
    near = result.nodes.distance_m <= reach
    candidate = near[graph.edge_u] | near[graph.edge_v]
    on = result.facility_snap.on_network
    candidate[result.facility_snap.edge[on]] = True
    return np.flatnonzero(candidate)


#: Below this many positions the walk to street pieces runs on the calling thread only (measured
#: on the 10⁶-node lattice: 220 000 positions take 5 ms of CPU on one thread, 9 ms on two).
SERIAL_POSITIONS = 2_000_000


@dataclass(frozen=True)
class _PieceReach:
    """Every candidate piece with its walking distance at both ends (m) and each end's facility."""

    pieces: StreetPieces
    d0: np.ndarray
    d1: np.ndarray
    l0: np.ndarray
    l1: np.ndarray


def _piece_reach(result: CoverageResult, reach: float, edges: np.ndarray | None = None) -> _PieceReach:
    """Distances at both ends of every piece of ``edges`` (default: every candidate edge)."""
    pieces = street_pieces(result.graph, _candidate_edges(result, reach) if edges is None else edges)
    args = (result.nodes, result.facility_snap, result.labels)
    # both ends in one call of the (parallel) kernel; a small call runs on this thread alone: waking
    # the kernel's thread pool costs more, and its threads then spin for milliseconds beside ours
    n = pieces.edge.size
    both = np.concatenate([pieces.edge, pieces.edge])
    threads = numba.get_num_threads()
    if 2 * n < SERIAL_POSITIONS:
        numba.set_num_threads(1)  # for this thread only
    try:
        d, lab = distances_on_edges(result.graph, both, np.concatenate([pieces.start_m, pieces.end_m]), *args)
    finally:
        numba.set_num_threads(threads)
    return _PieceReach(pieces, d[:n], d[n:], lab[:n], lab[n:])


def _cut(pr: _PieceReach, rows: np.ndarray, reach: float) -> tuple[np.ndarray, np.ndarray]:
    """Pieces ``rows`` from their nearer end, cut where the walk runs out; and their facility labels."""
    d0, d1 = pr.d0[rows], pr.d1[rows]
    near0 = d0 <= d1
    d_near = np.where(near0, d0, d1)
    d_far = np.where(near0, d1, d0)
    label = np.where(near0, pr.l0[rows], pr.l1[rows])
    xy0, xy1 = pr.pieces.xy0[rows], pr.pieces.xy1[rows]
    start = np.where(near0[:, None], xy0, xy1)
    end = np.where(near0[:, None], xy1, xy0)
    length = np.hypot(*(end - start).T)
    # cut partly reached pieces where the walk runs out (distance grows 1 m per m from the near end)
    fraction = np.ones_like(length)
    partial = d_far > reach
    fraction[partial] = np.clip((reach - d_near[partial]) / np.maximum(length[partial], 1e-9), 0.0, 1.0)
    end = start + (end - start) * fraction[:, None]
    return np.stack([start, end], axis=1), label


def reached_pieces(result: CoverageResult, reach_m: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return reached street pieces as an (n, 2, 2) coordinate array and each piece's facility label.

    A piece is reached when its nearer end is within reach; it is cut where the walk runs out, and
    belongs to the facility nearest to its nearer end.

    Parameters
    ----------
    result : CoverageResult
    reach_m : float, optional
        Walking metres that count as reached; default the result's minutes × speed.
    """
    reach = result.reach_m if reach_m is None else reach_m
    pr = _piece_reach(result, reach)
    return _cut(pr, np.flatnonzero(np.minimum(pr.d0, pr.d1) <= reach), reach)


def _node_labels(result: CoverageResult, node: np.ndarray) -> np.ndarray:
    """Facility label of the given nodes (``-1`` where none is in reach), without labelling them all."""
    source, offset, table = result.nodes.label_lookup()
    found = source[node]
    if table.size == 0:
        return found
    return np.where(found >= offset, table[np.maximum(found - offset, 0)], -1)


def reached_runs(result: CoverageResult, reach_m: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The reached pieces of :func:`reached_pieces`, with straight runs of whole pieces joined.

    An edge whose two ends belong to the same facility, with no facility on it and walked end to
    end within reach (its farthest point, (d_u + d_v + length) / 2, within reach), has all its
    pieces whole and of that facility: it is taken as its own straight segments without cutting.
    Other edges are cut into pieces as :func:`reached_pieces` does. Then consecutive segments
    that are reached end to end, belong to the same facility, touch and point the same way
    (one straight stretch of street, also across a junction) become one segment: the same lines,
    so the same band around them, in far fewer segments. Pieces cut by the walk limit stay as
    they are.

    Returns
    -------
    segments : ndarray (n, 2, 2)
        Coordinates (metres, the graph's CRS).
    label : ndarray of int64
        Facility label of each segment.
    """
    reach = result.reach_m if reach_m is None else reach_m
    graph = result.graph
    edges = _candidate_edges(result, reach)
    u, v = graph.edge_u[edges], graph.edge_v[edges]
    label_u = _node_labels(result, u)
    dist = result.nodes.distance_m
    carries = np.zeros(graph.n_edges, dtype=bool)
    carries[result.facility_snap.edge[result.facility_snap.on_network]] = True
    simple = (
        (label_u >= 0)
        & (label_u == _node_labels(result, v))
        & (dist[u] + dist[v] + graph.edge_length_m[edges] <= 2 * reach)
        & ~carries[edges]
    )
    coords, owner = shapely.get_coordinates(graph.edge_geometry[edges[simple]], return_index=True)
    same = owner[1:] == owner[:-1]
    pr = _piece_reach(result, reach, edges[~simple])
    whole_piece = np.maximum(pr.d0, pr.d1) <= reach
    part = np.flatnonzero((np.minimum(pr.d0, pr.d1) <= reach) & ~whole_piece)
    xy0 = np.concatenate([coords[:-1][same], pr.pieces.xy0])
    xy1 = np.concatenate([coords[1:][same], pr.pieces.xy1])
    label = np.concatenate([label_u[simple][owner[:-1][same]], np.where(pr.d0 <= pr.d1, pr.l0, pr.l1)])
    whole = np.concatenate([np.ones(int(same.sum()), dtype=bool), whole_piece])
    runs, run_label = join_straight_runs(xy0[whole], xy1[whole], label[whole])
    cut, cut_label = _cut(pr, part, reach)
    return np.concatenate([runs, cut]), np.concatenate([run_label, cut_label])


#: Odd 64-bit multipliers mixing a line's facility, direction and offset into one sort key.
_MIX = (np.int64(-7046029254386353131), np.int64(-4658895280553007687), np.int64(6364136223846793005))


def join_straight_runs(
    xy0: np.ndarray, xy1: np.ndarray, label: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Join collinear segments of one facility that touch end to start into single segments.

    Segments are turned to one canonical direction and sorted by facility, direction, offset of
    their line from the origin and position along it, so the pieces of one straight line of
    streets follow each other whatever order the edges came in (a street lattice's columns as
    well as its rows). Consecutive ones are joined when they belong to one facility, touch
    exactly and are parallel: their union is the joined segment, so the band around them is the
    same, drawn from far fewer segments (the contour's work grows with the segments' rows).

    Parameters
    ----------
    xy0, xy1 : ndarray (n, 2)
        Segment ends (metres).
    label : ndarray (n,)
        Facility of each segment.

    Returns
    -------
    segments : ndarray (m, 2, 2)
    label : ndarray (m,)
    """
    if label.size == 0:
        return np.empty((0, 2, 2)), label
    step = xy1 - xy0
    flip = (step[:, 0] < 0) | ((step[:, 0] == 0) & (step[:, 1] < 0))
    a = np.where(flip[:, None], xy1, xy0)
    b = np.where(flip[:, None], xy0, xy1)
    step = b - a
    norm = np.hypot(step[:, 0], step[:, 1])
    ux = step[:, 0] / np.maximum(norm, 1e-12)
    uy = step[:, 1] / np.maximum(norm, 1e-12)
    # one key per line (facility, direction to a microradian, offset to a millimetre), mixed into
    # one integer; lines numbered densely, then ordered by line and position along it. Rounding
    # and mixing only decide which segments come next to each other (two lines sharing a key
    # merely interleave); whether they join is decided exactly below.
    angle = np.round(np.arctan2(uy, ux) * 1e6).astype(np.int64)
    offset = np.round((ux * a[:, 1] - uy * a[:, 0]) * 1e3).astype(np.int64)
    line = label.astype(np.int64) * _MIX[0] + angle * _MIX[1] + offset * _MIX[2]
    along = ux * a[:, 0] + uy * a[:, 1]
    along -= along.min()
    _, line_no = np.unique(line, return_inverse=True)
    order = np.argsort(line_no.ravel() * (2.0 * along.max() + 1.0) + along)
    a, b = np.take(a, order, axis=0), np.take(b, order, axis=0)
    step, norm, label = np.take(step, order, axis=0), norm[order], label[order]
    cross = step[1:, 0] * step[:-1, 1] - step[1:, 1] * step[:-1, 0]
    dot = step[1:, 0] * step[:-1, 0] + step[1:, 1] * step[:-1, 1]
    # segment k continues segment k - 1: one facility, touching, the same direction
    joins = (
        (label[1:] == label[:-1])
        & (a[1:, 0] == b[:-1, 0])
        & (a[1:, 1] == b[:-1, 1])
        & (dot > 0)
        & (np.abs(cross) <= 1e-9 * norm[1:] * norm[:-1])
    )
    first = np.flatnonzero(~np.concatenate([[False], joins]))
    last = np.flatnonzero(~np.concatenate([joins, [False]]))
    runs = np.empty((first.size, 2, 2))
    runs[:, 0] = np.take(a, first, axis=0)
    runs[:, 1] = np.take(b, last, axis=0)
    return runs, label[first]


def lattice_cells(
    street_m: np.ndarray,
    runs: np.ndarray,
    buffer_m: float = SERVICE_AREA_BUFFER_M,
    *,
    error: float = SERVICE_AREA_CELL_ERROR,
    fine_m: float = SERVICE_AREA_CELL_M,
    coarse_m: float = SERVICE_AREA_CELL_MAX_M,
) -> np.ndarray:
    """Lattice spacing (metres) for each facility's band, from its runs (``SERVICE_AREA_CELL_ERROR``).

    The traced band is exact along straight runs; only its round parts (at most ``runs × 2πr``
    metres of boundary) are off, by at most cell² / (8 r). Over a band area of about
    ``2 r L + runs × π r²`` (``L`` = ``street_m``) that gives a relative area error of
    cell² × runs × 2πr / (8 r × (2 r L + runs × π r²)); the spacing is the largest one keeping it
    within ``error``, limited to [``fine_m``, ``coarse_m``].

    Parameters
    ----------
    street_m : ndarray (k,)
        Metres of reached street of each facility.
    runs : ndarray (k,)
        Number of straight runs (segments) each facility's band is drawn around.
    buffer_m : float
        Band half-width ``r`` (metres).
    error : float
        Estimated relative area error allowed (share of the area).
    fine_m, coarse_m : float
        Finest and coarsest spacing (metres).

    Returns
    -------
    ndarray (k,) of float64, metres.
    """
    r = float(buffer_m)
    runs = np.maximum(np.asarray(runs, dtype=float), 1.0)
    area = 2 * r * np.asarray(street_m, dtype=float) + runs * np.pi * r * r
    round_m = runs * 2 * np.pi * r
    cell = np.sqrt(error * 8 * r * area / round_m)
    return np.clip(cell, fine_m, max(fine_m, coarse_m))


def _cpu_count() -> int:
    """CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def service_areas(
    result: CoverageResult,
    *,
    buffer_m: float = SERVICE_AREA_BUFFER_M,
    reach_m: float | None = None,
    cell_m: float | None = None,
) -> gpd.GeoDataFrame:
    """Service-area polygon of each facility: the points within ``buffer_m`` metres of its reached streets.

    Parameters
    ----------
    result : CoverageResult
    buffer_m : float
        Half-width of the band around the reached streets (metres).
    reach_m : float, optional
        Walking metres that count as reached; default the result's minutes × speed.
    cell_m : float, optional
        Lattice spacing (metres) of the distance field the band is traced on
        (:mod:`coverage.band_contour`). Default: chosen per facility by :func:`lattice_cells`,
        between ``SERVICE_AREA_CELL_M`` (5 m) where runs are short and winding and
        ``SERVICE_AREA_CELL_MAX_M`` (10 m) along long straight ones.

    Returns
    -------
    GeoDataFrame
        One row per facility with reached streets (metric CRS): ``facility_label``,
        ``reached_street_m`` (metres of street in its catchment), ``area_m2`` and the polygon.
    """
    segments, label = reached_runs(result, reach_m)
    crs = result.graph.crs
    if label.size == 0:
        return gpd.GeoDataFrame({"facility_label": [], "reached_street_m": [], "area_m2": []}, geometry=[], crs=crs)
    order = np.argsort(label, kind="stable")
    segments, label = segments[order], label[order]
    present, group = np.unique(label, return_inverse=True)
    street_m = np.bincount(group, weights=np.hypot(*(segments[:, 1] - segments[:, 0]).T))
    bounds = np.searchsorted(group, np.arange(present.size + 1))
    cells = lattice_cells(street_m, np.diff(bounds), buffer_m) if cell_m is None else np.full(present.size, float(cell_m))
    polygons = band_polygons(segments, bounds, buffer_m, cells, workers=_cpu_count())
    # the frame is built around a geometry array that already has its CRS (twice as fast)
    frame = pd.DataFrame(
        {
            "facility_label": present,
            "reached_street_m": street_m,
            "area_m2": shapely.area(polygons),
            "geometry": gpd.array.from_shapely(polygons, crs=crs),
        }
    )
    return gpd.GeoDataFrame(frame, geometry="geometry")
