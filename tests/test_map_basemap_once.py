"""Issue 13 "Responsiveness targets": the coverage map's basemap is rendered and sent to the browser
frame once per data; a minutes, speed or what-if change sends only the result's layers.

In-process: the base map of a large street lattice holds the streets and the overlays of a rerun
do not (they are a fraction of its size); through ``app.py`` (AppTest, the real
``ui.basemap_frame.show_map`` with the component call recorded): a minutes change renders no new
base, keeps the frame (same script, same component key) and sends new service areas.
"""

from __future__ import annotations

import json
import sys

import pytest
import streamlit_folium
from streamlit.testing.v1 import AppTest

from coverage.pipeline import load_inputs, run_circles
from tests.conftest import PROJECT_ROOT
from ui import basemap_frame
from ui.basemap import BASEMAP_COLOUR, basemap
from ui.basemap_cache import extract_context
from ui.basemap_frame import overlay_scripts, render_base, rendered_base
from ui.i18n import Translator
from ui.map_layers import SERVICE_AREA_COLOUR
from ui.mapping import add_draw_control, coverage_base, coverage_overlays

APP = str(PROJECT_ROOT / "app.py")
#: The grey streets' style as the map's script holds it.
STREET_STYLE = f'"color": "{BASEMAP_COLOUR}"'
sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))


@pytest.fixture(scope="module")
def lattice(tmp_path_factory):
    """A 150 × 150 street lattice (22 500 nodes, 50 m) with population cells and facilities, as uploaded."""
    from app_city import make_city

    city = make_city(tmp_path_factory.mktemp("city"), side=150)
    inputs = load_inputs(network=city.network, facilities=city.facilities, population=city.population)
    return inputs, run_circles(inputs, minutes=15, speed="elderly")


def test_a_large_lattice_sends_its_streets_once_and_small_overlays_per_rerun(lattice):
    inputs, result = lattice
    t = Translator("en")
    streets = basemap(inputs.network.edges)

    def build():
        fmap, rows = coverage_base(streets, t)
        add_draw_control(fmap, t)
        return fmap, rows

    base = render_base(*build())
    # the base carries the streets (every one of the lattice's edges) and no result layer
    assert STREET_STYLE in base.script and "MultiLineString" in base.script
    assert base.size_bytes > 1_500_000, base.size_bytes
    assert SERVICE_AREA_COLOUR not in base.script
    assert "window.__baseOverlays" in base.script and "Streets (basemap)" in base.script

    def rerun(minutes: float) -> str:
        changed = run_circles(inputs, minutes=minutes, speed="elderly")
        groups, legend = coverage_overlays(changed, t)
        feature_group, control = overlay_scripts(groups, legend)
        return feature_group + control

    first, second = rerun(15), rerun(10)
    assert first != second  # the service areas and walking-minute classes follow the minutes
    for payload in (first, second):
        assert SERVICE_AREA_COLOUR in payload and "Service areas" in payload
        assert STREET_STYLE not in payload
        assert "MultiLineString" not in payload  # no street geometry is sent again
        assert len(payload.encode()) < base.size_bytes / 2, (len(payload), base.size_bytes)
    # the legend names the basemap too (its rows follow the overlays' legend)
    assert "Streets (basemap)" in second


def test_a_base_is_rendered_once_per_key(monkeypatch, lattice):
    inputs, _ = lattice
    t = Translator("en")
    streets = basemap(inputs.network.edges)
    calls: list[int] = []
    real = basemap_frame.render_base
    monkeypatch.setattr(basemap_frame, "render_base", lambda fmap, rows=(): calls.append(1) or real(fmap, rows))
    basemap_frame._BASES.clear()
    first = rendered_base(("test", "a"), lambda: coverage_base(streets, t))
    again = rendered_base(("test", "a"), lambda: coverage_base(streets, t))
    assert again is first and len(calls) == 1
    chinese = rendered_base(("test", "zh"), lambda: coverage_base(streets, Translator("zh")))
    assert len(calls) == 2 and chinese.frame_key("m") != first.frame_key("m")


