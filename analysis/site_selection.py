"""Site selection: where new elderly-service facilities should go to close the gaps (issue 4).

Four models, each a class in the style of PySAL spopt: built from a cost matrix
(:meth:`from_cost_matrix`) or from the walking engine's :class:`~coverage.circles.CoverageResult`
and a candidate layer (:meth:`from_coverage`), solved by :meth:`solve`, answers as attributes.

- :class:`MCLP`: maximal covering. ``p`` new sites maximising the elderly population newly within
  the walk (W1, 15 minutes); existing facilities count as already open, so demand they cover is left
  out.
- :class:`LSCP`: location set covering. The fewest sites so that every elderly person who can be
  reached on the street network (some candidate within the walk) is within it. Demand that no
  candidate reaches (network islands, far corners) is reported as ``uncoverable_elderly`` and the
  rest is covered; ``strict=True`` raises :class:`InfeasibleError` instead.
- :class:`PMedian`: ``p`` new sites minimising the total elderly walking time to the nearest open
  facility (existing facilities are fixed open columns). The distance matrix is bounded, so walking
  times are truncated at ``max_cost`` (default two W1 walks, 30 minutes): demand farther than that
  from every open facility counts at the cap.
- :class:`CapacitatedMCLP`: maximal covering where a site serves at most its capacity (elderly
  persons, e.g. beds); spopt's MCLP has no capacities. Demand is assigned (fractionally) to sites
  within the walk, ``Σ_i w_i z_ij ≤ cap_j x_j``.

Existing facilities stay fixed and open in every model. ``solve(method="milp")`` solves the model
exactly as an integer programme with HiGHS (:func:`scipy.optimize.milp`); large MCLPs solve the LP
relaxation first (interior point) and stop there when it is integral, else fix variables by reduced
costs against the greedy incumbent before branching. ``method="greedy"`` is a lazy greedy (a heap of
stale marginal gains, valid because coverage and p-median savings are submodular); its optimality
gap is reported against an upper bound (the submodular bound ``f(S) + Σ top-p gains``, or the LP
relaxation when that is affordable). ``method="auto"`` picks the MILP while the instance is small
enough and falls back to greedy beyond.

Township options (T1/T3, "one centre per street/township"): ``required_groups`` lists, per
township without a centre, the candidate columns inside it; every model then opens at least one
of them. The single-site minimum (Q3) filters candidates whose parcel or building is known to be
too small (see :func:`analysis.candidates.apply_single_site_minimum`).

All distances in metres, times in minutes, populations in persons (people aged 60+).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Self

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from coverage.circles import CoverageResult, unit_points
from coverage.matrix import walking_distance_matrix
from coverage.snapping import SnappedPoints, snap_points
from layers.errors import FieldError, InputError
from layers.projection import WGS84, require_crs

# ----- settings --------------------------------------------------------------------------------
#: Seconds HiGHS may spend on one model before the best solution found is returned with its gap.
DEFAULT_TIME_LIMIT_S: float = 60.0
#: Relative optimality gap at which HiGHS stops (``mip_rel_gap``); 1e-7 is "exact" for persons.
MIP_REL_GAP: float = 1e-7
#: ``method="auto"`` solves the MILP up to this many demand-site pairs within reach, else greedy.
AUTO_EXACT_MAX_PAIRS: dict[str, int] = {
    "mclp": 3_000_000,
    "lscp": 1_000_000,
    "pmedian": 600_000,
    "mclp-capacity": 300_000,
}
#: MCLPs with more pairs than this solve the LP relaxation first (interior point + crossover).
LP_FIRST_MIN_PAIRS: int = 100_000
#: A greedy solution's gap uses the LP relaxation bound up to this many pairs (else submodular).
LP_BOUND_MAX_PAIRS: int = 100_000
#: p-median: walking times are truncated at this many W1 walks (2 → 30 minutes).
PMEDIAN_CAP_WALKS: float = 2.0
#: Kinds of existing facility that count as a township centre (T1/T3).
CENTRE_KINDS: tuple[str, ...] = ("township_centre",)

_TOL = 1e-9


# ----- errors ----------------------------------------------------------------------------------
class SiteSelectionError(InputError):
    """Site selection cannot run on these inputs; the message says what to change."""


class NoGapError(SiteSelectionError):
    """There is no uncovered elderly demand that a candidate could cover: nothing to close."""


class InfeasibleError(SiteSelectionError):
    """The model has no solution (LSCP with uncoverable demand in strict mode, too small p)."""


# ----- candidate sites on the walking graph -----------------------------------------------------
@dataclass(frozen=True)
class CandidateSites:
    """Candidate sites joined to the walking graph, with walking metres from every demand unit.

    Attributes
    ----------
    frame : GeoDataFrame
        On-network candidates in the graph's metric CRS (index ``0..n-1`` = matrix column).
    snap : SnappedPoints
        Where each of them joins the street network.
    distance_m : scipy.sparse.csr_array
        Demand units × candidates, walking metres for pairs within ``limit_m``.
    existing_distance_m : scipy.sparse.csr_array
        Demand units × existing facilities, walking metres within ``limit_m``.
    limit_m : float
        Pairs farther apart (metres) are not stored.
    off_network : int
        Candidates left out: farther than the snapping limit from a walkable street (W4).
    """

    frame: gpd.GeoDataFrame
    snap: SnappedPoints
    distance_m: sparse.csr_array
    existing_distance_m: sparse.csr_array
    limit_m: float
    off_network: int


def candidate_sites(
    result: CoverageResult,
    candidates: gpd.GeoDataFrame,
    *,
    limit_m: float | None = None,
    max_snap_m: float | None = None,
) -> CandidateSites:
    """Snap candidate sites to the walking graph and compute walking metres to them, once.

    Parameters
    ----------
    result : CoverageResult
        The walking circles of the existing facilities (graph, population, snapping).
    candidates : GeoDataFrame
        Candidate points or polygons (any CRS; polygons use a point inside them).
    limit_m : float, optional
        Longest walk kept in the matrices, metres (default: the W1 walk, ``result.reach_m``).
    max_snap_m : float, optional
        Candidates farther than this from a walkable street are dropped (default: as ``result``).

    Raises
    ------
    SiteSelectionError
        No candidates, or every candidate is off the network.
    """
    if candidates is None or len(candidates) == 0:
        raise SiteSelectionError("there are no candidate sites: pass a candidate file or let the tool generate some")
    require_crs(candidates, layer="candidates")
    max_snap_m = result._max_snap_m if max_snap_m is None else float(max_snap_m)
    limit_m = result.reach_m if limit_m is None else float(limit_m)
    frame = candidates.to_crs(result.graph.crs).reset_index(drop=True)
    snap = snap_points(result.graph, unit_points(frame.geometry), max_snap_m)
    on = snap.on_network
    if not on.any():
        msg = (
            f"all {len(frame)} candidate sites are more than {max_snap_m:.0f} m from a walkable street (W4): "
            "wrong coordinate system, or the candidates lie outside the street network's area"
        )
        raise SiteSelectionError(msg, layer="candidates", field="geometry")
    frame = frame.loc[on].reset_index(drop=True)
    snap = snap.subset(on)
    distance = walking_distance_matrix(result.graph, result.population_snap, snap, limit_m)
    existing = walking_distance_matrix(result.graph, result.population_snap, result.facility_snap, limit_m)
    return CandidateSites(frame, snap, distance, existing, float(limit_m), int((~on).sum()))


# ----- townships (T1 / T3) ----------------------------------------------------------------------
def township_of(points: gpd.GeoDataFrame, townships: gpd.GeoDataFrame) -> np.ndarray:
    """Name of the township each point (or polygon's inner point) lies in; ``None`` outside all."""
    if townships is None or len(points) == 0:
        return np.full(len(points), None, dtype=object)
    inner = gpd.GeoSeries(unit_points(points.geometry), crs=points.crs).to_crs(townships.crs)
    tree = shapely.STRtree(townships.geometry.to_numpy())
    pt_idx, poly_idx = tree.query(inner.to_numpy(), predicate="within")
    names = np.full(len(points), None, dtype=object)
    order = np.argsort(pt_idx, kind="stable")[::-1]  # first township wins where polygons overlap
    names[pt_idx[order]] = townships["township"].to_numpy()[poly_idx[order]]
    return names


def townships_needing_centre(
    townships: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    *,
    centre_kinds: Sequence[str] = CENTRE_KINDS,
) -> tuple[list[tuple[str, np.ndarray]], list[str]]:
    """T1/T3 (一街道一中心): candidate columns inside each township that has no centre yet.

    Parameters
    ----------
    townships : GeoDataFrame
        ``township`` names and polygons.
    facilities : GeoDataFrame
        Existing facilities with a ``kind`` column (``township_centre`` counts as a centre).
    candidates : GeoDataFrame
        The on-network candidates (row = matrix column).

    Returns
    -------
    groups : list of (township, ndarray of int)
        One group per township without a centre that has at least one candidate inside it.
    notes : list of str
        Townships without a centre and without any candidate (T3 cannot be met there).
    """
    kinds = facilities["kind"].astype(str) if "kind" in facilities.columns else pd.Series("", index=facilities.index)
    centres = facilities.loc[kinds.isin(list(centre_kinds)).to_numpy()]
    with_centre = set(township_of(centres, townships).tolist()) - {None}
    where = township_of(candidates, townships)
    groups, notes = [], []
    for name in townships["township"].tolist():
        if name in with_centre:
            continue
        members = np.flatnonzero(where == name)
        if members.size:
            groups.append((name, members))
        else:
            notes.append(f"T3: township '{name}' has no centre and no candidate site inside it")
    return groups, notes


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


@dataclass
class _MilpAnswer:
    x: np.ndarray | None
    value: float  # in the model's own sense (max or min)
    bound: float
    optimal: bool
    status: str


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
) -> _MilpAnswer:
    """Solve one model with HiGHS through :func:`scipy.optimize.milp` (minimises ``±c·x``)."""
    sign = -1.0 if maximise else 1.0
    cons = [LinearConstraint(a, lb, ub) for a, lb, ub in constraints if a.shape[0]]
    res = milp(
        sign * c,
        constraints=cons,
        integrality=integrality,
        bounds=Bounds(lower, upper),
        options={"time_limit": max(float(time_limit_s), 1.0), "mip_rel_gap": mip_rel_gap, "disp": False},
    )
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


