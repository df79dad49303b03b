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

This module holds the dispatcher :func:`read_population`; the readers live in
:mod:`layers.population_raster`, :mod:`layers.population_polygons` and
:mod:`layers.population_buildings` (with the estimate itself in :mod:`layers.building_model`), what
they share in :mod:`layers.population_common`. Their public names are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd

from layers.defaults import (
    DEFAULT_ELDERLY_SHARE,
    DEFAULT_FLOOR_AREA_PER_PERSON_M2,
    DEFAULT_NODATA_AS_ZERO,
    DEFAULT_RESIDENTIAL_SHARE,
    DEFAULT_STOREY_HEIGHT_M,
    DEFAULT_STOREYS,
)
from layers.errors import InputError, UnsupportedFileError
from layers.population_buildings import _buildings_population, _read_osm_buildings, estimate_population_from_buildings
from layers.population_common import (
    BUILDING_TAG_FIELD,
    HEIGHT_FIELD_NAMES,
    OSM_SUFFIXES,
    POPULATION_FIELD_NAMES,
    RASTER_SUFFIXES,
    STOREYS_FIELD_NAMES,
    VECTOR_SUFFIXES,
    PathLike,
    _check_vector_suffix,
    _database_address,
    _existing_paths,
    _matching_columns,
    _read_database,
    _read_vector,
    is_raster_file,
)
from layers.population_polygons import _population_from_frame, read_population_polygons
from layers.population_raster import read_population_raster
from layers.vector import refuse_layer_choice

__all__ = [
    "read_population",
    "read_population_raster",
    "read_population_polygons",
    "estimate_population_from_buildings",
    "DEFAULT_ELDERLY_SHARE",
    "DEFAULT_FLOOR_AREA_PER_PERSON_M2",
    "DEFAULT_RESIDENTIAL_SHARE",
    "DEFAULT_STOREY_HEIGHT_M",
    "DEFAULT_STOREYS",
    "RASTER_SUFFIXES",
    "is_raster_file",
    "VECTOR_SUFFIXES",
    "OSM_SUFFIXES",
    "POPULATION_FIELD_NAMES",
    "STOREYS_FIELD_NAMES",
    "HEIGHT_FIELD_NAMES",
    "BUILDING_TAG_FIELD",
    "PathLike",
]

# --------------------------------------------------------------------------------------------------
# dispatcher
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
    nodata_as_zero: bool = DEFAULT_NODATA_AS_ZERO,
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
    nodata_as_zero : bool, default False
        Rasters only: nodata cells inside the rasters' extent are read as 0 people (see
        :func:`read_population_raster`); refused for any other layer (it would mean nothing).

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
    InputError
        ``nodata_as_zero=True`` for a layer that is not a raster.
    """
    if kind not in ("auto", "raster", "polygons", "buildings"):
        raise ValueError(f"kind must be 'auto', 'raster', 'polygons' or 'buildings', got {kind!r}")
    address = _database_address(path_or_paths)
    files = [] if address is not None else _existing_paths(path_or_paths)
    file_kinds = {"database"} if address is not None else {_file_kind(file) for file in files}
    if len(file_kinds) > 1:
        msg = "give either GeoTIFF rasters or one vector file, not a mix"
        raise InputError(msg, file=", ".join(str(file) for file in files))
    file_kind = file_kinds.pop()
    if file_kind in ("raster", "osm"):
        refuse_layer_choice(files[0], layer, option="--population-layer")

    if file_kind == "raster":
        if kind not in ("auto", "raster"):
            raise UnsupportedFileError(f"a GeoTIFF cannot be read as {kind}", file=files[0])
        return read_population_raster(
            files, elderly=elderly, elderly_share=elderly_share, bounds=bounds, nodata_as_zero=nodata_as_zero
        )
    if nodata_as_zero:
        refuse_nodata_as_zero(files[0] if files else None, "a database table" if address else "not a raster")

    if len(files) > 1:
        raise InputError("give one vector file at a time (only rasters are summed)", file=files[1])
    if address is not None:
        frame, database, layer_name = _read_database(address, layer, bounds)
        files = [database]
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

    if address is None:
        frame, layer_name = _read_vector(files[0], layer, bounds)
    if kind == "buildings" or (
        kind == "auto" and field is None and _looks_like_buildings(frame)
    ):
        return _buildings_population(frame, **building_options, file=files[0], layer=layer_name)
    return _population_from_frame(
        frame, field=field, elderly_field=elderly_field, elderly_share=elderly_share, file=files[0], layer=layer_name
    )


def refuse_nodata_as_zero(source: PathLike | None, what: str = "a vector layer") -> None:
    """Raise :class:`InputError`: ``--nodata-as-zero`` was asked for a population that is no raster.

    Parameters
    ----------
    source : path, optional
        The population file (``None``: none was given).
    what : str
        What the population is instead (words of the message).
    """
    msg = (
        f"--nodata-as-zero (nodata_as_zero=True) applies to population GeoTIFF rasters only, and the population "
        f"here is {what}: leave the option out"
    )
    raise InputError(msg, file=source)


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
