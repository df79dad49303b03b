"""Elderly-service facilities from files or OpenStreetMap tags, in one schema.

Schema (EPSG:4326 points): ``facility_id``, ``name``, ``kind`` (one of :data:`FACILITY_KINDS`),
``beds`` (count), ``building_area_m2``, ``land_area_m2`` (m²), ``demo`` (True for made-up demo
sites), and, when the source has them, ``nursing_beds`` (护理型床位), ``dementia_beds`` (失智床位)
(counts) and ``ownership`` (``public`` 公办 / ``private`` 民办). Every column but the geometry may be
empty (NaN), never silently zero. Health facilities (kind ``health_centre``) are read too: they are
the C6 layer, and :func:`split_health` keeps them out of the elderly-service counts. ``opening_year`` (calendar year it opens, from
``opening_year``/``投用年份``/``建成年份``; NaN: existing).
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.columns import (
    BEDS_ALIASES,
    DEMENTIA_BEDS_ALIASES,
    NURSING_BEDS_ALIASES,
    OPENING_YEAR_ALIASES,
    OWNERSHIP_ALIASES,
    find_column,
    parse_years,
)
from layers.database import is_database_uri, read_database_layer
from layers.errors import (
    CoordinateError,
    EmptyLayerError,
    FieldError,
    GeometryError,
    InputError,
    UnsupportedFileError,
)
from layers.projection import WGS84, check_lonlat_range, require_crs, to_wgs84
from layers.vector import VECTOR_SUFFIXES, refuse_layer_choice, resolve_layer

FACILITY_KINDS: tuple[str, ...] = (
    "township_centre",  # 街道/乡镇综合(区域)养老服务中心 (T1, T2, T3, T6)
    "community_station",  # 社区养老服务站 (T2, T3)
    "day_care_station",  # 社区日间照料服务站: a community station (T2, T3) AND day care (T4, T5)
    "day_care",  # 日间照料中心 (T4, T5)
    "nursing_home",  # 养老机构: 养老院, 敬老院, 福利院, 护理院, 失智照护/医养结合机构 (C2, C7)
    "village_point",  # 农村养老大院, 互助站/互助养老站点, 幸福院 (R1, T7)
    "meal_point",  # 老年食堂, 助餐点, 敬老餐厅 (M1)
    "health_centre",  # 卫生服务中心, 卫生院, hospitals, clinics: the C6 health layer, not an elderly service
    "other",  # an elderly-service place whose kind the name or kind text does not tell
)

#: Kinds that are health facilities (C6), never elderly-service facilities (W1, T1-T6, sites).
HEALTH_KINDS: tuple[str, ...] = ("health_centre",)

#: Words that mark a name as an elderly-care facility (issue 2; 养老, 敬老, 老年, ...).
ELDERLY_NAME_WORDS: tuple[str, ...] = (
    "养老", "敬老", "老年", "日间照料", "福利院", "颐养", "长者", "托老", "幸福院", "助餐", "互助养老", "养老大院",
)

#: Keyword → kind, tried in order on the kind text or, when there is none, on the name. The first
#: keyword found wins, so the more specific words come first.
KIND_KEYWORDS: tuple[tuple[str, str], ...] = (
    # rural village points (R1) and meal points (M1) before the generic 养老/敬老 words
    ("village", "village_point"),
    ("养老大院", "village_point"),
    ("互助站", "village_point"),
    ("互助养老", "village_point"),
    ("幸福院", "village_point"),
    ("互助点", "village_point"),
    ("meal", "meal_point"),
    ("canteen", "meal_point"),
    ("老年食堂", "meal_point"),
    ("长者食堂", "meal_point"),
    ("助餐", "meal_point"),
    ("敬老餐厅", "meal_point"),
    # a community day-care *station* is both a station (T2/T3) and day care (T4/T5)
    ("day care station", "day_care_station"),
    ("day_care station", "day_care_station"),  # "day-care station" after the hyphen is replaced
    ("日间照料服务站", "day_care_station"),
    ("日间照料站", "day_care_station"),
    ("日间照料服务点", "day_care_station"),
    # institutions with care beds, including dementia care and combined medical care (not T1 centres)
    ("医养结合", "nursing_home"),
    ("失智", "nursing_home"),
    ("认知症", "nursing_home"),
    ("供养", "nursing_home"),  # 特困人员供养服务设施/机构 (敬老院)
    # a 护理站 is a licensed medical nursing station (home nursing), not a care home
    ("护理站", "health_centre"),
    # residential care: "社区长者照护之家" is a care home, not a community station
    ("nursing", "nursing_home"),
    ("养老院", "nursing_home"),
    ("敬老院", "nursing_home"),
    ("福利院", "nursing_home"),
    ("福利中心", "nursing_home"),
    ("养护院", "nursing_home"),
    ("护理院", "nursing_home"),
    ("照护之家", "nursing_home"),
    ("长者照护", "nursing_home"),
    ("老年公寓", "nursing_home"),
    ("护理", "nursing_home"),
    ("颐养", "nursing_home"),
    ("day", "day_care"),
    ("日间照料", "day_care"),
    ("日照", "day_care"),
    ("托老", "day_care"),
    ("health", "health_centre"),
    ("clinic", "health_centre"),
    ("hospital", "health_centre"),
    ("doctors", "health_centre"),
    ("卫生", "health_centre"),
    ("医院", "health_centre"),
    ("门诊", "health_centre"),
    ("诊所", "health_centre"),
    # centres that are not township comprehensive centres (T1): activity and guidance centres
    ("活动中心", "other"),
    ("活动室", "other"),
    ("指导中心", "other"),
    ("township", "township_centre"),
    ("综合", "township_centre"),
    ("区域养老", "township_centre"),
    ("街道", "township_centre"),
    ("乡镇", "township_centre"),
    ("station", "community_station"),
    ("community", "community_station"),
    ("服务站", "community_station"),
    ("服务点", "community_station"),
    ("社区", "community_station"),
    ("centre", "township_centre"),
    ("center", "township_centre"),
    ("养老服务中心", "township_centre"),
    ("养老中心", "township_centre"),
)

#: Accepted column names (lower case) for each schema field; the first present wins.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "lon": ("lon", "lng", "long", "longitude", "x", "经度", "wgs84_lng", "gcj_lng"),
    "lat": ("lat", "latitude", "y", "纬度", "wgs84_lat", "gcj_lat"),
    "facility_id": ("facility_id", "id", "fid", "编号", "code"),
    "name": ("name", "名称", "机构名称", "设施名称", "title"),
    "kind": ("kind", "type", "category", "类型", "机构类型", "设施类型"),
    "beds": BEDS_ALIASES,
    "nursing_beds": NURSING_BEDS_ALIASES,
    "dementia_beds": DEMENTIA_BEDS_ALIASES,
    "ownership": OWNERSHIP_ALIASES,
    "building_area_m2": ("building_area_m2", "building_area", "建筑面积", "floor_area_m2"),
    "land_area_m2": ("land_area_m2", "land_area", "用地面积", "占地面积"),
}

NUMERIC_FIELDS = ("beds", "building_area_m2", "land_area_m2")

#: Optional text columns kept when present (C7, C8, T7 in analysis/counties.py): the level
#: (县级/乡镇级/村级) and free-text tags (服务对象, 功能: 特困供养, 失能, 医养结合).
OPTIONAL_TEXT_ALIASES: dict[str, tuple[str, ...]] = {
    "level": ("level", "级别", "层级", "机构级别"),
    "tags": ("tags", "flags", "标签", "功能", "服务对象", "机构性质", "remarks", "备注"),
}
SCHEMA = ["facility_id", "name", "kind", "beds", "building_area_m2", "land_area_m2", "demo", "opening_year", "geometry"]

#: Capacity columns kept, under these names, when the source has them (C2, C2b, C3 read them).
OPTIONAL_NUMERIC_FIELDS = ("nursing_beds", "dementia_beds")

#: Ownership values (lower case, compared by prefix) → ``public``/``private`` (C2b). 公建民营 is a
#: publicly owned institution run by a private operator: it counts as public (公办), as it is
#: owned by the government.
OWNERSHIP_PREFIXES: tuple[tuple[str, str], ...] = (
    ("公", "public"),  # 公办, 公立, 公建公营, 公建民营
    ("国", "public"),  # 国有, 国办
    ("public", "public"),
    ("government", "public"),
    ("state", "public"),
    ("民", "private"),  # 民办, 民营
    ("私", "private"),
    ("社会", "private"),  # 社会办
    ("private", "private"),
)


def _find_column(columns: list[str], field: str) -> str | None:
    return find_column(columns, COLUMN_ALIASES[field])


def classify_kind(text: object) -> str:
    """Map a free-text kind or name (English or Chinese) to one of :data:`FACILITY_KINDS`."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return "other"
    value = str(text).strip().lower().replace("-", "_")
    if value in FACILITY_KINDS:
        return value
    for keyword, kind in KIND_KEYWORDS:
        if keyword in value:
            return kind
    return "other"


