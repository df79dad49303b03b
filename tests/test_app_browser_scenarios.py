"""Scenarios in a real browser (`streamlit run app.py` + headless Chromium, Playwright; issue 13).

Load a scenario file into the scenario panel under the map, see its changes listed, undo one,
save (download) it and read the file back, compare with the baseline: every step with no console
error and no exception on the page. Works on whatever the embedded default is: the sites are
placed at the default data's own uncovered places, and no number of the default is assumed.
Reuses the server and browser fixtures of ``tests/test_app_browser.py``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from pyproj import Transformer

from coverage.circles import unit_points
from coverage.pipeline import load_inputs, run_circles
from coverage.scenario import AddSite, Scenario, ScenarioSettings
from coverage.scenario_file import scenario_from_bytes
from tests.test_app_browser import PAGE_WAIT_MS, server  # noqa: F401  (fixture)
from tests.test_app_browser import page as _page_fixture  # noqa: F401
from tests.test_app_browser_broken import console_errors, relevant

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
page = _page_fixture

PANEL = "Scenario: save, load, undo, compare"


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory):
    """A scenario of two new sites at the default data's two most populous uncovered on-network places."""
    result = run_circles(load_inputs())
    elderly = result.population["elderly_population"].to_numpy(dtype=float)
    order = np.argsort(np.where(~result.covered & result.population_snap.on_network, -elderly, np.inf))[:2]
    points = unit_points(result.population.geometry.iloc[order])
    to_wgs84 = Transformer.from_crs(result.graph.crs, "EPSG:4326", always_xy=True)
    changes = []
    for number, point in enumerate(points, start=1):
        lon, lat = to_wgs84.transform(point.x, point.y)
        changes.append(AddSite(float(lon), float(lat), f"PLAN-{number}", f"Planned centre {number}", "township_centre", 600.0))
    scenario = Scenario("Browser plan", tuple(changes), ScenarioSettings(minutes=15.0, speed="elderly"))
    path = tmp_path_factory.mktemp("scenario") / "browser_plan.geojson"
    path.write_text(scenario.to_json(), encoding="utf-8")
    return path


def panel(page):
    return page.locator('[data-testid="stExpander"]').filter(has_text=PANEL)


def no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("Traceback").count() == 0


def test_load_list_undo_save_and_compare_a_scenario(page, scenario_file):
    errors = console_errors(page)
    page.get_by_text(PANEL).first.click()
    box = panel(page)
    box.get_by_text("No what-if changes yet").first.wait_for(timeout=PAGE_WAIT_MS)

    # load: both changes are checked against the data and listed
    box.locator("input[type=file]").set_input_files(str(scenario_file))
    page.get_by_text("Scenario 'Browser plan' loaded: 2 changes.").first.wait_for(timeout=PAGE_WAIT_MS)
    box.get_by_text("PLAN-2").first.wait_for(timeout=PAGE_WAIT_MS)
    assert box.get_by_label("Scenario name").input_value() == "Browser plan"
    no_exception(page)

    # undo one change at a time: the last one goes
    box.get_by_role("button", name="Undo last change").click()
    page.wait_for_function(
        "() => ![...document.querySelectorAll('[data-testid=\"stExpander\"]')].some(e => e.innerText.includes('PLAN-2'))",
        timeout=PAGE_WAIT_MS,
    )
    box.get_by_text("PLAN-1").first.wait_for(timeout=PAGE_WAIT_MS)

    # rename and save: the download is a scenario file with the one change left
    name = box.get_by_label("Scenario name")
    name.fill("Browser plan, one centre")
    name.press("Enter")
    for _ in range(10):  # the rename's rerun rebuilds the download: until it has, a save holds the old name
        page.wait_for_timeout(1500)
        with page.expect_download(timeout=PAGE_WAIT_MS) as download:
            box.get_by_role("button", name="Save scenario (.geojson)").click()
        saved = scenario_from_bytes(open(download.value.path(), "rb").read(), download.value.suggested_filename)
        if saved.name != "Browser plan":
            break
    assert download.value.suggested_filename.endswith(".scenario.geojson")
    assert saved.name == "Browser plan, one centre"
    assert [c.facility_id for c in saved.changes] == ["PLAN-1"]
    assert saved.changes[0].kind == "township_centre" and saved.changes[0].floor_area_m2 == 600.0
    assert saved.settings.minutes == 15.0 and saved.settings.rules
    assert json.loads(open(download.value.path(), encoding="utf-8").read())["version"] == 1

    # keep it in the session's list of scenarios, to switch back to later
    box.get_by_role("button", name="Keep in the list of scenarios").click()
    box.get_by_role("button", name="Open scenario").wait_for(timeout=PAGE_WAIT_MS)
    box.get_by_text("Scenarios kept").first.wait_for(timeout=PAGE_WAIT_MS)
    box.get_by_role("button", name="Open scenario").click()  # the kept one: the same single change
    page.wait_for_timeout(1500)
    box.get_by_text("PLAN-1").first.wait_for(timeout=PAGE_WAIT_MS)
    assert box.get_by_label("Scenario name").input_value() == "Browser plan, one centre"

    # compare with the baseline: covered elderly both ways, the verdicts that change, per township
    box.get_by_role("button", name="Compare with the baseline").click()
    box.get_by_text("Elderly covered, scenario").first.wait_for(timeout=PAGE_WAIT_MS * 2)
    box.get_by_text("Rules side by side").first.wait_for(timeout=PAGE_WAIT_MS)
    assert box.get_by_text("Verdicts that change").count() >= 1
    page.wait_for_timeout(1000)
    no_exception(page)
    assert not relevant(errors), errors


def test_a_scenario_of_other_data_is_refused_with_one_message(page, tmp_path):
    bad = tmp_path / "elsewhere.geojson"
    bad.write_text(Scenario("Elsewhere", (AddSite(-70.0, -40.0, "X1", "nowhere"),)).to_json(), encoding="utf-8")
    page.get_by_text(PANEL).first.click()
    box = panel(page)
    box.locator("input[type=file]").set_input_files(str(bad))
    page.get_by_text("The scenario cannot be loaded").first.wait_for(timeout=PAGE_WAIT_MS)
    message = page.get_by_text("The scenario cannot be loaded").first.inner_text()
    assert "elsewhere.geojson" in message and "features[0].geometry" in message
    box.get_by_text("No what-if changes yet").first.wait_for(timeout=PAGE_WAIT_MS)
    no_exception(page)
