"""In-memory layers (GeoDataFrames, osmnx graphs) validated like the files the readers take.

A notebook user who has the data in memory already passes it to :func:`coverage.walk_coverage`
directly; these functions check it on entry, so a missing column is an :class:`InputError` naming
the argument and the column, never a ``KeyError`` deep in a check. Errors name the argument as the
layer (``facilities=``), since an in-memory frame has no file.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.errors import EmptyLayerError, FieldError, InputError
from layers.facilities import normalise_facilities
from layers.network import StreetNetwork, _finish, _graph_edges
from layers.projection import WGS84, require_crs, to_wgs84

#: Columns an in-memory facility layer must carry (see :data:`layers.facilities.SCHEMA`).
FACILITY_COLUMNS: tuple[str, ...] = ("facility_id", "name", "kind")
#: Columns an in-memory population layer must carry, in persons.
POPULATION_COLUMNS: tuple[str, ...] = ("population", "elderly_population")


def is_frame(value: object) -> bool:
    """Whether ``value`` is an in-memory layer (a GeoDataFrame) rather than a path."""
    return isinstance(value, gpd.GeoDataFrame)


def is_graph(value: object) -> bool:
    """Whether ``value`` is a networkx (osmnx) graph."""
    return hasattr(value, "graph") and hasattr(value, "edges") and hasattr(value, "nodes") and not is_frame(value)


def _layer(argument: str) -> str:
    return f"{argument}= (GeoDataFrame)"


def require_columns(frame: gpd.GeoDataFrame, columns: tuple[str, ...], *, argument: str) -> None:
    """Raise :class:`FieldError` naming the argument and the first missing column of ``frame``."""
    if not is_frame(frame):
        msg = f"{argument}= must be a path or a GeoDataFrame, got {type(frame).__name__}"
        raise InputError(msg, layer=argument)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = f"the GeoDataFrame has no column {', '.join(map(repr, missing))}; it needs {', '.join(columns)}"
        raise FieldError(msg, layer=_layer(argument), field=missing[0])
    if len(frame) == 0:
        raise EmptyLayerError("the GeoDataFrame has no rows", layer=_layer(argument))


def facilities_from_frame(frame: gpd.GeoDataFrame, *, argument: str = "facilities") -> gpd.GeoDataFrame:
    """Facilities in the common schema (EPSG:4326 points) from an in-memory GeoDataFrame.

    Parameters
    ----------
    frame : GeoDataFrame
        Points (or polygons: a point inside is used) in any declared CRS with ``facility_id``,
        ``name`` and ``kind`` columns; ``beds``, ``building_area_m2`` (m²), ``land_area_m2`` (m²),
        ``opening_year`` are taken when present.
    argument : str
        Name of the argument, for the messages.

    Raises
    ------
    InputError
        A required column is missing, no CRS, empty or invalid geometries, bad numbers.
    """
    require_columns(frame, FACILITY_COLUMNS, argument=argument)
    return normalise_facilities(frame, layer=_layer(argument))


def population_from_frame(frame: gpd.GeoDataFrame, *, argument: str = "population") -> gpd.GeoDataFrame:
    """Population units (EPSG:4326) from an in-memory GeoDataFrame with counts in persons.

    Parameters
    ----------
    frame : GeoDataFrame
        Points or polygons in any declared CRS with ``population`` (residents) and
        ``elderly_population`` (residents aged 60+), both persons, finite and not negative.

    Raises
    ------
    InputError
        A column is missing, holds non-numbers or negative counts, more elderly than residents,
        no CRS, or no geometry.
    """
    require_columns(frame, POPULATION_COLUMNS, argument=argument)
    layer = _layer(argument)
    require_crs(frame, layer=layer)
    counts = {}
    for column in POPULATION_COLUMNS:
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            rows = np.flatnonzero(bad)[:5].tolist()
            msg = f"{int(bad.sum())} rows are not a count of persons ≥ 0 (rows {rows})"
            raise FieldError(msg, layer=layer, field=column)
        counts[column] = values
    if (counts["elderly_population"] > counts["population"] + 1e-9).any():
        raise FieldError("some rows count more people aged 60+ than residents", layer=layer, field="elderly_population")
    geometry = frame.geometry.array
    if (geometry.isna() | geometry.is_empty).any():
        raise FieldError("some rows have no geometry", layer=layer, field="geometry")
    out = gpd.GeoDataFrame(counts, geometry=frame.geometry.to_numpy(), crs=frame.crs, index=frame.index)
    return to_wgs84(out).reset_index(drop=True)


def network_from_data(data: object, *, noded: bool = False, argument: str = "network") -> StreetNetwork:
    """A :class:`StreetNetwork` from a GeoDataFrame of street lines or an osmnx ``MultiDiGraph``.

    Parameters
    ----------
    data : GeoDataFrame or networkx.MultiDiGraph
        LineStrings in any declared CRS (cut at their crossings unless ``noded``; a ``highway``
        column, if any, drops ways closed to pedestrians), or an osmnx graph (with ``crs``).
    noded : bool
        The lines are split at their junctions already.
    """
    layer = _layer(argument)
    if is_graph(data):
        if data.number_of_edges() == 0:
            raise EmptyLayerError("the graph has no edges", layer=f"{argument}= (graph)")
        if "crs" not in data.graph:
            raise InputError("the graph has no 'crs' attribute", layer=f"{argument}= (graph)", field="crs")
        return _finish(_graph_edges(data), f"osmnx graph ({argument}=)", None, osm=True)
    if not is_frame(data):
        msg = f"{argument}= must be a path, a GeoDataFrame of street lines or an osmnx MultiDiGraph, got {type(data).__name__}"
        raise InputError(msg, layer=argument)
    if len(data) == 0:
        raise EmptyLayerError("the GeoDataFrame has no rows", layer=layer)
    require_crs(data, layer=layer)
    lines = data.explode(index_parts=False, ignore_index=True)
    kinds = set(lines.geometry.geom_type.dropna())
    if not kinds <= {"LineString"}:
        msg = f"a street network needs LineString geometries, found {sorted(kinds)}"
        raise FieldError(msg, layer=layer, field="geometry")
    lines = lines.loc[~lines.geometry.is_empty & lines.geometry.notna()]
    lines = lines.rename(columns={c: f"{c}_source" for c in ("u", "v") if c in lines.columns})
    return _finish(to_wgs84(lines), f"GeoDataFrame of street lines ({argument}=)", None, osm=False, noded=noded)


__all__ = [
    "FACILITY_COLUMNS",
    "POPULATION_COLUMNS",
    "WGS84",
    "facilities_from_frame",
    "is_frame",
    "is_graph",
    "network_from_data",
    "population_from_frame",
    "require_columns",
]
