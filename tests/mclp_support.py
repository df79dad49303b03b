"""Shared by the MCLP tests: a real-street ``sites --model mclp`` run on the Nanjing Xuanwu extract."""

from __future__ import annotations

import json

import numpy as np

from cli.main import main
from tests.conftest import shared_path


def nanjing_mclp_args(tmp_path, p: int) -> list[str]:
    """``sites`` arguments: MCLP with ``p`` new sites on the real streets, two facilities at random buildings."""
    import geopandas as gpd

    from layers.population import read_population

    pbf = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")
    people = read_population(pbf, kind="buildings")
    picked = people.iloc[np.random.default_rng(11).choice(len(people), 2, replace=False)]
    facilities = gpd.GeoDataFrame(
        {"name": ["A", "B"]}, geometry=picked.geometry.representative_point().to_numpy(), crs=people.crs
    )
    facilities.to_file(tmp_path / "facilities.geojson")
    return ["--model", "mclp", "--p", str(p), "--network", str(pbf), "--facilities", str(tmp_path / "facilities.geojson")]


def sites_json(capsys, args) -> dict:
    """Run ``sites ARGS --json`` in-process and return its JSON line."""
    assert main(["sites", *args, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def mid_sized_instance(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """400 demand points × 60 candidate sites uniform in a 10 × 10 square, lognormal weights (persons).

    Returns
    -------
    cost : ndarray (400, 60)
        Straight-line distances (the square's units; the tests' radii are 1.5-1.6).
    weights : ndarray (400,)
    """
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 10, (400, 2))
    sites = rng.uniform(0, 10, (60, 2))
    cost = np.linalg.norm(demand[:, None] - sites[None], axis=2)
    return cost, rng.lognormal(2.0, 1.0, 400)


def highs_gives_up(*_args, **_kwargs):
    """A stand-in for ``_highs``: HiGHS stopping at its time limit without a solution (as on the
    10 000 × 2 000 bench at p = 50)."""
    from analysis.site_models.solver import _MilpAnswer

    return _MilpAnswer(None, np.nan, np.nan, False, "Time limit reached")
