"""The page's checks and site tabs work on the cached result the map shows (issue 12).

AppTest runs ``app.py`` in this process: after the first page run every reader of the input layers
is replaced by one that fails, then a what-if site is added and the checks and the site proposal
run. They must reflect the what-if site and must not read the network, facilities or population
again, nor build the walking graph again.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pyproj import Transformer
from streamlit.testing.v1 import AppTest

import coverage.pipeline as pipeline
import ui.data_choice
from coverage.circles import unit_points
from coverage.pipeline import load_inputs, run_circles
from ui import state as ss

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def uncovered_site(result) -> tuple[float, float]:
    """lon/lat of the on-network uncovered population unit with the most elderly people."""
    elderly = result.population["elderly_population"].to_numpy(dtype=float)
    index = int(np.argmax(np.where(~result.covered & result.population_snap.on_network, elderly, -1.0)))
    point = unit_points(result.population.geometry.iloc[[index]])[0]
    lon, lat = Transformer.from_crs(result.graph.crs, "EPSG:4326", always_xy=True).transform(point.x, point.y)
    return float(lon), float(lat)


@pytest.fixture(scope="module")
def direct():
    return run_circles(load_inputs(), minutes=15, speed="elderly")


def test_checks_and_sites_use_the_what_if_result_without_reading_files(direct, monkeypatch):
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    assert not at.exception, at.exception

    reads: list[str] = []

    def refuse(name):
        def reader(*args, **kwargs):
            reads.append(name)
            raise AssertionError(f"{name} called after the first load")

        return reader

    for name in ("read_network", "read_facilities", "read_population", "build_walk_graph", "load_inputs"):
        monkeypatch.setattr(pipeline, name, refuse(f"coverage.pipeline.{name}"))
    monkeypatch.setattr(ui.data_choice, "load_inputs", refuse("ui.data_choice.load_inputs"))

    lon, lat = uncovered_site(direct)
    added = ss.apply_change(direct, ss.AddSite(lon, lat, "WHATIF-1", "test"))
    at.session_state[ss.PROPOSED_SITE] = {"lat": lat, "lng": lon}  # what a map click stores
    at.run()
    at.button(key="whatif_add").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]

    at.button(key="run_checks").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    key, run, problem = at.session_state["checks_run"]
    assert problem is None
    assert "WHATIF-1" in set(run.coverage.facilities["facility_id"]), "the checks must see the what-if site"
    assert run.coverage.covered_share() == pytest.approx(added.covered_share())
    assert run.coverage.covered_share() > direct.covered_share()
    assert int([m.value for m in at.metric if m.label == "Findings"][0]) == len(run.findings)

    at.button(key="run_sites").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    _, (report, proposed), problem = at.session_state["sites_run"]
    assert problem is None and len(proposed) == 3
    covered_elderly = float(added.population["elderly_population"].to_numpy()[added.covered].sum())
    assert report["covered_before"] == pytest.approx(covered_elderly, abs=0.05), "demand covered by the what-if site"
    assert covered_elderly > float(direct.population["elderly_population"].to_numpy()[direct.covered].sum())
    assert reads == [], f"input layers were read again: {reads}"
