"""The one streaming pass over an OSM XML file (``.osm``/``.xml``) that every XML reader shares.

:func:`stream_osm_xml` reads the file once with :func:`xml.etree.ElementTree.iterparse`, clearing
each node, way and relation as soon as it is read (memory grows with what is kept, never with the
XML tree), and keeps what the caller asks for:

- every node's id and position (the ways' geometry needs them; nodes the file marks deleted are
  left out);
- the ways with one of the wanted tag keys (``way_keys``: ``highway`` for streets, ``building`` for
  footprints, the land-use keys for the basemap), with the tags named in ``tag_names``; optionally
  every other way too, without tags (a multipolygon relation may use any way as a member);
- optionally the multipolygon relations with a wanted key: their tags and member ways with roles.

The callers are :mod:`layers.osm_xml` (street edges), :mod:`layers.osm_xml_buildings` (building
footprints for the population estimate) and :mod:`layers.osm_context` (land use, water and
buildings for the basemap). Everything after the pass is vectorised (:func:`way_node_refs`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from layers.errors import InputError


class OsmRelation(NamedTuple):
    """A multipolygon relation: its kept tags and its member ways as ``(way id, role)``.

    A member without a role counts as ``"outer"`` (as osmium and pyrosm read old relations).
    """

    tags: dict[str, str]
    members: list[tuple[int, str]]


@dataclass
class OsmXmlData:
    """What one streamed pass kept of an OSM XML file.

    Attributes
    ----------
    node_id : array of int64 (``array('q')``)
        Id of every node the file holds (a repeated id appears again; :func:`way_node_refs`
        keeps its first position).
    node_lon, node_lat : array of float64 (``array('d')``)
        Their positions, degrees (EPSG:4326).
    way_id : list of int
        Id of every kept way, in file order (a repeated id appears again).
    way_tags : list of dict
        Per kept way, its tags named in ``tag_names`` (empty for a way kept without a wanted key).
    way_lengths : array of int64
        Per kept way, how many node references it has.
    way_refs : array of int64
        The node references of all kept ways, one after the other (``way_lengths`` splits them).
    wanted : list of int
        Indexes (into the ``way_*`` lists) of the kept ways that have a wanted key.
    relations : list of OsmRelation
        The multipolygon relations with a wanted key (only when asked for).
    ways_seen : int
        Every ``way`` element of the file, kept or not (deleted ones too).
    """

    node_id: array = field(default_factory=lambda: array("q"))
    node_lon: array = field(default_factory=lambda: array("d"))
    node_lat: array = field(default_factory=lambda: array("d"))
    way_id: list[int] = field(default_factory=list)
    way_tags: list[dict[str, str]] = field(default_factory=list)
    way_lengths: array = field(default_factory=lambda: array("q"))
    way_refs: array = field(default_factory=lambda: array("q"))
    wanted: list[int] = field(default_factory=list)
    relations: list[OsmRelation] = field(default_factory=list)
    ways_seen: int = 0


def is_deleted(elem: ET.Element) -> bool:
    """JOSM marks deleted objects with ``action="delete"``; history exports with ``visible="false"``."""
    return elem.get("action") == "delete" or elem.get("visible") == "false"


def stream_osm_xml(
    path: Path,
    *,
    way_keys: tuple[str, ...],
    tag_names: tuple[str, ...],
    keep_other_ways: bool = False,
    multipolygons: bool = False,
    any_value: bool = False,
) -> OsmXmlData:
    """Stream an OSM XML file once and keep its nodes and the wanted ways (and relations).

    Parameters
    ----------
    path : Path
        An OSM API 0.6 XML file (as JOSM, Overpass and osmnx write it).
    way_keys : tuple of str
        A way (or multipolygon relation) is wanted when it has one of these tag keys.
    tag_names : tuple of str
        Tags kept on wanted ways and relations (the others are dropped while streaming).
    keep_other_ways : bool
        Keep every way not marked deleted, wanted or not (unwanted ones with no tags): multipolygon
        members are often untagged. ``False`` keeps wanted ways only.
    multipolygons : bool
        Collect the ``type=multipolygon`` relations that have a wanted key, with their member ways.
    any_value : bool
        A wanted key counts whatever its value, even an empty one (the basemap reader); ``False``
        counts it only with a non-empty value (the street and building readers).

    Returns
    -------
    OsmXmlData
        Nodes, kept ways (ids, tags, node references), wanted-way indexes and relations.

    Raises
    ------
    InputError
        The file cannot be read, is not well-formed XML, or a node, way or relation has a bad id,
        position or node reference (the message names the file).
    """
    data = OsmXmlData()
    node_id, node_lon, node_lat = data.node_id.append, data.node_lon.append, data.node_lat.append
    way_ids, way_tags, way_lengths, way_refs = data.way_id, data.way_tags, data.way_lengths, data.way_refs
    wanted, relations = data.wanted, data.relations
    key_set = frozenset(way_keys)
    ways_seen = 0
    try:
        events = ET.iterparse(path, events=("start", "end"))
        _, root = next(events)  # the <osm> element: cleared as its children are read
        for event, elem in events:
            if event == "start":
                continue
            tag = elem.tag
            if tag == "node":
                get = elem.get
                if get("action") != "delete" and get("visible") != "false":
                    node_id(int(get("id")))
                    node_lon(float(get("lon")))
                    node_lat(float(get("lat")))
            elif tag == "way":
                ways_seen += 1
                get = elem.get
                if get("action") != "delete" and get("visible") != "false":  # is_deleted, inlined: per way
                    tags = {t.get("k"): t.get("v") for t in elem.iter("tag")}
                    hit = not key_set.isdisjoint(tags) and (any_value or any(map(tags.get, way_keys)))
                    if hit or keep_other_ways:
                        way_id = int(get("id"))  # the id first: its error is the one reported
                        refs = [int(nd.get("ref")) for nd in elem.iter("nd")]
                        if hit:
                            wanted.append(len(way_ids))
                        way_ids.append(way_id)
                        way_lengths.append(len(refs))
                        way_refs.extend(refs)
                        way_tags.append({k: tags[k] for k in tag_names if k in tags} if hit else {})
            elif tag == "relation":
                if multipolygons:
                    tags = {t.get("k"): t.get("v") for t in elem.iter("tag")}
                    if (
                        tags.get("type") == "multipolygon"
                        and not key_set.isdisjoint(tags)
                        and (any_value or any(map(tags.get, way_keys)))
                        and not is_deleted(elem)
                    ):
                        members = [
                            (int(m.get("ref")), m.get("role") or "outer")
                            for m in elem.iter("member")
                            if m.get("type") == "way"
                        ]
                        relations.append(OsmRelation({k: tags[k] for k in tag_names if k in tags}, members))
            else:
                continue
            root.clear()  # drop what was read: memory stays flat on city-sized files
    except (ET.ParseError, OSError) as exc:
        raise InputError(f"cannot read the OSM XML file: {exc}", file=path) from exc
    except (TypeError, ValueError) as exc:  # a node without lat/lon, an id that is not a number
        what = "a node, way or relation" if multipolygons else "a node or way"
        raise InputError(f"cannot read the OSM XML file: {what} has a bad id or position ({exc})", file=path) from exc
    data.ways_seen = ways_seen
    return data


@dataclass(frozen=True)
class WayNodeRefs:
    """The node references of every kept way, resolved against the file's nodes.

    Attributes
    ----------
    lon, lat : ndarray of float64
        Coordinates of the file's distinct nodes, degrees (sorted by id; the first of a repeated
        id wins).
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


def way_node_refs(data: OsmXmlData) -> WayNodeRefs:
    """Resolve the kept ways' node references to node coordinates (vectorised: one sort, one search)."""
    node_id = np.asarray(data.node_id, dtype=np.int64)
    ids, first = np.unique(node_id, return_index=True)
    lon = np.asarray(data.node_lon, dtype=np.float64)[first]
    lat = np.asarray(data.node_lat, dtype=np.float64)[first]
    lengths = np.asarray(data.way_lengths, dtype=np.int64)
    refs = np.asarray(data.way_refs, dtype=np.int64)
    way = np.repeat(np.arange(lengths.size), lengths)
    pos = np.searchsorted(ids, refs).clip(max=max(ids.size - 1, 0))
    present = ids[pos] == refs if ids.size else np.zeros(refs.size, dtype=bool)
    return WayNodeRefs(lon=lon, lat=lat, lengths=lengths, refs=refs, way=way, pos=pos, present=present)
