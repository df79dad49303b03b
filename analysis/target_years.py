"""Target years (2025, 2027, ...): the checks as of a year, with the facilities open by then.

A rule may give a target per year (``targets = { 2025 = 0.6, 2027 = 0.7 }`` for T1). A check made
for year *Y* counts only the facilities open by *Y* (``opening_year`` ≤ *Y*, or no opening year:
existing) and the districts completed by *Y*, and judges each share against the target of *Y*:
the target of the latest target year ≤ *Y*, or the earliest one for a year before them all (said
in the message), or the rule's ``value`` when the rule has no targets.

:func:`evaluate_year` gives the area-level findings of one year (T1, T2, Q4, C1-C3, C5, C7 and
whatever other area-level capacity rules the capacity check returns); :func:`years_table` puts
every target year side by side for the report.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from analysis.capacity import check_capacity
from analysis.counties import check_counties
from analysis.district_age import DistrictAges, apply_ages, completed_by
from analysis.districts import check_districts
from analysis.message_format import fmt_share
from analysis.quota_verdicts import area_share_finding
from analysis.rules import Rule, RuleSet
from analysis.townships import check_townships
from analysis.verdicts import Finding
from layers.errors import CoordinateError

#: Rules reported per target year, in this order (others of the capacity check follow).
YEAR_RULES: tuple[str, ...] = ("T1", "T2", "Q4", "C1", "C2", "C2b", "C3", "C5", "C7", "C8")


def current_year() -> int:
    """This calendar year (UTC): "now" for facilities and districts that give a year."""
    return _dt.datetime.now(_dt.timezone.utc).year


def rule_target_years(rules: RuleSet) -> list[int]:
    """Every year named in a ``targets`` table of the rule set, ascending."""
    years: set[int] = set()
    for rule in rules.rules.values():
        for key in (rule.extra.get("targets") or {}):
            years.add(int(key))
    return sorted(years)


def target_for(rule: Rule, year: int | None) -> tuple[float, str]:
    """The target of ``rule`` in ``year`` and where it comes from (for messages).

    Returns
    -------
    (target, origin)
        ``origin`` like ``"2025 target"``, ``"2025 target (in force in 2026)"`` or ``"value"``.
    """
    targets = {int(k): float(v) for k, v in (rule.extra.get("targets") or {}).items()}
    if not targets:
        return float(rule.value), "value"
    if year is None:
        first = min(targets)
        return targets[first], f"{first} target"
    due = [y for y in targets if y <= year]
    if due:
        chosen = max(due)
        return targets[chosen], f"{chosen} target" + ("" if chosen == year else f" (in force in {year})")
    first = min(targets)
    return targets[first], f"{first} target (the first; {year} is before every target year)"


def facilities_open_by(facilities: gpd.GeoDataFrame, year: int) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Facilities open in ``year``: ``opening_year`` ≤ ``year`` or unknown (counted as existing)."""
    if "opening_year" not in facilities.columns:
        return facilities, []
    years = pd.to_numeric(facilities["opening_year"], errors="coerce").to_numpy(dtype=float)
    later = years > year
    notes = []
    if later.any():
        notes.append(f"{int(later.sum())} facilities open after {year}: they are not counted for {year}")
    planned = np.isfinite(years) & ~later
    if planned.any() and (years[planned] > current_year()).any():
        notes.append(f"{int((years[planned] > current_year()).sum())} planned facilities (opening by {year}) are counted for {year}")
    return facilities.loc[~later].reset_index(drop=True), notes


def t1_for_year(township_table: pd.DataFrame, rules: RuleSet, year: int) -> Finding:
    """T1 area finding: share of townships with a comprehensive centre against the target of ``year``."""
    has_centre = township_table["centres"].to_numpy() > 0
    target, origin = target_for(rules["T1"], year)
    return area_share_finding(
        "T1", f"all townships ({year}, {origin})", int(has_centre.sum()), int((~has_centre).sum()), 0, target,
        what="townships", what_zh="乡镇（街道）", label=f"T1 {year} ({origin})",
    )


def replace_t1_area(findings: list[Finding], township_table: pd.DataFrame, rules: RuleSet, year: int) -> None:
    """In place: the per-target-year T1 area findings become one, judged against ``year``'s target."""
    findings[:] = [f for f in findings if not (f.rule_id == "T1" and f.subject_kind == "area")]
    findings.append(t1_for_year(township_table, rules, year))


