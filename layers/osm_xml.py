"""Street edges straight from an OSM XML file (``.osm``/``.xml``), streamed with the standard library.

Real exports have quirks that osmnx's ``graph_from_xml`` refuses or hides, so this reader builds the
edge table itself:

- only ways with a ``highway`` tag are streets (building outlines, land use, rivers are not);
- ways that reference nodes missing from the file (a bounding-box clipped export) keep the parts
  whose nodes are present: a gap splits the way into separate pieces;
- two ways with the same id are both kept (the later one gets a new, negative id).

One edge per pair of consecutive nodes of a way (as osmnx with ``simplify=False``), straight between
them, in EPSG:4326. Parsing is the streaming pass of :mod:`layers.osm_xml_stream` (shared with the
building and basemap readers); everything after it is numpy/shapely.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.errors import NetworkError
from layers.osm_xml_stream import OsmXmlData, stream_osm_xml, way_node_refs
from layers.projection import WGS84

#: Way tags kept on the edges (what the walkable filter and the outputs read).
WAY_TAGS: tuple[str, ...] = ("highway", "name", "foot", "access", "service", "footway", "sidewalk", "layer", "bridge", "tunnel")


@dataclass(frozen=True)
class XmlEdges:
    """Street edges read from an OSM XML file, and what the reader had to repair.

    Attributes
    ----------
    edges : GeoDataFrame
        ``u``, ``v`` (OSM node ids), ``way_id`` (OSM way id; negative for a renamed duplicate), the
        tags of :data:`WAY_TAGS` and a two-point LineString, EPSG:4326.
    missing_refs : int
        Node references of street ways that point to nodes absent from the file.
    clipped_ways : int
        Street ways with at least one missing node reference.
    duplicate_ways : int
        Street ways whose id an earlier way in the file already had (kept under a new id).
    """

    edges: gpd.GeoDataFrame
    missing_refs: int = 0
    clipped_ways: int = 0
    duplicate_ways: int = 0

    def notes(self) -> tuple[str, ...]:
        """Plain-language notes on the repairs (empty when the file needed none)."""
        notes = []
        if self.missing_refs:
            notes.append(
                f"the street file is clipped: {self.missing_refs} node references of {self.clipped_ways} ways "
                "point to nodes missing from the file; the parts of those ways inside the file were kept"
            )
        if self.duplicate_ways:
            notes.append(
                f"{self.duplicate_ways} ways reuse the id of an earlier way in the file; "
                "both were kept as separate streets (the later one under a new id)"
            )
        return tuple(notes)


def _parse(path: Path, *, way_key: str = "highway", tag_names: tuple[str, ...] = WAY_TAGS) -> OsmXmlData:
    """Stream the file once (:func:`layers.osm_xml_stream.stream_osm_xml`): every node's position,
    and the node list and tags of each way with a non-empty ``way_key`` tag (streets by default;
    :mod:`layers.osm_xml_buildings` asks for ``building``), keeping the tags named in ``tag_names``."""
    return stream_osm_xml(path, way_keys=(way_key,), tag_names=tag_names)


def _unique_way_ids(way_id: np.ndarray) -> tuple[np.ndarray, int]:
    """Give every repeat of a way id a new negative id; return the ids and how many were renamed."""
    _, first = np.unique(way_id, return_index=True)
    repeat = np.ones(way_id.size, dtype=bool)
    repeat[first] = False
    out = way_id.copy()
    n_repeat = int(repeat.sum())
    low = min(int(way_id.min()), 0) if way_id.size else 0
    out[repeat] = low - 1 - np.arange(n_repeat, dtype=np.int64)
    return out, n_repeat


def read_osm_xml(path: Path) -> XmlEdges:
    """Read the street ways of an OSM XML file as edges between consecutive nodes.

    Parameters
    ----------
    path : Path
        An ``.osm``/``.xml`` file (OSM API 0.6 XML, as JOSM, Overpass and osmnx write it).

    Returns
    -------
    XmlEdges
        The edge table (EPSG:4326) and counts of missing node references and duplicate way ids.

    Raises
    ------
    NetworkError
        The file has no way with a ``highway`` tag (e.g. only building outlines), or no street way
        has two consecutive nodes present in the file.
    """
    parsed = _parse(path)
    layer = "ways"
    if not parsed.way_id:
        what = f"none of its {parsed.ways_seen} ways has" if parsed.ways_seen else "it has no ways, so none has"
        msg = (
            f"not a street network: {what} a 'highway' tag (building outlines, land use and other "
            "ways are not streets)"
        )
        raise NetworkError(msg, file=path, layer=layer, field="highway")

    refs_of = way_node_refs(parsed)
    lon, lat, refs, way, pos, present = refs_of.lon, refs_of.lat, refs_of.refs, refs_of.way, refs_of.pos, refs_of.present
    missing = ~present
    missing_refs = int(missing.sum())
    clipped_ways = int(np.unique(way[missing]).size)

    # an edge joins consecutive references of one way when both nodes are in the file
    a, b = np.arange(refs.size - 1), np.arange(1, refs.size)
    pair = (way[a] == way[b]) & present[a] & present[b] & (refs[a] != refs[b])
    a, b = a[pair], b[pair]
    if a.size == 0:
        msg = "no street way has two consecutive nodes in the file (every node reference is missing?)"
        raise NetworkError(msg, file=path, layer=layer, field="nd")

    way_id, duplicate_ways = _unique_way_ids(np.asarray(parsed.way_id, dtype=np.int64))
    coords = np.empty((a.size, 2, 2))
    coords[:, 0, 0], coords[:, 0, 1] = lon[pos[a]], lat[pos[a]]
    coords[:, 1, 0], coords[:, 1, 1] = lon[pos[b]], lat[pos[b]]
    edge_way = way[a]
    tags = pd.DataFrame.from_records(parsed.way_tags, columns=list(WAY_TAGS))
    frame = tags.iloc[edge_way].reset_index(drop=True)
    frame.insert(0, "way_id", way_id[edge_way])
    frame.insert(0, "v", refs[b])
    frame.insert(0, "u", refs[a])
    edges = gpd.GeoDataFrame(frame, geometry=shapely.linestrings(coords), crs=WGS84)
    return XmlEdges(edges=edges, missing_refs=missing_refs, clipped_ways=clipped_ways, duplicate_ways=duplicate_ways)
