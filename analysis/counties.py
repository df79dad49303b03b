"""Counties (县、市、区): per-county verdicts of C7, C8 and the rural three-tier network T7.

County polygons come from a county layer (``--counties``: a name or ``adcode`` column; GCJ-02
layers are converted with ``--counties-crs gcj02``) or from the townships' county field
(``county``/``区县``/``县``: townships dissolved per county). Only counties that the street network
reaches are assessed (the others are outside the study area and listed in a note).

- C7: at least ``value`` county-level institutions mainly for poor, disabled and frail elderly
  (name, kind text or tags with 特困/供养/失能/残疾).
- C8: at least ``value`` county-level 特困 供养 institutions with combined medical care
  (医养结合 in the name, kind text or tags).
- T7: the three tiers per county: a county guidance centre (养老服务指导中心, or a 县级 social
  welfare centre), a regional centre (kind ``township_centre``) in every township of the county
  (in the county when no townships are given), and every village passing R1.

County level: a ``level`` column (级别) naming the county (县/区/市级), else 县级 in the name, else a
name starting with the county's own name (磐石市…, 双桥区…). Facilities whose level cannot be told
are not counted, and the finding says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis.polygon_layers import normalise_polygon_layer, read_vector_layer, unique_names
from analysis.rules import RuleSet
from analysis.spatial_join import points_in_polygons
from analysis.verdicts import FAIL, NOT_ASSESSABLE, PASS, Finding
from analysis.villages import COUNTY_FIELD_ALIASES
from layers.columns import find_column
from layers.errors import FieldError

#: Column names (case-insensitive) of a county's name in a county layer; ``adcode`` last.
COUNTY_NAME_ALIASES: tuple[str, ...] = ("county", "name", "名称", "区县", "县", "县区", "县（市、区）", "district", "adcode", "gb")

#: Words marking an institution mainly for poor, disabled and frail elderly (C7).
C7_WORDS: tuple[str, ...] = ("特困", "供养", "失能", "残疾", "兜底")
#: Words marking a 特困 供养 institution (C8), and combined medical care (医养结合).
C8_WORDS: tuple[str, ...] = ("特困", "供养")
MEDICAL_CARE_WORDS: tuple[str, ...] = ("医养结合", "医养", "medical care")
#: Words marking the county tier of T7 (a guidance centre or a county welfare centre).
COUNTY_TIER_WORDS: tuple[str, ...] = ("指导中心", "社会福利中心", "社会福利院")
#: Level words meaning county level (level column) and words inside a name meaning it.
COUNTY_LEVEL_WORDS: tuple[str, ...] = ("县", "区级", "市级", "county")
COUNTY_LEVEL_NAME_WORDS: tuple[str, ...] = ("县级",)
#: Kinds that are the county tier of T7 when they are county level.
COUNTY_TIER_KINDS: tuple[str, ...] = ("nursing_home", "other")
#: Kinds never counted as county institutions.
NON_INSTITUTION_KINDS: tuple[str, ...] = ("health_centre", "meal_point", "village_point")

_SUFFIXES = ("自治县", "县", "市", "区", "旗")


def _stem(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def normalise_counties(frame: gpd.GeoDataFrame, *, file: str | Path | None = None, layer: str | None = None) -> gpd.GeoDataFrame:
    """Validate county polygons: ``county`` (name; the adcode when no name) and polygons (EPSG:4326)."""
    layer_name = layer or "counties"
    frame = normalise_polygon_layer(frame, file=file, layer=layer_name, what="county")
    columns = [c for c in frame.columns if c != frame.geometry.name]
    name_col = find_column(columns, COUNTY_NAME_ALIASES)
    if name_col is None:
        msg = f"no county name column (one of {', '.join(COUNTY_NAME_ALIASES)}); columns are {columns}"
        raise FieldError(msg, file=file, layer=layer_name, field="name")
    notes: list[str] = []
    adcode_col = find_column(columns, ("adcode", "gb", "行政区划代码"))
    if adcode_col is not None:
        # six-digit codes ending in 00 are prefectures or provinces (e.g. 220100 Changchun city):
        # they overlap their counties and are no county (县、市、区) of C7/C8/T7
        code = frame[adcode_col].astype("string").str.strip().str[-6:]
        upper = code.str.fullmatch(r"\d{4}00").fillna(False).to_numpy(dtype=bool)
        if upper.all():
            raise FieldError("every feature is a prefecture or province (adcode ending in 00), none a county", file=file, layer=layer_name, field=adcode_col)
        if upper.any():
            dropped = ", ".join(frame.loc[upper, name_col].astype(str).head(5))
            notes.append(f"{int(upper.sum())} prefecture/province polygons (adcode ending in 00: {dropped}) are not counties and are left out")
            frame = frame.loc[~upper].reset_index(drop=True)
    names, name_notes = unique_names(frame[name_col].tolist(), prefix="county")
    out = gpd.GeoDataFrame({"county": names}, geometry=frame.geometry.to_numpy(), crs=frame.crs)
    out.attrs["notes"] = notes + name_notes
    return out


def read_counties(path: str | Path, *, layer: str | None = None, source_crs: str | None = None) -> gpd.GeoDataFrame:
    """Read county polygons; ``source_crs="gcj02"``/``"bd09"`` converts Amap/Baidu coordinates to WGS84."""
    frame, file, layer_name = read_vector_layer(path, layer=layer, what="county")
    if source_crs is not None and source_crs.strip().lower() not in ("wgs84", "epsg:4326", "4326"):
        from layers.chinese_crs import convert_to_wgs84

        frame = convert_to_wgs84(frame if frame.crs is not None else frame.set_crs(4326), source_crs, file=file, layer=layer_name)
    return normalise_counties(frame, file=file, layer=layer_name)


def counties_from_township_file(path: str | Path, *, layer: str | None = None) -> gpd.GeoDataFrame | None:
    """County polygons from a township file's county field (townships dissolved per county); None without one."""
    frame, file, layer_name = read_vector_layer(path, layer=layer, what="township")
    columns = [c for c in frame.columns if c != frame.geometry.name]
    county_col = find_column(columns, COUNTY_FIELD_ALIASES)
    if county_col is None:
        return None
    frame = normalise_polygon_layer(frame, file=file, layer=layer_name, what="township")
    names = frame[county_col].astype("string").str.strip()
    if names.isna().any() or (names == "").any():
        rows = np.flatnonzero((names.isna() | (names == "")).to_numpy())[:5].tolist()
        raise FieldError(f"townships without a county in rows {rows}", file=file, layer=layer_name, field=county_col)
    dissolved = gpd.GeoDataFrame({"county": names.to_numpy()}, geometry=frame.geometry.to_numpy(), crs=frame.crs).dissolve("county").reset_index()
    dissolved.attrs["notes"] = [f"counties are the townships of {Path(path).name} grouped by their '{county_col}' field"]
    return dissolved