@dataclass
class YearInputs:
    """What a year's evaluation needs (all facilities; districts with their classes)."""

    rules: RuleSet
    facilities: gpd.GeoDataFrame
    population: gpd.GeoDataFrame | None
    districts: gpd.GeoDataFrame | None = None
    ages: DistrictAges | None = None
    townships: gpd.GeoDataFrame | None = None
    communities: gpd.GeoDataFrame | None = None
    persons_per_household: float | None = None
    elderly_share: object | None = None  # analysis.ageing.ElderlyShareByYear
    counties: gpd.GeoDataFrame | None = None  # county polygons: C7/C8 per county (analysis/counties.py)
    study_area: np.ndarray | None = None  # the street edges (EPSG:4326): counties they touch are assessed
    notes: list[str] = field(default_factory=list)


def evaluate_year(year: int, data: YearInputs) -> list[Finding]:
    """Area-level findings of :data:`YEAR_RULES` as of ``year``.

    The facilities open by ``year``, the districts completed by then, the targets of ``year`` and
    (with an ageing schedule) the elderly share of ``year`` for C5.
    """
    rules = data.rules
    facilities, _ = facilities_open_by(data.facilities, year)
    findings: list[Finding] = []
    if data.townships is not None:
        try:
            towns = check_townships(data.townships, facilities, rules, coverage=None, communities=data.communities)
            findings.append(t1_for_year(towns.table, rules, year))
            findings += [f for f in towns.findings if f.rule_id == "T2" and f.subject_kind == "area"]
        except CoordinateError:  # none of the facilities open by then lies in a township: no centre anywhere
            findings.append(t1_for_year(pd.DataFrame({"centres": np.zeros(len(data.townships))}), rules, year))
    if data.districts is not None and data.ages is not None:
        districts, ages, _ = completed_by(data.districts, data.ages, year)
        if len(districts):
            check = check_districts(
                districts, facilities, rules, population=data.population, persons_per_household=data.persons_per_household
            )
            apply_ages(check, ages, rules, label_year=year)
            findings += [f for f in check.findings if f.rule_id == "Q4" and f.subject_kind == "area"]
    population = data.population
    elderly = None
    if population is not None:
        elderly = float(population["elderly_population"].sum())
        if data.elderly_share is not None:
            elderly = float(population["population"].sum()) * data.elderly_share.share(year)
    findings += [f for f in check_capacity(facilities, rules, elderly_population=elderly) if f.subject_kind == "area"]
    if data.counties is not None and data.study_area is not None:  # C7/C8 per county with that year's facilities
        per_county = check_counties(data.counties, facilities, rules, study_area=data.study_area)
        findings += [f for f in per_county.findings if f.rule_id in ("C7", "C8")]
    order = {rule_id: i for i, rule_id in enumerate(YEAR_RULES)}
    return sorted(findings, key=lambda f: order.get(f.rule_id, len(order)))


def evaluate_years(years: list[int], data: YearInputs) -> dict[int, list[Finding]]:
    """:func:`evaluate_year` for every year."""
    return {year: evaluate_year(year, data) for year in years}


def _cell(f: Finding) -> str:
    """``"58 % (target 60 %) fail"`` for shares, ``"300 (target 4,000 beds) fail"`` for counts."""
    if f.unit == "share":
        measured = "n/a" if f.measured is None else fmt_share(f.measured)
        required = "n/a" if f.required is None else fmt_share(f.required)
        return f"{measured} (target {required}) {f.status}"
    measured = "n/a" if f.measured is None else f"{f.measured:,.4g}"
    required = "n/a" if f.required is None else f"{f.required:,.4g}"
    return f"{measured} (target {required} {f.unit}) {f.status}"


def years_table(by_year: dict[int, list[Finding]]) -> pd.DataFrame:
    """Every target year side by side: one row per rule and subject, one column per year."""
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for year, findings in by_year.items():
        for f in findings:
            subject = f.subject.split(" (")[0]
            rows.setdefault((f.rule_id, subject), {})[str(year)] = _cell(f)
    frame = pd.DataFrame(
        [{"rule_id": r, "subject": s, **cells} for (r, s), cells in rows.items()],
        columns=["rule_id", "subject", *[str(y) for y in by_year]],
    )
    return frame.fillna("")


def year_findings_table(year: int, findings: list[Finding]) -> pd.DataFrame:
    """One year's area findings as a table (``year`` first)."""
    from analysis.verdicts import findings_frame

    frame = findings_frame(findings)
    frame.insert(0, "year", year)
    return frame
