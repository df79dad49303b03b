"""Shared by the population readers: file checks, count columns, lon/lat output, argument checks.

Every reader (:mod:`layers.population_raster`, :mod:`layers.population_polygons`,
:mod:`layers.population_buildings`) returns ``population`` and ``elderly_population`` in persons,
in EPSG:4326, through :func:`_people_columns` and :func:`_as_wgs84`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely

from layers.database import is_database_uri, read_database_layer
from layers.errors import EmptyLayerError, FieldError, GeometryError, InputError, UnsupportedFileError
from layers.file_identity import refuse_duplicates
from layers.projection import WGS84, check_lonlat_range, require_crs, to_wgs84
from layers.vector import VECTOR_SUFFIXES, resolve_layer

PathLike = str | Path


#: File name endings read as population rasters (GeoTIFF).
RASTER_SUFFIXES: tuple[str, ...] = (".tif", ".tiff")


def is_raster_file(path: PathLike) -> bool:
    """True when ``path`` names a population raster (its name ends in one of :data:`RASTER_SUFFIXES`)."""
    return str(path).lower().endswith(RASTER_SUFFIXES)

#: File name endings read as OpenStreetMap extracts (buildings are taken with pyrosm).
OSM_SUFFIXES: tuple[str, ...] = (".pbf",)

#: Column names (compared case-insensitively) recognised as a count of residents.
POPULATION_FIELD_NAMES: tuple[str, ...] = (
    "population",
    "pop",
    "pop_total",
    "total",
    "residents",
    "persons",
    "人口",
    "常住人口",
    "居民",
    "户籍人口",
)

#: Column names (compared case-insensitively) recognised as the number of storeys of a building.
STOREYS_FIELD_NAMES: tuple[str, ...] = (
    "building:levels",
    "levels",
    "floor",
    "floors",
    "storeys",
    "stories",
    "层数",
)

#: Column names (compared case-insensitively) recognised as a building height in metres.
HEIGHT_FIELD_NAMES: tuple[str, ...] = ("height", "building:height", "高度")

#: The OpenStreetMap column that holds the building type (``building=*``).
BUILDING_TAG_FIELD: str = "building"

_POLYGON_TYPES = ("Polygon", "MultiPolygon")
_POINT_TYPES = ("Point", "MultiPoint")


def _existing_paths(paths: PathLike | Sequence[PathLike], *, single: bool = False) -> list[Path]:
    """Return ``paths`` as a list of existing, distinct files, raising :class:`InputError` otherwise.

    The same file twice (by resolved path or SHA-256) is refused: rasters are summed, so it would
    double the population.
    """
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    if not items:
        raise InputError("no population file given")
    if single and len(items) > 1:
        raise InputError("give one file", file=items[1])
    files = [Path(item) for item in items]
    for file in files:
        if not file.is_file():
            raise InputError("file not found: check the path", file=file)
    refuse_duplicates(files, option="--population")
    return files


def _check_vector_suffix(file: Path) -> None:
    """Raise :class:`UnsupportedFileError` unless ``file`` is a vector type read here."""
    suffix = file.suffix.lower()
    if suffix in VECTOR_SUFFIXES:
        return
    if suffix in (".csv", ".txt", ".xls", ".xlsx"):
        msg = (
            "a table has no shapes: save the population layer as GeoPackage, GeoJSON or Shapefile "
            "(polygons or points with a count column) or as a GeoTIFF raster"
        )
    else:
        readable = RASTER_SUFFIXES + VECTOR_SUFFIXES + (".osm.pbf",)
        msg = f"unknown population file type '{suffix or '(none)'}': use one of {', '.join(readable)}"
    raise UnsupportedFileError(msg, file=file)


def _read_vector(
    file: Path, layer: str | None, bounds: tuple[float, float, float, float] | None
) -> tuple[gpd.GeoDataFrame, str]:
    """Read one layer of a vector file (optionally only features intersecting lon/lat ``bounds``)."""
    layer = resolve_layer(file, layer, what="population", option="--population-layer")
    bbox = None
    if bounds is not None:
        min_x, min_y, max_x, max_y = (float(value) for value in bounds)
        check_lonlat_range(np.array([min_x, max_x]), np.array([min_y, max_y]), file=file, layer=layer)
        bbox = gpd.GeoSeries([shapely.box(min_x, min_y, max_x, max_y)], crs=WGS84)
    try:
        info = pyogrio.read_info(file, layer=layer)
        if info["crs"] is None:
            frame = gpd.read_file(file, layer=layer)  # bbox needs a CRS: let require_crs report it
        else:
            frame = gpd.read_file(file, layer=layer, bbox=bbox)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as error:
        raise InputError(f"cannot read the layer ({error})", file=file, layer=layer) from None
    require_crs(frame, file=file, layer=layer)
    if frame.empty:
        where = " inside the bounds" if bounds is not None else ""
        raise EmptyLayerError(f"the layer has no features{where}", file=file, layer=layer)
    return frame, layer


def _matching_columns(frame: pd.DataFrame, names: Sequence[str]) -> list[str]:
    """Return the columns of ``frame`` whose stripped, lower-cased name is in ``names``."""
    wanted = {name.casefold() for name in names}
    geometry_name = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    return [
        str(column)
        for column in frame.columns
        if column != geometry_name and str(column).strip().casefold() in wanted
    ]


def _resolve_named_field(frame: pd.DataFrame, field: str, *, file: Path | None, layer: str | None) -> str:
    """Return the column called ``field`` (exact, else unique case-insensitive match)."""
    if field in frame.columns:
        return field
    matches = _matching_columns(frame, (field,))
    if len(matches) == 1:
        return matches[0]
    columns = [str(column) for column in frame.columns if column != frame.geometry.name]
    msg = f"no column '{field}'; columns are {', '.join(columns) if columns else '(none)'}"
    raise FieldError(msg, file=file, layer=layer, field=field)


def _repair_polygons(
    geometry: gpd.GeoSeries, *, file: Path | None, layer: str | None, drop_collapsed: bool = False
) -> gpd.GeoSeries:
    """Repair invalid polygons with ``make_valid(method="structure")``, warning how many.

    Polygons that collapse to nothing are an error, or with ``drop_collapsed`` (building
    footprints, where a degenerate outline holds no floor area) dropped with a warning.
    """
    invalid = ~geometry.is_valid
    if not invalid.any():
        return geometry
    repaired = geometry.copy()
    repaired[invalid] = geometry[invalid].make_valid(method="structure", keep_collapsed=False)
    collapsed = repaired.isna() | repaired.is_empty
    if collapsed.any() and drop_collapsed:
        msg = f"dropped {int(collapsed.sum())} invalid footprints that collapse to nothing when repaired"
        warnings.warn(msg, UserWarning, stacklevel=4)
        repaired = repaired[~collapsed]
    elif collapsed.any():
        msg = f"{int(collapsed.sum())} invalid polygons collapse to nothing when repaired: fix them in a GIS"
        raise GeometryError(msg, file=file, layer=layer, field="geometry")
    where = f" in '{file}'" if file is not None else ""
    warnings.warn(f"repaired {int(invalid.sum())} invalid polygons{where} with make_valid", UserWarning, stacklevel=4)
    return repaired


def _people_columns(
    counts: np.ndarray, *, elderly_counts: np.ndarray | None, elderly_share: float
) -> dict[str, np.ndarray]:
    """Return ``population`` and ``elderly_population`` (persons, float64) from either count."""
    if elderly_counts is not None:
        elderly_population = np.asarray(elderly_counts, dtype=np.float64)
        population = elderly_population / elderly_share  # an estimate: only the 60+ are counted
    else:
        population = np.asarray(counts, dtype=np.float64)
        elderly_population = population * elderly_share
    return {"population": population, "elderly_population": elderly_population}


def _as_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return ``gdf`` in EPSG:4326, its CRS spelt as ``EPSG:4326`` whatever the source wrote."""
    return to_wgs84(gdf).set_crs(WGS84, allow_override=True)


