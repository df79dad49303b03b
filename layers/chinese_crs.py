"""Chinese web-map coordinates (GCJ-02, BD-09) to and from WGS84.

Amap/Gaode, Tencent and Google China serve GCJ-02 ("Mars") coordinates, Baidu serves BD-09. Both
are WGS84 longitude/latitude in degrees with a deliberate, smoothly varying offset of a few hundred
metres, so a layer taken from them is usually declared EPSG:4326 but sits ~0.5 km off OSM and
WorldPop. The forward formulas are the widely published ones (eviltransform / coordtransform:
Krasovsky semi-major axis ``a = 6378245.0 m``, ``ee = 0.00669342162296594323``,
``x_pi = pi * 3000 / 180``); the inverses are solved iteratively to well under a metre.

All point functions take and return longitude, latitude in degrees, work element-wise on numpy
arrays (any broadcastable shapes, scalars allowed) and return points outside the rough
mainland-China box (lon 72.004–137.8347°, lat 0.8293–55.8271°) unchanged, since no offset is
applied there.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS

from layers.errors import CoordinateError, InputError
from layers.projection import check_lonlat_range, to_wgs84

__all__ = [
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "convert_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "out_of_china",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

_A = 6378245.0  # semi-major axis of the Krasovsky 1940 ellipsoid used by GCJ-02, metres
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0  # BD-09 constant
_TOL_DEG = 1e-9  # stop the inverse iteration when a step is below this (≈0.1 mm)
_MAX_ITER = 30

Pair = tuple[NDArray[np.float64], NDArray[np.float64]]


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Return True where a point lies outside the rough mainland-China box.

    Parameters
    ----------
    lon, lat : array_like
        Longitude and latitude in degrees.

    Returns
    -------
    numpy.ndarray of bool
        True for points no Chinese offset applies to (lon outside 72.004–137.8347°
        or lat outside 0.8293–55.8271°).
    """
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _gcj_offset(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> Pair:
    """GCJ-02 minus WGS84 at WGS84 ``lon, lat`` (degrees), everywhere (no China test)."""
    x, y = lon - 105.0, lat - 35.0
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    sqrt_abs_x = np.sqrt(np.abs(x))

    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0

    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0

    radlat = np.radians(lat)
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(radlat) * np.pi)
    return dlon, dlat


