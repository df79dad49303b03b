"""Coordinate systems: check that a layer has one, pick a local metric CRS, go back to WGS84."""

from __future__ import annotations

from functools import cache
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


@cache
def _utm_zone_bounds() -> tuple[tuple[float, float, float, float], ...]:
    """Areas of use (west, south, east, north; degrees) of every WGS 84 UTM zone in PROJ's database."""
    from pyproj.database import query_utm_crs_info

    return tuple(tuple(info.area_of_use.bounds) for info in query_utm_crs_info(datum_name="WGS 84"))


#: UTM CRS already chosen, by the set of zones whose area of use holds the layer's centre.
_UTM_BY_ZONES: dict[tuple[int, ...], CRS] = {}


def _zones_holding(lon: float, lat: float) -> tuple[int, ...] | None:
    """Indices of the UTM zones whose area of use holds the point; None near any zone's edge."""
    zones = []
    for i, (west, south, east, north) in enumerate(_utm_zone_bounds()):
        if west > east or min(abs(lon - west), abs(lon - east), abs(lat - south), abs(lat - north)) < 1e-7:
            return None  # on an edge PROJ's own test decides: no shortcut
        if west < lon < east and south < lat < north:
            zones.append(i)
    return tuple(zones)


def local_metric_crs(gdf: gpd.GeoDataFrame) -> CRS:
    """Return the UTM zone CRS (metres) that holds the centre of ``gdf``.

    The answer is :meth:`geopandas.GeoDataFrame.estimate_utm_crs`'s (the first UTM zone of
    PROJ's database whose area of use holds the centre of the layer's bounds). That database query
    costs ~0.15 s, so for layers in degrees it is asked once per set of zones holding the centre
    and reused for every later layer whose centre lies in the same zones (away from their edges,
    where PROJ is asked again): a batch of many areas asks once per UTM zone.
    """
    zones = None
    if gdf.crs is not None and CRS(gdf.crs).is_geographic and len(gdf):
        minx, miny, maxx, maxy = gdf.total_bounds
        lon, lat = (minx + maxx) / 2.0, (miny + maxy) / 2.0
        zones = _zones_holding(lon, lat) if np.isfinite(lon) and np.isfinite(lat) else None
    if zones and zones in _UTM_BY_ZONES:
        return _UTM_BY_ZONES[zones]
    crs = gdf.estimate_utm_crs()
    if zones and crs is not None:
        _UTM_BY_ZONES[zones] = crs
    if crs is None:  # pragma: no cover - only for empty layers, caught earlier
        msg = "cannot choose a local metric CRS for an empty layer"
        raise CoordinateError(msg)
    return crs
