"""What :func:`analysis.checks.run_checks` adds for target years, new/old districts, O1 and ageing.

One :class:`PlanningYears` follows a checking run: it picks the facilities open in the year checked
(:mod:`analysis.target_years`), ages the population to that year (:mod:`analysis.ageing`), reads
the districts' new/old classes (:mod:`analysis.district_age`), makes Q4 count new districts,
measures O1 for old ones (:mod:`analysis.retrofit`), evaluates every target year of the rule set,
and hands the report its tables and sections. The checks themselves live in those modules; this
one only wires them into a run, so the CLI and the app get the same results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from analysis.ageing import ElderlyShareByYear, apply_share, share_schedule
from analysis.candidates import osm_candidates, read_candidates
from analysis.district_age import (
    OLD,
    DistrictAges,
    apply_ages,
    audit_table,
    completed_by,
    read_districts_with_age,
    unknown_ages,
)
from analysis.districts import DistrictCheck
from analysis.retrofit import RetrofitCheck, check_retrofit
from analysis.rules import RuleSet
from analysis.target_years import (
    YearInputs,
    current_year,
    evaluate_years,
    facilities_open_by,
    replace_t1_area,
    rule_target_years,
    year_findings_table,
    years_table,
)
from analysis.townships import TownshipCheck
from analysis.verdicts import Finding
from coverage.circles import CoverageResult
from coverage.pipeline import Inputs
from layers.errors import InputError


@dataclass
class PlanningYears:
    """Target-year, district-age, retrofit and ageing state of one checking run.

    Attributes
    ----------
    rules : RuleSet
    year : int or None
        The year checked (``--year``); None means "now".
    as_of : int
        The year facilities and districts are taken as of (``year``, or this calendar year).
    all_facilities : GeoDataFrame
        Every facility, planned ones too (the year sections filter them per year).
    base_population : GeoDataFrame
        Population units before ageing.
    schedule : ElderlyShareByYear or None
        Ageing option given, if any.
    by_year : dict of int to list of Finding
        Area findings of every target year (after :meth:`evaluate`).
    """

    rules: RuleSet
    year: int | None
    as_of: int
    all_facilities: gpd.GeoDataFrame
    base_population: gpd.GeoDataFrame
    schedule: ElderlyShareByYear | None = None
    candidates_path: str | Path | None = None
    ages: DistrictAges | None = None
    current_ages: DistrictAges | None = None
    all_districts: gpd.GeoDataFrame | None = None
    townships: gpd.GeoDataFrame | None = None
    communities: gpd.GeoDataFrame | None = None
    district_check: DistrictCheck | None = None
    retrofit: RetrofitCheck | None = None
    audit: pd.DataFrame | None = None
    by_year: dict[int, list[Finding]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    # --- districts -----------------------------------------------------------------------------
    def read_districts(self, path: str | Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
        """Read the district layer (``layer``: ``--districts-layer``) with its new/old classes."""
        frame, self.ages = read_districts_with_age(path, self.rules, layer=layer)
        return frame

    def districts_of_year(self, districts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """The districts completed by the year checked (all are kept for the year sections)."""
        if self.ages is None or len(self.ages.frame) != len(districts):
            self.ages = unknown_ages(len(districts), self.rules)
        self.all_districts = districts
        kept, ages, notes = completed_by(districts, self.ages, self.as_of)
        self.current_ages = ages
        self.notes += notes
        return kept

    def check_district_ages(self, check: DistrictCheck, coverage: CoverageResult, pbf: Path | None) -> None:
        """Q4 over new districts, O1 for old ones with the nearest candidate sites, the 清查 audit."""
        ages = self.current_ages
        apply_ages(check, ages, self.rules, label_year=self.year)
        self.district_check = check
        self.audit = audit_table(check, ages)
        old = check.table["age_class"] == OLD
        if not old.any():
            return
        if "O1" not in self.rules:
            check.notes.append("the rule set has no O1: old districts get no retrofit shortfall")
            return
        candidates = None
        if self.candidates_path is not None:
            candidates = read_candidates(self.candidates_path)
        elif pbf is not None:
            candidates = osm_candidates(pbf)
        self.retrofit = check_retrofit(check, self.rules, candidates=candidates, coverage=coverage)
        o1 = self.retrofit.table.set_index("district")
        for column in ("o1_required_m2", "o1_shortfall_m2", "o1_status"):  # old districts' own verdict in the table
            check.table[column] = check.table["district"].map(o1[column])
        check.findings.extend(self.retrofit.findings)
        check.notes.extend(self.retrofit.notes)

    # --- townships -----------------------------------------------------------------------------
    def check_townships_of_year(
        self, check: TownshipCheck, townships: gpd.GeoDataFrame, communities: gpd.GeoDataFrame | None
    ) -> None:
        """With ``--year``: one T1 area finding against that year's target (instead of one per target year)."""
        self.townships, self.communities = townships, communities
        if self.year is not None:
            replace_t1_area(check.findings, check.table, self.rules, self.year)

    # --- every target year ---------------------------------------------------------------------
    def years_reported(self) -> list[int]:
        """The rule set's target years, plus the year checked."""
        years = set(rule_target_years(self.rules))
        if self.year is not None:
            years.add(self.year)
        return sorted(years)

    def evaluate(
        self,
        coverage: CoverageResult,
        persons_per_household: float | None,
        *,
        counties: gpd.GeoDataFrame | None = None,
        study_area: np.ndarray | None = None,
    ) -> None:
        """Area findings of every reported year (facilities, districts, targets, shares of that year).

        ``counties`` (polygons with ``county``) and ``study_area`` (street edges, EPSG:4326) add
        C7/C8 per county with the facilities open in each year.
        """
        data = YearInputs(
            rules=self.rules,
            facilities=self.all_facilities,
            population=self.base_population,
            districts=self.all_districts,
            ages=self.ages,
            townships=self.townships,
            communities=self.communities,
            persons_per_household=persons_per_household,
            elderly_share=self.schedule,
            counties=counties,
            study_area=study_area,
        )
        self.by_year = evaluate_years(self.years_reported(), data)

    # --- report --------------------------------------------------------------------------------
    def planned_by(self, year: int) -> int:
        """Facilities not open this calendar year that open by ``year`` (the planned ones counted)."""
        if "opening_year" not in self.all_facilities.columns:
            return 0
        years = pd.to_numeric(self.all_facilities["opening_year"], errors="coerce")
        return int(((years > current_year()) & (years <= year)).sum())

    def parameters(self) -> dict[str, object]:
        """Parameters for the report, each with its origin."""
        out: dict[str, object] = {
            "year checked (--year)": self.year if self.year is not None else f"now ({self.as_of})",
            "target years of the rule set": ", ".join(str(y) for y in rule_target_years(self.rules)) or "none",
            "elderly share by year (ageing)": self.schedule.describe() if self.schedule else "not aged: the population layer's share",
        }
        if "O1" in self.rules:
            o1 = self.rules["O1"]
            out["new district since (O1.new_since)"] = f"{o1.extra.get('new_since')} ({o1.extra.get('new_since_source', o1.source)})"
            out["O1 retrofit quota"] = f"{o1.value} {o1.unit} ({o1.source})"
            out["O1 site search (walk, m)"] = f"{o1.extra.get('search_m')} (project parameter)"
        return out

    def headline(self) -> dict[str, object]:
        """Headline rows: the T1/Q4 verdict of every target year, and the ageing option."""
        out: dict[str, object] = {}
        for year, findings in self.by_year.items():
            planned = self.planned_by(year)
            with_planned = f", with {planned} planned facilities" if planned else ""
            for f in findings:
                if f.rule_id in ("T1", "Q4") and f.measured is not None:
                    out[f"{f.rule_id} {year}"] = f"{f.measured:.0%} (target {f.required:.0%}) {f.status}{with_planned}"
        if self.schedule is not None:
            out["ageing 老龄化"] = self.schedule.describe()
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        """Excel sheets / CSV files: target years side by side, one per year, the audit, O1."""
        out: dict[str, pd.DataFrame] = {}
        if self.by_year:
            out["target_years"] = years_table(self.by_year)
            for year, findings in self.by_year.items():
                out[f"year_{year}"] = year_findings_table(year, findings)
        if self.audit is not None and len(self.audit):
            since = self.ages.new_since if self.ages is not None else None
            out[f"audit_new_since_{since}" if since else "audit_new_districts"] = self.audit
        if self.retrofit is not None:
            out["o1_retrofit"] = self.retrofit.table
            if len(self.retrofit.candidates):
                out["o1_sites"] = self.retrofit.candidates
        return out

    def sections(self) -> list[tuple[str, pd.DataFrame]]:
        """HTML sections (title, table), in order."""
        out: list[tuple[str, pd.DataFrame]] = []
        if self.by_year:
            out.append(("目标年份 Target years, side by side", years_table(self.by_year)))
            for year, findings in self.by_year.items():
                frame = year_findings_table(year, findings)[["rule_id", "subject", "status", "message_zh", "message"]]
                out.append((f"{year} 年 / as of {year}", frame))
        if self.district_check is not None and "age_class" in self.district_check.table:
            table = self.district_check.table
            split = (
                pd.DataFrame(table.drop(columns="geometry"))
                .groupby("age_class")
                .agg(districts=("district", "size"), meeting_q1_q3=("meets_q1_q3", lambda s: int((s == "pass").sum())))
                .reset_index()
            )
            out.append(("新建/老旧小区 New and old districts", split))
        if self.audit is not None and len(self.audit):
            since = self.ages.new_since if self.ages is not None else ""
            out.append((f"{since} 年以来新建小区清查 Audit of new districts since {since}", self.audit))
        if self.retrofit is not None:
            out.append(("老旧小区补建 O1 retrofit of old districts", self.retrofit.table))
        return out


