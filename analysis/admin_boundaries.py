"""Township stand-ins from OpenStreetMap administrative boundaries, when no township layer is given.

:func:`osm_admin_boundaries` reads the ``boundary=administrative`` polygons of an ``.osm.pbf``
extract with pyrosm; :func:`finest_admin_split` keeps the finest ``admin_level`` that splits the
area into two pieces or more, each covering more than :data:`MIN_PIECE_SHARE` (0-1) of its extent.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis.township_layers import is_rural
from layers.defaults import MIN_PIECE_SHARE
from layers.errors import InputError
from layers.projection import WGS84, to_wgs84

PathLike = str | Path


def finest_admin_split(
    boundaries: gpd.GeoDataFrame, extent: tuple[float, float, float, float] | None = None
) -> gpd.GeoDataFrame | None:
    """The boundaries of the finest ``admin_level`` that splits an area into two pieces or more.

    Parameters
    ----------
    boundaries : GeoDataFrame
        Administrative boundaries with ``admin_level`` and ``name`` (pyrosm ``get_boundaries``).
    extent : tuple of float, optional
        ``(min_lon, min_lat, max_lon, max_lat)`` of the area (e.g. the street network's bounds):
        a boundary is a piece when it covers more than :data:`MIN_PIECE_SHARE` of it. ``None``:
        every polygon counts (pyrosm keeps only boundaries with members in the extract).

    Returns
    -------
    GeoDataFrame or None
        ``township`` (name), ``admin_level`` (int), ``osm_id``, ``rural_town`` and polygons in
        EPSG:4326, whole (not clipped to the extent); None when no level has two pieces.
    """
    if boundaries is None or len(boundaries) == 0:
        return None
    frame = to_wgs84(boundaries) if boundaries.crs is not None else boundaries.set_crs(WGS84)
    geometry = frame.geometry.to_numpy()
    geometry = np.where(shapely.is_valid(geometry), geometry, shapely.make_valid(geometry))
    polygonal = shapely.get_parts(geometry, return_index=True)
    parts, owner = polygonal
    keep_parts = np.isin(shapely.get_type_id(parts), (3, 6))
    merged = np.full(len(frame), None, dtype=object)
    for i in np.unique(owner[keep_parts]):
        merged[i] = shapely.union_all(parts[keep_parts & (owner == i)])
    level = pd.to_numeric(frame.get("admin_level", pd.Series(np.nan, index=frame.index)), errors="coerce").to_numpy()
    usable = np.array([g is not None and not g.is_empty for g in merged]) & np.isfinite(level)
    if not usable.any():
        return None
    pieces = usable.copy()
    if extent is not None:
        box = gpd.GeoSeries([shapely.box(*extent)], crs=WGS84)
        metric = box.estimate_utm_crs()
        box_m = box.to_crs(metric).iloc[0]
        shapes = gpd.GeoSeries(np.where(usable, merged, shapely.Point()), crs=WGS84).to_crs(metric).to_numpy()
        covered = shapely.area(shapely.intersection(shapes, box_m)) / box_m.area
        pieces &= covered > MIN_PIECE_SHARE
    for admin_level in sorted(set(level[pieces].astype(int).tolist()), reverse=True):
        chosen = pieces & (level == admin_level)
        if chosen.sum() >= 2:
            sub = frame.loc[chosen]
            osm_ids = sub["id"].to_numpy() if "id" in sub.columns else np.full(int(chosen.sum()), None)
            raw_names = sub["name"].tolist() if "name" in sub.columns else [None] * int(chosen.sum())
            names = [
                str(n)
                if n is not None and n is not pd.NA and str(n).strip() and str(n) != "nan"
                else f"OSM boundary {i}"
                for n, i in zip(raw_names, osm_ids, strict=True)
            ]
            out = gpd.GeoDataFrame(
                {"township": names, "admin_level": admin_level, "osm_id": osm_ids},
                geometry=list(merged[chosen]),
                crs=WGS84,
            )
            out["rural_town"] = is_rural(out["township"].tolist(), None)
            return out.reset_index(drop=True)
    return None


def osm_admin_boundaries(
    pbf_path: PathLike, *, extent: tuple[float, float, float, float] | None = None
) -> gpd.GeoDataFrame | None:
    """Township stand-ins from an OSM extract's administrative boundaries (when no layer is given).

    Reads ``boundary=administrative`` relations and closed ways with pyrosm
    (``OSM(path).get_boundaries()``) and keeps the finest ``admin_level`` that splits the extract
    into two pieces or more (:func:`finest_admin_split`). In China townships and streets are
    usually ``admin_level=8``, districts 6. The result's ``attrs["notes"]`` says where the
    boundaries came from; :func:`analysis.townships.check_townships` copies it into its notes.

    Parameters
    ----------
    pbf_path : str or Path
        An ``.osm.pbf`` extract.
    extent : tuple of float, optional
        ``(min_lon, min_lat, max_lon, max_lat)`` of the study area (e.g. the network's bounds).

    Returns
    -------
    GeoDataFrame or None
        As :func:`finest_admin_split`; None when the extract has no usable boundaries (the
        pyrosm Helsinki extract has none; the Nanjing extract has only three district relations
        whose member ways run outside the extract, so pyrosm cannot close them).

    Raises
    ------
    InputError
        The file is missing or cannot be read.
    """
    path = Path(pbf_path)
    if not path.is_file():
        raise InputError("the OSM extract does not exist", file=path)
    try:
        import pyrosm

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Could not find any boundaries", category=UserWarning)
            boundaries = pyrosm.OSM(str(path), progress=False).get_boundaries()
    except Exception as exc:  # pyrosm raises many types for broken files
        raise InputError(f"cannot read administrative boundaries: {exc}", file=path, layer="boundaries") from exc
    split = finest_admin_split(boundaries, extent)
    if split is None:
        return None
    level = int(split["admin_level"].iloc[0])
    split.attrs["notes"] = [
        f"no township layer given: the {len(split)} townships are OpenStreetMap administrative boundaries "
        f"(admin_level {level}) from {path.name}, not an official 乡镇/街道 layer"
    ]
    split.attrs["source"] = f"OSM admin_level {level} boundaries of {path.name}"
    return split
