"""MCLP large-neighbourhood search (issue 14): regions re-optimised exactly, never a worse solution.

Small instances whose optimum brute force gives: the LNS stays feasible (``p`` distinct sites, the
value it reports is the weight they cover), never ends below its start, never above the optimum, and
with a region holding every site a single move is the exact optimum. The region of a site holds its
nearest sites along the site-overlap graph.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import sparse

from analysis.site_models.lns import lns_search, region_of, site_distances
from analysis.site_models.local_search import covered_weight, iterated_swap_search, swap_search
from tests.mclp_support import highs_gives_up, mid_sized_instance


def _instance(seed: int, n_demand: int = 60, n_sites: int = 12):
    """Demand and sites uniformly in a 10 × 10 square, walks of radius 2-3.5 (0/1 matrix, persons)."""
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 10, (n_demand, 2))
    sites = rng.uniform(0, 10, (n_sites, 2))
    cost = np.linalg.norm(demand[:, None] - sites[None], axis=2)
    a = sparse.csr_array((cost <= rng.uniform(2.0, 3.5)).astype(float))
    rows = np.flatnonzero(np.diff(a.indptr) > 0)
    return sparse.csr_array(a[rows]), rng.lognormal(2.0, 1.0, n_demand)[rows], sites


def _brute(a, w, p) -> float:
    return max(covered_weight(a, w, np.array(c)) for c in itertools.combinations(range(a.shape[1]), p))


@pytest.mark.parametrize("seed", range(12))
def test_lns_never_worse_never_above_the_optimum(seed):
    a, w, _ = _instance(seed)
    p = 2 + seed % 3
    best = _brute(a, w, p)
    start = np.random.default_rng(seed).choice(a.shape[1], p, replace=False)
    start_value = covered_weight(a, w, start)
    result = lns_search(a, w, start, deadline=np.inf, max_moves=6, seed=seed, region_sites=5)
    assert start_value - 1e-9 <= result.value <= best + 1e-9
    assert result.value == pytest.approx(covered_weight(a, w, result.chosen))
    assert len(set(result.chosen.tolist())) == result.chosen.size == p
    assert result.moves <= 6 and result.improved <= result.moves


@pytest.mark.parametrize("seed", range(8))
def test_one_region_holding_every_site_is_the_exact_optimum(seed):
    a, w, _ = _instance(100 + seed, n_sites=10)
    p = 3
    start = np.arange(p)
    result = lns_search(a, w, start, deadline=np.inf, max_moves=1, region_sites=a.shape[1], seed=seed)
    assert result.value == pytest.approx(_brute(a, w, p))


def test_lns_finds_what_swaps_cannot():
    """Two sites must move together: every single exchange loses, the region's MILP gains."""
    # rows 0-3 weight 10: site 0 covers 0,1; site 1 covers 2,3; sites 2 and 3 cover 0-1-x and 2-3-y
    # with bonus rows 4 (site 2) and 5 (site 3); sites 4, 5 cover {0,2} and {1,3}: the start is {4, 5}
    rows = [[0, 2, 4], [0, 2, 5], [1, 3, 4], [1, 3, 5], [2], [3]]
    a = sparse.csr_array(
        (np.ones(sum(map(len, rows))), (np.repeat(np.arange(6), [len(r) for r in rows]), np.concatenate(rows))),
        shape=(6, 6),
    )
    w = np.array([10.0, 10.0, 10.0, 10.0, 1.0, 1.0])
    start = np.array([4, 5])
    swapped, swap_value = swap_search(a, w, start)
    assert swap_value == pytest.approx(40.0)  # a local optimum of the exchanges
    result = lns_search(a, w, start, deadline=np.inf, max_moves=4, region_sites=6)
    assert result.value == pytest.approx(42.0) == _brute(a, w, 2)
    assert sorted(result.chosen.tolist()) == [2, 3]


