"""Find a street, facility, township or named park/water/building of the loaded layers by name,
and the :class:`Focus` the map zooms to.

The index (:func:`search_index`) is built once per loaded data from the layers already in memory
(street edges, facilities with what-if sites, townships, the extract's context layers): all edges
of one street name become one feature, so "中山路" zooms to the whole street.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.osm_context import OsmContext
from layers.projection import WGS84

#: Outline colour of the searched feature on the map.
FOCUS_COLOUR = "#0057e7"
#: At most this many matches are offered.
MAX_MATCHES = 30
#: What a match is: id → English label (translated on the page).
KINDS: dict[str, str] = {
    "street": "street",
    "facility": "facility",
    "township": "township",
    "green": "park or green",
    "water": "water",
    "residential": "residential area",
    "commercial": "commercial area",
    "industrial": "industrial area",
    "building": "building",
}


@dataclass(frozen=True)
class Focus:
    """A feature to zoom to: its label, lon/lat bounds and its geometry as GeoJSON (EPSG:4326)."""

    label: str
    bounds: tuple[float, float, float, float]
    geojson: dict


def _named(frame: gpd.GeoDataFrame | None, name_column: str, kind: str | np.ndarray) -> gpd.GeoDataFrame | None:
    if frame is None or not len(frame) or name_column not in frame.columns:
        return None
    names = frame[name_column]
    keep = names.notna().to_numpy() & (names.astype(str).str.strip() != "").to_numpy()
    if not keep.any():
        return None
    shown = frame.loc[keep].to_crs(WGS84)
    kinds = kind[keep] if isinstance(kind, np.ndarray) else kind
    return gpd.GeoDataFrame({"name": shown[name_column].astype(str).str.strip().to_numpy(), "kind": kinds}, geometry=shown.geometry.to_numpy(), crs=WGS84)


def _merge_by_name(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per (kind, name): the parts of every feature of that name in one geometry collection."""
    key = frame["kind"].astype(str) + "\x00" + frame["name"]
    codes, uniques = pd.factorize(key)
    parts, owner = shapely.get_parts(frame.geometry.to_numpy(), return_index=True)
    group = codes[owner]
    order = np.argsort(group, kind="stable")
    merged = shapely.geometrycollections(parts[order], indices=group[order])
    kinds, names = zip(*(u.split("\x00", 1) for u in uniques), strict=True) if len(uniques) else ((), ())
    return gpd.GeoDataFrame({"name": list(names), "kind": list(kinds)}, geometry=merged, crs=WGS84)


def search_index(
    *,
    edges: gpd.GeoDataFrame | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    townships: gpd.GeoDataFrame | None = None,
    context: OsmContext | None = None,
) -> gpd.GeoDataFrame:
    """Every named feature of the loaded layers: ``name``, ``kind`` (a key of :data:`KINDS`) and the
    geometry of all features of that name (EPSG:4326)."""
    pieces = [
        _named(edges, "name", "street"),
        _named(facilities, "name", "facility"),
        _named(townships, "township", "township"),
    ]
    if context is not None:
        pieces.append(_named(context.land, "name", context.land["land_class"].to_numpy(dtype=object)))
        pieces.append(_named(context.waterways, "name", "water"))
        pieces.append(_named(context.buildings, "name", "building"))
    pieces = [p for p in pieces if p is not None]
    if not pieces:
        return gpd.GeoDataFrame({"name": pd.Series(dtype=str), "kind": pd.Series(dtype=str)}, geometry=[], crs=WGS84)
    return _merge_by_name(pd.concat(pieces, ignore_index=True))


def find(index: gpd.GeoDataFrame, text: str, limit: int = MAX_MATCHES) -> gpd.GeoDataFrame:
    """Rows of ``index`` whose name contains ``text`` (case-insensitive): exact names first, then
    names starting with it, then the shortest; at most ``limit``."""
    text = text.strip().casefold()
    if not text or not len(index):
        return index.iloc[:0]
    names = index["name"].str.casefold()
    hit = names.str.contains(text, regex=False).to_numpy()
    found = index.loc[hit]
    names = names[hit]
    rank = np.where(names == text, 0, np.where(names.str.startswith(text), 1, 2))
    order = np.lexsort((names.str.len().to_numpy(), rank))
    return found.iloc[order[:limit]]


def focus_of(row: pd.Series, label: str) -> Focus:
    """The :class:`Focus` of one row of :func:`search_index`."""
    parts = shapely.get_parts(row.geometry)  # a collection: one feature per part (folium cannot bound collections)
    parts = shapely.set_precision(shapely.simplify(parts, 1e-5), 1e-5, mode="pointwise")
    parts = parts[~shapely.is_empty(parts)]
    bounds = tuple(float(v) for v in shapely.total_bounds(row.geometry))
    features = [{"type": "Feature", "properties": {}, "geometry": json.loads(g)} for g in shapely.to_geojson(parts)]
    return Focus(label=label, bounds=bounds, geojson={"type": "FeatureCollection", "features": features})
