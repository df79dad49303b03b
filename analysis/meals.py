"""Meal assistance (M1, 助餐): residential compounds with a meal point inside or within the walk.

A compound (居住小区) is a residential district of the run (the district layer given, or the OSM
``landuse=residential`` areas standing in for it), else a population unit of the coverage. It is reached when a meal point (kind ``meal_point``: 老年食堂, 助餐点,
敬老餐厅) lies inside its polygon or within the walk of its representative point (a population unit:
its own snapped point). The walk is the engine's bounded walk from meal points only
(:mod:`analysis.kind_walk`), at the M1 rule's ``minutes`` if it gives them, else W1's. M1 is
reported per township (share of its compounds reached) and for the whole area.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis.kind_walk import kind_coverage, kind_mask, walk_metres
from analysis.message_format import fmt_number, fmt_share
from analysis.rules import RuleSet
from analysis.spatial_join import points_in_polygons
from analysis.verdicts import FAIL, NOT_ASSESSABLE, PASS, Finding
from coverage.circles import CoverageResult
from layers.defaults import SHARE_TOLERANCE

MEAL_KINDS: tuple[str, ...] = ("meal_point",)


@dataclass
class MealCheck:
    """M1 results.

    Attributes
    ----------
    findings : list of Finding
        One M1 finding per township (or one for the area without townships).
    compounds : GeoDataFrame
        One row per compound (EPSG:4326): ``compound``, ``basis`` (district / population unit),
        ``township``, ``residents`` (persons), ``meal_inside`` (bool), ``meal_walk_m`` (metres,
        inf beyond the walk), ``meal_reached`` (bool).
    townships : DataFrame
        One row per township: compounds, reached, share, residents, residents reached, status.
    minutes, speed_mps : float
        The walk used (minutes, m/s).
    notes : list of str
    """

    findings: list[Finding]
    compounds: gpd.GeoDataFrame
    townships: pd.DataFrame
    minutes: float
    speed_mps: float
    notes: list[str] = field(default_factory=list)


def _walk_parameters(rules: RuleSet, coverage: CoverageResult) -> tuple[float, float]:
    extra = rules["M1"].extra
    minutes = float(extra.get("minutes", rules.value("W1") if "W1" in rules else coverage.minutes))
    speed = float(extra.get("speed", coverage.speed_mps))
    return minutes, speed


def _compounds(
    coverage: CoverageResult, served: CoverageResult | None, districts: gpd.GeoDataFrame | None
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Compounds in the graph's CRS with their reach by a meal point, and their representative points."""
    crs = coverage.graph.crs
    if districts is not None and len(districts):
        polygons = districts.to_crs(crs).geometry.to_numpy()
        centres = shapely.point_on_surface(polygons)
        meals = coverage.facilities.geometry.to_numpy()[kind_mask(coverage, MEAL_KINDS)]
        poly_idx, _ = points_in_polygons(polygons, meals)
        inside = np.zeros(len(polygons), bool)
        inside[poly_idx] = True
        walk = walk_metres(served, centres)
        residents = districts["residents"].to_numpy(dtype=float) if "residents" in districts else np.full(len(polygons), np.nan)
        names = districts["district"].astype(str).to_numpy() if "district" in districts else [f"district {i + 1}" for i in range(len(polygons))]
        basis = "district"
        geometry = polygons
    else:
        units = coverage.population
        centres = units.geometry.representative_point().to_numpy()
        inside = np.zeros(len(units), bool)
        walk = served.distance_m if served is not None else np.full(len(units), np.inf)
        residents = units["population"].to_numpy(dtype=float)
        names = [f"unit {i + 1}" for i in range(len(units))]
        basis = "population unit"
        geometry = units.geometry.to_numpy()
    reach = served.reach_m if served is not None else 0.0
    reached = inside | (walk <= reach)
    frame = gpd.GeoDataFrame(
        {
            "compound": names,
            "basis": basis,
            "residents": residents,
            "meal_inside": inside,
            "meal_walk_m": walk,
            "meal_reached": reached,
        },
        geometry=geometry,
        crs=crs,
    )
    return frame, centres


