"""The engine's bounded walk from the facilities of some kinds only, at a rule's minutes and speed.

Shared by the meal (M1), village (R1, T7) and life-circle tier (W3) checks: one bounded
multi-source Dijkstra pass (:func:`coverage.circles.compute_coverage`) from the kept facilities,
reusing the population's snapping, and walking metres from any point (a compound's or a village's
representative point) to the nearest kept facility (:func:`analysis.community_walk.walk_from_points`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analysis.community_walk import walk_from_points
from coverage.circles import CoverageResult, compute_coverage
from coverage.settings import DEFAULT_MAX_SNAP_M


def kind_mask(coverage: CoverageResult, kinds: Sequence[str]) -> np.ndarray:
    """Which facilities of ``coverage`` are of one of ``kinds`` (all False without a kind column)."""
    facilities = coverage.facilities
    if "kind" not in facilities.columns:
        return np.zeros(len(facilities), bool)
    return facilities["kind"].astype(str).isin(list(kinds)).to_numpy()


def kind_coverage(
    coverage: CoverageResult,
    kinds: Sequence[str],
    *,
    minutes: float | None = None,
    speed_mps: float | None = None,
) -> CoverageResult | None:
    """The walking coverage by facilities of ``kinds`` only.

    Parameters
    ----------
    coverage : CoverageResult
        The run's coverage (its graph, facilities, population and snapping are reused).
    kinds : sequence of str
        Facility kinds kept (``"meal_point"``, ``"village_point"``, ...).
    minutes : float, optional
        Length of the walk in minutes; default the coverage's.
    speed_mps : float, optional
        Walking speed in m/s; default the coverage's.

    Returns
    -------
    CoverageResult or None
        ``None`` when no facility is of those kinds (nothing is within any walk).
    """
    keep = kind_mask(coverage, kinds)
    if not keep.any():
        return None
    return compute_coverage(
        coverage.graph,
        coverage.facilities.loc[keep],
        coverage.population,
        minutes=float(coverage.minutes if minutes is None else minutes),
        speed=float(coverage.speed_mps if speed_mps is None else speed_mps),
        max_snap_m=float(coverage.facilities.attrs.get("max_snap_m", DEFAULT_MAX_SNAP_M)),
        population_snap=coverage.population_snap,
    )


def walk_metres(served: CoverageResult | None, points: np.ndarray) -> np.ndarray:
    """Walking metres from points (shapely, graph CRS) to the nearest facility of ``served``.

    ``inf`` when ``served`` is ``None``, beyond the search limit or off the street network.
    """
    if served is None:
        return np.full(len(points), np.inf)
    return walk_from_points(served, np.asarray(points, dtype=object))
