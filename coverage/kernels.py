"""Compiled inner loops of the engine (numba), for the steps numpy cannot vectorise well.

Each kernel is compiled on first use and cached on disk (``cache=True``, in
``coverage/__pycache__``), so only the very first run after installing pays the compilation
(about 10 s for all of them). Kernels are module-level functions: numba cannot reuse a cached
closure. ``coverage/__init__.py`` imports numba in a way that keeps it from mistaking this
package for coverage.py.
"""

from __future__ import annotations

import threading
from functools import wraps
from typing import Callable

import numba
import numpy as np

from layers.defaults import F32_D2_ERROR

#: Held while a parallel kernel runs: numba's fallback "workqueue" threading layer (used when
#: neither OpenMP nor TBB is found) must not run two parallel kernels at once (Streamlit serves
#: sessions from threads). Kernels are milliseconds long, so waiting is cheap.
PARALLEL_LOCK = threading.Lock()


def _one_at_a_time(kernel: Callable) -> Callable:
    @wraps(kernel)
    def run(*args):
        with PARALLEL_LOCK:
            return kernel(*args)

    return run


@numba.njit(inline="always", cache=True)
def cell_number(ix, iy, ny):
    """Storage number of cell (ix, iy) of a grid with ``ny`` rows (scalars or integer arrays).

    Block by block of 4 × 4 cells, then within the block: a point's 3 × 3 neighbourhood then
    spans 1-4 blocks of neighbouring memory instead of three far-apart columns, and the 4 × 4
    tiles that points are visited by are whole blocks. (On the benchmark grid the gain was
    within the run-to-run noise.)
    """
    blocks_y = (ny + 3) // 4
    return ((ix >> 2) * blocks_y + (iy >> 2)) * 16 + (ix & 3) * 4 + (iy & 3)


@numba.njit(inline="always")
def _exact_d2(pieces, k, x, y):
    """Squared distance (m², float64) from (x, y) to piece ``k``; ``inf`` for ``k < 0``."""
    if k < 0:
        return np.inf
    rx = x - pieces[k, 0]
    ry = y - pieces[k, 1]
    vx = pieces[k, 2]
    vy = pieces[k, 3]
    len2 = vx * vx + vy * vy
    t = 0.0
    if len2 > 0.0:
        t = min(max((rx * vx + ry * vy) / len2, 0.0), 1.0)
    return (rx - t * vx) ** 2 + (ry - t * vy) ** 2


