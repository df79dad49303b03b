"""Issue 13 "Broken", without a browser: what the browser tests (tests/test_app_browser_broken.py)
see, checked through AppTest, the ui helpers, the library and the CLI.

- no map needs jQuery (the offline page does not load it);
- after a data switch no widget keeps a choice of the old data, and no button raises;
- a click on a map feature proposes a site; a point "drawing" is not a district;
- an ``.osm`` XML network gives residents from its buildings, as its ``.osm.pbf`` does;
- a district's planned households win over the residents of today's buildings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import shapely
from streamlit.testing.v1 import AppTest

from cli.main import main as cli_main
from coverage.pipeline import load_inputs, run_circles
from layers.errors import EmptyLayerError
from layers.network import embedded_network_path
from layers.osm_xml_buildings import read_osm_xml_buildings
from tests.conftest import PROJECT_ROOT, shared_path
from ui import planning
from ui import state as ss
from ui.basemap import basemap
from ui.data_choice import DataChoice
from ui.i18n import Translator
from ui.mapping import build_map, proposed_sites_map

APP = str(PROJECT_ROOT / "app.py")


@pytest.fixture(scope="module")
def default_result():
    return run_circles(load_inputs(), minutes=15, speed="elderly")


def run_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    return at


# ----- 1. every map renders offline: nothing needs jQuery ----------------------------------------
def test_no_map_calls_jquery(default_result):
    t = Translator("en")
    streets = basemap(default_result.inputs.network.edges)
    sites = pd.DataFrame(
        {"rank": [1, 2], "lon": [24.94, 24.95], "lat": [60.17, 60.165], "added_elderly": [120.0, 80.0]}
    )
    from coverage.output import facilities_layer

    maps = {
        "coverage": build_map(default_result, streets, t),
        "sites": proposed_sites_map(sites, streets, facilities_layer(default_result), t),
    }
    for name, fmap in maps.items():
        html = fmap.get_root().render()
        assert "$(`" not in html and "$(" not in html.replace("$(document", ""), f"the {name} map calls jQuery"
        assert "jquery" not in html.lower(), f"the {name} map loads jQuery"
    assert "bindPopup" in maps["sites"].get_root().render()  # the popups are there, without jQuery


# ----- 2. a data switch: no old choice, no exception, every button walked ------------------------
def test_after_a_data_switch_no_widget_keeps_an_old_choice_and_no_button_raises(monkeypatch, tmp_path):
    at = run_app()
    remove = next(w for w in at.selectbox if w.key.startswith("whatif_remove_choice_"))
    demo_labels = [label for label in remove.options if "DEMO" in str(label)] or remove.options
    remove.set_value(remove.options[-1]).run()
    assert not at.exception

    # the planner switches to "uploaded" layers: the same streets, two facilities of their own
    facilities = tmp_path / "my_sites.csv"
    facilities.write_text(
        "facility_id,name,kind,lon,lat\nMY-1,My centre,community_station,24.941,60.169\nMY-2,My station,community_station,24.948,60.163\n"
    )
    monkeypatch.setattr(DataChoice, "key", lambda self: "uploaded-test")
    monkeypatch.setattr(
        DataChoice, "layer_arguments", lambda self: {"network": embedded_network_path(), "facilities": facilities}
    )
    at.run()
    assert not at.exception, at.exception
    remove = next(w for w in at.selectbox if w.key.startswith("whatif_remove_choice_"))
    shown = [remove.format_func(o) if hasattr(remove, "format_func") else str(o) for o in remove.options]
    assert all("DEMO" not in s for s in shown), shown
    assert "DEMO" not in str(remove.value), remove.value
    assert len(remove.options) == 2 and demo_labels

    # walk every enabled button once (re-finding it after each rerun): none may raise
    keys = [b.key for b in at.button if b.key]
    pressed = []
    removed = []
    for key in keys:
        candidates = [b for b in at.button if b.key == key]
        if not candidates or candidates[0].disabled:
            continue
        candidates[0].click().run()
        pressed.append(key)
        assert not at.exception, (key, at.exception)
        assert not any("Traceback" in str(e.value) for e in at.error), key
        if key == "whatif_remove":  # checked at once: a later button (the scenario's undo) may take it back
            removed = [c for c in at.session_state[ss.CHANGES] if isinstance(c, ss.RemoveSite)]
    assert "whatif_remove" in pressed
    assert any(c.facility_id.startswith("MY-") for c in removed)


def test_removing_a_facility_of_other_data_is_a_message_not_a_traceback(default_result):
    analysis = ss.Analysis("default", 15.0, default_result.speed_mps, default_result.inputs, default_result, 1.0)
    state: dict = {}
    with pytest.raises(KeyError):
        ss.remove_site(state, analysis, 10_000)
    assert ss.data_widget_suffix("default") != ss.data_widget_suffix("uploaded-test")


# ----- 3. a click on a map feature proposes a site; a point is not a district --------------------
def test_a_click_on_a_feature_proposes_a_site_and_is_no_district():
    dot = {
        "type": "Feature",
        "properties": {"uncovered_elderly": 12.0},
        "geometry": {"type": "Point", "coordinates": [24.94, 60.17]},
    }
    state: dict = {}
    changed = ss.handle_map_return(
        state,
        {"last_clicked": None, "last_object_clicked": {"lat": 60.17, "lng": 24.94}, "last_active_drawing": dot},
        ss.DISTRICT_DRAWING,
    )
    assert changed and state[ss.PROPOSED_SITE] == {"lat": 60.17, "lng": 24.94}
    assert ss.DISTRICT_DRAWING not in state
    assert planning.district_polygon_from_drawing(dot) is None  # a stored point is no district either, no error
    # the same answer on the next rerun proposes nothing new
    assert not ss.handle_map_return(
        state,
        {"last_clicked": None, "last_object_clicked": {"lat": 60.17, "lng": 24.94}, "last_active_drawing": dot},
        ss.DISTRICT_DRAWING,
    )


def test_a_click_on_a_service_area_polygon_proposes_a_site_and_is_no_district():
    # st_folium reports a clicked GeoJSON polygon (a service area) as the "last active drawing"
    # too; only shapes drawn with the drawing tools (all_drawings) are district boundaries
    ring = [[118.78, 32.04], [118.79, 32.04], [118.79, 32.05], [118.78, 32.04]]
    area = {"type": "Feature", "properties": {"facility_label": "DEMO 1"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
    state: dict = {}
    answer = {
        "last_clicked": {"lat": 32.045, "lng": 118.785},
        "last_object_clicked": {"lat": 32.045, "lng": 118.785},
        "last_active_drawing": area,
        "all_drawings": None,
    }
    assert ss.handle_map_return(state, answer, ss.DISTRICT_DRAWING)
    assert state[ss.PROPOSED_SITE] == {"lat": 32.045, "lng": 118.785}
    assert ss.DISTRICT_DRAWING not in state
    # the same polygon drawn with the tools is a district boundary, and its last vertex no site
    drawn = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
    state = {}
    answer = {"last_clicked": {"lat": 32.04, "lng": 118.78}, "last_active_drawing": drawn, "all_drawings": [drawn]}
    assert not ss.handle_map_return(state, answer, ss.DISTRICT_DRAWING)
    assert state[ss.DISTRICT_DRAWING] == drawn["geometry"]


def test_the_page_proposes_a_site_at_a_clicked_dot_without_a_district_error(monkeypatch):
    import streamlit_folium

    answers: dict = {}
    monkeypatch.setattr(streamlit_folium, "st_folium", lambda fmap, key=None, **kw: answers.get(key) or {})
    at = run_app()
    dot = {
        "type": "Feature",
        "properties": {"uncovered_elderly": 12.0},
        "geometry": {"type": "Point", "coordinates": [24.94, 60.17]},
    }
    answers["coverage_map"] = {
        "last_clicked": {"lat": 60.17, "lng": 24.94},
        "last_object_clicked": {"lat": 60.17, "lng": 24.94},
        "last_active_drawing": dot,
    }
    at.run()
    assert not at.exception
    assert at.session_state[ss.PROPOSED_SITE] == {"lat": 60.17, "lng": 24.94}
    assert not [e.value for e in at.error if "boundary cannot be used" in str(e.value)]
    assert not at.button(key="whatif_add").disabled


# ----- 4. residents from an .osm XML's buildings ----------------------------------------------------
XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
 <node id="1" lat="60.1700" lon="24.9400"/><node id="2" lat="60.1700" lon="24.9410"/>
 <node id="3" lat="60.1705" lon="24.9410"/><node id="4" lat="60.1705" lon="24.9400"/>
 <node id="5" lat="60.1710" lon="24.9400"/><node id="6" lat="60.1710" lon="24.9410"/>
 <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/><tag k="building" v="apartments"/><tag k="building:levels" v="6"/></way>
 <way id="11"><nd ref="4"/><nd ref="5"/><nd ref="6"/><tag k="building" v="yes"/></way>
 <way id="12"><nd ref="4"/><nd ref="5"/><nd ref="99"/><nd ref="4"/><tag k="building" v="yes"/></way>
 <way id="13"><nd ref="1"/><nd ref="5"/><tag k="highway" v="footway"/></way>
</osm>
"""


