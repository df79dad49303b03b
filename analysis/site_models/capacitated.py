"""Capacitated MCLP: maximal covering where a site serves at most its capacity (elderly persons)."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from analysis.site_models.base import LP_BOUND_MAX_PAIRS, _SiteModel
from analysis.site_models.candidate_matrix import CandidateSites
from analysis.site_models.errors import InfeasibleError
from analysis.site_models.solver import DEFAULT_TIME_LIMIT_S, _as_csr, _highs, _lazy_greedy, _rows_matrix, _within
from coverage.circles import CoverageResult
from layers.errors import FieldError


class CapacitatedMCLP(_SiteModel):
    """Maximal covering with capacities: a site serves at most ``capacity`` elderly persons.

    ``max Σ w_i z_ij  s.t.  Σ_j z_ij ≤ 1,  Σ_i w_i z_ij ≤ cap_j x_j,  z_ij ≤ x_j,  Σ_j x_j ≤ p`` over
    pairs within the walk; ``z`` is the share of unit ``i`` served by site ``j``. Existing facilities
    are open: uncapacitated ones (capacity NaN/inf) cover their walk as in W1, capacitated ones
    become fixed-open columns. ``objective`` is the elderly population newly served (persons);
    ``covered_*`` count only elderly people a site has room for. ``served_elderly`` per ranked site.
    """

    model = "mclp-capacity"
    maximise = True

    def __init__(self, *, capacity, existing_capacity=None, **kwargs) -> None:
        super().__init__(**kwargs)
        capacity = np.asarray(capacity, dtype=float).ravel()
        if capacity.size == 1:
            capacity = np.full(self.n_sites, float(capacity[0]))
        if capacity.size != self.n_sites:
            raise ValueError(f"capacity has {capacity.size} values for {self.n_sites} candidate sites")
        if np.isnan(capacity).any() or (capacity < 0).any():
            raise ValueError("every candidate needs a non-negative capacity (elderly persons it can serve)")
        self.capacity = capacity
        n_existing = 0 if self.existing_distance is None else self.existing_distance.shape[1]
        if existing_capacity is None:
            existing_capacity = np.full(n_existing, np.inf)
        existing_capacity = np.asarray(existing_capacity, dtype=float).ravel()
        if existing_capacity.size != n_existing:
            raise ValueError(f"existing_capacity has {existing_capacity.size} values for {n_existing} facilities")
        self.existing_capacity = np.where(np.isnan(existing_capacity), np.inf, existing_capacity)
        if self.existing_distance is not None and np.isfinite(self.existing_capacity).any():
            unlimited = np.flatnonzero(~np.isfinite(self.existing_capacity))
            within = _within(self.existing_distance, self.service_radius)
            self.covered_before = (
                np.asarray(within[:, unlimited].sum(axis=1)).ravel() > 0
                if unlimited.size
                else np.zeros(self.weights.size, bool)
            )
            capped = np.flatnonzero(np.isfinite(self.existing_capacity))
            self._existing_cover = sparse.csr_array(within[:, capped])
            self._existing_cap = self.existing_capacity[capped]
        else:
            self._existing_cover = sparse.csr_array((self.weights.size, 0))
            self._existing_cap = np.empty(0)
        self.served_elderly = np.empty(0)
        self._share_before = np.zeros(self.weights.size)
        self.served_before = 0.0
        if self._existing_cap.size:
            self.served_before, _, self._share_before = self._assign(np.empty(0, np.int64))
        self._share_after = self._share_before.copy()

    @classmethod
    def from_cost_matrix(
        cls,
        cost_matrix,
        weights,
        service_radius: float,
        p_facilities: int,
        capacity,
        *,
        existing_cost_matrix=None,
        existing_capacity=None,
        covered_before=None,
        required_groups: Sequence[tuple[str, np.ndarray]] = (),
        name: str = "mclp-capacity",
    ) -> CapacitatedMCLP:
        """Build from a cost matrix; ``capacity`` per candidate (or one number for all), persons."""
        return cls(
            distance=_as_csr(cost_matrix),
            weights=weights,
            service_radius=service_radius,
            p=p_facilities,
            covered_before=covered_before,
            existing_distance=existing_cost_matrix,
            required_groups=required_groups,
            capacity=capacity,
            existing_capacity=existing_capacity,
            name=name,
        )

    @classmethod
    def from_coverage(
        cls,
        result: CoverageResult,
        candidates: gpd.GeoDataFrame | CandidateSites,
        p_facilities: int,
        capacity,
        *,
        existing_capacity=None,
        required_groups: Sequence[tuple[str, np.ndarray]] = (),
    ) -> CapacitatedMCLP:
        """Build from the walking circles; ``capacity`` is a number, an array or a candidate column."""
        sites = cls._coverage_inputs(result, candidates)
        if isinstance(capacity, str):
            if capacity not in sites.frame.columns:
                raise FieldError(
                    f"the candidates have no '{capacity}' column for capacities", layer="candidates", field=capacity
                )
            values = pd.to_numeric(sites.frame[capacity], errors="coerce").to_numpy(dtype=float)
            if np.isnan(values).any():
                msg = f"{int(np.isnan(values).sum())} candidates have no capacity in '{capacity}'"
                raise FieldError(msg, layer="candidates", field=capacity)
            capacity = values
        model = cls(
            distance=sites.distance_m,
            weights=result.population["elderly_population"].to_numpy(dtype=float),
            service_radius=result.reach_m,
            p=p_facilities,
            covered_before=result.covered if existing_capacity is None else None,
            existing_distance=sites.existing_distance_m if existing_capacity is not None else None,
            required_groups=required_groups,
            reachable=result.population_snap.on_network,
            capacity=capacity,
            existing_capacity=existing_capacity,
        )
        model._attach(sites, result)
        model.candidates = model.candidates.assign(capacity=model.capacity)
        return model

    @property
    def covered_before_elderly(self) -> float:
        return float(self.weights[self.covered_before].sum()) + self.served_before

    @property
    def covered_after_elderly(self) -> float:
        return self.covered_before_elderly + (self.objective if np.isfinite(self.objective) else 0.0)

    @property
    def coverable(self) -> np.ndarray:
        reach = np.diff(self.coverage.indptr) > 0
        if self._existing_cover.shape[1]:
            reach = reach | (np.diff(self._existing_cover.indptr) > 0)
        return self.open_demand & reach

    def _pairs(self) -> int:
        return int(self.coverage[self.coverable].nnz)

    def _model_parts(self, open_sites: np.ndarray | None):
        """Variables: x (candidates), z (pairs: candidates + capacitated existing). Rows: coverable."""
        rows = np.flatnonzero(self.coverable)
        w = self.weights[rows]
        cover = sparse.hstack([self.coverage[rows], self._existing_cover[rows]], format="csr")
        n_cand = self.n_sites
        n_cols = cover.shape[1]
        coo = cover.tocoo()
        n_pairs = coo.nnz
        pair = np.arange(n_pairs)
        n_var = n_cand + n_pairs
        one_each = sparse.csr_array((np.ones(n_pairs), (coo.row, n_cand + pair)), shape=(rows.size, n_var))
        cap_values = np.r_[self.capacity, self._existing_cap]
        load = sparse.csr_array((w[coo.row], (coo.col, n_cand + pair)), shape=(n_cols, n_var))
        load = load + sparse.csr_array(
            (-cap_values[:n_cand], (np.arange(n_cand), np.arange(n_cand))), shape=(n_cols, n_var)
        )
        load_ub = np.r_[np.zeros(n_cand), self._existing_cap]
        cand_pair = coo.col < n_cand
        link = sparse.csr_array(
            (
                np.r_[np.ones(cand_pair.sum()), -np.ones(cand_pair.sum())],
                (
                    np.r_[np.arange(cand_pair.sum()), np.arange(cand_pair.sum())],
                    np.r_[n_cand + pair[cand_pair], coo.col[cand_pair]],
                ),
            ),
            shape=(int(cand_pair.sum()), n_var),
        )
        count = sparse.csr_array(np.r_[np.ones(n_cand), np.zeros(n_pairs)][None, :])
        cons = [
            (one_each, np.full(rows.size, -np.inf), np.ones(rows.size)),
            (load, np.full(n_cols, -np.inf), load_ub),
            (link, np.full(link.shape[0], -np.inf), np.zeros(link.shape[0])),
        ]
        lower = np.zeros(n_var)
        upper = np.ones(n_var)
        if open_sites is None:
            cons.append((count, np.array([-np.inf]), np.array([float(self.p)])))
            if self.required_groups:
                g = self.required_groups
                cons.append((_rows_matrix(g, n_cand, total=n_var), np.ones(len(g)), np.full(len(g), np.inf)))
        else:
            upper[:n_cand] = 0.0
            upper[open_sites] = 1.0
            lower[open_sites] = 1.0
        c = np.r_[np.zeros(n_cand), w[coo.row]]
        return c, cons, lower, upper, coo, w, n_cand

    def _assign(self, open_sites: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Best assignment (LP) with the given candidates open.

        Returns the elderly served (persons), the elderly served by each candidate, and the share
        (0-1) of each demand unit that is served.
        """
        share = np.zeros(self.weights.size)
        if not self.coverable.any():
            return 0.0, np.zeros(self.n_sites), share
        c, cons, lower, upper, coo, w, n_cand = self._model_parts(np.asarray(open_sites, dtype=np.int64))
        answer = _highs(c, cons, np.zeros(c.size), lower, upper, maximise=True, time_limit_s=DEFAULT_TIME_LIMIT_S)
        z = answer.x[n_cand:]
        served = np.bincount(coo.col, weights=w[coo.row] * z, minlength=n_cand + self._existing_cap.size)
        rows = np.flatnonzero(self.coverable)
        share[rows] = np.minimum(np.bincount(coo.row, weights=z, minlength=rows.size), 1.0)
        return answer.value, served[:n_cand], share

    def _solve_milp(self, time_limit_s: float, mip_rel_gap: float) -> np.ndarray:
        c, cons, lower, upper, coo, w, n_cand = self._model_parts(None)
        integrality = np.r_[np.ones(n_cand), np.zeros(c.size - n_cand)]
        answer = _highs(
            c, cons, integrality, lower, upper, maximise=True, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap
        )
        if answer.x is None:
            if answer.status == "infeasible":
                raise InfeasibleError(
                    "the capacitated MCLP has no solution: the T3 township groups need more sites than p"
                )
            self.notes.append(f"HiGHS stopped without a solution ({answer.status}); greedy used")
            return self._solve_greedy("lp")
        chosen = np.flatnonzero(answer.x[:n_cand] > 0.5)
        self._record(answer.value - self.served_before, answer.bound - self.served_before, answer.optimal, "highs")
        return chosen

    def _solve_greedy(self, bound: str) -> np.ndarray:
        """Greedy on ``min(capacity, unserved elderly within reach)``, nearest demand served first."""
        rows = np.flatnonzero(self.coverable)
        residual = np.zeros(self.weights.size)
        residual[rows] = self.weights[rows]
        if self._existing_cap.size:  # existing capacitated facilities serve first
            ec = sparse.csc_array(self._existing_cover)
            for k, cap in enumerate(self._existing_cap):
                residual = self._consume(ec.indices[ec.indptr[k] : ec.indptr[k + 1]], None, cap, residual)
        cols = sparse.csc_array(self.distance.multiply(self.coverage) if self.distance.nnz else self.coverage)
        cols.sort_indices()
        indptr, indices, data = cols.indptr, cols.indices, cols.data

        def gain(j: int) -> float:
            return float(min(self.capacity[j], residual[indices[indptr[j] : indptr[j + 1]]].sum()))

        def commit(j: int) -> None:
            nonlocal residual
            sl = slice(indptr[j], indptr[j + 1])
            residual = self._consume(indices[sl], data[sl], self.capacity[j], residual)

        def all_gains() -> np.ndarray:
            return np.minimum(self.capacity, cols.T @ residual)

        chosen, _, _ = _lazy_greedy(all_gains(), gain, commit, all_gains, self.p, self.required_groups)
        chosen_arr = np.asarray(chosen, dtype=np.int64)
        value = self._assign(chosen_arr)[0] - self.served_before
        upper = np.inf
        if bound == "lp" or (bound == "auto" and self._pairs() <= LP_BOUND_MAX_PAIRS):
            c, cons, lower, up, *_ = self._model_parts(None)
            lp = _highs(c, cons, np.zeros(c.size), lower, up, maximise=True, time_limit_s=DEFAULT_TIME_LIMIT_S)
            upper = lp.value - self.served_before if lp.x is not None else np.inf
        self._record(value, upper, False, "greedy")
        return chosen_arr

    @staticmethod
    def _consume(rows: np.ndarray, distance: np.ndarray | None, cap: float, residual: np.ndarray) -> np.ndarray:
        order = rows if distance is None else rows[np.argsort(distance, kind="stable")]
        take = residual[order]
        before = np.cumsum(take) - take
        used = np.clip(cap - before, 0.0, take)
        residual = residual.copy()
        residual[order] = take - used
        return residual

    def covered_persons(self, *, after: bool = True) -> np.ndarray:
        """Elderly persons of each unit within the walk *and* within a facility's capacity."""
        share = self._share_after if after else self._share_before
        return self.elderly * self.covered_before + self.weights * share

    def _finish(self, selected: np.ndarray) -> None:
        _, served, self._share_after = self._assign(selected)
        order = selected[np.argsort(-served[selected], kind="stable")]
        self.selected = order
        self.served_elderly = served[order]
        self.added_elderly = served[order]
        newly = (
            np.asarray(self.coverage[:, order].sum(axis=1)).ravel() > 0
            if order.size
            else np.zeros_like(self.covered_before)
        )
        self.covered_after = self.covered_before | newly

    def sites_frame(self) -> gpd.GeoDataFrame:
        frame = super().sites_frame()
        frame["served_elderly"] = self.served_elderly
        return frame

    def summary(self) -> dict:
        out = super().summary()
        out["capacity_total"] = round(float(self.capacity[self.selected].sum()), 1) if self.selected.size else 0.0
        return out
