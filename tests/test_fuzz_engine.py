"""Property-based tests of the walking engine (hypothesis): random small street graphs with the
quirks real files have (duplicate nodes, zero-length edges, self-loops, parallel edges, islands,
crossings without a junction), random facilities and population.

Invariants:
- nothing but :class:`layers.errors.InputError` is raised, through the engine and the CLI;
- walking metres equal an independent networkx walk on the raw edges (not the engine's graph);
- the distance matrix agrees with the per-unit distances;
- adding a facility never lowers anyone's coverage, removing one never raises it, and the
  what-if add/remove equal a recompute;
- results do not depend on the order of input rows (up to ties between equally near streets).

CI runs ``FUZZ_EXAMPLES`` examples per property (default 30, derandomized: the same ones every run;
fewer for the slow what-if and CLI properties); ``scripts/fuzz.sh`` runs many more.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cli.main import main  # noqa: E402
from coverage.circles import CoverageResult, compute_coverage  # noqa: E402
from coverage.graph import build_walk_graph  # noqa: E402
from coverage.matrix import walking_distance_matrix  # noqa: E402
from coverage.output import population_layer  # noqa: E402
from coverage.service_areas import service_areas  # noqa: E402
from layers.errors import InputError  # noqa: E402

METRIC_CRS = "EPSG:32650"
X0, Y0 = 668_000.0, 3_548_000.0  # inside UTM 50N, so the CLI's lon/lat checks pass
SPACING_M = 37.0  # lattice step: edges are 0 m or at least this long (the CSR floor is 0.01 m)
TOLERANCE_M = 1e-4  # seeds start at >= 1e-5 m (coverage.engine.SEED_FLOOR_M)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@dataclass
class Case:
    """A random street layer (raw rows, metres around (X0, Y0)), facilities, population, walk."""

    edges: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    population: gpd.GeoDataFrame
    minutes: float
    speed: str


lattice = st.tuples(st.integers(0, 5), st.integers(0, 5))
# off the lattice so that ties between equally near streets are rare (they are allowed, see below)
free_point = st.tuples(st.floats(-250.0, 450.0), st.floats(-250.0, 450.0)).map(
    lambda p: (round(p[0], 3) + 0.1234, round(p[1], 3) + 0.0567)
)


@st.composite
def cases(draw) -> Case:
    """A street graph whose nodes may share positions, with bent, looping and zero-length edges."""
    n_nodes = draw(st.integers(2, 10))
    position = draw(st.lists(lattice, min_size=n_nodes, max_size=n_nodes))  # repeats = duplicate nodes
    n_edges = draw(st.integers(1, 16))
    rows = []
    for _ in range(n_edges):
        u = draw(st.integers(0, n_nodes - 1))
        v = draw(st.integers(0, n_nodes - 1))  # u == v: a self-loop
        a = (position[u][0] * SPACING_M, position[u][1] * SPACING_M)
        b = (position[v][0] * SPACING_M, position[v][1] * SPACING_M)
        bend = draw(st.sampled_from([None, (1, 0), (0, 1), (-1, 1)]))
        if bend is None:
            coords = [a, b]  # 0 m when the two nodes share a position
        else:
            middle = ((a[0] + b[0]) / 2 + bend[0] * SPACING_M / 2, (a[1] + b[1]) / 2 + bend[1] * SPACING_M / 2)
            coords = [a, middle, b]  # a bent street, a ring when u == v
        rows.append((u, v, shapely.LineString([(X0 + x, Y0 + y) for x, y in coords])))
    # the way real exports join ways: one end moved to a copy of its node, joined to it by 0 m
    next_id = n_nodes
    for _ in range(draw(st.integers(0, 3))):
        e = draw(st.integers(0, len(rows) - 1))
        u, v, line = rows[e]
        if draw(st.booleans()):
            rows[e] = (next_id, v, line)
            rows.append((u, next_id, shapely.LineString([line.coords[0], line.coords[0]])))
        else:
            rows[e] = (u, next_id, line)
            rows.append((next_id, v, shapely.LineString([line.coords[-1], line.coords[-1]])))
        next_id += 1
    if draw(st.booleans()):
        rows.append(rows[draw(st.integers(0, len(rows) - 1))])  # an exact parallel copy
    edges = gpd.GeoDataFrame(
        {"u": [r[0] for r in rows], "v": [r[1] for r in rows], "row": np.arange(len(rows))},
        geometry=[r[2] for r in rows],
        crs=METRIC_CRS,
    )
    fac_xy = draw(st.lists(free_point, min_size=0, max_size=4))
    pop_xy = draw(st.lists(free_point, min_size=1, max_size=10))
    counts = draw(st.lists(st.integers(0, 50), min_size=len(pop_xy), max_size=len(pop_xy)))
    facilities = gpd.GeoDataFrame(
        {"facility_id": [f"F{i}" for i in range(len(fac_xy))]},
        geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in fac_xy],
        crs=METRIC_CRS,
    )
    population = gpd.GeoDataFrame(
        {"population": np.asarray(counts, dtype=float), "elderly_population": np.asarray(counts) / 4.0},
        geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in pop_xy],
        crs=METRIC_CRS,
    )
    minutes = draw(st.sampled_from([1.0, 2.0, 4.0, 15.0]))
    speed = draw(st.sampled_from(["elderly", "general", "frail"]))
    return Case(edges, facilities, population, minutes, speed)


def run(case: Case, facilities: gpd.GeoDataFrame | None = None) -> CoverageResult | None:
    """The engine on a case; ``None`` when the network is refused with an InputError."""
    try:
        graph = build_walk_graph(case.edges, crs=METRIC_CRS)
    except InputError:
        assert (shapely.length(case.edges.geometry.to_numpy()) == 0).all()
        return None
    facilities = case.facilities if facilities is None else facilities
    return compute_coverage(graph, facilities, case.population, minutes=case.minutes, speed=case.speed)


def raw_reference(case: Case, result: CoverageResult) -> np.ndarray:
    """Walking metres from the nearest facility to each unit with networkx on the raw rows.

    Built from the input edges as given (0 m edges as 0-weight edges between distinct nodes,
    no merging), with each snapped point spliced into its raw edge at the engine's joining point
    (the snapping itself, nearest point of the nearest street, is W4's definition).
    """
    graph = result.graph
    raw = case.edges
    length = shapely.length(raw.geometry.to_numpy())
    row_of_edge = graph.edge_attributes["row"].to_numpy()
    snaps = [result.facility_snap, result.population_snap]
    g = nx.MultiGraph()
    g.add_nodes_from(raw["u"].tolist() + raw["v"].tolist())
    spliced: dict[int, list[tuple[float, object, float]]] = {}
    for kind, snap in enumerate(snaps):
        for k in np.flatnonzero(snap.on_network):
            r = int(row_of_edge[snap.edge[k]])
            spliced.setdefault(r, []).append((float(snap.offset_m[k]), (kind, int(k)), float(snap.access_m[k])))
    for r, (u, v, metres) in enumerate(zip(raw["u"].tolist(), raw["v"].tolist(), length.tolist())):
        joints = sorted(spliced.get(r, []), key=lambda j: j[0])
        previous, at = u, 0.0
        for offset, point, access in joints:
            joint = ("joint", point)
            g.add_edge(previous, joint, length=offset - at)
            g.add_edge(joint, point, length=access)
            previous, at = joint, offset
        g.add_edge(previous, v, length=metres - at)
    sources = [(0, int(k)) for k in np.flatnonzero(result.facility_snap.on_network)]
    walked = nx.multi_source_dijkstra_path_length(g, sources, weight="length") if sources else {}
    return np.array([walked.get((1, i), np.inf) for i in range(len(result.population_snap))])


def assert_same_distances(engine: np.ndarray, reference: np.ndarray, limit_m: float) -> None:
    """Equal to ``TOLERANCE_M`` within the limit; ``inf`` beyond it (units at the limit either way)."""
    near_limit = np.abs(reference - limit_m) <= TOLERANCE_M
    reference = np.where(reference <= limit_m, reference, np.inf)
    check = ~near_limit
    assert (np.isinf(engine[check]) == np.isinf(reference[check])).all(), (engine, reference)
    finite = check & np.isfinite(reference)
    np.testing.assert_allclose(engine[finite], reference[finite], rtol=0, atol=TOLERANCE_M)


@FUZZ
@given(cases())
def test_minutes_equal_an_independent_networkx_walk(case):
    result = run(case)
    if result is None:
        return
    assert (result.graph.edge_length_m > 0).all()
    assert_same_distances(result.distance_m, raw_reference(case, result), result.limit_m)
    covered = result.covered
    assert (covered == (result.distance_m <= result.reach_m)).all()
    band = result.walk_band()
    assert all(isinstance(b, str) and b for b in band)
    # the distance matrix agrees with the nearest-facility distances
    matrix = walking_distance_matrix(result.graph, result.population_snap, result.facility_snap, result.limit_m)
    dense = np.where(matrix.toarray() > 0, matrix.toarray(), np.inf) if matrix.shape[1] else np.full((len(band), 1), np.inf)
    np.testing.assert_allclose(
        np.where(np.isfinite(result.distance_m), result.distance_m, -1.0),
        np.where(np.isfinite(dense.min(axis=1)), dense.min(axis=1), -1.0),
        atol=TOLERANCE_M,
    )
    # the drawing and the output layer never fail on any of these graphs
    areas = service_areas(result)
    assert areas.geometry.is_valid.all()
    assert set(areas["facility_label"]) <= set(result.nearest_label[covered].tolist()) | set(result.labels.tolist())
    layer = population_layer(result)
    assert layer["walk_band"].notna().all()


@settings(FUZZ, max_examples=max(10, EXAMPLES * 2 // 3))
@given(cases(), free_point)
def test_adding_a_facility_never_lowers_coverage_and_removing_never_raises_it(case, extra):
    result = run(case)
    if result is None:
        return
    point = shapely.Point(X0 + extra[0], Y0 + extra[1])
    more = gpd.GeoDataFrame(
        {"facility_id": [*case.facilities["facility_id"], "new"]},
        geometry=[*case.facilities.geometry, point],
        crs=METRIC_CRS,
    )
    bigger = run(case, more)
    assert (bigger.distance_m <= result.distance_m + TOLERANCE_M).all()
    assert (bigger.covered >= result.covered).all()
    assert bigger.covered_share() >= result.covered_share() or np.isnan(result.covered_share())
    # the what-if add equals the recompute, where the site is on the network
    try:
        added = result.with_facility_added(point)
    except ValueError:
        assert not bigger.facility_snap.on_network[-1]
    else:
        np.testing.assert_allclose(
            np.nan_to_num(added.distance_m, posinf=-1), np.nan_to_num(bigger.distance_m, posinf=-1), atol=TOLERANCE_M
        )
    # removing each facility in turn never raises coverage and equals the recompute
    for label in result.labels.tolist():
        removed = result.with_facility_removed(label)
        assert (removed.covered <= result.covered).all()
        assert (removed.distance_m >= result.distance_m - TOLERANCE_M).all()
        again = run(case, case.facilities.loc[result.labels != label])
        np.testing.assert_allclose(
            np.nan_to_num(removed.distance_m, posinf=-1), np.nan_to_num(again.distance_m, posinf=-1), atol=TOLERANCE_M
        )
        assert (removed.covered == again.covered).all()


def _ambiguous(result: CoverageResult, snap, geometry: gpd.GeoSeries) -> np.ndarray:
    """Points equally near two different streets (W4 allows either): ties to within 1e-7 m.

    Not ambiguous when every equally near street is joined at the same junction (a node).
    """
    graph = result.graph
    out = np.zeros(len(snap), dtype=bool)
    points = geometry.to_numpy()
    for i in np.flatnonzero(snap.on_network):
        near = np.flatnonzero(shapely.distance(graph.edge_geometry, points[i]) <= snap.access_m[i] + 1e-7)
        lines = graph.edge_geometry[near]
        along = shapely.line_locate_point(lines, points[i])
        length = shapely.length(lines)
        at_u, at_v = along <= 1e-7, along >= length - 1e-7
        node = np.where(at_u, graph.edge_u[near], np.where(at_v, graph.edge_v[near], -1))
        out[i] = near.size > 1 and not ((node >= 0).all() and np.unique(node).size == 1)
    return out


@FUZZ
@given(cases(), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_the_order_of_rows(case, rnd):
    result = run(case)
    if result is None:
        return
    edge_order = list(range(len(case.edges)))
    fac_order = list(range(len(case.facilities)))
    pop_order = list(range(len(case.population)))
    for order in (edge_order, fac_order, pop_order):
        rnd.shuffle(order)
    shuffled = Case(
        case.edges.iloc[edge_order].reset_index(drop=True),
        case.facilities.iloc[fac_order].reset_index(drop=True),
        case.population.iloc[pop_order].reset_index(drop=True),
        case.minutes,
        case.speed,
    )
    other = run(shuffled)
    back = np.argsort(pop_order)
    assert other.graph.n_edges == result.graph.n_edges and other.graph.n_nodes == result.graph.n_nodes
    np.testing.assert_allclose(np.sort(other.graph.edge_length_m), np.sort(result.graph.edge_length_m))
    np.testing.assert_allclose(result.facility_snap.access_m[fac_order], other.facility_snap.access_m)
    np.testing.assert_allclose(result.population_snap.access_m, other.population_snap.access_m[back])
    # a point equally near two different streets may join either (W4 does not choose)
    if _ambiguous(result, result.facility_snap, result.facilities.geometry).any():
        return
    clear = ~_ambiguous(result, result.population_snap, result.population.geometry)
    a, b = result.distance_m[clear], other.distance_m[back][clear]
    np.testing.assert_allclose(np.nan_to_num(a, posinf=-1), np.nan_to_num(b, posinf=-1), atol=TOLERANCE_M)
    if clear.all():
        assert result.covered_share() == pytest.approx(other.covered_share(), nan_ok=True)


@settings(FUZZ, max_examples=max(5, EXAMPLES // 5))
@given(cases())
def test_cli_ends_in_a_result_or_one_error_line(tmp_path_factory, case):
    """The whole ``circles`` run on GIS layers: exit 0 with a summary, or exit 2 with one line."""
    folder = tmp_path_factory.mktemp("fuzz")
    case.edges.drop(columns=["u", "v"]).assign(highway="residential").to_file(folder / "net.gpkg")
    if len(case.facilities):
        case.facilities.to_file(folder / "fac.gpkg")
    else:
        gpd.GeoDataFrame({"facility_id": ["F0"]}, geometry=[shapely.Point(X0, Y0)], crs=METRIC_CRS).to_file(
            folder / "fac.gpkg"
        )
    case.population.drop(columns=["elderly_population"]).to_file(folder / "pop.gpkg")
    out = folder / "out.gpkg"
    args = ["circles", "--network", str(folder / "net.gpkg"), "--facilities", str(folder / "fac.gpkg"),
            "--population", str(folder / "pop.gpkg"), "--population-field", "population",
            "--minutes", str(case.minutes), "--speed", case.speed, "--out", str(out), "--json"]
    import contextlib
    import io

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(args)
    if code == 0:
        summary = json.loads(stdout.getvalue().strip().splitlines()[-1])
        assert summary["covered_population"] <= summary["total_population"] + 1e-6
        layer = gpd.read_file(out, layer="population")
        assert layer["walk_band"].notna().all()
    else:
        assert code == 2, stderr.getvalue()
        lines = stderr.getvalue().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), stderr.getvalue()
        assert not out.exists()
