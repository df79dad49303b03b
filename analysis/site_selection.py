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

Layout: this module is the public entry point (import from here); the code lives in
:mod:`analysis.site_models`: ``errors``, ``candidate_matrix`` (:class:`CandidateSites`,
:func:`candidate_sites`), ``solver`` (sparse matrix helpers, HiGHS, lazy greedy), ``base`` (the
shared model class) and one module per model (``mclp``, ``lscp``, ``pmedian``, ``capacitated``).
This module keeps the township helpers (T1/T3), :data:`MODELS` and :func:`township_coverage`.
The settings re-exported here are copies: to change one at run time, set it in the module that
reads it (e.g. ``analysis.site_models.mclp.LP_FIRST_MIN_PAIRS``).
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis.site_models.base import AUTO_EXACT_MAX_PAIRS, LP_BOUND_MAX_PAIRS, _SiteModel
from analysis.site_models.candidate_matrix import CandidateSites, candidate_sites
from analysis.site_models.capacitated import CapacitatedMCLP
from analysis.site_models.errors import InfeasibleError, NoGapError, SiteSelectionError
from analysis.site_models.lscp import LSCP
from analysis.site_models.mclp import LP_FIRST_MIN_PAIRS, MCLP
from analysis.site_models.pmedian import PMEDIAN_CAP_WALKS, PMedian
from analysis.site_models.solver import DEFAULT_TIME_LIMIT_S, MIP_REL_GAP
from coverage.circles import unit_points
from layers.projection import WGS84

__all__ = [
    "AUTO_EXACT_MAX_PAIRS",
    "CENTRE_KINDS",
    "DEFAULT_TIME_LIMIT_S",
    "LP_BOUND_MAX_PAIRS",
    "LP_FIRST_MIN_PAIRS",
    "LSCP",
    "MCLP",
    "MIP_REL_GAP",
    "MODELS",
    "PMEDIAN_CAP_WALKS",
    "CandidateSites",
    "CapacitatedMCLP",
    "InfeasibleError",
    "NoGapError",
    "PMedian",
    "SiteSelectionError",
    "candidate_sites",
    "township_coverage",
    "township_of",
    "townships_needing_centre",
]

#: Kinds of existing facility that count as a township centre (T1/T3).
CENTRE_KINDS: tuple[str, ...] = ("township_centre",)


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
