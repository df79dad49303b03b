"""Residents estimated from building footprints (vector layers or OpenStreetMap extracts)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np

from layers.building_model import _residential_share_table, _residential_shares, _storeys
from layers.defaults import (
    DEFAULT_ELDERLY_SHARE,
    DEFAULT_FLOOR_AREA_PER_PERSON_M2,
    DEFAULT_STOREY_HEIGHT_M,
    DEFAULT_STOREYS,
)
from layers.errors import EmptyLayerError
from layers.population_common import (
    _POLYGON_TYPES,
    _as_wgs84,
    _check_positive,
    _check_share,
    _check_wgs84_extent,
    _people_columns,
    _repair_polygons,
)
from layers.projection import local_metric_crs, require_crs


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


def _read_osm_buildings(file: Path, bounds: tuple[float, float, float, float] | None) -> gpd.GeoDataFrame:
    """Return the buildings of an OpenStreetMap ``.osm.pbf`` extract (EPSG:4326) with pyrosm."""
    import pyrosm  # imported here: slow to import and only needed for OSM extracts

    bounding_box = list(bounds) if bounds is not None else None
    # complete_relations: multipolygon buildings crossing the bounds keep their whole footprint
    osm = pyrosm.OSM(str(file), bounding_box=bounding_box, complete_relations=bounding_box is not None, progress=False)
    buildings = osm.get_buildings()
    if buildings is None or buildings.empty:
        raise EmptyLayerError("the extract has no buildings", file=file, layer="buildings")
    return buildings
