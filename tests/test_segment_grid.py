"""The grid-of-pieces nearest-street search: exact, on hand cases, random networks and real streets."""

from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import numpy as np
import pytest
import shapely

from coverage.graph import build_walk_graph
from coverage.segment_grid import SegmentGrid
from coverage.snapping import snap_points, snap_points_strtree
from layers.network import embedded_network_path, read_network
from tests.conftest import PROJECT_ROOT
from tests.helpers import graph_of, lines_network


def assert_same_snapping(graph, pts, max_snap_m=300.0):
    """The grid search gives the STRtree's answer: same distance, same joining point."""
    fast = snap_points(graph, pts, max_snap_m)
    ref = snap_points_strtree(graph, pts, max_snap_m)
    np.testing.assert_array_equal(fast.on_network, ref.on_network)
    on = ref.on_network
    np.testing.assert_allclose(fast.access_m[on], ref.access_m[on], rtol=0, atol=1e-6)
    # where the nearest edge is unique both pick it and join at the same metre along it
    same = fast.edge[on] == ref.edge[on]
    assert same.mean() > 0.95
    np.testing.assert_allclose(fast.offset_m[on][same], ref.offset_m[on][same], rtol=0, atol=1e-6)
    # where they differ it is a tie: the grid's joining point is as close as the STRtree's
    joined = shapely.line_interpolate_point(graph.edge_geometry[fast.edge[on]], fast.offset_m[on])
    np.testing.assert_allclose(shapely.distance(joined, pts[on]), ref.access_m[on], rtol=0, atol=1e-6)
    # the edge ends found while snapping are the graph's
    u, v, length = fast.edge_ends(graph)
    np.testing.assert_array_equal(u[on], graph.edge_u[fast.edge[on]])
    np.testing.assert_array_equal(v[on], graph.edge_v[fast.edge[on]])
    np.testing.assert_array_equal(length[on], graph.edge_length_m[fast.edge[on]])
    return fast


def test_straight_street_by_hand():
    graph = graph_of(lines_network([((0.0, 0.0), (1000.0, 0.0))]))
    pts = np.array(
        [
            shapely.Point(250.0, 30.0),  # beside the street
            shapely.Point(-40.0, 30.0),  # past the u end: joins at the end, 50 m away
            shapely.Point(1000.0, -299.0),  # just within the limit, outside the grid's extent
            shapely.Point(500.0, 301.0),  # just beyond the limit
            shapely.Point(5.0e6, 0.0),  # far outside the grid
            None,
            shapely.Point(),
        ],
        dtype=object,
    )
    snap = snap_points(graph, pts, 300.0)
    np.testing.assert_array_equal(snap.edge, [0, 0, 0, -1, -1, -1, -1])
    np.testing.assert_allclose(snap.offset_m[:3], [250.0, 0.0, 1000.0])
    np.testing.assert_allclose(snap.access_m[:3], [30.0, 50.0, 299.0])
    assert np.isnan(snap.access_m[3:]).all()


def test_long_multi_vertex_edges_locate_along_the_whole_line():
    # one 3-vertex edge: 0→(300,0)→(300,400); a point beside the second leg
    edges = lines_network([((0.0, 0.0), (300.0, 400.0))])
    edges.geometry = [shapely.LineString([(0, 0), (300, 0), (300, 400)])]
    graph = graph_of(edges)
    snap = snap_points(graph, np.array([shapely.Point(310.0, 250.0)], dtype=object), 300.0)
    assert snap.edge[0] == 0
    assert snap.offset_m[0] == pytest.approx(300.0 + 250.0)
    assert snap.access_m[0] == pytest.approx(10.0)


