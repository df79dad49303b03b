"""Exact nearest-street queries for many points at once: street pieces binned in a uniform grid.

GEOS's ``STRtree.query_nearest`` answers one point at a time through a tree of whole edge lines;
for 10⁵ population points on a city graph that dominated the whole 15-minute query
(``benchmarks/``). Here every edge is cut into straight pieces no longer than a cell, each piece
is entered in every grid cell its bounding box touches (entries are stored cell by cell, so a
cell's entries are contiguous in memory), and all points are answered in one compiled pass
(:func:`coverage.kernels.nearest_pieces`), ring of cells by ring of cells around each point:

* ring 0 is the point's own cell, ring ``r`` the cells at Chebyshev distance ``r`` around it;
* after ring ``r`` every piece not yet looked at lies outside the ``2r + 1`` cells around the
  point, so it is at least ``r × cell + (distance from the point to its own cell's border)``
  away. A point whose best piece is closer than that is finished: the answer is exact, not an
  approximation (and a point with a street through its own cell often finishes after ring 0);
* a point is also finished (off-network) once that bound passes the snapping limit.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, TypeVar

import numpy as np
import shapely

from coverage.kernels import cell_number, nearest_pieces, tile_order
from layers.defaults import (
    MAX_CELL_M,
    MAX_CELLS,
    MIN_CELL_M,
    ORIGIN_SHIFT,
    PIECE_SHARE,
    TILE_CELLS,
    TILE_SORT_MIN_POINTS,
)

T = TypeVar("T")


def _aligned_empty(shape: tuple[int, ...], dtype: type, align: int = 64) -> np.ndarray:
    """An uninitialised array whose data starts on an ``align``-byte boundary (one cache line)."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    buffer = np.empty(nbytes + align, dtype=np.uint8)
    skip = -buffer.ctypes.data % align
    return buffer[skip : skip + nbytes].view(dtype).reshape(shape)


@dataclass(frozen=True)
class NearestPieces:
    """For each query point, where the nearest street is (``edge == -1``: none within the limit).

    Attributes
    ----------
    edge : ndarray of int64
        Edge of the walking graph.
    along_m : ndarray of float64
        Metres along that edge (from its ``u`` end) to the nearest point; NaN where none.
    distance_m : ndarray of float64
        Straight metres from the point to it; NaN where none.
    edge_ends : (u, v, length_m)
        End nodes and length (metres) of that edge; 0 where none.
    """

    edge: np.ndarray
    along_m: np.ndarray
    distance_m: np.ndarray
    edge_ends: tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True, eq=False)
