"""O1 老旧小区补建: the retrofit shortfall of old districts and the nearest sites that could host it.

Old districts (老旧小区, see :mod:`analysis.district_age`) are not failed against the new-district
quota Q2: the seeds ask that they get facilities by new building, purchase, exchange or lease. The
standard measure (rule O1, *standard*: 20 m² of building per 100 households) gives the floor area
each old district lacks:

    required (m²) = households ÷ 100 × O1 value;  shortfall = required − building area of the
    elderly-service facilities inside the district (as Q2 counts it).

For every old district short of it, the nearest candidate sites (:mod:`analysis.candidates`: a
``--candidates`` file, or vacant and redevelopable OSM land of the network's extract) large enough
to host max(shortfall, Q3 single-site minimum) or of unknown size are listed. Distance is walked on
the street network (W4 snapping) from a point inside the district to the site when both are on it
and the walk is within ``O1.search_m``; otherwise it is the straight line from the district's
boundary, and each listed site says which (``distance_method``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis.district_age import OLD
from analysis.districts import DistrictCheck
from analysis.message_format import fmt_number
from analysis.quota_verdicts import meets, per_count
from analysis.rules import RuleSet
from analysis.verdicts import FAIL, NOT_ASSESSABLE, PASS, Finding
from coverage.circles import CoverageResult, unit_points
from coverage.matrix import walking_distance_matrix
from coverage.snapping import snap_points

WALK, STRAIGHT = "walk", "straight line"

#: Columns of the candidate list of O1.
CANDIDATE_LIST_COLUMNS: tuple[str, ...] = (
    "district", "rank", "candidate_id", "name", "source", "land_area_m2", "building_area_m2",
    "distance_m", "distance_method",
)


@dataclass
class RetrofitCheck:
    """O1 for every old district.

    Attributes
    ----------
    table : DataFrame
        One row per old district: ``district``, ``households``, ``o1_required_m2``,
        ``o1_provided_m2``, ``o1_shortfall_m2`` (m²; NaN when not assessable), ``o1_status``,
        ``nearest_sites`` (text list with distances and how they were measured).
    candidates : DataFrame
        The listed sites, one row per district and rank (:data:`CANDIDATE_LIST_COLUMNS`).
    findings : list of Finding
        O1 per old district.
    notes : list of str
    """

    table: pd.DataFrame
    candidates: pd.DataFrame
    findings: list[Finding]
    notes: list[str] = field(default_factory=list)


def _o1_finding(name: str, households: float, required: float, provided: float, value: float) -> Finding:
    if not np.isfinite(households):
        en = f"O1 not assessable for old district '{name}': its households are unknown"
        zh = f"O1 无法评估：老旧小区“{name}”缺少户数"
        return Finding("O1", "district", name, NOT_ASSESSABLE, None, None, None, "m2", en, zh)
    if not np.isfinite(provided):
        en = (f"O1 not assessable for old district '{name}': some of its facilities have no building_area_m2 "
              f"and the others fall short of the {fmt_number(required)} m² the retrofit standard asks")
        zh = f"O1 无法评估：老旧小区“{name}”部分设施缺少建筑面积"
        return Finding("O1", "district", name, NOT_ASSESSABLE, None, required, None, "m2", en, zh)
    formula = f"{fmt_number(households)} households × {fmt_number(value)} m²/100 households"
    if meets(provided, required):
        en = f"O1 pass for old district '{name}': {fmt_number(provided)} m² ≥ {fmt_number(required)} m² ({formula})"
        zh = f"O1 达标：老旧小区“{name}”养老服务用房 {fmt_number(provided)} m² ≥ {fmt_number(required)} m²"
        return Finding("O1", "district", name, PASS, provided, required, 0.0, "m2", en, zh)
    short = required - provided
    en = (f"O1 fail for old district '{name}': {fmt_number(provided)} m² of elderly-service building area, the "
          f"retrofit standard asks {fmt_number(required)} m² ({formula}); 补建 {fmt_number(short)} m²")
    zh = (f"O1 未达标：老旧小区“{name}”养老服务用房 {fmt_number(provided)} m²，按 {fmt_number(households)} 户应不少于 "
          f"{fmt_number(required)} m²，需补建 {fmt_number(short)} m²")
    return Finding("O1", "district", name, FAIL, provided, required, short, "m2", en, zh)


def _distances(
    districts: gpd.GeoDataFrame, candidates: gpd.GeoDataFrame, coverage: CoverageResult | None, search_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Metres district × candidate, and whether each was walked (True) or straight (False)."""
    crs = coverage.graph.crs if coverage is not None else districts.estimate_utm_crs()
    polys = districts.to_crs(crs).geometry.to_numpy()
    sites = candidates.to_crs(crs).geometry.to_numpy()
    straight = shapely.distance(polys[:, None], sites[None, :])
    walked = np.zeros(straight.shape, dtype=bool)
    if coverage is None or not len(sites):
        return straight, walked
    max_snap = coverage._max_snap_m
    origin = snap_points(coverage.graph, shapely.point_on_surface(polys), max_snap)
    target = snap_points(coverage.graph, unit_points(gpd.GeoSeries(sites, crs=crs)), max_snap)
    walk = walking_distance_matrix(coverage.graph, origin, target, search_m).toarray()
    hit = walk > 0
    out = np.where(hit, walk, straight)
    return out, hit