def test_xml_building_ways_become_footprints(tmp_path):
    path = tmp_path / "tiny.osm"
    path.write_text(XML)
    read = read_osm_xml_buildings(path)
    assert list(read.buildings["way_id"]) == [10]  # the open way and the clipped way are left out
    assert read.skipped_ways == 2 and read.notes()
    assert read.buildings.geometry.iloc[0].geom_type == "Polygon"
    assert read.buildings["building:levels"].iloc[0] == "6"
    (tmp_path / "none.osm").write_text(XML.replace('k="building"', 'k="shop"'))
    with pytest.raises(EmptyLayerError, match="building"):
        read_osm_xml_buildings(tmp_path / "none.osm")


@pytest.fixture(scope="module")
def nanjing_facilities(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("nanjing") / "sites.csv"
    path.write_text(
        "facility_id,name,kind,lon,lat\nF1,centre A,community_station,118.795,32.045\nF2,centre B,community_station,118.80,32.05\n"
    )
    return path


def circles_json(network: Path, facilities: Path, capsys) -> dict:
    code = cli_main(["circles", "--network", str(network), "--facilities", str(facilities), "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_nanjing_xml_gives_the_residents_of_its_pbf(nanjing_facilities, capsys):
    xml = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm")
    pbf = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")
    from_xml = circles_json(xml, nanjing_facilities, capsys)
    from_pbf = circles_json(pbf, nanjing_facilities, capsys)
    # the same buildings (the pbf adds a few multipolygon relations): totals within 3 %
    assert from_xml["total_population"] > 10_000
    assert from_xml["total_population"] == pytest.approx(from_pbf["total_population"], rel=0.03)
    assert from_xml["elderly_population"] == pytest.approx(from_pbf["elderly_population"], rel=0.03)
    assert len(read_osm_xml_buildings(xml).buildings) > 1200


def test_nanjing_xml_through_python_m_coverage(nanjing_facilities):
    xml = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm")
    done = subprocess.run(
        [sys.executable, "-m", "coverage", "circles", "--network", str(xml), "--facilities", str(nanjing_facilities), "--json"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "no buildings" not in done.stderr
    assert json.loads(done.stdout)["total_population"] > 10_000


# ----- 5. the planned households win over any estimate --------------------------------------------
def district_box(result) -> shapely.Polygon:
    from pyproj import Transformer

    x0, y0, x1, y1 = result.population.total_bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    to_wgs84 = Transformer.from_crs(result.graph.crs, "EPSG:4326", always_xy=True)
    (ax, bx), (ay, by) = to_wgs84.transform([cx - 300, cx + 300], [cy - 300, cy + 300])
    return shapely.box(ax, ay, bx, by)


def test_planned_households_win_over_the_buildings_inside(default_result):
    from analysis.rules import DEFAULT_RULE_SET, load_rule_set

    rules = load_rule_set(DEFAULT_RULE_SET)
    per_household = rules["Q2"].extra["persons_per_household"]
    polygon = district_box(default_result)
    check = planning.check_district(polygon, result=default_result, rules=rules, households=800.0)
    used = planning.district_figures_used(check)
    assert used["residents"] == pytest.approx(800 * per_household)
    assert "households" in used["residents_source"] and "population layer" not in used["residents_source"]
    assert used["households"] == 800 and used["households_source"] == "field"
    typed = planning.district_figures_used(
        planning.check_district(polygon, result=default_result, rules=rules, households=800.0, residents=3000.0)
    )
    assert typed["residents"] == 3000 and typed["residents_source"] == "field"


def test_the_page_says_which_residents_the_district_check_used(default_result):
    at = run_app()
    at.session_state[ss.DISTRICT_DRAWING] = json.loads(shapely.to_geojson(district_box(default_result)))
    at.number_input(key="district_households").set_value(800).run()
    at.button(key="check_district").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    said = " ".join(m.value for m in at.markdown)
    assert "Residents used for Q1: 2,096" in said, said  # 800 households × 2.62 persons
    assert "households × 2.62 persons per household" in said
