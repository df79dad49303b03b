"""p-median: ``p`` new sites minimising total elderly walking time, capped (elderly-minutes)."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
from scipy import sparse

from analysis.site_models.base import _SiteModel
from analysis.site_models.candidate_matrix import CandidateSites
from analysis.site_models.errors import InfeasibleError, NoGapError
from analysis.site_models.solver import _as_csr, _highs, _lazy_greedy, _rows_matrix
from coverage.circles import CoverageResult
from layers.defaults import PMEDIAN_CAP_WALKS


class PMedian(_SiteModel):
    """p-median: ``p`` new sites minimising the total elderly walking time to the nearest open site.

    Existing facilities are fixed open columns. Costs come from a bounded matrix, so each demand
    unit's cost is truncated at ``max_cost`` (default 2 × the W1 walk): ``objective`` is
    ``Σ_i w_i min(max_cost, cost to the nearest open site)`` in elderly-minutes when built
    :meth:`from_coverage`. Demand units off the network are left out. Solved in the equivalent
    savings form ``max Σ s_ij z_ij, Σ_j z_ij ≤ 1, z_ij ≤ x_j, Σ x_j ≤ p`` with
    ``s_ij = w_i (b_i − c_ij)`` over the pairs cheaper than the unit's base cost ``b_i``.
    """

    model = "pmedian"
    maximise = False

    def __init__(self, *, max_cost: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.max_cost = float(max_cost)
        if not self.max_cost >= self.service_radius:
            raise ValueError(f"max_cost ({max_cost}) must be at least the service radius ({self.service_radius})")
        n = self.distance.shape[0]
        base = np.full(n, self.max_cost)
        if self.existing_distance is not None and self.existing_distance.nnz:
            e = self.existing_distance.tocoo()
            np.minimum.at(base, e.row, np.minimum(e.data, self.max_cost))
        self.base_cost = base
        self.saved_minutes = np.empty(0)

    @classmethod
    def from_cost_matrix(
        cls,
        cost_matrix,
        weights,
        p_facilities: int,
        *,
        existing_cost_matrix=None,
        max_cost: float | None = None,
        service_radius: float | None = None,
        required_groups: Sequence[tuple[str, np.ndarray]] = (),
        name: str = "pmedian",
    ) -> PMedian:
        """Build from a demand × candidate cost matrix (dense ``inf`` or sparse absent = beyond).

        Parameters
        ----------
        max_cost : float, optional
            Cost cap per demand unit (default: the largest finite cost in the matrices).
        service_radius : float, optional
            Only for reporting coverage before/after (default ``max_cost``).
        """
        distance = _as_csr(cost_matrix)
        existing = None if existing_cost_matrix is None else _as_csr(existing_cost_matrix)
        if max_cost is None:
            finite = [m.data.max() for m in (distance, existing) if m is not None and m.nnz]
            max_cost = float(max(finite)) if finite else 1.0
        return cls(
            distance=distance,
            weights=weights,
            service_radius=max_cost if service_radius is None else service_radius,
            p=p_facilities,
            existing_distance=existing,
            required_groups=required_groups,
            max_cost=max_cost,
            name=name,
        )

    @classmethod
    def from_coverage(
        cls,
        result: CoverageResult,
        candidates: gpd.GeoDataFrame | CandidateSites,
        p_facilities: int,
        *,
        max_minutes: float | None = None,
        required_groups: Sequence[tuple[str, np.ndarray]] = (),
    ) -> PMedian:
        """Build on walking minutes (the result's speed), truncated at ``max_minutes``.

        ``max_minutes`` defaults to :data:`PMEDIAN_CAP_WALKS` × the W1 minutes (30 minutes).
        """
        max_minutes = PMEDIAN_CAP_WALKS * result.minutes if max_minutes is None else float(max_minutes)
        metres_per_minute = result.speed_mps * 60.0
        sites = cls._coverage_inputs(result, candidates, limit_m=max_minutes * metres_per_minute)
        reachable = result.population_snap.on_network
        weights = result.population["elderly_population"].to_numpy(dtype=float)
        distance = sites.distance_m / metres_per_minute
        existing = sites.existing_distance_m / metres_per_minute
        model = cls(
            distance=sparse.csr_array(distance),
            weights=np.where(reachable, weights, 0.0),
            service_radius=result.minutes,
            p=p_facilities,
            covered_before=result.covered,
            existing_distance=sparse.csr_array(existing),
            required_groups=required_groups,
            reachable=reachable,
            max_cost=max_minutes,
        )
        model.weights_all = weights
        model._attach(sites, result)
        model.notes.append(f"walking times are capped at {max_minutes:g} minutes (p-median objective, elderly-minutes)")
        return model

    @property
    def cost_before(self) -> float:
        """Total elderly walking cost with the existing facilities only (elderly-minutes)."""
        return float((self.weights * self.base_cost).sum())

    def _check_gap_exists(self) -> None:
        if self.weights.sum() <= 0:
            raise NoGapError("the population layer has no elderly people on the street network: nothing to serve")
        if self._savings()[0].nnz == 0:
            msg = (
                f"none of the {self.n_sites} candidate sites is nearer to any elderly person than an existing facility"
            )
            raise NoGapError(msg)

    def _savings(self) -> tuple[sparse.csr_array, np.ndarray]:
        """Savings matrix ``w_i (b_i − c_ij)`` over useful pairs, and the per-pair costs."""
        coo = self.distance.tocoo()
        useful = (coo.data < self.base_cost[coo.row]) & (self.weights[coo.row] > 0)
        rows, cols, cost = coo.row[useful], coo.col[useful], coo.data[useful]
        saving = self.weights[rows] * (self.base_cost[rows] - cost)
        return sparse.csr_array((saving, (rows, cols)), shape=self.distance.shape), cost

    def _pairs(self) -> int:
        return int(self._savings()[0].nnz)

    def _solve_milp(self, time_limit_s: float, mip_rel_gap: float) -> np.ndarray:
        s, _ = self._savings()
        s.sort_indices()
        coo = s.tocoo()
        n_pairs, n_cols = coo.nnz, self.n_sites
        n_rows = s.shape[0]
        pair = np.arange(n_pairs)
        one_each = sparse.csr_array((np.ones(n_pairs), (coo.row, n_cols + pair)), shape=(n_rows, n_cols + n_pairs))
        link = sparse.csr_array(
            (np.r_[np.ones(n_pairs), -np.ones(n_pairs)], (np.r_[pair, pair], np.r_[n_cols + pair, coo.col])),
            shape=(n_pairs, n_cols + n_pairs),
        )
        count = sparse.csr_array(np.r_[np.ones(n_cols), np.zeros(n_pairs)][None, :])
        used_rows = np.flatnonzero(np.diff(s.indptr) > 0)
        cons = [
            (one_each[used_rows], np.full(used_rows.size, -np.inf), np.ones(used_rows.size)),
            (link, np.full(n_pairs, -np.inf), np.zeros(n_pairs)),
            (count, np.array([-np.inf]), np.array([float(self.p)])),
        ]
        if self.required_groups:
            g = self.required_groups
            cons.append((_rows_matrix(g, n_cols, total=n_cols + n_pairs), np.ones(len(g)), np.full(len(g), np.inf)))
        answer = _highs(
            np.r_[np.zeros(n_cols), coo.data],
            cons,
            np.r_[np.ones(n_cols), np.zeros(n_pairs)],
            np.zeros(n_cols + n_pairs),
            np.ones(n_cols + n_pairs),
            maximise=True,
            time_limit_s=time_limit_s,
            mip_rel_gap=mip_rel_gap,
        )
        if answer.x is None:
            if answer.status == "infeasible":
                raise InfeasibleError("the p-median has no solution: the T3 township groups need more sites than p")
            self.notes.append(f"HiGHS stopped without a solution ({answer.status}); greedy used")
            return self._solve_greedy("submodular")
        chosen = np.flatnonzero(answer.x[:n_cols] > 0.5)
        cost = self.cost_of(chosen)
        saving_bound = answer.bound
        self._record(cost, self.cost_before - saving_bound, answer.optimal, "highs")
        return chosen

    def cost_of(self, selected: Sequence[int]) -> float:
        """Total elderly cost with the existing facilities and ``selected`` open (capped)."""
        best = self.base_cost.copy()
        sel = np.asarray(list(selected), dtype=np.int64)
        if sel.size:
            sub = self.distance[:, sel].tocoo()
            np.minimum.at(best, sub.row, sub.data)
        return float((self.weights * best).sum())

    def _solve_greedy(self, bound: str) -> np.ndarray:
        s, _ = self._savings()
        cols = sparse.csc_array(self.distance)
        cols.sort_indices()
        indptr, indices, data = cols.indptr, cols.indices, cols.data
        current = self.base_cost.copy()
        w = self.weights

        def gain(j: int) -> float:
            rows = indices[indptr[j] : indptr[j + 1]]
            return float((w[rows] * np.maximum(current[rows] - data[indptr[j] : indptr[j + 1]], 0.0)).sum())

        def commit(j: int) -> None:
            rows = indices[indptr[j] : indptr[j + 1]]
            current[rows] = np.minimum(current[rows], data[indptr[j] : indptr[j + 1]])

        coo = self.distance.tocoo()

        def all_gains() -> np.ndarray:
            saving = w[coo.row] * np.maximum(current[coo.row] - coo.data, 0.0)
            return np.bincount(coo.col, weights=saving, minlength=self.n_sites)

        chosen, saved, upper_saving = _lazy_greedy(all_gains(), gain, commit, all_gains, self.p, self.required_groups)
        self._record(self.cost_before - saved, self.cost_before - upper_saving, False, "greedy")
        return np.asarray(chosen, dtype=np.int64)

    def _finish(self, selected: np.ndarray) -> None:
        # rank by walking time saved, then report the elderly each brings within the walk
        remaining = list(dict.fromkeys(int(j) for j in selected))
        current = self.base_cost.copy()
        cols = sparse.csc_array(self.distance)
        order, saved = [], []
        while remaining:
            gains = []
            for j in remaining:
                rows = cols.indices[cols.indptr[j] : cols.indptr[j + 1]]
                d = cols.data[cols.indptr[j] : cols.indptr[j + 1]]
                gains.append(float((self.weights[rows] * np.maximum(current[rows] - d, 0.0)).sum()))
            k = int(np.argmax(gains))
            j = remaining.pop(k)
            rows = cols.indices[cols.indptr[j] : cols.indptr[j + 1]]
            current[rows] = np.minimum(current[rows], cols.data[cols.indptr[j] : cols.indptr[j + 1]])
            order.append(j)
            saved.append(gains[k])
        order_arr = np.asarray(order, dtype=np.int64)
        weights_all = self.elderly
        covered = self.covered_before.copy()
        added = []
        cover_cols = self.coverage.tocsc()
        for j in order_arr:
            rows = cover_cols.indices[cover_cols.indptr[j] : cover_cols.indptr[j + 1]]
            new = rows[~covered[rows]]
            added.append(float(weights_all[new].sum()))
            covered[new] = True
        self.selected = order_arr
        self.added_elderly = np.asarray(added, dtype=float)
        self.saved_minutes = np.asarray(saved, dtype=float)
        self.covered_after = covered

    def sites_frame(self) -> gpd.GeoDataFrame:
        frame = super().sites_frame()
        frame.insert(frame.columns.get_loc("added_elderly") + 1, "saved_minutes", self.saved_minutes)
        return frame

    def summary(self) -> dict:
        out = super().summary()
        out["cost_before"] = round(self.cost_before, 3)
        out["max_cost"] = self.max_cost
        return out
