"""Residential districts (居住区/小区): the area quotas Q1-Q5 and the 15-minute walk W1, per district.

:func:`read_districts` reads district polygons with their residents, households and 四同步 status;
:func:`check_districts` gives one row per district with what each rule requires, what the district
provides and the shortfall, and a :class:`~analysis.verdicts.Finding` per rule and subject.
:func:`check_proposed_district` answers the same for one planned polygon in a few seconds.

Every quota comes from the rule set (``rules.value("Q1")`` ...): nothing here is a planning number.
A missing input is never a zero: a district without residents, or a facility without a land or
building area, makes the rule ``not_assessable`` and the finding says what to add.

Decisions
---------
* Overlapping districts (intersection larger than :data:`~analysis.polygon_layers.OVERLAP_TOLERANCE`
  of the smaller one) are not an error: each district is checked whole, so a facility or resident in
  the overlap counts for both. Every overlapping pair is listed in the result's ``notes`` with its
  shared area.
* Facilities belong to a district when they lie inside its polygon, or, when the facility layer has a
  ``district`` column, to the district it names (that column wins over the location).
* Residents missing from the district layer are estimated (households × ``persons_per_household``,
  else the population layer inside the polygon, area-weighted) and the ``residents_source`` column
  and a note say so.

The helpers shared with :mod:`analysis.townships` live in their own modules: polygon layers
(reading, checking, names, counts, overlaps) in :mod:`analysis.polygon_layers`; points and population
units in polygons in :mod:`analysis.spatial_join`; facility kinds and which polygon a facility belongs
to in :mod:`analysis.facility_kinds` and :mod:`analysis.facility_assignment`; the walk to community
facilities (W1) in :mod:`analysis.community_walk`; message numbers in :mod:`analysis.message_format`;
and tolerant comparisons and area-level share findings in :mod:`analysis.quota_verdicts`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from analysis.community_walk import EVERY_RESIDENT, community_coverage, walk_from_points
from analysis.district_counts import CountFlags, plausible_range, reconcile_counts
from analysis.facility_assignment import assign_facilities, prepare_facilities
from analysis.facility_kinds import ELDERLY_FACILITY_KINDS
from analysis.message_format import fmt_number, fmt_share
from analysis.polygon_layers import (
    count_column,
    metric_crs_for,
    normalise_polygon_layer,
    overlap_notes,
    overlapping_pairs,
    read_vector_layer,
    unique_names,
)
from analysis.quota_verdicts import RELATIVE_TOLERANCE, area_share_finding, combine_statuses, meets, per_count
from analysis.rules import Rule, RuleSet
from analysis.spatial_join import unit_weights
from analysis.verdicts import FAIL, NOT_ASSESSABLE, PASS, Finding, summarise
from coverage.circles import CoverageResult
from layers.columns import FACILITY_STAGE_ALIASES, HOUSING_STAGE_ALIASES, find_column
from layers.projection import WGS84

PathLike = str | Path

#: Accepted column names (compared case-insensitively) of the district layer; the first present wins.
DISTRICT_COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "district": ("name", "名称", "小区名称", "小区", "居住区", "居住区名称", "district_name", "district"),
    "residents": ("residents", "常住人口", "居民", "人口", "居住人口", "居民人数", "population", "pop"),
    "households": ("households", "户数", "住户", "住户数", "dwellings", "套数"),
    "status": ("status", "四同步", "四同步状态", "q5_status", "交付状态") + FACILITY_STAGE_ALIASES,
    "housing_stage": HOUSING_STAGE_ALIASES,
}

#: Chinese words of a 四同步 status → the statuses of rule Q5 (``rules["Q5"].extra["statuses"]``).
STATUS_WORDS: dict[str, str] = {
    "同步规划": "planned",
    "规划": "planned",
    "已规划": "planned",
    "同步建设": "built",
    "建设": "built",
    "在建": "built",
    "建成": "built",
    "已建成": "built",
    "同步验收": "accepted",
    "验收": "accepted",
    "已验收": "accepted",
    "同步交付": "handed_over",
    "交付": "handed_over",
    "已交付": "handed_over",
    "移交": "handed_over",
    "已移交": "handed_over",
    "handed over": "handed_over",
    "handed-over": "handed_over",
}

#: The statuses of rule Q5 in the seeds' Chinese words, for the Chinese messages.
Q5_STATUS_ZH: dict[str, str] = {
    "planned": "同步规划",
    "built": "同步建设",
    "accepted": "同步验收",
    "handed_over": "同步交付",
}


def normalise_districts(
    frame: gpd.GeoDataFrame, *, file: PathLike | None = None, layer: str | None = None
) -> gpd.GeoDataFrame:
    """Validate a district layer and return it in the district schema (EPSG:4326).

    Columns are found by :data:`DISTRICT_COLUMN_ALIASES` (``name``/``名称``/``小区名称``,
    ``residents``/``人口``/``居民``/``常住人口``, ``households``/``户数``/``dwellings``/``住户``,
    ``status``/``四同步``). Either count may be missing. Calling it on its own output changes nothing.

    Returns
    -------
    GeoDataFrame
        ``district`` (str), ``residents`` (persons, NaN if unknown), ``households`` (NaN if unknown),
        ``status`` (the facility's 四同步 stage, str or NA), ``housing_stage`` (the housing's stage,
        only when the layer has one: ``housing_stage``/``住宅阶段``/``住宅状态``) and the polygon
        ``geometry`` in EPSG:4326. ``attrs["notes"]`` lists
        what was filled in or renamed.

    Raises
    ------
    InputError
        See :func:`~analysis.polygon_layers.normalise_polygon_layer`; :class:`FieldError` for non-numeric or
        negative counts.
    """
    layer_name = layer or "districts"
    frame = normalise_polygon_layer(frame, file=file, layer=layer_name, what="district")
    notes = list(frame.attrs.get("notes", []))
    columns = [c for c in frame.columns if c != frame.geometry.name]
    found = {key: find_column(columns, aliases) for key, aliases in DISTRICT_COLUMN_ALIASES.items()}
    name_col = found["district"]
    names, name_notes = unique_names(frame[name_col].tolist() if name_col else [None] * len(frame), prefix="district")
    notes += [n for n in name_notes if n not in notes]
    out = pd.DataFrame({"district": names})
    for key, what in (("residents", "residents"), ("households", "households")):
        column = found[key]
        out[key] = (
            count_column(frame, column, file=file, layer=layer_name, what=what).to_numpy()
            if column
            else np.full(len(frame), np.nan)
        )
    if found["residents"] is None and found["households"] is None:
        note = "the district layer has no residents or households field: Q1/Q2 need them or an estimate"
        if note not in notes:
            notes.append(note)
    status_col = found["status"]
    out["status"] = frame[status_col].astype("string").str.strip().to_numpy() if status_col else pd.NA
    out["status"] = out["status"].astype("string")
    housing_col = found["housing_stage"]
    if housing_col is not None:  # Q5 compares the facility's stage with it; kept only when given
        out["housing_stage"] = pd.Series(frame[housing_col].astype("string").str.strip().to_numpy(), dtype="string")
    result = gpd.GeoDataFrame(out, geometry=frame.geometry.to_numpy(), crs=frame.crs)
    result.attrs["notes"] = notes
    result.attrs["source"] = str(file) if file is not None else frame.attrs.get("source", "")
    return result


def read_districts(path: PathLike, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read residential district polygons (EPSG:4326) with residents, households and 四同步 status.

    Parameters
    ----------
    path : str or Path
        GeoPackage, GeoJSON, Shapefile, zipped Shapefile or FlatGeobuf of district polygons.
    layer : str, optional
        Layer to read (``--districts-layer``); needed only when the file holds several.

    Returns
    -------
    GeoDataFrame
        See :func:`normalise_districts`.

    Raises
    ------
    InputError
        Missing or unreadable file or layer; :class:`MissingCRSError`, :class:`EmptyLayerError`,
        :class:`GeometryError`, :class:`FieldError` as :func:`normalise_districts` says.
    """
    frame, file, layer_name = read_vector_layer(path, layer=layer, what="district", option="--districts-layer")
    return normalise_districts(frame, file=file, layer=layer_name)


