"""The base class of the site-selection models: shared inputs, checks, solve, ranking and output."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Self

import geopandas as gpd
import numpy as np
import shapely
from scipy import sparse

from analysis.site_models.candidate_matrix import CandidateSites, candidate_sites
from analysis.site_models.errors import InfeasibleError, NoGapError, SiteSelectionError
from analysis.site_models.solver import _TOL, DEFAULT_TIME_LIMIT_S, MIP_REL_GAP, _as_csr, _gap, _within
from coverage.circles import CoverageResult, unit_points
from layers.defaults import AUTO_EXACT_MAX_PAIRS
from layers.defaults import LP_BOUND_MAX_PAIRS as LP_BOUND_MAX_PAIRS  # re-exported: lscp, mclp, capacitated
from layers.projection import WGS84


class _SiteModel:
    """Shared inputs, results and output of the site-selection models.

    Result attributes (set by :meth:`solve`)
    ----------------------------------------
    selected : ndarray of int
        Chosen candidate columns, ranked (the site that adds most first).
    added_elderly : ndarray of float
        Elderly persons each ranked site brings newly within the walk (marginal, in rank order).
    objective : float
        The model's objective (see the class).
    bound : float
        Best bound on the objective (upper for maxima, lower for minima).
    gap : float
        Relative optimality gap of ``objective`` against ``bound`` (0 = proven optimal).
    optimal : bool
    solver : str
        ``"highs"`` or ``"greedy"``.
    seconds : float
    covered_before_elderly, covered_after_elderly : float
        Elderly persons within the walk with the existing facilities, and with the chosen sites too.
    covered_after : ndarray of bool
        Per demand unit, within the walk after.
    notes : list of str
    """

    model: str = ""
    maximise: bool = True

    def __init__(
        self,
        *,
        distance: sparse.csr_array,
        weights: np.ndarray,
        service_radius: float,
        p: int | None,
        covered_before: np.ndarray | None = None,
        existing_distance: sparse.csr_array | None = None,
        required_groups: Sequence[tuple[str, np.ndarray]] = (),
        reachable: np.ndarray | None = None,
        name: str | None = None,
    ) -> None:
        self.name = name or self.model
        self.distance = distance
        n_demand, n_sites = distance.shape
        weights = np.asarray(weights, dtype=float).ravel()
        if weights.size != n_demand:
            raise ValueError(f"weights has {weights.size} values for {n_demand} demand rows")
        if (weights < 0).any() or not np.isfinite(weights).all():
            raise ValueError("weights (elderly persons) must be finite and non-negative")
        self.weights = weights
        self.service_radius = float(service_radius)
        if not self.service_radius > 0:
            raise ValueError(f"service_radius must be positive, got {service_radius}")
        self.coverage = _within(distance, self.service_radius)
        if existing_distance is not None:
            existing_distance = _as_csr(existing_distance, what="existing_cost_matrix")
            if existing_distance.shape[0] != n_demand:
                raise ValueError("existing_cost_matrix must have one row per demand unit")
        self.existing_distance = existing_distance
        if covered_before is None:
            if existing_distance is not None and existing_distance.shape[1]:
                covered_before = np.asarray(_within(existing_distance, self.service_radius).sum(axis=1)).ravel() > 0
            else:
                covered_before = np.zeros(n_demand, dtype=bool)
        self.covered_before = np.asarray(covered_before, dtype=bool)
        self.reachable = np.ones(n_demand, dtype=bool) if reachable is None else np.asarray(reachable, dtype=bool)
        self.required_groups = [(str(k), np.asarray(g, dtype=np.int64)) for k, g in required_groups]
        for township, members in self.required_groups:
            if members.size == 0 or members.min() < 0 or members.max() >= n_sites:
                raise ValueError(f"required group '{township}' has no valid candidate columns")
        self.p = None if p is None else int(p)
        self.candidates: gpd.GeoDataFrame | None = None
        self.notes: list[str] = []
        self.strict = False
        # results
        self.selected = np.empty(0, dtype=np.int64)
        self.added_elderly = np.empty(0)
        self.objective = float("nan")
        self.bound = float("nan")
        self.gap = float("nan")
        self.optimal = False
        self.solver = ""
        self.seconds = float("nan")
        self.covered_after = self.covered_before.copy()

    # ----- inputs, derived ----------------------------------------------------------------------
    @property
    def n_sites(self) -> int:
        """Number of candidate sites (matrix columns)."""
        return int(self.distance.shape[1])

    @property
    def elderly(self) -> np.ndarray:
        """Elderly persons of every demand unit (also those a model leaves out), persons."""
        return getattr(self, "weights_all", self.weights)

    @property
    def total_elderly(self) -> float:
        """Elderly persons in all demand units."""
        return float(self.elderly.sum())

    @property
    def covered_before_elderly(self) -> float:
        """Elderly persons within the walk of an existing facility."""
        return float(self.elderly[self.covered_before].sum())

    @property
    def covered_after_elderly(self) -> float:
        """Elderly persons within the walk after the chosen sites open."""
        return float(self.elderly[self.covered_after].sum())

    def covered_persons(self, *, after: bool = True) -> np.ndarray:
        """Elderly persons of each demand unit within the walk before or after (persons)."""
        return self.elderly * (self.covered_after if after else self.covered_before)

    @property
    def open_demand(self) -> np.ndarray:
        """Demand units with elderly people outside every existing facility's walk."""
        return (~self.covered_before) & (self.weights > 0)

    @property
    def coverable(self) -> np.ndarray:
        """Open demand units with at least one candidate within the walk."""
        return self.open_demand & (np.diff(self.coverage.indptr) > 0)

    @property
    def uncoverable_elderly(self) -> float:
        """Elderly persons outside the walk that no candidate reaches within it (on the network)."""
        mask = self.open_demand & ~self.coverable & self.reachable
        return float(self.weights[mask].sum())

    @property
    def off_network_elderly(self) -> float:
        """Elderly persons in demand units with no walkable street within the snapping limit (W4)."""
        return float(self.elderly[~self.reachable].sum())

    # ----- checks -----------------------------------------------------------------------------------
    def _check_p(self) -> None:
        if self.p is None:
            return
        if self.p < 1:
            raise SiteSelectionError(f"p must be at least 1, got {self.p}", field="p")
        if self.p > self.n_sites:
            msg = (
                f"p={self.p} new sites asked for but there are only {self.n_sites} candidate sites on the "
                "network: lower --p or add candidates"
            )
            raise SiteSelectionError(msg, field="p")
        if len(self.required_groups) > self.p:
            msg = (
                f"p={self.p} is fewer than the {len(self.required_groups)} townships that need a centre (T3): "
                "raise --p or drop the one-centre-per-township option"
            )
            raise InfeasibleError(msg, field="p")

    def _check_gap_exists(self) -> None:
        minutes = f"{self.service_radius:g}"
        if self.weights.sum() <= 0:
            raise NoGapError("the population layer has no elderly people: nothing to cover", layer="population")
        if not self.open_demand.any():
            msg = (
                "every elderly person is already within the walk (radius "
                f"{minutes}) of an existing facility: there is no gap for new sites to close"
            )
            raise NoGapError(msg)
        if not (self.open_demand & self.reachable).any():
            raise NoGapError("the uncovered elderly people are all off the street network: no site can reach them")
        if not self.coverable.any():
            msg = (
                f"none of the {self.n_sites} candidate sites is within the walk (radius {minutes}) of uncovered "
                "elderly people: add candidates nearer the gaps (or let the tool generate them from the demand)"
            )
            raise NoGapError(msg)

    # ----- solving -----------------------------------------------------------------------------------
    def solve(
        self,
        method: str = "auto",
        *,
        time_limit_s: float = DEFAULT_TIME_LIMIT_S,
        mip_rel_gap: float = MIP_REL_GAP,
        bound: str = "auto",
    ) -> Self:
        """Solve the model; results land in the attributes. Returns ``self``.

        Parameters
        ----------
        method : {"auto", "milp", "greedy"}
            ``milp``: exact integer programme with HiGHS (stops at ``time_limit_s`` with the best
            solution and its gap); ``greedy``: lazy greedy with a reported gap; ``auto``: MILP
            while the instance has at most :data:`AUTO_EXACT_MAX_PAIRS` pairs, else greedy.
        time_limit_s : float
            Seconds HiGHS may spend.
        mip_rel_gap : float
            Relative gap at which HiGHS stops.
        bound : {"auto", "lp", "submodular"}
            Greedy only: the upper bound its gap is measured against.
        """
        if method not in ("auto", "milp", "greedy"):
            raise ValueError(f"method must be 'auto', 'milp' or 'greedy', got {method!r}")
        if bound not in ("auto", "lp", "submodular"):
            raise ValueError(f"bound must be 'auto', 'lp' or 'submodular', got {bound!r}")
        self._check_gap_exists()
        self._check_p()
        start = time.perf_counter()
        if method == "auto":
            method = "milp" if self._pairs() <= AUTO_EXACT_MAX_PAIRS[self.model] else "greedy"
            if method == "greedy":
                self.notes.append(f"{self._pairs()} demand-site pairs: solved by lazy greedy, gap reported")
        if method == "milp":
            selected = self._solve_milp(time_limit_s, mip_rel_gap)
        else:
            selected = self._solve_greedy(bound)
        self._finish(np.asarray(selected, dtype=np.int64))
        self.seconds = time.perf_counter() - start
        return self

    def _pairs(self) -> int:
        return int(self.coverage.nnz)

    def _solve_milp(self, time_limit_s: float, mip_rel_gap: float) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _solve_greedy(self, bound: str) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _finish(self, selected: np.ndarray) -> None:
        """Rank the chosen sites and record coverage after."""
        order, added = self._rank(selected)
        if self.model == "mclp" and order.size:
            grouped = np.zeros(self.n_sites, dtype=bool)
            for _, members in self.required_groups:
                grouped[members] = True
            keep = (added > _TOL) | grouped[order]
            if (~keep).any():
                self.notes.append(f"{int((~keep).sum())} sites would add no elderly coverage and are not proposed")
            order, added = order[keep], added[keep]
            if self.p is not None and order.size < self.p:
                self.notes.append(
                    f"{order.size} sites cover every elderly person the candidates can reach; p={self.p} is more than needed"
                )
        self.selected = order
        self.added_elderly = added
        newly = (
            np.asarray(self.coverage[:, order].sum(axis=1)).ravel() > 0
            if order.size
            else np.zeros_like(self.covered_before)
        )
        self.covered_after = self.covered_before | newly
        useless = int((added <= _TOL).sum()) if self.model in ("mclp", "lscp") else 0
        if useless:
            self.notes.append(f"{useless} of the chosen sites add no elderly coverage (required by T3)")

    def _rank(self, selected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Order sites greedily by the elderly each adds to those before it (marginal, persons)."""
        remaining = list(dict.fromkeys(int(j) for j in selected))
        open_w = np.where(self.open_demand, self.weights, 0.0)
        cols = self.coverage.tocsc()
        order, added = [], []
        while remaining:
            gains = cols[:, remaining].T @ open_w
            k = int(np.argmax(gains))
            j = remaining.pop(k)
            order.append(j)
            added.append(float(gains[k]))
            rows = cols.indices[cols.indptr[j] : cols.indptr[j + 1]]
            open_w[rows] = 0.0
        return np.asarray(order, dtype=np.int64), np.asarray(added, dtype=float)

    def _record(self, value: float, bound: float, optimal: bool, solver: str) -> None:
        self.objective = float(value)
        self.bound = float(bound)
        self.gap = 0.0 if optimal else _gap(value, bound, maximise=self.maximise)
        self.optimal = bool(optimal or self.gap == 0.0)
        self.solver = solver

    # ----- output -----------------------------------------------------------------------------------
    def sites_frame(self) -> gpd.GeoDataFrame:
        """The chosen sites, ranked, in EPSG:4326 (layer ``proposed_sites``).

        Columns: ``rank``, ``candidate_id``, ``name``, ``source``, ``added_elderly`` (persons),
        ``covered_elderly`` and ``covered_share`` (cumulative, with the sites ranked above),
        ``land_area_m2``, ``building_area_m2``, ``capacity`` and ``township`` where known.
        """
        if self.candidates is None:
            raise ValueError("no candidate layer attached: build the model with from_coverage()")
        rows = self.candidates.iloc[self.selected].copy()
        rows["geometry"] = unit_points(rows.geometry)
        rows.insert(0, "rank", np.arange(1, len(rows) + 1))
        rows["added_elderly"] = self.added_elderly
        cumulative = self.covered_before_elderly + np.cumsum(self.added_elderly)
        rows["covered_elderly"] = cumulative
        total = self.total_elderly
        rows["covered_share"] = cumulative / total if total > 0 else np.nan
        rows["model"] = self.model
        keep = [
            c
            for c in (
                "rank",
                "candidate_id",
                "name",
                "source",
                "added_elderly",
                "covered_elderly",
                "covered_share",
                "saved_minutes",
                "served_elderly",
                "land_area_m2",
                "building_area_m2",
                "capacity",
                "township",
                "model",
            )
            if c in rows.columns
        ]
        return gpd.GeoDataFrame(rows[keep], geometry=rows.geometry.to_numpy(), crs=self.candidates.crs).to_crs(WGS84)

    def summary(self) -> dict:
        """The one-line JSON summary (persons; ``gap`` relative; coordinates in degrees)."""
        sites = []
        if self.candidates is not None and self.selected.size:
            frame = self.sites_frame()
            xy = shapely.get_coordinates(frame.geometry.to_numpy())
            sites = [
                {"lon": round(float(x), 6), "lat": round(float(y), 6), "added_elderly": round(float(a), 1)}
                for (x, y), a in zip(xy, self.added_elderly, strict=True)
            ]
        elif self.selected.size:
            sites = [
                {"site": int(j), "added_elderly": round(float(a), 1)}
                for j, a in zip(self.selected, self.added_elderly, strict=True)
            ]
        gap = None if not np.isfinite(self.gap) else round(float(self.gap), 6)
        return {
            "model": self.model,
            "p": int(self.selected.size) if self.p is None else int(self.p),
            "sites": sites,
            "covered_before": round(self.covered_before_elderly, 1),
            "covered_after": round(self.covered_after_elderly, 1),
            "solver": self.solver,
            "optimal": bool(self.optimal),
            "gap": gap,
            "objective": round(float(self.objective), 3),
            "bound": None if not np.isfinite(self.bound) else round(float(self.bound), 3),
            "total_elderly": round(self.total_elderly, 1),
            "uncoverable_elderly": round(self.uncoverable_elderly, 1),
            "off_network_elderly": round(self.off_network_elderly, 1),
            "candidates": self.n_sites,
            "seconds": round(float(self.seconds), 3),
            "notes": list(dict.fromkeys(self.notes)),
        }

    # ----- constructors shared -------------------------------------------------------------------------
    @staticmethod
    def _coverage_inputs(
        result: CoverageResult,
        candidates: gpd.GeoDataFrame | CandidateSites,
        limit_m: float | None = None,
    ) -> CandidateSites:
        if isinstance(candidates, CandidateSites):
            if limit_m is not None and candidates.limit_m + 1e-9 < limit_m:
                msg = f"the candidate matrix stops at {candidates.limit_m:.0f} m, the model needs {limit_m:.0f} m"
                raise ValueError(msg)
            return candidates
        return candidate_sites(result, candidates, limit_m=limit_m)

    def _attach(self, sites: CandidateSites, result: CoverageResult) -> None:
        self.candidates = sites.frame
        if sites.off_network:
            self.notes.append(f"{sites.off_network} candidate sites are off the street network (W4) and were left out")
        off = self.off_network_elderly
        if off > 0:
            self.notes.append(f"{off:.0f} elderly persons live off the street network (W4) and cannot be covered")
