"""Elderly-service facilities from files or OpenStreetMap tags, in one schema.

Schema (EPSG:4326 points): ``facility_id``, ``name``, ``kind`` (one of :data:`FACILITY_KINDS`),
``beds`` (count), ``building_area_m2``, ``land_area_m2`` (m²), ``demo`` (True for made-up demo
sites), ``opening_year`` (calendar year it opens, from ``opening_year``/``投用年份``/``建成年份``). Every column but the geometry may be empty (NaN), never silently zero.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.columns import OPENING_YEAR_ALIASES, find_column, parse_years
from layers.errors import (
    CoordinateError,
    EmptyLayerError,
    FieldError,
    GeometryError,
    InputError,
    UnsupportedFileError,
)
from layers.projection import WGS84, check_lonlat_range, require_crs, to_wgs84

FACILITY_KINDS: tuple[str, ...] = (
    "township_centre",  # 街道/乡镇综合养老服务中心 (T1-T3)
    "community_station",  # 社区养老服务站 (T3)
    "day_care",  # 日间照料中心 (T4, T5)
    "nursing_home",  # 养老院, 敬老院, 福利院
    "health_centre",  # 卫生服务中心, 卫生院, clinics (C6)
    "other",
)

#: Words that mark a name as an elderly-care facility (issue 2; 养老, 敬老, 老年, ...).
ELDERLY_NAME_WORDS: tuple[str, ...] = ("养老", "敬老", "老年", "日间照料", "福利院", "颐养", "长者", "托老")

#: Keyword → kind, tried in order on the kind text or, when there is none, on the name.
KIND_KEYWORDS: tuple[tuple[str, str], ...] = (
    # residential care first: "社区长者照护之家" is a care home, not a community station
    ("nursing", "nursing_home"),
    ("养老院", "nursing_home"),
    ("敬老院", "nursing_home"),
    ("福利院", "nursing_home"),
    ("养护院", "nursing_home"),
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
    ("中心", "township_centre"),
)

#: Accepted column names (lower case) for each schema field; the first present wins.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "lon": ("lon", "lng", "long", "longitude", "x", "经度", "wgs84_lng", "gcj_lng"),
    "lat": ("lat", "latitude", "y", "纬度", "wgs84_lat", "gcj_lat"),
    "facility_id": ("facility_id", "id", "fid", "编号", "code"),
    "name": ("name", "名称", "机构名称", "设施名称", "title"),
    "kind": ("kind", "type", "category", "类型", "机构类型", "设施类型"),
    "beds": ("beds", "bed", "床位", "床位数", "capacity"),
    "building_area_m2": ("building_area_m2", "building_area", "建筑面积", "floor_area_m2"),
    "land_area_m2": ("land_area_m2", "land_area", "用地面积", "占地面积"),
}

NUMERIC_FIELDS = ("beds", "building_area_m2", "land_area_m2")
SCHEMA = ["facility_id", "name", "kind", "beds", "building_area_m2", "land_area_m2", "demo", "opening_year", "geometry"]
VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".zip", ".fgb")


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
    return gpd.GeoDataFrame(out, geometry=points, crs=WGS84)[SCHEMA].reset_index(drop=True)


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

            features = pyrosm.OSM(str(path)).get_pois(
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
) -> gpd.GeoDataFrame:
    """Read a facility layer into the common schema.

    Parameters
    ----------
    path : str or Path
        GeoPackage, GeoJSON, (zipped) Shapefile, CSV with lon/lat columns (names such as
        ``lon``/``lat``, ``lng``, ``经度``/``纬度`` are detected), or an OSM ``.osm.pbf``/``.osm``
        file whose tags mark elderly-care places.
    layer : str, optional
        Layer inside a multi-layer file.
    source_crs : {"gcj02", "bd09"}, optional
        The coordinates come from a Chinese web map (Amap/Tencent: GCJ-02, Baidu: BD-09) and are
        converted to WGS84. The file's declared CRS must then be EPSG:4326 or absent.

    Returns
    -------
    GeoDataFrame
        Points in EPSG:4326 with the columns of :data:`SCHEMA`.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("the facility file does not exist", file=path)
    name = path.name.lower()
    if name.endswith(".csv"):
        frame = _read_csv(path)
    elif name.endswith((".pbf", ".osm", ".xml")):
        frame = _read_osm(path)
        if len(frame) == 0:
            msg = "the OSM file has no elderly-care or health facilities (amenity=nursing_home, social_facility for seniors, names with 养老/敬老/...)"
            raise EmptyLayerError(msg, file=path, layer="osm", field="amenity")
    elif name.endswith(VECTOR_SUFFIXES):
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