def _check_wgs84_extent(gdf: gpd.GeoDataFrame, *, file: Path | None, layer: str | None) -> None:
    """Raise :class:`CoordinateError` when an EPSG:4326 layer's extent is not lon/lat."""
    min_x, min_y, max_x, max_y = gdf.total_bounds
    check_lonlat_range(np.array([min_x, max_x]), np.array([min_y, max_y]), file=file, layer=layer)


def _check_share(elderly_share: float) -> None:
    """Raise ValueError unless 0 < ``elderly_share`` <= 1."""
    if not 0.0 < float(elderly_share) <= 1.0:
        msg = f"elderly_share is the share of residents aged 60+, between 0 and 1; got {elderly_share}"
        raise ValueError(msg)


def _check_positive(**values: float) -> None:
    """Raise ValueError for any value that is not > 0."""
    for name, value in values.items():
        if not float(value) > 0:
            raise ValueError(f"{name} must be > 0, got {value}")


def _database_address(paths: PathLike | Sequence[PathLike]) -> str | None:
    """The PostGIS address among ``paths`` (one only: tables are not summed), or None for files."""
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    found = [item for item in items if is_database_uri(item)]
    if not found:
        return None
    if len(items) > 1:
        raise InputError("give one population table at a time (only GeoTIFF rasters are summed)")
    return str(found[0])


def _read_database(
    address: str, layer: str | None, bounds: tuple[float, float, float, float] | None
) -> tuple[gpd.GeoDataFrame, str, str]:
    """Read a PostGIS population table (features intersecting lon/lat ``bounds`` only), checked like a file."""
    frame, label, where = read_database_layer(address, layer, what="population")
    require_crs(frame, file=label, layer=where)
    if bounds is not None and len(frame):
        box = shapely.box(*(float(value) for value in bounds))
        frame = frame.loc[to_wgs84(frame).geometry.intersects(box).to_numpy()]
    if frame.empty:
        where_text = " inside the bounds" if bounds is not None else ""
        raise EmptyLayerError(f"the table has no features{where_text}", file=label, layer=where)
    return frame, label, where