def test_region_holds_the_nearest_sites():
    # sites on a line 1 apart, walks of radius 1.5: a site's region is its nearest sites along the line
    demand = np.c_[np.linspace(0, 20, 201), np.zeros(201)]
    sites = np.c_[np.arange(21.0), np.zeros(21)]
    cost = np.linalg.norm(demand[:, None] - sites[None], axis=2)
    a = sparse.csr_array((cost <= 1.5).astype(float))
    distances = site_distances(a)
    assert distances.shape == (21, 21) and distances.diagonal().max() == 0
    assert np.all((distances.data > 0) & (distances.data <= 1))
    assert sorted(region_of(distances, 10, 5).tolist()) == [8, 9, 10, 11, 12]
    assert sorted(region_of(distances, 0, 3).tolist()) == [0, 1, 2]
    # two separate streets (no shared demand): a region bigger than its street takes sites of the other
    far = sparse.csr_array(sparse.block_diag([a[:, :10], a[:, :10]]))
    parts = site_distances(far)
    assert sorted(region_of(parts, 0, 4).tolist()) == [0, 1, 2, 3]
    mixed = region_of(parts, 0, 14, np.random.default_rng(1))
    assert mixed.size == 14 == np.unique(mixed).size
    assert set(range(10)) <= set(mixed.tolist()) and (mixed >= 10).sum() == 4
    assert sorted(region_of(parts, 3, 40).tolist()) == list(range(20))


def test_lns_and_iterated_swaps_on_a_mid_sized_instance():
    """Both searches stay between the swap-search start and the optimum HiGHS proves."""
    from analysis.site_selection import MCLP

    cost, weights = mid_sized_instance(3)
    exact = MCLP.from_cost_matrix(cost, weights, 1.5, 8).solve("milp")
    assert exact.optimal
    a = sparse.csr_array((cost <= 1.5).astype(float))
    greedy = MCLP.from_cost_matrix(cost, weights, 1.5, 8).solve("greedy")
    start, start_value = swap_search(a, weights, greedy.selected)
    result = lns_search(a, weights, start, deadline=np.inf, max_moves=20, seed=1, region_sites=20)
    kicked, kicked_value, _ = iterated_swap_search(a, weights, start, deadline=np.inf, max_kicks=20, seed=1)
    for value in (result.value, kicked_value):
        assert start_value - 1e-9 <= value <= exact.objective + 1e-6
    assert result.moves == 20 and result.region_sites >= 20
    whole = lns_search(a, weights, start, deadline=np.inf, max_moves=1, region_sites=a.shape[1])
    assert whole.value == pytest.approx(exact.objective)  # one region holding every site: HiGHS's optimum


# ----- in the exact solve and through the command line ------------------------------------------------


def test_solve_polishes_by_lns_when_highs_gives_up(monkeypatch):
    """The solve's HiGHS gives up; the LNS (its own HiGHS calls untouched) still reaches the optimum.

    On this instance the swap search stops at 4 129.3 persons, the optimum is 4 194.8, the LP 4 214.7.
    """
    import analysis.site_models.mclp as mclp_module
    from analysis.site_selection import MCLP

    cost, weights = mid_sized_instance(4)
    exact = MCLP.from_cost_matrix(cost, weights, 1.6, 10).solve("milp")
    assert exact.optimal
    monkeypatch.setattr(mclp_module, "_highs", highs_gives_up)
    monkeypatch.setattr(mclp_module, "LNS_MIN_SITES", 10**9)
    swaps = MCLP.from_cost_matrix(cost, weights, 1.6, 10).solve("milp", time_limit_s=3.0)
    monkeypatch.setattr(mclp_module, "LNS_MIN_SITES", 10)
    monkeypatch.setattr(mclp_module, "LNS_MIN_POLISH_S", 0.0)
    polished = MCLP.from_cost_matrix(cost, weights, 1.6, 10).solve("milp", time_limit_s=3.0)
    assert polished.objective >= swaps.objective - 1e-9
    assert any("large-neighbourhood search" in note for note in polished.notes)
    assert polished.objective == pytest.approx(exact.objective)
    assert polished.bound >= exact.objective - 1e-9 and not polished.optimal
    assert polished.solver == "local search" and polished.selected.size == 10
    hit = np.asarray(polished.coverage[:, polished.selected].sum(axis=1)).ravel() > 0
    assert float(polished.weights[hit & polished.open_demand].sum()) == pytest.approx(polished.objective)


