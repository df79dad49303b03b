"""Large-neighbourhood search (LNS) for the MCLP: re-optimise the sites of one neighbourhood exactly.

Issue 14: at ``p = 50`` on 10 000 demand × 2 000 candidates the swap searches stall about 1.2 %
under the LP bound. LNS makes bigger moves: the ``m`` candidate sites nearest a random seed form a
region; the chosen sites inside it are freed (``k`` of them), every other chosen site stays fixed,
and the region's best ``k`` sites are found as a small MILP by HiGHS: the demand rows the fixed
sites cover leave the sub-model, so it holds only the region's open demand. The freed sites
themselves are a feasible answer of the sub-model, so a sub-MILP solved to optimality never makes
the solution worse; a sub-MILP stopped by its time limit is accepted only when its answer is better.

"Nearest" needs no coordinates: two sites are adjacent when they reach a common demand row, at a
distance ``1 − Jaccard(N_j, N_k)`` (their shared rows over the rows either reaches), and the region
is the ``m`` sites closest to the seed along these edges (Dijkstra). On the uniform bench this
follows the straight-line distance closely (two walks overlap less the further apart they are).

Weights are elderly persons; ``a`` is demand rows × candidate columns (non-zero = within the walk).
Nothing here proves anything: the bound comes from the LP, HiGHS or the decomposition.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from analysis.site_models.local_search import _GAIN_TOL, _cover_matrix, _swap, covered_rows, covered_weight
from analysis.site_models.solver import _highs, covering_constraints

#: Candidate sites in a region at the start (grown when sub-MILPs prove fast, shrunk when they stall).
REGION_SITES: int = 150

#: Region size limits (candidate sites).
REGION_MIN: int = 40
REGION_MAX: int = 600

#: Seconds (wall) HiGHS gets for one region's sub-MILP.
SUB_TIME_LIMIT_S: float = 4.0

#: No region is started with less time than this left (HiGHS takes at least 1 s once started).
MIN_SUB_TIME_S: float = 1.0


@dataclass(frozen=True)
class LnsResult:
    """Result of :func:`lns_search`.

    Attributes
    ----------
    chosen : ndarray of int
        Best set of columns found.
    value : float
        Its covered weight (persons).
    moves : int
        Regions re-optimised.
    improved : int
        Regions whose re-optimisation raised the covered weight.
    region_sites : int
        Region size (candidate sites) at the end.
    """

    chosen: np.ndarray
    value: float
    moves: int
    improved: int
    region_sites: int


def site_distances(a) -> sparse.csr_array:
    """Site × site distances ``1 − Jaccard`` (0-1) between sites that reach a common demand row.

    Parameters
    ----------
    a : sparse array
        Demand rows × candidate columns (non-zero = within the walk).

    Returns
    -------
    sparse csr_array
        Symmetric, zero diagonal, an edge only where two sites share a row (a small floor keeps
        identical footprints adjacent).
    """
    cover = _cover_matrix(a)
    size = np.diff(cover.indptr).astype(float)
    shared = sparse.coo_array(cover.T @ cover)
    off = shared.row != shared.col
    i, j, both = shared.row[off], shared.col[off], shared.data[off]
    distance = 1.0 - both / np.maximum(size[i] + size[j] - both, 1.0)
    return sparse.csr_array((np.maximum(distance, 1e-6), (i, j)), shape=(cover.shape[1], cover.shape[1]))


def region_of(
    distances: sparse.csr_array, seed_site: int, size: int, rng: np.random.Generator | None = None
) -> np.ndarray:
    """The ``size`` sites nearest ``seed_site`` (itself included) along the site graph (column indices).

    When the seed's part of the graph holds fewer than ``size`` sites (walks in separate parts of a
    city share no demand), other parts fill the region, each from a random site of it outwards, so
    a re-optimisation can move sites from one part to another.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    taken = np.zeros(distances.shape[0], dtype=bool)
    region: list[np.ndarray] = []
    start, left = int(seed_site), int(size)
    while left > 0:
        reach = csgraph.dijkstra(distances, directed=False, indices=start)
        finite = np.flatnonzero(np.isfinite(reach) & ~taken)
        if finite.size > left:
            finite = finite[np.argpartition(reach[finite], left - 1)[:left]]
        region.append(finite)
        taken[finite] = True
        left -= finite.size
        rest = np.flatnonzero(~taken)
        if rest.size == 0:
            break
        start = int(rng.choice(rest))
    return np.concatenate(region)