def _numeric(frame: pd.DataFrame, column: str, field: str, file: Path | None, layer: str | None) -> pd.Series:
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if bad.any():
        sample = raw[bad].astype(str).head(3).tolist()
        raise FieldError(f"non-numeric values {sample} in the {field} column", file=file, layer=layer, field=column)
    if (values < 0).any():
        raise FieldError(f"negative {field}", file=file, layer=layer, field=column)
    return values.astype(float)


def normalise_facilities(
    frame: gpd.GeoDataFrame, *, file: str | Path | None = None, layer: str | None = None
) -> gpd.GeoDataFrame:
    """Return facilities in the common schema (EPSG:4326 points), validating every field.

    Polygons (buildings, parcels) become a point inside them; their footprint area is not a
    building area and is not used for one.
    """
    file = Path(file) if file is not None else None
    layer_name = layer or "facilities"
    if len(frame) == 0:
        raise EmptyLayerError("the facility layer has no features", file=file, layer=layer_name)
    require_crs(frame, file=file, layer=layer_name)
    geometry = frame.geometry.to_numpy()
    missing = shapely.is_missing(geometry) | shapely.is_empty(geometry)
    if missing.all():
        raise GeometryError("every facility geometry is empty", file=file, layer=layer_name, field="geometry")
    if missing.any():
        rows = np.flatnonzero(missing)[:5].tolist()
        msg = f"{int(missing.sum())} facilities have empty geometry (rows {rows}); fix or remove them"
        raise GeometryError(msg, file=file, layer=layer_name, field="geometry")
    invalid = ~shapely.is_valid(geometry)
    if invalid.any():
        rows = np.flatnonzero(invalid)[:5].tolist()
        raise GeometryError(f"invalid geometries in rows {rows}", file=file, layer=layer_name, field="geometry")
    frame = to_wgs84(frame)
    points = frame.geometry.to_numpy()
    not_point = shapely.get_type_id(points) != 0
    if not_point.any():
        points = points.copy()
        points[not_point] = shapely.point_on_surface(points[not_point])
    coords = shapely.get_coordinates(points)
    check_lonlat_range(coords[:, 0], coords[:, 1], file=file, layer=layer_name)

    columns = [c for c in frame.columns if c != frame.geometry.name]
    out = pd.DataFrame(index=frame.index)
    id_col = _find_column(columns, "facility_id")
    out["facility_id"] = frame[id_col].astype(str) if id_col else [f"F{i + 1}" for i in range(len(frame))]
    name_col = _find_column(columns, "name")
    out["name"] = frame[name_col].astype("string") if name_col else pd.Series(pd.NA, index=frame.index, dtype="string")
    kind_col = _find_column(columns, "kind")
    kind_text = frame[kind_col] if kind_col else out["name"]
    out["kind"] = [classify_kind(v) for v in kind_text]  # one pass over facilities, not a hot path
    for field in NUMERIC_FIELDS:
        column = _find_column(columns, field)
        out[field] = _numeric(frame, column, field, file, layer_name) if column else np.nan
    out["demo"] = frame["demo"].astype(bool) if "demo" in frame.columns else False
    out["opening_year"] = _opening_years(frame, columns, file, layer_name)
    kept = list(SCHEMA)
    for field in OPTIONAL_NUMERIC_FIELDS:
        column = _find_column(columns, field)
        if column is not None:
            out[field] = _numeric(frame, column, field, file, layer_name)
            kept.insert(-1, field)
    ownership_col = _find_column(columns, "ownership")
    if ownership_col is not None:
        out["ownership"] = parse_ownership(frame[ownership_col], file=file, layer=layer_name, column=ownership_col)
        kept.insert(-1, "ownership")
    for field, aliases in OPTIONAL_TEXT_ALIASES.items():
        column = find_column(columns, aliases)
        if column is not None:
            out[field] = frame[column].astype("string")
            kept.insert(-1, field)
    if kind_col is not None and "tags" not in kept:
        kind_words = frame[kind_col].astype("string")
        if (kind_words.fillna("").str.strip().str.lower() != out["kind"]).any():
            out["tags"] = kind_words  # free-text kinds keep their own words (特困供养, 医养结合)
            kept.insert(-1, "tags")
    return gpd.GeoDataFrame(out, geometry=points, crs=WGS84)[kept].reset_index(drop=True)


