"""Swap local search for the MCLP: improve a set of sites by exchanging one site for another.

The MCLP's LP bound can stay a few per cent above the optimum where ``p`` circles are about enough
to cover the gap area (issue 14: 10 000 demand × 2 000 candidates, p = 50); HiGHS then spends its
whole time limit at the root and finds nothing better than the greedy solution. A stronger
incumbent narrows the reported (honest) gap: :func:`swap_search` makes the best 1-exchange
(one site out, one in) while one gains, every exchange of a round scored at once with sparse
products; :func:`iterated_swap_search` kicks the best solution (a few sites replaced at random) and
searches again until a deadline (a kick moves a few sites to candidates sharing demand with them:
on the issue-14 bench that found better solutions than random replacements in the same time).
Neither proves anything: the bound comes from the LP or HiGHS.

Weights are elderly persons; ``a`` is demand rows × candidate columns (non-zero = within the walk).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
from scipy import sparse

#: Relative improvement (of the total weight) below which an exchange does not count as a gain.
_GAIN_TOL = 1e-9


def _cover_matrix(a) -> sparse.csc_array:
    cover = sparse.csc_array(a, dtype=float)
    cover.eliminate_zeros()
    cover.data[:] = 1.0
    cover.sort_indices()
    return cover


def _member_matrix(groups: Sequence[tuple[str, np.ndarray]], n_cols: int) -> np.ndarray:
    """Columns × groups membership (bool, dense: groups are townships, a few dozen at most)."""
    member = np.zeros((n_cols, len(groups)), dtype=bool)
    for k, (_, g) in enumerate(groups):
        member[np.asarray(g, dtype=np.int64), k] = True
    return member


def covered_rows(a, chosen: np.ndarray) -> np.ndarray:
    """Rows of ``a`` (non-negative) that at least one column of ``chosen`` covers (bool per row)."""
    chosen = np.asarray(chosen, dtype=np.int64)
    if chosen.size == 0:
        return np.zeros(a.shape[0], dtype=bool)
    return np.asarray(a[:, chosen].sum(axis=1)).ravel() > 0


def covered_weight(a, weights: np.ndarray, chosen: np.ndarray) -> float:
    """Weight (persons) of the rows of ``a`` that at least one column of ``chosen`` covers."""
    if np.asarray(chosen).size == 0:
        return 0.0
    return float(np.asarray(weights, dtype=float)[covered_rows(_cover_matrix(a), chosen)].sum())


def _gather(indptr: np.ndarray, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in a compressed matrix's ``indices`` of the rows (CSR) or columns (CSC) ``which``, and their lengths."""
    starts = indptr[which]
    lengths = indptr[which + 1] - starts
    positions = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
    return positions, lengths


def _best_exchange(
    cover: sparse.csc_array,
    cover_rows: sparse.csr_array,
    cover_t: sparse.csr_array,
    w: np.ndarray,
    chosen: np.ndarray,
    member: np.ndarray,
) -> tuple[float, int, int]:
    """The best single exchange: (gain in persons, position in ``chosen`` to drop, column to add).

    Every (add ``k``, drop ``j``) pair is scored at once: gain = weight nobody covers that ``k``
    covers + weight ``j`` covers alone that ``k`` covers too − weight ``j`` covers alone.
    """
    n_rows, n_cols = cover.shape
    size = chosen.size
    positions, lengths = _gather(cover.indptr, chosen)
    rows = cover.indices[positions]  # rows of every chosen site
    owner = np.repeat(np.arange(size), lengths)  # ... and which chosen site
    count = np.bincount(rows, minlength=n_rows)
    alone = count[rows] == 1
    alone_rows, alone_owner = rows[alone], owner[alone]
    lose = np.bincount(alone_owner, weights=w[alone_rows], minlength=size)  # what dropping each site loses
    gain_now = cover_t @ np.where(count == 0, w, 0.0)  # rows nobody covers: any added site gains them
    # an added site k regains the rows the dropped site covered alone that k covers too
    positions, lengths = _gather(cover_rows.indptr, alone_rows)
    flat = cover_rows.indices[positions].astype(np.int64) * size + np.repeat(alone_owner, lengths)
    regain = np.bincount(flat, weights=np.repeat(w[alone_rows], lengths), minlength=n_cols * size)
    delta = gain_now[:, None] + regain.reshape(n_cols, size) - lose[None, :]
    delta[chosen, :] = -np.inf
    if member.shape[1]:
        # a township group must keep a site: the chosen site alone in a group leaves only for one of the group
        in_group = member[chosen].sum(axis=0)
        sole = member[chosen] & (in_group == 1)[None, :]
        allowed = (member.astype(np.int32) @ sole.T.astype(np.int32)) == sole.sum(axis=1)[None, :]
        delta[~allowed] = -np.inf
    k, position = np.unravel_index(int(np.argmax(delta)), delta.shape)
    return float(delta[k, position]), int(position), int(k)


