"""The Streamlit page without a browser: AppTest runs app.py; the ui/ helpers are called directly."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Transformer
from streamlit.testing.v1 import AppTest

from coverage.circles import unit_points
from coverage.pipeline import DEMO_FACILITIES, load_inputs, run_circles, summary
from coverage.settings import SPEED_PRESETS
from layers.errors import InputError, UnsupportedFileError
from layers.facilities import FACILITY_KINDS
from layers.network import embedded_network_path
from tests.conftest import PROJECT_ROOT
from ui import planning
from ui import state as ss
from ui.basemap import basemap
from ui.exports import GEOPACKAGE_LAYERS, csv_bytes, geopackage_bytes
from ui.i18n import ZH_FILE, Translator, chinese_labels, translate, translated_table
from ui.map_layers import MINUTE_CLASSES, population_display
from ui.mapping import add_draw_control, build_map, proposed_sites_map
from ui.uploads import MAX_UPLOAD_BYTES, MAX_UPLOAD_MB, check_upload, safe_file_name, save_upload

APP = str(PROJECT_ROOT / "app.py")


# ----- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def direct():
    """The default data computed with coverage.pipeline directly (15 min, elderly speed)."""
    inputs = load_inputs()
    result = run_circles(inputs, minutes=15, speed="elderly")
    return inputs, result


@pytest.fixture(scope="module")
def default_analysis(direct):
    inputs, result = direct
    return ss.Analysis("default", 15.0, result.speed_mps, inputs, result, 1.0)


def uncovered_site(result) -> tuple[float, float]:
    """lon/lat of the on-network uncovered population unit with the most elderly people."""
    elderly = result.population["elderly_population"].to_numpy(dtype=float)
    candidates = ~result.covered & result.population_snap.on_network
    index = int(np.argmax(np.where(candidates, elderly, -1.0)))
    point = unit_points(result.population.geometry.iloc[[index]])[0]
    to_wgs84 = Transformer.from_crs(result.graph.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs84.transform(point.x, point.y)
    return float(lon), float(lat)


def run_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    values = [m.value for m in at.metric if m.label == label]
    assert values, f"no metric {label!r} among {[m.label for m in at.metric]}"
    return values[0]


# ----- the page ---------------------------------------------------------------------------------
def test_default_page_shows_the_pipeline_share(direct):
    inputs, result = direct
    at = run_app()
    expected = summary(result, inputs, 0.0)["covered_share"]
    assert metric(at, "Covered population") == f"{100 * expected:.1f} %"
    assert metric(at, "Facilities") == str(len(result.facilities)) == "5"  # the Nanjing default's DEMO sites
    notes = " ".join(m.value for m in at.markdown)  # islands moved from the headline to the notes tab
    assert f"Network islands (street pieces not connected to the largest one): {result.graph.n_islands:,}" in notes
    assert not at.error
    assert any("DEMO" in info.value for info in at.info), "the demo data must be labelled as demo"
    assert [tab.label for tab in at.tabs] == ["Map", "Tables", "Planning checks", "Site selection", "Sources and notes", "Batch results"]
    assert not [info.value for info in at.info if "coming" in info.value]  # both tabs are live, none says "coming"
    assert at.button(key="run_checks") and at.button(key="run_sites")


def test_language_switch_shows_chinese_labels():
    at = run_app()
    at.selectbox(key="speed_choice__en").set_value("general").run()
    general = metric(at, "Covered population")
    at.radio(key="lang").set_value("zh").run()
    assert not at.exception
    # the choice survives the switch (each language has its own widget, the value is kept)
    assert at.selectbox(key="speed_choice__zh").value == "general"
    assert at.selectbox(key="speed_choice__zh").options[1].startswith("一般人群")
    assert metric(at, "覆盖人口比例") == general
    assert at.title[0].value == "一刻钟养老服务圈"
    labels = [m.label for m in at.metric]
    assert "覆盖人口比例" in labels and "设施数" in labels
    assert [tab.label for tab in at.tabs][:2] == ["地图", "数据表"]
    assert at.button(key="whatif_add").label == "在此新增设施"


def test_changing_minutes_changes_the_metric(direct):
    inputs, _ = direct
    at = run_app()
    before = metric(at, "Covered population")
    at.number_input(key="minutes").set_value(10).run()
    assert not at.exception
    expected = run_circles(inputs, minutes=10, speed="elderly").covered_share()
    after = metric(at, "Covered population")
    assert after == f"{100 * expected:.1f} %"
    assert after != before


def test_what_if_add_then_remove_updates_coverage(direct):
    _, result = direct
    lon, lat = uncovered_site(result)
    added = ss.apply_change(result, ss.AddSite(lon, lat, "WHATIF-1", "test"))
    assert added.covered_share() > result.covered_share()

    at = run_app()
    assert at.button(key="whatif_add").disabled  # nothing clicked yet
    at.session_state[ss.PROPOSED_SITE] = {"lat": lat, "lng": lon}  # what a map click stores
    at.run()
    at.button(key="whatif_add").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert metric(at, "Covered population") == f"{100 * added.covered_share():.1f} %"
    assert metric(at, "Facilities") == str(len(result.facilities) + 1)
    assert float(metric(at, "Covered population").rstrip("%")) > 100 * result.covered_share()

    demo_4 = int(result.facilities.loc[result.facilities["facility_id"] == "DEMO-4", "facility_label"].iloc[0])
    next(w for w in at.selectbox if w.key.startswith("whatif_remove_choice_")).set_value(demo_4).run()
    at.button(key="whatif_remove").click().run()
    assert not at.exception
    both = added.with_facility_removed(demo_4)
    assert metric(at, "Covered population") == f"{100 * both.covered_share():.1f} %"
    assert metric(at, "Facilities") == str(len(result.facilities))

    at.button(key="whatif_reset").click().run()
    assert metric(at, "Covered population") == f"{100 * result.covered_share():.1f} %"


def test_what_if_site_off_the_network_is_refused(default_analysis):
    state: dict = {}
    x0, y0, x1, y1 = default_analysis.inputs.network.edges.total_bounds
    with pytest.raises(ValueError, match="walkable street"):
        ss.add_site(state, default_analysis, x1 + 0.05, y1 + 0.05)
    assert state[ss.CHANGES] == []


def test_map_click_is_stored_once():
    state: dict = {}
    assert ss.record_click(state, {"lat": 60.17, "lng": 24.94})
    assert state[ss.PROPOSED_SITE] == {"lat": 60.17, "lng": 24.94}
    assert not ss.record_click(state, {"lat": 60.17, "lng": 24.94})  # the same click on a rerun
    assert not ss.record_click(state, None)


def test_planning_checks_and_site_selection_tabs():
    at = run_app()
    at.button(key="run_checks").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert int(metric(at, "Findings")) > 0
    findings = next(frame.value for frame in at.dataframe if "subject" in frame.value.columns)
    statuses = set(findings["status"])
    assert statuses <= {"pass", "fail", "not assessable"} and statuses

    at.button(key="run_sites").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert metric(at, "New sites") == "3"
    after = metric(at, "Elderly covered after")
    assert float(after.rstrip("%")) > float(metric(at, "Elderly covered before").rstrip("%"))
    # the proposed sites, added as what-if sites, give the coverage the site selection reported
    at.button(key="sites_to_whatif").click().run()
    assert not at.exception and not at.error
    assert metric(at, "Facilities") == "8"  # the default's five DEMO sites and three new ones
    elderly = [m for m in at.metric if m.label == "Elderly covered (60+)"][0]
    assert elderly.delta.startswith(after)


def test_a_failed_site_selection_shows_its_reason_until_the_inputs_change(monkeypatch):
    import ui.tab_sites
    from layers.errors import InputError

    def refuse(*args, **kwargs):
        raise InputError("no candidate site lies within the walk of any uncovered elderly person")

    monkeypatch.setattr(ui.tab_sites, "cached_sites", refuse)
    at = run_app()
    at.button(key="run_sites").click().run()
    assert not at.exception
    shown = [e.value for e in at.error]
    assert any("No sites could be chosen" in e and "no candidate site" in e for e in shown), shown
    at.run()  # kept on a rerun
    assert [e.value for e in at.error] == shown
    at.number_input(key="minutes").set_value(20).run()  # other inputs: the old answer is not shown
    assert not any("No sites could be chosen" in e.value for e in at.error)


def test_site_selection_by_target_coverage_map_and_accepting_one_site():
    at = run_app()
    at.radio(key="site_size_mode__en").set_value("target").run()
    at.slider(key="site_target").set_value(90).run()
    at.button(key="run_sites").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert float(metric(at, "Elderly covered after").rstrip("%")) >= 90.0
    n_sites = int(metric(at, "New sites"))
    assert n_sites >= 1
    assert any("Target 90%" in c.value for c in at.caption)
    _, (report, proposed), _ = at.session_state["sites_run"]
    assert report["target_coverage"] == 0.9 and report["p"] == n_sites == len(proposed)
    # the proposed sites are drawn on their own map: ranked markers with rank and elderly added
    table = planning.proposed_sites_table(proposed)
    streets = basemap(load_inputs().network.edges)
    html = proposed_sites_map(table, streets, gpd.GeoDataFrame(columns=["geometry"], geometry="geometry", crs=4326), Translator("en")).get_root().render()
    assert "Proposed site #1" in html and "Elderly added:" in html and "ranked-site" in html
    assert "unpkg.com" not in html and "cdn.jsdelivr" not in html
    # accept one chosen site: one more facility, the button then says it is in the what-if
    rank = int(table["rank"].iloc[-1])
    next(w for w in at.selectbox if w.key.startswith("site_accept_rank_")).set_value(rank).run()
    at.button(key="site_to_whatif").click().run()
    assert not at.exception and not at.error
    assert metric(at, "Facilities") == "6"  # the default's five DEMO sites and the one accepted
    assert at.session_state[ss.CHANGES][0].name == f"Proposed site #{rank}"
    assert at.button(key="site_to_whatif").disabled


def test_drawing_a_district_does_not_move_the_proposed_site(monkeypatch):
    import streamlit_folium

    answers: dict = {}
    monkeypatch.setattr(streamlit_folium, "st_folium", lambda fmap, key=None, **kw: answers.get(key) or {})
    polygon = {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "Polygon", "coordinates": [[[24.94, 60.17], [24.95, 60.17], [24.95, 60.175], [24.94, 60.17]]]},
    }
    at = run_app()
    answers["coverage_map"] = {"last_clicked": {"lat": 60.168, "lng": 24.935}, "last_active_drawing": None}
    at.run()
    assert at.session_state[ss.PROPOSED_SITE] == {"lat": 60.168, "lng": 24.935}
    # the click that finishes the polygon arrives together with the new drawing: not a site
    answers["coverage_map"] = {"last_clicked": {"lat": 60.17, "lng": 24.94}, "last_active_drawing": polygon}
    at.run()
    assert not at.exception
    assert at.session_state["district_drawing"] == polygon["geometry"]
    assert at.session_state[ss.PROPOSED_SITE] == {"lat": 60.168, "lng": 24.935}
    at.run()  # a later rerun returns the same answer: still not a site
    assert at.session_state[ss.PROPOSED_SITE] == {"lat": 60.168, "lng": 24.935}
    # an ordinary click afterwards (the drawing unchanged) proposes a site again
    answers["coverage_map"] = {"last_clicked": {"lat": 60.172, "lng": 24.945}, "last_active_drawing": polygon}
    at.run()
    assert at.session_state[ss.PROPOSED_SITE] == {"lat": 60.172, "lng": 24.945}


def test_map_holds_back_clicks_while_drawing(direct):
    inputs, result = direct
    fmap = build_map(result, basemap(inputs.network.edges), Translator("en"))
    add_draw_control(fmap)
    html = fmap.get_root().render()
    assert "draw:drawstart" in html and "draw:drawstop" in html and 'type === "click"' in html


# ----- uploads: bad input gives a readable message and keeps the last good result ---------------
def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def shapefile_zip(tmp_path: Path, *, with_prj: bool, sites_file: Path = DEMO_FACILITIES) -> bytes:
    folder = tmp_path / "shp"
    folder.mkdir()
    sites = gpd.read_file(sites_file).rename(columns={"facility_id": "id"})
    sites[["id", "name", "kind", "beds", "geometry"]].to_file(folder / "sites.shp")
    if not with_prj:
        (folder / "sites.prj").unlink()
    return zip_bytes({path.name: path.read_bytes() for path in sorted(folder.iterdir())})


def network_upload(tmp_path: Path):
    path = embedded_network_path()
    return save_upload("helsinki.osm.pbf", path.read_bytes(), "network", root=tmp_path)


def assert_readable(message: str, tmp_path: Path) -> None:
    assert "Traceback" not in message
    assert str(tmp_path) not in message, "temporary upload paths must be cut to the file names"


def test_corrupt_network_keeps_the_previous_result(tmp_path, default_analysis):
    state = {ss.LAST_GOOD: default_analysis}

    def build():
        network = save_upload("city.osm.pbf", b"this is not a PBF file" * 50, "network", root=tmp_path)
        facilities = save_upload("sites.geojson", DEMO_FACILITIES.read_bytes(), "facilities", root=tmp_path)
        return ss.build_analysis(ss.DataChoice(network=network, facilities=facilities), 15, "elderly")

    analysis, error = ss.attempt(state, build, key="bad")
    assert analysis is default_analysis
    assert state[ss.LAST_GOOD] is default_analysis
    assert "city.osm.pbf" in error and "not a valid OSM PBF file" in error
    assert_readable(error, tmp_path)
    # a rerun (map click) with the same bad input does not read it again
    assert ss.attempt(state, lambda: pytest.fail("read again"), key="bad") == (default_analysis, error)


@pytest.mark.parametrize("member", ["../evil.shp", "sub/../../evil.shp", "/tmp/evil.shp", "..\\evil.shp", "C:/evil.shp"])
def test_zip_members_outside_the_folder_are_refused(tmp_path, default_analysis, member):
    data = zip_bytes({"sites.shp": b"x", member: b"owned"})
    with pytest.raises(InputError, match="refusing to unpack") as caught:
        save_upload("sites.zip", data, "facilities", root=tmp_path / "uploads")
    assert "sites.zip" in str(caught.value)
    assert not list(tmp_path.rglob("evil.shp")), "nothing may be unpacked from an unsafe zip"
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and "unzipped" in p.parts]

    def build():
        facilities = save_upload("sites.zip", data, "facilities", root=tmp_path)
        return ss.build_analysis(ss.DataChoice(network_upload(tmp_path), facilities), 15, "elderly")

    state = {ss.LAST_GOOD: default_analysis}
    analysis, error = ss.attempt(state, build)
    assert analysis is default_analysis and state[ss.LAST_GOOD] is default_analysis
    assert "refusing to unpack" in error


def test_shapefile_without_crs_keeps_the_previous_result(tmp_path, default_analysis):
    state = {ss.LAST_GOOD: default_analysis}
    network = network_upload(tmp_path)
    facilities = save_upload("sites.zip", shapefile_zip(tmp_path, with_prj=False), "facilities", root=tmp_path)
    analysis, error = ss.attempt(state, lambda: ss.build_analysis(ss.DataChoice(network, facilities), 15, "elderly"))
    assert analysis is default_analysis
    assert "no coordinate reference system" in error
    assert "sites.shp" in error
    assert_readable(error, tmp_path)


def test_good_uploads_give_the_same_result_as_the_default(tmp_path, direct):
    from layers.embedded import embedded_data

    _, result = direct
    state: dict = {}
    default = embedded_data()  # the default's own extract and DEMO sites, uploaded as a planner would
    network = save_upload("nanjing.osm.pbf", default.network.read_bytes(), "network", root=tmp_path)
    zipped = shapefile_zip(tmp_path, with_prj=True, sites_file=default.facilities)
    facilities = save_upload("sites.zip", zipped, "facilities", root=tmp_path)
    assert facilities.path.name == "sites.shp"
    choice = ss.DataChoice(network, facilities)
    analysis, error = ss.attempt(state, lambda: ss.build_analysis(choice, 15, "elderly"))
    assert error is None and state[ss.LAST_GOOD] is analysis
    assert analysis.result.covered_share() == pytest.approx(result.covered_share())
    assert analysis.data_key == choice.key() and facilities.sha256 in choice.key()


def test_downloads(direct, tmp_path):
    _, result = direct
    data = geopackage_bytes(result)
    path = tmp_path / "circles.gpkg"
    path.write_bytes(data)
    assert set(pyogrio.list_layers(path)[:, 0]) == set(GEOPACKAGE_LAYERS)
    assert gpd.read_file(path, layer="population").crs.to_epsg() == 4326
    csv = csv_bytes(ss.population_table(result))
    assert csv.startswith(b"\xef\xbb\xbf") and b"walk_minutes" in csv


def test_wrong_type_and_size_are_refused():
    with pytest.raises(UnsupportedFileError, match="not read as facilities"):
        check_upload("sites.xlsx", 100, "facilities")
    with pytest.raises(InputError, match=f"{MAX_UPLOAD_MB} MB limit"):
        check_upload("china.osm.pbf", MAX_UPLOAD_BYTES + 1, "network")
    with pytest.raises(InputError, match="empty"):
        check_upload("sites.csv", 0, "facilities")
    assert safe_file_name("../../etc/passwd") == "passwd"
    assert safe_file_name("C:\\Users\\me\\养老院.csv") == "养老院.csv"


# ----- translations and the offline map ---------------------------------------------------------
def _literal_labels() -> set[str]:
    labels = set()
    for path in [PROJECT_ROOT / "app.py", *(PROJECT_ROOT / "ui").glob("*.py")]:
        source = path.read_text(encoding="utf-8")
        for match in re.finditer(r"\bt\(\s*((?:(?:\"[^\"\n]*\"|'[^'\n]*')\s*)+)", source):
            labels.add("".join(s[1:-1] for s in re.findall(r"\"[^\"\n]*\"|'[^'\n]*'", match.group(1))))
    return labels


def test_every_label_has_a_chinese_entry():
    zh = chinese_labels()
    wanted = _literal_labels() | set(FACILITY_KINDS) | set(SPEED_PRESETS) | set(ss.COORDINATE_SYSTEMS.values())
    wanted |= {text for _, _, text in MINUTE_CLASSES} | {"network", "facilities", "population"}
    wanted |= set(planning.SITE_MODELS.values()) | set(planning.STATUSES)
    wanted |= {"district", "township", "facility", "community", "area"}  # analysis.verdicts subject kinds
    assert len(wanted) > 80
    missing = sorted(wanted - zh.keys())
    assert not missing, f"add to {ZH_FILE}: {missing}"
    for key in wanted:
        assert set(re.findall(r"{(\w+)", key)) == set(re.findall(r"{(\w+)", zh[key])), key
    assert translate("nursing_home", "en") == "nursing home"
    assert Translator("zh")("{share} of {total:,.0f}", share="50%", total=1234) == "占 1,234 人的 50%"


def test_table_columns_have_chinese_names(direct):
    _, result = direct
    columns = [*ss.population_table(result).columns, *ss.facilities_table(result).columns]
    assert not sorted(set(columns) - chinese_labels().keys())
    shown = translated_table(ss.facilities_table(result), Translator("zh"))
    assert {"设施编号", "类型"} <= set(shown.columns)
    kinds = set(result.facilities["kind"])
    assert {"township_centre", "community_station"} <= kinds  # the default's DEMO sites
    assert set(shown["类型"]) == {chinese_labels()[kind] for kind in kinds}


def test_map_is_offline_and_thins_large_layers(direct):
    inputs, result = direct
    streets = basemap(inputs.network.edges)
    fmap = build_map(result, streets, Translator("en"))
    html = fmap.get_root().render()
    assert "leaflet-tile" not in html and "tile.openstreetmap" not in html
    assert "$(" not in html, "no jQuery is loaded, so no template may use it"
    links = [href for element in _walk(fmap) for _, href in [*getattr(element, "default_js", []), *getattr(element, "default_css", [])]]
    assert links and all(link.startswith("data:") for link in links)
    with_tiles = build_map(result, streets, Translator("en"), tiles=True).get_root().render()
    assert "tile.openstreetmap.org" in with_tiles

    thin = population_display(result, max_units=100)
    assert thin.aggregated and len(thin.frame) <= 100
    assert thin.frame["population"].sum() == pytest.approx(result.population["population"].sum(), rel=1e-3)
    aggregated_html = build_map(result, streets, Translator("zh"), display=thin).get_root().render()
    assert json.dumps("网格内单元数")[1:-1] in aggregated_html  # the cells' tooltip (JSON-escaped)
    full = population_display(result)
    assert not full.aggregated and len(full.frame) == len(result.population)
    assert shapely.get_type_id(full.frame.geometry.to_numpy()).max() >= 3  # building polygons stay polygons


def _walk(element):
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


# ----- one proposed district, boundary uploads, the report downloads ----------------------------
def district_box(result) -> shapely.Polygon:
    """A rectangle (lon/lat) in the middle of the demo facilities."""
    x0, y0, x1, y1 = result.facilities.to_crs(4326).total_bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return shapely.box(cx - 0.003, cy - 0.002, cx + 0.003, cy + 0.002)


def test_proposed_district_matches_check_proposed_district(direct):
    from analysis.districts import check_proposed_district
    from analysis.rules import DEFAULT_RULE_SET, load_rule_set

    _, result = direct
    polygon = district_box(result)
    rules = load_rule_set(DEFAULT_RULE_SET)
    # the planned households win over the buildings inside (issue 13): residents = households × persons per household
    expected = check_proposed_district(
        polygon, households=1000, facilities=result.facilities.to_crs(4326), rules=rules, coverage=result,
        persons_per_household=rules["Q2"].extra["persons_per_household"],
    )  # fmt: skip
    q1 = next(f for f in expected.findings if f.rule_id == "Q1")
    # the ui helper, as the page calls it
    check = planning.check_district(polygon, result=result, rules=rules, households=1000.0)
    numbers = planning.district_numbers(check).set_index("rule_id")
    assert numbers.loc["Q1", "required"] == pytest.approx(expected.table["q1_required_m2"].iloc[0])
    assert numbers.loc["Q1", "shortfall"] == pytest.approx(expected.table["q1_shortfall_m2"].iloc[0])
    zh = planning.district_findings_table(check, Translator("zh"))
    assert zh.loc[zh["rule_id"] == "Q1", "message"].iloc[0] == q1.message_zh
    with pytest.raises(InputError, match="households or residents"):
        planning.check_district(polygon, result=result, rules=rules)

    # the page: a drawn polygon in the session, households entered, the button pressed
    at = run_app()
    assert at.button(key="check_district").disabled
    at.session_state["district_drawing"] = json.loads(shapely.to_geojson(polygon))
    at.number_input(key="district_households").set_value(1000).run()
    at.button(key="check_district").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    findings = next(frame.value for frame in at.dataframe if "message" in frame.value.columns)
    shown = findings.set_index("rule id")  # column names are translated ("rule_id" shows as "rule id")
    assert shown.loc["Q1", "status"] == q1.status
    assert shown.loc["Q1", "message"] == q1.message
    assert set(shown.index) == {f.rule_id for f in expected.findings}


def test_malformed_district_upload_gives_a_readable_error(tmp_path, direct):
    _, result = direct
    broken = save_upload("plan.geojson", b'{"type": "FeatureCollection", "features": [', "districts", root=tmp_path)
    with pytest.raises(InputError) as caught:
        planning.district_polygon_from_file(broken.path, name="plan.geojson")
    message = ss.readable_message(caught.value)
    assert "plan.geojson" in message
    assert_readable(message, tmp_path)

    point = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [24.94, 60.17]}}]}
    points = save_upload("points.geojson", json.dumps(point).encode(), "districts", root=tmp_path)
    with pytest.raises(InputError) as caught:
        planning.district_polygon_from_file(points.path, name="points.geojson")
    message = ss.readable_message(caught.value)
    assert "points.geojson" in message and "polygon" in message.lower()
    assert_readable(message, tmp_path)
    with pytest.raises(InputError, match="not a district polygon"):
        planning.district_polygon_from_drawing({"type": "LineString", "coordinates": [[24.94, 60.17], [24.95, 60.18]]})

    polygon = district_box(result)
    good = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "plan"}, "geometry": json.loads(shapely.to_geojson(polygon))}]}
    saved = save_upload("plan.geojson", json.dumps(good).encode(), "districts", root=tmp_path)
    assert planning.district_polygon_from_file(saved.path).equals_exact(polygon, 1e-9)
    with pytest.raises(UnsupportedFileError):
        save_upload("plan.csv", b"a,b\n1,2\n", "districts", root=tmp_path)


def test_checks_with_boundaries_map_and_report(tmp_path):
    from analysis.checks import DEMO_TOWNSHIPS
    from analysis.rules import DEFAULT_RULE_SET
    from ui.mapping import checks_map

    inputs = load_inputs(embedded="helsinki")  # DEMO_TOWNSHIPS: the Helsinki choice's
    townships = save_upload("townships.geojson", DEMO_TOWNSHIPS.read_bytes(), "townships", root=tmp_path)
    result = ss.build_analysis(ss.DataChoice(embedded="helsinki"), 15, "elderly").result
    run = planning.run_planning_checks(result, DEFAULT_RULE_SET, "elderly", townships=townships)
    assert run.townships is not None and "t1_status" in run.townships.table.columns
    streets = basemap(inputs.network.edges)
    for colour in ("t1_status", "w1_elderly_share"):
        html = checks_map(run, streets, Translator("zh"), township_colour=colour).get_root().render()
        assert json.dumps("街道（乡镇）")[1:-1] in html and "circle-legend" in html
        assert "tile.openstreetmap" not in html
    files = planning.report_files(run)
    page = files["html"].decode("utf-8")
    assert "<html" in page.lower() and "核查报告" in page  # the report page (its title: 规划核查报告 · planning check)
    assert run.rules.name in page
    assert files["excel"][:2] == b"PK"  # an xlsx is a zip


def test_report_downloads_on_the_page():
    at = run_app()
    at.button(key="run_checks").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    labels = [button.label for button in at.get("download_button")]
    assert "Report (HTML)" in labels and "Workbook (Excel)" in labels


def test_township_numbers_follow_a_what_if():
    """The per-township table of the map tab: the demo townships, before and after an added site."""
    import shapely

    from coverage.pipeline import run_circles
    from ui import planning
    from ui.state import DataChoice

    choice = DataChoice()
    towns = planning.whatif_townships(choice, None)
    assert towns is not None and len(towns) == 4
    base = run_circles(choice.load())
    uncovered = base.population.geometry[~base.covered].iloc[0].representative_point()
    after = base.with_facility_added(shapely.Point(uncovered.x, uncovered.y), {"facility_id": "new"})
    table = planning.township_whatif_table(base, after, towns)
    assert (table["covered now (%)"] >= table["covered before (%)"]).all()
    assert (table["covered now (%)"] > table["covered before (%)"]).any()


def test_streamlit_makes_no_network_calls_by_default():
    """Usage statistics off, and a fixed banner address: unset, headless Streamlit asks
    checkip.amazonaws.com for the machine's external IP at every start."""
    import tomllib

    from tests.conftest import PROJECT_ROOT

    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["browser"]["gatherUsageStats"] is False
    assert config["browser"]["serverAddress"] == "localhost"
