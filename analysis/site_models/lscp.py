"""LSCP: the fewest new sites putting every reachable elderly person within the walk."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
from scipy import sparse

from analysis.site_models.base import LP_BOUND_MAX_PAIRS, _SiteModel
from analysis.site_models.candidate_matrix import CandidateSites
from analysis.site_models.errors import InfeasibleError
from analysis.site_models.reduction import dominated_columns
from analysis.site_models.solver import (
    DEFAULT_TIME_LIMIT_S,
    _aggregate_rows,
    _as_csr,
    _coverage_oracle,
    _highs,
    _lazy_greedy,
    _rows_matrix,
)
from coverage.circles import CoverageResult


class LSCP(_SiteModel):
    """Location set covering: the fewest new sites so that every reachable elderly person is covered.

    ``min Σ_j x_j  s.t.  Σ_{j∈N_i} x_j ≥ 1`` for every demand unit with elderly people outside the
    existing facilities' walk that some candidate reaches. Units no candidate reaches (islands, far
    corners) cannot be covered: they are reported in ``uncoverable_elderly`` and left out, or with
    ``strict=True`` :meth:`solve` raises :class:`InfeasibleError`. ``objective`` is the number of
    new sites.
    """

    model = "lscp"
    maximise = False

    @classmethod
    def from_cost_matrix(
        cls,
        cost_matrix,
        service_radius: float,
        *,
        weights=None,
        existing_cost_matrix=None,
        covered_before=None,
        required_groups: Sequence[tuple[str, np.ndarray]] = (),
        strict: bool = False,
        name: str = "lscp",
    ) -> LSCP:
        """Build from a demand × candidate cost matrix; ``weights`` default to 1 per demand row."""
        distance = _as_csr(cost_matrix)
        weights = np.ones(distance.shape[0]) if weights is None else weights
        model = cls(
            distance=distance,
            weights=weights,
            service_radius=service_radius,
            p=None,
            covered_before=covered_before,
            existing_distance=existing_cost_matrix,
            required_groups=required_groups,
            name=name,
        )
        model.strict = bool(strict)
        return model

    @classmethod
    def from_coverage(
        cls,
        result: CoverageResult,
        candidates: gpd.GeoDataFrame | CandidateSites,
        *,
        required_groups: Sequence[tuple[str, np.ndarray]] = (),
        strict: bool = False,
    ) -> LSCP:
        """Build from the walking circles and candidate sites (see :meth:`MCLP.from_coverage`)."""
        sites = cls._coverage_inputs(result, candidates)
        model = cls(
            distance=sites.distance_m,
            weights=result.population["elderly_population"].to_numpy(dtype=float),
            service_radius=result.reach_m,
            p=None,
            covered_before=result.covered,
            required_groups=required_groups,
            reachable=result.population_snap.on_network,
        )
        model.strict = bool(strict)
        model._attach(sites, result)
        return model

    def _check_p(self) -> None:
        uncoverable = self.open_demand & ~self.coverable & self.reachable
        if uncoverable.any():
            units = int(uncoverable.sum())
            elderly = float(self.weights[uncoverable].sum())
            msg = (
                f"{elderly:.0f} elderly persons in {units} demand units have no candidate site within the walk "
                "(network islands or far from every candidate): the set covering cannot reach them"
            )
            if self.strict:
                raise InfeasibleError(msg + "; add candidates there, or run without --strict to cover the rest")
            self.notes.append(msg + "; the rest is covered")

    def _reduced(self) -> tuple[sparse.csr_array, np.ndarray]:
        rows = np.flatnonzero(self.coverable)
        a, _, group = _aggregate_rows(self.coverage[rows], self.weights[rows])
        return a, np.bincount(group, minlength=a.shape[0]).astype(float)

    def _solve_milp(self, time_limit_s: float, mip_rel_gap: float) -> np.ndarray:
        a, _ = self._reduced()
        # dominated candidates (a subset of another's rows, groups included) never lower the count:
        # dropped, like the empty columns outside every T3 group (see reduction.py)
        keep = np.flatnonzero(~dominated_columns(a, self.required_groups)).astype(np.int64)
        if keep.size < a.shape[1]:
            self.notes.append(f"reduced model: {a.shape[1] - keep.size} of {a.shape[1]} candidate sites dominated")
        sub = sparse.csr_array(a[:, keep])
        n_cols = keep.size
        position = np.full(a.shape[1], -1)
        position[keep] = np.arange(n_cols)
        cons = [(sub, np.ones(sub.shape[0]), np.full(sub.shape[0], np.inf))]
        if self.required_groups:
            groups = [(name, position[g][position[g] >= 0]) for name, g in self.required_groups]
            cons.append((_rows_matrix(groups, n_cols), np.ones(len(groups)), np.full(len(groups), np.inf)))
        answer = _highs(
            np.ones(n_cols),
            cons,
            np.ones(n_cols),
            np.zeros(n_cols),
            np.ones(n_cols),
            maximise=False,
            time_limit_s=time_limit_s,
            mip_rel_gap=mip_rel_gap,
        )
        if answer.x is None:
            self.notes.append(f"HiGHS stopped without a solution ({answer.status}); greedy used")
            return self._solve_greedy("lp")
        chosen = keep[np.flatnonzero(answer.x > 0.5)]
        self._record(float(chosen.size), float(np.ceil(answer.bound - 1e-6)), answer.optimal, "highs")
        return chosen

    def _solve_greedy(self, bound: str) -> np.ndarray:
        a, counts = self._reduced()
        chosen, _, _ = _lazy_greedy(
            *_coverage_oracle(a, counts), a.shape[1], self.required_groups, track_bound=False
        )
        lower = 1.0
        if bound == "lp" or (bound == "auto" and a.nnz <= LP_BOUND_MAX_PAIRS):
            n_cols = a.shape[1]
            cons = [(sparse.csr_array(a), np.ones(a.shape[0]), np.full(a.shape[0], np.inf))]
            if self.required_groups:
                cons.append(
                    (
                        _rows_matrix(self.required_groups, n_cols),
                        np.ones(len(self.required_groups)),
                        np.full(len(self.required_groups), np.inf),
                    )
                )
            lp = _highs(
                np.ones(n_cols),
                cons,
                np.zeros(n_cols),
                np.zeros(n_cols),
                np.ones(n_cols),
                maximise=False,
                time_limit_s=DEFAULT_TIME_LIMIT_S,
            )
            if lp.x is not None:
                lower = float(np.ceil(lp.value - 1e-6))
        self._record(float(len(chosen)), lower, False, "greedy")
        return np.asarray(chosen, dtype=np.int64)

    def summary(self) -> dict:
        out = super().summary()
        out["strict"] = self.strict
        return out