def check_retrofit(
    check: DistrictCheck,
    rules: RuleSet,
    *,
    candidates: gpd.GeoDataFrame | None = None,
    coverage: CoverageResult | None = None,
) -> RetrofitCheck:
    """O1 for the old districts of a district check, with the nearest candidate sites of each.

    Parameters
    ----------
    check : DistrictCheck
        With ``age_class`` in its table (:func:`analysis.district_age.apply_ages`).
    rules : RuleSet
        O1 (m² per 100 households; ``search_m`` walking search in metres, ``sites_listed``),
        Q3 (single-site minimum, m²).
    candidates : GeoDataFrame, optional
        Candidate schema of :mod:`analysis.candidates`; none: no sites are listed (said in the notes).
    coverage : CoverageResult, optional
        Its graph walks to the sites; without it every distance is a straight line.
    """
    o1 = rules["O1"]
    value = float(o1.value)
    per = per_count(o1, "household", file=rules.path)
    search_m = float(o1.extra.get("search_m", 2000))
    listed = int(o1.extra.get("sites_listed", 3))
    q3_min = float(rules.value("Q3")) if "Q3" in rules else 0.0
    table = check.table
    old = (table["age_class"] == OLD).to_numpy() if "age_class" in table.columns else np.zeros(len(table), dtype=bool)
    rows = table.loc[old].reset_index(drop=True)
    households = rows["households"].to_numpy(dtype=float)
    required = households / per * value
    provided = rows["q2_provided_m2"].to_numpy(dtype=float)
    findings = [
        _o1_finding(str(n), h, r, p, value)
        for n, h, r, p in zip(rows["district"], households, required, provided, strict=True)
    ]
    short = np.array([f.shortfall if f.shortfall is not None else np.nan for f in findings], dtype=float)
    out = pd.DataFrame(
        {
            "district": rows["district"].to_numpy(),
            "completion_year": rows["completion_year"].to_numpy(dtype=float) if "completion_year" in rows else np.nan,
            "households": households,
            "o1_required_m2": np.where(np.isfinite(households), required, np.nan),
            "o1_provided_m2": provided,
            "o1_shortfall_m2": short,
            "o1_status": [f.status for f in findings],
            "nearest_sites": "",
        }
    )
    notes: list[str] = []
    listing = pd.DataFrame(columns=list(CANDIDATE_LIST_COLUMNS))
    needy = np.flatnonzero(short > 0)
    if needy.size and (candidates is None or len(candidates) == 0):
        notes.append(f"O1: {needy.size} old districts need retrofit space but there are no candidate sites "
                     "(give --candidates, or a network .osm.pbf with vacant/brownfield land)")
    elif needy.size:
        polys = gpd.GeoDataFrame(geometry=rows.geometry.to_numpy()[needy], crs=table.crs)
        dist, walked = _distances(polys, candidates, coverage, search_m)
        size = candidates["building_area_m2"].where(candidates["building_area_m2"].notna(), candidates["land_area_m2"]).to_numpy(dtype=float)
        records = []
        for k, i in enumerate(needy):  # one pass per old district short of space, not a hot path
            need = max(short[i], q3_min)
            fits = ~(size < need)  # unknown size kept
            # walked sites first (by metres walked), then the rest by straight-line metres
            order = np.lexsort((dist[k], ~walked[k]))
            order = [j for j in order if fits[j]][:listed]
            text = []
            for rank, j in enumerate(order, start=1):
                method = WALK if walked[k, j] else STRAIGHT
                row = candidates.iloc[j]
                records.append({
                    "district": out.at[i, "district"], "rank": rank, "candidate_id": row["candidate_id"],
                    "name": row["name"], "source": row["source"], "land_area_m2": row["land_area_m2"],
                    "building_area_m2": row["building_area_m2"], "distance_m": float(dist[k, j]), "distance_method": method,
                })
                area = f"{fmt_number(size[j])} m²" if np.isfinite(size[j]) else "size unknown"
                text.append(f"{row['candidate_id']} ({area}, {fmt_number(round(dist[k, j]))} m {method})")
            out.at[i, "nearest_sites"] = "; ".join(text) if text else f"no candidate site of ≥ {fmt_number(need)} m²"
        if records:
            listing = pd.DataFrame(records, columns=list(CANDIDATE_LIST_COLUMNS))
        notes.append(
            f"O1: nearest candidate sites walked on the street network within {fmt_number(search_m)} m (O1.search_m), "
            "else measured as a straight line from the district boundary; each listed site says which"
        )
    return RetrofitCheck(out, listing, findings, notes)
