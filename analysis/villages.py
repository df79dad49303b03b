"""Villages (村) and R1: every village has a village point (养老大院, 互助养老站点, 幸福院).

A village layer holds points or polygons with a name (and optionally its county). A village passes
R1 when a facility of kind ``village_point`` lies inside its polygon, or within the rural walk of
its point (a polygon: a point inside it). Rural walking is slower and longer than the urban
15-minute circle: the walk is the R1 rule's ``minutes`` at its ``speed`` (m/s), stated in every
finding; without them, W1's minutes at the run's speed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from analysis.kind_walk import kind_coverage, kind_mask, walk_metres
from analysis.message_format import fmt_number
from analysis.polygon_layers import read_vector_layer, unique_names
from analysis.rules import RuleSet
from analysis.spatial_join import points_in_polygons
from analysis.verdicts import FAIL, NOT_ASSESSABLE, PASS, Finding
from coverage.circles import CoverageResult
from layers.columns import find_column
from layers.errors import EmptyLayerError, GeometryError
from layers.projection import check_lonlat_range, require_crs, to_wgs84

VILLAGE_KINDS: tuple[str, ...] = ("village_point",)

#: Column names (case-insensitive) of a village's name and of the county it belongs to.
VILLAGE_NAME_ALIASES: tuple[str, ...] = ("village", "name", "名称", "村", "村名", "行政村", "村庄", "村名称")
COUNTY_FIELD_ALIASES: tuple[str, ...] = ("county", "区县", "县", "县区", "县（市、区）", "县市区", "county_name")

_POINT, _POLYGON, _MULTIPOLYGON = 0, 3, 6


def normalise_villages(frame: gpd.GeoDataFrame, *, file: str | Path | None = None, layer: str | None = None) -> gpd.GeoDataFrame:
    """Validate a village layer: ``village`` (name), ``county`` (name or None) and points/polygons (EPSG:4326).

    Raises
    ------
    EmptyLayerError, MissingCRSError, GeometryError, CoordinateError
        No features, no CRS, empty/invalid/other geometries, coordinates out of lon/lat range.
    """
    layer_name = layer or "villages"
    if len(frame) == 0:
        raise EmptyLayerError("the village layer has no features", file=file, layer=layer_name)
    require_crs(frame, file=file, layer=layer_name)
    geometry = frame.geometry.to_numpy()
    missing = shapely.is_missing(geometry) | shapely.is_empty(geometry)
    if missing.any():
        rows = np.flatnonzero(missing)[:5].tolist()
        raise GeometryError(f"{int(missing.sum())} villages have no geometry (rows {rows})", file=file, layer=layer_name, field="geometry")
    types = shapely.get_type_id(geometry)
    wrong = ~np.isin(types, (_POINT, _POLYGON, _MULTIPOLYGON))
    if wrong.any():
        rows = np.flatnonzero(wrong)[:5].tolist()
        raise GeometryError(f"villages must be points or polygons (rows {rows} are not)", file=file, layer=layer_name, field="geometry")
    invalid = ~shapely.is_valid(geometry)
    if invalid.any():
        rows = np.flatnonzero(invalid)[:5].tolist()
        raise GeometryError(f"invalid village geometries in rows {rows}", file=file, layer=layer_name, field="geometry")
    frame = to_wgs84(frame.reset_index(drop=True))
    x0, y0, x1, y1 = frame.total_bounds
    check_lonlat_range(np.array([x0, x1]), np.array([y0, y1]), file=file, layer=layer_name)
    columns = [c for c in frame.columns if c != frame.geometry.name]
    name_col = find_column(columns, VILLAGE_NAME_ALIASES)
    names, notes = unique_names(frame[name_col].tolist() if name_col else [None] * len(frame), prefix="village")
    county_col = find_column(columns, COUNTY_FIELD_ALIASES)
    county = frame[county_col].astype("string").str.strip().to_numpy(dtype=object) if county_col else np.full(len(frame), None, dtype=object)
    out = gpd.GeoDataFrame({"village": names, "county": county}, geometry=frame.geometry.to_numpy(), crs=frame.crs)
    out.attrs["notes"] = notes
    return out


def read_villages(path: str | Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a village layer (GeoPackage, GeoJSON, Shapefile; points or polygons with a name)."""
    frame, file, layer_name = read_vector_layer(path, layer=layer, what="village")
    return normalise_villages(frame, file=file, layer=layer_name)


@dataclass
class VillageCheck:
    """R1 results: one finding and one table row per village, and the rural walk used."""

    findings: list[Finding]
    table: gpd.GeoDataFrame
    minutes: float
    speed_mps: float
    walk_source: str
    notes: list[str] = field(default_factory=list)


