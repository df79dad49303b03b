"""Exact model reduction for covering models: drop dominated candidate columns, merge identical rows.

A candidate ``j`` is *dominated* by ``k`` when every demand row ``j`` covers is covered by ``k`` too
and ``k`` belongs to every required (T3 township) group ``j`` belongs to. In an MCLP with at most
``p`` sites (or an LSCP), any solution using ``j`` stays feasible and covers at least as much with
``k`` in its place (or with ``j`` simply removed when ``k`` is open already), so dropping ``j``
keeps the optimum. Of several identical columns the lowest index stays. Removing columns can make
rows identical: those are merged again (weights summed, persons) by :func:`_aggregate_rows`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from analysis.site_models.solver import _aggregate_rows


@dataclass(frozen=True)
class ReducedModel:
    """A covering matrix after reduction and the way back to the original columns.

    Attributes
    ----------
    a : csr_array
        Merged demand rows × kept candidate columns (0/1).
    weights : ndarray
        Summed weight (elderly persons) of each merged row.
    columns : ndarray of int
        Original column of each kept column (``chosen_original = columns[chosen_reduced]``).
    groups : list of (name, ndarray)
        Required groups in the kept columns' numbering.
    """

    a: sparse.csr_array
    weights: np.ndarray
    columns: np.ndarray
    groups: list[tuple[str, np.ndarray]]


def _group_matrix(groups: Sequence[tuple[str, np.ndarray]], n_cols: int) -> sparse.csr_array:
    """Columns × groups membership (0/1)."""
    if not groups:
        return sparse.csr_array((n_cols, 0), dtype=np.int32)
    rows = np.concatenate([np.asarray(g, dtype=np.int64) for _, g in groups])
    cols = np.concatenate([np.full(len(g), k) for k, (_, g) in enumerate(groups)])
    member = sparse.csr_array((np.ones(rows.size, dtype=np.int32), (rows, cols)), shape=(n_cols, len(groups)))
    member.data[:] = 1  # a column listed twice in one group is still one membership
    return member


def dominated_columns(a: sparse.csr_array, groups: Sequence[tuple[str, np.ndarray]] = ()) -> np.ndarray:
    """Boolean mask of the columns of ``a`` dominated by another column (see the module docstring).

    Parameters
    ----------
    a : sparse array
        Demand rows × candidate columns; a non-zero entry means the candidate covers the row.
    groups : list of (name, columns), optional
        Required groups: the dominating column must be in every group the dominated one is in.
    """
    cover = sparse.csc_array(a, dtype=np.int32)
    cover.eliminate_zeros()  # stored zeros (False) are not coverage
    cover.data[:] = 1
    n_cols = cover.shape[1]
    size = np.diff(cover.indptr)
    member = _group_matrix(groups, n_cols)
    n_groups = np.asarray(member.sum(axis=1)).ravel()
    dominated = np.zeros(n_cols, dtype=bool)
    # non-empty columns: k covers all of j's rows (overlap == |j|) and holds all of j's groups
    overlap = sparse.coo_array(cover.T @ cover)
    j, k, shared = overlap.row, overlap.col, overlap.data
    candidate = (j != k) & (shared == size[j]) & ((size[k] > size[j]) | (k < j))
    j, k = j[candidate], k[candidate]
    if groups and j.size:
        together = sparse.csr_array(member @ member.T)
        in_both = np.asarray(together[j, k]).ravel()
        keep_pair = in_both == n_groups[j]
        j, k = j[keep_pair], k[keep_pair]
    if j.size:
        # ties: identical columns dominate each other only from the lower index; two identical
        # columns with different groups do not both go (the pair check above needs groups ⊇)
        identical = size[k] == size[j]
        if groups:
            identical &= n_groups[k] == n_groups[j]
        drop = np.where(identical, k < j, True)
        dominated[j[drop]] = True
    # empty columns cover nothing: any column holding their groups dominates them
    empty = np.flatnonzero(size == 0)
    if empty.size and n_cols > 1:
        if not groups:
            nonempty = size > 0
            if nonempty.any():
                dominated[empty] = True
            else:
                dominated[empty[1:]] = True
        else:
            ungrouped = n_groups[empty] == 0
            others = empty[ungrouped]
            if others.size and (size > 0).any():
                dominated[others] = True
            elif others.size > 1:
                dominated[others[1:]] = True
    return dominated


def reduce_covering(
    a: sparse.csr_array, weights: np.ndarray, groups: Sequence[tuple[str, np.ndarray]] = ()
) -> ReducedModel:
    """Drop dominated columns, then merge rows that became identical (weights summed)."""
    a = sparse.csr_array(a)
    columns = np.flatnonzero(~dominated_columns(a, groups))
    kept = sparse.csr_array(a[:, columns])
    merged, merged_weights, _ = _aggregate_rows(kept, np.asarray(weights, dtype=float))
    position = np.full(a.shape[1], -1, dtype=np.int64)
    position[columns] = np.arange(columns.size)
    new_groups = []
    for name, g in groups:
        inside = position[np.asarray(g, dtype=np.int64)]
        new_groups.append((name, inside[inside >= 0]))
    return ReducedModel(sparse.csr_array(merged), merged_weights, columns, new_groups)