@dataclass
class DistrictCheck:
    """The district checks: one row per district, the findings and notes.

    Attributes
    ----------
    table : GeoDataFrame
        One row per district (EPSG:4326), columns:

        * ``district``; ``residents`` (persons) and ``residents_source``; ``households`` and
          ``households_source`` (``"field"``, an estimate, or ``"missing"``); ``counts_check``
          (why a 0 count was estimated or the two counts disagree, see
          :mod:`analysis.district_counts`; "" when consistent); ``status`` (Q5 text);
        * ``facilities`` (elderly-service facilities in it), ``health_centres``;
        * ``q1_required_m2``, ``q1_provided_m2``, ``q1_shortfall_m2``, ``q1_status`` (land, m²);
        * ``q2_required_m2``, ``q2_provided_m2``, ``q2_shortfall_m2``, ``q2_status`` (building, m²);
        * ``q3_below_minimum`` (facilities under the Q3 size), ``q3_status``;
        * ``meets_q1_q3`` (status used by Q4);
        * ``w1_basis`` (``"population units"`` or ``"district centre point"``), ``w1_population``
          (persons of the population layer inside), ``w1_share`` (0-1 within the walk),
          ``w1_residents_beyond`` (persons), ``w1_status``;
        * ``q5_status``; the district ``geometry``.
        Shortfalls are 0 when the rule passes and NaN when it is not assessable.
    findings : list of Finding
        Q1, Q2, W1, Q5 per district; Q3 per facility; Q4 for the area.
    notes : list of str
        Estimates made, overlaps, facilities outside every district.
    """

    table: gpd.GeoDataFrame
    findings: list[Finding]
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, dict[str, int]]:
        """Counts per rule id (see :func:`analysis.verdicts.summarise`)."""
        return summarise(self.findings)