def _reoptimise(
    cover_rows: sparse.csr_array,
    w: np.ndarray,
    region: np.ndarray,
    k: int,
    fixed_hit: np.ndarray,
    time_limit_s: float,
    current: float = -np.inf,
) -> tuple[np.ndarray | None, bool]:
    """Best ``≤ k`` sites of ``region`` for the rows the fixed sites leave open (HiGHS).

    ``current`` (persons of these rows the freed sites cover now) is handed to HiGHS as a cutoff:
    it prunes what cannot beat it. Returns the region sites chosen (column indices, ``None``
    without an answer) and whether HiGHS proved its answer optimal (or found nothing beating the
    cutoff); the caller keeps the answer only when it covers more.
    """
    sub = sparse.csc_array(cover_rows[:, region])
    open_rows = np.flatnonzero((np.diff(sparse.csr_array(sub).indptr) > 0) & ~fixed_hit)
    sub = sparse.csr_array(sub[open_rows])
    n_rows, n_cols = sub.shape
    if n_rows == 0:
        return None, True
    answer = _highs(
        np.r_[np.zeros(n_cols), w[open_rows]],
        covering_constraints(sub, k),
        np.r_[np.ones(n_cols), np.zeros(n_rows)],
        np.zeros(n_cols + n_rows),
        np.ones(n_cols + n_rows),
        maximise=True,
        time_limit_s=time_limit_s,
        mip_rel_gap=1e-6,
        cutoff=current if np.isfinite(current) else None,
    )
    if answer.x is None:
        return None, answer.status == "infeasible"  # infeasible under the cutoff: nothing better exists
    return region[np.flatnonzero(answer.x[:n_cols] > 0.5)], answer.optimal


def lns_search(
    a,
    weights: np.ndarray,
    chosen: np.ndarray,
    *,
    deadline: float,
    stop_at: float = np.inf,
    seed: int = 0,
    region_sites: int = REGION_SITES,
    sub_time_limit_s: float = SUB_TIME_LIMIT_S,
    max_moves: int | None = None,
    clock: Callable[[], float] = time.perf_counter,
    trace: list | None = None,
) -> LnsResult:
    """Large-neighbourhood search from ``chosen``: free one region's sites at a time, re-optimise them by HiGHS.

    Parameters
    ----------
    a : sparse array
        Demand rows × candidate columns (non-zero = the candidate covers the row); no required groups.
    weights : ndarray
        Persons per row.
    chosen : ndarray of int
        Start solution (columns of ``a``).
    deadline : float
        ``clock()`` value by which to stop: no region starts with less than :data:`MIN_SUB_TIME_S`
        left, and its sub-MILP gets at most the time left.
    stop_at : float
        Stop once a solution covers at least this weight (persons).
    seed : int
        Random seed (region centres).
    region_sites : int
        Candidate sites per region at the start; grown by a quarter after a sub-MILP proven in a
        quarter of its time (up to :data:`REGION_MAX`), shrunk by a fifth after one stopped by its
        time limit (down to :data:`REGION_MIN`, or the start size when smaller).
    sub_time_limit_s : float
        Seconds HiGHS gets for one region.
    max_moves : int, optional
        Most regions re-optimised (for tests; default: until the deadline).
    clock : callable
        The clock ``deadline`` is read on (default wall time; a benchmark may pass ``time.process_time``).
    trace : list, optional
        Receives ``(clock(), value)`` after every improvement.

    Returns
    -------
    LnsResult
    """
    cover = _cover_matrix(a)
    cover_rows = sparse.csr_array(cover)
    cover_t = sparse.csr_array(cover.T)
    w = np.asarray(weights, dtype=float)
    n_cols = cover.shape[1]
    best = np.asarray(chosen, dtype=np.int64).copy()
    best_value = covered_weight(cover, w, best)
    no_groups = np.zeros((n_cols, 0), dtype=bool)
    tol = _GAIN_TOL * max(1.0, float(w.sum()))
    distances = site_distances(cover)
    rng = np.random.default_rng(seed)
    size = int(np.clip(region_sites, 1, n_cols))
    smallest, largest = min(REGION_MIN, size), max(min(REGION_MAX, n_cols), size)
    moves = improved = 0
    while best.size and clock() < deadline - MIN_SUB_TIME_S and best_value < stop_at:
        if max_moves is not None and moves >= max_moves:
            break
        moves += 1
        centre = int(rng.choice(best)) if rng.random() < 0.5 else int(rng.integers(n_cols))
        region = region_of(distances, centre, size, rng)
        inside = np.isin(best, region)
        if not inside.any():
            continue  # no chosen site in the region: nothing to move
        fixed = best[~inside]
        k = int(inside.sum())
        fixed_hit = covered_rows(cover, fixed)
        started = time.perf_counter()
        freed_hit = covered_rows(cover, best[inside])
        current = float(w[freed_hit & ~fixed_hit].sum()) + tol  # what the freed sites add now
        limit = min(sub_time_limit_s, max(deadline - clock(), 0.0))
        picked, proven = _reoptimise(cover_rows, w, region, k, fixed_hit, limit, current)
        took = time.perf_counter() - started
        # the region's size follows how hard its sub-MILPs are
        if proven and took < 0.25 * sub_time_limit_s:
            size = min(int(size * 1.25) + 1, largest)
        elif not proven:
            size = max(int(size * 0.8), smallest)
        if picked is None:
            continue
        trial = np.concatenate([fixed, picked]).astype(np.int64)
        if trial.size < best.size:  # fill up with any useful site (a sub-MILP may open fewer than k)
            spare = np.setdiff1d(np.arange(n_cols), trial)[: best.size - trial.size]
            trial = np.concatenate([trial, spare])
        trial = _swap(cover, cover_rows, cover_t, w, trial, no_groups)
        value = covered_weight(cover, w, trial)
        if value > best_value + tol:
            best, best_value = trial, value
            improved += 1
            if trace is not None:
                trace.append((clock(), best_value))
    return LnsResult(best, best_value, moves, improved, size)
