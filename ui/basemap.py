"""The offline basemap drawn under every map: land use, water, building footprints and streets from
the loaded extract (light colours, simplified for display), and the coordinate rounding shared by
the displayed layers.

Each class is merged into one multi-geometry feature, so Leaflet draws a handful of SVG paths
however many parks or buildings the extract has; huge extracts are capped
(:data:`layers.defaults.MAX_BASEMAP_BUILDINGS`, :data:`~layers.defaults.MAX_BASEMAP_AREAS`: the
largest are kept) and simplified more coarsely. Display only: no number of the analysis uses it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely

from layers.defaults import MAX_BASEMAP_AREAS, MAX_BASEMAP_BUILDINGS, MAX_DETAILED_EDGES
from layers.osm_context import OsmContext
from layers.projection import WGS84

#: Rounding grid of displayed coordinates, degrees (1e-5° ≈ 1 m).
DISPLAY_GRID_DEG = 1e-5

BASEMAP_COLOUR = "#b8b8b8"

#: Fill and outline of each basemap class, drawn in this order (first = lowest).
CONTEXT_STYLES: dict[str, dict[str, str]] = {
    "residential": {"fill": "#efe4d9", "line": "#e2d3c4", "label": "Residential land"},
    "commercial": {"fill": "#f6dde0", "line": "#ebc7cc", "label": "Commercial land"},
    "industrial": {"fill": "#e9def0", "line": "#d9c9e3", "label": "Industrial land"},
    "green": {"fill": "#cfe8bf", "line": "#b5d9a1", "label": "Parks and green"},
    "water": {"fill": "#aad3df", "line": "#8cc0d2", "label": "Water"},
    "waterways": {"fill": "none", "line": "#7fb8cf", "label": "Water"},
    "buildings": {"fill": "#ddd5ce", "line": "#c8bcb1", "label": "Buildings"},
}
#: Which map layer (layer switcher entry) each class belongs to.
CONTEXT_GROUPS: dict[str, tuple[str, ...]] = {
    "Land use": ("residential", "commercial", "industrial", "green"),
    "Water": ("water", "waterways"),
    "Buildings": ("buildings",),
}


def rounded_geometry(geometry: gpd.GeoSeries, tolerance_deg: float) -> np.ndarray:
    geoms = shapely.simplify(geometry.to_numpy(), tolerance_deg, preserve_topology=True)
    return shapely.set_precision(geoms, DISPLAY_GRID_DEG)


@dataclass(frozen=True)
class ContextLayers:
    """Land use, water and buildings ready to draw: one GeoJSON feature per class.

    Attributes
    ----------
    features : dict
        Class (a key of :data:`CONTEXT_STYLES`) → GeoJSON Feature (a multi-geometry); classes
        without features are absent.
    counts : dict
        Features of the extract per class (before any cap).
    dropped : dict
        Features left off the display per class by the caps (0 when none was).
    """

    features: dict[str, dict] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.features


def _largest(frame: gpd.GeoDataFrame, cap: int) -> tuple[gpd.GeoDataFrame, int]:
    """The ``cap`` largest polygons of ``frame`` (by area in degrees², enough to rank), and how many were left off."""
    if len(frame) <= cap:
        return frame, 0
    order = np.argsort(-shapely.area(frame.geometry.to_numpy()), kind="stable")[:cap]
    return frame.iloc[np.sort(order)], len(frame) - cap


def _merged_feature(geoms: np.ndarray, tolerance_deg: float, *, lines: bool) -> dict | None:
    geoms = shapely.set_precision(shapely.simplify(geoms, tolerance_deg, preserve_topology=True), DISPLAY_GRID_DEG, mode="pointwise")
    parts = shapely.get_parts(geoms[~shapely.is_empty(geoms)])
    if lines:
        parts = parts[np.isin(shapely.get_type_id(parts), (1,))]
        merged = shapely.multilinestrings(list(parts)) if parts.size else None
    else:
        parts = parts[np.isin(shapely.get_type_id(parts), (3,))]
        parts = parts[shapely.area(parts) > 0]
        merged = shapely.multipolygons(list(shapely.orient_polygons(parts))) if parts.size else None
    if merged is None or merged.is_empty:
        return None
    return {"type": "Feature", "properties": {}, "geometry": json.loads(shapely.to_geojson(merged))}


def context_layers(context: OsmContext | None) -> ContextLayers:
    """The basemap classes of an extract's context layers, capped and simplified for display.

    Parameters
    ----------
    context : OsmContext or None
        :func:`layers.osm_context.read_osm_context` of the network file; ``None`` or empty gives an
        empty basemap (streets only).
    """
    if context is None or context.empty:
        return ContextLayers()
    counts = context.counts()
    features: dict[str, dict] = {}
    dropped: dict[str, int] = {}
    land = context.land.to_crs(WGS84)
    land, dropped_land = _largest(land, MAX_BASEMAP_AREAS)
    areas_coarse = dropped_land > 0
    for name in ("residential", "commercial", "industrial", "green", "water"):
        shown = land.loc[land["land_class"] == name]
        dropped[name] = 0
        if len(shown):
            feature = _merged_feature(shown.geometry.to_numpy(), 5e-5 if areas_coarse else 1.5e-5, lines=False)
            if feature is not None:
                features[name] = feature
    dropped["land"] = dropped_land
    if len(context.waterways):
        feature = _merged_feature(context.waterways.to_crs(WGS84).geometry.to_numpy(), 2e-5, lines=True)
        if feature is not None:
            features["waterways"] = feature
    buildings, dropped["buildings"] = _largest(context.buildings.to_crs(WGS84), MAX_BASEMAP_BUILDINGS)
    if len(buildings):
        feature = _merged_feature(buildings.geometry.to_numpy(), 3e-5 if dropped["buildings"] else 1e-5, lines=False)
        if feature is not None:
            features["buildings"] = feature
    return ContextLayers(features=features, counts=counts, dropped=dropped)


@dataclass(frozen=True)
class Basemap:
    """What is drawn under everything: the streets as GeoJSON, lon/lat bounds, whether they were
    coarsened, and the extract's land use, water and buildings (:class:`ContextLayers`)."""

    geojson: dict
    bounds: tuple[float, float, float, float]
    coarse: bool
    edges: int
    context: ContextLayers = field(default_factory=ContextLayers)


def basemap(edges: gpd.GeoDataFrame, context: OsmContext | None = None) -> Basemap:
    """The street edges as one light-grey multi-line feature (simplified to ~1 m, ~5 m when huge),
    with the context layers of the extract (:func:`context_layers`) when given."""
    coarse = len(edges) > MAX_DETAILED_EDGES
    wgs84 = edges.to_crs(WGS84)
    lines = rounded_geometry(wgs84.geometry, 5e-5 if coarse else 1e-5)
    lines = lines[~shapely.is_empty(lines)]
    merged = shapely.multilinestrings(list(shapely.get_parts(lines)))
    feature = {"type": "Feature", "properties": {}, "geometry": json.loads(shapely.to_geojson(merged))}
    bounds = tuple(float(v) for v in wgs84.total_bounds)
    return Basemap({"type": "FeatureCollection", "features": [feature]}, bounds, coarse, len(edges), context_layers(context))
