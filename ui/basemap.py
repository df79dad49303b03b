"""The street basemap drawn under every map (light-grey streets, simplified for display) and the
coordinate rounding shared by the displayed layers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from layers.defaults import MAX_DETAILED_EDGES
from layers.projection import WGS84

#: Rounding grid of displayed coordinates, degrees (1e-5° ≈ 1 m).
DISPLAY_GRID_DEG = 1e-5

BASEMAP_COLOUR = "#b8b8b8"


def rounded_geometry(geometry: gpd.GeoSeries, tolerance_deg: float) -> np.ndarray:
    geoms = shapely.simplify(geometry.to_numpy(), tolerance_deg, preserve_topology=True)
    return shapely.set_precision(geoms, DISPLAY_GRID_DEG)


@dataclass(frozen=True)
class Basemap:
    """The streets drawn under everything: GeoJSON, lon/lat bounds, whether it was coarsened."""

    geojson: dict
    bounds: tuple[float, float, float, float]
    coarse: bool
    edges: int


def basemap(edges: gpd.GeoDataFrame) -> Basemap:
    """The street edges as one light-grey multi-line feature (simplified to ~1 m, ~5 m when huge)."""
    coarse = len(edges) > MAX_DETAILED_EDGES
    wgs84 = edges.to_crs(WGS84)
    lines = rounded_geometry(wgs84.geometry, 5e-5 if coarse else 1e-5)
    lines = lines[~shapely.is_empty(lines)]
    merged = shapely.multilinestrings(list(shapely.get_parts(lines)))
    feature = {"type": "Feature", "properties": {}, "geometry": json.loads(shapely.to_geojson(merged))}
    bounds = tuple(float(v) for v in wgs84.total_bounds)
    return Basemap({"type": "FeatureCollection", "features": [feature]}, bounds, coarse, len(edges))
