"""Population layers: turn rasters, counted polygons or building footprints into people per place.

Every reader returns a GeoDataFrame in EPSG:4326 with

* ``population``: residents of the unit, in persons (float64, >= 0);
* ``elderly_population``: residents aged 60 and over, in persons (float64, >= 0);
* ``geometry``: the unit as read (raster cells become points at the cell centre; polygons and
  points stay polygons and points; buildings keep their footprint polygons).

Where a layer gives only one of the two counts, the other is derived with the share of residents
aged 60+ (``elderly_share``, default :data:`layers.defaults.DEFAULT_ELDERLY_SHARE`, the Panshi
figure of the planning documents, see ``PLANNING_RULES.md`` "Demographics used by the seeds").

Nothing is assumed silently: a layer without CRS, negative or non-numeric counts, rasters on different
grids and layers without any people raise an :class:`~layers.errors.InputError` subclass that names
the file, layer and field at fault.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import rasterio
import rasterio.errors
import rasterio.windows
import shapely
from affine import Affine
from pyproj import CRS
from rasterio.warp import transform_bounds

from layers.defaults import (
    DEFAULT_ELDERLY_SHARE,
    DEFAULT_FLOOR_AREA_PER_PERSON_M2,
    DEFAULT_RESIDENTIAL_SHARE,
    DEFAULT_STOREY_HEIGHT_M,
    DEFAULT_STOREYS,
)
from layers.errors import (
    CoordinateError,
    EmptyLayerError,
    FieldError,
    GeometryError,
    InputError,
    MissingCRSError,
    UnsupportedFileError,
)
from layers.file_identity import refuse_duplicates
from layers.projection import WGS84, check_lonlat_range, local_metric_crs, require_crs, to_wgs84
from layers.vector import refuse_layer_choice, resolve_layer

PathLike = str | Path

#: File name endings read as population rasters (GeoTIFF).
RASTER_SUFFIXES: tuple[str, ...] = (".tif", ".tiff")

#: File name endings read as vector layers (GeoPackage, GeoJSON, Shapefile, zipped Shapefile or
#: GeoPackage, FlatGeobuf).
VECTOR_SUFFIXES: tuple[str, ...] = (".gpkg", ".geojson", ".json", ".shp", ".zip", ".fgb")

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


_UNKNOWN_BUILDING_TAG = "yes"
_POLYGON_TYPES = ("Polygon", "MultiPolygon")
_POINT_TYPES = ("Point", "MultiPoint")
_NUMBER_PATTERN = r"([-+]?\d+(?:\.\d+)?)"


# --------------------------------------------------------------------------------------------------
# rasters
# --------------------------------------------------------------------------------------------------


def read_population_raster(
    paths: PathLike | Sequence[PathLike],
    *,
    elderly: bool = False,
    elderly_share: float = DEFAULT_ELDERLY_SHARE,
    bounds: tuple[float, float, float, float] | None = None,
) -> gpd.GeoDataFrame:
    """Read one or many population GeoTIFFs, summed cell by cell, as one point per populated cell.

    Parameters
    ----------
    paths : str, Path or sequence of them
        GeoTIFFs of people per cell (single band). Several files (e.g. WorldPop age/sex bands) are
        added cell by cell and must share CRS, transform and shape.
    elderly : bool, default False
        True when the rasters count people aged 60+ only (e.g. the WorldPop 60-80+ bands). Then
        ``elderly_population`` is the raster value and ``population`` is an *estimate*,
        ``elderly_population / elderly_share``. When False, ``population`` is the raster value and
        ``elderly_population = population * elderly_share``.
    elderly_share : float, default :data:`layers.defaults.DEFAULT_ELDERLY_SHARE`
        Share of residents aged 60+, between 0 (excluded) and 1.
    bounds : tuple of float, optional
        ``(min_lon, min_lat, max_lon, max_lat)`` in degrees (EPSG:4326): read only the cells that
        touch this box (a raster window), e.g. the extent of a street network.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 points at the centre of every cell with more than 0 people, with ``population``
        and ``elderly_population`` in persons (float64). The points carry the exact cell values:
        their sum equals the sum of the (windowed) rasters.

    Raises
    ------
    InputError
        A file is missing or unreadable, has several bands, or is on a different grid.
    MissingCRSError
        A raster has no CRS.
    FieldError
        A raster holds negative or infinite values (nodata and NaN cells count as 0).
    CoordinateError
        ``bounds`` are not lon/lat or do not overlap the rasters.
    EmptyLayerError
        No cell (inside ``bounds``) holds people.
    """
    _check_share(elderly_share)
    files = _existing_paths(paths)
    for file in files:
        if file.suffix.lower() not in RASTER_SUFFIXES:
            msg = f"not a GeoTIFF: population rasters must end in {', '.join(RASTER_SUFFIXES)}"
            raise UnsupportedFileError(msg, file=file)
    counts, transform, crs = _sum_rasters(files, bounds)
    return _cells_to_points(counts, transform, crs, elderly=elderly, elderly_share=elderly_share, file=files[0])


def _sum_rasters(
    files: list[Path], bounds: tuple[float, float, float, float] | None
) -> tuple[np.ndarray, Affine, rasterio.crs.CRS]:
    """Return the cell-by-cell sum (persons, float64) of ``files``, its transform and CRS."""
    total: np.ndarray | None = None
    reference: tuple[Path, rasterio.crs.CRS, Affine, tuple[int, int]] | None = None
    window: rasterio.windows.Window | None = None
    for file in files:
        try:
            with rasterio.open(file) as src:
                _check_raster(src, file)
                if reference is None:
                    reference = (file, src.crs, src.transform, src.shape)
                    window = _bounds_window(src, bounds, file) if bounds is not None else None
                else:
                    _check_same_grid(src, file, reference)
                cells = _read_counts(src, window, file)
                window_transform = (
                    src.transform @ Affine.translation(window.col_off, window.row_off)
                    if window is not None
                    else src.transform
                )
                crs = src.crs
        except rasterio.errors.RasterioIOError as error:
            msg = f"cannot read the raster ({error}); is it a valid GeoTIFF?"
            raise InputError(msg, file=file) from None
        total = cells if total is None else total + cells
    assert total is not None  # _existing_paths never returns an empty list
    return total, window_transform, crs


def _check_raster(src: rasterio.io.DatasetReader, file: Path) -> None:
    """Raise when the raster has no CRS or more than one band."""
    if src.crs is None:
        msg = "the raster has no coordinate reference system; save it with one (e.g. EPSG:4326)"
        raise MissingCRSError(msg, file=file)
    if src.count != 1:
        msg = f"the raster has {src.count} bands; give one single-band raster of people per cell per file"
        raise InputError(msg, file=file)


def _check_same_grid(
    src: rasterio.io.DatasetReader,
    file: Path,
    reference: tuple[Path, rasterio.crs.CRS, Affine, tuple[int, int]],
) -> None:
    """Raise :class:`InputError` unless ``src`` has the CRS, transform and shape of ``reference``."""
    ref_file, ref_crs, ref_transform, ref_shape = reference
    problems = []
    if src.crs != ref_crs:
        problems.append(f"CRS {src.crs} instead of {ref_crs}")
    if src.shape != ref_shape:
        problems.append(f"{src.shape[0]}x{src.shape[1]} cells instead of {ref_shape[0]}x{ref_shape[1]}")
    if not src.transform.almost_equals(ref_transform, precision=1e-9):
        problems.append("a different origin or cell size")
    if problems:
        msg = (
            f"the raster is not on the grid of '{ref_file.name}' ({'; '.join(problems)}); rasters summed "
            "together must share CRS, transform and shape: resample them to one grid first"
        )
        raise InputError(msg, file=file)


def _bounds_window(
    src: rasterio.io.DatasetReader, bounds: tuple[float, float, float, float], file: Path
) -> rasterio.windows.Window:
    """Return the window of the cells of ``src`` touching lon/lat ``bounds``."""
    min_x, min_y, max_x, max_y = (float(value) for value in bounds)
    check_lonlat_range(np.array([min_x, max_x]), np.array([min_y, max_y]), file=file)
    if not (min_x < max_x and min_y < max_y):
        msg = f"bounds {bounds} must be (min_lon, min_lat, max_lon, max_lat) with min < max"
        raise CoordinateError(msg, file=file)
    if not CRS(src.crs).equals(CRS(WGS84)):
        min_x, min_y, max_x, max_y = transform_bounds(WGS84, src.crs, min_x, min_y, max_x, max_y)
    inverse = ~src.transform
    cols, rows = inverse @ (np.array([min_x, max_x, min_x, max_x]), np.array([min_y, min_y, max_y, max_y]))
    row_start = max(int(np.floor(rows.min())), 0)
    row_stop = min(int(np.ceil(rows.max())), src.height)
    col_start = max(int(np.floor(cols.min())), 0)
    col_stop = min(int(np.ceil(cols.max())), src.width)
    if row_start >= row_stop or col_start >= col_stop:
        msg = f"the bounds {bounds} do not overlap the raster (raster bounds {tuple(src.bounds)})"
        raise CoordinateError(msg, file=file)
    return rasterio.windows.Window.from_slices((row_start, row_stop), (col_start, col_stop))


def _read_counts(src: rasterio.io.DatasetReader, window: rasterio.windows.Window | None, file: Path) -> np.ndarray:
    """Return band 1 of ``src`` in persons (float64) with nodata and NaN cells as 0."""
    masked = src.read(1, window=window, masked=True)
    counts = np.ma.filled(masked.astype(np.float64), 0.0)
    counts[np.isnan(counts)] = 0.0
    if np.isinf(counts).any():
        msg = "the raster holds infinite values; set them to nodata"
        raise FieldError(msg, file=file, field="band 1")
    negative = counts < 0
    if negative.any():
        msg = (
            f"{int(negative.sum())} cells hold negative people (lowest {counts.min():g}); "
            "a population raster must count people (>= 0): is the nodata value set?"
        )
        raise FieldError(msg, file=file, field="band 1")
    return counts


def _cells_to_points(
    counts: np.ndarray,
    transform: Affine,
    crs: rasterio.crs.CRS,
    *,
    elderly: bool,
    elderly_share: float,
    file: Path,
) -> gpd.GeoDataFrame:
    """Return one EPSG:4326 point per cell with people, at the cell centre, carrying its count."""
    rows, cols = np.nonzero(counts > 0)
    if rows.size == 0:
        msg = "no cell holds people (all cells are nodata or 0) in the raster or the requested bounds"
        raise EmptyLayerError(msg, file=file)
    values = counts[rows, cols]
    xs, ys = transform @ (cols + 0.5, rows + 0.5)
    people = _people_columns(values, elderly_counts=values if elderly else None, elderly_share=elderly_share)
    points = gpd.GeoDataFrame(people, geometry=gpd.points_from_xy(xs, ys), crs=crs)
    points = _as_wgs84(points)
    _check_wgs84_extent(points, file=file, layer=None)
    return points


# --------------------------------------------------------------------------------------------------
# polygons (or points) with a count column
# --------------------------------------------------------------------------------------------------


def read_population_polygons(
    path: PathLike,
    *,
    field: str | None = None,
    layer: str | None = None,
    elderly_field: str | None = None,
    elderly_share: float = DEFAULT_ELDERLY_SHARE,
    bounds: tuple[float, float, float, float] | None = None,
) -> gpd.GeoDataFrame:
    """Read polygons (or points) that carry a count of residents, e.g. a census or grid layer.

    Parameters
    ----------
    path : str or Path
        GeoPackage, GeoJSON, Shapefile, zipped Shapefile/GeoPackage (``.zip``) or FlatGeobuf.
    field : str, optional
        Column with the number of residents (persons). When None it is found among
        :data:`POPULATION_FIELD_NAMES` (case-insensitive); exactly one must match.
    layer : str, optional
        Layer to read; needed only when the file holds several.
    elderly_field : str, optional
        Column with the number of residents aged 60+ (persons). When None,
        ``elderly_population = population * elderly_share``.
    elderly_share : float, default :data:`layers.defaults.DEFAULT_ELDERLY_SHARE`
        Share of residents aged 60+, between 0 (excluded) and 1.
    bounds : tuple of float, optional
        ``(min_lon, min_lat, max_lon, max_lat)`` in degrees: read only features intersecting it.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 layer with ``population`` and ``elderly_population`` (persons, float64) and the
        geometry as read, indexed like the file's features. Invalid polygons are repaired with
        :func:`shapely.make_valid` (``method="structure"``) and a warning says how many.

    Raises
    ------
    InputError
        Missing/unreadable file or unknown layer; :class:`UnsupportedFileError` for other types.
    MissingCRSError
        The layer has no CRS (GeoJSON is EPSG:4326 by definition).
    EmptyLayerError
        The layer (inside ``bounds``) has no features, or no people at all.
    FieldError
        No single count column is found, or counts are missing, non-numeric, negative, or the
        elderly count exceeds the total.
    GeometryError
        Missing or empty geometries, lines, or polygons that collapse when repaired.
    """
    _check_share(elderly_share)
    file = _existing_paths(path, single=True)[0]
    _check_vector_suffix(file)
    frame, layer_name = _read_vector(file, layer, bounds)
    return _population_from_frame(
        frame, field=field, elderly_field=elderly_field, elderly_share=elderly_share, file=file, layer=layer_name
    )


def _population_from_frame(
    frame: gpd.GeoDataFrame,
    *,
    field: str | None,
    elderly_field: str | None,
    elderly_share: float,
    file: Path | None,
    layer: str | None,
) -> gpd.GeoDataFrame:
    """Validate a layer with a count column and return the population columns in EPSG:4326."""
    require_crs(frame, file=file, layer=layer)
    if frame.empty:
        raise EmptyLayerError("the layer has no features", file=file, layer=layer)
    field = _resolve_count_field(frame, field, file=file, layer=layer)
    population = _count_values(frame[field], file=file, layer=layer, field=field)
    elderly_counts = None
    if elderly_field is not None:
        elderly_field = _resolve_named_field(frame, elderly_field, file=file, layer=layer)
        elderly_counts = _count_values(frame[elderly_field], file=file, layer=layer, field=elderly_field)
        too_many = elderly_counts > population
        if too_many.any():
            msg = (
                f"{int(too_many.sum())} features count more people aged 60+ than residents in '{field}': "
                "check that the two columns are the right ones"
            )
            raise FieldError(msg, file=file, layer=layer, field=elderly_field)
    if not (population > 0).any():
        raise EmptyLayerError(f"no feature holds people (all '{field}' are 0)", file=file, layer=layer, field=field)
    geometry = _checked_geometry(frame.geometry, allowed=_POLYGON_TYPES + _POINT_TYPES, file=file, layer=layer)
    if elderly_counts is None:
        people = _people_columns(population, elderly_counts=None, elderly_share=elderly_share)
    else:
        people = {"population": population, "elderly_population": elderly_counts}
    out = gpd.GeoDataFrame(people, geometry=geometry.values, crs=frame.crs, index=frame.index)
    out = _as_wgs84(out)
    _check_wgs84_extent(out, file=file, layer=layer)
    return out


def _resolve_count_field(frame: pd.DataFrame, field: str | None, *, file: Path | None, layer: str | None) -> str:
    """Return the count column: ``field`` when given, else the one matching a known name."""
    if field is not None:
        return _resolve_named_field(frame, field, file=file, layer=layer)
    matches = _matching_columns(frame, POPULATION_FIELD_NAMES)
    if len(matches) == 1:
        return matches[0]
    numeric = _numeric_columns(frame)
    found = "several count columns match (" + ", ".join(matches) + ")" if matches else "no count column found"
    msg = (
        f"{found}: name the column of residents with --population-field (field=); numeric columns are "
        f"{', '.join(numeric) if numeric else '(none)'}; recognised names are {', '.join(POPULATION_FIELD_NAMES)}"
    )
    raise FieldError(msg, file=file, layer=layer)


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


def _matching_columns(frame: pd.DataFrame, names: Sequence[str]) -> list[str]:
    """Return the columns of ``frame`` whose stripped, lower-cased name is in ``names``."""
    wanted = {name.casefold() for name in names}
    geometry_name = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    return [
        str(column)
        for column in frame.columns
        if column != geometry_name and str(column).strip().casefold() in wanted
    ]


def _numeric_columns(frame: pd.DataFrame) -> list[str]:
    """Return the names of the numeric (not boolean) columns."""
    return [
        str(column)
        for column in frame.columns
        if pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column])
    ]


def _count_values(values: pd.Series, *, file: Path | None, layer: str | None, field: str) -> np.ndarray:
    """Return counts of persons as float64, raising :class:`FieldError` for unusable values."""
    if pd.api.types.is_bool_dtype(values):
        raise FieldError("the column is true/false, not a count of people", file=file, layer=layer, field=field)
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.astype("float64")
    else:
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        bad = numbers.isna() & values.notna()
        if bad.any():
            examples = ", ".join(repr(value) for value in values[bad].astype(str).unique()[:3])
            msg = f"{int(bad.sum())} values are not numbers (e.g. {examples}): the column must count people"
            raise FieldError(msg, file=file, layer=layer, field=field)
    counts = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = ~np.isfinite(counts)
    if missing.any():
        msg = f"{int(missing.sum())} features have no (or an infinite) count: fill them, with 0 where nobody lives"
        raise FieldError(msg, file=file, layer=layer, field=field)
    negative = counts < 0
    if negative.any():
        msg = f"{int(negative.sum())} features have a negative count (lowest {counts.min():g}): counts must be >= 0"
        raise FieldError(msg, file=file, layer=layer, field=field)
    return counts


def _checked_geometry(
    geometry: gpd.GeoSeries, *, allowed: Sequence[str], file: Path | None, layer: str | None
) -> gpd.GeoSeries:
    """Return ``geometry`` with invalid polygons repaired; raise for missing, empty or wrong types."""
    missing = geometry.isna() | geometry.is_empty
    if missing.any():
        msg = f"{int(missing.sum())} features have no geometry (missing or empty): give every unit its shape"
        raise GeometryError(msg, file=file, layer=layer, field="geometry")
    types = geometry.geom_type
    wrong = ~types.isin(allowed)
    if wrong.any():
        found = ", ".join(sorted(types[wrong].unique()))
        msg = f"{int(wrong.sum())} features are {found}; expected {', '.join(allowed)}"
        raise GeometryError(msg, file=file, layer=layer, field="geometry")
    return _repair_polygons(geometry, file=file, layer=layer)


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


# --------------------------------------------------------------------------------------------------
# building footprints
# --------------------------------------------------------------------------------------------------


def estimate_population_from_buildings(
    buildings: gpd.GeoDataFrame,
    *,
    storeys_field: str | None = None,
    default_storeys: float = DEFAULT_STOREYS,
    storey_height_m: float = DEFAULT_STOREY_HEIGHT_M,
    floor_area_per_person_m2: float = DEFAULT_FLOOR_AREA_PER_PERSON_M2,
    residential_share: Mapping[str, float] | None = None,
    elderly_share: float = DEFAULT_ELDERLY_SHARE,
) -> gpd.GeoDataFrame:
    """Estimate residents of building footprints from their floor area.

    ``population = footprint_m2 * storeys * residential_share / floor_area_per_person_m2``, with the
    footprint area in m² computed in the local UTM zone. It is an estimate: use a census or grid
    layer when there is one.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        Footprints in any CRS (it must have one). Rows that are not polygons (building nodes,
        lines) or are empty are dropped with a warning; invalid polygons are repaired.
    storeys_field : str, optional
        Column with the number of storeys above ground. When None it is found among
        :data:`STOREYS_FIELD_NAMES` (``building:levels``, ``levels``, ``Floor``, ``floors``,
        ``storeys``, ``层数``; case-insensitive). Text such as ``"6"`` or ``"6;7"`` is read as its
        first number. Missing or negative values fall back to the height, then the default.
    default_storeys : float, default :data:`DEFAULT_STOREYS` (3)
        Storeys of a building with neither storeys nor height.
    storey_height_m : float, default :data:`DEFAULT_STOREY_HEIGHT_M` (3 m)
        Metres per storey: storeys = ``round(height / storey_height_m)``, at least 1, for buildings
        with a ``height`` (:data:`HEIGHT_FIELD_NAMES`, metres) but no storeys value.
    floor_area_per_person_m2 : float, default :data:`DEFAULT_FLOOR_AREA_PER_PERSON_M2` (35 m²)
        Gross floor area per resident, m² per person.
    residential_share : mapping of str to float, optional
        Shares (0-1) of floor area lived in, by ``building=*`` value, overriding entries of
        :data:`DEFAULT_RESIDENTIAL_SHARE`. Values not in the table (and missing tags) use the
        ``"yes"`` share. Without a ``building`` column every building counts fully (1.0).
    elderly_share : float, default :data:`layers.defaults.DEFAULT_ELDERLY_SHARE`
        Share of residents aged 60+.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 footprints (index of the input) with ``population`` and ``elderly_population``
        (persons, float64), and, to check the estimate, ``footprint_m2`` (m²), ``storeys`` and
        ``residential_share``.

    Raises
    ------
    MissingCRSError
        ``buildings`` has no CRS.
    EmptyLayerError
        No polygon footprints, or no residents at all (every building non-residential).
    FieldError
        ``storeys_field`` is not a column, or a storeys column holds no numbers at all.
    """
    return _buildings_population(
        buildings,
        storeys_field=storeys_field,
        default_storeys=default_storeys,
        storey_height_m=storey_height_m,
        floor_area_per_person_m2=floor_area_per_person_m2,
        residential_share=residential_share,
        elderly_share=elderly_share,
        file=None,
        layer=None,
    )


def _buildings_population(
    buildings: gpd.GeoDataFrame,
    *,
    storeys_field: str | None,
    default_storeys: float,
    storey_height_m: float,
    floor_area_per_person_m2: float,
    residential_share: Mapping[str, float] | None,
    elderly_share: float,
    file: Path | None,
    layer: str | None,
) -> gpd.GeoDataFrame:
    """Do :func:`estimate_population_from_buildings`, naming ``file``/``layer`` in errors."""
    _check_share(elderly_share)
    _check_positive(storey_height_m=storey_height_m, floor_area_per_person_m2=floor_area_per_person_m2)
    if not default_storeys >= 0:
        raise ValueError(f"default_storeys must be >= 0, got {default_storeys}")
    shares = _residential_share_table(residential_share)
    require_crs(buildings, file=file, layer=layer)
    footprints = _polygon_rows(buildings, file=file, layer=layer)

    storeys = _storeys(footprints, storeys_field, default_storeys, storey_height_m, file=file, layer=layer)
    share = _residential_shares(footprints, shares)
    footprint_m2 = footprints.geometry.to_crs(local_metric_crs(footprints)).area.to_numpy(dtype=np.float64)
    population = footprint_m2 * storeys * share / floor_area_per_person_m2
    if not (population > 0).any():
        msg = (
            "the buildings give no residents (all non-residential or zero storeys/area); "
            "check the building types, or give a population layer with counts (--population with "
            "--population-field); in Python, residential_share= sets the residential share per building type"
        )
        raise EmptyLayerError(msg, file=file, layer=layer)

    people = _people_columns(population, elderly_counts=None, elderly_share=elderly_share)
    people.update({"footprint_m2": footprint_m2, "storeys": storeys, "residential_share": share})
    out = gpd.GeoDataFrame(people, geometry=footprints.geometry.values, crs=footprints.crs, index=footprints.index)
    out = _as_wgs84(out)
    _check_wgs84_extent(out, file=file, layer=layer)
    return out


def _polygon_rows(buildings: gpd.GeoDataFrame, *, file: Path | None, layer: str | None) -> gpd.GeoDataFrame:
    """Return the non-empty polygon rows of ``buildings`` (repaired), warning about dropped rows."""
    if buildings.empty:
        raise EmptyLayerError("the building layer has no features", file=file, layer=layer)
    geometry = buildings.geometry
    keep = geometry.notna() & ~geometry.is_empty & geometry.geom_type.isin(_POLYGON_TYPES)
    if not keep.any():
        raise EmptyLayerError("the building layer has no polygon footprints", file=file, layer=layer)
    dropped = int((~keep).sum())
    if dropped:
        msg = f"dropped {dropped} buildings that are not polygons (nodes, lines or empty)"
        warnings.warn(msg, UserWarning, stacklevel=4)
    footprints = buildings.loc[keep].copy()
    repaired = _repair_polygons(footprints.geometry, file=file, layer=layer, drop_collapsed=True)
    footprints = footprints.loc[repaired.index].set_geometry(repaired)
    return footprints


def _storeys(
    footprints: gpd.GeoDataFrame,
    storeys_field: str | None,
    default_storeys: float,
    storey_height_m: float,
    *,
    file: Path | None,
    layer: str | None,
) -> np.ndarray:
    """Return storeys per building: the storeys column, else height / storey height, else default."""
    if storeys_field is not None:
        storeys_field = _resolve_named_field(footprints, storeys_field, file=file, layer=layer)
        columns = [storeys_field]
    else:
        columns = _matching_columns(footprints, STOREYS_FIELD_NAMES)
    storeys = pd.Series(np.nan, index=footprints.index)
    for column in columns:  # a handful of columns at most, each handled as a whole
        storeys = storeys.fillna(_numbers_in(footprints[column], file=file, layer=layer, field=column))
    for column in _matching_columns(footprints, HEIGHT_FIELD_NAMES):
        height_m = _numbers_in(footprints[column], file=file, layer=layer, field=column)
        from_height = np.maximum(np.round(height_m / storey_height_m), 1.0).where(height_m > 0)
        storeys = storeys.fillna(from_height)
    return storeys.fillna(default_storeys).to_numpy(dtype=np.float64)


def _numbers_in(values: pd.Series, *, file: Path | None, layer: str | None, field: str) -> pd.Series:
    """Return the first number in each value (float64), NaN where none or negative."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype("float64")
    else:
        text = values.astype("string")
        numbers = pd.to_numeric(text.str.extract(_NUMBER_PATTERN, expand=False), errors="coerce").astype("float64")
        if values.notna().any() and numbers.isna().all():
            examples = ", ".join(repr(value) for value in values.dropna().astype(str).unique()[:3])
            msg = f"the column holds no numbers (e.g. {examples})"
            raise FieldError(msg, file=file, layer=layer, field=field)
    return numbers.where(np.isfinite(numbers) & (numbers >= 0))


