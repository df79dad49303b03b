"""Townships and streets (乡镇/街道): centre coverage T1-T3, T6, communities T4-T5, and the walk W1.

:func:`check_townships` says per township whether it has a comprehensive centre (T1, T2, T3), how
many stations it has for its communities (T3), what share of its elderly people lives within the
walk of a community facility (W1), and per community whether it has the day-care points its
population asks for (T4) and day care at all (T5). Area findings give the share of townships with a
centre against each target year of T1, against T2, and of rural towns against T6.

The township API is importable from here, though its parts live in their own modules:
:func:`read_townships` and :func:`read_communities` read township and community polygons
(:mod:`analysis.township_layers`, with the column aliases and the ``normalise_*`` functions); when no
township layer exists, :func:`osm_admin_boundaries` takes the administrative boundaries of an OSM
extract instead, and says so (:mod:`analysis.admin_boundaries`). The per-township T1-T3 and W1
findings and the per-community T4-T5 table are built in :mod:`analysis.township_findings`. This
module keeps :class:`TownshipCheck`, :func:`check_townships` and the area findings of T1, T2, T5
and T6 (:func:`check_t1_share`, :func:`check_t2_share`, :func:`check_t5_share`, :func:`check_t6_share`).

Decisions
---------
* A facility belongs to the township it lies in (or the one its ``township`` column names).
  Facilities in no township are counted in the notes, never dropped silently. When there are
  facilities but *none* lies in any township, the two layers do not describe the same place
  (usually a coordinate-system mix-up, e.g. GCJ-02 facilities on WGS84 boundaries):
  :func:`check_townships` raises :class:`~layers.errors.CoordinateError` rather than report every
  township as lacking a centre.
* T2 and T3 ask for a station in every community: without a communities layer only the centre half
  can fail; a township with a centre is then ``not_assessable`` for T2/T3, not passed. The same
  holds for a township that no community of the given layer lies in (the layer does not reach it).
* T4 (the "1+N" rule): a community of ``P`` persons needs no extra day-care point below the T4
  value and at least one from it on (以上 includes the number itself: 30 000 needs one); the
  optional ``extra_point_per_persons`` of the rule (a project parameter, not a seed value) adds
  one more per full band above it. The day-care facilities (kinds ``day_care`` and
  ``day_care_station``, see :mod:`analysis.facility_kinds`) inside the community provide them.
* Rural towns (T6) are townships whose name ends in 镇 or 乡, or whose ``level`` column says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from analysis.admin_boundaries import osm_admin_boundaries
from analysis.facility_assignment import assign_facilities, prepare_facilities
from analysis.facility_kinds import CENTRE_KINDS, DAY_CARE_KINDS, INSTITUTION_KINDS, STATION_KINDS
from analysis.polygon_layers import metric_crs_for, overlap_notes, overlapping_pairs
from analysis.quota_verdicts import area_share_finding
from analysis.rules import Rule, RuleSet
from analysis.township_findings import community_findings, facility_findings, w1_findings_by_township
from analysis.township_layers import normalise_communities, normalise_townships, read_communities, read_townships
from analysis.verdicts import FAIL, NOT_ASSESSABLE, PASS, Finding, summarise
from coverage.circles import CoverageResult
from layers.errors import CoordinateError
from layers.facilities import HEALTH_KINDS
from layers.projection import WGS84

#: The township API (readers re-exported from :mod:`analysis.township_layers` and
#: :mod:`analysis.admin_boundaries`).
__all__ = [
    "TownshipCheck",
    "check_townships",
    "osm_admin_boundaries",
    "read_communities",
    "read_townships",
]


@dataclass
class TownshipCheck:
    """The township checks: one row per township (and per community), findings and notes.

    Attributes
    ----------
    table : GeoDataFrame
        One row per township (EPSG:4326):

        * ``township``, ``rural_town``;
        * facility counts inside it: ``centres`` (township_centre), ``stations`` (community_station
          and day_care_station), ``day_care`` (day_care and day_care_station), ``nursing_homes``,
          ``health_centres``, ``other_facilities``;
        * ``communities`` (count, NaN without a communities layer), ``communities_without_station``;
        * ``t1_status`` (has a centre), ``t2_status`` (centre and a station in every community),
          ``t3_status`` (centres ≥ T3 and stations ≥ communities × T3), ``t3_stations_required``,
          ``t3_stations_shortfall``;
        * ``population``, ``elderly_population`` (persons of the coverage inside),
          ``elderly_covered`` (persons within the walk of a community facility),
          ``w1_elderly_share`` (0-1), ``w1_status``; the ``geometry``.
    findings : list of Finding
        Per township T1, T2, T3, W1; per community T4, T5; per area T1 (one per target year),
        T2, T5, T6 and W1 (elderly-weighted over all townships).
    notes : list of str
        Facilities outside every township, unknown kinds, estimates and where layers came from.
    communities : GeoDataFrame or None
        One row per community: ``community``, ``township``, ``population`` and
        ``population_source``, ``stations``, ``day_care``, ``t4_required_extra``,
        ``t4_provided``, ``t4_shortfall``, ``t4_status``, ``t5_status``.
    """

    table: gpd.GeoDataFrame
    findings: list[Finding]
    notes: list[str] = field(default_factory=list)
    communities: gpd.GeoDataFrame | None = None

    def summary(self) -> dict[str, dict[str, int]]:
        """Counts per rule id (see :func:`analysis.verdicts.summarise`)."""
        return summarise(self.findings)


def _township_table(
    townships: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, crs: CRS
) -> tuple[pd.DataFrame, np.ndarray, gpd.GeoDataFrame, list[str]]:
    """Facilities per township by kind; returns the table, the metric polygons, the facilities, notes.

    Raises :class:`CoordinateError` when there are facilities but none lies in any township.
    """
    names = townships["township"].tolist()
    n = len(names)
    polygons = townships.to_crs(crs).geometry.to_numpy()
    notes = overlap_notes(overlapping_pairs(polygons, names), "township")

    fac = prepare_facilities(facilities, crs)
    poly_idx, fac_idx, assign_notes = assign_facilities(polygons, names, fac, name_column="township")
    notes += assign_notes
    inside = np.unique(fac_idx)
    if len(fac) and inside.size == 0:
        t_bounds = ", ".join(f"{v:.4f}" for v in townships.total_bounds)
        f_bounds = ", ".join(f"{v:.4f}" for v in fac.to_crs(WGS84).total_bounds)
        msg = (
            f"the townships do not cover the facilities: none of the {len(fac)} facilities lies in a township "
            f"(townships {t_bounds}; facilities {f_bounds}); check that both layers are the same place and "
            "coordinate system (GCJ-02/BD-09 facilities need converting)"
        )
        raise CoordinateError(msg, layer="townships", field="geometry")
    if len(fac) - inside.size:
        notes.append(f"{len(fac) - inside.size} of {len(fac)} facilities lie in no township: they count for none")
    other = int((fac["kind"] == "other").sum())
    if other:
        notes.append(f"{other} facilities have an unknown kind ('other'): they count as no centre, station or day care")

    kinds = fac["kind"].to_numpy()[fac_idx]
    table = pd.DataFrame({"township": names, "rural_town": townships["rural_town"].to_numpy(dtype=bool)})
    for column, kind_set in (
        ("centres", CENTRE_KINDS),
        ("stations", STATION_KINDS),
        ("day_care", DAY_CARE_KINDS),
        ("nursing_homes", INSTITUTION_KINDS),
        ("health_centres", HEALTH_KINDS),
        ("other_facilities", ("other",)),
    ):
        table[column] = np.bincount(poly_idx[np.isin(kinds, kind_set)], minlength=n)
    return table, polygons, fac, notes


def _community_columns(
    rules: RuleSet,
    communities: gpd.GeoDataFrame | None,
    table: pd.DataFrame,
    crs: CRS,
    polygons: np.ndarray,
    fac: gpd.GeoDataFrame,
    coverage: CoverageResult | None,
) -> tuple[gpd.GeoDataFrame | None, list[Finding], list[str]]:
    """Communities per township and those without a station (T2, T3); the T4 findings per community."""
    if communities is None:
        table["communities"] = np.nan
        table["communities_without_station"] = np.nan
        return None, [], ["no communities layer: station coverage (T2, T3), T4 and T5 are not assessable"]
    communities = normalise_communities(
        communities, name_field="community" if "community" in communities.columns else None
    )
    community_table, findings_community, community_notes = community_findings(
        rules, communities, crs, polygons, table["township"].tolist(), fac, coverage
    )
    counts = community_table.groupby("township").agg(
        communities=("community", "size"), with_station=("stations", lambda s: int((s > 0).sum()))
    )
    table["communities"] = table["township"].map(counts["communities"]).fillna(0).astype(float)
    with_station = table["township"].map(counts["with_station"]).fillna(0).astype(float)
    table["communities_without_station"] = table["communities"] - with_station
    community_frame = gpd.GeoDataFrame(community_table, geometry=communities.geometry.to_numpy(), crs=communities.crs)
    return community_frame, findings_community, community_notes


def check_t1_share(rule: Rule, has_centre: np.ndarray) -> list[Finding]:
    """T1 over the area: the share of townships with a centre, against each target year (or the value)."""
    passed, failed = int(has_centre.sum()), int((~has_centre).sum())
    targets = rule.extra.get("targets") or {}
    if not targets:
        finding = area_share_finding(
            "T1",
            "all townships",
            passed,
            failed,
            0,
            float(rule.value),
            what="townships",
            what_zh="乡镇（街道）",
            label="T1",
        )
        return [finding]
    return [
        area_share_finding(
            "T1",
            f"all townships ({year} target)",
            passed,
            failed,
            0,
            float(target),
            what="townships",
            what_zh="乡镇（街道）",
            label=f"T1 {year}",
        )
        for year, target in sorted(targets.items(), key=lambda kv: str(kv[0]))
    ]


def check_t2_share(rule: Rule, t2_statuses: list[str]) -> Finding:
    """T2 over the area: the share of townships with a centre and a station in every community."""
    t2_array = np.asarray(t2_statuses)
    return area_share_finding(
        "T2",
        "all townships",
        int((t2_array == PASS).sum()),
        int((t2_array == FAIL).sum()),
        int((t2_array == NOT_ASSESSABLE).sum()),
        float(rule.value),
        what="townships",
        what_zh="乡镇（街道）",
        label="T2 townships with a centre and a station in every community",
    )


def check_t5_share(rules: RuleSet, community_frame: gpd.GeoDataFrame | None) -> Finding:
    """T5 over the area: the share of communities with day care (not assessable without communities)."""
    if community_frame is None:
        return Finding(
            "T5",
            "area",
            "all communities",
            NOT_ASSESSABLE,
            None,
            float(rules.value("T5")),
            None,
            "share",
            "T5 not assessable: no communities layer",
            "T5 无法评估：没有社区图层",
        )
    t5 = community_frame["t5_status"].to_numpy()
    return area_share_finding(
        "T5",
        "all communities",
        int((t5 == PASS).sum()),
        int((t5 == FAIL).sum()),
        int((t5 == NOT_ASSESSABLE).sum()),
        float(rules.value("T5")),
        what="communities",
        what_zh="社区",
        label="T5 communities with day care",
    )


def check_t6_share(rules: RuleSet, rural: np.ndarray, has_centre: np.ndarray) -> Finding:
    """T6 over the area: the share of rural towns (镇/乡) with a regional centre."""
    if not rural.any():
        return Finding(
            "T6",
            "area",
            "rural towns",
            NOT_ASSESSABLE,
            None,
            float(rules.value("T6")),
            None,
            "share",
            "T6 not assessable: no township is a rural town (name ending in 镇/乡 or a level column)",
            "T6 无法评估：没有镇（乡）",
        )
    return area_share_finding(
        "T6",
        "rural towns",
        int((rural & has_centre).sum()),
        int((rural & ~has_centre).sum()),
        0,
        float(rules.value("T6")),
        what="rural towns",
        what_zh="镇",
        label="T6 rural towns with a regional centre",
    )


def check_townships(
    townships: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    rules: RuleSet,
    *,
    coverage: CoverageResult | None = None,
    communities: gpd.GeoDataFrame | None = None,
) -> TownshipCheck:
    """Check townships/streets against T1-T6 and the elderly share within the walk (W1).

    Parameters
    ----------
    townships : GeoDataFrame
        Township polygons (any CRS), as :func:`read_townships` or :func:`osm_admin_boundaries` give.
    facilities : GeoDataFrame
        Facilities in the schema of :mod:`layers.facilities`; ``kind`` decides what they count as
        (``township_centre`` for T1/T2/T3/T6, ``community_station`` and ``day_care_station`` for
        T2/T3, ``day_care`` and ``day_care_station`` for T4/T5; see :mod:`analysis.facility_kinds`).
    rules : RuleSet
        T1 (share, ``extra["targets"]`` per year), T2 (share), T3 (per unit), T4 (persons),
        T5 (share), T6 (share), W1 (minutes).
    coverage : CoverageResult, optional
        Walking coverage: elderly share within the walk per township (W1), T5 reach, and
        community populations when the communities layer has none.
    communities : GeoDataFrame, optional
        Community (社区/村) polygons, with a population column for T4 (persons).

    Returns
    -------
    TownshipCheck

    Raises
    ------
    CoordinateError
        There are facilities but none lies in any township (the layers do not overlap).
    InputError
        Invalid layers, or a rule missing from the rule set.
    """
    t1, t2_rule = rules["T1"], rules["T2"]
    name_field = "township" if "township" in townships.columns else None
    crs = metric_crs_for(townships, coverage) if len(townships) and townships.crs is not None else None
    townships = _keep_attrs(normalise_townships(townships, name_field=name_field), townships)
    crs = crs or metric_crs_for(townships, coverage)
    notes: list[str] = list(townships.attrs.get("notes", []))
    table, polygons, fac, table_notes = _township_table(townships, facilities, crs)
    notes += table_notes
    community_frame, findings_community, community_notes = _community_columns(
        rules, communities, table, crs, polygons, fac, coverage
    )
    notes += community_notes

    # per township: T1, T3, T2 (township by township), then W1, then T4 per community
    findings, t2_statuses, t3_statuses, t3_required, t3_short = facility_findings(
        rules, table, communities is not None
    )
    table["t1_status"] = np.where(table["centres"] > 0, PASS, FAIL)
    table["t2_status"] = t2_statuses
    table["t3_status"] = t3_statuses
    table["t3_stations_required"] = t3_required
    table["t3_stations_shortfall"] = t3_short
    w1_findings, w1_area = w1_findings_by_township(rules, coverage, polygons, table["township"].tolist(), table)
    findings += w1_findings
    findings += findings_community

    # area findings
    has_centre = table["centres"].to_numpy() > 0
    findings += check_t1_share(t1, has_centre)
    findings.append(check_t2_share(t2_rule, t2_statuses))
    findings.append(check_t5_share(rules, community_frame))
    findings.append(check_t6_share(rules, table["rural_town"].to_numpy(dtype=bool), has_centre))
    if w1_area is not None:
        findings.append(w1_area)

    out = gpd.GeoDataFrame(table, geometry=townships.geometry.to_numpy(), crs=townships.crs)
    return TownshipCheck(out, findings, list(dict.fromkeys(notes)), community_frame)


def _keep_attrs(new: gpd.GeoDataFrame, old: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``new`` with the notes and source of ``old`` (normalising twice must not lose them)."""
    new.attrs["notes"] = list(dict.fromkeys(list(old.attrs.get("notes", [])) + list(new.attrs.get("notes", []))))
    new.attrs["source"] = old.attrs.get("source", new.attrs.get("source", ""))
    return new
