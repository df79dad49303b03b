"""Population polygons (or points) with a count column: residents per unit, in persons."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.defaults import DEFAULT_ELDERLY_SHARE
from layers.errors import EmptyLayerError, FieldError, GeometryError
from layers.population_common import (
    _POINT_TYPES,
    _POLYGON_TYPES,
    POPULATION_FIELD_NAMES,
    PathLike,
    _as_wgs84,
    _check_share,
    _check_vector_suffix,
    _check_wgs84_extent,
    _database_address,
    _existing_paths,
    _matching_columns,
    _people_columns,
    _read_database,
    _read_vector,
    _repair_polygons,
    _resolve_named_field,
)
from layers.projection import require_crs


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
    address = _database_address(path)
    if address is not None:
        frame, file, layer_name = _read_database(address, layer, bounds)
    else:
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