def check_meals(
    coverage: CoverageResult,
    rules: RuleSet,
    *,
    districts: gpd.GeoDataFrame | None = None,
    townships: gpd.GeoDataFrame | None = None,
) -> MealCheck:
    """Check M1: the share of residential compounds reached by a meal point, per township.

    Parameters
    ----------
    coverage : CoverageResult
        The run's walking coverage (its facilities carry ``kind``; meal points are ``meal_point``).
    rules : RuleSet
        Needs M1 (value: the share asked, 0-1; optional ``minutes``/``speed``) and W1.
    districts : GeoDataFrame, optional
        Normalised residential districts (``district``, ``residents``); default: population units.
    townships : GeoDataFrame, optional
        Normalised townships (``township``); without them, one finding for the whole area.
    """
    rule = rules["M1"]
    required = float(rule.value)
    minutes, speed = _walk_parameters(rules, coverage)
    notes: list[str] = []
    has_meals = bool(kind_mask(coverage, MEAL_KINDS).any())
    served = kind_coverage(coverage, MEAL_KINDS, minutes=minutes, speed_mps=speed) if has_meals else None
    compounds, centres = _compounds(coverage, served, districts)
    basis = "residential districts" if districts is not None and len(districts) else "population units of the coverage"
    walk_text = f"{fmt_number(minutes)}-minute walk at {fmt_number(speed)} m/s"
    notes.append(f"M1 counts {basis} as residential compounds, reached by a meal point inside or within the {walk_text}")

    if townships is not None and len(townships):
        polygons = townships.to_crs(coverage.graph.crs).geometry.to_numpy()
        poly_idx, point_idx = points_in_polygons(polygons, centres)
        first = np.full(len(compounds), -1)
        first[point_idx[::-1]] = poly_idx[::-1]  # a compound on a shared edge goes to the first township
        names = townships["township"].astype(str).to_numpy()
        compounds["township"] = np.where(first >= 0, names[np.maximum(first, 0)], None)
        groups = list(names)
        outside = int((first < 0).sum())
        if outside:
            notes.append(f"M1: {outside} compounds lie in no township and count only for the whole area")
        subject_kind = "township"
    else:
        compounds["township"] = None
        groups = []
        subject_kind = "area"

    reached = compounds["meal_reached"].to_numpy()
    residents = compounds["residents"].to_numpy(dtype=float)
    rows = []
    findings: list[Finding] = []
    units = [(name, compounds["township"].to_numpy() == name) for name in groups] or [("study area", np.ones(len(compounds), bool))]
    for name, mask in units:
        count = int(mask.sum())
        hit = int(reached[mask].sum())
        share = hit / count if count else np.nan
        known = np.isfinite(residents[mask])
        people = float(residents[mask][known].sum()) if known.any() else np.nan
        people_hit = float(residents[mask & reached][np.isfinite(residents[mask & reached])].sum()) if known.any() else np.nan
        if not has_meals:
            status = NOT_ASSESSABLE
            en = (
                f"M1 not assessable for {subject_kind} '{name}': the facility layer has no meal point "
                "(kind meal_point, or names with 老年食堂/助餐点/敬老餐厅)"
            )
            zh = f"M1 无法评估：{name} 设施图层中没有助餐点（老年食堂、助餐点、敬老餐厅）"
        elif count == 0:
            status = NOT_ASSESSABLE
            en = f"M1 not assessable for {subject_kind} '{name}': it holds no residential compound"
            zh = f"M1 无法评估：{name} 内没有居住小区"
        else:
            status = PASS if share >= required - SHARE_TOLERANCE else FAIL
            verdict = "pass" if status == PASS else "fail"
            en = (
                f"M1 {verdict} for {subject_kind} '{name}': {hit} of {count} compounds ({fmt_share(share)}) have a meal "
                f"point inside or within the {walk_text} (asked: {fmt_share(required)})"
            )
            zh = (
                f"M1 {'达标' if status == PASS else '未达标'}：{name} {count} 个居住小区中 {hit} 个（{fmt_share(share)}）"
                f"在助餐点 {fmt_number(minutes)} 分钟步行范围内（要求 {fmt_share(required)}）"
            )
        measured = None if status == NOT_ASSESSABLE else float(share)
        shortfall = None if measured is None else max(required - measured, 0.0)
        findings.append(Finding("M1", subject_kind, str(name), status, measured, required, shortfall, "share", en, zh))
        rows.append(
            {
                "township": name,
                "compounds": count,
                "compounds_reached": hit,
                "share_reached": share,
                "residents": people,
                "residents_reached": people_hit,
                "m1_status": status,
            }
        )
    compounds = compounds.to_crs(4326)
    return MealCheck(findings, compounds, pd.DataFrame(rows), minutes, speed, notes)
