"""MCLP bound (issue 14): the Lagrangian decomposition bound is proven, and the reported gap is honest.

Small instances whose optimum brute force gives: the decomposition bound never falls below the
optimum (for any multipliers, and after the subgradient steps), at the LP duals it never exceeds the
LP bound, on some instances it is strictly below the LP bound; ``sites --model mclp --json`` reports
``bound ≥ optimum ≥ objective`` and ``gap = (bound − objective) / bound``.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from scipy import sparse
from scipy.optimize import linprog

import analysis.site_models.mclp as mclp_module
from analysis.site_models.decomposition_bound import column_blocks, decomposition_bound
from analysis.site_models.solver import _gap
from analysis.site_selection import MCLP
from tests.mclp_support import highs_gives_up, nanjing_mclp_args, sites_json


def _instance(seed: int, n_demand: int = 70, n_sites: int = 14):
    """Demand and sites uniformly in a 10 × 10 square, walks of radius 2.5-4 (0/1 matrix, persons)."""
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 10, (n_demand, 2))
    sites = rng.uniform(0, 10, (n_sites, 2))
    cost = np.linalg.norm(demand[:, None] - sites[None], axis=2)
    radius = float(rng.uniform(2.5, 4.0))
    weights = rng.lognormal(2.0, 1.0, n_demand)
    return cost, weights, radius


def _matrix(cost, weights, radius):
    a = sparse.csr_array((cost <= radius).astype(float))
    rows = np.flatnonzero(np.diff(a.indptr) > 0)
    return sparse.csr_array(a[rows]), weights[rows]


def _brute(a, w, p) -> float:
    dense = a.toarray() > 0
    return max(float(w[dense[:, list(c)].any(axis=1)].sum()) for c in itertools.combinations(range(a.shape[1]), p))


def _lp(a, w, p):
    """LP bound and its duals (row prices, site price), persons."""
    n_rows, n_cols = a.shape
    link = sparse.hstack([-a, sparse.identity(n_rows)], format="csr")
    count = sparse.csr_array(np.r_[np.ones(n_cols), np.zeros(n_rows)][None, :])
    res = linprog(
        -np.r_[np.zeros(n_cols), w],
        A_ub=sparse.vstack([link, count], format="csr"),
        b_ub=np.r_[np.zeros(n_rows), p],
        bounds=(0, 1),
        method="highs-ipm",
    )
    prices = -res.ineqlin.marginals
    return -float(res.fun), prices[:n_rows], float(prices[n_rows])


# ----- the bound itself ------------------------------------------------------------------------------
def test_column_blocks_keep_neighbours_together():
    # two groups of sites far apart (no shared demand): each group is one block
    rows = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    cols = np.array([0, 1, 1, 2, 3, 4, 4, 5])
    a = sparse.csr_array((np.ones(rows.size), (rows, cols)), shape=(4, 6))
    label = column_blocks(a, 2)
    assert set(label.tolist()) == {0, 1}
    assert len(set(label[:3].tolist())) == 1 and len(set(label[3:].tolist())) == 1
    assert label[0] != label[3]
    assert column_blocks(a, 1).tolist() == [0] * 6


@pytest.mark.parametrize("seed", range(16))
def test_decomposition_bound_is_never_below_the_optimum(seed):
    cost, weights, radius = _instance(seed)
    a, w = _matrix(cost, weights, radius)
    p = 2 + seed % 3
    best = _brute(a, w, p)
    lp_value, row_prices, site_price = _lp(a, w, p)
    result = decomposition_bound(
        a, w, p, row_prices, site_price, deadline=time.perf_counter() + 60, incumbent_value=0.9 * best,
        block_columns=3 + seed % 3, max_evaluations=5,
    )
    assert result.blocks >= 2 and result.evaluations >= 1
    assert result.bound >= best - 1e-6 * best
    assert result.at_lp_duals <= lp_value + 1e-6 * lp_value  # blocks as MILPs: at most their LP values
    assert result.bound <= result.at_lp_duals


@pytest.mark.parametrize("seed", range(6))
def test_any_multipliers_give_a_valid_bound(seed):
    cost, weights, radius = _instance(100 + seed)
    a, w = _matrix(cost, weights, radius)
    p = 3
    best = _brute(a, w, p)
    rng = np.random.default_rng(seed)
    prices = rng.uniform(0, 1.5, w.size) * w  # some above w: clipped
    result = decomposition_bound(
        a, w, p, prices, float(rng.uniform(0, 50)), deadline=time.perf_counter() + 60, block_columns=4, max_evaluations=3
    )
    assert result.bound >= best - 1e-6 * best


def test_decomposition_beats_the_lp_where_the_lp_is_fractional():
    """Over instances whose LP bound is above the optimum, the decomposition closes part of that gap."""
    closed, fractional = 0, 0
    for seed in range(30):
        cost, weights, radius = _instance(seed)
        a, w = _matrix(cost, weights, radius)
        p = 2 + seed % 3
        best = _brute(a, w, p)
        lp_value, row_prices, site_price = _lp(a, w, p)
        if lp_value <= best * (1 + 1e-6):
            continue
        fractional += 1
        result = decomposition_bound(
            a, w, p, row_prices, site_price, deadline=time.perf_counter() + 60, incumbent_value=best,
            block_columns=3 + seed % 3, max_evaluations=8,
        )
        assert best - 1e-6 * best <= result.bound
        closed += result.bound < lp_value - 1e-6 * lp_value
    assert fractional >= 2 and closed >= 1


# ----- through the model: the reported bound and gap ------------------------------------------------
@pytest.mark.parametrize("seed", [2, 14, 31])
def test_model_reports_the_decomposition_bound_when_highs_gives_up(monkeypatch, seed):
    cost, weights, radius = _instance(seed)
    p = 2 + seed % 3
    a, w = _matrix(cost, weights, radius)
    best = _brute(a, w, p)
    monkeypatch.setattr(mclp_module, "_highs", highs_gives_up)
    monkeypatch.setattr(mclp_module, "LP_FIRST_MIN_PAIRS", 0)  # the big-model path: LP first, then branch
    monkeypatch.setattr(mclp_module, "DECOMPOSITION_BLOCK_COLUMNS", 4)
    monkeypatch.setattr(mclp_module, "REDUCE_MODEL", False)  # keep every column: blocks of the full model
    # the swap search runs out the limit when nothing is proven: a few seconds are plenty for blocks of 4
    model = MCLP.from_cost_matrix(cost, weights, radius, p).solve("milp", time_limit_s=4.0)
    lp_value, _, _ = _lp(a, w, p)
    assert model.objective <= best + 1e-9 <= model.bound + 1e-6 * best
    assert model.bound <= lp_value + 1e-6 * lp_value
    assert model.gap == pytest.approx(max(0.0, (model.bound - model.objective) / model.bound), abs=1e-12)
    assert model.optimal == (model.gap == 0.0)
    if model.bound < lp_value - 1e-6 * lp_value:
        assert any("decomposition bound" in note for note in model.notes)


def test_gap_formula():
    assert _gap(99.0, 100.0, maximise=True) == pytest.approx(0.01)
    assert _gap(100.0, 100.0, maximise=True) == 0.0
    assert _gap(101.0, 100.0, maximise=False) == pytest.approx(1 / 101)
    assert np.isnan(_gap(1.0, np.inf, maximise=True))


# ----- through the command line, on real streets ----------------------------------------------------
def test_cli_nanjing_decomposition_bound_is_proven(tmp_path, capsys, monkeypatch):
    """Nanjing Xuanwu, p = 8: HiGHS made to give up; the bound reported is ≥ the optimum HiGHS proves unpatched."""
    args = nanjing_mclp_args(tmp_path, 8)
    optimum = sites_json(capsys, [*args, "--out", str(tmp_path / "a.gpkg")])
    assert optimum["optimal"] is True and optimum["gap"] == 0.0
    monkeypatch.setattr(mclp_module, "_highs", highs_gives_up)
    monkeypatch.setattr(mclp_module, "LP_FIRST_MIN_PAIRS", 0)
    monkeypatch.setattr(mclp_module, "DECOMPOSITION_BLOCK_COLUMNS", 10)
    report = sites_json(capsys, [*args, "--time-limit", "30", "--out", str(tmp_path / "b.gpkg")])
    keys = {"model", "p", "sites", "covered_before", "covered_after", "solver", "optimal", "gap", "objective", "bound"}
    assert keys <= set(report)
    assert report["objective"] <= optimum["objective"] + 0.01
    assert optimum["objective"] <= report["bound"] + 0.01
    assert any(note.startswith("decomposition bound") for note in report["notes"])
    if not report["optimal"]:
        assert report["gap"] == pytest.approx(1 - report["objective"] / report["bound"], abs=1e-5)
    else:
        assert report["gap"] == 0.0 and report["objective"] == pytest.approx(optimum["objective"], abs=0.01)
