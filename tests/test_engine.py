"""The walking engine on hand-made graphs whose answers are computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from coverage.circles import compute_coverage
from coverage.graph import build_csr
from coverage.service_areas import service_areas
from tests.helpers import graph_of, grid_network, lines_network, points, population, reference_distances

STREET = [((x, 0.0), (x + 100.0, 0.0)) for x in range(0, 1000, 100)]  # 1 km straight street
ISLAND = [((5000.0, 0.0), (5100.0, 0.0))]


@pytest.fixture
def street():
    return graph_of(lines_network(STREET + ISLAND))


def test_straight_street_by_hand(street):
    facility = points([(0.0, 10.0)], facility_id=["F"])
    people = population([(500.0, 20.0), (1000.0, 5.0), (300.0, 400.0), (5050.0, 0.0), (700.0, -30.0)])
    result = compute_coverage(street, facility, people, speed=0.8)
    d = result.distance_m
    assert d[0] == pytest.approx(10 + 500 + 20)  # access 10 + 500 m along + access 20
    assert d[1] == pytest.approx(1015)  # beyond 720 m, but times are reported up to 2 × 720 m
    assert not result.population_snap.on_network[2]  # 400 m from the street: off-network
    assert np.isinf(d[3])  # on the island, no facility there
    assert d[4] == pytest.approx(10 + 700 + 30)
    assert result.walk_minutes[0] == pytest.approx(530 / 0.8 / 60)
    # 0.8 m/s × 15 min = 720 m: 530 m covered, 740 m not
    assert result.covered.tolist() == [True, False, False, False, False]
    # 740 m is within 900 m (1.0 m/s) but not 720 m (0.8) nor 603 m (0.67)
    shares = result.covered_share_by_preset()
    assert shares["general"] == pytest.approx(0.4)
    assert shares["elderly"] == pytest.approx(0.2)
    assert shares["frail"] == pytest.approx(0.2)
    assert result.nearest_label[0] == 0 and result.nearest_label[1] == 0 and result.nearest_label[3] == -1


def test_same_edge_walks_directly(street):
    # facility and person on the same 100 m edge: 20 m apart along it, not via its ends
    result = compute_coverage(street, points([(150.0, 0.0)]), population([(170.0, 0.0)]))
    assert result.distance_m[0] == pytest.approx(20.0)


def test_nearest_of_two_facilities(street):
    fac = points([(0.0, 0.0), (900.0, 0.0)], facility_id=["west", "east"])
    result = compute_coverage(street, fac, population([(300.0, 0.0), (800.0, 0.0)]))
    assert result.distance_m.tolist() == pytest.approx([300.0, 100.0])
    assert result.nearest_label.tolist() == [0, 1]
    served = result.served_by_facility()
    assert served["population_served"].tolist() == [100.0, 100.0]


def test_grid_manhattan_distance():
    graph = graph_of(grid_network(5))
    result = compute_coverage(graph, points([(0.0, 0.0)]), population([(200.0, 200.0), (400.0, 350.0)]))
    assert result.distance_m[0] == pytest.approx(400.0)
    assert result.distance_m[1] == pytest.approx(750.0)


def test_island_is_reported():
    graph = graph_of(lines_network(STREET + ISLAND))
    assert graph.n_islands == 1
    assert graph.component_sizes.tolist() == [11, 2]


def test_parallel_edges_keep_the_shortest():
    matrix = build_csr(2, np.array([0, 0, 1]), np.array([1, 1, 0]), np.array([50.0, 30.0, 40.0]))
    assert matrix[0, 1] == 30.0 and matrix[1, 0] == 30.0
    assert matrix.nnz == 2


def test_matches_networkx_on_a_grid():
    rng = np.random.default_rng(1)
    graph = graph_of(grid_network(12))
    fac = points([tuple(p) for p in rng.uniform(0, 1100, (4, 2))])
    people = population([tuple(p) for p in rng.uniform(-50, 1150, (300, 2))])
    result = compute_coverage(graph, fac, people)
    reference = reference_distances(result)
    reference[reference > result.limit_m] = np.inf
    np.testing.assert_allclose(result.distance_m, reference, rtol=1e-9, atol=1e-6)


def test_what_if_add_and_remove_match_a_recompute():
    rng = np.random.default_rng(2)
    graph = graph_of(grid_network(15))
    sites = [tuple(p) for p in rng.uniform(0, 1400, (5, 2))]
    people = population([tuple(p) for p in rng.uniform(0, 1400, (400, 2))])
    base = compute_coverage(graph, points(sites[:4], facility_id=list("ABCD")), people)
    added = base.with_facility_added(shapely.Point(sites[4]), {"facility_id": "E"})
    full = compute_coverage(graph, points(sites, facility_id=list("ABCDE")), people)
    np.testing.assert_allclose(added.distance_m, full.distance_m)
    np.testing.assert_array_equal(added.nearest_label, full.nearest_label)
    assert added.covered_share() >= base.covered_share()

    removed = full.with_facility_removed(1)
    again = compute_coverage(graph, points([sites[i] for i in (0, 2, 3, 4)]), people)
    np.testing.assert_allclose(removed.distance_m, again.distance_m)
    assert set(removed.labels.tolist()) == {0, 2, 3, 4}


def test_what_if_site_off_network_is_refused(street):
    result = compute_coverage(street, points([(0.0, 0.0)]), population([(100.0, 0.0)]))
    with pytest.raises(ValueError, match="from any walkable street"):
        result.with_facility_added(shapely.Point(500.0, 2000.0))


def test_service_area_follows_the_street(street):
    result = compute_coverage(street, points([(0.0, 0.0)]), population([(100.0, 0.0)]), speed=0.8)
    areas = service_areas(result, buffer_m=50.0)
    assert len(areas) == 1
    polygon = areas.geometry.iloc[0]
    # reached street: 0..720 m, buffered 50 m: a 770 × 100 m band with rounded ends (traced on a
    # lattice of 5-10 m, 10 m for one long straight run: straight sides exact, the tips of the
    # round ends within about cell² / (8 × 50 m) = 0.25 m)
    assert areas["reached_street_m"].iloc[0] == pytest.approx(720.0, abs=1e-6)
    minx, miny, maxx, maxy = polygon.bounds
    assert (minx, maxx) == pytest.approx((-50.0, 770.0), abs=0.3)
    fine = service_areas(result, buffer_m=50.0, cell_m=5.0).geometry.iloc[0]  # 5 m: within 0.07 m
    assert (fine.bounds[0], fine.bounds[2]) == pytest.approx((-50.0, 770.0), abs=0.07)
    assert (miny, maxy) == pytest.approx((-50.0, 50.0), abs=1e-6)
    assert not polygon.contains(shapely.Point(800.0, 0.0))
    assert polygon.area < shapely.convex_hull(polygon).area + 1e-6


def test_service_areas_on_a_grid_are_not_hulls():
    graph = graph_of(grid_network(20, spacing_m=100.0))
    result = compute_coverage(graph, points([(950.0, 1000.0)]), population([(950.0, 900.0)]), speed=0.8)
    polygon = service_areas(result, buffer_m=10.0).geometry.iloc[0]
    # a 720 m walk on a grid reaches a diamond; 10 m bands leave the blocks' middles out
    assert not polygon.contains(shapely.Point(1050.0, 1050.0))  # block centre, 50 m from streets
    assert polygon.contains(shapely.Point(1000.0, 1050.0))  # 100 m walk
    assert polygon.contains(shapely.Point(950.0 + 700.0, 1000.0))  # 700 m along the same street
    assert not polygon.contains(shapely.Point(950.0 + 800.0, 1000.0))  # 800 m along it
    assert not polygon.contains(shapely.Point(1350.0, 1400.0))  # 800 m walk, 80 m from reached streets
    hull = shapely.convex_hull(polygon)
    assert polygon.area < 0.6 * hull.area


def test_service_areas_are_the_same_on_one_thread_or_many(monkeypatch):
    import coverage.service_areas as module

    graph = graph_of(grid_network(20, spacing_m=100.0))
    sites = points([(950.0, 1000.0), (300.0, 300.0), (1500.0, 1600.0), (100.0, 1800.0), (1900.0, 50.0)])
    result = compute_coverage(graph, sites, population([(950.0, 900.0)]), speed=0.8)
    monkeypatch.setattr(module, "_cpu_count", lambda: 4)
    many = service_areas(result, buffer_m=30.0)
    monkeypatch.setattr(module, "_cpu_count", lambda: 1)
    one = service_areas(result, buffer_m=30.0)
    assert len(many) == 5
    np.testing.assert_array_equal(many["facility_label"], one["facility_label"])
    assert all(a.equals(b) for a, b in zip(many.geometry, one.geometry))


def test_facility_edge_lookup_finds_each_edge_once_and_nothing_else():
    """The walk's hash table of facility edges, with duplicates and colliding home slots."""
    from coverage.kernels import first_rows

    rng = np.random.default_rng(4)
    present = np.sort(np.concatenate([rng.integers(0, 3_000_000, 500), np.arange(64) * 4096, [0, 0, 7, 7, 7]]))
    queries = np.concatenate([present, rng.integers(0, 3_000_000, 5000), [2**31 - 1]])
    expected = np.searchsorted(present, queries)
    expected[(expected >= present.size) | (present[np.minimum(expected, present.size - 1)] != queries)] = -1
    np.testing.assert_array_equal(first_rows(present, queries), expected)
    assert (first_rows(present[:0], queries) == -1).all()
