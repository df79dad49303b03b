"""Issue 11, "Bugs": each one through `python -m coverage check|circles` (in-process), on real Nanjing streets.

The Nanjing extract (``../shared/data/nanjing_xuanwu``) has 7 health facilities (hospitals) and no
elderly care: the tests place elderly facilities on its real streets, with hand-computed values.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from coverage.cli import main
from layers.network import read_network
from tests.conftest import shared_path

D = 0.0012  # half-width of a hand-made polygon around a site, degrees (~110-130 m)


def _run(capsys, command: str, *args: str) -> tuple[int, str, str]:
    code = main([command, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _json(capsys, command: str, *args: str) -> dict:
    code, out, err = _run(capsys, command, *args, "--json")
    assert code == 0, err
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def nanjing() -> Path:
    return shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")


@pytest.fixture(scope="module")
def street_points(nanjing) -> list[tuple[float, float]]:
    """Mid-points of real Nanjing streets (lon, lat), far enough apart for separate polygons."""
    edges = read_network(nanjing).edges
    metric = edges.to_crs(32650)
    mids = gpd.GeoSeries(
        shapely.line_interpolate_point(metric.geometry.to_numpy(), 0.5, normalized=True), crs=32650
    )
    x0, y0, x1, y1 = metric.total_bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    chosen: list[shapely.Point] = []
    order = mids.distance(shapely.Point(cx, cy)).sort_values().index  # near the centre first (dense streets)
    for i in order:
        point = mids[i]
        if all(point.distance(c) > 400 for c in chosen):
            chosen.append(point)
        if len(chosen) == 12:
            break
    lonlat = gpd.GeoSeries(chosen, crs=32650).to_crs(4326)
    return list(zip(lonlat.x, lonlat.y, strict=True))


def _box(point: tuple[float, float]) -> shapely.Polygon:
    return shapely.box(point[0] - D, point[1] - D, point[0] + D, point[1] + D)


# ----- 1. hospitals are not elderly-service facilities ----------------------------------------------


def test_the_pbf_hospitals_are_refused_as_elderly_facilities(nanjing, tmp_path, capsys):
    """The bug: the extract's 7 hospitals made W1 report 42.7 % "covered"; now: exit 2, kinds named."""
    out = tmp_path / "c.gpkg"
    code, _, err = _run(capsys, "circles", "--network", str(nanjing), "--facilities", str(nanjing), "--out", str(out))
    assert code == 2
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "no elderly-service facility" in err and "7 health_centre" in err and "--health" in err
    assert not out.exists()
    code, _, err = _run(capsys, "check", "--network", str(nanjing), "--facilities", str(nanjing), "--out", str(tmp_path / "k"))
    assert code == 2 and "7 health_centre" in err


def test_hospitals_in_a_facility_table_stay_out_of_w1(nanjing, street_points, tmp_path, capsys):
    stations = [(f"玄武社区养老服务站{i}", *street_points[i]) for i in range(4)]
    hospitals = [(f"玄武区第{i}人民医院", *street_points[4 + i]) for i in range(3)]
    mixed, only = tmp_path / "mixed.csv", tmp_path / "stations.csv"
    pd.DataFrame(stations + hospitals, columns=["名称", "经度", "纬度"]).to_csv(mixed, index=False)
    pd.DataFrame(stations, columns=["名称", "经度", "纬度"]).to_csv(only, index=False)
    with_health = _json(capsys, "circles", "--network", str(nanjing), "--facilities", str(mixed), "--out", str(tmp_path / "m.gpkg"))
    without = _json(capsys, "circles", "--network", str(nanjing), "--facilities", str(only), "--out", str(tmp_path / "s.gpkg"))
    assert with_health["facilities"] == 4 and with_health["health_facilities"] == 3
    assert without["health_facilities"] == 0
    assert with_health["covered_share"] == without["covered_share"]  # the hospitals reach nobody in W1
    assert any("3 health facilities" in n and "left out of the walking circles (W1)" in n for n in with_health["notes"])
    layer = gpd.read_file(tmp_path / "m.gpkg", layer="facilities")
    assert set(layer["kind"]) == {"community_station"}


