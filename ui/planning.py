"""The planning checks and site selection of ``analysis/``, called the way the page needs them.

Nothing here computes a verdict or a site itself; it only calls ``analysis.run_checks`` and
``analysis.propose_sites`` on the page's cached result (what-if sites included) and shapes their
answers into tables.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
import shapely.geometry

from layers.errors import InputError
from layers.projection import WGS84
from ui.i18n import Translator
from ui.state import DataChoice
from ui.uploads import SavedUpload

#: Site-selection models offered on the page: id of ``python -m coverage sites --model`` → label.
SITE_MODELS: dict[str, str] = {
    "mclp": "MCLP: p sites covering the most elderly people",
    "lscp": "LSCP: fewest sites covering everyone reachable",
    "pmedian": "p-median: least total walking time",
}
#: Finding statuses of ``analysis.verdicts`` (the ids are translated for display).
STATUSES: tuple[str, ...] = ("pass", "fail", "not_assessable")


# ----- planning checks -------------------------------------------------------------------------
def run_planning_checks(
    result: Any,
    rule_set: str,
    speed: float | str,
    *,
    districts: SavedUpload | None = None,
    townships: SavedUpload | None = None,
    villages: SavedUpload | None = None,
    year: int | None = None,
):
    """Every planning check on the page's current result (what-if sites included) with ``rule_set``.

    ``result`` is the cached walk the map shows (it carries its loaded layers): no network,
    facility or population file is read again, and the walk is reused when the set's W1 minutes
    and the page's speed match it. ``districts`` / ``townships`` are uploaded boundary layers;
    without them ``run_checks`` uses its defaults (OSM residential areas, OSM or DEMO townships)
    and says so in its notes. ``villages`` is an uploaded village layer (R1; T7 when the
    townships carry a county field). ``year`` checks as of that year; None is "now".
    """
    from analysis.checks import run_checks

    return run_checks(
        result,
        rules=rule_set,
        speed=speed,
        year=year,
        districts=districts.path if districts is not None else None,
        townships=townships.path if townships is not None else None,
        villages=villages.path if villages is not None else None,
    )


def target_years(rules: Any) -> list[int]:
    """The target years of a rule set (for the year select box)."""
    from analysis.target_years import rule_target_years

    return rule_target_years(rules)


def year_sections(run: Any) -> list[tuple[str, pd.DataFrame]]:
    """The run's target-year, new/old district and O1 tables (titles in Chinese and English)."""
    years = getattr(run, "years", None)
    return years.sections() if years is not None else []


def report_files(run: Any) -> dict[str, bytes]:
    """The HTML report and the Excel workbook of a checking run, as bytes (``html``, ``excel``)."""
    from analysis.report import write_report

    with tempfile.TemporaryDirectory(prefix="elderly-circles-report-") as folder:
        paths = write_report(run.report_content(), Path(folder) / "report")
        return {kind: Path(paths[kind]).read_bytes() for kind in ("html", "excel")}


# ----- one proposed district (Q1-Q5, W1) ---------------------------------------------------------
def district_polygon_from_file(path: str | Path, name: str | None = None) -> shapely.Polygon | shapely.MultiPolygon:
    """The polygon(s) of an uploaded boundary file as one (multi)polygon in EPSG:4326.

    Raises
    ------
    InputError
        Unreadable file, no CRS, no or non-polygon features, invalid polygons.
    """
    from analysis.polygon_layers import normalise_polygon_layer, read_vector_layer

    frame, file, layer = read_vector_layer(path, layer=None, what="district")
    shown = name or file.name
    try:
        frame = normalise_polygon_layer(frame, file=shown, layer=layer, what="district")
    except InputError:
        raise
    except Exception as exc:  # a reader quirk must still say which file
        raise InputError(f"cannot be read as a district polygon ({exc})", file=shown) from None
    return _one_polygon(shapely.union_all(frame.geometry.to_numpy()), shown)