def _estimate_counts(
    table: pd.DataFrame, population_inside: np.ndarray | None, persons_per_household: float | None
) -> list[str]:
    """Fill missing residents and households in place; return notes saying how."""
    notes = []
    residents = table["residents"].to_numpy(dtype=float).copy()
    households = table["households"].to_numpy(dtype=float).copy()
    residents_source = np.where(np.isfinite(residents), "field", "missing").astype(object)
    households_source = np.where(np.isfinite(households), "field", "missing").astype(object)
    if persons_per_household is not None:
        from_households = ~np.isfinite(residents) & np.isfinite(households)
        residents[from_households] = households[from_households] * persons_per_household
        residents_source[from_households] = f"households × {fmt_number(persons_per_household)} persons per household"
        if from_households.any():
            notes.append(
                f"residents of {int(from_households.sum())} districts estimated as households × "
                f"{fmt_number(persons_per_household)} persons per household (persons_per_household)"
            )
    if population_inside is not None:
        from_layer = ~np.isfinite(residents)
        residents[from_layer] = population_inside[from_layer]
        residents_source[from_layer] = "population layer inside the district (estimate)"
        if from_layer.any():
            notes.append(
                f"residents of {int(from_layer.sum())} districts taken from the population layer inside "
                "each polygon (area-weighted; an estimate, not a count)"
            )
    if persons_per_household is not None:
        from_residents = ~np.isfinite(households) & np.isfinite(residents)
        households[from_residents] = residents[from_residents] / persons_per_household
        households_source[from_residents] = f"residents ÷ {fmt_number(persons_per_household)} persons per household"
        if from_residents.any():
            notes.append(
                f"households of {int(from_residents.sum())} districts estimated as residents ÷ "
                f"{fmt_number(persons_per_household)} persons per household"
            )
    missing_residents = ~np.isfinite(residents)
    if missing_residents.any():
        notes.append(
            f"{int(missing_residents.sum())} districts have no residents and nothing to estimate them from: "
            "Q1 is not assessable there (give residents, households with persons_per_household, or a population layer)"
        )
    missing_households = ~np.isfinite(households)
    if missing_households.any():
        notes.append(
            f"{int(missing_households.sum())} districts have no households: Q2 is not assessable there "
            "(give households, or persons_per_household to derive them from residents)"
        )
    table["residents"] = residents
    table["residents_source"] = residents_source
    table["households"] = households
    table["households_source"] = households_source
    return notes


def _quota_check(
    rule: Rule,
    district: str,
    base: float,
    provided: float,
    missing_facilities: list[str],
    *,
    base_what: str,
    base_zh: str,
    area_what: str,
    area_zh: str,
    area_column: str,
    per: float,
) -> tuple[Finding, float, float, float]:
    """Q1 or Q2 for one district: required = base / per × rule value (m²) vs provided (m²)."""
    quota = float(rule.value)
    if not np.isfinite(base):
        en = f"{rule.id} not assessable for district '{district}': its {base_what} are unknown"
        missing_zh = {"名居民": "居民人数", "户": "户数"}.get(base_zh, base_zh)
        zh = f"{rule.id} 无法评估：小区“{district}”缺少{missing_zh}数据"
        return (
            Finding(rule.id, "district", district, NOT_ASSESSABLE, None, None, None, "m2", en, zh),
            np.nan,
            np.nan,
            np.nan,
        )
    required = base / per * quota
    formula = f"{fmt_number(base)} {base_what} × {fmt_number(quota)} {rule.unit}"
    if missing_facilities and not meets(provided, required):
        listed = ", ".join(missing_facilities[:5])
        en = (
            f"{rule.id} not assessable for district '{district}': {len(missing_facilities)} of its facilities "
            f"have no {area_column} ({listed}); the others give {fmt_number(provided)} m² of the "
            f"{fmt_number(required)} m² "
            f"of {area_what} required ({formula})"
        )
        zh = (
            f"{rule.id} 无法评估：小区“{district}”有 {len(missing_facilities)} 处设施缺少{area_zh}（{listed}）；"
            f"其余设施合计 {fmt_number(provided)} m²，应不少于 {fmt_number(required)} m²"
        )
        return (
            Finding(rule.id, "district", district, NOT_ASSESSABLE, None, required, None, "m2", en, zh),
            required,
            np.nan,
            np.nan,
        )
    if meets(provided, required):
        uncounted = (
            f"; {len(missing_facilities)} facilities without {area_column} not counted" if missing_facilities else ""
        )
        en = (
            f"{rule.id} pass for district '{district}': {fmt_number(provided)} m² of {area_what} ≥ "
            f"{fmt_number(required)} m² ({formula}){uncounted}"
        )
        zh = (
            f"{rule.id} 达标：小区“{district}”{area_zh} {fmt_number(provided)} m² ≥ {fmt_number(required)} "
            f"m²（{fmt_number(base)} {base_zh}）"
        )
        return (
            Finding(rule.id, "district", district, PASS, provided, required, 0.0, "m2", en, zh),
            required,
            provided,
            0.0,
        )
    shortfall = required - provided
    en = (
        f"{rule.id} fail for district '{district}': {fmt_number(provided)} m² of {area_what}, {rule.id} asks "
        f"{fmt_number(required)} m² ({formula}); short by {fmt_number(shortfall)} m²"
    )
    zh = (
        f"{rule.id} 未达标：小区“{district}”{area_zh} {fmt_number(provided)} m²，"
        f"按 {fmt_number(base)} {base_zh}应不少于 {fmt_number(required)} m²，缺 {fmt_number(shortfall)} m²"
    )
    return (
        Finding(rule.id, "district", district, FAIL, provided, required, shortfall, "m2", en, zh),
        required,
        provided,
        shortfall,
    )