def _residential_share_table(overrides: Mapping[str, float] | None) -> dict[str, float]:
    """Return :data:`DEFAULT_RESIDENTIAL_SHARE` updated with ``overrides`` (keys lower-cased)."""
    table = {key.casefold(): float(value) for key, value in DEFAULT_RESIDENTIAL_SHARE.items()}
    for key, value in (overrides or {}).items():
        table[str(key).strip().casefold()] = float(value)
    bad = {key: value for key, value in table.items() if not 0.0 <= value <= 1.0}
    if bad:
        raise ValueError(f"residential shares must be between 0 and 1, got {bad}")
    return table


def _residential_shares(footprints: gpd.GeoDataFrame, table: Mapping[str, float]) -> np.ndarray:
    """Return the lived-in share of each building from its ``building`` tag (1.0 without the column)."""
    columns = _matching_columns(footprints, (BUILDING_TAG_FIELD,))
    if not columns:
        return np.ones(len(footprints), dtype=np.float64)
    tags = footprints[columns[0]].astype("string").str.strip().str.casefold()
    shares = tags.map(table).astype("float64")
    return shares.fillna(table[_UNKNOWN_BUILDING_TAG]).to_numpy(dtype=np.float64)


# --------------------------------------------------------------------------------------------------
# dispatcher and helpers
# --------------------------------------------------------------------------------------------------


