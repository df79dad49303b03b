"""The one streaming OSM XML parser (:mod:`layers.osm_xml_stream`) and the readers built on it.

A small synthetic file covers what real exports do to a parser (a repeated node id, deleted
objects, ways without the wanted key, an empty tag value, a clipped way, a multipolygon relation
with an untagged outer ring, an inner ring and a member without a role). The real Nanjing Xuanwu
XML export (``../shared/data/nanjing_xuanwu``) checks that the street, building and basemap
readers and ``python -m coverage circles`` give what they gave before the parsers were merged
(numbers recorded from the two separate loops of commit 0af03b2), and the street edges against a
plain, non-streaming ElementTree reading written here.
"""

from __future__ import annotations

import json
import tracemalloc
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import shapely

from cli.main import main
from coverage.graph import build_walk_graph
from layers.errors import InputError
from layers.network import read_network
from layers.osm_context import read_osm_context
from layers.osm_xml import WAY_TAGS, read_osm_xml
from layers.osm_xml_buildings import read_osm_xml_buildings
from layers.osm_xml_stream import OsmRelation, stream_osm_xml, way_node_refs
from tests.conftest import PROJECT_ROOT, shared_path

SYNTHETIC = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
  <bounds minlat="32.0" minlon="118.0" maxlat="33.0" maxlon="119.0"/>
  <node id="1" lat="32.040" lon="118.780"/>
  <node id="2" lat="32.040" lon="118.781"/>
  <node id="3" lat="32.041" lon="118.781"><tag k="highway" v="crossing"/></node>
  <node id="4" lat="32.041" lon="118.780"/>
  <node id="5" lat="32.042" lon="118.782"/>
  <node id="6" lat="32.0405" lon="118.7805"/>
  <node id="2" lat="33.000" lon="119.000"/>
  <node id="7" lat="32.050" lon="118.790" action="delete"/>
  <node id="8" lat="32.050" lon="118.791" visible="false"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="residential"/><tag k="name" v="甲路"/><tag k="surface" v="asphalt"/></way>
  <way id="11"><nd ref="3"/><nd ref="4"/><nd ref="5"/><nd ref="3"/><tag k="building" v="yes"/></way>
  <way id="12"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/></way>
  <way id="13"><nd ref="3"/><nd ref="99"/><nd ref="4"/><nd ref="5"/><tag k="highway" v="footway"/></way>
  <way id="14"><nd ref="1"/><nd ref="4"/><tag k="highway" v=""/></way>
  <way id="15" action="delete"><nd ref="1"/><nd ref="2"/><tag k="highway" v="path"/></way>
  <way id="16"><nd ref="6"/><nd ref="2"/><nd ref="3"/><nd ref="6"/></way>
  <way id="17"><nd ref="4"/><nd ref="5"/><tag k="building" v=""/></way>
  <relation id="20">
    <member type="way" ref="12" role="outer"/><member type="way" ref="16" role="inner"/>
    <member type="way" ref="11" role=""/><member type="node" ref="1" role="label"/>
    <tag k="type" v="multipolygon"/><tag k="landuse" v="grass"/><tag k="name" v="乙园"/>
  </relation>
  <relation id="21"><member type="way" ref="10" role=""/><tag k="type" v="route"/><tag k="landuse" v="x"/></relation>
  <relation id="22"><member type="way" ref="12" role="outer"/><tag k="type" v="multipolygon"/></relation>
  <relation id="23" action="delete"><member type="way" ref="12" role="outer"/>
    <tag k="type" v="multipolygon"/><tag k="landuse" v="forest"/></relation>
