"""Street edges straight from an OSM XML file (``.osm``/``.xml``), streamed with the standard library.

Real exports have quirks that osmnx's ``graph_from_xml`` refuses or hides, so this reader builds the
edge table itself:

- only ways with a ``highway`` tag are streets (building outlines, land use, rivers are not);
- ways that reference nodes missing from the file (a bounding-box clipped export) keep the parts
  whose nodes are present: a gap splits the way into separate pieces;
- two ways with the same id are both kept (the later one gets a new, negative id).

One edge per pair of consecutive nodes of a way (as osmnx with ``simplify=False``), straight between
them, in EPSG:4326. Parsing is a streaming ``iterparse``; everything after it is numpy/shapely.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.errors import InputError, NetworkError
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


@dataclass
class _Parsed:
    node_id: list[int]
    node_lon: list[float]
    node_lat: list[float]
    way_id: list[int]
    way_refs: list[list[int]]
    way_tags: list[dict[str, str]]
    ways_seen: int = 0


def _deleted(elem: ET.Element) -> bool:
    """JOSM marks deleted objects with ``action="delete"``; history exports with ``visible="false"``."""
    return elem.get("action") == "delete" or elem.get("visible") == "false"



@dataclass(frozen=True)
class WayNodeRefs:
    """The node references of every parsed way, resolved against the file's nodes.

    Attributes
    ----------
    lon, lat : ndarray of float64
        Coordinates of the file's distinct nodes (sorted by id; the first of a repeated id wins).
    lengths : ndarray of int64
        Node references per way.
    refs, way : ndarray of int64
        Every reference in way order, and the way (0-based) it belongs to.
    pos : ndarray of int64
        Index of each reference's node in ``lon``/``lat`` (meaningful where ``present``).
    present : ndarray of bool
        The referenced node is in the file (clipped exports miss some).
    """

    lon: np.ndarray
    lat: np.ndarray
    lengths: np.ndarray
    refs: np.ndarray
    way: np.ndarray
    pos: np.ndarray
    present: np.ndarray


def way_node_refs(parsed: _Parsed) -> WayNodeRefs:
    """Resolve the parsed ways' node references to node coordinates (vectorised: one sort, one search)."""
    node_id = np.asarray(parsed.node_id, dtype=np.int64)
    ids, first = np.unique(node_id, return_index=True)
    lon = np.asarray(parsed.node_lon, dtype=np.float64)[first]
    lat = np.asarray(parsed.node_lat, dtype=np.float64)[first]
    lengths = np.fromiter((len(r) for r in parsed.way_refs), dtype=np.int64, count=len(parsed.way_refs))
    refs = np.fromiter((n for r in parsed.way_refs for n in r), dtype=np.int64, count=int(lengths.sum()))
    way = np.repeat(np.arange(lengths.size), lengths)
    pos = np.searchsorted(ids, refs).clip(max=max(ids.size - 1, 0))
    present = ids[pos] == refs if ids.size else np.zeros(refs.size, dtype=bool)
    return WayNodeRefs(lon=lon, lat=lat, lengths=lengths, refs=refs, way=way, pos=pos, present=present)

def _parse(path: Path, *, way_key: str = "highway", tag_names: tuple[str, ...] = WAY_TAGS) -> _Parsed:
    """Stream the file once: every node's position, and the node list and tags of each way with a
    ``way_key`` tag (streets by default; :mod:`layers.osm_xml_buildings` asks for ``building``),
    keeping the tags named in ``tag_names``."""
    parsed = _Parsed([], [], [], [], [], [])
    root = None
    try:
        for event, elem in ET.iterparse(path, events=("start", "end")):
            if event == "start":
                if root is None:
                    root = elem
                continue
            tag = elem.tag
            if tag == "node":
                if not _deleted(elem):
                    parsed.node_id.append(int(elem.get("id")))
                    parsed.node_lon.append(float(elem.get("lon")))
                    parsed.node_lat.append(float(elem.get("lat")))
            elif tag == "way":
                parsed.ways_seen += 1
                tags = {t.get("k"): t.get("v") for t in elem.iter("tag")}
                if tags.get(way_key) and not _deleted(elem):
                    parsed.way_id.append(int(elem.get("id")))
                    parsed.way_refs.append([int(nd.get("ref")) for nd in elem.iter("nd")])
                    parsed.way_tags.append({k: tags[k] for k in tag_names if k in tags})
            elif tag != "relation":
                continue
            if elem is not root:
                root.clear()  # drop what was read: memory stays flat on city-sized files
    except (ET.ParseError, OSError) as exc:
        raise InputError(f"cannot read the OSM XML file: {exc}", file=path) from exc
    except (TypeError, ValueError) as exc:  # a node without lat/lon, an id that is not a number
        raise InputError(f"cannot read the OSM XML file: a node or way has a bad id or position ({exc})", file=path) from exc
    return parsed


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
