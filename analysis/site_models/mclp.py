"""MCLP: ``p`` new sites maximising the elderly population newly within the walk (persons)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from analysis.site_models.base import LP_BOUND_MAX_PAIRS, _SiteModel
from analysis.site_models.candidate_matrix import CandidateSites
from analysis.site_models.decomposition_bound import BLOCK_COLUMNS, decomposition_bound
from analysis.site_models.errors import InfeasibleError, NoGapError, SiteSelectionError
from analysis.site_models.lns import REGION_SITES, lns_search
from analysis.site_models.local_search import covered_rows, iterated_swap_search, swap_search
from analysis.site_models.reduction import reduce_covering
from analysis.site_models.solver import (
    _TOL,
    DEFAULT_TIME_LIMIT_S,
    _aggregate_rows,
    _as_csr,
    _coverage_oracle,
    _gap,
    _highs,
    _lazy_greedy,
    _rows_matrix,
    covering_constraints,
)
from coverage.circles import CoverageResult
from layers.defaults import LP_FIRST_MIN_PAIRS, MILP_BRANCH_TIME_SHARE

#: Shrink the exact model first (dominated candidates dropped, identical rows merged); exact either way.
REDUCE_MODEL: bool = True

#: Swap search on the greedy incumbent and iterated swaps in the time HiGHS leaves unproven (issue 14).
LOCAL_SEARCH: bool = True

#: Not proven by HiGHS: a Lagrangian decomposition bound (blocks of candidates, see decomposition_bound.py).
DECOMPOSE: bool = True

#: Reduced-cost fixing kept more than this share of the sites: HiGHS's branch and bound is unlikely to
#: move the LP bound in time (bench p = 50: 0 of 1 782 fixed, 5 persons in a minute), so the
#: decomposition bound gets its share of the time instead; below it HiGHS branches as before.
DECOMPOSE_KEPT_SHARE: float = 0.5

#: Candidate sites per block; models with fewer than two blocks' worth are left to HiGHS and the LP.
DECOMPOSITION_BLOCK_COLUMNS: int = BLOCK_COLUMNS

#: Polish by large-neighbourhood search (regions of neighbouring sites re-optimised by HiGHS, see
#: lns.py) instead of iterated swaps on models without T3 groups holding at least this many candidate
#: sites, when the polish has at least LNS_MIN_POLISH_S left; smaller models, whose regions would be
#: the whole model HiGHS just gave up on, keep the swaps.
LNS_MIN_SITES: int = 2 * REGION_SITES

#: Seconds the polish must have for the LNS (bench p = 50, from the same start, CPU seconds: the swaps
#: are as good or better up to ~40 s, 266 320-266 788 at 60 s against the LNS's 266 072-267 670, and
#: stall there; in 180 s solves the LNS polish reached 267 719 and 267 492, the swaps 266 788 twice).
#: The 60 s solve's polish gets ~28 s: it keeps the swaps; longer time limits get the LNS.
LNS_MIN_POLISH_S: float = 45.0


class MCLP(_SiteModel):
    """Maximal covering location problem: ``p`` new sites, most elderly newly within the walk.

    ``max Σ_i w_i y_i  s.t.  y_i ≤ Σ_{j∈N_i} x_j,  Σ_j x_j ≤ p,  x ∈ {0,1}, y ∈ [0,1]`` over the demand
    that existing facilities leave outside the walk (they are open; their coverage counts as
    ``covered_before``). ``objective`` is the elderly population newly covered (persons).
    """

    model = "mclp"
    maximise = True
    #: Where the incumbent handed to HiGHS came from (greedy, local search, LP rounding).
    _incumbent_solver: str = "greedy"
    #: The decomposition bound ran in this solve (it runs once).
    _decomposed: bool = False

    @classmethod
    def from_cost_matrix(
        cls,
        cost_matrix,
        weights,
        service_radius: float,
        p_facilities: int,
        *,
        existing_cost_matrix=None,
        covered_before=None,
        required_groups: Sequence[tuple[str, np.ndarray]] = (),
        name: str = "mclp",
    ) -> MCLP:
        """Build from a demand × candidate cost matrix (dense with ``inf`` = beyond, or sparse).

        Parameters
        ----------
        cost_matrix : array or sparse matrix
            Walking cost (minutes or metres) from every demand unit to every candidate.
        weights : array
            Elderly persons per demand unit.
        service_radius : float
            Pairs with cost ≤ this are covered (same unit as the matrix).
        p_facilities : int
            Number of new sites.
        existing_cost_matrix : array or sparse matrix, optional
            Demand × existing facilities; demand within the radius of one is covered already.
        covered_before : array of bool, optional
            Which demand units existing facilities cover (instead of ``existing_cost_matrix``).
        required_groups : list of (name, columns), optional
            At least one site must open in each group (T3: townships without a centre).
        """
        return cls(
            distance=_as_csr(cost_matrix),
            weights=weights,
            service_radius=service_radius,
            p=p_facilities,
            covered_before=covered_before,
            existing_distance=existing_cost_matrix,
            required_groups=required_groups,
            name=name,
        )

    @classmethod
    def from_coverage(
        cls,
        result: CoverageResult,
        candidates: gpd.GeoDataFrame | CandidateSites,
        p_facilities: int,
        *,
        required_groups: Sequence[tuple[str, np.ndarray]] = (),
    ) -> MCLP:
        """Build from the walking circles of the existing facilities and candidate sites.

        Walking metres come from :func:`coverage.matrix.walking_distance_matrix` (W4 snapping, the
        W1 walk at the result's speed); demand covered already is ``result.covered``.
        """
        sites = cls._coverage_inputs(result, candidates)
        model = cls(
            distance=sites.distance_m,
            weights=result.population["elderly_population"].to_numpy(dtype=float),
            service_radius=result.reach_m,
            p=p_facilities,
            covered_before=result.covered,
            required_groups=required_groups,
            reachable=result.population_snap.on_network,
        )
        model._attach(sites, result)
        return model

    # ----- target coverage -----------------------------------------------------------------------------
    def greedy_coverage_curve(self) -> tuple[np.ndarray, np.ndarray]:
        """The greedy ranking of the candidates and the elderly within the walk after each rank.

        Runs the lazy greedy without a limit on p (T3 township groups first, as in :meth:`solve`)
        until no candidate adds coverage.

        Returns
        -------
        order : ndarray of int
            Candidate columns in greedy order (only those that add coverage, plus T3 picks).
        covered : ndarray of float
            Elderly persons within the walk (existing facilities included) with the first
            1, 2, … sites of ``order`` open; the last value is the most any set of sites reaches.
        """
        self._check_gap_exists()
        a, w = self._reduced()
        initial, gain, commit, all_gains = _coverage_oracle(a, w)
        gains: list[float] = []

        def commit_recording(j: int) -> None:
            gains.append(gain(j))
            commit(j)

        order, _, _ = _lazy_greedy(
            initial, gain, commit_recording, all_gains, self.n_sites, self.required_groups, track_bound=False
        )
        return np.asarray(order, dtype=np.int64), self.covered_before_elderly + np.cumsum(gains)

    def p_for_target(self, target_share: float) -> int:
        """Set ``p`` to the fewest sites whose greedy solution puts ``target_share`` of the elderly within the walk.

        The share counts all elderly persons (``total_elderly``), existing facilities included. The
        greedy ranking gives the smallest ``k`` whose first ``k`` sites reach the target; solving
        the MCLP exactly with ``p = k`` then covers at least as many (the optimum is never below the
        greedy), so the target is still met. Returns ``k`` (also stored in ``self.p``).

        Raises
        ------
        ValueError
            ``target_share`` is not within 0-1.
        SiteSelectionError
            The existing facilities already reach the target, or not even every candidate together
            reaches it (the message gives the best reachable share).
        """
        target = float(target_share)
        if not 0.0 <= target <= 1.0:
            raise ValueError(f"the target coverage is a share of the elderly between 0 and 1, got {target_share}")
        total = self.total_elderly
        if total <= 0:
            raise NoGapError("the population layer has no elderly people: nothing to cover", layer="population")
        tolerance = 1e-9 * max(1.0, total)
        before = self.covered_before_elderly
        if before >= target * total - tolerance:
            msg = (
                f"the existing facilities already put {before / total:.1%} of the elderly within the walk, at least "
                f"the target {target:.1%}: no new site is needed"
            )
            raise SiteSelectionError(msg, field="target_coverage")
        order, covered = self.greedy_coverage_curve()
        reached = np.flatnonzero(covered >= target * total - tolerance)
        if reached.size == 0:
            best = float(covered[-1]) if covered.size else before
            best_share = np.floor(best / total * 1e4) / 1e4  # rounded down: never shown as reaching the target
            msg = (
                f"the target coverage {target:.2%} cannot be reached: even all {order.size} useful candidate sites "
                f"together put only {best_share:.2%} of the elderly within the walk (the best reachable share); "
                "lower the target or add candidates"
            )
            raise InfeasibleError(msg, field="target_coverage")
        k = max(int(reached[0]) + 1, len(self.required_groups), 1)
        self.p = k
        self.notes.append(
            f"target coverage {target:.1%}: the greedy ranking reaches {covered[k - 1] / total:.1%} with {k} sites, "
            f"so p={k}"
        )
        return k

    # ----- exact --------------------------------------------------------------------------------------
    def _reduced(self) -> tuple[sparse.csr_array, np.ndarray]:
        rows = np.flatnonzero(self.coverable)
        a, w, _ = _aggregate_rows(self.coverage[rows], self.weights[rows])
        return a, w

    def _solve_milp(self, time_limit_s: float, mip_rel_gap: float) -> np.ndarray:
        deadline = time.perf_counter() + time_limit_s
        self._decomposed = False
        a, w = self._reduced()
        # exact shrinking: dominated candidates out, rows that became identical merged (see reduction.py)
        if not REDUCE_MODEL:
            return self._solve_reduced(a, w, self.required_groups, deadline, mip_rel_gap)
        small = reduce_covering(a, w, self.required_groups)
        if small.columns.size < a.shape[1] or small.a.shape[0] < a.shape[0]:
            self.notes.append(
                f"reduced model: {a.shape[1] - small.columns.size} of {a.shape[1]} candidate sites dominated, "
                f"{small.a.shape[0]} distinct demand rows of {a.shape[0]}"
            )
        chosen = self._solve_reduced(small.a, small.weights, small.groups, deadline, mip_rel_gap)
        return small.columns[np.asarray(chosen, dtype=np.int64)]

    def _solve_reduced(self, a, w, groups, deadline: float, mip_rel_gap: float) -> np.ndarray:
        """Greedy + swap incumbent, LP-first for big models, branch and bound, then iterated swaps (columns of ``a``)."""
        greedy, greedy_value, greedy_bound = self._greedy_core(a, w, groups)
        incumbent, incumbent_value = swap_search(a, w, greedy, groups) if LOCAL_SEARCH else (greedy, greedy_value)
        self._incumbent_solver = "greedy"
        if incumbent_value > greedy_value + _TOL * max(1.0, greedy_value):
            self._incumbent_solver = "local search"
            self.notes.append(
                f"swap search: the greedy's {greedy_value:.1f} persons raised to {incumbent_value:.1f} by "
                "exchanging sites one at a time"
            )
        else:
            incumbent, incumbent_value = greedy, greedy_value
        answer = None
        if a.nnz >= LP_FIRST_MIN_PAIRS:
            answer = self._lp_first(a, w, incumbent, incumbent_value, deadline, mip_rel_gap, groups)
        if answer is None:
            answer = self._branch(
                a,
                w,
                np.arange(a.shape[1]),
                np.zeros(a.shape[1], bool),
                incumbent,
                incumbent_value,
                min(greedy_bound, np.inf),
                self._branch_deadline(deadline),
                mip_rel_gap,
                groups,
            )
        return self._polish(a, w, answer, groups, deadline, mip_rel_gap)

    @staticmethod
    def _branch_deadline(deadline: float) -> float:
        """When HiGHS's branch and bound must stop: its share of the time left (the rest polishes)."""
        now = time.perf_counter()
        if not LOCAL_SEARCH:
            return deadline
        return now + MILP_BRANCH_TIME_SHARE * max(deadline - now, 0.0)

    def _polish(self, a, w, chosen, groups, deadline: float, mip_rel_gap: float) -> np.ndarray:
        """Not proven optimal: from the best solution, until the deadline or the gap asked, iterated swaps or LNS.

        The large-neighbourhood search (lns.py) on models of ``LNS_MIN_SITES``+ sites without T3 groups
        when at least ``LNS_MIN_POLISH_S`` are left, else iterated swap search.
        """
        if self.optimal:
            return chosen
        if a.nnz < LP_FIRST_MIN_PAIRS and a.nnz <= LP_BOUND_MAX_PAIRS:
            # HiGHS gave up on a small model: the LP bound is cheap and usually tighter than the greedy's
            res = self._lp_relaxation(a, w, max(deadline - time.perf_counter(), 1.0), groups)
            if res is not None and -float(res.fun) < self.bound:
                self._record(self.objective, -float(res.fun), False, self.solver)
                self.notes.append(f"LP bound {self.bound:.1f}: the gap is measured against it")
        if not LOCAL_SEARCH or self.optimal or time.perf_counter() >= deadline - 0.05:
            return chosen
        start_value = self.objective
        stop_at = self.bound * (1.0 - mip_rel_gap) if np.isfinite(self.bound) else np.inf
        chosen, value = swap_search(a, w, np.asarray(chosen, dtype=np.int64), groups)
        large = not groups and a.shape[1] >= LNS_MIN_SITES and deadline - time.perf_counter() >= LNS_MIN_POLISH_S
        if large:
            result = lns_search(a, w, chosen, deadline=deadline, stop_at=stop_at)
            better, value = result.chosen, result.value
            how = (
                f"large-neighbourhood search ({result.moves} regions of ~{result.region_sites} candidate sites "
                f"re-optimised by HiGHS, {result.improved} improving)"
            )
        else:
            better, value, kicks = iterated_swap_search(a, w, chosen, groups, deadline=deadline, stop_at=stop_at)
            how = f"iterated swap search ({kicks} kicks in the time left)"
        if value > start_value + _TOL * max(1.0, start_value):
            self._record(value, self.bound, False, "local search")
            self.notes.append(
                f"{how}: {start_value:.1f} → {value:.1f} persons; gap {self.gap:.2%} to the bound {self.bound:.1f}"
            )
            return better
        return chosen

    def _decomposition_bound(self, a, w, groups, deadline: float, incumbent_value: float, known_bound: float) -> float:
        """Lagrangian decomposition bound over blocks of candidates (persons; ``inf`` when not run).

        Runs once per solve, on models without T3 groups with two blocks' worth of sites, from the LP
        duals of the same matrix, in the time HiGHS's branch and bound would get; adds a note.
        """
        prices = getattr(self, "_lp_prices", None)
        too_small = a.shape[1] < 2 * DECOMPOSITION_BLOCK_COLUMNS
        if not DECOMPOSE or groups or too_small or prices is None or prices[0] != a.shape or self._decomposed:
            return np.inf
        now = time.perf_counter()
        stop = self._branch_deadline(deadline)
        if stop - now < 1.0:
            return np.inf
        self._decomposed = True
        _, row_prices, site_price = prices
        result = decomposition_bound(
            a,
            w,
            int(self.p),
            row_prices,
            site_price,
            deadline=stop,
            incumbent_value=incumbent_value,
            block_columns=DECOMPOSITION_BLOCK_COLUMNS,
        )
        self.notes.append(
            f"decomposition bound {result.bound:.1f} against {known_bound:.1f} before ({result.blocks} blocks of "
            f"candidates, {result.crossing_rows} demand rows shared between blocks, {result.evaluations} evaluations, "
            f"{time.perf_counter() - now:.1f} s)"
        )
        return result.bound

    def _lp_relaxation(self, a: sparse.csr_array, w: np.ndarray, time_limit_s: float, groups=None):
        """LP relaxation of the reduced MCLP by interior point + crossover (duals for fixing)."""
        groups = self.required_groups if groups is None else groups
        n_rows, n_cols = a.shape
        cons = covering_constraints(a, self.p)
        blocks = [cons[0][0], cons[1][0]]
        b_ub = [cons[0][2], cons[1][2]]
        if groups:
            blocks.append(-_rows_matrix(groups, n_cols, total=n_cols + n_rows))
            b_ub.append(-np.ones(len(groups)))
        res = linprog(
            -np.r_[np.zeros(n_cols), w],
            A_ub=sparse.vstack(blocks, format="csr"),
            b_ub=np.concatenate(b_ub),
            bounds=(0, 1),
            method="highs-ipm",
            options={"time_limit": max(float(time_limit_s), 1.0)},
        )
        if res.status != 0 or res.x is None:
            return None
        marginals = getattr(getattr(res, "ineqlin", None), "marginals", None)
        if marginals is not None and len(marginals) > n_rows:
            # duals (persons): a demand row's price, a site's price; the decomposition bound starts there
            self._lp_prices = (a.shape, -np.asarray(marginals[:n_rows], dtype=float), -float(marginals[n_rows]))
        return res

    def _lp_first(self, a, w, greedy, greedy_value, deadline, mip_rel_gap, groups=None):
        """LP relaxation by interior point; integral → done, else reduced-cost fixing, then branch."""
        groups = self.required_groups if groups is None else groups
        n_rows, n_cols = a.shape
        res = self._lp_relaxation(a, w, deadline - time.perf_counter(), groups)
        if res is None:
            return None
        lp_value = -float(res.fun)
        x = res.x[:n_cols]
        if np.all((x < 1e-6) | (x > 1 - 1e-6)):
            chosen = np.flatnonzero(x > 0.5)
            value = float(w[covered_rows(a, chosen)].sum())
            if chosen.size <= self.p and value >= lp_value - 1e-7 * max(1.0, lp_value):
                self._record(value, lp_value, True, "highs")
                self.notes.append("HiGHS: the LP relaxation was integral (optimal without branching)")
                return chosen
        if _gap(greedy_value, lp_value, maximise=True) <= mip_rel_gap:
            self._record(greedy_value, lp_value, False, self._incumbent_solver)
            self.notes.append(f"the {self._incumbent_solver} solution is within the gap asked of the LP bound {lp_value:.1f}")
            return np.asarray(greedy, dtype=np.int64)
        # reduced-cost fixing against the best known solution (greedy or LP rounding)
        top = np.argsort(-x)[: self.p]
        rounded_value = float(w[covered_rows(a, top)].sum())
        if groups:  # the rounding may miss a township: keep the greedy incumbent
            rounded_value = -np.inf
        incumbent, incumbent_value = (greedy, greedy_value) if greedy_value >= rounded_value else (top, rounded_value)
        if incumbent_value > greedy_value:
            self._incumbent_solver = "LP rounding"
        lower_rc = res.lower.marginals[:n_cols]
        upper_rc = res.upper.marginals[:n_cols]
        tol = 1e-6 * max(1.0, lp_value)
        fix_zero = lp_value - lower_rc < incumbent_value - tol
        fix_one = lp_value + upper_rc < incumbent_value - tol  # upper marginals are ≤ 0
        in_incumbent = np.zeros(n_cols, dtype=bool)
        in_incumbent[np.asarray(incumbent, dtype=np.int64)] = True
        fix_zero &= ~in_incumbent
        fix_one &= in_incumbent
        keep = np.flatnonzero(~fix_zero)
        self.notes.append(
            f"HiGHS: LP bound {lp_value:.1f}; {int(fix_zero.sum())} of {n_cols} sites ruled out by reduced costs"
        )
        if keep.size > DECOMPOSE_KEPT_SHARE * n_cols:
            # few sites fixed: HiGHS's root would barely move the LP bound; the decomposition bound takes its time
            bound = self._decomposition_bound(a, w, groups, deadline, incumbent_value, lp_value)
            if np.isfinite(bound):
                self._record(incumbent_value, min(lp_value, bound), False, self._incumbent_solver)
                if self.optimal or self.gap <= mip_rel_gap:
                    self.notes.append(f"the {self._incumbent_solver} solution is within the gap asked of the decomposition bound")
                return np.asarray(incumbent, dtype=np.int64)
        return self._branch(
            a,
            w,
            keep,
            fix_one[keep],
            incumbent,
            incumbent_value,
            lp_value,
            self._branch_deadline(deadline),
            mip_rel_gap,
            groups,
        )

    def _branch(self, a, w, keep, force_one, incumbent, incumbent_value, outer_bound, deadline, mip_rel_gap, groups=None):
        """MILP on the columns ``keep`` (``force_one`` fixed open); fall back to the incumbent."""
        all_groups = self.required_groups if groups is None else groups
        sub = a[:, keep]
        rows = np.flatnonzero(np.diff(sub.tocsr().indptr) > 0)
        sub = sparse.csr_array(sub[rows])
        ws = w[rows]
        n_rows, n_cols = sub.shape
        position = np.full(a.shape[1], -1)
        position[keep] = np.arange(keep.size)
        groups = []
        for name, g in all_groups:
            inside = position[g]
            groups.append((name, inside[inside >= 0]))
        cons = covering_constraints(sub, self.p)
        if groups:
            cons.append(
                (
                    _rows_matrix(groups, n_cols, total=n_cols + n_rows),
                    np.ones(len(groups)),
                    np.full(len(groups), np.inf),
                )
            )
        lower = np.r_[force_one.astype(float), np.zeros(n_rows)]
        upper = np.ones(n_cols + n_rows)
        answer = _highs(
            np.r_[np.zeros(n_cols), ws],
            cons,
            np.r_[np.ones(n_cols), np.zeros(n_rows)],
            lower,
            upper,
            maximise=True,
            time_limit_s=max(deadline - time.perf_counter(), 1.0),
            mip_rel_gap=mip_rel_gap,
        )
        if answer.x is None:
            if answer.status == "infeasible":
                raise InfeasibleError("the MCLP has no solution: the T3 township groups need more sites than p")
            bound = outer_bound if np.isfinite(outer_bound) else np.nan
            self._record(incumbent_value, bound, False, self._incumbent_solver)
            self.notes.append(
                f"HiGHS stopped without a solution ({answer.status}); the {self._incumbent_solver} solution is kept"
            )
            return np.asarray(incumbent, dtype=np.int64)
        chosen = keep[np.flatnonzero(answer.x[:n_cols] > 0.5)]
        value = float(w[covered_rows(a, chosen)].sum())
        bound = min(answer.bound, outer_bound) if np.isfinite(outer_bound) else answer.bound
        if value + _TOL < incumbent_value:
            self._record(incumbent_value, bound, False, self._incumbent_solver)
            self.notes.append(
                f"HiGHS stopped at its time limit; the {self._incumbent_solver} solution was better and is kept"
            )
            return np.asarray(incumbent, dtype=np.int64)
        self._record(value, bound, answer.optimal, "highs")
        if not answer.optimal:
            self.notes.append(f"HiGHS stopped: {answer.status}")
        return chosen

    # ----- greedy -------------------------------------------------------------------------------------
    def _greedy_core(self, a: sparse.csr_array, w: np.ndarray, groups=None) -> tuple[np.ndarray, float, float]:
        groups = self.required_groups if groups is None else groups
        chosen, total, bound = _lazy_greedy(*_coverage_oracle(a, w), self.p, groups)
        return np.asarray(chosen, dtype=np.int64), total, bound

    def _solve_greedy(self, bound: str) -> np.ndarray:
        a, w = self._reduced()
        chosen, value, upper = self._greedy_core(a, w)
        if bound == "lp" or (bound == "auto" and a.nnz <= LP_BOUND_MAX_PAIRS):
            upper = min(upper, self._lp_bound(a, w))
        self._record(value, upper, False, "greedy")
        return chosen

    def _lp_bound(self, a: sparse.csr_array, w: np.ndarray) -> float:
        res = self._lp_relaxation(a, w, DEFAULT_TIME_LIMIT_S)
        return -float(res.fun) if res is not None else np.inf