def rural_walk(rules: RuleSet, coverage: CoverageResult) -> tuple[float, float, str]:
    """The rural walk of R1: (minutes, speed in m/s, where they come from)."""
    extra = rules["R1"].extra
    if "minutes" in extra or "speed" in extra:
        minutes = float(extra.get("minutes", rules.value("W1")))
        speed = float(extra.get("speed", coverage.speed_mps))
        return minutes, speed, f"rule R1 of {rules.name} ({extra.get('walk_source', 'rule set parameter')})"
    return float(rules.value("W1")), float(coverage.speed_mps), "rule W1's minutes at the run's speed (R1 gives no rural walk)"


def check_villages(coverage: CoverageResult, rules: RuleSet, villages: gpd.GeoDataFrame) -> VillageCheck:
    """Check R1 for every village: a village point inside it or within the rural walk.

    Parameters
    ----------
    coverage : CoverageResult
        The run's coverage (graph, facilities with ``kind``).
    rules : RuleSet
        Needs R1 (optional ``minutes``, ``speed`` in m/s) and W1.
    villages : GeoDataFrame
        From :func:`normalise_villages` (EPSG:4326).

    Returns
    -------
    VillageCheck
        ``table`` columns: ``village``, ``county``, ``village_point_inside`` (bool),
        ``walk_m`` (metres to the nearest village point; inf beyond the walk or off the street
        network), ``walk_min`` (minutes), ``r1_status``.
    """
    minutes, speed, walk_source = rural_walk(rules, coverage)
    walk_text = f"{fmt_number(minutes)}-minute walk at {fmt_number(speed)} m/s"
    notes = list(villages.attrs.get("notes", [])) + [f"R1 uses the rural walk: {walk_text}, from {walk_source}"]
    has_points = bool(kind_mask(coverage, VILLAGE_KINDS).any())
    served = kind_coverage(coverage, VILLAGE_KINDS, minutes=minutes, speed_mps=speed) if has_points else None
    shapes = villages.to_crs(coverage.graph.crs).geometry.to_numpy()
    polygon = shapely.get_type_id(shapes) != _POINT
    points = shapes.copy()
    points[polygon] = shapely.point_on_surface(shapes[polygon])
    inside = np.zeros(len(shapes), bool)
    if polygon.any() and has_points:
        facility_points = coverage.facilities.geometry.to_numpy()[kind_mask(coverage, VILLAGE_KINDS)]
        poly_idx, _ = points_in_polygons(shapes[polygon], facility_points)
        inside[np.flatnonzero(polygon)[poly_idx]] = True
    walk = walk_metres(served, points)
    reach = minutes * 60.0 * speed
    passed = inside | (walk <= reach)
    findings: list[Finding] = []
    statuses = []
    for i, name in enumerate(villages["village"]):
        if not has_points:
            status, measured = NOT_ASSESSABLE, None
            en = (
                f"R1 not assessable for village '{name}': the facility layer has no village point "
                "(kind village_point, or names with 养老大院/互助站/互助养老/幸福院)"
            )
            zh = f"R1 无法评估：设施图层中没有村级养老设施（养老大院、互助站点、幸福院），村“{name}”"
        else:
            status = PASS if passed[i] else FAIL
            measured = 0.0 if inside[i] else float(walk[i] / speed / 60.0)
            if inside[i]:
                how = "a village point lies inside the village"
            elif np.isfinite(walk[i]):
                how = f"the nearest village point is {fmt_number(walk[i] / speed / 60.0)} min away"
            else:
                how = "no village point within the walk (or the village is off the street network)"
            en = f"R1 {'pass' if passed[i] else 'fail'} for village '{name}': {how} (rural walk: {walk_text})"
            zh = (
                f"R1 {'达标' if passed[i] else '未达标'}：村“{name}”"
                f"{'有' if passed[i] else '无'}养老大院/互助站点（村内或农村步行 {fmt_number(minutes)} 分钟、{fmt_number(speed)} 米/秒范围内）"
            )
        if measured is not None and not np.isfinite(measured):
            measured = None  # nothing within the search: no number to report
        shortfall = None if measured is None else max(measured - minutes, 0.0)
        findings.append(Finding("R1", "village", str(name), status, measured, minutes, shortfall, "min", en, zh))
        statuses.append(status)
    table = gpd.GeoDataFrame(
        {
            "village": villages["village"].to_numpy(),
            "county": villages["county"].to_numpy(),
            "village_point_inside": inside,
            "walk_m": walk,
            "walk_min": walk / speed / 60.0,
            "r1_status": statuses,
        },
        geometry=villages.geometry.to_numpy(),
        crs=villages.crs,
    )
    return VillageCheck(findings, table, minutes, speed, walk_source, notes)
