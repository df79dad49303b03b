"""Exact model reduction before the MCLP solve (issue 14): dominated candidates, merged rows, same optimum."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from scipy import sparse

from analysis.site_models.reduction import dominated_columns, reduce_covering
from analysis.site_selection import MCLP
from cli.main import main
from tests.conftest import shared_path


def _mask(a, groups=()):
    return dominated_columns(sparse.csr_array(np.asarray(a, dtype=float)), groups)


def test_dominated_columns_by_hand():
    a = [
        [1, 1, 0, 1, 0, 0],
        [1, 1, 0, 1, 0, 0],
        [0, 1, 1, 0, 0, 0],
        [0, 0, 1, 0, 0, 1],
    ]
    # col 0 ⊂ col 1; col 3 == col 0 (both ⊂ col 1); col 4 empty; col 5 ⊂ col 2
    assert _mask(a).tolist() == [True, False, False, True, True, True]
    # col 0 alone in a group no other column holds: it stays, and so does its twin col 3 (other groups)
    groups = [("t", np.array([0]))]
    assert _mask(a, groups).tolist() == [False, False, False, True, True, True]
    # identical twins in the same group: only the lower index stays
    assert _mask([[1, 1], [0, 0]], [("t", np.array([0, 1]))]).tolist() == [False, True]
    # a column in a group dominated by one outside the group stays
    assert _mask([[1, 1], [0, 1]], [("t", np.array([0]))]).tolist() == [False, False]


def test_reduce_covering_merges_rows_and_maps_groups():
    a = sparse.csr_array(np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=float))
    small = reduce_covering(a, np.array([2.0, 3.0, 5.0]), [("t", np.array([0, 2]))])
    # col 0 ⊂ col 1 but only col 0 is in "t": kept; nothing merges
    assert small.columns.tolist() == [0, 1, 2]
    small = reduce_covering(a, np.array([2.0, 3.0, 5.0]))
    assert small.columns.tolist() == [1, 2]
    # without col 0, rows 0 and 1 are the same set {1}: merged, weights summed
    assert small.a.shape == (2, 2)
    assert sorted(small.weights.tolist()) == [5.0, 5.0]
    assert small.weights.sum() == pytest.approx(10.0)


def _instance(seed: int, n_demand: int, n_sites: int, radius: float):
    """Points on a 10-unit square, with copies and shrunk copies of some candidates (dominated by design)."""
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 10, (n_demand, 2))
    sites = rng.uniform(0, 10, (n_sites, 2))
    cost = np.linalg.norm(demand[:, None] - sites[None], axis=2)
    copies = rng.choice(n_sites, n_sites // 3, replace=False)
    twin = cost[:, copies].copy()
    shrunk = np.where(rng.random(twin.shape) < 0.3, np.inf, twin)  # covers a subset of its original
    cost = np.hstack([cost, twin, shrunk])
    cost = cost[:, rng.permutation(cost.shape[1])]
    existing = np.linalg.norm(demand[:, None] - rng.uniform(0, 10, (1, 2))[None], axis=2)
    weights = rng.integers(1, 30, n_demand).astype(float)
    return cost, existing, weights


def _brute(cost, existing, weights, radius, p, groups=()):
    open_ = ~(existing <= radius).any(axis=1)
    best = 0.0
    for s in itertools.combinations(range(cost.shape[1]), p):
        if any(not set(g.tolist()) & set(s) for _, g in groups):
            continue
        best = max(best, weights[(cost[:, list(s)] <= radius).any(axis=1) & open_].sum())
    return best


@pytest.mark.parametrize("seed", range(8))
def test_reduction_keeps_the_optimum_on_random_instances(monkeypatch, seed):
    rng = np.random.default_rng(100 + seed)
    p = int(rng.integers(1, 4))
    radius = float(rng.uniform(1.5, 3.0))
    cost, existing, weights = _instance(seed, 40, 6, radius)
    groups = []
    if seed % 2:  # T3-like groups: a random third of the columns must hold a site
        groups = [("g", np.sort(rng.choice(cost.shape[1], cost.shape[1] // 3, replace=False)))]

    def solve():
        return MCLP.from_cost_matrix(cost, weights, radius, p, existing_cost_matrix=existing, required_groups=groups).solve(
            "milp"
        )

    reduced = solve()
    monkeypatch.setattr("analysis.site_models.mclp.REDUCE_MODEL", False)
    full = solve()
    best = _brute(cost, existing, weights, radius, p, groups)
    assert reduced.optimal and full.optimal
    assert reduced.objective == pytest.approx(best) and full.objective == pytest.approx(best)
    # the chosen ids are original candidate columns and really cover the objective
    chosen = np.asarray(reduced.selected)
    assert chosen.size <= p and np.all((chosen >= 0) & (chosen < cost.shape[1]))
    hit = np.asarray(reduced.coverage[:, chosen].sum(axis=1)).ravel() > 0  # demand the chosen sites reach
    assert float(reduced.weights[hit & reduced.open_demand].sum()) == pytest.approx(reduced.objective)
    for _, g in groups:
        assert np.isin(g, chosen).any()


@pytest.mark.parametrize("p", [5, 15])
def test_reduction_on_a_bigger_instance_matches_the_unreduced_milp(monkeypatch, p):
    cost, existing, weights = _instance(7, 600, 90, 1.2)
    first = MCLP.from_cost_matrix(cost, weights, 1.2, p, existing_cost_matrix=existing).solve("milp")
    assert any("reduced model" in note for note in first.notes)
    monkeypatch.setattr("analysis.site_models.mclp.REDUCE_MODEL", False)
    plain = MCLP.from_cost_matrix(cost, weights, 1.2, p, existing_cost_matrix=existing).solve("milp")
    assert first.optimal and plain.optimal
    assert first.objective == pytest.approx(plain.objective, rel=1e-9)


def _sites_json(capsys, args):
    assert main(["sites", *args, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.mark.parametrize("where", ["default", "nanjing"])
def test_cli_mclp_same_optimum_with_and_without_reduction(tmp_path, capsys, monkeypatch, where):
    args = ["--model", "mclp", "--p", "4"]
    if where == "nanjing":
        import geopandas as gpd

        from layers.population import read_population

        pbf = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")
        people = read_population(pbf, kind="buildings")
        picked = people.iloc[np.random.default_rng(4).choice(len(people), 3, replace=False)]
        facilities = gpd.GeoDataFrame(
            {"name": ["A", "B", "C"]}, geometry=picked.geometry.representative_point().to_numpy(), crs=people.crs
        )
        facilities.to_file(tmp_path / "facilities.geojson")
        args += ["--network", str(pbf), "--facilities", str(tmp_path / "facilities.geojson")]
    else:
        shared_path("helsinki")  # the embedded default is the Helsinki extract
    reduced = _sites_json(capsys, [*args, "--out", str(tmp_path / "a.gpkg")])
    monkeypatch.setattr("analysis.site_models.mclp.REDUCE_MODEL", False)
    plain = _sites_json(capsys, [*args, "--out", str(tmp_path / "b.gpkg")])
    assert reduced["optimal"] and plain["optimal"]
    assert reduced["covered_after"] == pytest.approx(plain["covered_after"], rel=1e-9)
    assert reduced["covered_after"] > reduced["covered_before"]
    assert len(reduced["sites"]) == 4


@pytest.mark.parametrize("seed", range(6))
def test_lscp_with_dominated_columns_dropped_matches_brute_force(seed):
    from analysis.site_selection import LSCP

    radius = 2.5
    cost, existing, _ = _instance(seed, 30, 6, radius)
    rng = np.random.default_rng(seed)
    groups = [("g", np.sort(rng.choice(cost.shape[1], 3, replace=False)))] if seed % 2 else []
    model = LSCP.from_cost_matrix(cost, radius, existing_cost_matrix=existing, required_groups=groups).solve("milp")
    open_ = ~(existing <= radius).any(axis=1)
    need = open_ & (cost <= radius).any(axis=1)
    fewest = next(
        k
        for k in range(1, cost.shape[1] + 1)
        for s in itertools.combinations(range(cost.shape[1]), k)
        if (cost[need][:, list(s)] <= radius).any(axis=1).all() and all(set(g.tolist()) & set(s) for _, g in groups)
    )
    assert model.optimal and model.objective == fewest
    assert model.covered_after[need].all()
    for _, g in groups:
        assert np.isin(g, model.selected).any()


def test_stored_zeros_are_not_coverage():
    a = sparse.csr_array((np.array([1.0, 0.0, 1.0]), (np.array([0, 1, 1]), np.array([0, 0, 1]))), shape=(2, 2))
    # col 0 really covers row 0 only; col 1 covers row 1 only: neither dominates the other
    assert dominated_columns(a).tolist() == [False, False]
