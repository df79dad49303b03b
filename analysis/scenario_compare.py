"""Baseline vs scenario, side by side: covered elderly per township and district, and the verdicts that change.

:func:`compare_scenario` runs :func:`analysis.run_checks` on a walk result (the baseline) and on the
same result with a :class:`coverage.scenario.Scenario` applied (local what-if updates, no file read
again), then :func:`compare_runs` lines them up:

* ``townships`` / ``districts``: elderly people (persons) within the walk in each polygon, baseline
  and scenario, the difference, and both shares (0-1);
* ``verdicts``: every finding of both runs by rule and subject, with ``changed`` where the status
  differs (e.g. T1 passes in the township that gets the new centre, Q1 still fails);
* ``rules``: passed / failed / not assessable per rule id in both runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from analysis.checks import CheckRun, run_checks
from analysis.township_share import elderly_coverage_by_township
from analysis.verdicts import Finding
from coverage.circles import CoverageResult
from coverage.scenario import Scenario, describe_change, scenario_summary

#: Columns of the per-polygon comparison tables (besides the name column).
POLYGON_COLUMNS = (
    "elderly_population",
    "elderly_covered_baseline",
    "elderly_covered_scenario",
    "elderly_covered_change",
    "covered_share_baseline",
    "covered_share_scenario",
)
VERDICT_COLUMNS = (
    "rule_id", "subject_kind", "subject", "status_baseline", "status_scenario", "changed",
    "measured_baseline", "measured_scenario", "unit", "message_zh", "message",
)


@dataclass
class ScenarioComparison:
    """Two check runs (baseline, scenario) and their differences.

    Attributes
    ----------
    scenario : Scenario
    baseline, variant : CheckRun
        ``run_checks`` on the baseline result and on the scenario's result.
    townships, districts : DataFrame or None
        Per polygon: ``township`` / ``district`` and :data:`POLYGON_COLUMNS` (persons; shares 0-1);
        None when the run had no such layer.
    verdicts : DataFrame
        :data:`VERDICT_COLUMNS`, one row per rule and subject of either run.
    rules : DataFrame
        Per rule id: ``passed``/``failed``/``not_assessable`` with ``_baseline`` and ``_scenario``.
    """

    scenario: Scenario
    baseline: CheckRun
    variant: CheckRun
    townships: pd.DataFrame | None
    districts: pd.DataFrame | None
    verdicts: pd.DataFrame
    rules: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def changed_verdicts(self) -> pd.DataFrame:
        """The rows of :attr:`verdicts` whose status differs between baseline and scenario."""
        return self.verdicts.loc[self.verdicts["changed"]].reset_index(drop=True)

    def covered_elderly(self) -> tuple[float, float]:
        """Elderly persons within the walk in the whole area: baseline, scenario."""
        return _covered_elderly(self.baseline.coverage), _covered_elderly(self.variant.coverage)

    def summary(self) -> dict[str, Any]:
        """The ``scenario`` key of ``check --json``: name, changes, covered elderly and the changed verdicts."""
        before, after = self.covered_elderly()
        changed = self.changed_verdicts
        return {
            **scenario_summary(self.scenario),
            "baseline_covered_elderly": round(before, 1),
            "covered_elderly": round(after, 1),
            "changed_verdicts": len(changed),
            "changed_rules": sorted(set(changed["rule_id"])),
            "baseline_rules": self.baseline.summary()["rules"],
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables the report folder gets (a CSV each and a sheet of ``checks.xlsx``)."""
        out = {"scenario_changes": changes_table(self.scenario), "scenario_rules": self.rules, "scenario_verdicts": self.verdicts}
        if self.townships is not None:
            out["scenario_townships"] = self.townships
        if self.districts is not None:
            out["scenario_districts"] = self.districts
        return out

    def sections(self) -> list[tuple[str, pd.DataFrame]]:
        """HTML sections of the report: the changes, the verdicts that change, the rules side by side."""
        title = f"方案与现状对比 Scenario vs baseline: {self.scenario.name}"
        out = [(f"{title} — 变更 changes", changes_table(self.scenario))]
        changed = self.changed_verdicts
        out.append((f"{title} — 结论变化 verdicts that change ({len(changed)})", changed[[c for c in VERDICT_COLUMNS if c != "message"]]))
        out.append((f"{title} — 各规则 per rule", self.rules))
        if self.townships is not None:
            out.append((f"{title} — 各街道 per township", self.townships))
        return out


