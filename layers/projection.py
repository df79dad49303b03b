"""Coordinate systems: check that a layer has one, pick a local metric CRS, go back to WGS84."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
from pyproj import CRS

from layers.errors import CoordinateError, MissingCRSError

WGS84 = "EPSG:4326"


def require_crs(gdf: gpd.GeoDataFrame, *, file: str | Path | None = None, layer: str | None = None) -> None:
    """Raise :class:`MissingCRSError` when ``gdf`` has no CRS (never assume one)."""
    if gdf.crs is None:
        msg = (
            "the layer has no coordinate reference system; set one in the file "
            "(e.g. save it with EPSG:4326) or pass the CRS option"
        )
        raise MissingCRSError(msg, file=file, layer=layer, field="geometry")


def check_lonlat_range(
    lon: np.ndarray, lat: np.ndarray, *, file: str | Path | None = None, layer: str | None = None
) -> None:
    """Raise :class:`CoordinateError` when geographic coordinates are impossible.

    Latitudes outside ±90° (but inside ±180°) almost always mean the columns are swapped.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    finite = np.isfinite(lon) & np.isfinite(lat)
    if np.any(np.abs(lat[finite]) > 90):
        if np.all(np.abs(lon[finite]) <= 90) and np.all(np.abs(lat[finite]) <= 180):
            msg = "latitudes outside ±90°: longitude and latitude look swapped (x must be longitude)"
        else:
            msg = "latitudes outside ±90°: these are not degrees; is the layer in a projected CRS?"
        raise CoordinateError(msg, file=file, layer=layer, field="geometry")
    if np.any(np.abs(lon[finite]) > 180):
        msg = "longitudes outside ±180°: these are not degrees; is the layer in a projected CRS?"
        raise CoordinateError(msg, file=file, layer=layer, field="geometry")


def to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return ``gdf`` in EPSG:4326 (CGCS2000 / EPSG:4490 is transformed as what it is)."""
    if gdf.crs is not None and CRS(gdf.crs).equals(CRS(WGS84)):
        return gdf
    return gdf.to_crs(WGS84)


def local_metric_crs(gdf: gpd.GeoDataFrame) -> CRS:
    """Return the UTM zone CRS (metres) that holds the centre of ``gdf``."""
    crs = gdf.estimate_utm_crs()
    if crs is None:  # pragma: no cover - only for empty layers, caught earlier
        msg = "cannot choose a local metric CRS for an empty layer"
        raise CoordinateError(msg)
    return crs
