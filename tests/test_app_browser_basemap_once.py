"""Issue 13 "Responsiveness targets", in a real browser (`streamlit run app.py` + headless Chromium):
a minutes change keeps the map's frame and its basemap (the same street paths, never drawn again)
and swaps the service areas, the layer switcher and the legend in it, with no console error; an
overlay the planner switched off stays off. Reuses the server and page fixtures of
``tests/test_app_browser.py``.
"""

from __future__ import annotations

import os

import pytest

from tests.test_app_browser import CHROMIUM, CHROMIUM_ARGS, MAP_FRAME, PAGE_WAIT_MS, map_frame, server  # noqa: F401  (fixture)
from tests.test_app_browser import page as _page_fixture  # noqa: F401
from tests.test_app_browser_broken import console_errors, relevant
from ui.basemap import BASEMAP_COLOUR
from ui.i18n import Translator
from ui.map_layers import SERVICE_AREA_COLOUR, class_colours, class_labels

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
page = _page_fixture

#: The ``d`` of the SVG paths stroked in a colour (the grey streets, the blue service areas).
PATHS_JS = "(colour) => [...document.querySelectorAll('path')].filter(p => (p.getAttribute('stroke') || '').toLowerCase() === colour).map(p => p.getAttribute('d'))"
SWITCHER_JS = "() => [...document.querySelectorAll('.leaflet-control-layers-overlays label')].map(l => [l.innerText.trim(), l.querySelector('input').checked])"


def test_a_minutes_change_keeps_the_basemap_and_swaps_the_service_areas(page):
    errors = console_errors(page)
    frame = map_frame(page)
    frame.wait_for_function("() => window.__circleMap && window.__circleMap.version >= 1", timeout=PAGE_WAIT_MS)
    frame.evaluate("() => { window.__sameFrame = true; }")
    streets = frame.evaluate(PATHS_JS, BASEMAP_COLOUR)
    areas = frame.evaluate(PATHS_JS, SERVICE_AREA_COLOUR)
    assert streets and areas
    switcher = dict(frame.evaluate(SWITCHER_JS))
    assert switcher.get("Streets (basemap)") is True and switcher.get("Service areas (15 min)") is True, switcher
    # the population's class label and colour are looked up in the frame (sent once per swap)
    labels = frame.evaluate(
        "() => [...new Set(Object.values(window.map._layers).filter(l => l.feature && l.feature.properties.class_label)"
        ".map(l => l.feature.properties.class_label + ' ' + l.feature.properties.colour))]"
    )
    expected = {f"{label} {colour}" for label, colour in zip(class_labels(15, Translator("en")), class_colours(15), strict=True)}
    assert labels and set(labels) <= expected, labels
    # the planner hides the population layer: it stays hidden when the overlays are swapped
    frame.locator(".leaflet-control-layers-overlays label", has_text="Population by walking minutes").locator("input").click()
    assert dict(frame.evaluate(SWITCHER_JS))["Population by walking minutes"] is False
    version = frame.evaluate("() => window.__circleMap.version")

    box = page.get_by_label("Walking minutes")
    box.fill("8")
    box.press("Enter")
    frame.wait_for_function(
        "(v) => window.__circleMap.version > v && document.querySelector('.leaflet-control-layers').innerText.includes('(8 min)')",
        arg=version,
        timeout=PAGE_WAIT_MS,
    )
    page.wait_for_timeout(500)
    assert map_frame(page) is frame and frame.evaluate("() => window.__sameFrame") is True  # not a new frame
    assert frame.evaluate(PATHS_JS, BASEMAP_COLOUR) == streets  # the basemap still drawn, untouched
    new_areas = frame.evaluate(PATHS_JS, SERVICE_AREA_COLOUR)
    assert new_areas and new_areas != areas  # 8-minute service areas in place of the 15-minute ones
    switcher = dict(frame.evaluate(SWITCHER_JS))
    assert "Service areas (15 min)" not in switcher and switcher["Service areas (8 min)"] is True, switcher
    assert switcher["Population by walking minutes"] is False and switcher["Streets (basemap)"] is True
    assert frame.locator(".leaflet-control-layers").count() == 1 and frame.locator(".circle-legend").count() == 1
    assert "8" in frame.locator(".circle-legend").inner_text()
    assert not relevant(errors), errors


@pytest.fixture(scope="module")
def fetching_server():
    """The app with every street basemap fetched from its own server (the threshold set to 0 bytes)."""
    from tests.streamlit_server import streamlit_app
    from ui.basemap_frame import FETCHED_STREETS_ENV

    old = os.environ.get(FETCHED_STREETS_ENV)
    os.environ[FETCHED_STREETS_ENV] = "0"
    try:
        with streamlit_app(start_s=60) as url:
            yield url
    finally:
        if old is None:
            os.environ.pop(FETCHED_STREETS_ENV, None)
        else:
            os.environ[FETCHED_STREETS_ENV] = old


def test_fetched_streets_are_drawn_under_the_analysis_layers_and_kept(fetching_server, tmp_path):
    """A large city's streets are not written into the map: the frame fetches them from the app
    (/media/…json), draws them in a pane under the analysis layers, and keeps them on a change."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, viewport={"width": 1500, "height": 1100}
        )
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            errors = console_errors(page)
            fetched: list[str] = []
            page.on("request", lambda r: fetched.append(r.url) if "/media/" in r.url else None)
            page.goto(fetching_server, timeout=PAGE_WAIT_MS)
            page.wait_for_selector(MAP_FRAME, timeout=PAGE_WAIT_MS)
            frame = map_frame(page)
            frame.wait_for_function(
                "(c) => { const p = window.map && window.map.getPane('basemapStreets');"
                " return p && [...p.querySelectorAll('path')].some(e => e.getAttribute('stroke') === c); }",
                arg=BASEMAP_COLOUR,
                timeout=PAGE_WAIT_MS,
            )
            assert any(u.endswith(".json") for u in fetched), fetched
            streets = frame.evaluate(PATHS_JS, BASEMAP_COLOUR)
            assert streets
            z = frame.evaluate("() => [+getComputedStyle(window.map.getPane('basemapStreets')).zIndex, +getComputedStyle(window.map.getPane('overlayPane')).zIndex]")
            assert z[0] < z[1], z  # under the service areas and population
            version = frame.evaluate("() => window.__circleMap.version")
            box = page.get_by_label("Walking minutes")
            box.fill("9")
            box.press("Enter")
            frame.wait_for_function("(v) => window.__circleMap.version > v", arg=version, timeout=PAGE_WAIT_MS)
            assert frame.evaluate(PATHS_JS, BASEMAP_COLOUR) == streets
            assert not relevant(errors), errors
        finally:
            browser.close()
