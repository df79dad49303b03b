"""2SFCA: a case computed by hand, the coverage wrapper on a straight street, township means, and
an exact cross-check against PySAL ``access`` on the Nanjing walking network."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import sparse

from analysis.accessibility import (
    DECAY_FUNCTIONS,
    accessibility_from_coverage,
    aggregate_by_polygons,
    two_step_fca,
)
from coverage.circles import compute_coverage
from coverage.graph import build_walk_graph
from coverage.matrix import walking_distance_matrix
from layers.errors import FieldError
from layers.network import read_network
from layers.population import read_population
from tests.conftest import shared_path
from tests.helpers import graph_of, lines_network, points, population

STREET = [((x, 0.0), (x + 100.0, 0.0)) for x in range(0, 1000, 100)]

# 3 demand units × 2 suppliers, metres; unit 0 reaches only supplier 0, unit 2 only supplier 1.
HAND_DISTANCES = sparse.csr_array(np.array([[100.0, 0.0], [200.0, 300.0], [0.0, 400.0]]))
HAND_ELDERLY = np.array([100.0, 200.0, 300.0])
HAND_BEDS = np.array([10.0, 30.0])


def test_two_step_fca_by_hand():
    result = two_step_fca(HAND_DISTANCES, HAND_ELDERLY, HAND_BEDS, catchment_m=500.0)
    # R0 = 10 / (100 + 200), R1 = 30 / (200 + 300)
    np.testing.assert_allclose(result.ratio, [10 / 300, 30 / 500])
    np.testing.assert_allclose(result.access, [10 / 300, 10 / 300 + 30 / 500, 30 / 500])
    np.testing.assert_array_equal(result.suppliers_in_reach, [1, 2, 1])
    np.testing.assert_allclose(result.access_per_thousand, 1000 * result.access)
    # every bed is shared out once: Σ P_i A_i = Σ S_j
    assert HAND_ELDERLY @ result.access == pytest.approx(HAND_BEDS.sum())


def test_two_step_fca_catchment_and_decay_by_hand():
    short = two_step_fca(HAND_DISTANCES, HAND_ELDERLY, HAND_BEDS, catchment_m=250.0)
    assert short.ratio[0] == pytest.approx(10 / 300)
    assert np.isnan(short.ratio[1]) and short.unassigned_supply.tolist() == [False, True]
    np.testing.assert_allclose(short.access, [10 / 300, 10 / 300, 0.0])

    linear = two_step_fca(HAND_DISTANCES, HAND_ELDERLY, HAND_BEDS, catchment_m=500.0, decay="linear")
    # w = 1 - d/500: 0.8, 0.6 | 0.4, 0.2
    r0, r1 = 10 / (0.8 * 100 + 0.6 * 200), 30 / (0.4 * 200 + 0.2 * 300)
    np.testing.assert_allclose(linear.ratio, [r0, r1])
    np.testing.assert_allclose(linear.access, [0.8 * r0, 0.6 * r0 + 0.4 * r1, 0.2 * r1])
    assert HAND_ELDERLY @ linear.access == pytest.approx(HAND_BEDS.sum())

    gaussian = two_step_fca(HAND_DISTANCES, HAND_ELDERLY, HAND_BEDS, catchment_m=500.0, decay="gaussian")
    w = DECAY_FUNCTIONS["gaussian"](np.array([0.0, 1.0]))
    np.testing.assert_allclose(w, [1.0, 0.0], atol=1e-12)  # 1 at the facility, 0 at the catchment edge
    assert HAND_ELDERLY @ gaussian.access == pytest.approx(HAND_BEDS.sum())


def test_two_step_fca_rejects_bad_inputs():
    with pytest.raises(ValueError, match="demand has shape"):
        two_step_fca(HAND_DISTANCES, HAND_ELDERLY[:2], HAND_BEDS, catchment_m=500.0)
    with pytest.raises(ValueError, match="non-negative"):
        two_step_fca(HAND_DISTANCES, HAND_ELDERLY, np.array([10.0, np.nan]), catchment_m=500.0)
    with pytest.raises(ValueError, match="unknown decay"):
        two_step_fca(HAND_DISTANCES, HAND_ELDERLY, HAND_BEDS, catchment_m=500.0, decay="cubic")
    with pytest.raises(ValueError, match="catchment_m"):
        two_step_fca(HAND_DISTANCES, HAND_ELDERLY, HAND_BEDS, catchment_m=0.0)


def test_accessibility_from_coverage_on_a_straight_street():
    graph = graph_of(lines_network(STREET))
    # F3 has no bed count: left out and reported, not counted as 0 beds
    facilities = points([(100.0, 0.0), (900.0, 0.0), (500.0, 5.0)], facility_id=["F1", "F2", "F3"], beds=[20.0, 40.0, np.nan])
    people = population([(50.0, 0.0), (500.0, 0.0), (950.0, 0.0), (500.0, 1000.0)], [100.0] * 4)  # 25 elderly each
    result = compute_coverage(graph, facilities, people)  # 15 min at 0.8 m/s: 720 m
    out = accessibility_from_coverage(result)
    # unit 0 reaches F1 (50 m), unit 1 both (400 m each), unit 2 F2 (50 m); unit 3 is off-network
    r1, r2 = 20 / 50, 40 / 50
    np.testing.assert_allclose(out["beds_per_elderly"].to_numpy()[:3], [r1, r1 + r2, r2])
    assert np.isnan(out["beds_per_elderly"].iloc[3])
    np.testing.assert_allclose(out["beds_per_1000_elderly"].to_numpy()[:3], [400.0, 1200.0, 800.0])
    assert out["suppliers_in_reach"].tolist() == [1, 2, 1, 0]
    assert out.attrs["catchment_m"] == pytest.approx(720.0)
    assert out.attrs["excluded_facility_ids"] == ["F3"]
    assert out.attrs["facility_ratio"] == pytest.approx({0: r1, 1: r2})
    # a 5-minute catchment at 1.0 m/s (300 m): unit 1 reaches nothing
    short = accessibility_from_coverage(result, minutes=5, speed="general")
    assert short.attrs["catchment_m"] == pytest.approx(300.0)
    # each facility's beds are now shared by one unit only
    np.testing.assert_allclose(short["beds_per_elderly"].to_numpy()[:3], [20 / 25, 0.0, 40 / 25])
    with pytest.raises(FieldError, match="field 'beds'"):
        accessibility_from_coverage(compute_coverage(graph, facilities.drop(columns="beds"), people))


def test_aggregate_by_polygons():
    units = points(
        [(10.0, 10.0), (20.0, 20.0), (150.0, 10.0), (160.0, 10.0), (500.0, 500.0)],
        elderly_population=[10.0, 30.0, 5.0, 5.0, 99.0],
        beds_per_elderly=[1.0, 2.0, 0.5, np.nan, 7.0],
    )
    townships = points([(0.0, 0.0)] * 3, township=["A", "B", "C"]).set_geometry(
        [shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100), shapely.box(1000, 1000, 1100, 1100)]
    )
    townships.index = ["A", "B", "C"]
    mean = aggregate_by_polygons(units, townships.to_crs(4326))
    assert mean["A"] == pytest.approx((10 * 1.0 + 30 * 2.0) / 40)
    assert mean["B"] == pytest.approx(0.5)  # the NaN unit is left out, not taken as 0
    assert np.isnan(mean["C"])
    assert mean.index.tolist() == ["A", "B", "C"]


# ----- Nanjing: the same numbers as PySAL access ------------------------------------------------
@pytest.fixture(scope="module")
def nanjing_case():
    pbf = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")
    graph = build_walk_graph(read_network(pbf))
    people = read_population(pbf, kind="buildings")
    rng = np.random.default_rng(11)
    chosen = people.iloc[rng.choice(len(people), 10, replace=False)]
    sites = chosen[["geometry"]].to_crs(graph.crs)
    sites["geometry"] = sites.geometry.centroid  # building centroids, in metres
    sites["facility_id"] = [f"S{j}" for j in range(len(sites))]
    sites["beds"] = rng.integers(20, 300, len(sites)).astype(float)
    result = compute_coverage(graph, sites, people)
    catchment_m = result.reach_m  # 15 min at 0.8 m/s
    matrix = walking_distance_matrix(graph, result.population_snap, result.facility_snap, catchment_m)
    return result, matrix, catchment_m


def _access_two_stage(matrix, elderly, beds, catchment_m, weight_fn=None) -> np.ndarray:
    """A_i from ``access.Access.two_stage_fca`` on the same pairs given as a long cost table."""
    access = pytest.importorskip("access", reason="PySAL access is not installed (pip install access)")
    coo = matrix.tocoo()
    demand = pd.DataFrame({"geoid": [f"d{i}" for i in range(matrix.shape[0])], "elderly": elderly})
    supply = pd.DataFrame({"geoid": [f"s{j}" for j in range(matrix.shape[1])], "beds": beds})
    cost = pd.DataFrame({"origin": [f"d{i}" for i in coo.row], "dest": [f"s{j}" for j in coo.col], "cost": coo.data})
    model = access.Access(
        demand_df=demand,
        demand_index="geoid",
        demand_value="elderly",
        supply_df=supply,
        supply_index="geoid",
        supply_value="beds",
        cost_df=cost,
        cost_origin="origin",
        cost_dest="dest",
        cost_name="cost",
    )
    scores = model.two_stage_fca(name="fca", max_cost=catchment_m, weight_fn=weight_fn, normalize=False)
    return scores["fca_beds"].reindex(demand["geoid"]).to_numpy(dtype=float)


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")  # access 1.1.10 vs pandas 3
@pytest.mark.parametrize("decay", ["none", "gaussian"])
def test_two_step_fca_matches_pysal_access_on_nanjing(nanjing_case, decay):
    result, matrix, catchment_m = nanjing_case
    elderly = result.population["elderly_population"].to_numpy(dtype=float)
    beds = result.facilities["beds"].to_numpy(dtype=float)
    ours = two_step_fca(matrix, elderly, beds, catchment_m=catchment_m, decay=decay)
    weight_fn = None if decay == "none" else (lambda d: DECAY_FUNCTIONS["gaussian"](np.asarray(d) / catchment_m))
    theirs = _access_two_stage(matrix, elderly, beds, catchment_m, weight_fn)

    # access leaves units with no facility in reach out (NaN); 2SFCA gives them 0 beds.
    reached = ours.suppliers_in_reach > 0
    assert np.isnan(theirs[~reached]).all()
    # access divides by zero for a facility whose catchment holds no elderly (inf); we leave its beds out.
    empty_catchment = ours.unassigned_supply
    via_empty = np.isin(np.arange(len(elderly)), matrix.tocoo().row[empty_catchment[matrix.tocoo().col]])
    assert np.isinf(theirs[reached & via_empty]).all()
    comparable = reached & ~via_empty
    assert comparable.sum() > 500
    np.testing.assert_allclose(ours.access[comparable], theirs[comparable], rtol=1e-12, atol=0)
    max_abs_diff = float(np.max(np.abs(ours.access[comparable] - theirs[comparable])))
    print(f"2SFCA vs access ({decay}): {comparable.sum()} units, max abs diff {max_abs_diff:.3e} beds/elderly")
    assert elderly @ ours.access == pytest.approx(beds[~empty_catchment].sum(), rel=1e-9)


def test_accessibility_from_coverage_on_nanjing(nanjing_case):
    result, matrix, catchment_m = nanjing_case
    out = accessibility_from_coverage(result)
    direct = two_step_fca(
        matrix,
        np.where(result.population_snap.on_network, result.population["elderly_population"], 0.0),
        result.facilities["beds"].to_numpy(dtype=float),
        catchment_m=catchment_m,
    )
    on = result.population_snap.on_network
    np.testing.assert_allclose(out["beds_per_elderly"].to_numpy()[on], direct.access[on])
    assert out.crs == result.population.crs and len(out) == len(result.population)