@numba.njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def _nearest_pieces(px, py, order, entries, entry_ints, pieces, piece_ints, origin_x, origin_y, cell_m, nx, ny, cell_start, max_d):
    """The exact nearest-piece search over a :class:`~coverage.segment_grid.SegmentGrid`.

    Visits the points ``(px[j], py[j])`` in sequence; point ``j``'s answer goes to row
    ``order[j]`` of the outputs (the points come sorted by tile, see :func:`tile_order`). The
    cells' ``entries`` (float32; ``entry_ints``: the same memory as int32, column 4 = piece) are
    scanned, and the piece's row of ``pieces`` (float64; ``piece_ints``: the same memory as int32,
    columns 12-14 = edge, u, v) decides near ties and gives the answer. Returns
    ``(edge, along_m, distance_m, u, v, length_m)`` per point: the nearest edge (``-1`` if
    nothing within ``max_d`` metres), the metres along it to the nearest point (within
    ``[0, length_m]``; NaN if none), the straight distance to it in metres (NaN if none), and
    the edge's end nodes and length (0 if none), which every later walk to the point needs.

    The cells are searched ring by ring around the point's cell (ring ``r`` = the cells at
    Chebyshev distance ``r``). A piece is entered in every cell it touches, so after ring ``r`` the
    unseen pieces are at least ``r × cell_m + (distance to the own cell's border)`` away; the
    search stops when the
    best piece is that close (exact), or when that bound passes ``max_d`` (nothing within the
    limit). Cells that cannot hold anything closer than the best so far are skipped. Ties go to
    the first piece found; the visiting order does not depend on the number of threads.
    """
    n = px.size
    out_edge = np.full(n, -1, dtype=np.int64)
    out_along = np.full(n, np.nan)
    out_d = np.full(n, np.nan)
    out_u = np.zeros(n, dtype=np.int64)
    out_v = np.zeros(n, dtype=np.int64)
    out_len = np.zeros(n)
    max_rings = int(np.ceil(max_d / cell_m)) + 1
    grid_x1 = origin_x + nx * cell_m
    grid_y1 = origin_y + ny * cell_m
    for j in numba.prange(n):
        x = px[j]
        y = py[j]
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        if max(origin_x - x, x - grid_x1) > max_d or max(origin_y - y, y - grid_y1) > max_d:
            continue  # every piece is inside the grid: none within reach
        fx = (x - origin_x) / cell_m
        fy = (y - origin_y) / cell_m
        ix = int(np.floor(fx))
        iy = int(np.floor(fy))
        ax = fx - ix
        ay = fy - iy
        border = cell_m * min(min(ax, 1.0 - ax), min(ay, 1.0 - ay))
        best = np.inf  # float32 estimate of the best entry's squared distance (m²)
        best_entry = -1
        tol = F32_D2_ERROR * (2.0 * cell_m) ** 2
        for ring in range(max_rings + 1):
            for di in range(-ring, ring + 1):
                cx = ix + di
                if cx < 0 or cx >= nx:
                    continue
                step = 1 if (di == -ring or di == ring) else max(2 * ring, 1)
                left = origin_x + cx * cell_m
                for dj in range(-ring, ring + 1, step):
                    cy = iy + dj
                    if cy < 0 or cy >= ny:
                        continue
                    # skip a cell whose pieces cannot beat the best so far
                    low = origin_y + cy * cell_m
                    ex = max(left - x, x - (left + cell_m), 0.0)
                    ey = max(low - y, y - (low + cell_m), 0.0)
                    if ex * ex + ey * ey > best + tol:
                        continue
                    cell = cell_number(cx, cy, ny)
                    # float32, relative to the cell's corner (as the pieces are stored)
                    qx0 = np.float32(x - left)
                    qy0 = np.float32(y - low)
                    for k in range(cell_start[cell], cell_start[cell + 1]):
                        rx = qx0 - entries[k, 0]
                        ry = qy0 - entries[k, 1]
                        vx = entries[k, 2]
                        vy = entries[k, 3]
                        len2 = vx * vx + vy * vy
                        t = np.float32(0.0)
                        if len2 > 0.0:
                            t = min(max((rx * vx + ry * vy) / len2, np.float32(0.0)), np.float32(1.0))
                        qx = rx - t * vx
                        qy = ry - t * vy
                        d2 = np.float64(qx * qx + qy * qy)
                        if d2 < best - tol:  # clearly closer, whatever the float32 error
                            best = d2
                            best_entry = k
                        elif d2 <= best + tol:  # too close to call in float32: decide in float64
                            best_p = entry_ints[best_entry, 4] if best_entry >= 0 else -1
                            if _exact_d2(pieces, entry_ints[k, 4], x, y) < _exact_d2(pieces, best_p, x, y):
                                best = d2
                                best_entry = k
            bound = ring * cell_m + border
            if bound > max_d or best + tol <= bound * bound:
                break
            # the next ring is farther: float32 errors grow with the coordinates
            tol = F32_D2_ERROR * ((ring + 3) * cell_m) ** 2
        if best_entry < 0:
            continue
        p = entry_ints[best_entry, 4]
        # the answer itself in float64, from the piece's row: distance and position exact
        vx = pieces[p, 2]
        vy = pieces[p, 3]
        rx = x - pieces[p, 0]
        ry = y - pieces[p, 1]
        len2 = vx * vx + vy * vy
        best_t = 0.0
        if len2 > 0.0:
            best_t = min(max((rx * vx + ry * vy) / len2, 0.0), 1.0)
        exact = np.sqrt((rx - best_t * vx) ** 2 + (ry - best_t * vy) ** 2)
        if exact <= max_d:
            i = order[j]
            edge_length = pieces[p, 5]
            out_edge[i] = piece_ints[p, 12]
            out_along[i] = min(max(pieces[p, 4] + best_t * np.sqrt(len2), 0.0), edge_length)
            out_d[i] = exact
            out_u[i] = piece_ints[p, 13]
            out_v[i] = piece_ints[p, 14]
            out_len[i] = edge_length
    return out_edge, out_along, out_d, out_u, out_v, out_len


nearest_pieces = _one_at_a_time(_nearest_pieces)


@numba.njit(cache=True, nogil=True)
def tile_order(px, py, origin_x, origin_y, tile_m, nx, ny):
    """A counting sort of points by grid tile: the order to visit ``(px, py)`` in.

    Tiles are ``tile_m`` squares (``nx × ny`` of them, column by column). Visiting points tile by
    tile keeps the pieces they read in cache (about 2× faster on 10⁵ scattered points than input
    order), at O(points + tiles) cost. NaN and out-of-grid points go to the edge tiles.
    """
    n = px.size
    tile = np.empty(n, dtype=np.int64)
    count = np.zeros(nx * ny + 1, dtype=np.int64)
    for i in range(n):
        fx = (px[i] - origin_x) / tile_m
        fy = (py[i] - origin_y) / tile_m
        cx = 0
        if fx >= nx:
            cx = nx - 1
        elif fx > 0.0:
            cx = int(fx)
        cy = 0
        if fy >= ny:
            cy = ny - 1
        elif fy > 0.0:
            cy = int(fy)
        t = cx * ny + cy
        tile[i] = t
        count[t + 1] += 1
    for t in range(nx * ny):
        count[t + 1] += count[t]
    order = np.empty(n, dtype=np.int64)
    for i in range(n):
        t = tile[i]
        order[count[t]] = i
        count[t] += 1
    return order