# ----- 2-7. one check run on real streets with every hand case ----------------------------------------


@pytest.fixture(scope="module")
def planning_case(nanjing, street_points, tmp_path_factory):
    """Layers for one `check` run; every number below is computed by hand in the tests."""
    folder = tmp_path_factory.mktemp("planning")
    p = street_points
    facilities = pd.DataFrame(
        [
            # name, lon, lat, 床位, 护理型床位, 失智床位, 性质, 建筑面积
            ("锁金村公办养老院", *p[0], 200, 120, 30, "公办", 3000),
            ("玄武湖敬老院", *p[1], 100, 40, 10, "民办", 1500),
            ("新区社区养老服务站", *p[2], 20, 20, 0, "", 280),  # the Q3 case: 280 m² < 300 m²
            ("成贤街社区日间照料服务站", *p[3], 10, 0, 0, "", 400),  # station AND day care
            ("东南大学附属中大医院", *p[4], 500, 400, 0, "公办", 20000),
        ],
        columns=["名称", "经度", "纬度", "床位", "护理型床位", "失智床位", "性质", "建筑面积"],
    )
    facilities_path = folder / "facilities.csv"
    facilities.to_csv(facilities_path, index=False)
    districts = gpd.GeoDataFrame(
        {
            "小区名称": ["新区", "规划小区", "滞后小区", "同步小区"],
            "常住人口": [10_000, 2_000, 2_000, 2_000],
            "户数": [3_000, 700, 700, 700],
            "设施状态": ["已交付", "规划", "在建", "同步交付"],
            "住宅阶段": ["已交付", "规划", "已交付", "已验收"],
        },
        geometry=[_box(p[2]), _box(p[6]), _box(p[7]), _box(p[8])],
        crs=4326,
    )
    districts_path = folder / "districts.gpkg"
    districts.to_file(districts_path)
    communities = gpd.GeoDataFrame(
        {"社区名称": ["三万社区", "四万社区"], "常住人口": [30_000, 40_000]},
        geometry=[_box(p[9]), _box(p[3])],
        crs=4326,
    )
    communities_path = folder / "communities.gpkg"
    communities.to_file(communities_path)
    edges = read_network(nanjing).edges
    x0, y0, x1, y1 = edges.total_bounds
    townships = gpd.GeoDataFrame({"name": ["玄武门街道"]}, geometry=[shapely.box(x0, y0, x1, y1)], crs=4326)
    townships_path = folder / "townships.gpkg"
    townships.to_file(townships_path)
    common = [
        "--network", str(nanjing), "--facilities", str(facilities_path), "--districts", str(districts_path),
        "--communities", str(communities_path), "--townships", str(townships_path),
    ]
    return folder, common


@pytest.fixture(scope="module")
def jilin_run(planning_case):
    folder, common = planning_case
    out = folder / "jilin"
    assert main(["check", *common, "--elderly-share", "0.3", "--out", str(out), "--json"]) == 0
    return out


def _findings(out: Path, rule_id: str) -> pd.DataFrame:
    findings = pd.read_csv(out / "findings.csv")
    return findings.loc[findings["rule_id"] == rule_id].set_index("subject")


def test_c2_c3_from_chinese_capacity_columns(jilin_run, capsys):
    """护理型床位/失智床位 columns reach C2 and C3; C2 is over 养老机构 only, C2b over 公办 ones."""
    c2 = _findings(jilin_run, "C2")
    assert c2["status"].tolist() == ["fail"]
    # institutions: 120 + 40 nursing of 200 + 100 beds = 53.3 %; the station's 20 of 20 would make 56.25 %
    assert c2["measured"].iloc[0] == pytest.approx(160 / 300)
    c3 = _findings(jilin_run, "C3")
    assert c3["status"].tolist() == ["fail"] and c3["measured"].iloc[0] == 40  # 30 + 10 + 0 < 60
    c2b = _findings(jilin_run, "C2b")
    assert c2b["status"].tolist() == ["pass"] and c2b["measured"].iloc[0] == pytest.approx(120 / 200)
    c1 = _findings(jilin_run, "C1")
    assert c1["status"].tolist() == ["fail"] and c1["measured"].iloc[0] == 330  # not the hospital's 500 beds