def _q3_finding(rule: Rule, facility: str, district: str, area: float) -> Finding:
    """Q3 for one facility: its building area against the minimum single-facility size."""
    minimum = float(rule.value)
    where = f"facility '{facility}' in district '{district}'"
    where_zh = f"小区“{district}”的设施“{facility}”"
    if not np.isfinite(area):
        en = f"Q3 not assessable for {where}: it has no building_area_m2"
        zh = f"Q3 无法评估：{where_zh}缺少建筑面积"
        return Finding(rule.id, "facility", facility, NOT_ASSESSABLE, None, minimum, None, "m2", en, zh)
    if meets(area, minimum):
        en = f"Q3 pass for {where}: {fmt_number(area)} m² ≥ {fmt_number(minimum)} m²"
        zh = f"Q3 达标：{where_zh}建筑面积 {fmt_number(area)} m² ≥ {fmt_number(minimum)} m²"
        return Finding(rule.id, "facility", facility, PASS, area, minimum, 0.0, "m2", en, zh)
    shortfall = minimum - area
    en = (
        f"Q3 fail for {where}: {fmt_number(area)} m² of building area, Q3 asks at least {fmt_number(minimum)} m²; "
        f"short by {fmt_number(shortfall)} m²"
    )
    zh = (
        f"Q3 未达标：{where_zh}建筑面积 {fmt_number(area)} m²，"
        f"单体用房应不少于 {fmt_number(minimum)} m²，缺 {fmt_number(shortfall)} m²"
    )
    return Finding(rule.id, "facility", facility, FAIL, area, minimum, shortfall, "m2", en, zh)


def _blank(value: object) -> bool:
    return (
        value is None
        or value is pd.NA
        or (isinstance(value, float) and math.isnan(value))
        or not str(value).strip()
    )


def _stage(text: object, statuses: list[str]) -> str | None:
    """A stage text (Chinese or English) → one of ``statuses``, or None when not recognised."""
    text = str(text).strip()
    value = STATUS_WORDS.get(text, STATUS_WORDS.get(text.lower(), text.lower().replace(" ", "_")))
    return value if value in statuses else None


def _q5_finding(rule: Rule, district: str, status: object, housing: object = None) -> tuple[Finding, str]:
    """Q5 (四同步) for one district: its facility's stage must not lag its housing's stage.

    Stages in order: ``rules["Q5"].extra["statuses"]`` (planned, built, accepted, handed over).
    Without a housing stage the housing is taken as finished, so the facility must reach the rule's
    value (handed over); the message says so.
    """
    statuses = [str(s) for s in rule.extra.get("statuses", [])]
    if _blank(status):
        en = f"Q5 not assessable for district '{district}': no 四同步 status given (add a status field)"
        zh = f"Q5 无法评估：小区“{district}”没有四同步状态"
        return Finding(
            rule.id, "district", district, NOT_ASSESSABLE, None, None, None, "status", en, zh
        ), NOT_ASSESSABLE
    text = str(status).strip()
    value = _stage(text, statuses)
    housing_given = not _blank(housing)
    required = _stage(housing, statuses) if housing_given else _stage(rule.value, statuses)
    if value is None or required is None:
        bad = text if value is None else str(housing if housing_given else rule.value)
        en = (
            f"Q5 not assessable for district '{district}': unknown stage '{bad}' (expected one of "
            f"{', '.join(statuses)} or 规划/建设/验收/交付)"
        )
        zh = f"Q5 无法评估：小区“{district}”的阶段“{bad}”无法识别"
        return Finding(
            rule.id, "district", district, NOT_ASSESSABLE, None, None, None, "status", en, zh
        ), NOT_ASSESSABLE
    reached = statuses.index(value)
    target = statuses.index(required)
    if housing_given:
        against = f"its housing is '{required}'"
        against_zh = f"住宅为“{Q5_STATUS_ZH.get(required, required)}”"
    else:
        against = f"no housing stage given, so the housing is taken as '{required}'"
        against_zh = f"未给出住宅阶段，按住宅已“{Q5_STATUS_ZH.get(required, required)}”计"
    if reached >= target:
        en = f"Q5 pass for district '{district}': facility '{value}', {against}: in step"
        zh = f"Q5 达标：小区“{district}”养老设施为“{Q5_STATUS_ZH.get(value, value)}”，{against_zh}，同步"
        return Finding(
            rule.id, "district", district, PASS, float(reached), float(target), 0.0, "status step", en, zh
        ), PASS
    missing = statuses[reached + 1 : target + 1]
    en = (
        f"Q5 fail for district '{district}': facility '{value}', {against}; the facility lags by "
        f"{target - reached} steps ({', '.join(missing)})"
    )
    zh = (
        f"Q5 未达标：小区“{district}”养老设施为“{Q5_STATUS_ZH.get(value, text)}”，{against_zh}，"
        f"设施滞后 {target - reached} 步"
    )
    return (
        Finding(
            rule.id,
            "district",
            district,
            FAIL,
            float(reached),
            float(target),
            float(target - reached),
            "status step",
            en,
            zh,
        ),
        FAIL,
    )