def test_the_page_keeps_the_map_frame_and_swaps_the_overlays_on_a_minutes_change(monkeypatch):
    """app.py with the library's own st_folium path: the component call is recorded, not drawn."""
    sent: list[dict] = []

    def component(**kwargs):
        sent.append(kwargs)
        return None

    monkeypatch.setattr(streamlit_folium, "_component_func", component)
    renders: list[int] = []
    real = basemap_frame.render_base
    monkeypatch.setattr(basemap_frame, "render_base", lambda fmap, rows=(): renders.append(1) or real(fmap, rows))
    basemap_frame._BASES.clear()
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    coverage = [k for k in sent if k["returned_objects"] and "last_clicked" in k["returned_objects"]]
    assert coverage, "the coverage map was not drawn"
    before = coverage[-1]
    assert len(renders) == 1
    assert BASEMAP_COLOUR in before["script"] and SERVICE_AREA_COLOUR not in before["script"]
    assert SERVICE_AREA_COLOUR in before["feature_group"]
    assert "Service areas (15 min)" in before["layer_control"]

    at.number_input(key="minutes").set_value(10).run()
    assert not at.exception, at.exception
    after = [k for k in sent if k["returned_objects"] and "last_clicked" in k["returned_objects"]][-1]
    assert after is not before
    assert len(renders) == 1  # no new base: the basemap was not rendered again
    assert after["script"] is before["script"] and after["key"] == before["key"]  # the browser keeps its frame
    assert after["feature_group"] != before["feature_group"]
    assert "Service areas (10 min)" in after["layer_control"] and "Service areas (15 min)" not in after["layer_control"]
    # the legend (with the basemap's rows) travels with the overlays
    legend = json.loads(after["layer_control"].split("div.innerHTML = ", 1)[1].split(";\n", 1)[0])
    assert "Streets (basemap)" in legend and "10" in legend


def test_a_stand_in_for_st_folium_gets_the_whole_map(monkeypatch):
    """Tests that stand in for ``st_folium`` see base and overlays in one map (as before the split)."""
    drawn: dict = {}

    def fake(fmap, key=None, **kwargs):
        drawn[key] = fmap.get_root().render()
        return {}

    monkeypatch.setattr(streamlit_folium, "st_folium", fake)
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    html = drawn["coverage_map"]
    assert BASEMAP_COLOUR in html and SERVICE_AREA_COLOUR in html and "circle-legend" in html


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_layer_switcher_names_the_basemap_in_the_page_language(lang):
    inputs = load_inputs()
    t = Translator(lang)
    base = render_base(*coverage_base(basemap(inputs.network.edges, extract_context(inputs)), t))
    overlays = base.script.split("window.__baseOverlays = {", 1)[1].split("};", 1)[0]
    assert json.dumps(t("Streets (basemap)")) in overlays and json.dumps(t("Land use")) in overlays


def test_large_streets_are_served_by_the_app_not_written_into_the_map(monkeypatch):
    """Above the threshold (here 0 bytes) the base map fetches the streets from a media URL of the
    app's own server; the map's script holds no street geometry (the browser test draws them)."""
    sent: list[dict] = []
    monkeypatch.setattr(streamlit_folium, "_component_func", lambda **kwargs: sent.append(kwargs))
    monkeypatch.setenv(basemap_frame.FETCHED_STREETS_ENV, "0")
    basemap_frame._BASES.clear()
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    script = [k for k in sent if k["returned_objects"] and "last_clicked" in k["returned_objects"]][-1]["script"]
    assert "/media/" in script and ".json" in script and "basemapStreets" in script
    streets = basemap(load_inputs().network.edges)
    carried = [json.dumps(line[:2]) for line in streets.geojson["features"][0]["geometry"]["coordinates"][:50]]
    embedded = render_base(*coverage_base(streets, Translator("en"))).script
    assert all(c in embedded for c in carried)  # the first vertices of the first streets, when carried
    assert not [c for c in carried if c in script], "the streets' geometry is fetched, not carried"
    basemap_frame._BASES.clear()