def changes_table(scenario: Scenario) -> pd.DataFrame:
    """One row per change of ``scenario``, in order: ``number``, ``change`` and its description."""
    return pd.DataFrame(
        {
            "number": np.arange(1, len(scenario.changes) + 1),
            "change": [type(c).__name__ for c in scenario.changes],
            "facility_id": [c.facility_id for c in scenario.changes],
            "description": [describe_change(c) for c in scenario.changes],
        }
    )


def _covered_elderly(coverage: CoverageResult) -> float:
    elderly = coverage.population["elderly_population"].to_numpy(dtype=float)
    return float(elderly[coverage.covered].sum())


def polygon_comparison(
    baseline: CoverageResult, scenario: CoverageResult, polygons: gpd.GeoDataFrame, name_column: str
) -> pd.DataFrame:
    """Elderly within the walk per polygon in both results, with the difference (persons) and shares (0-1).

    Parameters
    ----------
    baseline, scenario : CoverageResult
        The two walks (same population units).
    polygons : GeoDataFrame
        Polygons with a name in ``name_column`` (any declared CRS).
    name_column : str
        ``township`` or ``district``; the output's first column.
    """
    frame = gpd.GeoDataFrame({"township": polygons[name_column].astype(str).to_numpy()}, geometry=polygons.geometry.to_numpy(), crs=polygons.crs)
    before = elderly_coverage_by_township(baseline, frame)
    after = elderly_coverage_by_township(scenario, frame)
    out = pd.DataFrame({name_column: before["township"].to_numpy()})
    out["elderly_population"] = before["elderly_population"].round(0).to_numpy()
    out["elderly_covered_baseline"] = before["elderly_covered"].round(0).to_numpy()
    out["elderly_covered_scenario"] = after["elderly_covered"].round(0).to_numpy()
    out["elderly_covered_change"] = (after["elderly_covered"] - before["elderly_covered"]).round(0).to_numpy()
    out["covered_share_baseline"] = before["covered_share"].to_numpy()
    out["covered_share_scenario"] = after["covered_share"].to_numpy()
    return out


def _findings_frame(findings: list[Finding], suffix: str) -> pd.DataFrame:
    rows = [asdict(f) for f in findings]
    frame = pd.DataFrame(rows, columns=list(Finding.__dataclass_fields__))
    frame["occurrence"] = frame.groupby(["rule_id", "subject_kind", "subject"]).cumcount()
    keep = frame[["rule_id", "subject_kind", "subject", "occurrence", "status", "measured", "unit", "message", "message_zh"]]
    return keep.rename(columns={c: f"{c}_{suffix}" for c in ("status", "measured", "unit", "message", "message_zh")})


def verdict_comparison(baseline: list[Finding], scenario: list[Finding]) -> pd.DataFrame:
    """Every finding of both runs by rule and subject: both statuses and measures, ``changed`` where they differ.

    A subject found in one run only (a district that gains a facility, a facility added) has the
    other status empty (None) and counts as changed.
    """
    key = ["rule_id", "subject_kind", "subject", "occurrence"]
    merged = _findings_frame(baseline, "baseline").merge(_findings_frame(scenario, "scenario"), on=key, how="outer", sort=False)
    merged = merged.astype({"status_baseline": object, "status_scenario": object})
    merged["changed"] = merged["status_baseline"].fillna("") != merged["status_scenario"].fillna("")
    merged["unit"] = merged["unit_scenario"].fillna(merged["unit_baseline"])
    merged["message"] = merged["message_scenario"].fillna(merged["message_baseline"])
    merged["message_zh"] = merged["message_zh_scenario"].fillna(merged["message_zh_baseline"])
    merged = merged.where(merged.notna(), None)
    merged["changed"] = merged["changed"].astype(bool)
    order = merged.sort_values(["rule_id"], kind="stable")
    return order[list(VERDICT_COLUMNS)].reset_index(drop=True)