def test_t4_exactly_30000_asks_for_one_extra_point(jilin_run):
    communities = pd.read_csv(jilin_run / "communities.csv").set_index("community")
    assert communities.loc["三万社区", "t4_required_extra"] == 1
    assert communities.loc["三万社区", "t4_status"] == "fail"
    # 40 000: 1 extra point, provided by the 社区日间照料服务站, which is also the community's station
    assert communities.loc["四万社区", "t4_required_extra"] == 1
    assert communities.loc["四万社区", "t4_status"] == "pass"
    assert communities.loc["四万社区", "stations"] == 1 and communities.loc["四万社区", "day_care"] == 1
    t4 = _findings(jilin_run, "T4")
    assert "project parameter" in t4.loc["三万社区", "message"]


def test_area_quotas_by_hand(jilin_run, planning_case, capsys):
    """10 000 residents → 1 200 m² (jilin-2023) / 1 000 m² (hebei-2022); 3 000 households → 900 m²; 280 m² fails Q3."""
    table = pd.read_csv(jilin_run / "districts.csv").set_index("district")
    assert table.loc["新区", "q1_required_m2"] == pytest.approx(1200.0)
    assert table.loc["新区", "q2_required_m2"] == pytest.approx(900.0)
    q3 = pd.read_csv(jilin_run / "findings.csv").query("rule_id == 'Q3'")
    assert q3["status"].tolist() == ["fail"] and q3["measured"].iloc[0] == 280
    folder, common = planning_case
    out = folder / "hebei"
    code, text, err = _run(capsys, "check", *common, "--rules", "hebei-2022", "--out", str(out))
    assert code == 0, err
    hebei = pd.read_csv(out / "districts.csv").set_index("district")
    assert hebei.loc["新区", "q1_required_m2"] == pytest.approx(1000.0)
    # without --elderly-share the run says it used Panshi's share
    assert "Panshi" in text and "--elderly-share" in text


def test_q5_compares_the_facility_with_the_housing(jilin_run):
    q5 = _findings(jilin_run, "Q5")
    assert q5.loc["新区", "status"] == "pass"
    assert q5.loc["规划小区", "status"] == "pass"  # housing only planned: a planned facility is in step
    assert q5.loc["滞后小区", "status"] == "fail"  # housing handed over, facility still being built
    assert q5.loc["滞后小区", "shortfall"] == 2
    assert q5.loc["同步小区", "status"] == "pass"


def test_elderly_share_and_every_parameter_in_the_report(jilin_run):
    population = gpd.read_file(jilin_run / "checks.gpkg", layer="population")
    ratio = population["elderly_population"].sum() / population["population"].sum()
    assert ratio == pytest.approx(0.3)
    html = (jilin_run / "report.html").read_text(encoding="utf-8")
    for needle in ("0.3 (given with --elderly-share)", "off-network limit (W4)", "C6 adjacency distance", "project parameter"):
        assert needle in html
    parameters = pd.read_excel(jilin_run / "checks.xlsx", sheet_name="parameters")
    assert parameters["parameter"].str.contains("elderly_share").any()
    rules = pd.read_excel(jilin_run / "checks.xlsx", sheet_name="rules").set_index("rule")
    assert rules.loc["W4", "origin"].startswith("project") and rules.loc["C6", "origin"].startswith("project")
    assert rules.loc["Q1", "origin"].startswith("seed")


def test_hospitals_in_the_table_become_the_c6_layer(jilin_run):
    """No --health given: the hospital of the facility table is the C6 layer (it was left out of W1)."""
    c6 = pd.read_csv(jilin_run / "findings.csv").query("rule_id == 'C6'")
    assert len(c6) >= 4  # the four elderly facilities
    assert not c6["message"].str.contains("no health facility at all").any()
    notes = (jilin_run / "report.html").read_text(encoding="utf-8")
    assert "1 health facilities (hospitals, clinics: kind health_centre)" in notes