</osm>
"""


@pytest.fixture
def synthetic(tmp_path) -> Path:
    path = tmp_path / "synthetic.osm"
    path.write_text(SYNTHETIC, encoding="utf-8")
    return path


# ----- the shared parser on the synthetic file --------------------------------------------------
def test_street_mode_keeps_streets_only_and_resolves_duplicate_and_missing_nodes(synthetic):
    data = stream_osm_xml(synthetic, way_keys=("highway",), tag_names=WAY_TAGS)
    assert list(data.node_id) == [1, 2, 3, 4, 5, 6, 2]  # deleted nodes 7, 8 left out; the repeat of 2 read
    assert data.ways_seen == 8  # every way element, deleted 15 too
    # 11/12/16/17 have no highway, 14's is empty, 15 is deleted
    assert data.way_id == [10, 13] and data.wanted == [0, 1]
    assert data.way_tags == [{"highway": "residential", "name": "甲路"}, {"highway": "footway"}]
    assert data.relations == []
    refs = way_node_refs(data)
    assert refs.lengths.tolist() == [3, 4]
    assert refs.refs.tolist() == [1, 2, 3, 3, 99, 4, 5]
    assert refs.way.tolist() == [0, 0, 0, 1, 1, 1, 1]
    assert refs.present.tolist() == [True, True, True, True, False, True, True]  # way 13 is clipped at 99
    # the first position of the repeated node 2 wins
    two = refs.pos[1]
    assert (refs.lon[two], refs.lat[two]) == (118.781, 32.040)
    assert refs.lon.size == 6


def test_basemap_mode_keeps_every_way_and_the_multipolygon_with_roles(synthetic):
    data = stream_osm_xml(
        synthetic,
        way_keys=("landuse", "building"),
        tag_names=("landuse", "building", "name"),
        keep_other_ways=True,
        multipolygons=True,
        any_value=True,
    )
    assert data.way_id == [10, 11, 12, 13, 14, 16, 17]  # all but the deleted 15
    # wanted: 11 (building=yes) and 17 (building="" counts with any_value); the others carry no tags
    assert [data.way_id[i] for i in data.wanted] == [11, 17]
    assert data.way_tags[data.way_id.index(12)] == {} and data.way_tags[0] == {}
    assert data.way_tags[1] == {"building": "yes"} and data.way_tags[6] == {"building": ""}
    # relation 20 only: 21 is a route, 22 has no wanted key, 23 is deleted; the node member is
    # dropped and the member without a role is an outer ring
    assert data.relations == [OsmRelation({"landuse": "grass", "name": "乙园"}, [(12, "outer"), (16, "inner"), (11, "outer")])]
    refs = way_node_refs(data)
    assert refs.lengths.tolist() == [3, 4, 5, 4, 2, 4, 2]
    assert int((~refs.present).sum()) == 1


def test_an_empty_value_counts_only_with_any_value(synthetic):
    strict = stream_osm_xml(synthetic, way_keys=("building",), tag_names=("building",))
    assert strict.way_id == [11]
    loose = stream_osm_xml(synthetic, way_keys=("building",), tag_names=("building",), any_value=True)
    assert loose.way_id == [11, 17]


def test_the_readers_on_the_synthetic_file(synthetic):
    edges = read_osm_xml(synthetic)
    assert edges.edges[["u", "v", "way_id"]].values.tolist() == [[1, 2, 10], [2, 3, 10], [4, 5, 13]]
    assert edges.missing_refs == 1 and edges.clipped_ways == 1
    buildings = read_osm_xml_buildings(synthetic)
    assert buildings.buildings["way_id"].tolist() == [11] and buildings.skipped_ways == 0
    context = read_osm_context(synthetic)
    # the grass multipolygon: ring 1-2-3-4 and the triangle 3-4-5 (its role-less member) minus 6-2-3
    grass = context.land.loc[context.land["land_class"] == "green"]
    assert grass["name"].tolist() == ["乙园"]
    square = shapely.Polygon([(118.780, 32.040), (118.781, 32.040), (118.781, 32.041), (118.780, 32.041)])
    triangle = shapely.Polygon([(118.781, 32.041), (118.780, 32.041), (118.782, 32.042)])
    hole = shapely.Polygon([(118.7805, 32.0405), (118.781, 32.040), (118.781, 32.041)])
    assert grass.geometry.iloc[0].area == pytest.approx(square.union(triangle).difference(hole).area)
    assert len(context.buildings) == 1  # way 11; way 17 (building="", open) makes no polygon


def test_bad_files_name_the_file_in_every_reader(tmp_path):
    cases = {
        "truncated.osm": SYNTHETIC[: len(SYNTHETIC) // 2],
        "bad_lat.osm": '<osm><node id="1" lat="x" lon="118.78"/></osm>',
        "bad_ref.osm": '<osm><node id="1" lat="32" lon="118"/><way id="1"><nd ref="b"/><tag k="highway" v="path"/>'
        '<tag k="building" v="yes"/></way></osm>',
    }
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        for reader in (read_osm_xml, read_osm_context, read_osm_xml_buildings):
            with pytest.raises(InputError, match="cannot read the OSM XML file") as caught:
                reader(path)
            assert name in str(caught.value)
    # the street reader never mentions relations; the basemap reader collects them and does
    with pytest.raises(InputError, match="a node or way has a bad id"):
        read_osm_xml(tmp_path / "bad_lat.osm")
    with pytest.raises(InputError, match="a node, way or relation has a bad id"):
        read_osm_context(tmp_path / "bad_lat.osm")


def test_a_malformed_network_file_is_one_line_through_the_cli(tmp_path, capsys):
    broken = tmp_path / "broken.osm"
    broken.write_text(SYNTHETIC[:700], encoding="utf-8")
    sites = tmp_path / "sites.csv"
    sites.write_text("name,lon,lat\nA,118.780,32.040\n", encoding="utf-8")
    code = main(["circles", "--network", str(broken), "--facilities", str(sites), "--out", str(tmp_path / "o.gpkg")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith("error:") and "broken.osm" in err and "cannot read the OSM XML file" in err
    assert not (tmp_path / "o.gpkg").exists()


def test_memory_stays_flat_while_streaming(tmp_path):
    """Every node read is cleared from the tree: peak memory grows with what is kept (three numbers
    per node), not with the XML (here ten tags per node, about 4 MB of text)."""
    tags = "".join(f'<tag k="note:{k}" v="{"x" * 40}"/>' for k in range(10))
    body = "".join(f'<node id="{i}" lat="32.0{i:05d}" lon="118.0{i:05d}">{tags}</node>\n' for i in range(8000))
    path = tmp_path / "tagged_nodes.osm"
    path.write_text(f"<osm>{body}</osm>", encoding="utf-8")
    tracemalloc.start()
    try:
        data = stream_osm_xml(path, way_keys=("highway",), tag_names=WAY_TAGS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(data.node_id) == 8000
    assert path.stat().st_size > 4e6
    assert peak < 2e6, f"peak {peak / 1e6:.1f} MB: the parsed elements are not being cleared"


# ----- the readers on real data: as before the merge --------------------------------------------
@pytest.fixture(scope="module")
def nanjing_xml() -> Path:
    return shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm")


def reference_street_edges(path: Path) -> list[tuple[int, int, int, str, float, float, float, float]]:
    """The street edges by a plain reading of the whole tree (no streaming): per way with a
    non-empty ``highway``, each pair of consecutive distinct references whose nodes are both in
    the file, with the first position of a repeated node id."""
    root = ET.parse(path).getroot()
    nodes: dict[int, tuple[float, float]] = {}
    for node in root.iter("node"):
        if node.get("action") != "delete" and node.get("visible") != "false":
            nodes.setdefault(int(node.get("id")), (float(node.get("lon")), float(node.get("lat"))))
    edges = []
    for way in root.iter("way"):
        tags = {t.get("k"): t.get("v") for t in way.iter("tag")}
        if not tags.get("highway") or way.get("action") == "delete" or way.get("visible") == "false":
            continue
        refs = [int(nd.get("ref")) for nd in way.iter("nd")]
        for a, b in zip(refs[:-1], refs[1:], strict=True):
            if a != b and a in nodes and b in nodes:
                edges.append((a, b, int(way.get("id")), tags["highway"], *nodes[a], *nodes[b]))
    return edges


def test_nanjing_street_edges_equal_a_plain_tree_reading(nanjing_xml):
    read = read_osm_xml(nanjing_xml)
    edges = read.edges
    coords = shapely.get_coordinates(edges.geometry.to_numpy()).reshape(-1, 4)
    got = [
        (int(u), int(v), int(w), h, *map(float, c))
        for u, v, w, h, c in zip(edges["u"], edges["v"], edges["way_id"], edges["highway"], coords, strict=True)
    ]
    assert got == reference_street_edges(nanjing_xml)
    # as recorded before the merge: 1 785 edges of 384 ways between 1 614 nodes, 87 198 m
    assert len(edges) == 1785 and edges["way_id"].nunique() == 384
    assert len(set(edges["u"]) | set(edges["v"])) == 1614
    assert edges.to_crs(32650).length.sum() == pytest.approx(87198.1577541048, rel=1e-9)
    assert (read.missing_refs, read.clipped_ways, read.duplicate_ways) == (0, 0, 0)


def test_nanjing_walk_graph_from_the_xml_as_before(nanjing_xml):
    graph = build_walk_graph(read_network(nanjing_xml))
    assert graph.node_osm_id.size == 1614 and graph.edge_u.size == 1782
    assert float(np.sum(graph.edge_length_m)) == pytest.approx(87177.15225928028, rel=1e-9)


def test_nanjing_basemap_layers_from_the_xml_as_before(nanjing_xml):
    context = read_osm_context(nanjing_xml)
    assert context.counts() == {
        "water": 5, "green": 101, "residential": 11, "commercial": 28, "industrial": 0, "waterways": 4, "buildings": 1278,
    }  # fmt: skip
    areas = context.land.to_crs(32650).area.groupby(context.land["land_class"]).sum()  # m²
    before = {"commercial": 1566737.29739662, "water": 231368.60099035283, "residential": 1879805.2502972088, "green": 251237.37789183168}
    for name, area in before.items():
        assert areas[name] == pytest.approx(area, rel=1e-9), name
    assert context.buildings.to_crs(32650).area.sum() == pytest.approx(1172514.7354607414, rel=1e-9)
    assert len(context.land) == 145


def test_nanjing_building_footprints_from_the_xml_as_before(nanjing_xml):
    read = read_osm_xml_buildings(nanjing_xml)
    assert len(read.buildings) == 1270 and read.skipped_ways == 0


def test_circles_on_the_nanjing_xml_gives_the_numbers_of_before(nanjing_xml, tmp_path, capsys):
    """``python -m coverage circles --network nanjing_xuanwu.osm --facilities DEMO sites --json``,
    recorded before the parsers were merged."""
    sites = PROJECT_ROOT / "data" / "demo_facilities_nanjing.geojson"
    args = ["circles", "--network", str(nanjing_xml), "--facilities", str(sites), "--out", str(tmp_path / "c.gpkg"), "--json"]
    code = main(args)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out.strip().splitlines()[-1])
    expected = {
        "total_population": 77776.9, "covered_population": 48282.5, "covered_share": 0.6208,
        "elderly_population": 19615.3, "covered_elderly_population": 12176.9, "uncovered_within_2x_population": 16549.8,
        "covered_share_by_speed": {"elderly": 0.6208, "general": 0.7167, "frail": 0.4804, "chosen": 0.6208},
        "facilities": 5, "off_network_points": 0, "graph_nodes": 1614, "graph_edges": 1782, "network_islands": 43,
    }  # fmt: skip
    assert {key: summary[key] for key in expected} == expected