def rule_comparison(baseline: Mapping[str, Mapping[str, int]], scenario: Mapping[str, Mapping[str, int]]) -> pd.DataFrame:
    """Per rule id: assessed, passed, failed, not assessable in both runs (``run.summary()["rules"]``)."""
    rows = []
    for rule_id in sorted(set(baseline) | set(scenario)):
        row: dict[str, Any] = {"rule_id": rule_id}
        for suffix, counts in (("baseline", baseline.get(rule_id, {})), ("scenario", scenario.get(rule_id, {}))):
            for what in ("passed", "failed", "not_assessable"):
                row[f"{what}_{suffix}"] = int(counts.get(what, 0))
        row["changed"] = any(row[f"{w}_baseline"] != row[f"{w}_scenario"] for w in ("passed", "failed", "not_assessable"))
        rows.append(row)
    return pd.DataFrame(rows)


def compare_runs(scenario: Scenario, baseline: CheckRun, variant: CheckRun) -> ScenarioComparison:
    """Line up two check runs of the same data: per township, per district, per finding, per rule."""
    townships = districts = None
    notes = []
    if baseline.townships is not None:
        townships = polygon_comparison(baseline.coverage, variant.coverage, baseline.townships.table, "township")
    else:
        notes.append("no township boundaries: no per-township comparison")
    if baseline.districts is not None:
        districts = polygon_comparison(baseline.coverage, variant.coverage, baseline.districts.table, "district")
    else:
        notes.append("no residential districts: no per-district comparison")
    return ScenarioComparison(
        scenario=scenario,
        baseline=baseline,
        variant=variant,
        townships=townships,
        districts=districts,
        verdicts=verdict_comparison(baseline.findings, variant.findings),
        rules=rule_comparison(baseline.summary()["rules"], variant.summary()["rules"]),
        notes=notes,
    )


def compare_scenario(
    result: CoverageResult,
    scenario: Scenario,
    *,
    scenario_result: CoverageResult | None = None,
    source: str | None = None,
    **check_options: Any,
) -> ScenarioComparison:
    """Run every planning check on ``result`` and on ``result`` with ``scenario`` applied, and compare.

    Parameters
    ----------
    result : CoverageResult
        The baseline walk (from :func:`coverage.walk_coverage`; it carries its loaded layers).
    scenario : Scenario
        The what-if changes (applied with local updates; no file is read again).
    scenario_result : CoverageResult, optional
        ``scenario.apply(result)`` when the caller has it already (the app's cached what-if result).
    source : str, optional
        The scenario file's name, for error messages.
    **check_options
        Keyword arguments of :func:`analysis.run_checks` (``rules``, ``townships``, ``districts``,
        ``year``, ...), the same for both runs.

    Returns
    -------
    ScenarioComparison

    Raises
    ------
    layers.errors.InputError
        A change does not apply (unknown facility id, a site off the network), or a layer is bad.
    """
    if scenario_result is None:
        scenario_result = scenario.apply(result, source=source)
    baseline = run_checks(result, **check_options)
    variant = run_checks(scenario_result, **check_options)
    return compare_runs(scenario, baseline, variant)


__all__ = [
    "ScenarioComparison",
    "changes_table",
    "polygon_comparison",
    "verdict_comparison",
    "rule_comparison",
    "compare_runs",
    "compare_scenario",
]
