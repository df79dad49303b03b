"""A proven MCLP upper bound stronger than the LP: Lagrangian decomposition over blocks of candidates.

Issue 14: at ``p = 50`` on 10 000 demand × 2 000 candidates the LP relaxation (270 031 persons) stays
1-2 % above every solution found, and HiGHS's cuts move it by a few persons a minute. This module
splits the candidate sites into blocks of neighbouring sites and bounds each block with its own
small MILP, which the LP cannot do (the block subproblems lack the integrality property).

For ``max Σ_i w_i y_i  s.t.  y_i ≤ min(1, x(N_i)),  Σ_j x_j ≤ p,  x ∈ {0,1}`` and any multipliers
``u_i ≥ 0`` (persons, one per demand row whose candidates lie in more than one block, a *crossing*
row) and ``λ ≥ 0`` (persons per site)::

    OPT ≤ λ p + Σ_{i crossing} max(0, w_i − u_i)
              + Σ_b max_{x_b ∈ {0,1}} [ Σ_{i inside b} w_i min(1, x(N_i)) + Σ_{i crossing} u_i min(1, x(N_i ∩ b)) − λ Σ_{j∈b} x_j ].

Proof: for a feasible ``x`` a crossing row gives ``w_i c_i ≤ max(0, w_i − u_i) + u_i c_i`` and
``c_i ≤ Σ_b c_ib`` (covered at all ⇒ covered from some block); ``λ (p − Σ x) ≥ 0``; summing, the
objective of ``x`` is at most the right side with the blocks at ``x``'s own parts, hence at most
the blocks' maxima. Each block maximum is replaced by HiGHS's proven dual bound on it (a time limit
only weakens, never invalidates, the bound). At the LP's own duals (``u_i`` = price of row ``i``,
``λ`` = price of a site) the blocks solved as LPs give back exactly the LP bound; solved as MILPs
they give less. A few subgradient steps on ``(u, λ)`` follow while time is left; the least value
seen is the bound.

Blocks come from the matrix alone (no coordinates): seeds spread by farthest-point search in hops
of the candidate-overlap graph (two sites are adjacent when they reach a common demand row), then
the blocks grow from them one step at a time, each free site joining the smallest adjacent block.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from analysis.site_models.local_search import covered_rows
from analysis.site_models.solver import _highs, covering_constraints

#: Candidate sites per block (about): small enough for HiGHS to solve a block in seconds.
BLOCK_COLUMNS: int = 200

#: HiGHS's relative gap for a block MILP: it may stop this close above the block's optimum (its dual
#: bound is what counts, so a looser gap costs bound, never validity).
BLOCK_MIP_REL_GAP: float = 1e-6

#: First subgradient step as a share of the Polyak step towards the incumbent.
_STEP_SHARE: float = 0.5


@dataclass(frozen=True)
class DecompositionBound:
    """Result of :func:`decomposition_bound`.

    Attributes
    ----------
    bound : float
        Proven upper bound on the MCLP optimum (persons); ``inf`` when no block could be bounded.
    blocks : int
        Number of candidate blocks.
    crossing_rows : int
        Demand rows whose candidates lie in more than one block.
    evaluations : int
        Multiplier vectors evaluated (the first at the LP duals).
    at_lp_duals : float
        The bound at the LP duals (the first evaluation).
    """

    bound: float
    blocks: int
    crossing_rows: int
    evaluations: int
    at_lp_duals: float


def column_blocks(a: sparse.csr_array, n_blocks: int) -> np.ndarray:
    """Block label (0 … n_blocks − 1) of every column of ``a``, neighbouring columns together.

    Parameters
    ----------
    a : sparse array
        Demand rows × candidate columns (non-zero = within the walk).
    n_blocks : int
        Number of blocks wanted (at most the number of columns).

    Returns
    -------
    ndarray of int
        Label per column; every label in ``0 … n_blocks − 1`` is used.
    """
    cover = sparse.csc_array(a, dtype=float)
    cover.data[:] = 1.0
    n_cols = cover.shape[1]
    n_blocks = int(max(1, min(n_blocks, n_cols)))
    if n_blocks == 1:
        return np.zeros(n_cols, dtype=np.int64)
    overlap = sparse.csr_array(cover.T @ cover)
    overlap.setdiag(0)
    overlap.eliminate_zeros()
    seeds = [int(np.argmax(np.diff(cover.indptr)))]  # the widest site first
    hops = csgraph.shortest_path(overlap, unweighted=True, directed=False, indices=seeds)
    nearest = hops[0]
    while len(seeds) < n_blocks:
        far = np.where(np.isin(np.arange(n_cols), seeds), -1.0, np.where(np.isfinite(nearest), nearest, np.inf))
        seed = int(np.argmax(far))
        seeds.append(seed)
        more = csgraph.shortest_path(overlap, unweighted=True, directed=False, indices=[seed])
        hops = np.vstack([hops, more])
        nearest = np.minimum(nearest, more[0])
    # grow the blocks from their seeds one overlap step at a time, each free site joining the smallest
    # adjacent block (farthest-point seeds sit on the rim: nearest-seed cells leave one huge centre block)
    label = np.full(n_cols, -1, dtype=np.int64)
    label[seeds] = np.arange(n_blocks)
    size = np.bincount(label[label >= 0], minlength=n_blocks).astype(float)
    while (label < 0).any():
        free = np.flatnonzero(label < 0)
        member = sparse.csr_array(
            (np.ones(int((label >= 0).sum())), (np.flatnonzero(label >= 0), label[label >= 0])), shape=(n_cols, n_blocks)
        )
        touching = (overlap[free] @ member).toarray() > 0
        reached = touching.any(axis=1)
        if not reached.any():
            label[free] = n_blocks - 1  # a component no seed reached: the last block
            break
        cost = np.where(touching, size[None, :], np.inf)
        joins = np.argmin(cost[reached], axis=1)
        label[free[reached]] = joins
        size += np.bincount(joins, minlength=n_blocks)
    return label.astype(np.int64)


def _block_value(
    sub: sparse.csr_array, weights: np.ndarray, lam: float, time_limit_s: float
) -> tuple[float, np.ndarray, np.ndarray] | None:
    """Proven upper bound of one block's subproblem, its best sites (bool) and covered rows (bool).

    The block's LP value is solved first (fast) and caps the MILP's dual bound: a block the time
    share stops before HiGHS's root is done still contributes no more than its LP.
    """
    n_rows, n_cols = sub.shape
    model = (np.r_[np.full(n_cols, -lam), weights], covering_constraints(sub, None))
    box = (np.zeros(n_cols + n_rows), np.ones(n_cols + n_rows))
    started = time.perf_counter()
    relaxed = _highs(*model, np.zeros(n_cols + n_rows), *box, maximise=True, time_limit_s=time_limit_s)
    if relaxed.x is None or not relaxed.optimal:
        return None
    left = max(time_limit_s - (time.perf_counter() - started), 1.0)
    answer = _highs(
        *model, np.r_[np.ones(n_cols), np.zeros(n_rows)], *box, maximise=True, time_limit_s=left, mip_rel_gap=BLOCK_MIP_REL_GAP
    )
    if answer.x is None or not np.isfinite(answer.bound):
        x, value = relaxed.x, float(relaxed.value)  # the LP's sites rounded: only a subgradient direction
    else:
        x, value = answer.x, min(max(float(answer.bound), float(answer.value)), float(relaxed.value))
    chosen = x[:n_cols] > 0.5
    covered = covered_rows(sub, np.flatnonzero(chosen))
    return value, chosen, covered


def decomposition_bound(
    a: sparse.csr_array,
    weights: np.ndarray,
    p: int,
    row_prices: np.ndarray,
    site_price: float,
    *,
    deadline: float,
    incumbent_value: float = 0.0,
    block_columns: int = BLOCK_COLUMNS,
    max_evaluations: int | None = None,
) -> DecompositionBound:
    """Proven upper bound (persons) on the MCLP over ``a`` with at most ``p`` sites (see the module docstring).

    Parameters
    ----------
    a : sparse array
        Demand rows × candidate columns (non-zero = within the walk); no required groups.
    weights : ndarray
        Persons per row.
    p : int
        Most sites.
    row_prices : ndarray
        LP dual of each row's ``y_i ≤ x(N_i)`` (persons; the start ``u``).
    site_price : float
        LP dual of ``Σ x ≤ p`` (persons per site; the start ``λ``).
    deadline : float
        ``time.perf_counter()`` value after which no new evaluation starts (nor one the last
        evaluation's duration shows cannot end before it).
    incumbent_value : float
        Best known objective (persons): the subgradient steps aim at it.
    block_columns : int
        Candidate sites per block (about).
    max_evaluations : int, optional
        Most multiplier vectors evaluated (default: until the deadline).
    """
    cover = sparse.csr_array(a, dtype=float)
    cover.eliminate_zeros()
    cover.data[:] = 1.0
    w = np.asarray(weights, dtype=float)
    n_rows, n_cols = cover.shape
    n_blocks = max(1, int(round(n_cols / max(int(block_columns), 1))))
    label = column_blocks(cover, n_blocks)
    n_blocks = int(label.max()) + 1 if n_cols else 0
    # blocks each row touches (rows × blocks, 0/1)
    touch = sparse.csr_array(cover @ sparse.csr_array((np.ones(n_cols), (np.arange(n_cols), label)), shape=(n_cols, n_blocks)))
    touch.data[:] = 1.0
    crossing = np.diff(touch.indptr) > 1
    parts = []
    for b in range(n_blocks):
        cols = np.flatnonzero(label == b)
        sub = sparse.csr_array(cover[:, cols])
        rows = np.flatnonzero(np.diff(sub.indptr) > 0)
        parts.append((rows, sparse.csr_array(sub[rows])))
    u = np.clip(np.nan_to_num(np.asarray(row_prices, dtype=float)), 0.0, w)
    lam = max(float(site_price), 0.0)
    best, first, evaluations, share = np.inf, np.inf, 0, _STEP_SHARE
    last_s = 0.0
    while time.perf_counter() + last_s < deadline and (max_evaluations is None or evaluations < max_evaluations):
        # (an evaluation is not started when the last one's duration does not fit before the deadline)
        started = time.perf_counter()
        total = lam * p + float(np.maximum(w - u, 0.0)[crossing].sum())
        g_u = np.where(crossing & (u < w), -1.0, 0.0)
        opened = 0
        for index, (rows, sub) in enumerate(parts):
            left = (deadline - time.perf_counter()) / (len(parts) - index)  # a fair share for each block left
            solved = _block_value(sub, np.where(crossing[rows], u[rows], w[rows]), lam, max(left, 1.0))
            if solved is None:
                total = np.inf
                break
            value, chosen, covered = solved
            total += value
            opened += int(chosen.sum())
            hit = rows[covered & crossing[rows]]
            g_u[hit] += 1.0
        evaluations += 1
        last_s = time.perf_counter() - started
        if not np.isfinite(total):
            break
        if evaluations == 1:
            first = total
        if total < best:
            best = total
        else:
            share /= 2.0
        g_lam = float(p - opened)
        norm = float(g_u @ g_u) + g_lam * g_lam
        if norm == 0.0:
            break  # the block solutions fit together: no step improves
        step = share * max(total - incumbent_value, 0.0) / norm
        u = np.clip(u - step * g_u, 0.0, w)
        lam = max(lam - step * g_lam, 0.0)
    return DecompositionBound(float(best), n_blocks, int(crossing.sum()), evaluations, float(first))
