"""Real-world street quirks in the engine: zero-length edges, and walking times past the circle.

Through the CLI (``cli.main.main`` in-process) on small layers written in ``tmp_path`` and on
the real Nanjing export (``../shared/data``), plus the engine functions they rest on.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from cli.main import main
from coverage.circles import compute_coverage
from coverage.graph import build_walk_graph, contract_zero_length
from coverage.service_areas import service_areas
from layers.errors import InputError
from tests.conftest import shared_path
from tests.helpers import METRIC_CRS, graph_of, points, population, reference_distances

#: An origin inside UTM 50N (Nanjing) so hand-made metric layers are valid lon/lat after reprojection.
X0, Y0 = 668_000.0, 3_548_000.0
WALKABLE = {"residential", "footway", "service", "tertiary", "secondary", "living_street", "pedestrian"}


def run_json(capsys, *args: str) -> dict:
    assert main(["circles", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _layer(path: Path, frame: gpd.GeoDataFrame) -> Path:
    frame.to_file(path)
    return path


def _line_layer(path: Path, coords: list[list[tuple[float, float]]]) -> Path:
    """A GIS street layer in metres around (X0, Y0), EPSG:32650."""
    lines = [shapely.LineString([(X0 + x, Y0 + y) for x, y in c]) for c in coords]
    return _layer(path, gpd.GeoDataFrame({"highway": ["residential"] * len(lines)}, geometry=lines, crs=METRIC_CRS))


def _point_layer(path: Path, xy: list[tuple[float, float]], **columns) -> Path:
    geometry = [shapely.Point(X0 + x, Y0 + y) for x, y in xy]
    return _layer(path, gpd.GeoDataFrame(columns, geometry=geometry, crs=METRIC_CRS))


# ----------------------------------------------------------------- zero-length edges -------


def test_contract_zero_length_merges_chains_and_keeps_bridges_apart():
    # 1-2 and 2-3 are 0 m (a chain): 1, 2, 3 are one node; 4 lies at the same place as 1 but
    # only a real edge joins it (a bridge over the junction), so it stays apart.
    u = np.array([1, 2, 5, 3, 4])
    v = np.array([2, 3, 1, 6, 7])
    zero = np.array([True, True, False, False, False])
    new_u, new_v = contract_zero_length(u, v, zero)
    assert new_u.tolist() == [1, 1, 5, 1, 4]
    assert new_v.tolist() == [1, 1, 1, 6, 7]


def test_duplicate_node_edge_is_merged_and_distances_are_exact():
    # 0 —100 m— 1 ≡ 2 —100 m— 3 (1 and 2 are distinct nodes at the same place, joined by 0 m)
    a, b, c = (0.0, 0.0), (100.0, 0.0), (200.0, 0.0)
    edges = gpd.GeoDataFrame(
        {"u": [0, 1, 2], "v": [1, 2, 3]},
        geometry=[shapely.LineString([a, b]), shapely.LineString([b, b]), shapely.LineString([b, c])],
        crs=METRIC_CRS,
    )
    graph = graph_of(edges)
    assert graph.n_nodes == 3 and graph.n_edges == 2
    assert (graph.edge_length_m > 0).all()
    result = compute_coverage(graph, points([(0.0, 5.0)]), population([(200.0, 5.0), (100.0, 0.0)]), speed=0.8)
    np.testing.assert_allclose(result.distance_m, [5 + 200 + 5, 5 + 100])
    np.testing.assert_allclose(result.distance_m, reference_distances(result))
    areas = service_areas(result)  # segmentizing a 0 m edge used to raise GEOSException
    assert len(areas) == 1 and areas["reached_street_m"].iloc[0] == pytest.approx(200.0)


def test_degenerate_gis_line_through_the_cli(tmp_path, capsys):
    network = _line_layer(
        tmp_path / "net.gpkg",
        [[(0, 0), (100, 0)], [(100, 0), (200, 0)], [(100, 0), (100, 0)], [(200, 0), (200, 0), (200, 0)],
         [(200, 0), (200, 100)]],
    )
    facilities = _point_layer(tmp_path / "fac.gpkg", [(100, 10)], name=["F"])
    people = _point_layer(tmp_path / "pop.gpkg", [(0, 20), (200, 90)], population=[10.0, 20.0])
    out = tmp_path / "out.gpkg"
    summary = run_json(
        capsys, "--network", str(network), "--facilities", str(facilities), "--population", str(people),
        "--population-field", "population", "--out", str(out),
    )
    assert summary["graph_edges"] == 3 and summary["graph_nodes"] == 4
    assert summary["covered_population"] == pytest.approx(30.0)
    areas = gpd.read_file(out, layer="service_areas")
    assert len(areas) == 1 and areas.geometry.is_valid.all()
    edges = gpd.read_file(out, layer="network_edges")
    assert (edges["length_m"] > 0).all()
    walk = gpd.read_file(out, layer="population")["walk_distance_m"].to_numpy()
    np.testing.assert_allclose(walk, [10 + 100 + 20, 10 + 100 + 90], atol=0.01)


def test_network_of_only_degenerate_lines_stops_with_one_line(tmp_path, capsys):
    network = _line_layer(tmp_path / "net.gpkg", [[(0, 0), (0, 0)], [(50, 50), (50, 50)]])
    facilities = _point_layer(tmp_path / "fac.gpkg", [(0, 10)])
    assert main(["circles", "--network", str(network), "--facilities", str(facilities), "--out",
                 str(tmp_path / "o.gpkg")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "zero length" in err[0]
    assert not (tmp_path / "o.gpkg").exists()
    with pytest.raises(InputError):
        build_walk_graph(gpd.GeoDataFrame({"u": [0], "v": [1]}, geometry=[shapely.LineString([(0, 0), (0, 0)])],
                                          crs=METRIC_CRS))


def duplicate_a_node(source: Path, target: Path) -> tuple[float, float]:
    """Copy an OSM XML file with one junction node duplicated at the same position.

    The first walkable way with three nodes or more is rewired through the copy right after
    its second node, so the way holds a 0 m segment between two distinct nodes (the way real
    exports join ways at a duplicated node). Returns the node's (lon, lat).
    """
    tree = ET.parse(source)
    root = tree.getroot()
    nodes = {n.get("id"): n for n in root.iter("node")}
    for way in root.iter("way"):
        tags = {t.get("k"): t.get("v") for t in way.iter("tag")}
        refs = way.findall("nd")
        if tags.get("highway") in WALKABLE and len(refs) >= 3:
            break
    original = nodes[refs[1].get("ref")]
    copy = ET.Element("node", dict(original.attrib))
    copy.set("id", str(max(int(i) for i in nodes) + 1))
    root.insert(list(root).index(original) + 1, copy)
    way.insert(list(way).index(refs[1]) + 1, ET.Element("nd", {"ref": copy.get("id")}))
    tree.write(target, encoding="utf-8", xml_declaration=True)
    return float(original.get("lon")), float(original.get("lat"))


def test_real_nanjing_export_with_a_duplicated_node(tmp_path, capsys):
    source = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm")
    quirky = tmp_path / "nanjing_dup.osm"
    lon, lat = duplicate_a_node(source, quirky)
    # a facility at the duplicated junction, so its service area runs over the 0 m segment
    sites = pd.DataFrame({"name": ["at the duplicate", "east"], "lon": [lon, lon + 0.006], "lat": [lat, lat - 0.003]})
    sites.to_csv(tmp_path / "sites.csv", index=False)
    rng = np.random.default_rng(1)
    people = gpd.GeoDataFrame(
        {"population": np.full(300, 10.0)},
        geometry=shapely.points(lon + rng.uniform(-0.01, 0.01, 300), lat + rng.uniform(-0.01, 0.01, 300)),
        crs="EPSG:4326",
    )
    people.to_file(tmp_path / "pop.gpkg")
    common = ["--facilities", str(tmp_path / "sites.csv"), "--population", str(tmp_path / "pop.gpkg"),
              "--population-field", "population"]
    quirk = run_json(capsys, "--network", str(quirky), *common, "--out", str(tmp_path / "q.gpkg"))
    plain = run_json(capsys, "--network", str(source), *common, "--out", str(tmp_path / "p.gpkg"))
    # the duplicate is merged back: the same graph and the same answer as the file without it
    assert quirk["graph_nodes"] == plain["graph_nodes"] and quirk["graph_edges"] == plain["graph_edges"]
    for key in ("covered_population", "covered_share", "uncovered_within_2x_population"):
        assert quirk[key] == plain[key]
    assert 0 < quirk["covered_share"] < 1
    a = gpd.read_file(tmp_path / "q.gpkg", layer="population")
    b = gpd.read_file(tmp_path / "p.gpkg", layer="population")
    np.testing.assert_allclose(a["walk_distance_m"], b["walk_distance_m"], rtol=1e-9, atol=1e-6)
    areas = gpd.read_file(tmp_path / "q.gpkg", layer="service_areas")
    assert len(areas) == 2 and areas.geometry.is_valid.all()


# ----------------------------------------------------------------- times past the limit ----

STREET = [((0.0, 0.0), (3000.0, 0.0))]


def test_times_are_reported_to_twice_the_minutes_and_banded():
    from tests.helpers import lines_network

    graph = graph_of(lines_network([*STREET, ((5000.0, 0.0), (5100.0, 0.0))]))
    # walks of 530 m, 1015 m, 1430 m and 2005 m at 0.8 m/s (720 m = 15 min, 1440 m = 30 min),
    # one unit 400 m off the street, one on an island without a facility
    xy = [(500.0, 20.0), (1000.0, 5.0), (1400.0, 20.0), (2000.0, -5.0), (300.0, 400.0), (5050.0, 0.0)]
    result = compute_coverage(graph, points([(0.0, 10.0)]), population(xy), speed=0.8)
    assert result.limit_m == pytest.approx(1440.0) and result.reported_minutes == pytest.approx(30.0)
    np.testing.assert_allclose(result.distance_m[:3], [530.0, 1015.0, 1430.0])
    assert np.isinf(result.distance_m[3:]).all()
    assert result.covered.tolist() == [True, False, False, False, False, False]
    assert result.walk_band().tolist() == [
        "within 15 min", "15-30 min", "15-30 min", "beyond 30 min", "off network", "beyond 30 min",
    ]
    assert result.within_reported().tolist() == [True, True, True, False, False, False]
    # the covered share of every preset is as before: it only reads distances within its circle
    assert result.covered_share_by_preset()["general"] == pytest.approx(1 / 6)


@pytest.mark.parametrize("speed", ["frail", "elderly", "general", "0.3", "3"])
def test_search_reaches_twice_the_walk_and_every_preset(speed):
    from coverage.circles import search_limit_m
    from coverage.settings import SPEED_PRESETS, resolve_speed

    mps = resolve_speed(speed)
    limit = search_limit_m(15.0, mps)
    assert limit >= 2 * 15 * 60 * mps - 1e-9
    assert limit >= 15 * 60 * max(SPEED_PRESETS.values()) - 1e-9


def test_population_layer_and_json_through_the_cli(tmp_path, capsys):
    network = _line_layer(
        tmp_path / "net.gpkg", [[(0, 0), (1000, 0)], [(1000, 0), (3000, 0)], [(0, 1000), (100, 1000)]]
    )
    facilities = _point_layer(tmp_path / "fac.gpkg", [(0, 10)], name=["F"])
    people = _point_layer(
        tmp_path / "pop.gpkg", [(500, 20), (1000, 5), (2000, -5), (1500, 400)], population=[10.0, 20.0, 40.0, 80.0]
    )
    out = tmp_path / "out.gpkg"
    summary = run_json(
        capsys, "--network", str(network), "--facilities", str(facilities), "--population", str(people),
        "--population-field", "population", "--out", str(out),
    )
    assert summary["covered_population"] == pytest.approx(10.0)
    assert summary["uncovered_within_2x_population"] == pytest.approx(20.0)
    layer = gpd.read_file(out, layer="population")
    assert layer["walk_band"].tolist() == ["within 15 min", "15-30 min", "beyond 30 min", "off network"]
    assert layer["walk_band"].notna().all()
    assert layer["covered"].tolist() == [True, False, False, False]
    np.testing.assert_allclose(layer["walk_minutes"].to_numpy()[:2], [530 / 0.8 / 60, 1015 / 0.8 / 60], rtol=1e-6)
    assert layer["walk_minutes"].isna().tolist() == [False, False, True, True]
    assert layer["nearest_facility"].notna().tolist() == [True, True, False, False]


def test_real_nanjing_times_past_the_circle(tmp_path, capsys, nanjing_pbf, nanjing_graph, nanjing_people):
    sites = nanjing_people.geometry.iloc[[10, 400, 900]].representative_point()
    facilities = gpd.GeoDataFrame({"name": ["a", "b", "c"]}, geometry=sites.to_numpy(), crs=nanjing_people.crs)
    facilities.to_file(tmp_path / "sites.gpkg")
    out = tmp_path / "out.gpkg"
    summary = run_json(capsys, "--network", str(nanjing_pbf), "--facilities", str(tmp_path / "sites.gpkg"),
                       "--out", str(out))
    layer = gpd.read_file(out, layer="population")
    band = layer["walk_band"]
    assert band.notna().all() and set(band) <= {"within 15 min", "15-30 min", "beyond 30 min", "off network"}
    assert (band == "within 15 min").eq(layer["covered"]).all()
    between = band == "15-30 min"
    assert between.sum() > 50  # real units past the circle now have their minutes
    assert layer.loc[between, "walk_minutes"].between(15, 30).all()
    assert layer.loc[band == "beyond 30 min", "walk_minutes"].isna().all()
    assert summary["uncovered_within_2x_population"] == pytest.approx(
        layer.loc[between, "population"].sum(), abs=0.2
    )
    # the same times as an independent networkx walk, up to the search limit
    result = compute_coverage(nanjing_graph, facilities, nanjing_people)
    reference = reference_distances(result)
    reference[reference > result.limit_m] = np.inf
    np.testing.assert_allclose(result.distance_m, reference, rtol=1e-9, atol=1e-6)
    # covered is exactly the old definition: within minutes × speed
    assert (result.covered == (reference <= result.reach_m)).all()


def test_real_nanjing_what_if_keeps_the_times_past_the_circle(nanjing_graph, nanjing_people):
    sites = nanjing_people.geometry.iloc[[10, 400, 900, 1200]].representative_point().to_numpy()
    facilities = gpd.GeoDataFrame({"facility_id": list("abcd")}, geometry=sites, crs=nanjing_people.crs)
    base = compute_coverage(nanjing_graph, facilities.iloc[:3], nanjing_people)
    full = compute_coverage(nanjing_graph, facilities, nanjing_people)
    added = base.with_facility_added(full.facilities.geometry.iloc[3], {"facility_id": "d"})
    np.testing.assert_allclose(added.distance_m, full.distance_m)
    assert (added.walk_band() == full.walk_band()).all()
    removed = full.with_facility_removed(3)
    np.testing.assert_allclose(removed.distance_m, base.distance_m)
    assert (removed.walk_band() == base.walk_band()).all()
    assert np.isfinite(full.distance_m[~full.covered]).sum() > 50


# ----------------------------------------------------------------- found by the fuzzer -----


@pytest.mark.parametrize("reverse_first", [False, True])
def test_a_street_drawn_twice_is_one_street_whatever_the_row_order(tmp_path, capsys, reverse_first):
    """tests/test_fuzz_engine.py: a facility and a person on the same spot of a street stored twice
    (the second copy reversed) joined different copies by row order, and walked to each other
    through the junction (1.72 m) instead of along the street (1.51 m)."""
    forward = [(0, 0), (37, 74)]
    lines = [forward[::-1], forward] if reverse_first else [forward, forward[::-1]]
    network = _line_layer(tmp_path / "net.gpkg", [*lines, [(37, 74), (100, 74)]])
    facilities = _point_layer(tmp_path / "fac.gpkg", [(0.123, 0.057)], name=["F"])
    people = _point_layer(tmp_path / "pop.gpkg", [(1.123, 0.057), (90, 70)], population=[10.0, 5.0])
    out = tmp_path / "out.gpkg"
    summary = run_json(
        capsys, "--network", str(network), "--facilities", str(facilities), "--population", str(people),
        "--population-field", "population", "--out", str(out),
    )
    assert summary["graph_edges"] == 2
    walk = gpd.read_file(out, layer="population")["walk_distance_m"].to_numpy()
    direction = np.array([37.0, 74.0]) / np.hypot(37.0, 74.0)
    normal = np.array([direction[1], -direction[0]])
    fac, person = np.array([0.123, 0.057]), np.array([1.123, 0.057])
    direct = abs(fac @ normal) + abs((person - fac) @ direction) + abs(person @ normal)
    assert walk[0] == pytest.approx(direct, abs=1e-3)  # 1.51 m, not 1.72 m through the junction
    street = np.hypot(37.0, 74.0) + 53.0
    assert walk[1] == pytest.approx(abs(fac @ normal) + street - fac @ direction + 4.0, abs=1e-3)


def test_duplicate_edges_are_found_either_way_round_and_different_lines_are_kept():
    from coverage.graph import duplicate_edges

    lines = np.array(
        [
            shapely.LineString([(0, 0), (1, 0)]),
            shapely.LineString([(1, 0), (0, 0)]),  # the same street reversed
            shapely.LineString([(0, 0), (0.5, 1), (1, 0)]),  # same ends, another street
            shapely.LineString([(5, 5), (6, 5), (5, 6), (5, 5)]),
            shapely.LineString([(5, 5), (5, 6), (6, 5), (5, 5)]),  # the same ring the other way
        ],
        dtype=object,
    )
    copy = duplicate_edges(np.array([0, 1, 0, 2, 2]), np.array([1, 0, 1, 2, 2]), lines, 3)
    assert copy.tolist() == [False, True, False, False, True]