def test_random_network_matches_the_strtree():
    rng = np.random.default_rng(7)
    # 400 random streets of 5-900 m in a 3 km square, some with bends, plus points in and around it
    starts = rng.uniform(0, 3000, size=(400, 2))
    ends = starts + rng.normal(0, 300, size=(400, 2))
    bends = (starts + ends) / 2 + rng.normal(0, 60, size=(400, 2))
    edges = lines_network([(tuple(a), tuple(b)) for a, b in zip(starts, ends)])
    edges.geometry = [shapely.LineString([a, m, b]) for a, m, b in zip(starts, bends, ends)]
    graph = graph_of(edges)
    pts = shapely.points(rng.uniform(-600, 3600, size=(20_000, 2)))
    snap = assert_same_snapping(graph, pts)
    assert 0.5 < snap.on_network.mean() < 1.0  # both on- and off-network points are exercised


def test_any_cell_size_gives_the_same_answer():
    rng = np.random.default_rng(3)
    edges = lines_network([((0.0, 0.0), (400.0, 30.0)), ((400.0, 30.0), (420.0, 500.0))])
    graph = graph_of(edges)
    xy = rng.uniform(-100, 600, size=(3000, 2))
    answers = []
    for cell_m in (1.0, 7.0, 50.0, 1000.0):
        grid = SegmentGrid.from_edges(graph.edge_geometry, graph.edge_u, graph.edge_v, graph.edge_length_m, cell_m)
        answers.append(grid.nearest(xy[:, 0], xy[:, 1], 250.0).distance_m)
    for other in answers[1:]:
        np.testing.assert_allclose(other, answers[0], rtol=0, atol=1e-9)


def test_nanjing_streets_match_the_strtree(nanjing_graph, nanjing_people):
    """Real streets: every building and random points up to 400 m off the streets."""
    buildings = shapely.centroid(nanjing_people.to_crs(nanjing_graph.crs).geometry.to_numpy())
    rng = np.random.default_rng(11)
    x0, y0, x1, y1 = shapely.total_bounds(nanjing_graph.edge_geometry)
    scattered = shapely.points(rng.uniform([x0 - 400, y0 - 400], [x1 + 400, y1 + 400], size=(20_000, 2)))
    assert_same_snapping(nanjing_graph, np.concatenate([buildings, scattered]))


def test_helsinki_streets_match_the_strtree():
    graph = build_walk_graph(read_network(embedded_network_path()))
    rng = np.random.default_rng(5)
    x0, y0, x1, y1 = shapely.total_bounds(graph.edge_geometry)
    pts = shapely.points(rng.uniform([x0 - 300, y0 - 300], [x1 + 300, y1 + 300], size=(20_000, 2)))
    assert_same_snapping(graph, pts, max_snap_m=150.0)


def test_threads_do_not_change_the_answer(nanjing_graph):
    import numba

    rng = np.random.default_rng(2)
    x0, y0, x1, y1 = shapely.total_bounds(nanjing_graph.edge_geometry)
    xy = rng.uniform([x0, y0], [x1, y1], size=(5000, 2))
    grid = nanjing_graph.segment_grid
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = grid.nearest(xy[:, 0], xy[:, 1], 300.0)
    finally:
        numba.set_num_threads(before)
    many = grid.nearest(xy[:, 0], xy[:, 1], 300.0)
    np.testing.assert_array_equal(one.edge, many.edge)
    np.testing.assert_array_equal(one.along_m, many.along_m)
    np.testing.assert_array_equal(one.distance_m, many.distance_m)


@pytest.mark.parametrize(
    "code",
    [
        "import numba; import coverage.graph",  # numba first: its probe must not take us for coverage.py
        "import coverage.graph, numba.misc.coverage_support as s; assert not s.coverage_available",
        "import coverage.graph; import libpysal",  # a library that imports numba after the engine
    ],
)
def test_numba_and_this_coverage_package_import_in_any_order(code):
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_point_coordinates_of_any_unit():
    from coverage.snapping import point_coordinates

    square = shapely.box(0, 0, 10, 10)
    geoms = np.array([shapely.Point(1, 2), None, square, shapely.MultiPoint([(3, 4)])], dtype=object)
    x, y = point_coordinates(geoms)
    inside = shapely.point_on_surface(square)
    np.testing.assert_array_equal(x, [1.0, np.nan, inside.x, 3.0])
    np.testing.assert_array_equal(y, [2.0, np.nan, inside.y, 4.0])
    # an empty point anywhere takes the slow path and stays NaN
    x, y = point_coordinates(np.append(geoms, shapely.Point()))
    np.testing.assert_array_equal(x, [1.0, np.nan, inside.x, 3.0, np.nan])
    # a large layer reads x and y on two threads: the same answers, the empty point too
    many = np.tile(np.append(geoms, shapely.Point()), 5000)
    x, y = point_coordinates(many)
    np.testing.assert_array_equal(x, np.tile([1.0, np.nan, inside.x, 3.0, np.nan], 5000))
    np.testing.assert_array_equal(y, np.tile([2.0, np.nan, inside.y, 4.0, np.nan], 5000))
    x, y = point_coordinates(np.tile(geoms[[0, 3]], 15000))
    np.testing.assert_array_equal(y, np.tile([2.0, 4.0], 15000))