def district_polygon_from_drawing(drawing: dict | None) -> shapely.Polygon | shapely.MultiPolygon | None:
    """The polygon of a map drawing (a GeoJSON Feature or geometry, lon/lat), or ``None``."""
    if not drawing:
        return None
    geometry = drawing.get("geometry", drawing) if isinstance(drawing, dict) else None
    if isinstance(geometry, dict) and geometry.get("type") in ("Point", "MultiPoint"):
        return None  # a click on a map feature, not a drawn district
    try:
        shape = shapely.geometry.shape(geometry)
    except Exception as exc:
        raise InputError(f"the drawn shape is not a polygon ({exc})") from None
    return _one_polygon(shape, "the drawing")


def _one_polygon(shape, label: str) -> shapely.Polygon | shapely.MultiPolygon:
    if shape is None or shape.is_empty or shape.geom_type not in ("Polygon", "MultiPolygon"):
        kind = "nothing" if shape is None or shape.is_empty else shape.geom_type
        raise InputError(f"{label} holds {kind}, not a district polygon")
    if not shape.is_valid:
        raise InputError(f"{label}: the polygon is invalid ({shapely.is_valid_reason(shape)}); fix its boundary")
    x0, y0, x1, y1 = shape.bounds
    if x0 < -180 or x1 > 180 or y0 < -90 or y1 > 90:
        raise InputError(f"{label}: the coordinates are not longitude/latitude degrees")
    return shape


def check_district(
    polygon: shapely.Polygon | shapely.MultiPolygon,
    *,
    result: Any,
    rules: Any,
    households: float | None = None,
    residents: float | None = None,
    name: str = "proposed district",
):
    """Q1-Q5 and W1 of one proposed district: the current facilities (EPSG:4326) and coverage."""
    from analysis.districts import check_proposed_district

    if households is None and residents is None:
        raise InputError("give the planned households or residents of the district")
    # the planned figures win over any estimate: households become residents with the rule set's
    # persons per household (Q2), never the residents of today's buildings inside the polygon
    persons_per_household = rules["Q2"].extra.get("persons_per_household") if "Q2" in rules else None
    return check_proposed_district(
        polygon,
        households=households,
        residents=residents,
        facilities=result.facilities.to_crs(WGS84),
        rules=rules,
        coverage=result,
        name=name or "proposed district",
        persons_per_household=persons_per_household,
    )


def district_figures_used(check: Any) -> dict[str, Any]:
    """The residents and households a district check used (persons, households) and where each came from.

    ``residents_source``/``households_source`` are ``"field"`` for the planned figures typed in,
    else how they were derived (households × persons per household, the population layer).
    """
    row = check.table.iloc[0]
    return {
        "residents": float(row["residents"]),
        "residents_source": str(row.get("residents_source", "")),
        "households": float(row["households"]),
        "households_source": str(row.get("households_source", "")),
    }


def district_findings_table(check: Any, t: Translator) -> pd.DataFrame:
    """Rule, status and message (in the page's language) of a proposed district's findings."""
    rows = []
    for finding in check.findings:
        message = finding.message_zh if t.lang == "zh" and finding.message_zh else finding.message
        rows.append(
            {
                "rule_id": finding.rule_id,
                "status": t(str(finding.status)),
                "measured": finding.measured,
                "required": finding.required,
                "shortfall": finding.shortfall,
                "unit": finding.unit,
                "message": message,
            }
        )
    return pd.DataFrame(rows, columns=["rule_id", "status", "measured", "required", "shortfall", "unit", "message"])


def district_numbers(check: Any) -> pd.DataFrame:
    """Required, provided and shortfall of Q1 (land) and Q2 (building) for the district, m²."""
    row = check.table.iloc[0]
    return pd.DataFrame(
        [
            {
                "rule_id": rule,
                "required": row[f"{prefix}_required_m2"],
                "provided": row[f"{prefix}_provided_m2"],
                "shortfall": row[f"{prefix}_shortfall_m2"],
                "unit": "m²",
            }
            for rule, prefix in (("Q1", "q1"), ("Q2", "q2"))
        ]
    )