def _text(facilities: gpd.GeoDataFrame) -> np.ndarray:
    """Name, kind and tags of each facility as one lower-case string."""
    parts = [facilities[c].astype("string").fillna("") for c in ("name", "tags") if c in facilities.columns]
    if not parts:
        return np.full(len(facilities), "", dtype=object)
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + " " + part
    return joined.str.lower().to_numpy(dtype=object)


def _has_any(text: np.ndarray, words: tuple[str, ...]) -> np.ndarray:
    return np.array([any(w.lower() in t for w in words) for t in text], dtype=bool)


def _county_level(facilities: gpd.GeoDataFrame, county_names: np.ndarray) -> np.ndarray:
    """Whether each facility (with its county's name) is a county-level institution."""
    names = facilities["name"].astype("string").fillna("").to_numpy(dtype=object)
    by_name = _has_any(names.astype(object), COUNTY_LEVEL_NAME_WORDS)
    by_stem = np.array([bool(c) and n.startswith(_stem(str(c))) for n, c in zip(names, county_names, strict=True)], dtype=bool)
    level = by_name | by_stem
    if "level" in facilities.columns:
        text = facilities["level"].astype("string").str.strip().str.lower()
        known = (text.fillna("") != "").to_numpy()
        says = _has_any(text.fillna("").to_numpy(dtype=object), COUNTY_LEVEL_WORDS) & ~_has_any(
            text.fillna("").to_numpy(dtype=object), ("乡", "镇", "村", "街道")
        )
        level = np.where(known, says, level)
    return level