def read_population(
    path_or_paths: PathLike | Sequence[PathLike],
    *,
    kind: str = "auto",
    field: str | None = None,
    layer: str | None = None,
    elderly: bool = False,
    elderly_field: str | None = None,
    elderly_share: float = DEFAULT_ELDERLY_SHARE,
    bounds: tuple[float, float, float, float] | None = None,
    storeys_field: str | None = None,
    default_storeys: float = DEFAULT_STOREYS,
    storey_height_m: float = DEFAULT_STOREY_HEIGHT_M,
    floor_area_per_person_m2: float = DEFAULT_FLOOR_AREA_PER_PERSON_M2,
    residential_share: Mapping[str, float] | None = None,
) -> gpd.GeoDataFrame:
    """Read any population input: rasters, polygons with counts, or buildings to estimate from.

    Parameters
    ----------
    path_or_paths : str, Path or sequence of them
        GeoTIFF(s) (``.tif``/``.tiff``), a vector layer (``.gpkg``, ``.geojson``, ``.json``,
        ``.shp``, ``.zip``, ``.fgb``) or an OpenStreetMap extract (``.osm.pbf``, buildings).
    kind : {"auto", "raster", "polygons", "buildings"}, default "auto"
        "auto" chooses by extension; a vector layer is read as polygons with counts when a count
        column is given or found, else as buildings when it has a storeys, height or ``building``
        column, else a :class:`FieldError` lists the numeric columns.
    field, layer, elderly_field : str, optional
        See :func:`read_population_polygons`.
    elderly : bool, default False
        Rasters only: the rasters count people aged 60+ (see :func:`read_population_raster`).
    elderly_share : float, default :data:`layers.defaults.DEFAULT_ELDERLY_SHARE`
        Share of residents aged 60+.
    bounds : tuple of float, optional
        ``(min_lon, min_lat, max_lon, max_lat)`` in degrees: read only that area.
    storeys_field, default_storeys, storey_height_m, floor_area_per_person_m2, residential_share
        Buildings only, see :func:`estimate_population_from_buildings` (storeys; m; m² per person).

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 layer with ``population`` and ``elderly_population`` in persons.

    Raises
    ------
    InputError
        A file is missing, several vector files or a mix of types are given.
    UnsupportedFileError
        The extension is not a raster or vector type read here (e.g. ``.csv``).
    ValueError
        Unknown ``kind``, or ``elderly=True`` for a vector layer (use ``elderly_field``).
    """
    if kind not in ("auto", "raster", "polygons", "buildings"):
        raise ValueError(f"kind must be 'auto', 'raster', 'polygons' or 'buildings', got {kind!r}")
    files = _existing_paths(path_or_paths)
    file_kinds = {_file_kind(file) for file in files}
    if len(file_kinds) > 1:
        msg = "give either GeoTIFF rasters or one vector file, not a mix"
        raise InputError(msg, file=", ".join(str(file) for file in files))
    file_kind = file_kinds.pop()
    if file_kind in ("raster", "osm"):
        refuse_layer_choice(files[0], layer, option="--population-layer")

    if file_kind == "raster":
        if kind not in ("auto", "raster"):
            raise UnsupportedFileError(f"a GeoTIFF cannot be read as {kind}", file=files[0])
        return read_population_raster(files, elderly=elderly, elderly_share=elderly_share, bounds=bounds)

    if len(files) > 1:
        raise InputError("give one vector file at a time (only rasters are summed)", file=files[1])
    if elderly:
        msg = (
            "--population-elderly (elderly=True) applies to GeoTIFF rasters; for a vector layer give the "
            "count column with --population-field (field=) and the share aged 60+ with --elderly-share "
            "(or, in Python, the column of people aged 60+ with elderly_field=)"
        )
        raise InputError(msg, file=files[0])
    if kind == "raster":
        raise UnsupportedFileError("not a GeoTIFF, cannot be read as a raster", file=files[0])
    building_options = {
        "storeys_field": storeys_field,
        "default_storeys": default_storeys,
        "storey_height_m": storey_height_m,
        "floor_area_per_person_m2": floor_area_per_person_m2,
        "residential_share": residential_share,
        "elderly_share": elderly_share,
    }
    if file_kind == "osm":
        if kind == "polygons":
            raise UnsupportedFileError("an OpenStreetMap extract has no population counts", file=files[0])
        buildings = _read_osm_buildings(files[0], bounds)
        return _buildings_population(buildings, **building_options, file=files[0], layer="buildings")

    frame, layer_name = _read_vector(files[0], layer, bounds)
    if kind == "buildings" or (
        kind == "auto" and field is None and _looks_like_buildings(frame)
    ):
        return _buildings_population(frame, **building_options, file=files[0], layer=layer_name)
    return _population_from_frame(
        frame, field=field, elderly_field=elderly_field, elderly_share=elderly_share, file=files[0], layer=layer_name
    )