class SegmentGrid:
    """Straight street pieces entered in every grid cell they touch, entries stored cell by cell.

    The search reads, per point, the cell's entries (scanned in sequence) and then one cache line
    for the answer: everything it needs about the nearest piece sits in that piece's row of
    ``pieces``. (Spreading the same facts over six arrays cost a third more on 10⁵ scattered
    points; ``benchmarks/``.)

    Attributes
    ----------
    entries : ndarray of float32, shape (n_entries, 5)
        Per entry (a piece in one cell), ordered by cell: the piece's start relative to the
        lower-left corner of that cell and its vector (metres), then the piece's row in
        ``pieces`` (int32 bits: ``entries.view(np.int32)[:, 4]``). The search scans these
        (20 bytes an entry); near ties and the answer use ``pieces``.
    pieces : ndarray of float64, shape (n_pieces, 8), rows 64-byte aligned
        Per piece: start x, start y, vector x, vector y (metres, the graph's CRS), metres along
        its edge (from ``u``) where it starts, the edge's length (metres), then three int32 in the
        last two slots (read through :attr:`piece_ints`): edge, ``u``, ``v``.
    origin_x, origin_y : float
        Lower-left corner of cell (0, 0), metres.
    cell_m : float
        Side of a cell, metres.
    nx, ny : int
        Number of cell columns and rows.
    cell_start : ndarray of int32/int64
        The entries of cell ``c = cell_number(ix, iy, ny)`` are rows ``cell_start[c]:cell_start[c + 1]``.
    """

    entries: np.ndarray
    pieces: np.ndarray
    origin_x: float
    origin_y: float
    cell_m: float
    nx: int
    ny: int
    cell_start: np.ndarray

    @property
    def piece_ints(self) -> np.ndarray:
        """``pieces`` seen as int32, shape (n_pieces, 16): columns 12, 13, 14 hold edge, u, v."""
        return self.pieces.view(np.int32)

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays, bytes."""
        return sum(a.nbytes for a in (self.entries, self.pieces, self.cell_start))

    # ----- building ---------------------------------------------------------------------------
    @classmethod
    def from_edges(
        cls,
        lines: np.ndarray,
        edge_u: np.ndarray,
        edge_v: np.ndarray,
        edge_length_m: np.ndarray,
        cell_m: float | None = None,
    ) -> SegmentGrid:
        """Cut a graph's edge lines (metric CRS) into pieces and file them by cell.

        Parameters
        ----------
        lines : ndarray of shapely LineString
            The graph's edge geometries; a piece with ``edge == i`` is part of ``lines[i]``.
        edge_u, edge_v, edge_length_m : ndarray
            End nodes and length (metres) of every edge, stored with its pieces (node numbers
            below 2³¹).
        cell_m : float, optional
            Cell side in metres. By default the median straight-segment length (about one
            segment per cell along a street; measured best in ``benchmarks/``), kept within
            [:data:`MIN_CELL_M`, :data:`MAX_CELL_M`] (grown if the grid would exceed
            :data:`MAX_CELLS`). Pieces are at most :data:`PIECE_SHARE` of a cell long.
        """
        edge_u, edge_v = np.asarray(edge_u), np.asarray(edge_v)
        if edge_u.size and max(int(edge_u.max()), int(edge_v.max())) > np.iinfo(np.int32).max:
            raise ValueError("the snapping grid stores node numbers as int32: the graph has too many nodes")
        coords, owner = shapely.get_coordinates(lines, return_index=True)
        same = owner[1:] == owner[:-1]
        sx0, sy0 = coords[:-1, 0][same], coords[:-1, 1][same]
        sx1, sy1 = coords[1:, 0][same], coords[1:, 1][same]
        seg_edge = owner[:-1][same].astype(np.int64)
        seg_len = np.hypot(sx1 - sx0, sy1 - sy0)
        # metres along the edge where each segment starts: running sum, restarted per edge
        running = np.cumsum(seg_len)
        first_of_edge = np.ones(seg_len.size, dtype=bool)
        first_of_edge[1:] = seg_edge[1:] != seg_edge[:-1]
        base = np.maximum.accumulate(np.where(first_of_edge, running - seg_len, 0.0))
        seg_start = running - seg_len - base

        if coords.size == 0:
            extent = (0.0, 0.0, 1.0, 1.0)
        else:
            extent = (coords[:, 0].min(), coords[:, 1].min(), coords[:, 0].max(), coords[:, 1].max())
        if cell_m is None:
            typical = float(np.median(seg_len[seg_len > 0])) if (seg_len > 0).any() else MAX_CELL_M
            cell_m = float(np.clip(typical, MIN_CELL_M, MAX_CELL_M))
        width, height = extent[2] - extent[0], extent[3] - extent[1]
        while (np.floor(width / cell_m) + 1) * (np.floor(height / cell_m) + 1) > MAX_CELLS:
            cell_m *= 1.5

        # cut segments into equal pieces no longer than PIECE_SHARE of a cell
        n_cut = np.maximum(np.ceil(seg_len / (PIECE_SHARE * cell_m)), 1).astype(np.int64)
        seg_of_piece = np.repeat(np.arange(seg_len.size), n_cut)
        k = np.arange(seg_of_piece.size) - np.repeat(np.cumsum(n_cut) - n_cut, n_cut)
        share = 1.0 / n_cut[seg_of_piece]
        f0 = k * share
        ddx, ddy = (sx1 - sx0)[seg_of_piece], (sy1 - sy0)[seg_of_piece]
        x0 = sx0[seg_of_piece] + f0 * ddx
        y0 = sy0[seg_of_piece] + f0 * ddy
        dx, dy = share * ddx, share * ddy

        origin_x = float(extent[0]) - ORIGIN_SHIFT * cell_m
        origin_y = float(extent[1]) - ORIGIN_SHIFT * cell_m
        nx = int(np.floor((width + ORIGIN_SHIFT * cell_m) / cell_m)) + 1
        ny = int(np.floor((height + ORIGIN_SHIFT * cell_m) / cell_m)) + 1
        piece_edge = seg_edge[seg_of_piece]
        piece_start = seg_start[seg_of_piece] + f0 * seg_len[seg_of_piece]
        # file each piece in every cell its bounding box touches (at most 2 × 2: pieces are no
        # longer than a cell), so a cell's entries hold everything that passes through it
        def cell_of(v: np.ndarray, origin: float, count: int) -> np.ndarray:
            return np.clip(np.floor((v - origin) / cell_m).astype(np.int64), 0, count - 1)

        ix0 = cell_of(np.minimum(x0, x0 + dx), origin_x, nx)
        ix1 = cell_of(np.maximum(x0, x0 + dx), origin_x, nx)
        iy0 = cell_of(np.minimum(y0, y0 + dy), origin_y, ny)
        iy1 = cell_of(np.maximum(y0, y0 + dy), origin_y, ny)
        ids = np.arange(x0.size)
        wide, tall = ix1 != ix0, iy1 != iy0
        entry = np.concatenate([ids, ids[wide], ids[tall], ids[wide & tall]])
        ix = np.concatenate([ix0, ix1[wide], ix0[tall], ix1[wide & tall]])
        iy = np.concatenate([iy0, iy0[wide], iy1[tall], iy1[wide & tall]])
        cell = cell_number(ix, iy, ny)
        order = np.argsort(cell, kind="stable")
        n_cells = -(-nx // 4) * -(-ny // 4) * 16
        index_type = np.int32 if order.size < np.iinfo(np.int32).max else np.int64
        cell_start = np.zeros(n_cells + 1, dtype=index_type)
        np.cumsum(np.bincount(cell, minlength=n_cells), out=cell_start[1:])
        e = entry[order]
        if x0.size > np.iinfo(np.int32).max:
            raise ValueError("the snapping grid stores piece numbers as int32: the graph has too many pieces")
        # the search scans float32 copies relative to the entry's cell corner
        entries = np.empty((e.size, 5), dtype=np.float32)
        entries[:, 0] = x0[e] - (origin_x + ix[order] * cell_m)
        entries[:, 1] = y0[e] - (origin_y + iy[order] * cell_m)
        entries[:, 2] = dx[e]
        entries[:, 3] = dy[e]
        entries.view(np.int32)[:, 4] = e
        pieces = _aligned_empty((x0.size, 8), np.float64)
        pieces[:, 0], pieces[:, 1], pieces[:, 2], pieces[:, 3] = x0, y0, dx, dy
        pieces[:, 4] = piece_start
        pieces[:, 5] = np.asarray(edge_length_m, dtype=np.float64)[piece_edge]
        ints = pieces.view(np.int32)
        ints[:, 12] = piece_edge
        ints[:, 13] = edge_u[piece_edge]
        ints[:, 14] = edge_v[piece_edge]
        ints[:, 15] = 0
        return cls(
            entries=entries, pieces=pieces,
            origin_x=origin_x, origin_y=origin_y, cell_m=float(cell_m),
            nx=nx, ny=ny, cell_start=cell_start,
        )

    # ----- querying ---------------------------------------------------------------------------
    def nearest(self, x: np.ndarray, y: np.ndarray, max_distance_m: float) -> NearestPieces:
        """Nearest street to each point (x, y in metres), exact.

        Parameters
        ----------
        x, y : ndarray of float64
            Point coordinates in the grid's CRS; NaN for missing points.
        max_distance_m : float
            Points with no street within this many metres get ``edge == -1``.
        """
        return NearestPieces(*_unpack(nearest_pieces(*self._search_arguments(x, y, max_distance_m))))

    def nearest_while(
        self, x: np.ndarray, y: np.ndarray, max_distance_m: float, task: Callable[[], T]
    ) -> tuple[NearestPieces, T]:
        """:meth:`nearest`, searched on a worker thread while ``task()`` runs on this one.

        The search is compiled code that releases the GIL, so it overlaps with a task that
        holds it (scipy's Dijkstra does). The task starts only once the worker has reached the
        compiled search: a worker still running Python would otherwise wait for the GIL until
        the task ends. Returns the search's answer and the task's.
        """
        arguments = self._search_arguments(x, y, max_distance_m)
        started = threading.Event()
        outcome: dict[str, object] = {}

        def search() -> None:
            started.set()  # this thread keeps the GIL until the kernel releases it
            try:
                outcome["found"] = nearest_pieces(*arguments)
            except BaseException as error:  # handed to the caller below
                outcome["error"] = error

        worker = threading.Thread(target=search, name="coverage-snapping", daemon=True)
        worker.start()
        started.wait()
        try:
            result = task()
        finally:
            worker.join()
        if "error" in outcome:
            raise outcome["error"]  # type: ignore[misc]
        return NearestPieces(*_unpack(outcome["found"])), result

    def _search_arguments(self, x: np.ndarray, y: np.ndarray, max_distance_m: float) -> tuple:
        """The kernel's arguments, with the points sorted by tile."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        y = np.ascontiguousarray(y, dtype=np.float64)
        if x.shape != y.shape or x.ndim != 1:  # the kernel does not check bounds
            raise ValueError(f"x and y must be 1-D and of equal length, got shapes {x.shape} and {y.shape}")
        # visit the points tile by tile (TILE_CELLS × TILE_CELLS cells): pieces stay in cache,
        # and the kernel reads the points in sequence. A handful of points (a what-if site)
        # skips the sort, whose cost grows with the extent.
        if x.size < TILE_SORT_MIN_POINTS:
            order = np.arange(x.size)
        else:
            tiles_x = -(-self.nx // TILE_CELLS)
            tiles_y = -(-self.ny // TILE_CELLS)
            order = tile_order(x, y, self.origin_x, self.origin_y, TILE_CELLS * self.cell_m, tiles_x, tiles_y)
            x, y = x[order], y[order]
        return (
            x, y, order, self.entries, self.entries.view(np.int32), self.pieces, self.piece_ints,
            self.origin_x, self.origin_y, self.cell_m, self.nx, self.ny,
            self.cell_start, float(max_distance_m),
        )


def _unpack(found: tuple) -> tuple:
    """The kernel's outputs as :class:`NearestPieces` fields."""
    edge, along, distance, u, v, length = found
    return edge, along, distance, (u, v, length)