def test_polish_takes_the_lns_only_with_time_for_it(monkeypatch):
    """Less than ``LNS_MIN_POLISH_S`` left for the polish (the 60 s solve's share): iterated swaps; more: LNS."""
    import analysis.site_models.mclp as mclp_module
    from analysis.site_selection import MCLP

    cost, weights = mid_sized_instance(4)
    monkeypatch.setattr(mclp_module, "_highs", highs_gives_up)
    monkeypatch.setattr(mclp_module, "LNS_MIN_SITES", 10)
    notes = {}
    for wait in (1000.0, 1.0):
        monkeypatch.setattr(mclp_module, "LNS_MIN_POLISH_S", wait)
        notes[wait] = " ".join(MCLP.from_cost_matrix(cost, weights, 1.6, 10).solve("milp", time_limit_s=3.0).notes)
    assert "iterated swap search" in notes[1000.0] and "large-neighbourhood" not in notes[1000.0]
    assert "large-neighbourhood search" in notes[1.0] and "iterated swap" not in notes[1.0]


def test_cli_nanjing_lns_polish_reaches_the_optimum(tmp_path, capsys, monkeypatch):
    """Real streets, ``sites --model mclp --json``: HiGHS gives up, the LNS polish finds the proven optimum."""
    import analysis.site_models.mclp as mclp_module
    from tests.mclp_support import nanjing_mclp_args, sites_json

    args = nanjing_mclp_args(tmp_path, 8)
    optimum = sites_json(capsys, [*args, "--out", str(tmp_path / "a.gpkg")])
    assert optimum["optimal"] is True
    monkeypatch.setattr(mclp_module, "_highs", highs_gives_up)
    monkeypatch.setattr(mclp_module, "LNS_MIN_SITES", 10**9)  # the iterated swaps, as before
    swaps = sites_json(capsys, [*args, "--time-limit", "2", "--out", str(tmp_path / "b.gpkg")])
    monkeypatch.setattr(mclp_module, "LNS_MIN_SITES", 0)
    monkeypatch.setattr(mclp_module, "LNS_MIN_POLISH_S", 0.0)
    report = sites_json(capsys, [*args, "--time-limit", "2", "--out", str(tmp_path / "c.gpkg")])
    assert report["objective"] == pytest.approx(optimum["objective"], abs=0.01)
    assert report["objective"] >= swaps["objective"] - 0.01
    assert report["objective"] <= report["bound"] + 0.02
    assert report["gap"] == pytest.approx(max(0.0, 1 - report["objective"] / report["bound"]), abs=1e-5)
    assert report["solver"] in ("local search", "greedy") and len(report["sites"]) == 8
    assert report["covered_after"] - report["covered_before"] == pytest.approx(report["objective"], abs=0.2)


def test_highs_cutoff_seeks_only_better_answers():
    """A cutoff below the optimum still gives the optimum; above it, no answer or none better; no warning leaks."""
    import warnings

    from analysis.site_models.solver import _highs

    a, w, _ = _instance(7)
    p = 3
    best = _brute(a, w, p)
    n_rows, n_cols = a.shape
    link = sparse.hstack([-a, sparse.identity(n_rows, format="csr")], format="csr")
    count = sparse.csr_array(np.r_[np.ones(n_cols), np.zeros(n_rows)][None, :])
    model = (
        np.r_[np.zeros(n_cols), w],
        [(link, np.full(n_rows, -np.inf), np.zeros(n_rows)), (count, np.array([-np.inf]), np.array([float(p)]))],
        np.r_[np.ones(n_cols), np.zeros(n_rows)],
        np.zeros(n_cols + n_rows),
        np.ones(n_cols + n_rows),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        below = _highs(*model, maximise=True, time_limit_s=10, cutoff=best - 1.0)
        above = _highs(*model, maximise=True, time_limit_s=10, cutoff=best + 1.0)
    assert below.optimal and below.value == pytest.approx(best)
    assert above.x is None or above.value <= best + 1e-9