def findings_table(run: Any, t: Translator) -> pd.DataFrame:
    """One row per finding, the message in the page's language, statuses translated."""
    from analysis.verdicts import findings_frame

    frame = findings_frame(run.findings)
    message = frame["message_zh"].where(frame["message_zh"].astype(bool), frame["message"]) if t.lang == "zh" else frame["message"]
    table = pd.DataFrame(
        {
            "rule_id": frame["rule_id"],
            "subject_kind": [t(str(k)) for k in frame["subject_kind"]],
            "subject": frame["subject"],
            "status": [t(str(s)) for s in frame["status"]],
            "measured": frame["measured"],
            "required": frame["required"],
            "shortfall": frame["shortfall"],
            "unit": frame["unit"],
            "message": message,
        }
    )
    return table


def rule_summary(run: Any) -> pd.DataFrame:
    """Counts per rule: subjects assessed, passed, failed, not assessable."""
    from analysis.verdicts import summarise

    counts = summarise(run.findings)
    rows = [{"rule_id": rule, **numbers} for rule, numbers in sorted(counts.items())]
    return pd.DataFrame(rows, columns=["rule_id", "assessed", "passed", "failed", "not_assessable"])


# ----- site selection --------------------------------------------------------------------------
def run_site_selection(
    result: Any,
    *,
    model: str,
    p: int,
    rule_set: str,
    target: float | None = None,
) -> tuple[dict, gpd.GeoDataFrame]:
    """Propose new sites (MCLP, LSCP or p-median) on the page's current result; the summary and the sites.

    The walk (minutes, speed), the layers and the what-if sites are the result's; nothing is
    read again. With ``target`` (share 0-1, MCLP only) the number of sites is the fewest that
    reach it.
    """
    from analysis.site_proposals import propose_sites

    if model not in SITE_MODELS:
        raise ValueError(f"unknown site-selection model {model!r}; use one of {', '.join(SITE_MODELS)}")
    if target is not None and model != "mclp":
        raise ValueError("a target coverage applies to the MCLP model only")
    proposal = propose_sites(
        result, model=model, p=None if target is not None else int(p), target_coverage=target, rules=rule_set
    )
    return proposal.summary, proposal.sites


def proposed_sites_table(sites: gpd.GeoDataFrame) -> pd.DataFrame:
    """Rank, name, source, elderly added, lon/lat of the proposed sites (a point inside parcels)."""
    points = sites.to_crs(WGS84).geometry.representative_point()
    table = pd.DataFrame(sites.drop(columns="geometry"))
    keep = [c for c in ("rank", "candidate_id", "name", "source", "added_elderly", "covered_share") if c in table.columns]
    table = table[keep].copy()
    table["lon"] = shapely.get_x(points.to_numpy()).round(6)
    table["lat"] = shapely.get_y(points.to_numpy()).round(6)
    return table.sort_values("rank") if "rank" in table.columns else table


def whatif_townships(choice: DataChoice, uploaded: SavedUpload | None) -> gpd.GeoDataFrame | None:
    """Townships for the per-township what-if table: an uploaded layer, the DEMO ones of the
    embedded data chosen, else ``None``."""
    from analysis.townships import read_townships
    from layers.embedded import embedded_data

    if uploaded is not None:
        return read_townships(uploaded.path)
    if choice.is_default:
        return read_townships(embedded_data(choice.embedded).townships)
    return None


def township_whatif_table(base: Any, current: Any, townships: gpd.GeoDataFrame) -> pd.DataFrame:
    """Elderly within the walk per township, without and with the what-if changes (shares 0-100 %)."""
    from analysis.township_share import elderly_coverage_by_township

    before = elderly_coverage_by_township(base, townships)
    after = elderly_coverage_by_township(current, townships)
    return pd.DataFrame(
        {
            "township": before["township"],
            "elderly_population": before["elderly_population"].round(0),
            "covered before (%)": (100 * before["covered_share"]).round(1),
            "covered now (%)": (100 * after["covered_share"]).round(1),
        }
    )