def test_exact_ties_and_far_coordinates():
    """A point equally far from two streets gets that distance exactly, far from the origin too."""
    x0, y0 = 712_345.678, 3_456_789.012  # real UTM magnitudes: the search's float32 is relative
    graph = graph_of(lines_network([((x0, y0), (x0 + 200.0, y0)), ((x0, y0), (x0, y0 + 200.0))]))
    pts = shapely.points([(x0 + 30.0, y0 + 30.0), (x0 + 1e-4, y0 + 150.0), (x0 + 199.0, y0 + 1e-3)])
    snap = snap_points(graph, pts, 300.0)
    np.testing.assert_allclose(snap.access_m, [30.0, 1e-4, 1e-3], rtol=0, atol=1e-9)
    assert snap.edge[1] == 1 and snap.edge[2] == 0


def test_search_beside_a_task_gives_the_same_answer(nanjing_graph, nanjing_people, monkeypatch):
    """compute_coverage snaps the population on a worker thread during the Dijkstra pass."""
    import coverage.circles as circles
    from coverage.snapping import snap_points_while

    rng = np.random.default_rng(8)
    x0, y0, x1, y1 = shapely.total_bounds(nanjing_graph.edge_geometry)
    pts = shapely.points(rng.uniform([x0, y0], [x1, y1], size=(3000, 2)))
    alone = snap_points(nanjing_graph, pts, 300.0)
    beside, answer = snap_points_while(nanjing_graph, pts, 300.0, lambda: 42)
    assert answer == 42
    np.testing.assert_array_equal(beside.edge, alone.edge)
    np.testing.assert_array_equal(beside.access_m, alone.access_m)
    np.testing.assert_array_equal(beside.edge_ends(nanjing_graph)[0], alone.edge_ends(nanjing_graph)[0])

    facilities = gpd.GeoDataFrame(geometry=pts[:5], crs=nanjing_graph.crs)
    people = nanjing_people.to_crs(nanjing_graph.crs)
    sequential = circles.compute_coverage(nanjing_graph, facilities, people)
    monkeypatch.setattr(circles, "SIDE_BY_SIDE_MIN_NODES", 0)
    side_by_side = circles.compute_coverage(nanjing_graph, facilities, people)
    np.testing.assert_array_equal(side_by_side.distance_m, sequential.distance_m)
    np.testing.assert_array_equal(side_by_side.nearest_label, sequential.nearest_label)
    assert side_by_side.covered_share() > 0.05


def test_errors_on_either_thread_reach_the_caller(nanjing_graph, monkeypatch):
    import coverage.segment_grid as segment_grid

    grid = nanjing_graph.segment_grid
    xy = np.zeros(100)
    with pytest.raises(ZeroDivisionError):  # the task's own error, after the search has ended
        grid.nearest_while(xy, xy, 300.0, lambda: 1 / 0)

    def broken(*args):
        raise MemoryError("kernel failed")

    monkeypatch.setattr(segment_grid, "nearest_pieces", broken)
    ran = []
    with pytest.raises(MemoryError, match="kernel failed"):
        grid.nearest_while(xy, xy, 300.0, lambda: ran.append(True))
    assert ran == [True]
    with pytest.raises(ValueError, match="equal length"):
        grid.nearest(xy, xy[:5], 300.0)
