"""Facilities in polygons: the facilities as labelled points with their areas (m²), and the polygon
each belongs to (the one its name column names, else the ones it lies in).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from analysis.spatial_join import points_in_polygons
from layers.errors import MissingCRSError


def prepare_facilities(facilities: gpd.GeoDataFrame, crs: CRS) -> gpd.GeoDataFrame:
    """Facilities as points in ``crs`` with ``kind``, ``label`` (name, id or row) and both area columns.

    Missing ``kind`` means ``other``; missing area columns are NaN (not assessable), never 0.
    """
    if facilities.crs is None:
        raise MissingCRSError(
            "the facility layer has no coordinate reference system", layer="facilities", field="geometry"
        )
    out = facilities.to_crs(crs).reset_index(drop=True).copy()
    geometry = out.geometry.to_numpy()
    not_point = shapely.get_type_id(geometry) != 0
    if not_point.any():
        geometry = geometry.copy()
        geometry[not_point] = shapely.point_on_surface(geometry[not_point])
        out = out.set_geometry(gpd.GeoSeries(geometry, crs=crs, index=out.index))
    if "kind" not in out.columns:
        out["kind"] = "other"
    out["kind"] = out["kind"].fillna("other").astype(str)
    for column in ("building_area_m2", "land_area_m2"):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype(float) if column in out.columns else np.nan
    names = out["name"] if "name" in out.columns else pd.Series(pd.NA, index=out.index)
    ids = out["facility_id"] if "facility_id" in out.columns else pd.Series(pd.NA, index=out.index)
    labels = []
    for i, (name, fid) in enumerate(zip(names.tolist(), ids.tolist(), strict=True)):
        if (
            name is not None
            and name is not pd.NA
            and not (isinstance(name, float) and math.isnan(name))
            and str(name).strip()
        ):
            labels.append(str(name).strip())
        elif fid is not None and fid is not pd.NA and not (isinstance(fid, float) and math.isnan(fid)):
            labels.append(str(fid))
        else:
            labels.append(f"facility {i + 1}")
    out["label"] = labels
    return out


def assign_facilities(
    polygons: np.ndarray, polygon_names: Sequence[str], facilities: gpd.GeoDataFrame, *, name_column: str
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Which facility belongs to which polygon: by ``name_column`` when filled, else by location.

    Returns
    -------
    (ndarray, ndarray, list of str)
        ``polygon_index``, ``facility_index`` pairs and notes (unknown names in ``name_column``).
    """
    notes: list[str] = []
    n = len(facilities)
    by_name = np.zeros(n, dtype=bool)
    named_poly: list[int] = []
    named_fac: list[int] = []
    if name_column in facilities.columns:
        lookup = {name: i for i, name in enumerate(polygon_names)}
        values = facilities[name_column].astype("string").str.strip()
        filled = values.notna() & (values.fillna("") != "")
        by_name = filled.to_numpy()
        unknown = sorted({str(v) for v in values[filled] if str(v) not in lookup})
        for i in np.flatnonzero(by_name):
            target = lookup.get(str(values.iloc[i]))
            if target is not None:
                named_poly.append(target)
                named_fac.append(int(i))
        if unknown:
            notes.append(
                f"{len(unknown)} {name_column} names in the facility layer match no {name_column}: "
                f"{', '.join(unknown[:5])}; those facilities belong to none"
            )
    spatial = np.flatnonzero(~by_name)
    poly_idx, point_idx = points_in_polygons(polygons, facilities.geometry.to_numpy()[spatial])
    polygon_index = np.concatenate([np.asarray(named_poly, dtype=np.int64), poly_idx])
    facility_index = np.concatenate([np.asarray(named_fac, dtype=np.int64), spatial[point_idx]])
    return polygon_index, facility_index, notes
