"""Issue 13 "Geographic context, offline", in a real browser (`streamlit run app.py` + headless Chromium).

The coverage map draws the extract's land use and water under the analysis layers with no request
to any host but the app's own and no console error; online tiles are requested only after the
sidebar switch is turned on, and when they fail the map says so and keeps the offline basemap;
searching a street name zooms the map to it; the "PNG" button downloads a non-empty PNG of the view.

Holds for any embedded default (Helsinki or Nanjing): the names and counts come from the default
the app loads (``load_inputs()``), never from fixed numbers. Reuses the server and browser fixtures
of ``tests/test_app_browser.py``.
"""

from __future__ import annotations

import io
from urllib.parse import urlparse

import numpy as np
import pytest

from coverage.pipeline import load_inputs
from tests.test_app_browser import ARTIFACTS, MAP_FRAME, PAGE_WAIT_MS, map_frame, server  # noqa: F401  (fixture)
from tests.test_app_browser import page as _page_fixture  # noqa: F401
from tests.test_app_browser_broken import console_errors, relevant
from ui.basemap import CONTEXT_STYLES

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
page = _page_fixture

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def outside_requests(page) -> list[str]:
    """Start recording every request of the page and its frames to a host other than the app's."""
    seen: list[str] = []

    def record(request) -> None:
        url = urlparse(request.url)
        if url.scheme in {"data", "blob", "about"}:
            return
        if url.hostname not in LOCAL_HOSTS:
            seen.append(request.url)

    page.on("request", record)
    return seen


def fills(page) -> set[str]:
    """Fill colours of the SVG paths drawn in the coverage map (lower case)."""
    frame = page.frame_locator(MAP_FRAME).first
    return {
        (f or "").lower()
        for f in frame.locator("path").evaluate_all("paths => paths.map(p => p.getAttribute('fill'))")
    }


def layer_names(page) -> list[str]:
    frame = page.frame_locator(MAP_FRAME).first
    return [s.strip() for s in frame.locator(".leaflet-control-layers-overlays label span").all_inner_texts()]


@pytest.fixture(scope="module")
def longest_street() -> tuple[str, tuple[float, float, float, float]]:
    """The name of the default's street with the most edges, and its lon/lat bounds."""
    edges = load_inputs().network.edges.to_crs(4326)
    named = edges.loc[edges["name"].notna() & (edges["name"].astype(str).str.strip() != "")]
    name = str(named["name"].value_counts().index[0])
    x0, y0, x1, y1 = named.loc[named["name"] == name].total_bounds
    return name, (float(x0), float(y0), float(x1), float(y1))


def test_land_use_and_water_are_drawn_offline_with_no_outside_request(page):
    seen = outside_requests(page)
    errors = console_errors(page)
    page.reload(timeout=PAGE_WAIT_MS)
    frame = page.frame_locator(MAP_FRAME).first
    frame.locator("path.leaflet-interactive").first.wait_for(timeout=PAGE_WAIT_MS)
    page.wait_for_timeout(1500)
    names = layer_names(page)
    assert "Land use" in names and "Water" in names and "Buildings" in names, names
    # the basemap classes are under the analysis layers: their fills are in the SVG
    drawn = fills(page)
    assert CONTEXT_STYLES["water"]["fill"] in drawn, drawn
    assert CONTEXT_STYLES["green"]["fill"] in drawn, drawn
    assert CONTEXT_STYLES["buildings"]["fill"] in drawn, drawn
    order = frame.locator("path").evaluate_all("paths => paths.map(p => (p.getAttribute('fill') || '').toLowerCase())")
    first_analysis = next(i for i, f in enumerate(order) if f and f not in {s["fill"] for s in CONTEXT_STYLES.values()} and f != "none")
    assert order.index(CONTEXT_STYLES["water"]["fill"]) < first_analysis, "the basemap is drawn under the analysis layers"
    legend = frame.locator(".circle-legend").inner_text()
    assert "Water" in legend and "Parks and green" in legend
    assert frame.locator(".leaflet-tile").count() == 0
    assert not seen, f"requests left the machine: {seen[:5]}"
    assert not relevant(errors), errors


