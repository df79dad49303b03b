"""Boundary and point layers of the checks and site jobs, given as a path or a GeoDataFrame.

Each function takes what the user passed to :func:`analysis.run_checks` /
:func:`analysis.propose_sites` and returns the normalised layer (EPSG:4326), validating a frame
as strictly as a file: errors name the argument (``townships=``) as the layer.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd

from analysis.counties import normalise_counties, read_counties
from analysis.districts import normalise_districts
from analysis.township_layers import normalise_communities, normalise_townships, read_communities, read_townships
from analysis.villages import normalise_villages, read_villages
from layers.database import is_database_uri
from layers.errors import InputError
from layers.facilities import normalise_facilities, read_facilities
from layers.frames import is_frame

if TYPE_CHECKING:
    from analysis.planning_years import PlanningYears

Layer = str | Path | gpd.GeoDataFrame


def frame_layer(argument: str) -> str:
    """The layer name used in messages about an in-memory frame given as ``argument=``."""
    return f"{argument}= (GeoDataFrame)"


def _checked_frame(value: object, argument: str) -> gpd.GeoDataFrame:
    if len(value) == 0:  # type: ignore[arg-type]
        raise InputError("the GeoDataFrame has no rows", layer=frame_layer(argument))
    return value  # type: ignore[return-value]


def file_of(value: Layer | None) -> str | Path | None:
    """The file behind a layer argument (a PostGIS address stays text), ``None`` for a frame or nothing."""
    if value is None or is_frame(value):
        return None
    return str(value) if is_database_uri(value) else Path(value)


def districts_layer(value: Layer, years: PlanningYears, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Residential districts (Q1-Q5) with their new/old classes recorded in ``years``."""
    if not is_frame(value):
        return years.read_districts(value, layer=layer)
    from analysis.district_age import district_ages

    name = frame_layer("districts")
    ages, cleaned = district_ages(_checked_frame(value, "districts"), years.rules, layer=name)
    years.ages = ages
    return normalise_districts(cleaned, layer=name)


def townships_layer(value: Layer, *, layer: str | None = None, name_field: str | None = None) -> gpd.GeoDataFrame:
    """Township/street polygons (T1-T7) with a ``township`` name."""
    if not is_frame(value):
        return read_townships(value, layer=layer, name_field=name_field)
    return normalise_townships(_checked_frame(value, "townships"), name_field=name_field, layer=frame_layer("townships"))


def communities_layer(value: Layer, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Community polygons with ``population`` (persons) for T3/T4."""
    if not is_frame(value):
        return read_communities(value, layer=layer)
    return normalise_communities(_checked_frame(value, "communities"), layer=frame_layer("communities"))


def health_layer(value: Layer, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Health facilities for C6 in the facility schema."""
    if not is_frame(value):
        return read_facilities(value, layer=layer, option="--health-layer")
    return normalise_facilities(_checked_frame(value, "health"), layer=frame_layer("health"))


def villages_layer(value: Layer) -> gpd.GeoDataFrame:
    """Village points or polygons with a name (R1, T7)."""
    if not is_frame(value):
        return read_villages(value)
    return normalise_villages(_checked_frame(value, "villages"), layer=frame_layer("villages"))


def counties_layer(value: Layer, *, source_crs: str | None = None) -> gpd.GeoDataFrame:
    """County polygons (C7, C8, T7); ``source_crs`` converts a file's GCJ-02/BD-09 coordinates."""
    if not is_frame(value):
        return read_counties(value, source_crs=source_crs)
    return normalise_counties(_checked_frame(value, "counties"), layer=frame_layer("counties"))