def check_w1_districts(
    rules: RuleSet,
    coverage: CoverageResult | None,
    polygons: np.ndarray,
    names: list[str],
    residents: np.ndarray,
) -> tuple[list[Finding], pd.DataFrame, list[str]]:
    """W1 per district: share of its people (0-1) within the walk of a community facility."""
    n = len(names)
    frame = pd.DataFrame(
        {
            "w1_basis": pd.Series([None] * n, dtype=object),
            "w1_population": np.full(n, np.nan),
            "w1_share": np.full(n, np.nan),
            "w1_residents_beyond": np.full(n, np.nan),
            "w1_status": NOT_ASSESSABLE,
        }
    )
    findings: list[Finding] = []
    notes: list[str] = []
    if coverage is None:
        for name in names:
            en = f"W1 not assessable for district '{name}': no walking coverage was computed (pass coverage=)"
            zh = f"W1 无法评估：小区“{name}”未计算步行覆盖"
            findings.append(
                Finding("W1", "district", name, NOT_ASSESSABLE, None, EVERY_RESIDENT, None, "share", en, zh)
            )
        return findings, frame, notes
    minutes = float(rules.value("W1"))
    served = community_coverage(coverage, minutes)
    if not math.isclose(minutes, coverage.minutes):
        notes.append(
            f"W1 uses the rule's {fmt_number(minutes)}-minute walk, not the coverage's "
            f"{fmt_number(coverage.minutes)} minutes"
        )
    units = served.population
    poly_idx, unit_idx, weight = unit_weights(polygons, units.geometry.to_numpy())
    people = units["population"].to_numpy(dtype=float)[unit_idx] * weight
    covered = served.covered[unit_idx]
    population_in = np.bincount(poly_idx, weights=people, minlength=n)
    covered_in = np.bincount(poly_idx, weights=people * covered, minlength=n)
    centre = population_in <= 0
    centre_distance = np.full(n, np.nan)
    if centre.any():
        centre_points = shapely.point_on_surface(polygons[centre])
        centre_distance[centre] = walk_from_points(served, centre_points)
        notes.append(
            f"{int(centre.sum())} districts hold no population unit of the coverage: W1 is measured from a "
            "point inside each (its 'district centre point')"
        )
    # vectorised verdicts; the loop below only writes the sentences
    reached = centre_distance <= served.reach_m
    share = np.where(
        centre, reached.astype(float), np.divide(covered_in, population_in, where=~centre, out=np.zeros(n))
    )
    base = np.where(np.isfinite(residents), residents, np.where(population_in > 0, population_in, np.nan))
    beyond = (1.0 - share) * base
    passed = share >= EVERY_RESIDENT - RELATIVE_TOLERANCE
    frame["w1_basis"] = np.where(centre, "district centre point", "population units")
    frame["w1_population"] = population_in
    frame["w1_share"] = share
    frame["w1_residents_beyond"] = beyond
    frame["w1_status"] = np.where(passed, PASS, FAIL)
    walked = centre_distance / served.speed_mps / 60.0
    circle = f"{fmt_number(minutes)}-minute walk at {fmt_number(served.speed_mps)} m/s"
    for i, name in enumerate(names):
        if not centre[i]:
            detail = f"measured on {fmt_number(round(population_in[i]))} persons of the population layer inside it"
        elif np.isfinite(walked[i]):
            detail = f"its centre point is {fmt_number(walked[i])} min from the nearest community facility"
        else:
            detail = "its centre point reaches no community facility (or is off the street network)"
        if passed[i]:
            status = PASS
            en = f"W1 pass for district '{name}': every resident within the {circle} ({detail})"
            zh = f"W1 达标：小区“{name}”居民均在 {fmt_number(minutes)} 分钟步行范围内"
        else:
            status = FAIL
            known = np.isfinite(beyond[i])
            beyond_en = f"about {fmt_number(round(beyond[i]))} residents" if known else "residents"
            beyond_zh = f"约 {fmt_number(round(beyond[i]))} 名居民" if known else "部分居民"
            en = (
                f"W1 fail for district '{name}': {fmt_share(share[i])} within the {circle} ({detail}); {beyond_en} "
                f"({fmt_share(1 - share[i])}) beyond it"
            )
            zh = (
                f"W1 未达标：小区“{name}”仅 {fmt_share(share[i])} 居民在 {fmt_number(minutes)} 分钟步行范围内，"
                f"{beyond_zh}（{fmt_share(1 - share[i])}）在范围外"
            )
        shortfall = max(EVERY_RESIDENT - float(share[i]), 0.0)
        findings.append(
            Finding("W1", "district", name, status, float(share[i]), EVERY_RESIDENT, shortfall, "share", en, zh)
        )
    return findings, frame, notes


