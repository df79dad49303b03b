"""Building footprints straight from an OSM XML file (``.osm``/``.xml``), for the population estimate.

The ``.osm.pbf`` path reads buildings with pyrosm; an XML extract has the same ``building`` ways, so
this module turns them into footprint polygons with the streaming parser of :mod:`layers.osm_xml`
and hands them to the same building model (:func:`layers.population.estimate_population_from_buildings`).

A ``building`` way becomes a polygon when it is closed (first node = last node), has at least four
node references and every node is in the file; other ways (clipped at the export's edge, open) are
counted and skipped. Multipolygon building relations are not read (rare in city extracts).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.errors import EmptyLayerError
from layers.osm_xml import _parse, way_node_refs
from layers.population import BUILDING_TAG_FIELD, HEIGHT_FIELD_NAMES, STOREYS_FIELD_NAMES
from layers.projection import WGS84

#: Tags of building ways kept as columns (what the building model reads: type, storeys, height).
BUILDING_TAGS: tuple[str, ...] = tuple(
    dict.fromkeys((BUILDING_TAG_FIELD, *STOREYS_FIELD_NAMES, *HEIGHT_FIELD_NAMES, "name"))
)


@dataclass(frozen=True)
class XmlBuildings:
    """Building footprints read from an OSM XML file, and the ways that could not become one.

    Attributes
    ----------
    buildings : GeoDataFrame
        ``way_id``, the tags of :data:`BUILDING_TAGS` present in the file, and a Polygon, EPSG:4326.
    skipped_ways : int
        ``building`` ways left out: not closed, fewer than four nodes, or nodes missing from the file.
    """

    buildings: gpd.GeoDataFrame
    skipped_ways: int = 0

    def notes(self) -> tuple[str, ...]:
        """Plain-language notes on the ways left out (empty when none was)."""
        if not self.skipped_ways:
            return ()
        return (
            f"{self.skipped_ways} building ways of the XML file were left out of the population estimate: "
            "open, too short, or with nodes missing from the file (clipped at its edge)",
        )


def read_osm_xml_buildings(path: Path) -> XmlBuildings:
    """Read the ``building`` ways of an OSM XML file as footprint polygons.

    Parameters
    ----------
    path : Path
        An ``.osm``/``.xml`` file (OSM API 0.6 XML).

    Returns
    -------
    XmlBuildings
        Footprints (EPSG:4326, one row per closed building way) and the count of ways skipped.

    Raises
    ------
    InputError
        The file is not readable OSM XML.
    EmptyLayerError
        No ``building`` way of the file makes a polygon.
    """
    path = Path(path)
    parsed = _parse(path, way_key=BUILDING_TAG_FIELD, tag_names=BUILDING_TAGS)
    if not parsed.way_id:
        raise EmptyLayerError(
            "the OSM XML file has no ways with a 'building' tag", file=path, layer="buildings", field="building"
        )
    refs_of = way_node_refs(parsed)
    lon, lat, lengths, refs, way, pos, present = (
        refs_of.lon, refs_of.lat, refs_of.lengths, refs_of.refs, refs_of.way, refs_of.pos, refs_of.present
    )
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    ends = starts + lengths - 1
    all_present = np.bincount(way, weights=~present, minlength=lengths.size) == 0
    closed = np.zeros(lengths.size, dtype=bool)
    nonempty = lengths > 0
    closed[nonempty] = refs[starts[nonempty]] == refs[ends[nonempty]]
    usable = all_present & closed & (lengths >= 4)
    if not usable.any():
        msg = f"none of the {lengths.size} 'building' ways of the OSM XML file is a closed outline with all its nodes in the file"
        raise EmptyLayerError(msg, file=path, layer="buildings", field="building")

    keep = usable[way]
    coords = np.column_stack([lon[pos[keep]], lat[pos[keep]]])
    rings = shapely.linearrings(coords, indices=np.searchsorted(np.flatnonzero(usable), way[keep]))
    polygons = shapely.polygons(rings)
    tags = pd.DataFrame.from_records(parsed.way_tags, columns=list(BUILDING_TAGS)).loc[usable].reset_index(drop=True)
    tags = tags.dropna(axis=1, how="all")
    tags.insert(0, "way_id", np.asarray(parsed.way_id, dtype=np.int64)[usable])
    buildings = gpd.GeoDataFrame(tags, geometry=polygons, crs=WGS84)
    return XmlBuildings(buildings=buildings, skipped_ways=int((~usable).sum()))