def test_searching_a_street_zooms_the_map_to_it(page, longest_street):
    errors = console_errors(page)
    name, (x0, y0, x1, y1) = longest_street
    zoom_before = map_frame(page).evaluate("() => window.map.getZoom()")
    box = page.get_by_label("Find on the map")
    box.fill(name)
    box.press("Enter")
    page.get_by_label("Zoom to").first.wait_for(timeout=PAGE_WAIT_MS)

    problems: list[str] = []

    def view():
        for frame in [f for f in page.frames if "streamlit_folium" in f.url]:
            try:
                return frame.evaluate(
                    "() => { const b = window.map.getBounds(), c = window.map.getCenter();"
                    " return [window.map.getZoom(), c.lng, c.lat, b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }"
                )
            except Exception as exc:  # the frame is being replaced by the refitted map
                problems.append(str(exc)[:200])
        return None

    deadline = PAGE_WAIT_MS / 1000
    state = None
    for _ in range(int(deadline * 2)):
        state = view()
        if state and state[0] > zoom_before:
            break
        page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "search.png"), full_page=True)
    assert state and state[0] > zoom_before, (zoom_before, state, problems[-3:])
    zoom, lng, lat = state[:3]
    pad = 0.001
    assert x0 - pad <= lng <= x1 + pad and y0 - pad <= lat <= y1 + pad, (name, state, (x0, y0, x1, y1))
    # the street is outlined on the map
    assert page.frame_locator(MAP_FRAME).first.locator("path[stroke='#0057e7']").count() >= 1
    assert not relevant(errors), errors


def test_png_export_downloads_the_map_view(page):
    errors = console_errors(page)
    seen = outside_requests(page)
    frame = page.frame_locator(MAP_FRAME).first
    button = frame.locator(".png-export-button")
    button.wait_for(timeout=PAGE_WAIT_MS)
    with page.expect_download(timeout=PAGE_WAIT_MS) as download:
        button.click()
    target = ARTIFACTS / "map-export.png"
    ARTIFACTS.mkdir(exist_ok=True)
    download.value.save_as(target)
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert download.value.suggested_filename.endswith(".png")
    from PIL import Image

    image = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    height, width, _ = image.shape
    assert width > 300 and height > 300, image.shape
    # not a blank picture: the water, the parks and the analysis colours are in it
    colours = {tuple(c) for c in image.reshape(-1, 3)[:: max(1, image.size // 3 // 200_000)]}
    assert len(colours) > 50
    water = tuple(int(CONTEXT_STYLES["water"]["fill"][i : i + 2], 16) for i in (1, 3, 5))
    assert any(np.abs(np.array(c) - water).max() <= 12 for c in colours), "no water colour in the PNG"
    assert not seen, f"requests left the machine: {seen[:5]}"
    assert not relevant(errors), errors


def test_online_tiles_only_when_switched_on_and_a_notice_when_offline(page):
    requested: list[str] = []

    def block(route) -> None:  # the test machine is offline anyway: fail at once, never reach out
        requested.append(route.request.url)
        route.abort()

    page.route("**/*tile.openstreetmap.org/**", block)
    frame = page.frame_locator(MAP_FRAME).first
    assert frame.locator(".leaflet-tile").count() == 0 and not requested
    page.get_by_text("Online map tiles under the maps (needs internet)").click()
    frame.locator(".tile-offline-notice").wait_for(timeout=PAGE_WAIT_MS)
    assert requested, "switching tiles on asks for OpenStreetMap tiles"
    assert "offline basemap" in frame.locator(".tile-offline-notice").inner_text()
    assert CONTEXT_STYLES["water"]["fill"] in fills(page), "the offline basemap stays"
    page.screenshot(path=str(ARTIFACTS / "tiles-offline.png"), full_page=True)