@dataclass(frozen=True)
class _Members:
    """The elderly-service facilities of each district and their areas (m², NaN when unknown)."""

    of: list[np.ndarray]  # per district: indexes into the arrays below
    land: np.ndarray
    building: np.ndarray
    labels: np.ndarray


def _district_counts(
    districts: gpd.GeoDataFrame,
    polygons: np.ndarray,
    crs: CRS,
    coverage: CoverageResult | None,
    population: gpd.GeoDataFrame | None,
    persons_per_household: float | None,
    q2: Rule,
) -> tuple[pd.DataFrame, CountFlags, list[str]]:
    """The district table with residents and households checked and, where missing, estimated."""
    n = len(polygons)
    population_layer = population if population is not None else coverage.population if coverage is not None else None
    population_inside = None
    if population_layer is not None:
        units = population_layer.to_crs(crs)
        poly_idx, unit_idx, weight = unit_weights(polygons, units.geometry.to_numpy())
        people = units["population"].to_numpy(dtype=float)[unit_idx] * weight
        population_inside = np.bincount(poly_idx, weights=people, minlength=n)
    table = pd.DataFrame(districts.drop(columns=districts.geometry.name))
    count_flags = reconcile_counts(table, persons_per_household, plausible_range(q2.extra))
    notes = list(count_flags.notes)
    notes += _estimate_counts(table, population_inside, persons_per_household)
    table["counts_check"] = count_flags.en
    for column in ("residents_source", "households_source"):
        table.loc[count_flags.raised, column] = "field, raised: residents and households disagree (counts_check)"
    return table, count_flags, notes


def _district_facilities(
    facilities: gpd.GeoDataFrame, polygons: np.ndarray, names: list[str], crs: CRS, table: pd.DataFrame
) -> tuple[_Members, list[str]]:
    """Put each facility in its district; fill the ``facilities`` and ``health_centres`` counts."""
    n = len(names)
    fac = prepare_facilities(facilities, crs)
    poly_idx, fac_idx, notes = assign_facilities(polygons, names, fac, name_column="district")
    notes = list(notes)
    outside = len(fac) - np.unique(fac_idx).size
    if outside:
        notes.append(
            f"{outside} of {len(fac)} facilities lie in no district (and name none): they count for no district"
        )
    kinds = fac["kind"].to_numpy()[fac_idx]
    elderly = np.isin(kinds, ELDERLY_FACILITY_KINDS)
    e_poly, e_fac = poly_idx[elderly], fac_idx[elderly]
    table["facilities"] = np.bincount(e_poly, minlength=n)
    table["health_centres"] = np.bincount(poly_idx[~elderly], minlength=n)
    order = np.argsort(e_poly, kind="stable")
    members = _Members(
        of=np.split(e_fac[order], np.cumsum(np.bincount(e_poly, minlength=n))[:-1]),
        land=fac["land_area_m2"].to_numpy(dtype=float),
        building=fac["building_area_m2"].to_numpy(dtype=float),
        labels=fac["label"].to_numpy(),
    )
    return members, notes


def check_q1_land(
    rule: Rule, district: str, residents: float, members: np.ndarray, areas: _Members, *, per: float
) -> tuple[Finding, float, float, float]:
    """Q1 for one district: elderly-service land (m²) against residents × the Q1 value per ``per`` persons.

    Returns the finding and the required, provided and short m² (NaN where not assessable).
    """
    no_land = [areas.labels[j] for j in members if not np.isfinite(areas.land[j])]
    return _quota_check(
        rule,
        district,
        residents,
        float(np.nansum(areas.land[members])),
        no_land,
        base_what="residents",
        base_zh="名居民",
        area_what="elderly-service land",
        area_zh="养老服务设施用地",
        area_column="land_area_m2",
        per=per,
    )


