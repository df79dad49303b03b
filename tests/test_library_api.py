"""The library's front door: walk_coverage, run_checks(result), propose_sites(result).

Real data: Nanjing Xuanwu streets and buildings (``../shared/data/nanjing_xuanwu``) and the
Helsinki population grid (``../shared/data/helsinki``). The library and the CLI must give the same
numbers, the checks and the site proposals must not read a network, facility or population file
again, and in-memory layers are validated on entry.
"""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely

import coverage.pipeline as pipeline
from analysis import propose_sites, run_checks
from cli.main import main
from coverage import walk_coverage
from layers.errors import FieldError, InputError
from layers.network import embedded_network_path, read_network
from tests.conftest import PROJECT_ROOT, shared_path

DEMO = PROJECT_ROOT / "data" / "demo_facilities_helsinki.geojson"
SUMMARY_NUMBERS = (
    "total_population", "covered_population", "covered_share", "elderly_population",
    "covered_elderly_population", "covered_share_by_speed", "facilities", "graph_nodes", "graph_edges",
    "network_islands", "off_network_points", "minutes", "speed_mps",
)


def cli_json(capsys, *args: str) -> dict:
    capsys.readouterr()
    assert main([*args, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def summary_of(result) -> dict:
    return pipeline.summary(result, result.inputs, 0.0)


@pytest.fixture(scope="module")
def nanjing(tmp_path_factory):
    """Real Nanjing streets; facilities in memory (and the same rows in a GeoPackage for the CLI)."""
    pbf = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")
    edges = read_network(pbf).edges
    metric = edges.to_crs(32650)
    points = shapely.line_interpolate_point(metric.geometry.to_numpy()[::120], 0.5, normalized=True)
    kinds = ["township_centre", "community_station", "day_care", "nursing_home"]
    facilities = gpd.GeoDataFrame(
        {
            "facility_id": [f"NJ{i}" for i in range(points.size)],
            "name": [f"养老设施{i}" for i in range(points.size)],
            "kind": [kinds[i % 4] for i in range(points.size)],
            "beds": 30.0,
        },
        geometry=points,
        crs=32650,
    )  # a metric CRS on purpose: the library converts it
    folder = tmp_path_factory.mktemp("nanjing")
    path = folder / "facilities.gpkg"
    facilities.to_file(path)
    result = walk_coverage(pbf, facilities)
    return {"pbf": pbf, "edges": edges, "facilities": facilities, "path": path, "result": result, "folder": folder}


def test_nanjing_library_and_cli_give_the_same_circles(nanjing, capsys, tmp_path):
    result = nanjing["result"]
    assert result.inputs is not None and result.inputs.sources["facilities"] == "GeoDataFrame (facilities=)"
    cli = cli_json(
        capsys, "circles", "--network", str(nanjing["pbf"]), "--facilities", str(nanjing["path"]),
        "--out", str(tmp_path / "c.gpkg"),
    )
    library = summary_of(result)
    assert library["facilities"] == len(nanjing["facilities"]) >= 12
    assert 0 < library["covered_share"] < 1
    for key in SUMMARY_NUMBERS:
        assert library[key] == cli[key], key


def test_nanjing_checks_reuse_the_walk_and_read_no_input_again(nanjing, capsys, tmp_path, monkeypatch):
    result = nanjing["result"]
    cli = cli_json(
        capsys, "check", "--network", str(nanjing["pbf"]), "--facilities", str(nanjing["path"]),
        "--out", str(tmp_path / "report"),
    )

    def refuse(*args, **kwargs):
        raise AssertionError("run_checks read an input layer again")

    for reader in ("read_network", "read_facilities", "read_population", "build_walk_graph", "compute_coverage"):
        monkeypatch.setattr(pipeline, reader, refuse)
    run = run_checks(result)
    assert run.coverage is result, "the rule set's walk equals the result's: no second walk"
    assert run.summary() == cli
    assert {"W1", "Q1", "C1"} <= set(cli["rules"])


def test_checks_walk_again_on_the_loaded_graph_when_the_rule_set_differs(nanjing, monkeypatch):
    result = nanjing["result"]
    for reader in ("read_network", "read_facilities", "read_population", "build_walk_graph"):
        monkeypatch.setattr(pipeline, reader, lambda *a, **k: pytest.fail("read again"))
    run = run_checks(result, speed="general")
    assert run.coverage is not result and run.coverage.speed_mps == 1.0
    assert run.coverage.graph is result.graph
    assert any("computed again" in note for note in run.notes)
    assert run.coverage.covered_share() >= result.covered_share()


def test_nanjing_sites_library_equals_cli(nanjing, capsys, tmp_path):
    args = ("--p", "3", "--candidate-sources", "clusters", "--method", "greedy")
    cli = cli_json(
        capsys, "sites", "--network", str(nanjing["pbf"]), "--facilities", str(nanjing["path"]), *args,
        "--out", str(tmp_path / "s.gpkg"),
    )
    proposal = propose_sites(nanjing["result"], p=3, candidate_sources="clusters", method="greedy")
    library = dict(proposal.summary)
    for report in (library, cli):
        report.pop("seconds")
        report.pop("sources")
    assert library == cli
    assert len(proposal.sites) == 3 and proposal.sites.crs.to_epsg() == 4326
    assert library["covered_after"] > library["covered_before"]


def test_what_if_sites_reach_the_checks_and_the_proposals(nanjing):
    result = nanjing["result"]
    uncovered = (~result.covered) & result.population_snap.on_network
    elderly = result.population["elderly_population"].to_numpy()
    spot = result.population.geometry.iloc[int((elderly * uncovered).argmax())].representative_point()
    attributes = {"facility_id": "WHATIF-1", "name": "What-if", "kind": "community_station", "demo": False}
    changed = result.with_facility_added(spot, attributes)
    assert changed.inputs is result.inputs
    before, after = run_checks(result), run_checks(changed)
    assert after.coverage is changed and len(after.coverage.facilities) == len(before.coverage.facilities) + 1
    assert after.coverage.covered_share() > before.coverage.covered_share()
    def w1(run) -> float:  # districts' shares of residents within the walk, summed
        return sum(f.measured or 0.0 for f in run.findings if f.rule_id == "W1")

    assert w1(after) >= w1(before)
    assert propose_sites(changed, p=1, candidate_sources="clusters", method="greedy").summary["covered_before"] > (
        propose_sites(result, p=1, candidate_sources="clusters", method="greedy").summary["covered_before"]
    )


def test_helsinki_grid_library_equals_cli(capsys, tmp_path):
    grid = shared_path("helsinki", "helsinki_population_grid_2020.gpkg")
    network = embedded_network_path()
    result = walk_coverage(network, DEMO, grid, speed="general")
    cli = cli_json(
        capsys, "circles", "--network", str(network), "--facilities", str(DEMO), "--population", str(grid),
        "--speed", "general", "--out", str(tmp_path / "h.gpkg"),
    )
    library = summary_of(result)
    for key in SUMMARY_NUMBERS:
        assert library[key] == cli[key], key
    assert 0 < library["total_population"] < 71_724
    # the same population given in memory: the same numbers
    people = result.inputs.population
    in_memory = walk_coverage(network, DEMO, people[["population", "elderly_population", "geometry"]], speed="general")
    assert summary_of(in_memory)["covered_population"] == library["covered_population"]


def test_street_lines_and_osmnx_graph_in_memory(tmp_path):
    """Street lines given in memory walk exactly like the same lines read from a file."""
    edges = read_network(embedded_network_path()).edges  # Helsinki, where DEMO lies
    lines = edges[["highway", "name", "geometry"]].to_crs(3067)
    path = tmp_path / "streets.gpkg"
    lines.to_file(path)
    people = walk_coverage(embedded="helsinki").inputs.population
    a = walk_coverage(lines, DEMO, people)
    b = walk_coverage(path, DEMO, people)
    assert a.graph.n_nodes == b.graph.n_nodes and a.covered_share() == b.covered_share() > 0
    assert a.inputs.network_path is None and "GeoDataFrame" in a.inputs.sources["network"]


def test_osmnx_graph_in_memory():
    pytest.importorskip("osmnx")
    import networkx as nx

    edges = read_network(embedded_network_path()).edges  # Helsinki, where DEMO lies
    nodes_xy = {}

    graph = nx.MultiDiGraph(crs="EPSG:4326")
    for row in edges.itertuples():
        xs, ys = row.geometry.xy
        nodes_xy[row.u] = (xs[0], ys[0])
        nodes_xy[row.v] = (xs[-1], ys[-1])
        graph.add_edge(row.u, row.v, highway=row.highway, geometry=row.geometry, length=1.0, osmid=row.u)
    for node, (x, y) in nodes_xy.items():
        graph.nodes[node].update(x=x, y=y)
    people = walk_coverage(embedded="helsinki").inputs.population
    result = walk_coverage(graph, DEMO, people)
    assert result.covered_share() > 0 and result.inputs.sources["network"].startswith("osmnx graph")


@pytest.mark.parametrize("missing", ["facility_id", "name", "kind"])
def test_facilities_without_a_required_column_fail_at_the_entry(missing):
    frame = gpd.read_file(DEMO)
    assert missing in frame.columns
    frame = frame.drop(columns=[missing])
    with pytest.raises(FieldError) as caught:
        walk_coverage(None, frame)
    assert caught.value.field == missing and "facilities=" in caught.value.layer


def test_population_without_elderly_fails_at_the_entry():
    people = gpd.GeoDataFrame({"population": [10.0]}, geometry=[shapely.Point(24.94, 60.17)], crs=4326)
    with pytest.raises(FieldError) as caught:
        walk_coverage(None, None, people)
    assert caught.value.field == "elderly_population" and caught.value.layer == "population= (GeoDataFrame)"
    assert "elderly_population" in str(caught.value)


def test_frames_without_crs_and_jobs_without_inputs_are_refused():
    frame = gpd.read_file(DEMO).set_crs(None, allow_override=True)
    with pytest.raises(InputError, match="coordinate reference system"):
        walk_coverage(None, frame)
    with pytest.raises(InputError, match="walk_coverage"):
        run_checks("not a result")


def test_checks_take_township_frames_like_files(nanjing, tmp_path):
    result = nanjing["result"]
    x0, y0, x1, y1 = nanjing["edges"].total_bounds
    xm = (x0 + x1) / 2
    townships = gpd.GeoDataFrame(
        {"name": ["西", "东"]}, geometry=[shapely.box(x0, y0, xm, y1), shapely.box(xm, y0, x1, y1)], crs=4326
    )
    path = tmp_path / "townships.gpkg"
    townships.to_file(path)
    from_frame, from_file = run_checks(result, townships=townships.to_crs(32650)), run_checks(result, townships=path)
    assert from_frame.summary() == from_file.summary()
    assert list(from_frame.townships.table["township"]) == ["西", "东"]
    with pytest.raises(InputError) as caught:
        run_checks(result, townships=townships.iloc[0:0])
    assert "townships=" in str(caught.value)
