"""Candidate sites snapped to the walking graph, with bounded demand × site walking metres."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
from scipy import sparse

from analysis.site_models.errors import SiteSelectionError
from coverage.circles import CoverageResult, unit_points
from coverage.matrix import walking_distance_matrix
from coverage.snapping import SnappedPoints, snap_points
from layers.projection import require_crs


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