@numba.njit(inline="always")
def _edge_slot(edge, mask):
    """Home slot of an edge number in an :func:`_edge_table` (Fibonacci hashing)."""
    return ((edge * 2654435761) >> 12) & mask


@numba.njit(cache=True, nogil=True)
def _edge_table(sorted_edge):
    """Open-addressing hash table of the distinct values of ``sorted_edge`` (ascending, ≥ 0).

    Returns ``(key, first)``: slot ``h`` holds edge ``key[h]`` (``-1``: empty), whose first row
    in ``sorted_edge`` is ``first[h]``. At most a quarter of the slots is used, so a look-up
    rarely goes past its home slot (:func:`_edge_slot`, then the next slots in turn).
    """
    size = 64
    while size < 4 * sorted_edge.size:
        size *= 2
    key = np.full(size, -1, dtype=np.int64)
    first = np.zeros(size, dtype=np.int64)
    for k in range(sorted_edge.size):
        e = sorted_edge[k]
        if k > 0 and sorted_edge[k - 1] == e:
            continue
        h = _edge_slot(e, size - 1)
        while key[h] >= 0:
            h = (h + 1) & (size - 1)
        key[h] = e
        first[h] = k
    return key, first


@numba.njit(inline="always")
def _first_row(key, first, edge, missing):
    """First row of ``edge`` in the table's sorted array (:func:`_edge_table`), ``missing`` if absent."""
    mask = key.size - 1
    h = _edge_slot(edge, mask)
    while key[h] >= 0:
        if key[h] == edge:
            return first[h]
        h = (h + 1) & mask
    return missing


@numba.njit(cache=True, nogil=True)
def first_rows(sorted_edge, edge):
    """For each of ``edge``, its first row in ``sorted_edge`` or ``-1`` (the walk's look-up, for tests)."""
    key, first = _edge_table(sorted_edge)
    out = np.empty(edge.size, dtype=np.int64)
    for i in range(edge.size):
        out[i] = _first_row(key, first, edge[i], -1)
    return out


@numba.njit(parallel=True, cache=True, nogil=True)
def _walk_to_positions(
    edge, pos, end_u, end_v, edge_len, node_dist, node_source, source_offset, source_label,
    fac_edge, fac_pos, fac_access, fac_label,
):
    """The walk from the nearest facility to positions on edges (see ``engine.distances_on_edges``).

    Returns ``(distance, label)`` for positions ``pos`` metres along edges ``edge`` (``end_u``,
    ``end_v``, ``edge_len``: the ends and length of each position's edge): through either end of
    the edge, or straight along it from a facility on the same edge (``fac_*`` sorted by
    ``fac_edge``). Ties keep the ``u`` end, then the first facility; ``inf``
    and ``-1`` where nothing is reached. A reached node's facility label is
    ``source_label[node_source[node] - source_offset]``, or ``node_source[node]`` itself when
    ``source_label`` is empty (see ``NodeDistances.label_lookup``).
    """
    n = edge.size
    m = fac_edge.size
    direct_labels = source_label.size == 0
    slot_key, slot_first = _edge_table(fac_edge)
    out_d = np.full(n, np.inf)
    out_l = np.full(n, -1, dtype=np.int64)
    for i in numba.prange(n):
        e = edge[i]
        if e < 0:
            continue
        p = pos[i]
        u = end_u[i]
        v = end_v[i]
        via_u = node_dist[u] + p
        via_v = node_dist[v] + (edge_len[i] - p)
        node = u if via_u <= via_v else v
        best = min(via_u, via_v)
        label = -1
        if np.isfinite(best):
            label = node_source[node] if direct_labels else source_label[node_source[node] - source_offset]
        # the facilities on this edge, if any: one look in a small hash table (a binary search
        # here cost three times the rest of the walk)
        k = _first_row(slot_key, slot_first, e, m)
        while k < m and fac_edge[k] == e:
            direct = fac_access[k] + abs(p - fac_pos[k])
            if direct < best:
                best = direct
                label = fac_label[k]
            k += 1
        if np.isfinite(best):
            out_d[i] = best
            out_l[i] = label
    return out_d, out_l


walk_to_positions = _one_at_a_time(_walk_to_positions)


@numba.njit(parallel=True, cache=True, nogil=True)
def _seed_labels(source, n, seed_label):
    """The facility label of each node's seed, ``-1`` if none.

    ``source`` is scipy's per-node source index (virtual seed nodes are ``n + seed``; negative
    where unreached).
    """
    out = np.full(n, -1, dtype=np.int64)
    for i in numba.prange(n):
        s = source[i]
        if s >= n:
            out[i] = seed_label[s - n]
    return out


seed_labels = _one_at_a_time(_seed_labels)
