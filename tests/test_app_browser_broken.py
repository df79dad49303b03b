"""Issue 13 "Broken", in a real browser (`streamlit run app.py` + headless Chromium, Playwright).

Every map the app draws (coverage map, planning-checks map, proposed-sites map) must render offline
with no console error and a frame taller than 0 px; a click on a magenta "elderly outside the
circle" dot proposes a site there and leaves no district error; switching from the embedded default
to uploaded data leaves no choice of the old data and no traceback on the page.
Reuses the server and browser fixtures of ``tests/test_app_browser.py``.
"""

from __future__ import annotations

import re
import time

import pytest

from layers.network import embedded_network_path
from tests.test_app_browser import MAP_FRAME, PAGE_WAIT_MS, map_frame, server  # noqa: F401  (fixture)
from tests.test_app_browser import page as _page_fixture  # noqa: F401

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
page = _page_fixture


def console_errors(page) -> list[str]:
    """Start collecting console errors and page errors of ``page`` and its frames (a live list)."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    return errors


def relevant(errors: list[str]) -> list[str]:
    """Errors of the maps and the page (Streamlit's own favicon/health noise left out)."""
    return [e for e in errors if "favicon" not in e and "_stcore" not in e]


def frame_heights(page) -> list[float]:
    return [box["height"] for box in (f.bounding_box() for f in page.locator(MAP_FRAME).all()) if box]


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    page.wait_for_timeout(500)


def test_every_map_draws_offline_without_a_console_error(page):
    errors = console_errors(page)
    page.reload(timeout=PAGE_WAIT_MS)
    page.frame_locator(MAP_FRAME).first.locator("path.leaflet-interactive").first.wait_for(timeout=PAGE_WAIT_MS)
    page.wait_for_timeout(1500)
    assert not relevant(errors), errors

    # planning checks: their map
    open_tab(page, "Planning checks")
    page.get_by_role("button", name="Run planning checks").click()
    page.wait_for_function(
        "() => document.querySelectorAll(\"iframe[title*='streamlit_folium']\").length >= 2", timeout=PAGE_WAIT_MS * 2
    )
    checks = page.frame_locator(MAP_FRAME).nth(1)
    checks.locator("path").first.wait_for(timeout=PAGE_WAIT_MS)
    page.wait_for_timeout(1500)
    assert not relevant(errors), errors

    # site selection: the proposed sites as numbered markers on a map that draws
    open_tab(page, "Site selection")
    page.get_by_role("button", name="Propose sites").click()
    page.wait_for_function(
        "() => document.querySelectorAll(\"iframe[title*='streamlit_folium']\").length >= 3", timeout=PAGE_WAIT_MS * 2
    )
    sites = page.frame_locator(MAP_FRAME).nth(2)
    sites.locator(".ranked-site").first.wait_for(timeout=PAGE_WAIT_MS)
    assert sites.locator("path").count() >= 1  # the streets (one multi-line feature) and the facilities
    sites.locator(".ranked-site").first.click()  # the popup opens (no jQuery needed)
    sites.locator(".leaflet-popup-content").first.wait_for(timeout=PAGE_WAIT_MS)
    page.wait_for_timeout(1000)
    assert not relevant(errors), errors
    assert all(h > 100 for h in frame_heights(page)[2:3]), frame_heights(page)


def test_clicking_an_uncovered_elderly_dot_proposes_a_site_there(page):
    errors = console_errors(page)
    frame = page.frame_locator(MAP_FRAME).first
    leaflet = map_frame(page)
    # the centre of the first magenta dot (elderly outside the circle), in the map's pixels
    xy = leaflet.evaluate(
        """() => { let found = null;
            window.map.eachLayer(l => { if (!found && l.feature && l.options && l.getLatLng
                && l.feature.properties && 'uncovered_elderly' in l.feature.properties) found = l; });
            if (!found) return null;
            const p = window.map.latLngToContainerPoint(found.getLatLng()); return [p.x, p.y]; }"""
    )
    assert xy is not None, "no uncovered elderly dot on the map"
    frame.locator("#map_div").click(position={"x": xy[0], "y": xy[1]})
    page.get_by_text("Proposed site:").first.wait_for(timeout=PAGE_WAIT_MS)
    page.wait_for_function(
        "() => [...document.querySelectorAll('button')].some(b => b.innerText.includes('Add facility here') && !b.disabled)",
        timeout=PAGE_WAIT_MS,
    )
    page.wait_for_timeout(1500)
    assert page.get_by_text("This boundary cannot be used").count() == 0
    assert page.get_by_text("No district boundary yet").count() >= 1
    assert not relevant(errors), errors


def wait_for_choice(page, label: str, text: str, *, timeout_s: float = PAGE_WAIT_MS / 1000) -> str:
    """Wait until the selectbox ``label`` shows a choice containing ``text``.

    Looks only inside that selectbox (not the whole page, where a table may hold the same text) and
    treats an element detached by a rerun as "not yet" rather than an error.
    """
    deadline = time.monotonic() + timeout_s
    shown = ""
    while time.monotonic() < deadline:
        try:
            widget = page.locator("[data-testid='stSelectbox']").filter(has_text=label)
            if widget.count() == 1:
                shown = widget.inner_text(timeout=2000)
                box = widget.get_by_label(label)
                if box.count() == 1:
                    shown += " " + (box.input_value(timeout=2000) or "")
                if text in shown:
                    return shown
        except sync_api.Error:
            pass  # the widget was replaced by a rerun between two calls: look again
        page.wait_for_timeout(500)
    page.screenshot(path="test-artifacts/wait_for_choice.png", full_page=True)
    raise AssertionError(f"{label!r} never showed {text!r} (last: {shown!r})")


def wait_until_gone(page, text: str, *, timeout_s: float = PAGE_WAIT_MS / 1000) -> None:
    """Wait until no element shows ``text`` (a rerun may still be replacing the old widgets)."""
    deadline = time.monotonic() + timeout_s
    while page.get_by_text(text).count() and time.monotonic() < deadline:
        page.wait_for_timeout(500)


def test_switching_to_uploaded_data_leaves_no_old_choice_and_no_traceback(page, tmp_path):
    # the embedded extract's streets and two facilities of "my own", as a planner uploads them
    network = tmp_path / "my_city.osm.pbf"
    network.write_bytes(embedded_network_path().read_bytes())
    facilities = tmp_path / "my_sites.csv"
    facilities.write_text(
        "facility_id,name,kind,lon,lat\nMY-1,My centre,community_station,24.941,60.169\nMY-2,My station,community_station,24.948,60.163\n"
    )
    # the planner first picks the last DEMO site as the facility to remove (the choice that outlived its data)
    page.get_by_label("Facility to remove").click()
    page.get_by_role("option", name=re.compile("DEMO-4")).click()
    wait_for_choice(page, "Facility to remove", "DEMO-4")
    page.wait_for_timeout(1500)
    page.get_by_text("Upload my own layers").click()
    uploads = page.locator("[data-testid='stFileUploaderDropzoneInput']")
    uploads.first.wait_for(state="attached", timeout=PAGE_WAIT_MS)
    page.wait_for_timeout(3000)  # the rerun of the source switch has settled
    uploads.nth(0).set_input_files(str(network))
    page.get_by_text("my_city.osm.pbf").first.wait_for(timeout=PAGE_WAIT_MS)
    page.wait_for_timeout(3000)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").nth(1).set_input_files(str(facilities))
    page.get_by_text("my_sites.csv").first.wait_for(timeout=PAGE_WAIT_MS)
    # the "facility to remove" offers the uploaded facilities, no DEMO site
    wait_for_choice(page, "Facility to remove", "MY-", timeout_s=2 * PAGE_WAIT_MS / 1000)
    wait_until_gone(page, "DEMO-")
    page.screenshot(path="test-artifacts/switch.png", full_page=True)
    assert page.get_by_text("DEMO-").count() == 0
    page.get_by_role("button", name="Remove facility").click()
    page.wait_for_timeout(3000)
    page.get_by_text("removed").first.wait_for(timeout=PAGE_WAIT_MS)
    assert page.locator("[data-testid='stException']").count() == 0
    assert "Traceback" not in page.locator("body").inner_text()
