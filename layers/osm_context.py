"""Land use, water and building footprints of an OSM extract: the geographic context of the map.

The street network is only part of what a planner recognises on a map; parks, rivers, lakes,
residential and commercial land and the buildings themselves are in the same extract. This module
reads them from an ``.osm.pbf`` (pyrosm) or an OSM XML file (``.osm``/``.xml``, streamed by
:mod:`layers.osm_xml_stream`, the pass the street reader uses too) into three GeoDataFrames in
EPSG:4326, for display only (never for any number of the analysis).

Classes (:func:`classify`): ``water`` (``natural=water``, any ``water=*``, ``landuse=reservoir|basin``,
``waterway=riverbank|dock``), ``green`` (parks, gardens, grass, woods, ...), ``residential``,
``commercial`` (with retail) and ``industrial``; other tags are left out. Waterways
(``waterway=river|stream|canal|drain|ditch``) are lines. Multipolygon relations (lakes, parks,
buildings with courtyards) are assembled from their member ways: outer rings minus inner rings.
An extract without any of these features gives empty layers, not an error.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.errors import InputError
from layers.osm_xml_stream import OsmXmlData, stream_osm_xml, way_node_refs
from layers.projection import WGS84

#: OSM keys read for the context layers (``building`` for the footprints).
CONTEXT_KEYS: tuple[str, ...] = ("landuse", "leisure", "natural", "water", "waterway")
#: Tags kept as columns.
CONTEXT_TAGS: tuple[str, ...] = (*CONTEXT_KEYS, "building", "name")

#: Land classes drawn on the map, each as ``{key: values}`` (first class that matches wins).
LAND_CLASSES: dict[str, dict[str, tuple[str, ...]]] = {
    "water": {
        "natural": ("water", "bay"),
        "landuse": ("reservoir", "basin"),
        "waterway": ("riverbank", "dock"),
    },
    "green": {
        "leisure": ("park", "garden", "nature_reserve", "recreation_ground", "common", "golf_course", "playground"),
        "landuse": (
            "grass", "village_green", "recreation_ground", "forest", "meadow", "park",
            "cemetery", "allotments", "orchard", "greenfield", "plant_nursery",
        ),
        "natural": ("wood", "scrub", "grassland", "heath", "wetland"),
    },
    "residential": {"landuse": ("residential",)},
    "commercial": {"landuse": ("commercial", "retail")},
    "industrial": {"landuse": ("industrial",)},
}  # fmt: skip
#: ``waterway`` values drawn as lines (rivers, streams, canals).
WATERWAY_LINES: tuple[str, ...] = ("river", "stream", "canal", "drain", "ditch", "tidal_channel")


@dataclass(frozen=True)
class OsmContext:
    """The context layers of one extract (EPSG:4326).

    Attributes
    ----------
    land : GeoDataFrame
        ``land_class`` (``water``, ``green``, ``residential``, ``commercial``, ``industrial``),
        ``name`` and (Multi)Polygon geometry.
    waterways : GeoDataFrame
        ``waterway`` (river, stream, ...), ``name`` and (Multi)LineString geometry.
    buildings : GeoDataFrame
        ``name`` and (Multi)Polygon footprints.
    """

    land: gpd.GeoDataFrame
    waterways: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame

    def counts(self) -> dict[str, int]:
        """Features per land class, plus ``waterways`` and ``buildings``."""
        counts = {name: int((self.land["land_class"] == name).sum()) for name in LAND_CLASSES}
        counts["waterways"] = len(self.waterways)
        counts["buildings"] = len(self.buildings)
        return counts

    @property
    def empty(self) -> bool:
        return not (len(self.land) or len(self.waterways) or len(self.buildings))


def _frame(columns: dict[str, object], geometry=None) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=geometry if geometry is not None else [], crs=WGS84)


def empty_context() -> OsmContext:
    """No context layers (a line-layer network, a database table, an extract without any)."""
    return OsmContext(
        land=_frame({"land_class": pd.Series(dtype=str), "name": pd.Series(dtype=object)}),
        waterways=_frame({"waterway": pd.Series(dtype=str), "name": pd.Series(dtype=object)}),
        buildings=_frame({"name": pd.Series(dtype=object)}),
    )


def _tag(frame: pd.DataFrame, key: str) -> pd.Series:
    if key not in frame.columns:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    return frame[key].where(frame[key].notna(), None)


def classify(tags: pd.DataFrame) -> np.ndarray:
    """The land class of each row of OSM tags (``None`` where no class of :data:`LAND_CLASSES` fits).

    Any ``water=*`` value (pond, lake, river) makes water as well.
    """
    out = np.full(len(tags), None, dtype=object)
    water_tag = _tag(tags, "water").notna().to_numpy()
    out[water_tag] = "water"
    for name, rules in LAND_CLASSES.items():
        hit = np.zeros(len(tags), dtype=bool)
        for key, values in rules.items():
            hit |= _tag(tags, key).isin(values).to_numpy()
        out[hit & pd.isna(out)] = name
    return out


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    kind = shapely.get_type_id(geoms)
    return np.isin(kind, (3, 6)) & ~shapely.is_empty(geoms)


def _lineal(geoms: np.ndarray) -> np.ndarray:
    kind = shapely.get_type_id(geoms)
    return np.isin(kind, (1, 5)) & ~shapely.is_empty(geoms)


def _split(features: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame) -> OsmContext:
    """Classify tagged features (any geometry) and keep what the map draws."""
    if not len(features):
        context = empty_context()
        land, waterways = context.land, context.waterways
    else:
        geoms = features.geometry.to_numpy()
        land_class = classify(features)
        keep = pd.notna(land_class) & _polygonal(geoms)
        land = _frame(
            {"land_class": land_class[keep].astype(str), "name": _tag(features, "name").to_numpy()[keep]},
            geometry=geoms[keep],
        )
        waterway = _tag(features, "waterway")
        lines = waterway.isin(WATERWAY_LINES).to_numpy() & _lineal(geoms)
        waterways = _frame(
            {"waterway": waterway.to_numpy()[lines].astype(str), "name": _tag(features, "name").to_numpy()[lines]},
            geometry=geoms[lines],
        )
    if len(buildings):
        geoms = buildings.geometry.to_numpy()
        keep = _polygonal(geoms)
        buildings = _frame({"name": _tag(buildings, "name").to_numpy()[keep]}, geometry=geoms[keep])
    else:
        buildings = empty_context().buildings
    return OsmContext(land=land.reset_index(drop=True), waterways=waterways.reset_index(drop=True), buildings=buildings)


# ----- .osm.pbf ---------------------------------------------------------------------------------
def _read_pbf(path: Path) -> OsmContext:
    import pyrosm

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            osm = pyrosm.OSM(str(path), progress=False)
            features = osm.get_data_by_custom_criteria(
                custom_filter={key: True for key in CONTEXT_KEYS},
                filter_type="keep",
                keep_nodes=False,
                keep_ways=True,
                keep_relations=True,
            )
            buildings = osm.get_buildings()
    except Exception as exc:  # pyrosm raises bare errors on corrupt files
        raise InputError(f"cannot read land use, water and buildings of the OSM PBF file: {exc}", file=path) from exc
    features = features if features is not None else gpd.GeoDataFrame(geometry=[], crs=WGS84)
    buildings = buildings if buildings is not None else gpd.GeoDataFrame(geometry=[], crs=WGS84)
    return _split(features, buildings)


# ----- OSM XML ----------------------------------------------------------------------------------
def _parse_xml(path: Path) -> OsmXmlData:
    """One streamed pass: all nodes, every way's node references (tags only on ways with a context
    key or ``building``: multipolygon members are often untagged) and the multipolygon relations."""
    return stream_osm_xml(
        path,
        way_keys=(*CONTEXT_KEYS, "building"),
        tag_names=CONTEXT_TAGS,
        keep_other_ways=True,
        multipolygons=True,
        any_value=True,
    )


def _way_geometries(data: OsmXmlData) -> tuple[np.ndarray, np.ndarray]:
    """Per way: a Polygon when closed (≥ 4 refs, all nodes present), else the LineString of its
    present nodes (``None`` below two), and whether it is closed."""
    refs_of = way_node_refs(data)
    lengths, refs, way, pos, present = refs_of.lengths, refs_of.refs, refs_of.way, refs_of.pos, refs_of.present
    n = lengths.size
    lines = np.full(n, None, dtype=object)
    closed = np.zeros(n, dtype=bool)
    if not n or not refs.size:
        return lines, closed
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    nonempty = lengths > 0
    ends = starts + lengths - 1
    all_present = np.bincount(way, weights=~present, minlength=n) == 0
    closed[nonempty] = refs[starts[nonempty]] == refs[ends[nonempty]]
    closed &= all_present & (lengths >= 4)
    points = np.bincount(way[present], minlength=n)
    drawable = points >= 2
    keep = present & drawable[way]
    if keep.any():
        coords = np.column_stack([refs_of.lon[pos[keep]], refs_of.lat[pos[keep]]])
        index = np.searchsorted(np.flatnonzero(drawable), way[keep])
        lines[drawable] = shapely.linestrings(coords, indices=index)
    return lines, closed


def _relation_polygon(members: list[tuple[int, str]], lines_by_id: dict[int, object]):
    """Outer rings minus inner rings of a multipolygon relation (``None`` when nothing closes)."""
    outer = [lines_by_id[w] for w, role in members if role != "inner" and lines_by_id.get(w) is not None]
    inner = [lines_by_id[w] for w, role in members if role == "inner" and lines_by_id.get(w) is not None]
    if not outer:
        return None
    shell = shapely.union_all(shapely.get_parts(shapely.polygonize(outer)))
    if shell.is_empty:
        return None
    if inner:
        holes = shapely.union_all(shapely.get_parts(shapely.polygonize(inner)))
        shell = shell.difference(holes)
    return None if shell.is_empty else shell


def _read_xml(path: Path) -> OsmContext:
    data = _parse_xml(path)
    lines, closed = _way_geometries(data)
    tagged = np.asarray(data.wanted, dtype=np.int64)
    tags = pd.DataFrame.from_records([data.way_tags[i] for i in tagged], columns=list(CONTEXT_TAGS))
    geoms = lines[tagged] if tagged.size else np.array([], dtype=object)
    # a closed way is an area, except a waterway line drawn as a loop
    is_area = closed[tagged] if tagged.size else np.zeros(0, dtype=bool)
    is_area &= ~tags["waterway"].isin(WATERWAY_LINES).to_numpy()
    if is_area.any():  # closed ways: their lines become polygon shells
        rings = geoms[is_area]
        owner = np.repeat(np.arange(rings.size), shapely.get_num_coordinates(rings))
        geoms = geoms.copy()
        geoms[is_area] = shapely.polygons(shapely.linearrings(shapely.get_coordinates(rings), indices=owner))
    if data.relations:
        lines_by_id = dict(zip(data.way_id, lines, strict=True))
        rel_tags = pd.DataFrame.from_records([r.tags for r in data.relations], columns=list(CONTEXT_TAGS))
        rel_geoms = np.array([_relation_polygon(r.members, lines_by_id) for r in data.relations], dtype=object)
        tags = pd.concat([tags, rel_tags], ignore_index=True)
        geoms = np.concatenate([geoms, rel_geoms])
    valid = pd.notna(geoms)
    tags, geoms = tags.loc[valid].reset_index(drop=True), geoms[valid]
    frame = gpd.GeoDataFrame(tags, geometry=geoms if geoms.size else [], crs=WGS84)
    building = _tag(frame, "building").notna().to_numpy()
    context_keys = np.zeros(len(frame), dtype=bool)
    for key in CONTEXT_KEYS:
        context_keys |= _tag(frame, key).notna().to_numpy()
    return _split(frame.loc[context_keys], frame.loc[building])


def read_osm_context(path: str | Path) -> OsmContext:
    """Read the land use, water and building footprints of an OSM extract.

    Parameters
    ----------
    path : str or Path
        An ``.osm.pbf`` (pyrosm) or an OSM XML file (``.osm``/``.xml``).

    Returns
    -------
    OsmContext
        Land areas by class, waterway lines and buildings (EPSG:4326); empty frames when the
        extract has none (or the file is another kind of layer, e.g. a GeoPackage of streets).

    Raises
    ------
    InputError
        The file is missing or is not readable OSM data.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("the OSM extract does not exist", file=path)
    name = path.name.lower()
    if name.endswith(".pbf"):
        return _read_pbf(path)
    if name.endswith((".osm", ".xml")):
        return _read_xml(path)
    return empty_context()
