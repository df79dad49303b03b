"""Street files as real exports come: buildings without highway tags, clipped ways, duplicate way
ids, GIS centrelines not split at crossings, closed ways counted as ways, files osmnx wrote.

Every case runs through the CLI (``cli.main.main``) on small hand-written files and on the real
Nanjing export (``../shared/data/nanjing_xuanwu``), edited the way real files are broken.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmnx as ox
import pandas as pd
import pytest
import shapely

from cli.main import main
from coverage.graph import build_walk_graph
from layers.network import StreetNetwork, read_network
from tests.conftest import shared_path
from tests.osm_support import osm_xml

# ----- small hand-written files ----------------------------------------------------------------
LAT = 32.04
STEP = 0.001  # degrees of longitude, ~94 m at this latitude


def row_nodes(first_id: int, n: int, lat: float = LAT, lon0: float = 118.78) -> dict[int, tuple[float, float]]:
    """``n`` nodes in an east-west row, STEP apart."""
    return {first_id + k: (lon0 + k * STEP, lat) for k in range(n)}


def points_csv(path: Path, lonlat: list[tuple[float, float]]) -> Path:
    pd.DataFrame({"name": [f"F{i}" for i in range(len(lonlat))], "lon": [p[0] for p in lonlat], "lat": [p[1] for p in lonlat]}).to_csv(
        path, index=False
    )
    return path


def people(path: Path, lonlat: list[tuple[float, float]], count: float = 100.0) -> Path:
    frame = gpd.GeoDataFrame({"population": [count] * len(lonlat)}, geometry=[shapely.Point(p) for p in lonlat], crs=4326)
    frame.to_file(path, driver="GeoJSON")
    return path


def run(capsys, *args: str) -> dict:
    """Run ``circles --json`` and return the summary (exit status 0 asserted)."""
    code = main(["circles", *args, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out.strip().splitlines()[-1])


def fails(capsys, *args: str) -> str:
    """Run ``circles`` expecting exit status 2; return the one-line message."""
    code = main(["circles", *args])
    captured = capsys.readouterr()
    assert code == 2, captured.out
    assert "Traceback" not in captured.err and len(captured.err.strip().splitlines()) == 1
    return captured.err


def circles_args(tmp_path: Path, network: Path, facility: tuple[float, float], homes: list[tuple[float, float]]) -> list[str]:
    return [
        "--network", str(network),
        "--facilities", str(points_csv(tmp_path / "sites.csv", [facility])),
        "--population", str(people(tmp_path / "people.geojson", homes)),
        "--out", str(tmp_path / "out.gpkg"),
    ]


# ----- real data, edited ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def nanjing_xml() -> Path:
    return shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm")


@pytest.fixture(scope="module")
def nanjing_sites(tmp_path_factory) -> Path:
    """Six facilities at mid-points of real Nanjing streets (the extract has no elderly care)."""
    edges = read_network(shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")).edges
    pick = edges.sort_values(["u", "v"]).iloc[::300]
    mid = shapely.line_interpolate_point(pick.geometry.to_numpy(), 0.5, normalized=True)
    path = tmp_path_factory.mktemp("sites") / "sites.csv"
    return points_csv(path, list(zip(shapely.get_x(mid), shapely.get_y(mid), strict=True)))


def nanjing_args(network: Path, sites: Path, out: Path) -> list[str]:
    buildings = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")
    return ["--network", str(network), "--facilities", str(sites), "--population", str(buildings), "--out", str(out)]


@pytest.fixture
def baseline(nanjing_xml, nanjing_sites, tmp_path, capsys) -> dict:
    return run(capsys, *nanjing_args(nanjing_xml, nanjing_sites, tmp_path / "base.gpkg"))


def highway_ways(root: ET.Element) -> list[ET.Element]:
    return [w for w in root.iter("way") if any(t.get("k") == "highway" for t in w.iter("tag"))]


# ===== 1. buildings are not streets ==============================================================
def test_buildings_only_osm_stops_naming_the_highway_field(tmp_path, capsys):
    nodes = {1: (118.780, 32.040), 2: (118.781, 32.040), 3: (118.781, 32.041), 4: (118.780, 32.041)}
    path = tmp_path / "buildings.osm"
    path.write_text(osm_xml(nodes, [(10, [1, 2, 3, 4, 1], {"building": "yes"})]), encoding="utf-8")
    message = fails(capsys, *circles_args(tmp_path, path, (118.7805, 32.040), [(118.7805, 32.041)]))
    assert "buildings.osm" in message and "layer 'ways'" in message and "field 'highway'" in message
    assert "none of its 1 ways has a 'highway' tag" in message
    assert not (tmp_path / "out.gpkg").exists()


def test_building_outlines_beside_streets_are_left_out(tmp_path, capsys):
    nodes = row_nodes(1, 3) | {11: (118.781, 32.0405), 12: (118.782, 32.0405), 13: (118.782, 32.0415), 14: (118.781, 32.0415)}
    ways = [(1, [1, 2, 3], {"highway": "residential"}), (2, [11, 12, 13, 14, 11], {"building": "yes"})]
    path = tmp_path / "mixed.osm"
    path.write_text(osm_xml(nodes, ways), encoding="utf-8")
    summary = run(capsys, *circles_args(tmp_path, path, (118.780, LAT), [(118.781, LAT)]))
    assert summary["graph_edges"] == 2 and summary["graph_nodes"] == 3  # the outline's 4 sides are not streets
    assert summary["covered_share"] == 1.0


def test_graphml_without_highway_tags_stops(tmp_path, capsys):
    nodes = {1: (118.780, 32.040), 2: (118.781, 32.040), 3: (118.781, 32.041), 4: (118.780, 32.041)}
    osm = tmp_path / "buildings.osm"
    osm.write_text(osm_xml(nodes, [(10, [1, 2, 3, 4, 1], {"building": "yes"})]), encoding="utf-8")
    graphml = tmp_path / "buildings.graphml"
    ox.save_graphml(ox.graph_from_xml(osm, simplify=False, retain_all=True), graphml)  # osmnx accepts it
    message = fails(capsys, *circles_args(tmp_path, graphml, (118.7805, 32.040), [(118.7805, 32.041)]))
    assert "buildings.graphml" in message and "field 'highway'" in message


def test_line_layer_without_highway_column_is_still_a_street_layer(tmp_path, capsys):
    lines = tmp_path / "centrelines.geojson"
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.LineString([(118.780, LAT), (118.785, LAT)])], crs=4326).to_file(lines)
    summary = run(capsys, *circles_args(tmp_path, lines, (118.780, LAT), [(118.782, LAT)]))
    assert summary["covered_share"] == 1.0


def test_nanjing_with_highway_tags_stripped_stops(nanjing_xml, nanjing_sites, tmp_path, capsys):
    tree = ET.parse(nanjing_xml)
    for way in tree.getroot().iter("way"):
        for tag in [t for t in way.iter("tag") if t.get("k") == "highway"]:
            way.remove(tag)
    stripped = tmp_path / "no_highway.osm"
    tree.write(stripped, encoding="utf-8", xml_declaration=True)
    message = fails(capsys, *nanjing_args(stripped, nanjing_sites, tmp_path / "out.gpkg"))
    assert "no_highway.osm" in message and "field 'highway'" in message
    assert "none of its 1920 ways" in message


# ===== 2. bbox-clipped exports ===================================================================
def test_clipped_way_keeps_its_pieces_on_both_sides_of_the_gap(tmp_path, capsys):
    nodes = row_nodes(1, 5)
    del nodes[3]  # the export was clipped: node 3 is referenced but absent
    path = tmp_path / "clipped.osm"
    path.write_text(osm_xml(nodes, [(7, [1, 2, 3, 4, 5], {"highway": "footway"})]), encoding="utf-8")
    args = circles_args(tmp_path, path, (118.780, LAT), [(118.781, LAT), (118.784, LAT)])
    summary = run(capsys, *args)
    assert summary["graph_edges"] == 2  # 1-2 and 4-5; nothing across the gap
    assert summary["network_islands"] == 1
    assert summary["covered_share"] == 0.5  # the home beyond the gap is on another piece
    assert any("1 node references of 1 ways point to nodes missing" in n for n in summary["notes"])
    assert main(["circles", *args]) == 0
    assert "nodes missing from the file" in capsys.readouterr().out


def test_nanjing_clipped_to_its_core_bbox(nanjing_xml, nanjing_sites, tmp_path, capsys):
    """A real clipped export: drop every node outside the core bbox, keep the ways whole."""
    tree = ET.parse(nanjing_xml)
    root = tree.getroot()
    west, south, east, north = 118.767, 32.035, 118.797, 32.052
    removed = set()
    for node in list(root.iter("node")):
        lon, lat = float(node.get("lon")), float(node.get("lat"))
        if not (west <= lon <= east and south <= lat <= north):
            removed.add(node.get("id"))
            root.remove(node)
    streets = highway_ways(root)
    missing = sum(nd.get("ref") in removed for w in streets for nd in w.iter("nd"))
    clipped_ways = sum(any(nd.get("ref") in removed for nd in w.iter("nd")) for w in streets)
    assert missing > 100
    path = tmp_path / "clipped.osm"
    tree.write(path, encoding="utf-8", xml_declaration=True)

    summary = run(capsys, *nanjing_args(path, nanjing_sites, tmp_path / "out.gpkg"))
    assert f"{missing} node references of {clipped_ways} ways point to nodes missing" in " ".join(summary["notes"])
    # the edges kept are exactly the full file's edges with both ends inside the file
    full = read_network(nanjing_xml).edges
    kept_ids = {int(n.get("id")) for n in root.iter("node")}
    inside = full["u"].isin(kept_ids) & full["v"].isin(kept_ids)
    # the walk graph also drops exact duplicate copies of a street (coverage/graph.py)
    expected = build_walk_graph(StreetNetwork(edges=full.loc[inside].reset_index(drop=True), source="inside")).n_edges
    assert summary["graph_edges"] == expected
    assert expected >= int(inside.sum()) - 3  # Nanjing holds 3 doubled streets
    assert summary["graph_edges"] < len(full)


# ===== 3. duplicate way ids ======================================================================
def test_two_streets_with_one_id_are_both_kept(tmp_path, capsys):
    nodes = row_nodes(1, 3) | row_nodes(11, 3, lat=LAT + 0.002)
    ways = [(5, [1, 2, 3], {"highway": "residential"}), (5, [11, 12, 13], {"highway": "footway"})]
    path = tmp_path / "dup.osm"
    path.write_text(osm_xml(nodes, ways), encoding="utf-8")
    summary = run(capsys, *circles_args(tmp_path, path, (118.780, LAT + 0.002), [(118.782, LAT + 0.002)]))
    assert summary["graph_edges"] == 4
    assert summary["covered_share"] == 1.0  # the home is on the second way, which used to vanish
    assert any("1 ways reuse the id of an earlier way" in n for n in summary["notes"])


def test_nanjing_duplicate_way_id_changes_nothing_but_the_note(nanjing_xml, nanjing_sites, baseline, tmp_path, capsys):
    tree = ET.parse(nanjing_xml)
    streets = highway_ways(tree.getroot())
    streets[40].set("id", streets[3].get("id"))
    streets[41].set("id", streets[3].get("id"))
    path = tmp_path / "dup.osm"
    tree.write(path, encoding="utf-8", xml_declaration=True)
    summary = run(capsys, *nanjing_args(path, nanjing_sites, tmp_path / "out.gpkg"))
    assert any("2 ways reuse the id of an earlier way" in n for n in summary["notes"])
    for key in ("graph_nodes", "graph_edges", "covered_share", "covered_population"):
        assert summary[key] == baseline[key]


# ===== 4. line layers not split at crossings =====================================================
CROSS_H = shapely.LineString([(118.780, LAT), (118.790, LAT)])
CROSS_V = shapely.LineString([(118.785, LAT - 0.004), (118.785, LAT + 0.004)])


def cross_layer(path: Path, **columns) -> Path:
    gpd.GeoDataFrame({"name": ["east-west", "north-south"], **columns}, geometry=[CROSS_H, CROSS_V], crs=4326).to_file(path)
    return path


def test_crossing_lines_are_joined_and_the_junction_reported(tmp_path, capsys):
    lines = cross_layer(tmp_path / "cross.gpkg")
    args = circles_args(tmp_path, lines, (118.782, LAT), [(118.785, LAT + 0.002)])
    summary = run(capsys, *args)
    assert summary["covered_share"] == 1.0  # 0 % before: the two streets never met
    assert summary["graph_edges"] == 4 and summary["graph_nodes"] == 5
    assert any("split at 1 junctions where lines cross" in n for n in summary["notes"])
    # the user says the layer is noded: no shared vertex, so no junction and nobody covered
    noded = run(capsys, *args, "--network-noded")
    assert noded["covered_share"] == 0 and noded["graph_edges"] == 2
    assert not any("junction" in n for n in noded["notes"])


def test_network_noded_joins_shared_vertices_only(tmp_path, capsys):
    h = shapely.LineString([(118.780, LAT), (118.785, LAT), (118.790, LAT)])
    v = shapely.LineString([(118.785, LAT - 0.004), (118.785, LAT), (118.785, LAT + 0.004)])
    lines = tmp_path / "noded.geojson"
    gpd.GeoDataFrame({"name": ["h", "v"]}, geometry=[h, v], crs=4326).to_file(lines)
    summary = run(capsys, *circles_args(tmp_path, lines, (118.782, LAT), [(118.785, LAT + 0.002)]), "--network-noded")
    assert summary["covered_share"] == 1.0 and summary["graph_edges"] == 4
    assert any("split at 1 junctions at vertices shared" in n for n in summary["notes"])


@pytest.mark.parametrize("columns", [{"bridge": [None, "yes"]}, {"tunnel": ["no", "yes"]}, {"layer": [0, 1]}])
def test_bridges_and_tunnels_are_not_joined_to_the_street_below(tmp_path, capsys, columns):
    lines = cross_layer(tmp_path / "levels.gpkg", **columns)
    summary = run(capsys, *circles_args(tmp_path, lines, (118.782, LAT), [(118.785, LAT + 0.002)]))
    assert summary["covered_share"] == 0 and summary["graph_edges"] == 2
    assert not any("junction" in n for n in summary["notes"])


def test_a_bridge_still_lands_on_the_street_at_its_end(tmp_path, capsys):
    ramp = shapely.LineString([(118.785, LAT + 0.004), (118.785, LAT)])  # ends mid-way on the street
    lines = tmp_path / "ramp.gpkg"
    gpd.GeoDataFrame({"bridge": [None, "yes"]}, geometry=[CROSS_H, ramp], crs=4326).to_file(lines)
    summary = run(capsys, *circles_args(tmp_path, lines, (118.782, LAT), [(118.785, LAT + 0.002)]))
    assert summary["covered_share"] == 1.0 and summary["graph_edges"] == 3


@pytest.fixture(scope="module")
def nanjing_ways(tmp_path_factory) -> Path:
    """Real Nanjing streets as a GIS layer: one LineString per OSM way, not split at junctions."""
    import pyrosm

    ways = pyrosm.OSM(str(shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf"))).get_network("walking")
    ways = ways[["highway", "name", "bridge", "tunnel", "geometry"]]
    path = tmp_path_factory.mktemp("ways") / "nanjing_ways.gpkg"
    ways.to_file(path, layer="ways")
    return path


def test_nanjing_way_lines_noded_match_the_osm_graph(nanjing_ways, nanjing_sites, tmp_path, capsys):
    pbf = run(capsys, *nanjing_args(shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf"), nanjing_sites, tmp_path / "a.gpkg"))
    # joined at shared vertices: exactly OSM's own topology, so exactly the same coverage
    noded = run(capsys, *nanjing_args(nanjing_ways, nanjing_sites, tmp_path / "b.gpkg"), "--network-noded")
    assert noded["covered_share"] == pbf["covered_share"]
    assert noded["covered_population"] == pytest.approx(pbf["covered_population"], abs=0.2)
    assert noded["network_islands"] == pbf["network_islands"]
    junctions = int(next(n for n in noded["notes"] if "junctions" in n).split(" at ")[1].split()[0])
    assert junctions > 200
    # full noding adds only the few real crossings the OSM ways lack a node for
    crossing = run(capsys, *nanjing_args(nanjing_ways, nanjing_sites, tmp_path / "c.gpkg"))
    assert crossing["covered_share"] == pytest.approx(pbf["covered_share"], abs=0.01)
    assert noded["graph_nodes"] <= crossing["graph_nodes"] <= noded["graph_nodes"] + 25


# ===== 5. closed ways are counted as ways ========================================================
def test_closed_ways_are_counted_as_ways_not_edges(tmp_path, capsys):
    nodes = row_nodes(1, 6) | row_nodes(11, 6, lat=LAT + 0.002)
    ways = [(1, [1, 2, 3, 4, 5, 6], {"highway": "motorway"}), (2, [11, 12, 13, 14, 15, 16], {"highway": "footway"})]
    path = tmp_path / "motorway.osm"
    path.write_text(osm_xml(nodes, ways), encoding="utf-8")
    summary = run(capsys, *circles_args(tmp_path, path, (118.780, LAT + 0.002), [(118.782, LAT + 0.002)]))
    assert "1 ways closed to pedestrians were left out" in summary["notes"]  # not 5 (its edges)


def test_nanjing_primary_roads_as_motorways_count_their_ways(nanjing_xml, nanjing_sites, tmp_path, capsys):
    tree = ET.parse(nanjing_xml)
    primary = [w for w in highway_ways(tree.getroot()) if any(t.get("k") == "highway" and t.get("v") == "primary" for t in w.iter("tag"))]
    for way in primary:
        next(t for t in way.iter("tag") if t.get("k") == "highway").set("v", "motorway")
    n_edges = sum(len(w.findall("nd")) - 1 for w in primary)
    assert len(primary) == 23 and n_edges > 2 * len(primary)
    path = tmp_path / "motorways.osm"
    tree.write(path, encoding="utf-8", xml_declaration=True)
    summary = run(capsys, *nanjing_args(path, nanjing_sites, tmp_path / "out.gpkg"))
    assert "23 ways closed to pedestrians were left out" in summary["notes"]


# ===== 6. files osmnx wrote, and the untouched real files ========================================
def test_osmnx_written_osm_works_with_facilities_and_population(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(ox.settings, "all_oneway", True)  # osmnx's requirement for save_graph_xml
    source = tmp_path / "source.osm"
    nodes = row_nodes(1, 4) | {9: (118.783, LAT + 0.01)}
    ways = [(3, [1, 2, 3, 4], {"highway": "residential", "name": "Test Road"}), (4, [4, 9], {"highway": "footway"})]
    source.write_text(osm_xml(nodes, ways))
    written = tmp_path / "osmnx.osm"
    ox.save_graph_xml(ox.graph_from_xml(source, simplify=False, retain_all=True), written)
    assert "OSMnx" in written.read_text()
    # one home 190 m along the road, one 280 m + 1.1 km away at the footway's far end
    summary = run(capsys, *circles_args(tmp_path, written, (118.780, LAT), [(118.782, LAT), (118.783, LAT + 0.01)]))
    assert summary["graph_edges"] == 4 and summary["covered_share"] == 0.5
    assert summary["off_network_population_units"] == 0


def test_nanjing_streets_written_by_osmnx_cover_as_the_source(nanjing_xml, nanjing_sites, baseline, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(ox.settings, "all_oneway", True)
    graph = ox.graph_from_xml(nanjing_xml, simplify=False, retain_all=True)
    graph.remove_edges_from([(u, v, k) for u, v, k, d in graph.edges(keys=True, data=True) if not d.get("highway")])
    graph.remove_nodes_from([n for n in list(graph.nodes) if graph.degree(n) == 0])  # streets only, no buildings
    written = tmp_path / "nanjing_osmnx.osm"
    ox.save_graph_xml(graph, written)
    summary = run(capsys, *nanjing_args(written, nanjing_sites, tmp_path / "out.gpkg"))
    for key in ("graph_nodes", "graph_edges", "covered_share", "covered_population"):
        assert summary[key] == baseline[key]


def test_nanjing_xml_pbf_and_osmnx_graphml_agree(nanjing_xml, nanjing_sites, baseline, tmp_path, capsys):
    """The new XML reader against two independent ones: pyrosm (PBF) and osmnx (its GraphML)."""
    assert baseline["notes"] == [] and 0.1 < baseline["covered_share"] < 0.5
    pbf = run(capsys, *nanjing_args(shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf"), nanjing_sites, tmp_path / "a.gpkg"))
    assert pbf["covered_share"] == baseline["covered_share"]
    graphml = tmp_path / "nanjing.graphml"
    ox.save_graphml(ox.graph_from_xml(nanjing_xml, simplify=False, retain_all=True, bidirectional=True), graphml)
    via_osmnx = run(capsys, *nanjing_args(graphml, nanjing_sites, tmp_path / "b.gpkg"))
    for key in ("graph_nodes", "graph_edges", "covered_share", "covered_population"):
        assert via_osmnx[key] == baseline[key]
    assert np.isclose(via_osmnx["covered_population"], baseline["covered_population"])


# ===== broken XML stops with one line ============================================================
def test_truncated_or_nodeless_osm_files_stop_with_one_line(tmp_path, capsys):
    text = osm_xml(row_nodes(1, 3), [(1, [1, 2, 3], {"highway": "residential"})])
    truncated = tmp_path / "truncated.osm"
    truncated.write_text(text[: len(text) // 2], encoding="utf-8")
    message = fails(capsys, *circles_args(tmp_path, truncated, (118.780, LAT), [(118.781, LAT)]))
    assert "truncated.osm" in message and "cannot read the OSM XML file" in message
    nodeless = tmp_path / "nodeless.osm"
    nodeless.write_text(osm_xml({}, [(1, [1, 2, 3], {"highway": "residential"})]), encoding="utf-8")
    message = fails(capsys, *circles_args(tmp_path, nodeless, (118.780, LAT), [(118.781, LAT)]))
    assert "nodeless.osm" in message and "no street way has two consecutive nodes" in message
