"""Which points and population units lie in which polygons: STRtree queries, all in one metric CRS.

:func:`points_in_polygons` pairs points with the polygons that hold them; :func:`unit_weights` gives
the share (0-1) of each population unit inside each polygon, by area for polygon units.
"""

from __future__ import annotations

import numpy as np
import shapely


def points_in_polygons(polygons: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which point lies in which polygon (both in one CRS), by an STRtree query.

    Returns
    -------
    (ndarray, ndarray) of int64
        ``polygon_index``, ``point_index`` of every (polygon, point) pair where the point
        intersects the polygon (a point on a shared edge belongs to both).
    """
    if len(polygons) == 0 or len(points) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    tree = shapely.STRtree(np.asarray(polygons, dtype=object))
    point_index, polygon_index = tree.query(np.asarray(points, dtype=object), predicate="intersects")
    order = np.lexsort((point_index, polygon_index))
    return polygon_index[order].astype(np.int64), point_index[order].astype(np.int64)


def unit_weights(polygons: np.ndarray, units: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Share of each population unit inside each polygon (area-weighted for polygon units).

    Points count whole in the polygon that holds them; a polygon unit (building, census block)
    counts by the share of its area inside. Both in the same metric CRS.

    Returns
    -------
    (ndarray, ndarray, ndarray)
        ``polygon_index``, ``unit_index`` (int64) and ``weight`` (0-1) of every overlapping pair.
    """
    polygons = np.asarray(polygons, dtype=object)
    units = np.asarray(units, dtype=object)
    if len(polygons) == 0 or len(units) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0)
    tree = shapely.STRtree(polygons)
    unit_index, polygon_index = tree.query(units, predicate="intersects")
    weight = np.ones(unit_index.size)
    unit_area = shapely.area(units)
    areal = unit_area[unit_index] > 0
    if areal.any():
        pieces = shapely.intersection(units[unit_index[areal]], polygons[polygon_index[areal]])
        weight[areal] = shapely.area(pieces) / unit_area[unit_index[areal]]
    keep = weight > 0
    return polygon_index[keep].astype(np.int64), unit_index[keep].astype(np.int64), weight[keep]