def check_q2_building(
    rule: Rule, district: str, households: float, members: np.ndarray, areas: _Members, *, per: float
) -> tuple[Finding, float, float, float]:
    """Q2 for one district: elderly-service building area (m²) against households × the Q2 value per ``per``.

    Returns the finding and the required, provided and short m² (NaN where not assessable).
    """
    no_building = [areas.labels[j] for j in members if not np.isfinite(areas.building[j])]
    return _quota_check(
        rule,
        district,
        households,
        float(np.nansum(areas.building[members])),
        no_building,
        base_what="households",
        base_zh="户",
        area_what="elderly-service building area",
        area_zh="养老服务设施建筑面积",
        area_column="building_area_m2",
        per=per,
    )


def check_q3_sizes(rule: Rule, district: str, members: np.ndarray, areas: _Members) -> tuple[list[Finding], str]:
    """Q3 for the facilities of one district (building area, m², against the minimum size).

    Returns one finding per facility and the district's Q3 status (pass when it has no facility).
    """
    facility_findings = [_q3_finding(rule, str(areas.labels[j]), district, areas.building[j]) for j in members]
    statuses = [f.status for f in facility_findings]
    return facility_findings, combine_statuses(statuses) if statuses else PASS  # no facility is below the size


def check_q4_share(rule: Rule, meets_q1_q3: pd.Series) -> Finding:
    """Q4: the share of districts meeting Q1-Q3 against the Q4 value (area finding)."""
    return area_share_finding(
        "Q4",
        "all districts",
        int((meets_q1_q3 == PASS).sum()),
        int((meets_q1_q3 == FAIL).sum()),
        int((meets_q1_q3 == NOT_ASSESSABLE).sum()),
        float(rule.value),
        what="districts",
        what_zh="小区",
        label="Q4 districts meeting Q1-Q3",
    )


def check_q5_stages(rules: RuleSet, districts: gpd.GeoDataFrame, names: list[str]) -> tuple[list[Finding], list[str]]:
    """Q5 per district: the facility's stage against the housing's stage (四同步).

    Returns the findings and the per-district statuses; every district is not assessable when the
    layer has no status at all (rule Q5 is then not read).
    """
    housing_stages = (
        districts["housing_stage"].tolist() if "housing_stage" in districts.columns else [None] * len(names)
    )
    if districts["status"].notna().any():
        q5 = rules["Q5"]
        q5_results = [
            _q5_finding(q5, name, status, housing)
            for name, status, housing in zip(names, districts["status"].tolist(), housing_stages, strict=True)
        ]
        return [f for f, _ in q5_results], [s for _, s in q5_results]
    findings = []
    for name in names:
        en = f"Q5 not assessable for district '{name}': the layer has no 四同步 status field"
        zh = f"Q5 无法评估：小区“{name}”没有四同步状态字段"
        findings.append(Finding("Q5", "district", name, NOT_ASSESSABLE, None, None, None, "status", en, zh))
    return findings, [NOT_ASSESSABLE] * len(names)