@dataclass
class CountyCheck:
    """Per-county C7, C8 and T7 findings, and the per-county table."""

    findings: list[Finding]
    table: gpd.GeoDataFrame
    notes: list[str] = field(default_factory=list)


def _count_finding(rule_id: str, rules: RuleSet, county: str, count: int, names: list[str], what_en: str, what_zh: str) -> Finding:
    required = float(rules.value(rule_id))
    passed = count >= required
    listed = f": {', '.join(names[:5])}" if names else ""
    en = (
        f"{rule_id} {'pass' if passed else 'fail'} for county '{county}': {count} county-level {what_en}{listed} "
        f"(asked ≥ {required:g}; county level from the level field, 县级 in the name or the county's name)"
    )
    zh = f"{rule_id} {'达标' if passed else '未达标'}：{county} 县级{what_zh} {count} 所（要求 ≥ {required:g}）"
    return Finding(rule_id, "county", county, PASS if passed else FAIL, float(count), required, max(required - count, 0.0), rules[rule_id].unit, en, zh)


def check_counties(
    counties: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    rules: RuleSet,
    *,
    study_area: np.ndarray,
    townships: gpd.GeoDataFrame | None = None,
    villages: gpd.GeoDataFrame | None = None,
) -> CountyCheck:
    """C7, C8 and T7 per county.

    Parameters
    ----------
    counties : GeoDataFrame
        ``county`` and polygons (EPSG:4326).
    facilities : GeoDataFrame
        Facilities in the common schema (EPSG:4326; ``name``, ``kind``, optional ``level``, ``tags``).
    rules : RuleSet
        C7, C8 (values: institutions per county) and T7 (tiers).
    study_area : ndarray of shapely geometries
        The street network's edges (EPSG:4326): counties they touch are assessed.
    townships : GeoDataFrame, optional
        Normalised townships (``township``) for T7's town tier.
    villages : GeoDataFrame, optional
        The R1 table (``village``, ``r1_status``, geometry in EPSG:4326) for T7's village tier.
    """
    notes = list(counties.attrs.get("notes", []))
    polygons = counties.to_crs(4326).geometry.to_numpy()
    tree = shapely.STRtree(polygons)
    touched = np.unique(tree.query(np.asarray(study_area, dtype=object), predicate="intersects")[1])
    keep = np.zeros(len(polygons), bool)
    keep[touched] = True
    if (~keep).any():
        notes.append(f"{int((~keep).sum())} counties lie outside the street network and are not assessed")
    if not keep.any():
        notes.append("no county overlaps the street network: C7, C8 and T7 per county not checked")
        return CountyCheck([], gpd.GeoDataFrame({"county": []}, geometry=[], crs=4326), notes)
    names = counties["county"].astype(str).to_numpy()[keep]
    polygons = polygons[keep]
    points = facilities.to_crs(4326).geometry.to_numpy()
    poly_idx, fac_idx = points_in_polygons(polygons, points)
    county_of = np.full(len(facilities), -1)
    county_of[fac_idx[::-1]] = poly_idx[::-1]
    kinds = facilities["kind"].astype(str).to_numpy()
    institution = ~np.isin(kinds, NON_INSTITUTION_KINDS)
    text = _text(facilities)
    county_name = np.where(county_of >= 0, names[np.maximum(county_of, 0)], "")
    county_level = _county_level(facilities, county_name) & (county_of >= 0)
    c7 = institution & county_level & _has_any(text, C7_WORDS)
    c8 = institution & county_level & _has_any(text, C8_WORDS) & _has_any(text, MEDICAL_CARE_WORDS)
    # county tier: a guidance/welfare centre by name, or a county-level institution (not a
    # township centre or a community station/day care that merely carries the county's name)
    institution_kind = np.isin(kinds, COUNTY_TIER_KINDS)
    tier_county = institution & (county_of >= 0) & (_has_any(text, COUNTY_TIER_WORDS) | (county_level & institution_kind))
    tier_town = (kinds == "township_centre") & (county_of >= 0)
    facility_names = facilities["name"].astype("string").fillna("(no name)").to_numpy(dtype=object)

    town_ok = np.array([tier_town[county_of == i].any() for i in range(len(names))])
    town_detail = ["a regional centre in the county"] * len(names)
    if townships is not None and len(townships):
        t_points = shapely.point_on_surface(townships.to_crs(4326).geometry.to_numpy())
        t_poly, t_idx = points_in_polygons(polygons, t_points)
        centre_in = np.zeros(len(townships), bool)
        c_poly, c_idx = points_in_polygons(townships.to_crs(4326).geometry.to_numpy(), points[tier_town])
        centre_in[c_poly] = True
        for i in range(len(names)):
            own = t_idx[t_poly == i]
            if len(own):
                town_ok[i] = bool(centre_in[own].all())
                town_detail[i] = f"{int(centre_in[own].sum())} of {len(own)} townships with a regional centre"
    village_state = [None] * len(names)
    if villages is not None and len(villages):
        v_points = villages.to_crs(4326).geometry.representative_point().to_numpy()
        v_poly, v_idx = points_in_polygons(polygons, v_points)
        status = villages["r1_status"].to_numpy()
        for i in range(len(names)):
            own = status[v_idx[v_poly == i]]
            if len(own) == 0 or (own == NOT_ASSESSABLE).any():
                continue
            village_state[i] = (int((own == PASS).sum()), len(own))

    findings: list[Finding] = []
    rows = []
    for i, county in enumerate(names):
        mine = county_of == i
        c7_names = facility_names[mine & c7].tolist()
        c8_names = facility_names[mine & c8].tolist()
        findings.append(_count_finding("C7", rules, county, len(c7_names), c7_names, "institutions for poor, disabled and frail elderly", "特困/失能/残疾老年人养老机构"))
        if "C8" in rules:
            findings.append(_count_finding("C8", rules, county, len(c8_names), c8_names, "特困 institutions with combined medical care (医养结合)", "医养结合特困人员供养服务机构"))
        county_tier = bool((mine & tier_county).any())
        vstate = village_state[i]
        if "T7" in rules:
            tiers_known = vstate is not None
            village_ok = tiers_known and vstate[0] == vstate[1]
            done = int(county_tier) + int(town_ok[i]) + int(village_ok)
            required = float(rules.value("T7"))
            village_text = f"{vstate[0]} of {vstate[1]} villages pass R1" if tiers_known else "no village layer (or no village point) to check the village tier"
            detail = (
                f"county guidance centre {'yes' if county_tier else 'no'}; {town_detail[i]} ({'complete' if town_ok[i] else 'incomplete'}); "
                f"{village_text}"
            )
            if not tiers_known:
                status = NOT_ASSESSABLE
                en = f"T7 not assessable for county '{county}': {detail}"
                measured = None
            else:
                status = PASS if done >= required else FAIL
                en = f"T7 {'pass' if status == PASS else 'fail'} for county '{county}': {done} of 3 tiers complete ({detail})"
                measured = float(done)
            zh = (
                f"T7 {'达标' if status == PASS else ('未达标' if status == FAIL else '无法评估')}：{county} 县级指导中心"
                f"{'有' if county_tier else '无'}，乡镇区域中心{'齐全' if town_ok[i] else '不全'}，"
                + (f"{vstate[0]}/{vstate[1]} 个村有养老大院/互助站点" if tiers_known else "未提供村庄图层")
            )
            shortfall = None if measured is None else max(required - measured, 0.0)
            findings.append(Finding("T7", "county", county, status, measured, required, shortfall, rules["T7"].unit, en, zh))
        rows.append(
            {
                "county": county,
                "facilities": int(mine.sum()),
                "c7_institutions": len(c7_names),
                "c8_institutions": len(c8_names),
                "county_tier": county_tier,
                "town_tier": bool(town_ok[i]),
                "villages_passing_r1": vstate[0] if vstate else np.nan,
                "villages": vstate[1] if vstate else np.nan,
                "c7_names": "; ".join(c7_names),
                "c8_names": "; ".join(c8_names),
            }
        )
    unknown = int((institution & (county_of >= 0) & ~county_level & _has_any(text, C7_WORDS)).sum())
    if unknown:
        notes.append(
            f"{unknown} 特困/失能 institutions are not counted for C7/C8: their level is unknown (give a level/级别 column, "
            "or 县级 or the county's name in their name)"
        )
    table = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=polygons, crs=4326)
    return CountyCheck(findings, table, notes)
