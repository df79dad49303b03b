"""Issue 14 in a real browser: the "Batch results" tab draws a batch's areas on the offline map.

A real small batch (Nanjing, 2 × 2 areas) is run through the command line, then `streamlit run
app.py` is driven by headless Chromium (Playwright): the tab is opened, the batch folder typed in,
and the areas' map must draw (Leaflet paths, one per area, filled with the verdict colours) with
no console error. Reuses the server and browser fixtures of ``tests/test_app_browser.py``.
"""

from __future__ import annotations

import contextlib
import io
import json

import pandas as pd
import pytest

from analysis.batch.summary import VERDICT_COLOURS
from cli.main import main
from tests.batch_support import nanjing_case
from tests.test_app_browser import ARTIFACTS, MAP_FRAME, PAGE_WAIT_MS, server  # noqa: F401  (fixture)
from tests.test_app_browser import page as _page_fixture  # noqa: F401
from tests.test_app_browser_broken import console_errors, open_tab, relevant

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
page = _page_fixture


@pytest.fixture(scope="module")
def batch_out(tmp_path_factory):
    """The --out folder of a real batch run through the CLI (one local Dask worker)."""
    folder = tmp_path_factory.mktemp("batch_browser")
    case = nanjing_case(folder / "inputs")
    out = folder / "out"
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        status = main([*case.args(out), "--workers", "1", "--no-progress", "--json"])
    assert status == 0, text.getvalue()
    assert json.loads(text.getvalue().strip().splitlines()[-1])["done"] == 4
    return out


def test_the_batch_map_draws_its_areas_without_a_console_error(page, batch_out):
    errors = console_errors(page)
    verdicts = pd.read_csv(batch_out / "summary.csv")["verdict"]
    frames_before = page.locator(MAP_FRAME).count()
    open_tab(page, "Batch results")
    box = page.get_by_label("Batch folder (the --out of python -m coverage batch)")
    box.fill(str(batch_out))
    box.press("Enter")
    page.wait_for_function(
        "(n) => document.querySelectorAll(\"iframe[title*='streamlit_folium']\").length > n", arg=frames_before, timeout=PAGE_WAIT_MS
    )
    batch_map = page.frame_locator(MAP_FRAME).last
    batch_map.locator("path.leaflet-interactive").first.wait_for(timeout=PAGE_WAIT_MS)
    page.wait_for_timeout(1500)
    assert page.get_by_text("This batch summary cannot be used").count() == 0
    paths = batch_map.locator("path.leaflet-interactive")
    assert paths.count() == len(verdicts)
    fills = {paths.nth(i).get_attribute("fill") for i in range(paths.count())}
    assert fills == {VERDICT_COLOURS[v] for v in verdicts}
    assert batch_map.locator(".circle-legend").count() == 1
    box_size = page.locator(MAP_FRAME).last.bounding_box()
    assert box_size and box_size["height"] > 300
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "batch.png"), full_page=True)
    assert not relevant(errors), errors
