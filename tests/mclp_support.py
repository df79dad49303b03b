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
