"""Reading street networks in every format, and facilities from files and OSM tags."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import osmnx as ox
import pandas as pd
import pytest
import shapely

from coverage.graph import build_walk_graph
from layers.errors import FieldError, InputError, MissingCRSError
from layers.facilities import classify_kind, facilities_from_osm_tags, read_facilities
from layers.network import read_network, walkable_mask
from tests.conftest import shared_path


def test_walkable_filter_by_tags():
    edges = pd.DataFrame(
        {
            "highway": ["footway", "steps", "motorway", "residential", "cycleway", "cycleway", "service", "pedestrian", "construction"],
            "foot": [None, None, None, "no", None, "designated", None, None, None],
            "access": [None, None, None, None, None, None, "private", None, None],
        }
    )
    assert walkable_mask(edges).tolist() == [True, True, False, False, False, True, False, True, False]


def test_graphml_and_line_layer_match_the_pbf(tmp_path):
    xml = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm")
    graph = ox.graph_from_xml(xml, simplify=False, retain_all=True, bidirectional=True)
    graphml = tmp_path / "nanjing.graphml"
    ox.save_graphml(graph, graphml)
    from_graphml = read_network(graphml)
    from_xml = read_network(xml)
    assert len(from_graphml.edges) == len(from_xml.edges)

    lines = tmp_path / "lines.gpkg"
    from_xml.edges.drop(columns=["u", "v"]).to_file(lines, layer="streets")
    from_lines = read_network(lines, noded=True)  # split at every OSM node already (--network-noded)
    g_lines = build_walk_graph(from_lines)
    g_xml = build_walk_graph(from_xml)
    assert g_lines.n_nodes == g_xml.n_nodes
    assert g_lines.edge_length_m.sum() == pytest.approx(g_xml.edge_length_m.sum(), rel=1e-9)
    assert g_lines.n_islands == g_xml.n_islands


def test_line_layer_without_crs_is_refused(tmp_path):
    path = tmp_path / "streets.shp"
    gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (1, 1)])]).to_file(path)
    with pytest.raises(MissingCRSError, match="streets.shp"):
        read_network(path)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("街道综合养老服务中心", "township_centre"),
        ("社区养老服务站", "community_station"),
        ("日间照料中心", "day_care"),
        ("敬老院", "nursing_home"),
        ("长者照护之家", "nursing_home"),
        ("社区卫生服务中心", "health_centre"),
        ("nursing_home", "nursing_home"),
        ("bakery", "other"),
        (None, "other"),
    ],
)
def test_kind_classification(text, kind):
    assert classify_kind(text) == kind


def test_chinese_csv_columns(tmp_path):
    path = tmp_path / "sites.csv"
    pd.DataFrame(
        {"名称": ["某某敬老院", "社区日间照料中心"], "经度": [118.78, 118.79], "纬度": [32.04, 32.05], "床位": [50, None], "建筑面积": [1200, 320]}
    ).to_csv(path, index=False, encoding="gb18030")
    frame = read_facilities(path)
    assert frame.crs.to_epsg() == 4326
    assert frame["kind"].tolist() == ["nursing_home", "day_care"]
    assert frame["beds"].iloc[0] == 50 and pd.isna(frame["beds"].iloc[1])  # missing stays missing
    assert frame["building_area_m2"].tolist() == [1200, 320]


def test_non_numeric_beds(tmp_path):
    path = tmp_path / "sites.csv"
    pd.DataFrame({"name": ["a"], "lng": [118.78], "lat": [32.04], "beds": ["lots"]}).to_csv(path, index=False)
    with pytest.raises(FieldError, match="field 'beds'"):
        read_facilities(path)


def test_zipped_shapefile(tmp_path):
    shp = tmp_path / "sites.shp"
    gpd.GeoDataFrame({"name": ["养老院"]}, geometry=[shapely.Point(118.78, 32.04)], crs=4326).to_file(shp, encoding="utf-8")
    archive = tmp_path / "sites.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in tmp_path.glob("sites.*"):
            if part.suffix != ".zip":
                zf.write(part, part.name)
    frame = read_facilities(archive)
    assert frame["kind"].tolist() == ["nursing_home"]


def test_osm_tags_select_elderly_care_and_health():
    features = gpd.GeoDataFrame(
        {
            "amenity": ["nursing_home", "social_facility", "social_facility", "clinic", "cafe", None],
            "social_facility:for": [None, "senior", "child", None, None, None],
            "name": ["Home", "Seniors", "Kids", "Clinic", "Cafe", "阳光老年公寓"],
        },
        geometry=[shapely.Point(24.94 + i / 1000, 60.17) for i in range(6)],
        crs=4326,
    )
    selected = facilities_from_osm_tags(features)
    assert selected["name"].tolist() == ["Home", "Seniors", "Clinic", "阳光老年公寓"]
    assert selected["kind"].tolist() == ["nursing_home", "nursing_home", "health_centre", "nursing_home"]


def test_osm_extract_facilities_on_real_data():
    # Nanjing has hospitals but no elderly-care tags; Helsinki has clinics and doctors
    nanjing = read_facilities(shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf"))
    assert (nanjing["kind"] == "health_centre").sum() >= 1
    from layers.network import embedded_network_path

    helsinki = read_facilities(embedded_network_path())
    assert set(helsinki["kind"]) <= {"health_centre", "nursing_home"}
    assert len(helsinki) >= 3


def test_shanghai_orgs_in_gcj02(tmp_path):
    src = pd.read_csv(shared_path("shanghai_elderly_orgs", "shanghai_elderly_orgs.csv")).dropna(subset=["lat", "lng"])
    path = tmp_path / "orgs.csv"
    src.to_csv(path, index=False)
    raw = read_facilities(path)
    fixed = read_facilities(path, source_crs="gcj02")
    shift = raw.to_crs(32651).distance(fixed.to_crs(32651))
    assert shift.between(100, 800).all()
    kinds = dict(zip(raw["name"], raw["kind"]))
    assert kinds["上海中环逸仙敬老院"] == "nursing_home"
    assert kinds["上海曹杨社区长者照护之家"] == "nursing_home"
    assert kinds["爱志旺日间照料会所"] == "day_care"
    assert (raw["kind"] != "other").sum() >= 35  # the rest are brand names such as 爱照护（万里）
    with pytest.raises(InputError, match="orgs.csv"):
        read_facilities(path, source_crs="mars")
