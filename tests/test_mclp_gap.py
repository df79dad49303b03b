"""MCLP gap (issue 14): swap search, iterated swaps, reduction, and the honestly reported gap.

The exact solve now reduces the model, lifts the greedy incumbent by swap search and, when HiGHS
stops without proof, polishes by iterated swaps; the gap it reports must still be a proven one
(against the LP or HiGHS's bound), and the optimum must be the unreduced model's.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import sparse

import analysis.site_models.mclp as mclp_module
from analysis.site_models.local_search import covered_weight, iterated_swap_search, swap_search
from analysis.site_selection import MCLP
from cli.main import main
from tests.mclp_support import highs_gives_up, mid_sized_instance, nanjing_mclp_args, sites_json


def _random_instance(seed: int, n_demand: int = 30, n_sites: int = 8):
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 10, (n_demand, 2))
    sites = rng.uniform(0, 10, (n_sites, 2))
    cost = np.linalg.norm(demand[:, None] - sites[None], axis=2)
    existing = np.linalg.norm(demand[:, None] - rng.uniform(0, 10, (1, 2))[None], axis=2)
    weights = rng.lognormal(2.0, 1.0, n_demand)
    radius = float(rng.uniform(2.0, 3.5))
    return cost, existing, weights, radius


def _brute(cost, existing, weights, radius, p, groups=()):
    open_ = ~(existing <= radius).any(axis=1)
    best = 0.0
    for chosen in itertools.combinations(range(cost.shape[1]), p):
        if any(not set(g.tolist()) & set(chosen) for _, g in groups):
            continue
        best = max(best, float(weights[(cost[:, list(chosen)] <= radius).any(axis=1) & open_].sum()))
    return best


# ----- swap search ----------------------------------------------------------------------------------
def test_swap_search_fixes_the_greedy_trap():
    # rows: a, b1, b2, c; the middle site covers b1+b2 (7), left a+b1 (6.5), right b2+c (6.5)
    a = sparse.csr_array(np.array([[0, 1, 0], [1, 1, 0], [1, 0, 1], [0, 0, 1]], dtype=float))
    w = np.array([3.0, 3.5, 3.5, 3.0])
    model = MCLP.from_cost_matrix(np.where(a.toarray() > 0, 1.0, np.inf), w, 1.0, 2)
    greedy = model.solve("greedy")
    assert 0 in greedy.selected.tolist() and greedy.objective == pytest.approx(10.0)  # the middle site first
    chosen, value = swap_search(a, w, greedy.selected)
    assert sorted(chosen.tolist()) == [1, 2] and value == pytest.approx(13.0)
    assert covered_weight(a, w, chosen) == pytest.approx(13.0)
    exact = MCLP.from_cost_matrix(np.where(a.toarray() > 0, 1.0, np.inf), w, 1.0, 2).solve("milp")
    assert exact.optimal and exact.objective == pytest.approx(13.0)
    # a required group holding only the middle site: it may not leave
    chosen, value = swap_search(a, w, np.array([0, 1]), [("t", np.array([0]))])
    assert 0 in chosen.tolist() and value == pytest.approx(10.0)


@pytest.mark.parametrize("seed", range(10))
def test_swap_and_iterated_swaps_stay_feasible_and_below_the_optimum(seed):
    cost, existing, weights, radius = _random_instance(seed)
    p = 1 + seed % 3
    rng = np.random.default_rng(seed)
    groups = [("g", np.sort(rng.choice(cost.shape[1], 3, replace=False)))] if seed % 2 else []
    model = MCLP.from_cost_matrix(cost, weights, radius, p, existing_cost_matrix=existing, required_groups=groups)
    a, w = model._reduced()  # noqa: SLF001 - the rows the exact solve sees
    start, start_value, _ = model._greedy_core(a, w, groups)  # noqa: SLF001
    chosen, value = swap_search(a, w, start, groups)
    best = _brute(cost, existing, weights, radius, p, groups)
    assert start_value - 1e-9 <= value <= best + 1e-9
    assert value == pytest.approx(covered_weight(a, w, chosen))
    assert len(set(chosen.tolist())) == chosen.size == start.size
    kicked, kicked_value, kicks = iterated_swap_search(a, w, chosen, groups, deadline=np.inf, max_kicks=30, seed=seed)
    assert value - 1e-9 <= kicked_value <= best + 1e-9
    assert kicked_value == pytest.approx(covered_weight(a, w, kicked))
    assert len(set(kicked.tolist())) == kicked.size == start.size
    for _, g in groups:
        assert np.isin(g, chosen).any() and np.isin(g, kicked).any()
    assert kicks <= 30


# ----- the exact solve: same optimum, honest gap -------------------------------------------------------
@pytest.mark.parametrize("seed", range(8))
def test_reduced_and_polished_solve_finds_the_unreduced_optimum(monkeypatch, seed):
    cost, existing, weights, radius = _random_instance(50 + seed, n_demand=40, n_sites=9)
    p = 2 + seed % 3
    groups = [("g", np.array([seed % 9, (seed + 4) % 9]))] if seed % 2 else []

    def solve():
        return MCLP.from_cost_matrix(
            cost, weights, radius, p, existing_cost_matrix=existing, required_groups=groups
        ).solve("milp")

    now = solve()
    monkeypatch.setattr(mclp_module, "REDUCE_MODEL", False)
    monkeypatch.setattr(mclp_module, "LOCAL_SEARCH", False)
    before = solve()
    best = _brute(cost, existing, weights, radius, p, groups)
    assert now.optimal and before.optimal and now.gap == 0.0
    assert now.objective == pytest.approx(best) and before.objective == pytest.approx(best)
    hit = np.asarray(now.coverage[:, now.selected].sum(axis=1)).ravel() > 0
    assert float(now.weights[hit & now.open_demand].sum()) == pytest.approx(now.objective)


@pytest.mark.parametrize("lp_first", [True, False])
@pytest.mark.parametrize("seed", range(5))
def test_gap_without_proof_is_against_a_true_bound(monkeypatch, seed, lp_first):
    """HiGHS gives up: the answer is the polished incumbent, its gap measured against a valid bound."""
    cost, existing, weights, radius = _random_instance(80 + seed, n_demand=40, n_sites=9)
    p = 3
    monkeypatch.setattr(mclp_module, "_highs", highs_gives_up)
    if lp_first:
        monkeypatch.setattr(mclp_module, "LP_FIRST_MIN_PAIRS", 0)
    model = MCLP.from_cost_matrix(cost, weights, radius, p, existing_cost_matrix=existing).solve(
        "milp", time_limit_s=1.0
    )
    best = _brute(cost, existing, weights, radius, p)
    assert model.objective <= best + 1e-9 <= model.bound + 1e-6
    assert model.gap == pytest.approx(max(0.0, (model.bound - model.objective) / model.bound), abs=1e-12)
    assert model.optimal == (model.gap == 0.0)
    assert model.solver in ("greedy", "local search", "LP rounding", "highs")
    assert model.selected.size <= p
    hit = np.asarray(model.coverage[:, model.selected].sum(axis=1)).ravel() > 0
    assert float(model.weights[hit & model.open_demand].sum()) == pytest.approx(model.objective)


def test_small_model_highs_gives_up_gap_against_the_lp_bound(monkeypatch):
    """A small model HiGHS does not finish: the gap is against the LP bound, not the loose greedy one."""
    cost, existing, weights, radius = _random_instance(91, n_demand=60, n_sites=12)
    monkeypatch.setattr(mclp_module, "_highs", highs_gives_up)
    lp = MCLP.from_cost_matrix(cost, weights, radius, 3, existing_cost_matrix=existing).solve("milp", time_limit_s=1.0)
    monkeypatch.setattr(mclp_module, "LP_BOUND_MAX_PAIRS", 0)
    loose = MCLP.from_cost_matrix(cost, weights, radius, 3, existing_cost_matrix=existing).solve(
        "milp", time_limit_s=1.0
    )
    best = _brute(cost, existing, weights, radius, 3)
    assert best - 1e-6 <= lp.bound < loose.bound
    assert any("LP bound" in note for note in lp.notes)
    assert lp.objective <= best + 1e-9 and loose.objective <= best + 1e-9
    assert lp.gap == pytest.approx(max(0.0, 1 - lp.objective / lp.bound), abs=1e-12)


def test_iterated_swaps_take_the_time_highs_leaves(monkeypatch):
    """On a mid-sized instance whose greedy is not optimal, a HiGHS that gives up still ends near the optimum."""
    cost, weights = mid_sized_instance(3)
    exact = MCLP.from_cost_matrix(cost, weights, 1.5, 8).solve("milp")
    assert exact.optimal
    greedy = MCLP.from_cost_matrix(cost, weights, 1.5, 8).solve("greedy")
    monkeypatch.setattr(mclp_module, "_highs", highs_gives_up)
    polished = MCLP.from_cost_matrix(cost, weights, 1.5, 8).solve("milp", time_limit_s=2.0)
    assert greedy.objective <= polished.objective <= exact.objective + 1e-9
    assert polished.bound >= exact.objective - 1e-9
    if polished.objective > greedy.objective + 1e-9:
        assert polished.solver == "local search"
        assert any("swap search" in note for note in polished.notes)


# ----- through the command line, on real streets ----------------------------------------------------
def test_cli_nanjing_same_optimum_as_the_solve_before_issue_14(tmp_path, capsys, monkeypatch):
    args = nanjing_mclp_args(tmp_path, 8)
    now = sites_json(capsys, [*args, "--out", str(tmp_path / "a.gpkg")])
    monkeypatch.setattr(mclp_module, "REDUCE_MODEL", False)
    monkeypatch.setattr(mclp_module, "LOCAL_SEARCH", False)
    before = sites_json(capsys, [*args, "--out", str(tmp_path / "b.gpkg")])
    assert now["optimal"] is True and before["optimal"] is True
    assert now["gap"] == 0.0
    assert now["covered_after"] == pytest.approx(before["covered_after"], rel=1e-9)
    assert now["covered_after"] - now["covered_before"] == pytest.approx(now["objective"], abs=0.2)
    assert len(now["sites"]) == 8


def test_cli_nanjing_reports_a_proven_gap_when_highs_gives_up(tmp_path, capsys, monkeypatch):
    args = nanjing_mclp_args(tmp_path, 8)
    optimum = sites_json(capsys, [*args, "--out", str(tmp_path / "a.gpkg")])
    monkeypatch.setattr(mclp_module, "_highs", highs_gives_up)
    monkeypatch.setattr(mclp_module, "LP_BOUND_MAX_PAIRS", 0)  # bound: the greedy's submodular one, never tight
    report = sites_json(capsys, [*args, "--time-limit", "2", "--out", str(tmp_path / "b.gpkg")])
    keys = {"model", "p", "sites", "covered_before", "covered_after", "solver", "optimal", "gap", "objective", "bound"}
    assert keys <= set(report)
    assert report["objective"] <= optimum["objective"] + 0.01 <= report["bound"] + 0.02
    assert report["gap"] == pytest.approx(max(0.0, 1 - report["objective"] / report["bound"]), abs=1e-5)
    assert report["optimal"] is False and report["gap"] > 0
    # the text report states the gap and the bound
    assert main(["sites", *args, "--time-limit", "2", "--out", str(tmp_path / "c.gpkg")]) == 0
    text = capsys.readouterr().out
    assert f"gap {report['gap']:.2%}" in text.splitlines()[0]
    assert "proven bound" in text and f"at most {report['bound']:.0f} elderly" in text