def parse_ownership(raw: pd.Series, *, file: Path | None = None, layer: str | None = None, column: str = "ownership") -> pd.Series:
    """公办/民办 (public/private) text → ``"public"``, ``"private"`` or NA (blank: unknown).

    Raises
    ------
    FieldError
        A value that is neither public nor private (the message lists the words understood).
    """
    text = raw.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=raw.index, dtype="string")
    for prefix, value in OWNERSHIP_PREFIXES:
        hit = out.isna() & text.fillna("").str.startswith(prefix)
        out[hit.to_numpy()] = value
    unknown = out.isna() & text.notna() & (text.fillna("") != "")
    if unknown.any():
        sample = raw[unknown.to_numpy()].astype(str).head(3).tolist()
        msg = f"ownership values {sample} are neither public (公办/公建民营/public) nor private (民办/private)"
        raise FieldError(msg, file=file, layer=layer, field=column)
    return out


def split_health(facilities: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Split a facility layer into elderly-service facilities and health facilities (kind in :data:`HEALTH_KINDS`).

    W1, T1-T6 and site selection count only the first; the second is the C6 health layer.
    """
    health = facilities["kind"].isin(HEALTH_KINDS).to_numpy()
    return facilities.loc[~health].reset_index(drop=True), facilities.loc[health].reset_index(drop=True)


def _opening_years(frame: pd.DataFrame, columns: list[str], file: Path | None, layer: str) -> np.ndarray:
    """The year each facility opens (``opening_year``/``投用年份``/``建成年份``), NaN when not given.

    A facility without an opening year counts as existing in every year checked.
    """
    column = find_column(columns, OPENING_YEAR_ALIASES)
    if column is None:
        return np.full(len(frame), np.nan)
    years, bad = parse_years(frame[column].tolist())
    if bad:
        sample = frame[column].iloc[bad[:3]].astype(str).tolist()
        msg = f"values {sample} (rows {bad[:5]}) are not calendar years (e.g. 2026 or 2026年)"
        raise FieldError(msg, file=file, layer=layer, field=str(column))
    return np.asarray(years, dtype=float)


def _read_csv(path: Path) -> gpd.GeoDataFrame:
    frame = None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            frame = pd.read_csv(path, encoding=encoding)
            break
        except UnicodeDecodeError:
            continue
        except Exception as exc:
            raise InputError(f"cannot read the CSV file: {exc}", file=path) from exc
    if frame is None:
        raise InputError("the CSV file is neither UTF-8 nor GB18030 text", file=path)
    if len(frame) == 0:
        raise EmptyLayerError("the CSV file has no rows", file=path, layer="csv")
    lon_col = _find_column(list(frame.columns), "lon")
    lat_col = _find_column(list(frame.columns), "lat")
    if lon_col is None or lat_col is None:
        msg = (
            f"no coordinate columns: expected longitude/latitude columns such as lon/lat, lng/lat "
            f"or 经度/纬度; found {list(frame.columns)}"
        )
        raise FieldError(msg, file=path, layer="csv", field="lon/lat")
    lon = pd.to_numeric(frame[lon_col], errors="coerce")
    lat = pd.to_numeric(frame[lat_col], errors="coerce")
    bad = lon.isna() | lat.isna()
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())[:5].tolist()
        raise FieldError(f"missing or non-numeric coordinates in rows {rows}", file=path, layer="csv", field=f"{lon_col}/{lat_col}")
    check_lonlat_range(lon.to_numpy(), lat.to_numpy(), file=path, layer="csv")
    rest = frame.drop(columns=[lon_col, lat_col])
    return gpd.GeoDataFrame(rest, geometry=gpd.points_from_xy(lon, lat), crs=WGS84)


def _osm_name_mask(names: pd.Series) -> np.ndarray:
    pattern = "|".join(re.escape(w) for w in ELDERLY_NAME_WORDS)
    return names.fillna("").astype(str).str.contains(pattern, regex=True).to_numpy()


def facilities_from_osm_tags(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Select elderly-care and health facilities from OSM features (pyrosm or osmnx output).

    Elderly care: ``amenity=nursing_home``; ``amenity=social_facility`` with
    ``social_facility:for=senior``; any name containing one of :data:`ELDERLY_NAME_WORDS`.
    Health (for co-location, C6): ``amenity=clinic|doctors|hospital`` and ``healthcare=*``.
    """
    if features is None or len(features) == 0:
        return gpd.GeoDataFrame({"name": [], "kind": []}, geometry=[], crs=WGS84)

    def tag(column: str) -> pd.Series:
        if column in features.columns:
            return features[column].fillna("").astype(str).str.lower()
        # pyrosm keeps uncommon tags in a JSON-ish "tags" column
        if "tags" in features.columns:
            extracted = features["tags"].fillna("").astype(str).str.extract(rf'"{re.escape(column)}":\s*"([^"]*)"')[0]
            return extracted.fillna("").str.lower()
        return pd.Series("", index=features.index)

    amenity = tag("amenity")
    social_for = tag("social_facility:for")
    healthcare = tag("healthcare")
    names = features["name"] if "name" in features.columns else pd.Series("", index=features.index)
    elderly = (amenity == "nursing_home") | ((amenity == "social_facility") & social_for.str.contains("senior"))
    elderly |= _osm_name_mask(names)
    health = amenity.isin(["clinic", "doctors", "hospital"]) | (healthcare != "")
    keep = (elderly | health).to_numpy()
    selected = features.loc[keep]
    kinds = np.where(
        elderly.to_numpy()[keep],
        [classify_kind(n) if classify_kind(n) != "other" else "nursing_home" for n in names[keep]],
        "health_centre",
    )
    out = gpd.GeoDataFrame(
        {"name": names[keep].to_numpy(), "kind": kinds},
        geometry=selected.geometry.to_numpy(),
        crs=features.crs or WGS84,
    )
    for column, target in (("beds", "beds"), ("capacity", "beds")):
        values = tag(column)[keep]
        if (values != "").any() and "beds" not in out.columns:
            out[target] = pd.to_numeric(values.replace("", np.nan), errors="coerce").to_numpy()
    return out


def _read_osm(path: Path) -> gpd.GeoDataFrame:
    name = path.name.lower()
    try:
        if name.endswith(".pbf"):
            import pyrosm

            features = pyrosm.OSM(str(path), progress=False).get_pois(
                custom_filter={"amenity": True, "healthcare": True, "social_facility": True}
            )
        else:
            import osmnx as ox

            features = ox.features_from_xml(path, tags={"amenity": True, "healthcare": True, "name": True})
    except Exception as exc:
        raise InputError(f"cannot read OSM features: {exc}", file=path) from exc
    return facilities_from_osm_tags(features)


def read_facilities(
    path: str | Path,
    *,
    layer: str | None = None,
    source_crs: str | None = None,
    option: str = "--facilities-layer",
) -> gpd.GeoDataFrame:
    """Read a facility layer into the common schema.

    Parameters
    ----------
    path : str or Path
        GeoPackage, GeoJSON, (zipped) Shapefile, CSV with lon/lat columns (names such as
        ``lon``/``lat``, ``lng``, ``经度``/``纬度`` are detected), or an OSM ``.osm.pbf``/``.osm``
        file whose tags mark elderly-care places.
    layer : str, optional
        Layer inside a multi-layer file; a file with several layers and none chosen is an
        :class:`InputError` listing them.
    option : str
        The command-line flag choosing the layer, for the messages (``--health-layer`` for C6).
    source_crs : {"gcj02", "bd09"}, optional
        The coordinates come from a Chinese web map (Amap/Tencent: GCJ-02, Baidu: BD-09) and are
        converted to WGS84. The file's declared CRS must then be EPSG:4326 or absent.

    Returns
    -------
    GeoDataFrame
        Points in EPSG:4326 with the columns of :data:`SCHEMA`.
    """
    if is_database_uri(path):  # a PostGIS table (layers.database): same checks, named by table
        frame, path, layer = read_database_layer(path, layer, what="facility")
        name = ""
    else:
        path = Path(path)
        if not path.exists():
            raise InputError("the facility file does not exist", file=path)
        name = path.name.lower()
    if name and not name.endswith(VECTOR_SUFFIXES):
        refuse_layer_choice(path, layer, option=option)
    if not name:
        pass  # read from the database above
    elif name.endswith(".csv"):
        frame = _read_csv(path)
    elif name.endswith((".pbf", ".osm", ".xml")):
        frame = _read_osm(path)
        if len(frame) == 0:
            msg = "the OSM file has no elderly-care or health facilities (amenity=nursing_home, social_facility for seniors, names with 养老/敬老/...)"
            raise EmptyLayerError(msg, file=path, layer="osm", field="amenity")
    elif name.endswith(VECTOR_SUFFIXES):
        layer = resolve_layer(path, layer, what="facility", option=option)
        try:
            frame = gpd.read_file(path, layer=layer)
        except Exception as exc:
            raise InputError(f"cannot read the layer: {exc}", file=path, layer=layer) from exc
    else:
        msg = "unknown facility file type; use .gpkg, .geojson, .shp, a zipped Shapefile, .csv or OSM (.osm.pbf/.osm)"
        raise UnsupportedFileError(msg, file=path)
    if source_crs is not None and source_crs.strip().lower() not in ("wgs84", "epsg:4326", "4326"):
        from layers.chinese_crs import convert_to_wgs84

        if frame.crs is None:
            frame = frame.set_crs(WGS84)
        frame = convert_to_wgs84(frame, source_crs, file=path, layer=layer)
    return normalise_facilities(frame, file=path, layer=layer)


def check_points_near_extent(
    points: gpd.GeoDataFrame,
    bounds: tuple[float, float, float, float],
    *,
    file: str | Path | None = None,
    layer: str | None = None,
    margin_deg: float = 0.05,
) -> None:
    """Raise :class:`CoordinateError` when no point lies near the network's extent (lon/lat bounds).

    Says when swapping x and y would put the points inside: the usual lon/lat mix-up.
    """
    coords = shapely.get_coordinates(to_wgs84(points).geometry.to_numpy())
    if coords.size == 0:
        return
    x0, y0, x1, y1 = bounds
    inside = (coords[:, 0] >= x0 - margin_deg) & (coords[:, 0] <= x1 + margin_deg)
    inside &= (coords[:, 1] >= y0 - margin_deg) & (coords[:, 1] <= y1 + margin_deg)
    if inside.any():
        return
    swapped = (coords[:, 1] >= x0 - margin_deg) & (coords[:, 1] <= x1 + margin_deg)
    swapped &= (coords[:, 0] >= y0 - margin_deg) & (coords[:, 0] <= y1 + margin_deg)
    box = f"{x0:.4f},{y0:.4f} - {x1:.4f},{y1:.4f}"
    if swapped.any():
        msg = f"no point lies within the street network's extent ({box}); longitude and latitude look swapped"
    else:
        msg = (
            f"no point lies within the street network's extent ({box}): the layer covers another area "
            "or uses another coordinate system (GCJ-02/BD-09 need the --*-crs option)"
        )
    raise CoordinateError(msg, file=file, layer=layer, field="geometry")
