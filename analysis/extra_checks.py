"""Meal assistance (M1), villages (R1), counties (C7, C8, T7) and life-circle tiers (W3) in one run.

:func:`run_extra_checks` is called by :func:`analysis.checks.run_checks`; it returns their findings,
report tables, parameters and notes in one :class:`ExtraChecks`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from analysis.counties import CountyCheck, check_counties, counties_from_township_file
from analysis.layer_inputs import counties_layer, file_of, villages_layer
from analysis.life_circle_tiers import TierCheck, check_tiers
from analysis.meals import MealCheck, check_meals
from analysis.rules import RuleSet
from analysis.verdicts import Finding
from analysis.villages import VillageCheck, check_villages
from coverage.circles import CoverageResult
from layers.facilities import check_points_near_extent
from layers.projection import WGS84


@dataclass
class ExtraChecks:
    """Results of M1, R1, C7/C8/T7 per county and W3 (each None when not run)."""

    meals: MealCheck | None = None
    villages: VillageCheck | None = None
    counties: CountyCheck | None = None
    tiers: TierCheck | None = None
    notes: list[str] = field(default_factory=list)
    #: The county polygons checked (``county``, geometry), for C7/C8 per target year.
    county_frame: gpd.GeoDataFrame | None = None

    @property
    def findings(self) -> list[Finding]:
        out: list[Finding] = []
        for part in (self.tiers, self.meals, self.villages, self.counties):
            if part is not None:
                out += part.findings
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        """Report tables: ``meals`` (per compound), ``meals_townships``, ``villages``, ``counties``, ``life_circle_tiers``."""
        out: dict[str, pd.DataFrame] = {}
        if self.tiers is not None:
            out["life_circle_tiers"] = self.tiers.table
        if self.meals is not None:
            out["meals_townships"] = self.meals.townships
            out["meals"] = self.meals.compounds
        if self.villages is not None:
            out["villages"] = self.villages.table
        if self.counties is not None and len(self.counties.table):
            out["counties"] = self.counties.table
        return out

    def html_tables(self) -> dict[str, pd.DataFrame]:
        """The same tables under bilingual titles, for the HTML report."""
        titles = {
            "life_circle_tiers": "W3 生活圈层级 Life-circle tiers",
            "meals_townships": "M1 助餐：各街道（乡镇）Meal assistance per township",
            "meals": "M1 助餐：居住小区 Meal assistance per compound",
            "villages": "R1 村级养老设施 Villages",
            "counties": "C7 / C8 / T7 县（市、区）Counties",
        }
        return {titles[name]: table for name, table in self.tables().items()}

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """GeoPackage layers (EPSG:4326): ``meals``, ``villages``, ``counties``."""
        out = {}
        for name, table in self.tables().items():
            if isinstance(table, gpd.GeoDataFrame) and len(table):
                out[name] = table.to_crs(WGS84)
        return out

    def parameters(self) -> dict[str, object]:
        out: dict[str, object] = {}
        if self.meals is not None:
            out["meal walk (M1)"] = f"{self.meals.minutes:g} min at {self.meals.speed_mps:g} m/s"
        if self.villages is not None:
            out["rural walk (R1)"] = f"{self.villages.minutes:g} min at {self.villages.speed_mps:g} m/s ({self.villages.walk_source})"
        if self.tiers is not None:
            out["life-circle tiers (W3)"] = {r.tier: f"{r.minutes:g} min" for r in self.tiers.table.itertuples()}
        return out

    def all_notes(self) -> list[str]:
        out = list(self.notes)
        for part in (self.tiers, self.meals, self.villages, self.counties):
            if part is not None:
                out += part.notes
        return out


def _require(rules: RuleSet, rule_id: str) -> None:
    """Raise the rule set's InputError (naming the rule file) when ``rule_id`` is missing."""
    rules[rule_id]  # noqa: B018 - the lookup raises InputError naming the file and the rule


def run_extra_checks(
    coverage: CoverageResult,
    facilities: gpd.GeoDataFrame,
    rules: RuleSet,
    *,
    study_area,
    districts: gpd.GeoDataFrame | None = None,
    townships: gpd.GeoDataFrame | None = None,
    townships_path: str | Path | None = None,
    villages: str | Path | gpd.GeoDataFrame | None = None,
    counties: str | Path | gpd.GeoDataFrame | None = None,
    counties_crs: str | None = None,
    extent: tuple[float, float, float, float] | None = None,
) -> ExtraChecks:
    """Run W3, M1, R1 and the per-county C7/C8/T7 that the rule set and the inputs allow.

    Parameters
    ----------
    coverage : CoverageResult
        The run's walking coverage.
    facilities : GeoDataFrame
        The facility layer (EPSG:4326, common schema).
    rules : RuleSet
        The rule set (rules absent from it are skipped).
    study_area : ndarray of shapely geometries
        The street network's edges (EPSG:4326): counties it touches are assessed.
    districts, townships : GeoDataFrame, optional
        Normalised districts (compounds for M1) and townships (M1 per township, T7's town tier).
    townships_path : path, optional
        The township file, read for a county field when no county layer is given.
    villages, counties : path or GeoDataFrame, optional
        Village layer (R1, T7) and county polygons (C7, C8, T7).
    counties_crs : {"gcj02", "bd09"}, optional
        The county layer's coordinates come from a Chinese web map.
    extent : (float, float, float, float), optional
        The street network's lon/lat bounds: a village layer entirely outside them is refused.
    """
    out = ExtraChecks()
    out.tiers = check_tiers(coverage, rules)
    if "M1" in rules:
        out.meals = check_meals(coverage, rules, districts=districts, townships=townships)
    if villages is not None:
        _require(rules, "R1")
        village_frame = villages_layer(villages)
        if extent is not None:
            points = village_frame.copy()
            points["geometry"] = village_frame.geometry.representative_point()
            check_points_near_extent(points, extent, file=file_of(villages), layer="villages")
        out.villages = check_villages(coverage, rules, village_frame)
    county_frame = None
    if counties is not None:
        county_frame = counties_layer(counties, source_crs=counties_crs)
    elif townships_path is not None:
        county_frame = counties_from_township_file(townships_path)
    if county_frame is not None:
        _require(rules, "C7")
        out.county_frame = county_frame
        out.counties = check_counties(
            county_frame,
            facilities,
            rules,
            study_area=study_area,
            townships=townships,
            villages=out.villages.table if out.villages is not None else None,
        )
    elif out.villages is not None:
        out.notes.append("no county layer (--counties) or county field in the townships: T7, C7 and C8 per county not checked")
    return out
