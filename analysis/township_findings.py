"""Per-township and per-community findings of the township checks: T1-T3, T4-T5 and the walk W1.

:func:`facility_findings` gives T1, T2 and T3 per township from its facility counts
(:func:`check_t1_township`, :func:`check_t3_township`, :func:`check_t2_township`);
:func:`community_findings` puts each community in its township, takes its population (persons) and
gives T4 (extra day-care points: at least one from the T4 value in persons on, see :func:`t4_extra_points`
and :func:`check_t4_community`) and T5 (day care inside, or within the walk, :func:`check_t5_communities`);
:func:`w1_findings_by_township` gives the elderly share (0-1) within the walk of a community facility per
township and over all of them.
:func:`analysis.townships.check_townships` puts them together.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from analysis.community_walk import EVERY_RESIDENT, community_coverage, walk_from_points
from analysis.facility_kinds import DAY_CARE_KINDS, STATION_KINDS
from analysis.message_format import STATUS_ZH, fmt_number, fmt_share
from analysis.polygon_layers import overlap_notes, overlapping_pairs
from analysis.quota_verdicts import meets
from analysis.rules import RuleSet
from analysis.spatial_join import points_in_polygons, unit_weights
from analysis.verdicts import FAIL, NOT_ASSESSABLE, PASS, Finding
from coverage.circles import CoverageResult

#: T1 asks whether a township *has* a comprehensive centre: at least one (a definition, not a quota;
#: how many per street is T3's value).
AT_LEAST_ONE: float = 1.0


def check_t1_township(row: tuple) -> Finding:
    """T1 for one township (a row of the township table): at least one comprehensive centre."""
    name = row.township
    has_centre = row.centres > 0
    if has_centre:
        en = f"T1 pass for township '{name}': {row.centres} comprehensive centre(s)"
        zh = f"T1 达标：乡镇（街道）“{name}”建有 {row.centres} 处综合养老服务中心"
        return Finding("T1", "township", name, PASS, float(row.centres), AT_LEAST_ONE, 0.0, "centres", en, zh)
    en = (
        f"T1 fail for township '{name}': no comprehensive centre (kind township_centre); short by "
        f"{fmt_number(AT_LEAST_ONE)} centre"
    )
    zh = f"T1 未达标：乡镇（街道）“{name}”没有综合养老服务中心，缺 {fmt_number(AT_LEAST_ONE)} 处"
    return Finding("T1", "township", name, FAIL, 0.0, AT_LEAST_ONE, AT_LEAST_ONE, "centres", en, zh)


def check_t3_township(row: tuple, per_unit: float, communities_given: bool) -> tuple[Finding, str, float, float]:
    """T3 for one township: centres >= the T3 value, stations >= communities × the T3 value.

    Returns the finding, the status, the stations required and the stations short (NaN when the
    township's communities are unknown).
    """
    name = row.township
    # a communities layer with no community in this township does not cover it: unknown, not 0
    communities_known = communities_given and row.communities > 0
    centres_needed = per_unit
    stations_needed = row.communities * per_unit if communities_known else np.nan
    centre_short = max(centres_needed - row.centres, 0.0)
    station_short = max(stations_needed - row.stations, 0.0) if communities_known else np.nan
    parts_en = [f"{row.centres} centre(s) for the {fmt_number(centres_needed)} asked"]
    parts_zh = [f"中心 {row.centres} 处（应 {fmt_number(centres_needed)} 处）"]
    if communities_known:
        parts_en.append(
            f"{row.stations} station(s) for {int(row.communities)} communities ({fmt_number(stations_needed)} "
            f"asked)"
        )
        parts_zh.append(f"站点 {row.stations} 个，{int(row.communities)} 个社区应 {fmt_number(stations_needed)} 个")
    if centre_short > 0 or (communities_known and station_short > 0):
        status = FAIL
        shorts = []
        shorts_zh = []
        if centre_short > 0:
            shorts.append(f"{fmt_number(centre_short)} centre")
            shorts_zh.append(f"{fmt_number(centre_short)} 处中心")
        if communities_known and station_short > 0:
            shorts.append(f"{fmt_number(station_short)} station(s)")
            shorts_zh.append(f"{fmt_number(station_short)} 个站点")
        en = f"T3 fail for township '{name}': {'; '.join(parts_en)}; short by {' and '.join(shorts)}"
        zh = f"T3 未达标：乡镇（街道）“{name}”{'，'.join(parts_zh)}；缺 {'、'.join(shorts_zh)}"
        shortfall = station_short if communities_known and station_short > 0 else centre_short
        unit = "stations" if communities_known and station_short > 0 else "centres"
        measured = float(row.stations) if unit == "stations" else float(row.centres)
        required = stations_needed if unit == "stations" else centres_needed
        finding = Finding("T3", "township", name, status, measured, required, shortfall, unit, en, zh)
    elif not communities_known:
        status = NOT_ASSESSABLE
        why = (
            "no community of the communities layer lies in it" if communities_given else "needs a communities layer"
        )
        why_zh = "社区图层中没有位于其内的社区" if communities_given else "需要社区图层"
        en = f"T3 not assessable for township '{name}': {parts_en[0]}; one station per community {why}"
        zh = f"T3 无法评估：乡镇（街道）“{name}”{parts_zh[0]}；“一社区一站”{why_zh}"
        finding = Finding("T3", "township", name, status, float(row.stations), None, None, "stations", en, zh)
    else:
        status = PASS
        en = f"T3 pass for township '{name}': {'; '.join(parts_en)}"
        zh = f"T3 达标：乡镇（街道）“{name}”{'，'.join(parts_zh)}"
        finding = Finding("T3", "township", name, status, float(row.stations), stations_needed, 0.0, "stations", en, zh)
    return finding, status, stations_needed, station_short


def check_t2_township(row: tuple, communities_given: bool) -> Finding:
    """T2 for one township: a comprehensive centre, and a station in every community."""
    name = row.township
    has_centre = row.centres > 0
    communities_known = communities_given and row.communities > 0
    if not has_centre:
        t2, unit, short = FAIL, "centres", AT_LEAST_ONE
        en = f"T2 fail for township '{name}': no comprehensive centre; short by {fmt_number(AT_LEAST_ONE)} centre"
        zh = f"T2 未达标：乡镇（街道）“{name}”没有综合养老服务中心，缺 {fmt_number(AT_LEAST_ONE)} 处"
    elif not communities_known:
        t2, unit, short = NOT_ASSESSABLE, "stations", None
        why = (
            "no community of the communities layer lies in it"
            if communities_given
            else "stations in every community need a communities layer"
        )
        why_zh = "社区图层中没有位于其内的社区" if communities_given else "社区站点全覆盖需要社区图层"
        en = f"T2 not assessable for township '{name}': it has a centre; {why}"
        zh = f"T2 无法评估：乡镇（街道）“{name}”有中心；{why_zh}"
    elif row.communities_without_station > 0:
        t2, unit, short = FAIL, "communities without a station", float(row.communities_without_station)
        lacking = int(row.communities_without_station)
        en = (
            f"T2 fail for township '{name}': {lacking} of {int(row.communities)} communities have no station "
            f"inside; short by {lacking} station(s)"
        )
        zh = (
            f"T2 未达标：乡镇（街道）“{name}”{int(row.communities)} 个社区中有 {lacking} 个没有养老服务站，"
            f"缺 {lacking} 个站点"
        )
    else:
        t2, unit, short = PASS, "communities without a station", 0.0
        en = (
            f"T2 pass for township '{name}': a centre and a station in each of its {int(row.communities)} "
            f"communities"
        )
        zh = f"T2 达标：乡镇（街道）“{name}”有中心，{int(row.communities)} 个社区均有站点"
    return Finding("T2", "township", name, t2, None, None, short, unit, en, zh)


def facility_findings(
    rules: RuleSet, table: pd.DataFrame, communities_given: bool
) -> tuple[list[Finding], list[str], list[str], list[float], list[float]]:
    """T1, T2 and T3 per township from the counts of its table row (township by township: T1, T3, T2)."""
    per_unit = float(rules.value("T3"))
    findings: list[Finding] = []
    t2_statuses, t3_statuses, t3_required, t3_short = [], [], [], []
    for row in table.itertuples(index=False):
        t1 = check_t1_township(row)
        t3, status, stations_needed, station_short = check_t3_township(row, per_unit, communities_given)
        t2 = check_t2_township(row, communities_given)
        findings += [t1, t3, t2]
        t3_statuses.append(status)
        t3_required.append(stations_needed)
        t3_short.append(station_short)
        t2_statuses.append(t2.status)
    return findings, t2_statuses, t3_statuses, t3_required, t3_short


def t4_extra_points(people: float, threshold: float, per_band: float | None = None) -> int:
    """Extra day-care points T4 asks of a community of ``people`` persons.

    Parameters
    ----------
    people : float
        Residents of the community (persons).
    threshold : float
        T4's value (persons): from it on (以上 includes the number itself) at least one extra point.
    per_band : float, optional
        Project parameter ``extra_point_per_persons`` (persons): one more extra point per full band
        of this size above ``threshold``; ``None``: never more than one.
    """
    if not people >= threshold:
        return 0
    if not per_band:
        return 1
    return 1 + int(math.floor((people - threshold) / per_band + 1e-9))


def check_t4_community(
    name: str, people: float, provided: int, threshold: float, per_band: float | None, t4_text: str
) -> tuple[Finding, float, float]:
    """T4 ("1+N") for one community of ``people`` persons with ``provided`` day-care points.

    Returns the finding, the extra points required and the points short (NaN when the population
    is unknown).
    """
    if not np.isfinite(people):
        en = (
            f"T4 not assessable for community '{name}': its population is unknown (add a population field or a "
            f"coverage)"
        )
        zh = f"T4 无法评估：社区“{name}”缺少人口数据"
        finding = Finding(
            "T4", "community", name, NOT_ASSESSABLE, float(provided), None, None, "day-care points", en, zh
        )
        return finding, np.nan, np.nan
    need = t4_extra_points(people, threshold, per_band)
    short = max(need - provided, 0)
    rule_text = f"{fmt_number(people)} persons; {t4_text}"
    if short == 0:
        status = PASS
        en = (
            f"T4 pass for community '{name}': {provided} day-care point(s) for the {need} extra asked ({rule_text})"
        )
        zh = f"T4 达标：社区“{name}”人口 {fmt_number(people)}，应增设 {need} 处日间照料服务点，现有 {provided} 处"
    else:
        status = FAIL
        en = (
            f"T4 fail for community '{name}': {provided} day-care point(s), T4 asks {need} extra ({rule_text}); "
            f"short by {short}"
        )
        zh = (
            f"T4 未达标：社区“{name}”人口 {fmt_number(people)}，应增设 {need} 处日间照料服务点，"
            f"现有 {provided} 处，缺 {short} 处"
        )
    finding = Finding(
        "T4", "community", name, status, float(provided), float(need), float(short), "day-care points", en, zh
    )
    return finding, need, short


def check_t5_communities(
    rules: RuleSet, table: pd.DataFrame, inner: np.ndarray, coverage: CoverageResult | None
) -> tuple[np.ndarray, list[str]]:
    """T5 per community: day care inside it, or within the W1 walk of its interior point ``inner``.

    Returns the statuses and a note when the walk cannot be measured (no coverage).
    """
    n = len(table)
    has_day_care = table["day_care"].to_numpy() > 0
    reach = np.zeros(n, dtype=bool)
    if coverage is not None:
        day_care = community_coverage(coverage, float(rules.value("W1")), kinds=DAY_CARE_KINDS)
        reach = walk_from_points(day_care, inner) <= day_care.reach_m
    t5 = np.where(has_day_care | reach, PASS, FAIL if coverage is not None else NOT_ASSESSABLE)
    t5 = np.where(has_day_care, PASS, t5)
    notes: list[str] = []
    if coverage is None and not has_day_care.all():
        notes.append(
            "T5 counts only day care inside each community: without a coverage the walk to day care nearby "
            "is not measured"
        )
    return t5, notes


def community_findings(
    rules: RuleSet,
    communities: gpd.GeoDataFrame,
    crs: CRS,
    township_polygons: np.ndarray,
    township_names: list[str],
    facilities: gpd.GeoDataFrame,
    coverage: CoverageResult | None,
) -> tuple[pd.DataFrame, list[Finding], list[str]]:
    """Per community: its township, population, stations and day care; T4 and T5 findings."""
    notes: list[str] = list(communities.attrs.get("notes", []))
    threshold = float(rules.value("T4"))
    per_band = rules["T4"].extra.get("extra_point_per_persons")
    per_band = float(per_band) if per_band else None
    t4_text = f"≥ {fmt_number(threshold)} persons need at least 1 extra point (seed 002)"
    if per_band:
        t4_text += f", plus 1 per further full {fmt_number(per_band)} (project parameter, not a seed value)"
    names = communities["community"].tolist()
    n = len(names)
    polygons = communities.to_crs(crs).geometry.to_numpy()
    notes += overlap_notes(overlapping_pairs(polygons, names), "community")
    table = pd.DataFrame({"community": names})

    # township of each community: the one holding its interior point
    inner = shapely.point_on_surface(polygons)
    t_idx, c_idx = points_in_polygons(township_polygons, inner)
    township = np.full(n, None, dtype=object)
    township[c_idx[::-1]] = np.asarray(township_names, dtype=object)[t_idx[::-1]]  # first township wins
    table["township"] = township
    if (township == None).any():  # noqa: E711 - elementwise
        notes.append(f"{int((township == None).sum())} communities lie in no township")  # noqa: E711

    # population: field, else the coverage's population inside (area-weighted)
    population = communities["population"].to_numpy(dtype=float).copy()
    source = np.where(np.isfinite(population), "field", "missing").astype(object)
    missing = ~np.isfinite(population)
    if missing.any() and coverage is not None:
        p_idx, u_idx, weight = unit_weights(polygons, coverage.population.geometry.to_numpy())
        inside = np.bincount(
            p_idx, weights=coverage.population["population"].to_numpy(float)[u_idx] * weight, minlength=n
        )
        population[missing] = inside[missing]
        source[missing] = "population layer inside the community (estimate)"
        notes.append(
            f"population of {int(missing.sum())} communities taken from the population layer inside each "
            "(area-weighted; an estimate, not a count)"
        )
    table["population"] = population
    table["population_source"] = source

    f_idx_poly, f_idx = points_in_polygons(polygons, facilities.geometry.to_numpy())
    kinds = facilities["kind"].to_numpy()[f_idx]
    table["stations"] = np.bincount(f_idx_poly[np.isin(kinds, STATION_KINDS)], minlength=n)
    table["day_care"] = np.bincount(f_idx_poly[np.isin(kinds, DAY_CARE_KINDS)], minlength=n)

    findings: list[Finding] = []
    required_extra = np.full(n, np.nan)
    shortfall = np.full(n, np.nan)
    t4_status = []
    for i, name in enumerate(names):
        finding, required_extra[i], shortfall[i] = check_t4_community(
            name, population[i], int(table["day_care"].iloc[i]), threshold, per_band, t4_text
        )
        findings.append(finding)
        t4_status.append(finding.status)
    table["t4_required_extra"] = required_extra
    table["t4_provided"] = table["day_care"].astype(float)
    table["t4_shortfall"] = shortfall
    table["t4_status"] = t4_status

    t5, t5_notes = check_t5_communities(rules, table, inner, coverage)
    table["t5_status"] = t5
    notes += t5_notes
    return table, findings, notes


def w1_findings_by_township(
    rules: RuleSet, coverage: CoverageResult | None, polygons: np.ndarray, names: list[str], table: pd.DataFrame
) -> tuple[list[Finding], Finding | None]:
    """W1 per township (elderly share within the walk) and over all townships; fills the table."""
    n = len(names)
    findings: list[Finding] = []
    if coverage is None:
        for column in ("population", "elderly_population", "elderly_covered", "w1_elderly_share"):
            table[column] = np.nan
        table["w1_status"] = NOT_ASSESSABLE
        for name in names:
            findings.append(
                Finding(
                    "W1",
                    "township",
                    name,
                    NOT_ASSESSABLE,
                    None,
                    EVERY_RESIDENT,
                    None,
                    "share",
                    f"W1 not assessable for township '{name}': no walking coverage was computed",
                    f"W1 无法评估：乡镇（街道）“{name}”未计算步行覆盖",
                )
            )
        return findings, None
    minutes = float(rules.value("W1"))
    served = community_coverage(coverage, minutes)
    units = served.population
    p_idx, u_idx, weight = unit_weights(polygons, units.geometry.to_numpy())
    people = units["population"].to_numpy(dtype=float)
    elderly = units["elderly_population"].to_numpy(dtype=float)
    covered = served.covered
    table["population"] = np.bincount(p_idx, weights=people[u_idx] * weight, minlength=n)
    elderly_in = np.bincount(p_idx, weights=elderly[u_idx] * weight, minlength=n)
    elderly_cov = np.bincount(p_idx, weights=elderly[u_idx] * weight * covered[u_idx], minlength=n)
    share = np.divide(elderly_cov, elderly_in, out=np.full(n, np.nan), where=elderly_in > 0)
    table["elderly_population"] = elderly_in
    table["elderly_covered"] = elderly_cov
    table["w1_elderly_share"] = share
    statuses = []
    circle = f"{fmt_number(minutes)}-minute walk"
    for i, name in enumerate(names):
        if not elderly_in[i] > 0:
            status = NOT_ASSESSABLE
            f = Finding(
                "W1",
                "township",
                name,
                status,
                None,
                EVERY_RESIDENT,
                None,
                "share",
                f"W1 not assessable for township '{name}': no population unit of the coverage lies in it",
                f"W1 无法评估：乡镇（街道）“{name}”内没有人口数据",
            )
        elif meets(share[i], EVERY_RESIDENT):
            status = PASS
            f = Finding(
                "W1",
                "township",
                name,
                status,
                share[i],
                EVERY_RESIDENT,
                0.0,
                "share",
                f"W1 pass for township '{name}': all {fmt_number(elderly_in[i])} elderly people within the {circle} "
                f"of a community facility",
                f"W1 达标：乡镇（街道）“{name}”{fmt_number(elderly_in[i])} 名老年人"
                f"均在 {fmt_number(minutes)} 分钟步行范围内",
            )
        else:
            status = FAIL
            beyond = elderly_in[i] - elderly_cov[i]
            f = Finding(
                "W1",
                "township",
                name,
                status,
                share[i],
                EVERY_RESIDENT,
                EVERY_RESIDENT - share[i],
                "share",
                f"W1 fail for township '{name}': {fmt_share(share[i])} of {fmt_number(elderly_in[i])} elderly "
                f"people within the "
                f"{circle} of a community facility; {fmt_number(beyond)} elderly people beyond it",
                f"W1 未达标：乡镇（街道）“{name}”{fmt_number(elderly_in[i])} 名老年人中 {fmt_share(share[i])} 在 "
                f"{fmt_number(minutes)} 分钟步行范围内，{fmt_number(beyond)} 人在范围外",
            )
        statuses.append(status)
        findings.append(f)
    table["w1_status"] = statuses
    # over all townships: each unit counted once, however many townships it falls in
    in_any = np.minimum(np.bincount(u_idx, weights=weight, minlength=len(units)), 1.0)
    total = float((elderly * in_any).sum())
    reached = float((elderly * in_any * covered).sum())
    if total <= 0:
        area = Finding(
            "W1",
            "area",
            "all townships",
            NOT_ASSESSABLE,
            None,
            EVERY_RESIDENT,
            None,
            "share",
            "W1 not assessable over the townships: no elderly population inside them",
            "W1 无法评估：乡镇（街道）内没有老年人口数据",
        )
    else:
        overall = reached / total
        status = PASS if meets(overall, EVERY_RESIDENT) else FAIL
        area = Finding(
            "W1",
            "area",
            "all townships",
            status,
            overall,
            EVERY_RESIDENT,
            max(EVERY_RESIDENT - overall, 0.0),
            "share",
            f"W1 over all townships: {fmt_share(overall)} of {fmt_number(total)} elderly people within the {circle} "
            f"of a community facility (elderly-weighted); {fmt_number(total - reached)} beyond it — {status}",
            f"W1 全部乡镇（街道）：{fmt_number(total)} 名老年人中 {fmt_share(overall)} "
            f"在 {fmt_number(minutes)} 分钟步行范围内，"
            f"{fmt_number(total - reached)} 人在范围外——{STATUS_ZH[status]}",
        )
    return findings, area