def _bd_forward(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> Pair:
    """BD-09 of GCJ-02 ``lon, lat`` (degrees), everywhere (no China test)."""
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _invert(
    forward: Callable[[NDArray[np.float64], NDArray[np.float64]], Pair],
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    guess: Pair,
    outside: NDArray[np.bool_],
) -> Pair:
    """Solve ``forward(x, y) == (lon, lat)`` by fixed-point iteration from ``guess``.

    Each step moves the estimate by the misfit of its forward transform; the offsets vary so
    slowly that this converges geometrically. Stops when every step inside China is below
    1e-9 degrees (about 0.1 mm) or after 30 iterations. NaN input stays NaN.
    """
    x, y = guess
    for _ in range(_MAX_ITER):
        fx, fy = forward(x, y)
        step_x, step_y = lon - fx, lat - fy
        x, y = x + step_x, y + step_y
        step = np.maximum(np.abs(step_x), np.abs(step_y))[~outside]
        if not np.any(step >= _TOL_DEG):  # NaN steps compare False and do not block stopping
            break
    return x, y


def _prepare(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray, NDArray[np.bool_]]:
    """Float arrays of a common shape, and the outside-China mask."""
    lon, lat = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return lon, lat, out_of_china(lon, lat)


def _finish(lon: NDArray, lat: NDArray, new_lon: NDArray, new_lat: NDArray, outside: NDArray) -> Pair:
    """Keep points outside China as they were; return numpy scalars for 0-d input."""
    new_lon = np.where(outside, lon, new_lon)
    new_lat = np.where(outside, lat, new_lat)
    return new_lon[()], new_lat[()]


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Convert WGS84 to GCJ-02 (the published forward formula).

    Parameters
    ----------
    lon, lat : array_like
        WGS84 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        GCJ-02 longitude and latitude in degrees (unchanged outside China).
    """
    lon, lat, outside = _prepare(lon, lat)
    dlon, dlat = _gcj_offset(lon, lat)
    return _finish(lon, lat, lon + dlon, lat + dlat, outside)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Convert GCJ-02 to WGS84 by inverting the forward formula iteratively.

    Starting from the GCJ-02 point, the WGS84 estimate is corrected by the misfit of its forward
    transform until every step is below 1e-9° (≈0.1 mm) or after 30 iterations; the result is
    within millimetres of the exact inverse (the common one-step approximation is up to ~4 m off).

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        WGS84 longitude and latitude in degrees (unchanged outside China).
    """
    lon, lat, outside = _prepare(lon, lat)

    def forward(x: NDArray[np.float64], y: NDArray[np.float64]) -> Pair:
        dx, dy = _gcj_offset(x, y)
        return x + dx, y + dy

    return _finish(lon, lat, *_invert(forward, lon, lat, (lon, lat), outside), outside)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Convert GCJ-02 to BD-09 (Baidu; the published forward formula).

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        BD-09 longitude and latitude in degrees (unchanged outside China).
    """
    lon, lat, outside = _prepare(lon, lat)
    return _finish(lon, lat, *_bd_forward(lon, lat), outside)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Convert BD-09 to GCJ-02: the published closed form, refined iteratively.

    Parameters
    ----------
    lon, lat : array_like
        BD-09 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        GCJ-02 longitude and latitude in degrees (unchanged outside China). The closed form
        alone is up to ~0.2 m off the exact inverse of :func:`gcj02_to_bd09`; the refinement
        removes that.
    """
    lon, lat, outside = _prepare(lon, lat)
    x, y = lon - 0.0065, lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    guess = (z * np.cos(theta), z * np.sin(theta))
    return _finish(lon, lat, *_invert(_bd_forward, lon, lat, guess, outside), outside)


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Convert BD-09 to WGS84 (BD-09 → GCJ-02 → WGS84).

    Parameters
    ----------
    lon, lat : array_like
        BD-09 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        WGS84 longitude and latitude in degrees (unchanged outside China).
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Convert WGS84 to BD-09 (WGS84 → GCJ-02 → BD-09).

    Parameters
    ----------
    lon, lat : array_like
        WGS84 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        BD-09 longitude and latitude in degrees (unchanged outside China).
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


_TO_WGS84 = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
_ALIASES = {
    "gcj02": "gcj02", "gcj-02": "gcj02", "gcj": "gcj02",
    "bd09": "bd09", "bd-09": "bd09", "bd09ll": "bd09",
    "wgs84": "wgs84", "wgs-84": "wgs84", "epsg:4326": "wgs84",
}  # fmt: skip


def convert_to_wgs84(
    gdf: gpd.GeoDataFrame,
    source: str,
    *,
    file: str | Path | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Return a copy of ``gdf`` with GCJ-02 or BD-09 coordinates moved to WGS84.

    Every vertex of every geometry type is converted (Z values are kept); other columns are
    untouched.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Layer whose coordinates are GCJ-02 or BD-09 longitude/latitude in degrees. It must be
        declared EPSG:4326 (as such data usually are) or have no CRS.
    source : str
        ``"gcj02"`` or ``"bd09"`` (case-insensitive, ``"gcj-02"``/``"bd-09"`` accepted);
        ``"wgs84"`` or ``"epsg:4326"`` means no offset: the layer is only declared EPSG:4326
        (or, if declared in another CRS, transformed to it as usual).
    file, layer : optional
        Where the layer came from, named in error messages.

    Returns
    -------
    geopandas.GeoDataFrame
        The converted layer, declared EPSG:4326.

    Raises
    ------
    InputError
        ``source`` is not one of the names above.
    CoordinateError
        For GCJ-02/BD-09: the layer is declared in a projected (or other non-EPSG:4326) CRS.
        For any source: its coordinates are not longitude/latitude degrees.
    """
    key = _ALIASES.get(str(source).strip().lower())
    if key is None:
        msg = f"unknown coordinate source {source!r}; use 'gcj02' (Amap/Tencent), 'bd09' (Baidu) or 'wgs84'"
        raise InputError(msg, file=file, layer=layer)

    if key == "wgs84" and gdf.crs is not None:
        return to_wgs84(gdf).copy()
    if gdf.crs is not None:  # GCJ-02 or BD-09 from here on
        crs = CRS(gdf.crs)
        if crs.is_projected:
            msg = (
                f"the layer is declared in the projected CRS {crs.to_string()}, but GCJ-02/BD-09 "
                "coordinates are longitude/latitude degrees; convert the original degree data"
            )
            raise CoordinateError(msg, file=file, layer=layer, field="geometry")
        if not crs.equals(CRS("EPSG:4326"), ignore_axis_order=True):
            msg = (
                f"the layer is declared in {crs.to_string()}; GCJ-02/BD-09 layers must be declared "
                "EPSG:4326 (as web-map exports are) or have no CRS"
            )
            raise CoordinateError(msg, file=file, layer=layer, field="geometry")

    out = gdf.copy()
    if len(out) and not out.geometry.is_empty.all():
        xmin, ymin, xmax, ymax = out.geometry.total_bounds
        check_lonlat_range(np.array([xmin, xmax]), np.array([ymin, ymax]), file=file, layer=layer)

    func = _TO_WGS84.get(key)
    if func is not None:

        def _convert(coords: NDArray[np.float64]) -> NDArray[np.float64]:
            coords = coords.copy()
            coords[:, 0], coords[:, 1] = func(coords[:, 0], coords[:, 1])
            return coords

        geoms = shapely.transform(np.asarray(out.geometry.values), _convert, include_z=None)
        out[out.geometry.name] = gpd.GeoSeries(geoms, index=out.index, crs="EPSG:4326")
    return out.set_crs("EPSG:4326", allow_override=True)
