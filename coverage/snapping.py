"""Joining points to the walking graph at the nearest point on the nearest walkable street (W4)."""

from __future__ import annotations

import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, TypeVar

import numpy as np
import shapely

from coverage.graph import WalkGraph
from coverage.segment_grid import NearestPieces
from layers.defaults import TWO_THREAD_MIN_POINTS

T = TypeVar("T")


@dataclass(frozen=True)
class SnappedPoints:
    """Where each point joins the street network.

    Attributes
    ----------
    edge : ndarray of int64
        Index of the nearest edge, ``-1`` for points off-network.
    offset_m : ndarray of float64
        Distance along that edge from its ``u`` end to the joining point, in metres.
    access_m : ndarray of float64
        Straight distance from the point to the street (walked too), in metres; NaN off-network.
    """

    edge: np.ndarray
    offset_m: np.ndarray
    access_m: np.ndarray

    @property
    def on_network(self) -> np.ndarray:
        """Which points are within the snapping limit of a walkable street."""
        return self.edge >= 0

    def __len__(self) -> int:
        return int(self.edge.size)

    def edge_ends(self, graph: WalkGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """End nodes and length (metres) of each point's edge on ``graph``, kept for reuse.

        Reading them here once, in edge order, spares every later walk to these points three
        scattered reads into the graph's edge arrays (``coverage.engine.distances_on_edges``).
        """
        cached = self.__dict__.get("_edge_ends")
        if cached is None or cached[0]() is not graph:
            self.keep_edge_ends(graph, graph.edge_ends(self.edge))
        return self.__dict__["_edge_ends"][1]

    def keep_edge_ends(self, graph: WalkGraph, ends: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        """Remember the edge ends on ``graph`` found while snapping (see :meth:`edge_ends`)."""
        self.__dict__["_edge_ends"] = (weakref.ref(graph), ends)

    def subset(self, mask: np.ndarray) -> SnappedPoints:
        """Return the snapped points selected by a boolean mask or an index array."""
        return SnappedPoints(self.edge[mask], self.offset_m[mask], self.access_m[mask])

    @staticmethod
    def concat(parts: list[SnappedPoints]) -> SnappedPoints:
        """Join several sets of snapped points, in order."""
        return SnappedPoints(
            np.concatenate([p.edge for p in parts]),
            np.concatenate([p.offset_m for p in parts]),
            np.concatenate([p.access_m for p in parts]),
        )


def point_coordinates(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and y of each geometry (metres), NaN for missing or empty ones.

    A point gives its coordinates; any other geometry (a polygon unit) gives a point inside it
    (``point_on_surface``). Reading 10⁵ shapely objects costs about as much as snapping them, so
    the common case (all points) walks them twice (``get_x``, ``get_y``), not once per property.
    """
    points = np.asarray(points, dtype=object)
    try:
        x, y = _x_and_y(points)  # NaN for None and for non-points
    except shapely.errors.GEOSException:  # an empty point somewhere
        return _any_geometry_coordinates(points)
    other = np.flatnonzero(np.isnan(x))
    if other.size:
        x[other], y[other] = _any_geometry_coordinates(points[other])
    return x, y


def _x_and_y(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``shapely.get_x`` and ``get_y``; side by side on two threads for large layers (GEOS releases
    the GIL: 3.6 → 2.1 ms for 10⁵ points)."""
    if points.size < TWO_THREAD_MIN_POINTS:
        return shapely.get_x(points), shapely.get_y(points)
    with ThreadPoolExecutor(1) as pool:
        y = pool.submit(shapely.get_y, points)
        return shapely.get_x(points), y.result()


def _any_geometry_coordinates(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`point_coordinates` for any mix of points, other geometries, empties and None."""
    n = geoms.size
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    count = np.bincount(owner, minlength=n)
    single = count == 1
    first = np.cumsum(count) - count
    x[single] = coords[first[single], 0]
    y[single] = coords[first[single], 1]
    other = np.flatnonzero(count > 1)
    if other.size:
        inside = shapely.get_coordinates(shapely.point_on_surface(geoms[other]))
        x[other], y[other] = inside[:, 0], inside[:, 1]
    return x, y


def snap_points(graph: WalkGraph, points: np.ndarray, max_snap_m: float) -> SnappedPoints:
    """Snap points (shapely geometries in ``graph.crs``) to the nearest point of the nearest edge.

    Exact (:class:`coverage.segment_grid.SegmentGrid`): the same answer as GEOS's STRtree
    (:func:`snap_points_strtree`), 35-60× faster on 10⁵ points (``benchmarks/``).

    Parameters
    ----------
    graph : WalkGraph
        The walking graph.
    points : ndarray of shapely geometries
        Points in the graph's metric CRS (other geometries join at a point inside them); missing
        or empty ones are left off-network.
    max_snap_m : float
        Points farther than this many metres from every edge are left off-network (``edge == -1``).

    Returns
    -------
    SnappedPoints
    """
    x, y = point_coordinates(points)
    return _snapped(graph, graph.segment_grid.nearest(x, y, max_snap_m))


def snap_points_while(
    graph: WalkGraph, points: np.ndarray, max_snap_m: float, task: Callable[[], T]
) -> tuple[SnappedPoints, T]:
    """:func:`snap_points` on a worker thread while ``task()`` runs on this one.

    For independent work that holds the GIL, such as the Dijkstra pass
    (:meth:`coverage.segment_grid.SegmentGrid.nearest_while`; used by
    :func:`coverage.circles.compute_coverage` on large graphs). Returns the snapped points and
    the task's result.
    """
    x, y = point_coordinates(points)
    grid = graph.segment_grid  # built here: never on two threads at once
    found, result = grid.nearest_while(x, y, max_snap_m, task)
    return _snapped(graph, found), result


def _snapped(graph: WalkGraph, found: NearestPieces) -> SnappedPoints:
    snapped = SnappedPoints(found.edge, found.along_m, found.distance_m)
    snapped.keep_edge_ends(graph, found.edge_ends)
    return snapped


def snap_points_strtree(graph: WalkGraph, points: np.ndarray, max_snap_m: float) -> SnappedPoints:
    """The same as :func:`snap_points` through GEOS's STRtree (reference for tests and benchmarks)."""
    points = np.asarray(points, dtype=object)
    n = points.size
    edge = np.full(n, -1, dtype=np.int64)
    offset_m = np.full(n, np.nan)
    access_m = np.full(n, np.nan)
    valid = ~(shapely.is_missing(points) | shapely.is_empty(points))
    if n == 0 or not valid.any():
        return SnappedPoints(edge, offset_m, access_m)
    index = np.flatnonzero(valid)
    # No max_distance: it makes GEOS run an extra range query per point (1.3-2.5x slower);
    # the limit is applied to the returned distances instead.
    (which, nearest), distance = graph.edge_tree.query_nearest(
        points[index], return_distance=True, all_matches=False
    )
    near = distance <= max_snap_m
    which, nearest, distance = which[near], nearest[near], distance[near]
    hit = index[which]
    edge[hit] = nearest
    access_m[hit] = distance
    lines = graph.edge_geometry[nearest]
    along = shapely.line_locate_point(lines, points[hit])
    line_length = shapely.length(lines)
    scale = np.divide(graph.edge_length_m[nearest], line_length, out=np.zeros_like(line_length), where=line_length > 0)
    offset_m[hit] = np.clip(along * scale, 0.0, graph.edge_length_m[nearest])
    return SnappedPoints(edge, offset_m, access_m)
