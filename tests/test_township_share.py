"""Per-township elderly coverage follows what-if changes."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from analysis.township_share import elderly_coverage_by_township
from coverage.circles import compute_coverage
from tests.helpers import METRIC_CRS, graph_of, lines_network, points, population

STREET = [((x, 0.0), (x + 100.0, 0.0)) for x in range(0, 2000, 100)]


def test_by_hand_and_after_a_what_if():
    graph = graph_of(lines_network(STREET))
    people = population([(100.0, 0.0), (500.0, 0.0), (1500.0, 0.0), (1900.0, 0.0)], [400.0, 400.0, 400.0, 400.0])
    townships = gpd.GeoDataFrame(
        {"township": ["west", "east", "empty"]},
        geometry=[shapely.box(-10, -50, 1000, 50), shapely.box(1000, -50, 2010, 50), shapely.box(0, 500, 10, 510)],
        crs=METRIC_CRS,
    )
    base = compute_coverage(graph, points([(0.0, 0.0)]), people, speed=0.8)  # reaches 720 m
    table = elderly_coverage_by_township(base, townships).set_index("township")
    assert table.loc["west", "elderly_population"] == pytest.approx(200.0)  # a quarter of 800
    assert table.loc["west", "covered_share"] == pytest.approx(1.0)
    assert table.loc["east", "covered_share"] == pytest.approx(0.0)
    assert pd.isna(table.loc["empty", "covered_share"])
    after = base.with_facility_added(shapely.Point(1700.0, 0.0), {"facility_id": "new"})
    table = elderly_coverage_by_township(after, townships).set_index("township")
    assert table.loc["east", "covered_share"] == pytest.approx(1.0)