def population_points(gdf: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Return one point per population unit: points as they are, a point inside each polygon.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Output of one of the readers (any CRS).

    Returns
    -------
    geopandas.GeoSeries
        Points in the CRS and index of ``gdf``; polygons give their ``representative_point``,
        which, unlike the centroid, always lies inside the polygon (L- or U-shaped blocks).
    """
    return gdf.geometry.representative_point()


def _looks_like_buildings(frame: gpd.GeoDataFrame) -> bool:
    """Return True when ``frame`` has no count column but a storeys, height or ``building`` column."""
    if _matching_columns(frame, POPULATION_FIELD_NAMES):
        return False
    names = STOREYS_FIELD_NAMES + HEIGHT_FIELD_NAMES + (BUILDING_TAG_FIELD,)
    return bool(_matching_columns(frame, names))


def _file_kind(file: Path) -> str:
    """Return "raster", "vector" or "osm" from the extension, else raise UnsupportedFileError."""
    suffix = file.suffix.lower()
    if suffix in RASTER_SUFFIXES:
        return "raster"
    if suffix in OSM_SUFFIXES:
        return "osm"
    _check_vector_suffix(file)
    return "vector"


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


def _read_osm_buildings(file: Path, bounds: tuple[float, float, float, float] | None) -> gpd.GeoDataFrame:
    """Return the buildings of an OpenStreetMap ``.osm.pbf`` extract (EPSG:4326) with pyrosm."""
    import pyrosm  # imported here: slow to import and only needed for OSM extracts

    bounding_box = list(bounds) if bounds is not None else None
    # complete_relations: multipolygon buildings crossing the bounds keep their whole footprint
    osm = pyrosm.OSM(str(file), bounding_box=bounding_box, complete_relations=bounding_box is not None)
    buildings = osm.get_buildings()
    if buildings is None or buildings.empty:
        raise EmptyLayerError("the extract has no buildings", file=file, layer="buildings")
    return buildings


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