def swap_search(
    a, weights: np.ndarray, chosen: np.ndarray, groups: Sequence[tuple[str, np.ndarray]] = (), *, max_rounds: int = 10_000
) -> tuple[np.ndarray, float]:
    """Best-improvement 1-exchange local search from ``chosen`` (a feasible set of columns).

    Parameters
    ----------
    a : sparse array
        Demand rows × candidate columns (non-zero = the candidate covers the row).
    weights : ndarray
        Persons per row.
    chosen : ndarray of int
        Start solution (columns of ``a``); it must already hold a site of every group.
    groups : list of (name, columns), optional
        Required groups (T3 townships): every exchange keeps a site in each.
    max_rounds : int
        Most exchanges made.

    Returns
    -------
    chosen : ndarray of int
        A solution no single exchange improves (or the one after ``max_rounds`` exchanges).
    value : float
        Its covered weight (persons).
    """
    cover = _cover_matrix(a)
    w = np.asarray(weights, dtype=float)
    member = _member_matrix(groups, cover.shape[1])
    chosen = np.asarray(chosen, dtype=np.int64)
    chosen = _swap(cover, sparse.csr_array(cover), sparse.csr_array(cover.T), w, chosen, member, max_rounds)
    return chosen, covered_weight(cover, w, chosen)


def _swap(
    cover: sparse.csc_array,
    cover_rows: sparse.csr_array,
    cover_t: sparse.csr_array,
    w: np.ndarray,
    chosen: np.ndarray,
    member: np.ndarray,
    max_rounds: int = 10_000,
) -> np.ndarray:
    """:func:`swap_search` on prepared matrices (0/1 ``cover`` as CSC and CSR, its transpose, groups as ``member``)."""
    chosen = chosen.copy()
    if chosen.size == 0 or chosen.size >= cover.shape[1]:
        return chosen
    tol = _GAIN_TOL * max(1.0, float(w.sum()))
    for _ in range(max_rounds):
        gain, position, k = _best_exchange(cover, cover_rows, cover_t, w, chosen, member)
        if not gain > tol:
            break
        chosen[position] = k
    return chosen


def iterated_swap_search(
    a,
    weights: np.ndarray,
    chosen: np.ndarray,
    groups: Sequence[tuple[str, np.ndarray]] = (),
    *,
    deadline: float,
    stop_at: float = np.inf,
    max_kicks: int | None = None,
    seed: int = 0,
    clock: Callable[[], float] = time.perf_counter,
    trace: list | None = None,
) -> tuple[np.ndarray, float, int]:
    """Iterated local search: kick the best solution (2-7 sites moved to random neighbours), swap-search, keep the better.

    Parameters
    ----------
    a, weights, chosen, groups
        As :func:`swap_search`; ``chosen`` should be a swap-search optimum already.
    deadline : float
        ``clock()`` value at which to stop.
    stop_at : float
        Stop once a solution covers at least this weight (persons), e.g. the bound minus the gap asked.
    max_kicks : int, optional
        Most kicks (for tests; default: until the deadline).
    seed : int
        Random seed of the kicks.
    clock : callable
        The clock ``deadline`` is read on (default wall time; a benchmark may pass ``time.process_time``).
    trace : list, optional
        Receives ``(clock(), value)`` after every improvement.

    Returns
    -------
    chosen : ndarray of int
    value : float
        Covered weight (persons).
    kicks : int
        Kicks tried.
    """
    cover = _cover_matrix(a)
    cover_rows = sparse.csr_array(cover)
    cover_t = sparse.csr_array(cover.T)
    w = np.asarray(weights, dtype=float)
    best = np.asarray(chosen, dtype=np.int64).copy()
    best_value = covered_weight(cover, w, best)
    useful = np.flatnonzero(np.diff(cover.indptr) > 0)  # columns covering something
    # neighbours: candidates sharing demand with a site (a kick moves a site to one of them)
    near = sparse.csr_array(cover_t @ cover)
    member = _member_matrix(groups, cover.shape[1])
    rng = np.random.default_rng(seed)
    tol = _GAIN_TOL * max(1.0, float(w.sum()))
    kicks = 0
    while best.size >= 2 and clock() < deadline and best_value < stop_at:
        if max_kicks is not None and kicks >= max_kicks:
            break
        kicks += 1
        outside = np.setdiff1d(useful, best)
        if outside.size == 0:
            break
        most = min(7, best.size, outside.size)
        trial = best.copy()
        for position in rng.choice(best.size, int(rng.integers(min(2, most), most + 1)), replace=False):
            j = trial[position]
            moves = np.setdiff1d(near.indices[near.indptr[j] : near.indptr[j + 1]], trial)
            trial[position] = rng.choice(moves) if moves.size else rng.choice(np.setdiff1d(outside, trial))
        if member.shape[1] and not member[trial].any(axis=0).all():
            continue  # the kick emptied a township group: try another
        trial = _swap(cover, cover_rows, cover_t, w, trial, member)
        value = covered_weight(cover, w, trial)
        if value > best_value + tol:
            best, best_value = trial, value
            if trace is not None:
                trace.append((clock(), best_value))
    return best, best_value, kicks
