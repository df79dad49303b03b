"""The page in a real browser: `streamlit run app.py` driven by headless Chromium (Playwright).

Needs Debian's ``chromium`` at /usr/bin/chromium (Playwright never downloads a browser here) and
the ``playwright`` Python package; skips with the reason otherwise. Every wait is bounded and the
server is always stopped. A screenshot is saved to ``test-artifacts/app.png``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from pyproj import Transformer

from coverage.circles import unit_points
from coverage.pipeline import load_inputs, run_circles
from tests.conftest import PROJECT_ROOT
from tests.streamlit_server import streamlit_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
SERVER_START_S = 60
PAGE_WAIT_MS = 90_000
MAP_FRAME = "iframe[title*='streamlit_folium']"

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent: install it with 'apt-get install -y chromium'", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")


@pytest.fixture(scope="module")
def server():
    """`streamlit run app.py` on a free port; yields the URL; always stopped afterwards."""
    with streamlit_app(start_s=SERVER_START_S) as url:
        yield url


@pytest.fixture(scope="module")
def uncovered_lonlat() -> tuple[float, float]:
    """lon/lat of the on-network uncovered unit with the most elderly people (default data)."""
    result = run_circles(load_inputs())
    elderly = result.population["elderly_population"].to_numpy(dtype=float)
    index = int(np.argmax(np.where(~result.covered & result.population_snap.on_network, elderly, -1.0)))
    point = unit_points(result.population.geometry.iloc[[index]])[0]
    lon, lat = Transformer.from_crs(result.graph.crs, "EPSG:4326", always_xy=True).transform(point.x, point.y)
    return float(lon), float(lat)


@pytest.fixture()
def page(server):
    """A fresh headless Chromium session on the page, once the map has drawn; closed afterwards."""
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright, tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        browser = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, viewport={"width": 1500, "height": 1100}
        )
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            page.set_default_timeout(PAGE_WAIT_MS)
            page.goto(server, timeout=PAGE_WAIT_MS)
            # the map: the folium component frame with Leaflet's SVG paths (streets, areas, people)
            page.wait_for_selector(MAP_FRAME, timeout=PAGE_WAIT_MS)
            page.frame_locator(MAP_FRAME).locator("path.leaflet-interactive").first.wait_for(timeout=PAGE_WAIT_MS)
            yield page
        finally:
            browser.close()


def map_frame(page):
    """The folium map's frame (to run Leaflet's own JavaScript in it)."""
    return next(f for f in page.frames if "streamlit_folium" in f.url)


#: The value of the "Covered population" metric (the headline leads with the elderly numbers).
COVERED_JS = (
    "() => { const m = [...document.querySelectorAll('[data-testid=\"stMetric\"]')]"
    ".find(e => e.innerText.includes('Covered population'));"
    " return m ? m.querySelector('[data-testid=\"stMetricValue\"]').innerText.trim() : null; }"
)


def covered_value(page) -> str:
    return page.evaluate(COVERED_JS)


def test_map_renders_and_a_what_if_click_raises_coverage(page, uncovered_lonlat):
    frame = page.frame_locator(MAP_FRAME)
    assert frame.locator("svg path").count() > 100
    assert frame.locator(".circle-legend").count() == 1
    # the district drawing tools load offline (Leaflet.draw served from ui/static)
    assert frame.locator(".leaflet-draw-draw-polygon").count() == 1
    before = covered_value(page)
    assert before.endswith("%")

    # what-if: click the map at an uncovered place, then press "Add facility here"
    lon, lat = uncovered_lonlat
    x, y = map_frame(page).evaluate("([lat, lng]) => { const p = window.map.latLngToContainerPoint([lat, lng]); return [p.x, p.y]; }", [lat, lon])
    frame.locator("#map_div").click(position={"x": x, "y": y})
    add = page.get_by_role("button", name="Add facility here")
    page.wait_for_function(
        "() => [...document.querySelectorAll('button')].some(b => b.innerText.includes('Add facility here') && !b.disabled)",
        timeout=PAGE_WAIT_MS,
    )
    page.get_by_text("Proposed site:").first.wait_for(timeout=PAGE_WAIT_MS)
    add.click()
    page.wait_for_function(
        f"(old) => {{ const v = ({COVERED_JS})(); return v && v !== old; }}",
        arg=before,
        timeout=PAGE_WAIT_MS,
    )
    after = covered_value(page)
    assert float(after.rstrip("%")) > float(before.rstrip("%")), (before, after)
    frame.locator("path.leaflet-interactive").first.wait_for(timeout=PAGE_WAIT_MS)  # the map is redrawn
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / "app.png"), full_page=True)
    assert (ARTIFACTS / "app.png").stat().st_size > 10_000


def test_drawing_a_polygon_checks_the_district_and_moves_no_site(page):
    """Leaflet.draw's polygon tool, vertex by vertex: the drawn district is checked (Q1-Q5, W1)
    and none of the vertex clicks becomes a what-if site."""
    frame = page.frame_locator(MAP_FRAME)
    page.get_by_text("No district boundary yet").first.wait_for(timeout=PAGE_WAIT_MS)
    before = covered_value(page)
    tables_before = page.locator('[data-testid="stDataFrame"]').count()

    # a 4-corner polygon around the map's centre, closed by clicking its first corner again
    width, height = map_frame(page).evaluate("() => { const s = window.map.getSize(); return [s.x, s.y]; }")
    cx, cy = width / 2, height / 2
    corners = [(cx - 90, cy - 70), (cx + 90, cy - 70), (cx + 90, cy + 70), (cx - 90, cy + 70)]
    frame.locator(".leaflet-draw-draw-polygon").click()
    for x, y in [*corners, corners[0]]:
        frame.locator("#map_div").click(position={"x": x, "y": y})
        page.wait_for_timeout(300)
    page.wait_for_function(
        "() => ![...document.querySelectorAll('div')].some(d => d.innerText === 'No district boundary yet: upload a file or draw one on the map.')",
        timeout=PAGE_WAIT_MS,
    )
    assert page.get_by_text("This boundary cannot be used").count() == 0

    households = page.get_by_label("Planned households")
    households.fill("800")
    households.press("Enter")
    page.wait_for_function(
        "() => [...document.querySelectorAll('button')].some(b => b.innerText.includes('Check district') && !b.disabled)",
        timeout=PAGE_WAIT_MS,
    )
    page.get_by_role("button", name="Check district").click()
    page.wait_for_function(
        "(n) => document.querySelectorAll('[data-testid=\"stDataFrame\"]').length >= n + 2",
        arg=tables_before,
        timeout=PAGE_WAIT_MS,
    )
    assert page.get_by_text("The district could not be checked").count() == 0
    # the drawing's clicks did not propose or add a site: coverage is as it was
    assert page.get_by_text("Proposed site:").count() == 0
    assert covered_value(page) == before
    page.screenshot(path=str(ARTIFACTS / "district.png"), full_page=True)
