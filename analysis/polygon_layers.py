"""Polygon layers (districts, townships, communities): reading, checking, names, counts and overlaps.

:func:`read_vector_layer` reads one layer of a vector file; :func:`normalise_polygon_layer` checks its
polygons and returns them in EPSG:4326; :func:`count_column` and :func:`unique_names` clean its count
and name columns; :func:`metric_crs_for` picks the metric CRS to measure in (m, m²);
:func:`overlapping_pairs` and :func:`overlap_notes` find and describe polygons that overlap.
Shared by the district and township checks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely
from pyproj import CRS

from analysis.message_format import fmt_number, fmt_share
from coverage.circles import CoverageResult
from layers.database import is_database_uri, read_database_layer
from layers.defaults import OVERLAP_TOLERANCE
from layers.errors import EmptyLayerError, FieldError, GeometryError, InputError
from layers.projection import check_lonlat_range, local_metric_crs, require_crs, to_wgs84
from layers.vector import resolve_layer

PathLike = str | Path


_POLYGON_TYPE_IDS = (3, 6)  # shapely type ids of Polygon and MultiPolygon


def read_vector_layer(
    path: PathLike, *, layer: str | None, what: str, option: str | None = None
) -> tuple[gpd.GeoDataFrame, Path, str]:
    """Read one layer of a vector file, naming the file and layer in every error.

    Parameters
    ----------
    path : str or Path
        GeoPackage, GeoJSON, Shapefile, zipped Shapefile or FlatGeobuf.
    layer : str, optional
        Layer to read; needed only when the file holds several.
    what : str
        What the layer holds (``"district"``), for the messages.
    option : str, optional
        The command-line flag choosing the layer (``"--districts-layer"``), named in the messages.

    Returns
    -------
    (GeoDataFrame, Path, str)
        The features as read, the file and the layer name.
    """
    if is_database_uri(path):  # a PostGIS table (layers.database): checked like a file's layer
        frame, label, where = read_database_layer(str(path), layer, what=what)
        return frame, Path(label), where
    file = Path(path)
    if not file.is_file():
        raise InputError(f"the {what} file does not exist: check the path", file=file)
    layer = resolve_layer(file, layer, what=what, option=option)
    try:
        frame = gpd.read_file(file, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as error:
        raise InputError(f"cannot read the layer ({error})", file=file, layer=layer) from None
    return frame, file, layer


def normalise_polygon_layer(
    frame: gpd.GeoDataFrame, *, file: PathLike | None = None, layer: str | None = None, what: str = "polygon"
) -> gpd.GeoDataFrame:
    """Check a polygon layer and return it in EPSG:4326.

    Parameters
    ----------
    frame : GeoDataFrame
        Polygons or multipolygons in any declared CRS.
    file, layer : optional
        Where the layer came from, for the error messages.
    what : str
        What one feature is (``"district"``, ``"township"``), for the messages.

    Returns
    -------
    GeoDataFrame
        The same rows (index reset) in EPSG:4326.

    Raises
    ------
    EmptyLayerError
        No features.
    MissingCRSError
        No CRS (never assumed).
    GeometryError
        Missing, empty, invalid or non-polygon geometries (rows listed). Invalid polygons are not
        repaired silently: a self-intersecting boundary changes the area the quotas are about.
    CoordinateError
        The coordinates are not lon/lat after transforming to EPSG:4326.
    """
    layer_name = layer or f"{what}s"
    if len(frame) == 0:
        raise EmptyLayerError(f"the {what} layer has no features", file=file, layer=layer_name)
    require_crs(frame, file=file, layer=layer_name)
    geometry = frame.geometry.to_numpy()
    missing = shapely.is_missing(geometry) | shapely.is_empty(geometry)
    if missing.any():
        rows = np.flatnonzero(missing)[:5].tolist()
        msg = f"{int(missing.sum())} {what}s have no geometry (missing or empty; rows {rows}): give each its polygon"
        raise GeometryError(msg, file=file, layer=layer_name, field="geometry")
    not_polygon = ~np.isin(shapely.get_type_id(geometry), _POLYGON_TYPE_IDS)
    if not_polygon.any():
        types = sorted(set(shapely.get_type_id(geometry[not_polygon]).tolist()))
        names = ", ".join(shapely.GeometryType(t).name.title().replace("string", "String") for t in types)
        rows = np.flatnonzero(not_polygon)[:5].tolist()
        msg = f"{int(not_polygon.sum())} {what}s are {names} (rows {rows}); {what}s must be polygons"
        raise GeometryError(msg, file=file, layer=layer_name, field="geometry")
    invalid = ~shapely.is_valid(geometry)
    if invalid.any():
        rows = np.flatnonzero(invalid)[:5].tolist()
        reason = shapely.is_valid_reason(geometry[invalid][0])
        msg = (
            f"{int(invalid.sum())} {what} polygons are invalid (rows {rows}; first: {reason}); "
            "fix them in a GIS (e.g. QGIS 'Fix geometries' or shapely.make_valid) and check their area"
        )
        raise GeometryError(msg, file=file, layer=layer_name, field="geometry")
    out = to_wgs84(frame.reset_index(drop=True))
    x0, y0, x1, y1 = out.total_bounds
    check_lonlat_range(np.array([x0, x1]), np.array([y0, y1]), file=file, layer=layer_name)
    return out


def count_column(
    frame: pd.DataFrame, column: str, *, file: PathLike | None = None, layer: str | None = None, what: str = "count"
) -> pd.Series:
    """Return a column of counts as float64, NaN where empty.

    Raises
    ------
    FieldError
        Non-numeric, infinite or negative values (naming the column and a few of them).
    """
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    text = raw.astype("string").str.strip()
    bad = values.isna() & raw.notna() & (text.fillna("") != "")
    if bad.any():
        sample = raw[bad].astype(str).head(3).tolist()
        raise FieldError(f"non-numeric {what} {sample}", file=file, layer=layer, field=str(column))
    values = values.astype(float)
    if np.isinf(values).any():
        raise FieldError(f"infinite {what}", file=file, layer=layer, field=str(column))
    negative = values < 0
    if negative.any():
        rows = np.flatnonzero(negative.to_numpy())[:5].tolist()
        raise FieldError(f"negative {what} in rows {rows}", file=file, layer=layer, field=str(column))
    return values


def unique_names(names: Sequence[object], *, prefix: str) -> tuple[list[str], list[str]]:
    """Return names as strings, filling blanks with ``"<prefix> <row>"`` and numbering duplicates.

    Returns
    -------
    (list of str, list of str)
        The names and notes saying what was filled or renamed.
    """
    out: list[str] = []
    notes: list[str] = []
    blanks = 0
    for i, name in enumerate(names):
        text = (
            "" if name is None or (isinstance(name, float) and math.isnan(name)) or name is pd.NA else str(name).strip()
        )
        if not text:
            text = f"{prefix} {i + 1}"
            blanks += 1
        out.append(text)
    if blanks:
        notes.append(f"{blanks} {prefix}s have no name and are called '{prefix} <row>'")
    seen: dict[str, int] = {}
    renamed = []
    for i, name in enumerate(out):
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            out[i] = f"{name} #{seen[name]}"
            renamed.append(name)
    if renamed:
        notes.append(f"duplicate {prefix} names numbered '#2', '#3', ...: {', '.join(sorted(set(renamed)))}")
    return out, notes


def metric_crs_for(frame: gpd.GeoDataFrame, coverage: CoverageResult | None) -> CRS:
    """The metric CRS to measure in: the walking graph's, else ``frame``'s own when it is in
    metres, else the local UTM zone of ``frame``."""
    if coverage is not None:
        return CRS(coverage.graph.crs)
    if frame.crs is not None:
        crs = CRS(frame.crs)
        if crs.is_projected and crs.axis_info and crs.axis_info[0].unit_name in ("metre", "meter"):
            return crs
    return local_metric_crs(frame)


def overlapping_pairs(
    polygons: np.ndarray, names: Sequence[str], *, tolerance: float = OVERLAP_TOLERANCE
) -> pd.DataFrame:
    """Pairs of polygons that overlap by more than ``tolerance`` of the smaller one.

    Candidate pairs come from one STRtree query (not a loop over all pairs); only those are
    intersected.

    Parameters
    ----------
    polygons : ndarray of shapely polygons
        In a metric CRS (areas in m²).
    names : sequence of str
        Name of each polygon.
    tolerance : float
        Share (0-1) of the smaller polygon's area above which a pair is reported.

    Returns
    -------
    DataFrame
        Columns ``a``, ``b`` (names), ``overlap_m2`` and ``share_of_smaller`` (0-1).
    """
    columns = ["a", "b", "overlap_m2", "share_of_smaller"]
    polygons = np.asarray(polygons, dtype=object)
    if len(polygons) < 2:
        return pd.DataFrame(columns=columns)
    tree = shapely.STRtree(polygons)
    left, right = tree.query(polygons, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if left.size == 0:
        return pd.DataFrame(columns=columns)
    overlap = shapely.area(shapely.intersection(polygons[left], polygons[right]))
    areas = shapely.area(polygons)
    smaller = np.minimum(areas[left], areas[right])
    share = np.divide(overlap, smaller, out=np.zeros_like(overlap), where=smaller > 0)
    big = share > tolerance
    names = np.asarray(list(names), dtype=object)
    return pd.DataFrame(
        {"a": names[left[big]], "b": names[right[big]], "overlap_m2": overlap[big], "share_of_smaller": share[big]}
    )


def overlap_notes(pairs: pd.DataFrame, what: str) -> list[str]:
    """One note per overlapping pair (decision: check each polygon whole, count shared things twice)."""
    notes = []
    for row in pairs.itertuples(index=False):
        notes.append(
            f"{what}s '{row.a}' and '{row.b}' overlap by {fmt_number(row.overlap_m2)} m² "
            f"({fmt_share(row.share_of_smaller)} of the smaller): each is checked whole, so facilities and "
            "residents in the overlap count for both; fix the boundaries if they should not overlap"
        )
    return notes
