"""The bounded walking-distance matrix agrees with the nearest-facility pass."""

from __future__ import annotations

import numpy as np
import pytest

from coverage.circles import compute_coverage
from coverage.matrix import walking_distance_matrix
from tests.helpers import graph_of, lines_network, points, population

STREET = [((x, 0.0), (x + 100.0, 0.0)) for x in range(0, 1000, 100)]


def test_matrix_by_hand():
    graph = graph_of(lines_network(STREET))
    result = compute_coverage(graph, points([(0.0, 10.0), (950.0, 0.0)]), population([(500.0, 20.0), (960.0, 0.0)]))
    matrix = walking_distance_matrix(graph, result.population_snap, result.facility_snap, 900.0).toarray()
    assert matrix[0, 0] == pytest.approx(530.0)
    assert matrix[0, 1] == pytest.approx(470.0)
    assert matrix[1, 1] == pytest.approx(10.0)  # same edge, straight along it
    assert matrix[1, 0] == 0.0  # 970 m: beyond the limit, not stored


def test_matrix_row_minimum_is_the_nearest_facility_on_nanjing(nanjing_graph, nanjing_people):
    graph, people = nanjing_graph, nanjing_people
    rng = np.random.default_rng(7)
    sites = people.iloc[rng.choice(len(people), 12, replace=False)].copy()
    sites["geometry"] = sites.geometry.representative_point()
    result = compute_coverage(graph, sites[["geometry"]], people)
    matrix = walking_distance_matrix(graph, result.population_snap, result.facility_snap, result.limit_m)
    dense = matrix.toarray()
    dense[dense == 0] = np.inf
    np.testing.assert_allclose(dense.min(axis=1), result.distance_m, rtol=1e-9, atol=1e-6)
    nearest = np.where(np.isfinite(result.distance_m), dense.argmin(axis=1), -1)
    agree = nearest == result.nearest_label
    assert agree.mean() > 0.99  # ties between equidistant sites may differ
