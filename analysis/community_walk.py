"""The walk to community elderly services (W1): the share it asks, the coverage by community
facilities only (minutes), and walking metres from any point to the nearest facility.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from analysis.facility_kinds import COMMUNITY_FACILITY_KINDS
from coverage.circles import CoverageResult, compute_coverage, population_distances
from coverage.settings import DEFAULT_MAX_SNAP_M
from coverage.snapping import snap_points

#: W1 has no share in the rule files: "residents reach community elderly services" means every
#: resident, so the share asked is all of them (a definition, not a quota).
EVERY_RESIDENT: float = 1.0


def community_coverage(
    coverage: CoverageResult, minutes: float | None = None, kinds: Sequence[str] = COMMUNITY_FACILITY_KINDS
) -> CoverageResult:
    """The walking coverage by facilities of ``kinds`` only, over ``minutes`` (default: the result's).

    Returns ``coverage`` itself when it already is that; otherwise one bounded pass from the kept
    facilities, reusing the population's snapping. Facilities without a ``kind`` column all count.
    """
    minutes = coverage.minutes if minutes is None else float(minutes)
    facilities = coverage.facilities
    keep = (
        facilities["kind"].isin(list(kinds)).to_numpy()
        if "kind" in facilities.columns
        else np.ones(len(facilities), bool)
    )
    if keep.all() and math.isclose(minutes, coverage.minutes):
        return coverage
    return compute_coverage(
        coverage.graph,
        facilities.loc[keep],
        coverage.population,
        minutes=minutes,
        speed=coverage.speed_mps,
        max_snap_m=float(facilities.attrs.get("max_snap_m", DEFAULT_MAX_SNAP_M)),
        population_snap=coverage.population_snap,
    )


def walk_from_points(coverage: CoverageResult, points: np.ndarray) -> np.ndarray:
    """Walking metres from points (shapely, in the graph's CRS) to the nearest facility of ``coverage``.

    ``inf`` beyond the search limit or off the network (farther than the snapping limit from a street).
    """
    if len(points) == 0:
        return np.empty(0)
    max_snap_m = float(coverage.facilities.attrs.get("max_snap_m", DEFAULT_MAX_SNAP_M))
    snapped = snap_points(coverage.graph, np.asarray(points, dtype=object), max_snap_m)
    distance, _ = population_distances(coverage.graph, snapped, coverage.nodes, coverage.facility_snap, coverage.labels)
    return distance
