"""Capacity-aware walking accessibility to elderly-care beds: the two-step floating catchment (2SFCA).

Unlike the nearest-facility circles of W1, 2SFCA shares each facility's beds among everyone who can
walk to it (Luo & Wang 2003), so a crowded facility counts for less:

* step 1, for each facility ``j``: ``R_j = S_j / Σ_{i: d_ij ≤ d0} w(d_ij) P_i`` (beds per elderly
  person in its catchment);
* step 2, for each demand unit ``i``: ``A_i = Σ_{j: d_ij ≤ d0} w(d_ij) R_j`` (beds per elderly
  person within reach).

``d_ij`` are walking metres on the street network (W4) from :func:`coverage.matrix.walking_distance_matrix`,
``d0`` is the catchment (W1 minutes × W2 speed), ``P_i`` elderly persons, ``S_j`` beds. Both steps
are two sparse matrix-vector products. With ``decay="none"`` the result equals PySAL ``access``'s
``Access.two_stage_fca`` (raw, ``normalize=False``) on the same long cost table and ``max_cost``;
``A_i × 1000`` is comparable with C5 (beds per 1000 elderly).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from analysis.capacity import PER_THOUSAND
from coverage.circles import CoverageResult, unit_points
from coverage.matrix import walking_distance_matrix
from coverage.settings import resolve_speed
from layers.errors import FieldError
from layers.projection import require_crs

#: Distance-decay functions of ``d / d0`` (0 at the facility, 1 at the catchment edge).
#: ``gaussian`` is the Gaussian of Dai (2010, E2SFCA): 1 at 0 m, falling to 0 at ``d0``.
DECAY_FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "none": lambda x: np.ones_like(x),
    "linear": lambda x: 1.0 - x,
    "gaussian": lambda x: (np.exp(-0.5 * x * x) - np.exp(-0.5)) / (1.0 - np.exp(-0.5)),
}

#: Column names written by :func:`accessibility_from_coverage`.
ACCESS_COLUMN = "beds_per_elderly"
ACCESS_PER_THOUSAND_COLUMN = "beds_per_1000_elderly"


@dataclass(frozen=True)
class Accessibility:
    """Result of :func:`two_step_fca`.

    Attributes
    ----------
    access : ndarray of float64
        ``A_i``: beds per elderly person reachable from each demand unit (0 when none in reach).
    ratio : ndarray of float64
        ``R_j``: beds per (distance-weighted) elderly person in each facility's catchment; NaN when
        no elderly person lives in its catchment (its beds are then counted nowhere).
    catchment_demand : ndarray of float64
        ``Σ_i w(d_ij) P_i``: distance-weighted elderly persons in each facility's catchment.
    suppliers_in_reach : ndarray of int64
        Facilities within the catchment of each demand unit.
    catchment_m : float
        The catchment ``d0`` in metres.
    decay : str
        Name of the distance-decay function (``"custom"`` for a callable).
    """

    access: np.ndarray
    ratio: np.ndarray
    catchment_demand: np.ndarray
    suppliers_in_reach: np.ndarray
    catchment_m: float
    decay: str

    @property
    def access_per_thousand(self) -> np.ndarray:
        """``A_i`` in beds per 1000 elderly people (the unit of C5)."""
        return self.access * PER_THOUSAND

    @property
    def unassigned_supply(self) -> np.ndarray:
        """Whether each facility has nobody in its catchment (its beds reach no one)."""
        return np.isnan(self.ratio)


def _decay_weights(distance_m: np.ndarray, catchment_m: float, decay: str | Callable) -> np.ndarray:
    if callable(decay):
        weights = np.asarray(decay(distance_m), dtype=float)
    else:
        try:
            function = DECAY_FUNCTIONS[decay]
        except KeyError:
            msg = f"unknown decay '{decay}'; use one of {sorted(DECAY_FUNCTIONS)} or a function of metres"
            raise ValueError(msg) from None
        weights = function(distance_m / catchment_m)
    if weights.shape != distance_m.shape or not np.all(np.isfinite(weights)) or (weights < 0).any():
        raise ValueError("the decay function must give one finite, non-negative weight per distance")
    return weights


def _check_vector(values: np.ndarray, size: int, name: str, axis: str) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.shape != (size,):
        msg = f"{name} has shape {values.shape}, but the distance matrix has {size} {axis}"
        raise ValueError(msg)
    if not np.all(np.isfinite(values)) or (values < 0).any():
        msg = f"{name} must be finite and non-negative (persons or beds); drop or fill the missing ones first"
        raise ValueError(msg)
    return values


def two_step_fca(
    distance_matrix: sparse.sparray | sparse.spmatrix,
    demand: np.ndarray,
    supply: np.ndarray,
    *,
    catchment_m: float,
    decay: str | Callable[[np.ndarray], np.ndarray] = "none",
) -> Accessibility:
    """Two-step floating catchment area accessibility from a sparse walking-distance matrix.

    Parameters
    ----------
    distance_matrix : scipy sparse array or matrix, shape (n_demand, n_supply)
        Walking metres from each demand unit to each facility. Stored entries are the pairs that
        can walk to each other (an explicitly stored 0 is a pair 0 m apart); absent entries are
        out of reach. Entries farther than ``catchment_m`` are ignored, so a matrix built with a
        larger limit can be reused for smaller catchments.
    demand : ndarray of float, shape (n_demand,)
        Elderly persons ``P_i`` at each demand unit.
    supply : ndarray of float, shape (n_supply,)
        Beds ``S_j`` at each facility.
    catchment_m : float
        Catchment ``d0`` in metres (e.g. 15 min × 60 × 0.8 m/s = 720 m).
    decay : {"none", "linear", "gaussian"} or callable
        Distance weight ``w(d)`` inside the catchment: ``none`` 1; ``linear`` ``1 - d/d0``;
        ``gaussian`` ``(exp(-½(d/d0)²) - exp(-½)) / (1 - exp(-½))`` (Dai 2010); or a function
        taking an array of metres and returning weights.

    Returns
    -------
    Accessibility
        ``access`` (``A_i``, beds per elderly person) and ``ratio`` (``R_j``).
    """
    if not np.isfinite(catchment_m) or catchment_m <= 0:
        raise ValueError(f"catchment_m must be a positive number of metres, got {catchment_m}")
    coo = sparse.coo_array(distance_matrix)
    n_demand, n_supply = coo.shape
    demand = _check_vector(demand, n_demand, "demand", "rows")
    supply = _check_vector(supply, n_supply, "supply", "columns")
    if coo.nnz and (np.isnan(coo.data).any() or (coo.data < 0).any()):
        raise ValueError("walking distances must be non-negative numbers of metres")
    pair = coo.row.astype(np.int64) * n_supply + coo.col
    if np.unique(pair).size != pair.size:
        raise ValueError("the distance matrix stores some demand-facility pair twice; keep one distance per pair")

    inside = coo.data <= catchment_m
    rows, cols, metres = coo.row[inside], coo.col[inside], coo.data[inside]
    weights = _decay_weights(metres, float(catchment_m), decay)
    # Built from index arrays so that pairs 0 m apart and pairs of weight 0 stay explicit pairs.
    weight_matrix = sparse.csr_array((weights, (rows, cols)), shape=(n_demand, n_supply))

    catchment_demand = weight_matrix.T @ demand  # Σ_i w_ij P_i, per facility
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(catchment_demand > 0, supply / catchment_demand, np.nan)
    access = weight_matrix @ np.nan_to_num(ratio, nan=0.0)  # Σ_j w_ij R_j, per demand unit
    suppliers = np.bincount(rows, minlength=n_demand).astype(np.int64)
    return Accessibility(
        access=np.asarray(access, dtype=float),
        ratio=ratio,
        catchment_demand=np.asarray(catchment_demand, dtype=float),
        suppliers_in_reach=suppliers,
        catchment_m=float(catchment_m),
        decay="custom" if callable(decay) else str(decay),
    )


def accessibility_from_coverage(
    result: CoverageResult,
    *,
    minutes: float | None = None,
    speed: float | str | None = None,
    decay: str | Callable[[np.ndarray], np.ndarray] = "none",
) -> gpd.GeoDataFrame:
    """2SFCA of elderly-care beds for the population units of a coverage result.

    The catchment is ``minutes × 60 × speed`` metres walked on the street network; the distance
    matrix is computed anew (:func:`coverage.matrix.walking_distance_matrix`) for that catchment.

    Parameters
    ----------
    result : CoverageResult
        From :func:`coverage.circles.compute_coverage`; its facilities need a ``beds`` column
        (beds) and its population an ``elderly_population`` column (persons).
    minutes : float, optional
        Catchment in walking minutes (W1); default ``result.minutes``.
    speed : float or str, optional
        Walking speed in m/s or a W2 preset name; default ``result.speed_mps``.
    decay : {"none", "linear", "gaussian"} or callable
        Distance weight inside the catchment, see :func:`two_step_fca`.

    Returns
    -------
    GeoDataFrame
        The population units (graph's metric CRS) with ``beds_per_elderly`` (``A_i``),
        ``beds_per_1000_elderly`` and ``suppliers_in_reach``. Units more than the snapping
        limit from a street (W4) get NaN: their access is unknown, not zero, and their elderly
        are not counted in any facility's catchment. ``attrs`` holds ``catchment_m``, ``decay``,
        ``facility_ratio`` (``{facility_label: R_j}``, NaN with nobody in reach) and
        ``excluded_facility_ids`` (facilities left out because their bed count is unknown).

    Raises
    ------
    FieldError
        The facilities have no ``beds`` column or no facility has a bed count, or the
        population has no ``elderly_population`` column.
    """
    minutes = result.minutes if minutes is None else float(minutes)
    if minutes <= 0:
        raise ValueError(f"minutes must be positive, got {minutes}")
    speed_mps = result.speed_mps if speed is None else resolve_speed(speed)
    catchment_m = minutes * 60.0 * speed_mps

    facilities = result.facilities
    if "beds" not in facilities.columns or facilities["beds"].isna().all():
        raise FieldError(
            "no facility has a bed count: 2SFCA shares beds among the elderly within reach",
            layer="facilities",
            field="beds",
        )
    if "elderly_population" not in result.population.columns:
        raise FieldError(
            "the population units have no elderly population", layer="population", field="elderly_population"
        )
    beds = pd.to_numeric(facilities["beds"], errors="coerce").to_numpy(dtype=float)
    with_beds = ~np.isnan(beds)
    ids = facilities["facility_id"] if "facility_id" in facilities.columns else facilities["facility_label"]
    excluded = ids[~with_beds].astype(str).tolist()

    elderly = result.population["elderly_population"].to_numpy(dtype=float)
    on_network = result.population_snap.on_network
    elderly_on = np.where(on_network, np.nan_to_num(elderly, nan=0.0), 0.0)
    sites = result.facility_snap.subset(with_beds)
    matrix = walking_distance_matrix(result.graph, result.population_snap, sites, catchment_m)
    fca = two_step_fca(matrix, elderly_on, beds[with_beds], catchment_m=catchment_m, decay=decay)

    out = result.population.copy()
    out[ACCESS_COLUMN] = np.where(on_network, fca.access, np.nan)
    out[ACCESS_PER_THOUSAND_COLUMN] = out[ACCESS_COLUMN] * PER_THOUSAND
    out["suppliers_in_reach"] = fca.suppliers_in_reach
    labels = facilities["facility_label"].to_numpy(dtype=np.int64)[with_beds]
    out.attrs = {
        "catchment_m": catchment_m,
        "decay": fca.decay,
        "facility_ratio": dict(zip(labels.tolist(), fca.ratio.tolist(), strict=True)),
        "excluded_facility_ids": excluded,
    }
    return out


def aggregate_by_polygons(
    units: gpd.GeoDataFrame,
    polygons: gpd.GeoDataFrame,
    *,
    weight: str = "elderly_population",
    value: str = ACCESS_COLUMN,
) -> pd.Series:
    """Elderly-weighted mean of a per-unit value within each polygon (e.g. per township).

    Parameters
    ----------
    units : GeoDataFrame
        Population units (points or polygons) with ``value`` and ``weight`` columns; a polygon unit
        falls in the polygon that holds a point inside it.
    polygons : GeoDataFrame
        Areas to aggregate to (townships, streets), any CRS (transformed to the units' CRS).
    weight : str
        Column of weights, default ``elderly_population`` (persons).
    value : str
        Column to average, default ``beds_per_elderly`` (beds per elderly person).

    Returns
    -------
    Series
        Indexed like ``polygons``: ``Σ w_i v_i / Σ w_i`` over units inside each polygon. Units with
        NaN value (off-network) are left out of both sums; polygons with no weighted unit get NaN.
        A unit on a shared boundary counts for one polygon only.
    """
    require_crs(units, layer="units")
    require_crs(polygons, layer="polygons")
    for column in (weight, value):
        if column not in units.columns:
            raise FieldError(f"the units have no '{column}' column", layer="units", field=column)
    areas = gpd.GeoSeries(polygons.geometry.to_crs(units.crs).to_numpy(), crs=units.crs)  # positional index
    points = gpd.GeoSeries(unit_points(units.geometry), crs=units.crs).to_numpy()
    weights = pd.to_numeric(units[weight], errors="coerce").to_numpy(dtype=float)
    values = pd.to_numeric(units[value], errors="coerce").to_numpy(dtype=float)
    usable = np.flatnonzero(np.isfinite(values) & np.isfinite(weights))
    unit_pos, area_pos = areas.sindex.query(points[usable], predicate="intersects")
    first = np.unique(unit_pos, return_index=True)[1]  # one polygon per unit
    unit_idx, area_idx = usable[unit_pos[first]], area_pos[first]
    n_areas = len(areas)
    weighted = np.bincount(area_idx, weights=weights[unit_idx] * values[unit_idx], minlength=n_areas)
    total = np.bincount(area_idx, weights=weights[unit_idx], minlength=n_areas)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(total > 0, weighted / total, np.nan)
    return pd.Series(mean, index=polygons.index, name=f"{value}_weighted_mean")