def check_districts(
    districts: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    rules: RuleSet,
    *,
    coverage: CoverageResult | None = None,
    population: gpd.GeoDataFrame | None = None,
    persons_per_household: float | None = None,
) -> DistrictCheck:
    """Check residential districts against Q1-Q5 and W1.

    Parameters
    ----------
    districts : GeoDataFrame
        District polygons (any CRS) as :func:`read_districts` returns, or any polygon layer with
        the columns it recognises.
    facilities : GeoDataFrame
        Facilities in the schema of :mod:`layers.facilities` (``kind``, ``building_area_m2`` and
        ``land_area_m2`` in m²). A facility belongs to the district it lies in, or to the one named
        in its ``district`` column. Health centres do not count for Q1-Q3.
    rules : RuleSet
        Quotas: Q1 (m² of land per resident), Q2 (m² of building per 100 households), Q3 (m² per
        facility), Q4 (share), Q5 (status), W1 (minutes).
    coverage : CoverageResult, optional
        Walking coverage (W1); its population also estimates missing residents.
    population : GeoDataFrame, optional
        Population units (``population`` in persons) to estimate missing residents from; default
        the coverage's population.
    persons_per_household : float, optional
        Persons per household, to turn households into residents and back. No default: a quota
        is never assumed; without it a district with households but no residents takes its
        residents from the population layer, and one with residents but no households is not
        assessable for Q2.

    Returns
    -------
    DistrictCheck
        Table, findings and notes (see :class:`DistrictCheck`).

    Raises
    ------
    InputError
        Invalid district layer, a facility layer without CRS, or a rule missing from the rule set.
    """
    if persons_per_household is not None and not persons_per_household > 0:
        raise ValueError(f"persons_per_household must be > 0, got {persons_per_household}")
    q1, q2, q3, q4 = rules["Q1"], rules["Q2"], rules["Q3"], rules["Q4"]
    q1_per = per_count(q1, "person", file=rules.path)
    q2_per = per_count(q2, "household", file=rules.path)
    crs = metric_crs_for(districts, coverage) if len(districts) and districts.crs is not None else None
    districts = normalise_districts(districts, file=districts.attrs.get("source") or None)
    crs = crs or metric_crs_for(districts, coverage)
    notes = list(districts.attrs.get("notes", []))
    names = districts["district"].tolist()
    polygons = districts.to_crs(crs).geometry.to_numpy()
    notes += overlap_notes(overlapping_pairs(polygons, names), "district")
    table, count_flags, count_notes = _district_counts(
        districts, polygons, crs, coverage, population, persons_per_household, q2
    )
    notes += count_notes
    areas, facility_notes = _district_facilities(facilities, polygons, names, crs, table)
    notes += facility_notes

    # Q1, Q2 per district (in district order), then Q3 per facility
    findings: list[Finding] = []
    q3_findings: list[Finding] = []
    quota_rows: list[dict[str, object]] = []
    residents = table["residents"].to_numpy(dtype=float)
    households = table["households"].to_numpy(dtype=float)
    for i, name in enumerate(names):
        members = areas.of[i]
        f1, req1, prov1, short1 = check_q1_land(q1, name, residents[i], members, areas, per=q1_per)
        f2, req2, prov2, short2 = check_q2_building(q2, name, households[i], members, areas, per=q2_per)
        if count_flags.en[i]:  # contradicting or zero counts: say so in both findings
            f1, f2 = (
                replace(f, message=f"{f.message} ({count_flags.en[i]})", message_zh=f"{f.message_zh}（{count_flags.zh[i]}）")
                for f in (f1, f2)
            )
        facility_findings, q3_status = check_q3_sizes(q3, name, members, areas)
        findings += [f1, f2]
        q3_findings += facility_findings
        quota_rows.append(
            {
                "q1_required_m2": req1,
                "q1_provided_m2": prov1,
                "q1_shortfall_m2": short1,
                "q1_status": f1.status,
                "q2_required_m2": req2,
                "q2_provided_m2": prov2,
                "q2_shortfall_m2": short2,
                "q2_status": f2.status,
                "q3_below_minimum": sum(f.status == FAIL for f in facility_findings),
                "q3_status": q3_status,
                "meets_q1_q3": combine_statuses([f1.status, f2.status, q3_status]),
            }
        )
    for column, values in pd.DataFrame(quota_rows, index=table.index).items():
        table[column] = values.to_numpy()
    findings += q3_findings

    findings.append(check_q4_share(q4, table["meets_q1_q3"]))

    w1_findings, w1_table, w1_notes = check_w1_districts(rules, coverage, polygons, names, residents)
    findings += w1_findings
    notes += w1_notes
    for column in w1_table.columns:
        table[column] = w1_table[column].to_numpy()

    q5_findings, q5_statuses = check_q5_stages(rules, districts, names)
    findings += q5_findings
    table["q5_status"] = q5_statuses
    result = gpd.GeoDataFrame(table, geometry=districts.geometry.to_numpy(), crs=districts.crs)
    return DistrictCheck(result, findings, list(dict.fromkeys(notes)))


def check_proposed_district(
    polygon_wgs84: shapely.Polygon | shapely.MultiPolygon,
    *,
    households: float | None = None,
    residents: float | None = None,
    facilities: gpd.GeoDataFrame,
    rules: RuleSet,
    coverage: CoverageResult | None = None,
    name: str = "proposed district",
    status: str | None = None,
    persons_per_household: float | None = None,
    population: gpd.GeoDataFrame | None = None,
) -> DistrictCheck:
    """Check one planned district (a polygon in lon/lat) against Q1-Q5 and W1, in seconds.

    Parameters
    ----------
    polygon_wgs84 : Polygon or MultiPolygon
        The district boundary in EPSG:4326 (longitude, latitude).
    households, residents : float, optional
        Planned households and residents (persons); give at least one, or a population layer.
    facilities : GeoDataFrame
        Its planned (and existing) facilities, as for :func:`check_districts`.
    rules : RuleSet
        The rule set.
    coverage : CoverageResult, optional
        Walking coverage of the surroundings for W1 (the district's centre point is used when no
        population unit lies inside the new polygon).
    name, status : str, optional
        District name; 四同步 status for Q5.
    persons_per_household, population : optional
        As for :func:`check_districts`.

    Returns
    -------
    DistrictCheck
    """
    frame = gpd.GeoDataFrame(
        {
            "district": [name],
            "residents": [np.nan if residents is None else float(residents)],
            "households": [np.nan if households is None else float(households)],
            "status": pd.array([status], dtype="string"),
        },
        geometry=[polygon_wgs84],
        crs=WGS84,
    )
    return check_districts(
        frame, facilities, rules, coverage=coverage, population=population, persons_per_household=persons_per_household
    )
