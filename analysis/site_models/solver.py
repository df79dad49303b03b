"""Solver glue shared by the models: sparse cost-matrix helpers, HiGHS MILP calls and the lazy greedy.

Costs are in the matrix's own unit (metres or minutes); weights are elderly persons.
"""

from __future__ import annotations

import heapq
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from layers.defaults import DEFAULT_TIME_LIMIT_S as DEFAULT_TIME_LIMIT_S  # re-exported: base, mclp, lscp, ...
from layers.defaults import MIP_REL_GAP

# ----- settings --------------------------------------------------------------------------------

_TOL = 1e-9


# ----- matrix helpers ---------------------------------------------------------------------------
def _as_csr(cost_matrix, *, what: str = "cost_matrix") -> sparse.csr_array:
    """Cost matrix as CSR: stored entries are costs; absent (sparse) or inf/NaN (dense) = beyond."""
    if sparse.issparse(cost_matrix):
        csr = sparse.csr_array(cost_matrix, dtype=float)
        csr.sum_duplicates()
        if csr.nnz and (~np.isfinite(csr.data)).any():
            csr.data[~np.isfinite(csr.data)] = np.inf
            csr = _drop_where(csr, ~np.isfinite(csr.data))
        return csr
    dense = np.asarray(cost_matrix, dtype=float)
    if dense.ndim != 2:
        raise ValueError(f"{what} must be 2-D (demand × sites), got shape {dense.shape}")
    rows, cols = np.nonzero(np.isfinite(dense))
    values = np.maximum(dense[rows, cols], 1e-12)  # a 0 cost stays an entry
    return sparse.csr_array((values, (rows, cols)), shape=dense.shape)