# ----- the models --------------------------------------------------------------------------------
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


class MCLP(_SiteModel):
    """Maximal covering location problem: ``p`` new sites, most elderly newly within the walk.

    ``max Σ_i w_i y_i  s.t.  y_i ≤ Σ_{j∈N_i} x_j,  Σ_j x_j ≤ p,  x ∈ {0,1}, y ∈ [0,1]`` over the demand
    that existing facilities leave outside the walk (they are open; their coverage counts as
    ``covered_before``). ``objective`` is the elderly population newly covered (persons).
    """

    model = "mclp"
    maximise = True

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

    def _value(self, selected: Sequence[int]) -> float:
        """Elderly newly covered by a set of sites (persons)."""
        sel = np.asarray(list(selected), dtype=np.int64)
        if sel.size == 0:
            return 0.0
        hit = np.asarray(self.coverage[:, sel].sum(axis=1)).ravel() > 0
        return float(self.weights[hit & self.open_demand].sum())

    def _solve_milp(self, time_limit_s: float, mip_rel_gap: float) -> np.ndarray:
        deadline = time.perf_counter() + time_limit_s
        a, w = self._reduced()
        greedy, greedy_value, greedy_bound = self._greedy_core(a, w)
        if a.nnz >= LP_FIRST_MIN_PAIRS:
            answer = self._lp_first(a, w, greedy, greedy_value, deadline, mip_rel_gap)
            if answer is not None:
                return answer
        return self._branch(
            a,
            w,
            np.arange(a.shape[1]),
            np.zeros(a.shape[1], bool),
            greedy,
            greedy_value,
            min(greedy_bound, np.inf),
            deadline,
            mip_rel_gap,
        )

    def _constraints(self, a: sparse.csr_array, w: np.ndarray, n_cols: int) -> list:
        n_rows = a.shape[0]
        link = sparse.hstack([-a, sparse.identity(n_rows, format="csr")], format="csr")
        count = sparse.csr_array(np.r_[np.ones(n_cols), np.zeros(n_rows)][None, :])
        cons = [
            (link, np.full(n_rows, -np.inf), np.zeros(n_rows)),
            (count, np.array([-np.inf]), np.array([float(self.p)])),
        ]
        return cons

    def _lp_relaxation(self, a: sparse.csr_array, w: np.ndarray, time_limit_s: float):
        """LP relaxation of the reduced MCLP by interior point + crossover (duals for fixing)."""
        n_rows, n_cols = a.shape
        cons = self._constraints(a, w, n_cols)
        blocks = [cons[0][0], cons[1][0]]
        b_ub = [cons[0][2], cons[1][2]]
        if self.required_groups:
            blocks.append(-_rows_matrix(self.required_groups, n_cols, total=n_cols + n_rows))
            b_ub.append(-np.ones(len(self.required_groups)))
        res = linprog(
            -np.r_[np.zeros(n_cols), w],
            A_ub=sparse.vstack(blocks, format="csr"),
            b_ub=np.concatenate(b_ub),
            bounds=(0, 1),
            method="highs-ipm",
            options={"time_limit": max(float(time_limit_s), 1.0)},
        )
        return res if res.status == 0 and res.x is not None else None

    def _lp_first(self, a, w, greedy, greedy_value, deadline, mip_rel_gap):
        """LP relaxation by interior point; integral → done, else reduced-cost fixing, then branch."""
        n_rows, n_cols = a.shape
        res = self._lp_relaxation(a, w, deadline - time.perf_counter())
        if res is None:
            return None
        lp_value = -float(res.fun)
        x = res.x[:n_cols]
        if np.all((x < 1e-6) | (x > 1 - 1e-6)):
            chosen = np.flatnonzero(x > 0.5)
            value = float(w[np.asarray(a[:, chosen].sum(axis=1)).ravel() > 0].sum())
            if chosen.size <= self.p and value >= lp_value - 1e-7 * max(1.0, lp_value):
                self._record(value, lp_value, True, "highs")
                self.notes.append("HiGHS: the LP relaxation was integral (optimal without branching)")
                return chosen
        # reduced-cost fixing against the best known solution (greedy or LP rounding)
        top = np.argsort(-x)[: self.p]
        rounded_value = float(w[np.asarray(a[:, top].sum(axis=1)).ravel() > 0].sum())
        if self.required_groups:  # the rounding may miss a township: keep the greedy incumbent
            rounded_value = -np.inf
        incumbent, incumbent_value = (greedy, greedy_value) if greedy_value >= rounded_value else (top, rounded_value)
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
        return self._branch(a, w, keep, fix_one[keep], incumbent, incumbent_value, lp_value, deadline, mip_rel_gap)

    def _branch(self, a, w, keep, force_one, incumbent, incumbent_value, outer_bound, deadline, mip_rel_gap):
        """MILP on the columns ``keep`` (``force_one`` fixed open); fall back to the incumbent."""
        sub = a[:, keep]
        rows = np.flatnonzero(np.diff(sub.tocsr().indptr) > 0)
        sub = sparse.csr_array(sub[rows])
        ws = w[rows]
        n_rows, n_cols = sub.shape
        position = np.full(a.shape[1], -1)
        position[keep] = np.arange(keep.size)
        groups = []
        for name, g in self.required_groups:
            inside = position[g]
            groups.append((name, inside[inside >= 0]))
        cons = self._constraints(sub, ws, n_cols)
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
            self._record(incumbent_value, bound, False, "greedy")
            self.notes.append(f"HiGHS stopped without a solution ({answer.status}); the greedy solution is kept")
            return np.asarray(incumbent, dtype=np.int64)
        chosen = keep[np.flatnonzero(answer.x[:n_cols] > 0.5)]
        value = float(w[np.asarray(a[:, chosen].sum(axis=1)).ravel() > 0].sum()) if chosen.size else 0.0
        bound = min(answer.bound, outer_bound) if np.isfinite(outer_bound) else answer.bound
        if value + _TOL < incumbent_value:
            self._record(incumbent_value, bound, False, "greedy")
            self.notes.append("HiGHS stopped at its time limit; the greedy solution was better and is kept")
            return np.asarray(incumbent, dtype=np.int64)
        self._record(value, bound, answer.optimal, "highs")
        if not answer.optimal:
            self.notes.append(f"HiGHS stopped: {answer.status}")
        return chosen

    # ----- greedy -------------------------------------------------------------------------------------
    def _greedy_core(self, a: sparse.csr_array, w: np.ndarray) -> tuple[np.ndarray, float, float]:
        chosen, total, bound = _lazy_greedy(*_coverage_oracle(a, w), self.p, self.required_groups)
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
        used = np.flatnonzero(np.diff(sparse.csc_array(a).indptr) > 0)
        in_groups = np.concatenate([g for _, g in self.required_groups]) if self.required_groups else np.empty(0, int)
        keep = np.union1d(used, in_groups).astype(np.int64)
        sub = sparse.csr_array(a[:, keep])
        n_cols = keep.size
        position = np.full(a.shape[1], -1)
        position[keep] = np.arange(n_cols)
        cons = [(sub, np.ones(sub.shape[0]), np.full(sub.shape[0], np.inf))]
        if self.required_groups:
            groups = [(name, position[g]) for name, g in self.required_groups]
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