def plan_years(
    rules: RuleSet,
    inputs: Inputs,
    *,
    year: int | None = None,
    share_by_year: dict[int, float] | str | None = None,
    share_growth: float | None = None,
    base_year: int | None = None,
    candidates: str | Path | None = None,
) -> PlanningYears:
    """Start the year state of a run; ``inputs`` keep only the facilities open in the year checked.

    With ``year`` and an ageing option, the population units are aged to ``year`` (in place in
    ``inputs``); "now" keeps the layer's own share.

    Raises
    ------
    InputError
        A year outside 1900-2100, both ageing options, or no share for ``year``.
    """
    if year is not None and not 1900 <= int(year) <= 2100:
        raise InputError(f"--year {year} is not a calendar year", field="--year")
    as_of = int(year) if year is not None else current_year()
    state = PlanningYears(
        rules=rules, year=None if year is None else int(year), as_of=as_of,
        all_facilities=inputs.facilities, base_population=inputs.population, candidates_path=candidates,
    )
    state.schedule = share_schedule(inputs.population, by_year=share_by_year, growth=share_growth, base_year=base_year)
    inputs.facilities, notes = facilities_open_by(inputs.facilities, as_of)
    state.notes += notes
    if state.schedule is not None:
        for y in state.years_reported():
            state.schedule.share(y)  # every reported year needs a share: fail before the long run
        if year is not None:
            share = state.schedule.share(int(year))
            inputs.population = apply_share(inputs.population, share)
            state.notes.append(f"elderly people of {year}: {share:.2%} of residents ({state.schedule.describe()})")
        else:
            state.notes.append(
                "no --year: the walk and capacity checks use the population layer's own elderly share; "
                f"the target-year tables use the share of each year ({state.schedule.describe()})"
            )
    return state