def _drop_where(csr: sparse.csr_array, drop: np.ndarray) -> sparse.csr_array:
    coo = csr.tocoo()
    keep = ~drop
    return sparse.csr_array((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=csr.shape)


def _within(csr: sparse.csr_array, radius: float) -> sparse.csr_array:
    """0/1 matrix of the stored pairs with cost ≤ ``radius``."""
    coo = csr.tocoo()
    keep = coo.data <= radius * (1 + 1e-12)
    out = sparse.csr_array((np.ones(int(keep.sum())), (coo.row[keep], coo.col[keep])), shape=csr.shape)
    out.sort_indices()
    return out


def _aggregate_rows(a: sparse.csr_array, weights: np.ndarray) -> tuple[sparse.csr_array, np.ndarray, np.ndarray]:
    """Merge rows with the same set of columns; return (rows, summed weights, group of each row)."""
    a = sparse.csr_array(a)
    a.sort_indices()
    keys = [a.indices[a.indptr[i] : a.indptr[i + 1]].tobytes() for i in range(a.shape[0])]
    group, _ = pd.factorize(pd.Series(keys, dtype=object))
    first = np.full(group.max() + 1 if group.size else 0, -1, dtype=np.int64)
    first[group[::-1]] = np.arange(group.size)[::-1]
    return a[first], np.bincount(group, weights=weights, minlength=first.size), group


def _rows_matrix(
    groups: Sequence[tuple[str, np.ndarray]], n_cols: int, offset: int = 0, total: int | None = None
) -> sparse.csr_array:
    """One row per group with ones in its columns (for ``Σ_{j∈G} x_j ≥ 1``)."""
    total = n_cols if total is None else total
    rows = np.concatenate([np.full(g.size, k) for k, (_, g) in enumerate(groups)]) if groups else np.empty(0, int)
    cols = np.concatenate([g for _, g in groups]) + offset if groups else np.empty(0, int)
    return sparse.csr_array((np.ones(rows.size), (rows, cols)), shape=(len(groups), total))


# ----- HiGHS MILP ------------------------------------------------------------------------------
@dataclass
class _MilpAnswer:
    x: np.ndarray | None
    value: float  # in the model's own sense (max or min)
    bound: float
    optimal: bool
    status: str


def covering_constraints(a, p: float | None) -> list[tuple[sparse.csr_array, np.ndarray, np.ndarray]]:
    """The covering model's rows over ``[x (sites), y (demand)]``: ``y_i ≤ Σ_j a_ij x_j`` and, when
    ``p`` is given, ``Σ_j x_j ≤ p``, as ``(matrix, lower, upper)`` triples for :func:`_highs`.

    Parameters
    ----------
    a : sparse array
        Demand rows × candidate columns (non-zero = the candidate covers the row).
    p : float, optional
        Most sites opened (None: no cardinality row, as in a Lagrangian block).
    """
    n_rows, n_cols = a.shape
    link = sparse.hstack([-sparse.csr_array(a), sparse.identity(n_rows, format="csr")], format="csr")
    constraints = [(link, np.full(n_rows, -np.inf), np.zeros(n_rows))]
    if p is not None:
        count = sparse.csr_array(np.r_[np.ones(n_cols), np.zeros(n_rows)][None, :])
        constraints.append((count, np.array([-np.inf]), np.array([float(p)])))
    return constraints


def _highs(
    c: np.ndarray,
    constraints: list[tuple[sparse.csr_array, np.ndarray, np.ndarray]],
    integrality: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    maximise: bool,
    time_limit_s: float,
    mip_rel_gap: float = MIP_REL_GAP,
    cutoff: float | None = None,
) -> _MilpAnswer:
    """Solve one model with HiGHS through :func:`scipy.optimize.milp` (minimises ``±c·x``).

    ``cutoff`` (same sense as ``c``): a known value to beat, handed to HiGHS as its ``objective_bound``
    (scipy passes the option through with a warning, silenced here) so that it prunes nodes that
    cannot beat it. A pruning hint only: HiGHS may still return an answer no better than the
    cutoff, or none when it pruned everything; the caller compares values.
    """
    sign = -1.0 if maximise else 1.0
    cons = [LinearConstraint(a, lb, ub) for a, lb, ub in constraints if a.shape[0]]
    options = {"time_limit": max(float(time_limit_s), 1.0), "mip_rel_gap": mip_rel_gap, "disp": False}
    if cutoff is not None:
        options["objective_bound"] = sign * float(cutoff)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unrecognized options", category=RuntimeWarning)
        res = milp(sign * c, constraints=cons, integrality=integrality, bounds=Bounds(lower, upper), options=options)
    if res.status == 2:
        return _MilpAnswer(None, np.nan, np.nan, False, "infeasible")
    if res.x is None:
        return _MilpAnswer(None, np.nan, np.nan, False, res.message)
    value = sign * float(res.fun)
    dual = getattr(res, "mip_dual_bound", None)
    bound = value if dual is None or not np.isfinite(dual) else sign * float(dual)
    if res.status == 0:
        bound = value if not integrality.any() else bound
    return _MilpAnswer(np.asarray(res.x), value, bound, res.status == 0, res.message)


def _gap(value: float, bound: float, *, maximise: bool) -> float:
    """Relative optimality gap: (UB − value)/UB for a maximum, (value − LB)/value for a minimum."""
    if not (np.isfinite(value) and np.isfinite(bound)):
        return float("nan")
    if maximise:
        return 0.0 if bound <= value + _TOL * max(1.0, abs(bound)) else float((bound - value) / abs(bound))
    return 0.0 if bound >= value - _TOL * max(1.0, abs(value)) else float((value - bound) / abs(value))


# ----- lazy greedy -----------------------------------------------------------------------------
def _coverage_oracle(
    a: sparse.csr_array, weights: np.ndarray
) -> tuple[np.ndarray, Callable[[int], float], Callable[[int], None], Callable[[], np.ndarray]]:
    """The lazy greedy's callbacks for covering the rows of ``a`` (demand × sites) with ``weights``.

    Returns the first gains of every site, ``gain(j)`` (weight still uncovered that site ``j``
    covers), ``commit(j)`` (mark its rows covered) and ``all_gains()`` (every site's gain now).
    """
    cols = sparse.csc_array(a)
    cols.sort_indices()
    indptr, indices = cols.indptr, cols.indices
    open_weight = np.asarray(weights, dtype=float).copy()

    def gain(j: int) -> float:
        return float(open_weight[indices[indptr[j] : indptr[j + 1]]].sum())

    def commit(j: int) -> None:
        open_weight[indices[indptr[j] : indptr[j + 1]]] = 0.0

    def all_gains() -> np.ndarray:
        return cols.T @ open_weight

    return cols.T @ weights, gain, commit, all_gains


def _lazy_greedy(
    initial_gains: np.ndarray,
    gain: Callable[[int], float],
    commit: Callable[[int], None],
    all_gains: Callable[[], np.ndarray],
    p: int,
    groups: Sequence[tuple[str, np.ndarray]] = (),
    *,
    track_bound: bool = True,
) -> tuple[list[int], float, float]:
    """Lazy greedy for a monotone submodular gain; return (chosen, total gain, upper bound on OPT).

    Groups (T3 townships) are served first: the best site of each group not yet served. The upper
    bound is ``f(S_k) + Σ top-p marginal gains at S_k`` minimised over the steps (stale heap keys are
    upper bounds of the true gains, so the bound stays valid for the lazy heap).
    """
    n = initial_gains.size
    chosen: list[int] = []
    taken = np.zeros(n, dtype=bool)
    total = 0.0
    for _, members in groups:
        if taken[members].any():
            continue
        gains = np.array([gain(int(j)) for j in members])
        j = int(members[int(np.argmax(gains))])
        commit(j)
        chosen.append(j)
        taken[j] = True
        total += float(gains.max())
    keys = initial_gains if not chosen else all_gains()
    heap = [(-float(g), int(j)) for j, g in enumerate(keys) if g > _TOL and not taken[j]]
    heapq.heapify(heap)
    bound = np.inf
    while len(chosen) < p and heap:
        _, j = heapq.heappop(heap)
        g = gain(j)
        if heap and g < -heap[0][0] - _TOL * max(1.0, g):
            if g > _TOL:
                heapq.heappush(heap, (-g, j))
            continue
        if g <= _TOL:
            break
        if track_bound:
            rest = heapq.nsmallest(p - 1, heap) if p > 1 else []
            bound = min(bound, total + g - sum(k for k, _ in rest))
        commit(j)
        chosen.append(j)
        total += g
    if track_bound:
        final = np.sort(all_gains())[::-1][:p]
        bound = min(bound, total + float(final[final > 0].sum()))
    return chosen, total, bound