MODELS: dict[str, type[_SiteModel]] = {"mclp": MCLP, "lscp": LSCP, "pmedian": PMedian, "mclp-capacity": CapacitatedMCLP}


# ----- township table -----------------------------------------------------------------------------
def township_coverage(
    model: _SiteModel,
    population: gpd.GeoDataFrame,
    townships: gpd.GeoDataFrame,
    *,
    facilities: gpd.GeoDataFrame | None = None,
    centre_kinds: Sequence[str] = CENTRE_KINDS,
) -> gpd.GeoDataFrame:
    """Elderly coverage before and after per township (layer ``township_coverage``, EPSG:4326).

    Columns: ``township``, ``elderly_population``, ``covered_before``, ``covered_after`` (persons
    within the walk), ``share_before``, ``share_after`` (0-1), ``new_sites`` (count),
    ``has_centre_before`` (T3, when ``facilities`` is given) and ``centre_proposed``.
    """
    where = township_of(population, townships)
    frame = pd.DataFrame(
        {
            "township": where,
            "elderly": model.elderly,
            "before": model.covered_persons(after=False),
            "after": model.covered_persons(after=True),
        }
    )
    totals = frame.groupby("township", dropna=True)[["elderly", "before", "after"]].sum()
    out = townships.copy()
    names = out["township"]
    out["elderly_population"] = names.map(totals["elderly"]).fillna(0.0).to_numpy()
    out["covered_before"] = names.map(totals["before"]).fillna(0.0).to_numpy()
    out["covered_after"] = names.map(totals["after"]).fillna(0.0).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share_before"] = np.where(
            out["elderly_population"] > 0, out["covered_before"] / out["elderly_population"], np.nan
        )
        out["share_after"] = np.where(
            out["elderly_population"] > 0, out["covered_after"] / out["elderly_population"], np.nan
        )
    if model.candidates is not None and model.selected.size:
        chosen = model.candidates.iloc[model.selected]
        counts = pd.Series(township_of(chosen, townships)).value_counts()
        out["new_sites"] = names.map(counts).fillna(0).astype(int).to_numpy()
    else:
        out["new_sites"] = 0
    if facilities is not None:
        kinds = (
            facilities["kind"].astype(str) if "kind" in facilities.columns else pd.Series("", index=facilities.index)
        )
        centres = facilities.loc[kinds.isin(list(centre_kinds)).to_numpy()]
        has = set(township_of(centres, townships).tolist()) - {None}
        out["has_centre_before"] = names.isin(has).to_numpy()
        required = {name for name, _ in model.required_groups}
        out["centre_proposed"] = names.isin(required).to_numpy() & (out["new_sites"] > 0)
    return out.to_crs(WGS84)
