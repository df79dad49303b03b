"""C6 co-location: walking metres from community elderly facilities to the nearest health facility."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.colocation import ELDERLY_KINDS, check_colocation
from analysis.rules import load_rule_set
from analysis.verdicts import FAIL, NOT_ASSESSABLE, PASS
from coverage.graph import build_walk_graph
from coverage.matrix import walking_distance_matrix
from coverage.snapping import snap_points
from layers.errors import FieldError
from layers.facilities import read_facilities
from layers.network import read_network
from layers.population import read_population
from tests.conftest import shared_path
from tests.helpers import graph_of, lines_network, points

STREET = [((x, 0.0), (x + 100.0, 0.0)) for x in range(0, 1000, 100)]


@pytest.fixture(scope="module")
def jilin():
    return load_rule_set("jilin-2023")


@pytest.fixture(scope="module")
def street():
    return graph_of(lines_network(STREET))


def _street_facilities():
    # a clinic 10 m off the street at x = 100; elderly facilities along the street
    return points(
        [(100.0, 10.0), (300.0, 20.0), (600.0, 0.0), (950.0, 0.0), (500.0, 1000.0)],
        facility_id=["H1", "E1", "E2", "E3", "E4"],
        name=["社区卫生服务中心", "东街养老服务站", "日间照料中心", "敬老院", None],
        kind=["health_centre", "community_station", "day_care", "nursing_home", "township_centre"],
    )


def test_straight_street_by_hand(street, jilin):
    frame, findings = check_colocation(street, _street_facilities(), jilin)
    assert frame["facility_id"].tolist() == ["E1", "E2", "E3", "E4"]
    walk = frame["walk_to_health_m"].to_numpy()
    assert walk[0] == pytest.approx(20 + 200 + 10)  # access legs and the street between
    assert walk[1] == pytest.approx(500 + 10)  # fails C6 (300 m), reported: within the 720 m search
    assert walk[2] == np.inf  # 860 m: beyond the W1 walk (15 min × 0.8 m/s)
    assert np.isnan(walk[3])  # 1000 m from any street: off-network (W4)
    assert frame["c6_status"].tolist() == [PASS, FAIL, FAIL, NOT_ASSESSABLE]
    assert frame["nearest_health_id"].tolist()[:2] == ["H1", "H1"]
    assert frame.crs == _street_facilities().crs
    by_id = {f.subject: f for f in findings}
    e1, e2, e3, e4 = (by_id[s] for s in ("东街养老服务站 (E1)", "日间照料中心 (E2)", "敬老院 (E3)", "E4"))
    assert e1.status == PASS and e1.measured == pytest.approx(230.0) and e1.required == jilin.value("C6")
    assert e2.status == FAIL and e2.shortfall == pytest.approx(210.0) and "510 m" in e2.message and "510米" in e2.message_zh
    assert e3.status == FAIL and e3.measured is None and "720 m" in e3.message
    assert e4.status == NOT_ASSESSABLE and "walkable street" in e4.message
    assert all(f.rule_id == "C6" and f.subject_kind == "facility" for f in findings)


def test_separate_health_layer_and_search_limit(street, jilin):
    facilities = _street_facilities()
    elderly_only = facilities[facilities["kind"] != "health_centre"]
    clinic = points([(950.0, 30.0)], facility_id=["C1"]).to_crs(4326)  # any CRS
    frame, _ = check_colocation(street, elderly_only, jilin, health=clinic)
    assert frame["walk_to_health_m"].iloc[2] == pytest.approx(30.0)  # E3 on the same edge, 30 m
    assert frame["nearest_health_id"].iloc[2] == "C1"
    # both sources together: the facility layer's clinic and the health layer
    both, _ = check_colocation(street, facilities, jilin, health=clinic)
    np.testing.assert_allclose(both["walk_to_health_m"].to_numpy()[:3], [230.0, 350.0 + 30.0, 30.0])  # E2 now nearer C1
    # the search stops at C6 when asked: E2 is then simply farther than 300 m
    short, findings = check_colocation(street, facilities, jilin, search_limit_m=jilin.value("C6"))
    assert short["walk_to_health_m"].iloc[1] == np.inf and findings[1].status == FAIL
    with pytest.raises(ValueError, match="at least the C6 distance"):
        check_colocation(street, facilities, jilin, search_limit_m=100.0)


def test_no_health_facility_is_not_assessable(street, jilin):
    facilities = _street_facilities()
    frame, findings = check_colocation(street, facilities[facilities["kind"] != "health_centre"], jilin)
    assert (frame["c6_status"] == NOT_ASSESSABLE).all() and frame["walk_to_health_m"].isna().all()
    assert all(f.status == NOT_ASSESSABLE and "no health facility at all" in f.message for f in findings)
    assert "没有任何卫生服务设施" in findings[0].message_zh
    frame, findings = check_colocation(street, facilities[facilities["kind"] == "health_centre"], jilin)
    assert len(frame) == 0 and len(findings) == 1
    assert findings[0].subject_kind == "area" and findings[0].status == NOT_ASSESSABLE
    with pytest.raises(FieldError, match="field 'kind'"):
        check_colocation(street, facilities.drop(columns="kind"), jilin)


@pytest.fixture(scope="module")
def nanjing():
    pbf = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")
    graph = build_walk_graph(read_network(pbf))
    health = read_facilities(pbf)
    people = read_population(pbf, kind="buildings")
    rng = np.random.default_rng(5)
    chosen = people.iloc[rng.choice(len(people), 40, replace=False)]
    elderly = chosen[["geometry"]].to_crs(graph.crs)
    elderly["geometry"] = elderly.geometry.centroid  # building centroids, in metres
    elderly["facility_id"] = [f"E{i}" for i in range(len(elderly))]
    elderly["kind"] = rng.choice(ELDERLY_KINDS, len(elderly))
    return graph, health, elderly.reset_index(drop=True)


def test_nanjing_hospitals_match_the_distance_matrix(nanjing, jilin):
    graph, health, elderly = nanjing
    assert (health["kind"] == "health_centre").sum() >= 5
    facilities = elderly.to_crs(4326).assign(name=None)
    frame, findings = check_colocation(graph, facilities, jilin, health=health)
    # independent path: one bounded Dijkstra per hospital, all pairs, then the row minimum
    limit = jilin.value("W1") * 60 * jilin.value("W2")
    e_snap = snap_points(graph, elderly.geometry.to_numpy(), jilin.value("W4"))
    h_snap = snap_points(graph, health.to_crs(graph.crs).geometry.to_numpy(), jilin.value("W4"))
    dense = walking_distance_matrix(graph, e_snap, h_snap, limit).toarray()
    dense[dense == 0] = np.inf
    expected = np.where(e_snap.on_network, dense.min(axis=1), np.nan)
    np.testing.assert_allclose(frame["walk_to_health_m"].to_numpy(), expected, rtol=1e-9, atol=1e-6)
    expected_status = np.where(~e_snap.on_network, NOT_ASSESSABLE, np.where(expected <= jilin.value("C6"), PASS, FAIL))
    assert frame["c6_status"].tolist() == expected_status.tolist()
    assert [f.status for f in findings] == expected_status.tolist()
    assert np.isfinite(frame["walk_to_health_m"]).sum() >= 5  # the comparison is not all inf
    print(
        f"C6 on Nanjing: {len(frame)} elderly facilities, {np.sum(expected_status == PASS)} within "
        f"{jilin.value('C6')} m of one of {len(health)} health facilities"
    )
