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

from cli.main import main
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


def test_site_selection_counts_no_hospital_as_an_existing_facility(nanjing, street_points, tmp_path, capsys):
    code, _, err = _run(
        capsys, "sites", "--network", str(nanjing), "--facilities", str(nanjing), "--model", "mclp", "--p", "2",
        "--out", str(tmp_path / "x.gpkg"),
    )
    assert code == 2 and "7 health_centre" in err
    stations = [(f"玄武社区养老服务站{i}", *street_points[i]) for i in range(3)]
    hospitals = [(f"玄武区第{i}人民医院", *street_points[5 + i]) for i in range(4)]
    mixed, only = tmp_path / "mixed.csv", tmp_path / "stations.csv"
    pd.DataFrame(stations + hospitals, columns=["名称", "经度", "纬度"]).to_csv(mixed, index=False)
    pd.DataFrame(stations, columns=["名称", "经度", "纬度"]).to_csv(only, index=False)
    args = ["--network", str(nanjing), "--model", "mclp", "--p", "2"]
    a = _json(capsys, "sites", *args, "--facilities", str(mixed), "--out", str(tmp_path / "a.gpkg"))
    b = _json(capsys, "sites", *args, "--facilities", str(only), "--out", str(tmp_path / "b.gpkg"))
    assert a["covered_before"] == b["covered_before"]  # the hospitals cover nobody before the new sites
    assert a["covered_after"] == b["covered_after"]


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
    # the workbook's second header row is the English one (the first is Chinese)
    parameters = pd.read_excel(jilin_run / "checks.xlsx", sheet_name="parameters", header=1)
    assert parameters["parameter"].str.contains("elderly_share").any()
    rules = pd.read_excel(jilin_run / "checks.xlsx", sheet_name="rules", header=1).set_index("rule")
    assert "project" in rules.loc["W4", "origin"] and "project" in rules.loc["C6", "origin"]
    assert "seed" in rules.loc["Q1", "origin"]


def test_hospitals_in_the_table_become_the_c6_layer(jilin_run):
    """No --health given: the hospital of the facility table is the C6 layer (it was left out of W1)."""
    c6 = pd.read_csv(jilin_run / "findings.csv").query("rule_id == 'C6'")
    assert len(c6) >= 4  # the four elderly facilities
    assert not c6["message"].str.contains("no health facility at all").any()
    notes = (jilin_run / "report.html").read_text(encoding="utf-8")
    assert "1 health facilities (hospitals, clinics: kind health_centre)" in notes


# ----- 5. the kind classifier on real names ---------------------------------------------------------

#: The 72 organisations of ../shared/data/shanghai_elderly_orgs, each read and given its kind by hand.
#: 爱照护（...） branches and city names say nothing about the kind: "other" (an elderly service of
#: unknown kind). A 护理站 is a licensed medical nursing station: a health facility. Memory clinics
#: (记忆门诊) and mental-health centres are hospitals.
SHANGHAI_KINDS: dict[str, str] = {
    "上海城市公司": "other",
    "许昌（花都）": "other",
    "上海市精神卫生中心老年科": "health_centre",
    "爱照护（长征）": "other",
    "上海金福居敬老院": "nursing_home",
    "爱志旺日间照料会所": "day_care",
    "香港莫朗福克斯公馆": "other",
    "梅陇颐乐养老院": "nursing_home",
    "上海尽美长者服务中心": "other",
    "荣上记忆家园福利院": "nursing_home",
    "爱照护（万里）": "other",
    "爱照护总部": "other",
    "上海市普陀区白丽敬老院": "nursing_home",
    "上海普陀区爱晚亭敬老院": "nursing_home",
    "上海普陀区桃浦镇社会福利院": "nursing_home",
    "爱照护（真如意）": "other",
    "上海普陀区曹安敬老院": "nursing_home",
    "上海曹家巷长者照护之家": "nursing_home",
    "上海曹杨社区长者照护之家": "nursing_home",
    "上海普陀区美源养老院": "nursing_home",
    "上海中环逸仙敬老院": "nursing_home",
    "武汉（南湖）": "other",
    "爱照护（金杨）": "other",
    "爱照护（江浦）": "other",
    "爱照护（石泉）": "other",
    "上海徐汇区源梦颐养院": "nursing_home",
    "上海康健社区寿昌坊长者照护之家": "nursing_home",
    "徐汇区精神卫生中心": "health_centre",
    "长宁区精神卫生中心": "health_centre",
    "上海市同济大学附属同济医院": "health_centre",
    "上海奉贤区南桥镇关港养老院": "nursing_home",
    "上海凉城复馨敬老院": "nursing_home",
    "长寿西沙长照": "other",
    "太原（解二）": "other",
    "兰州（科苑）": "other",
    "武汉（常青）": "other",
    "成都（万晟）": "other",
    "济南大明湖社区爱照护长者照护之家": "nursing_home",
    "济南（制锦市）": "other",
    "上海普陀区忆桃园长者照护之家": "nursing_home",
    "爱照护（临汾）": "other",
    "爱照护（大宁）": "other",
    "爱照护（欧阳）": "other",
    "爱照护（甘泉R）": "other",
    "爱照护（淞南）": "other",
    "爱照护（枫林）": "other",
    "爱照护（嘉兴）": "other",
    "爱照护（龙华）": "other",
    "爱照护（东安）": "other",
    "爱照护（潍坊）": "other",
    "爱照护（江湾）": "other",
    "上海市第六人民医院记忆门诊": "health_centre",
    "爱照护（岳阳）": "other",
    "呼和浩特如意开发区如意和大街分公司": "other",
    "爱照护（真如）": "other",
    "上海长征医院记忆门诊": "health_centre",
    "上海市第十人民医院": "health_centre",
    "上海交通大学医学院附属新华医院": "health_centre",
    "上海交大附属瑞金医院记忆门诊": "health_centre",
    "复旦大学附属华东医院记忆门诊": "health_centre",
    "复旦大学附属华山医院记忆门诊": "health_centre",
    "上海银康老年公寓": "nursing_home",
    "上海浦东新区青墩养老院": "nursing_home",
    "春天家园老年公寓": "nursing_home",
    "上海徐汇区徐家汇街道龙吴路养老院": "nursing_home",  # a care home, though its name has 街道
    "上海徐汇区徐家汇街道南丹长者照护之家": "nursing_home",
    "上海普陀区石岚敬老院": "nursing_home",
    "静安区精神卫生中心": "health_centre",
    "上海金山区伯仁养护院": "nursing_home",
    "上海爱照护武爱护理站": "health_centre",
    "上海市徐汇区久康养老院": "nursing_home",
    "上海康乐福养老院": "nursing_home",
}

#: Facility names as the seed documents write them (../shared/seeds/*.txt), with the kind each is.
SEED_NAME_KINDS: list[tuple[str, str, str]] = [
    # (name, kind, seed it appears in)
    ("综合嵌入式社区居家养老服务中心", "township_centre", "000"),
    ("为老服务综合体", "township_centre", "000"),
    ("综合性社区居家养老服务中心", "township_centre", "001"),
    ("区域养老服务中心", "township_centre", "003"),
    ("乡镇社会福利服务中心", "township_centre", "000"),  # the town tier of the rural network
    ("城市社区居家养老服务中心", "community_station", "003"),  # no 综合/区域: not counted for T1
    ("养老服务指导中心", "other", "000"),  # county/city guidance centre: not a township centre
    ("社区养老服务站", "community_station", "000"),
    ("社区日间照料服务站", "day_care_station", "002"),
    ("社区日间照料服务点", "day_care_station", "002"),
    ("日间照料中心", "day_care", "000"),
    ("市级社会福利中心", "nursing_home", "000"),
    ("特困人员供养服务设施（敬老院）", "nursing_home", "000"),
    ("县级特困人员供养服务机构", "nursing_home", "003"),
    ("医养结合机构", "nursing_home", "000"),
    ("失智老年人照护专区", "nursing_home", "004"),
    ("老年养护院", "nursing_home", "004"),
    ("护理院", "nursing_home", "000"),
    ("农村养老大院", "village_point", "000"),
    ("互助养老站点", "village_point", "000"),
    ("农村互助养老站点", "village_point", "001"),
    ("农村幸福院", "village_point", "002"),
    ("邻里互助点", "village_point", "002"),
    ("老年食堂", "meal_point", "001"),
    ("标准化老年食堂（中央厨房）", "meal_point", "002"),
    ("社区卫生服务中心", "health_centre", "000"),
    ("乡镇卫生院", "health_centre", "000"),
    ("村卫生室", "health_centre", "000"),
]

#: Names the issue lists (PLANNING_RULES T1, R1, M1), beyond the seeds' own words.
ISSUE_NAME_KINDS: list[tuple[str, str]] = [
    ("老年活动中心", "other"),
    ("失智照护中心", "nursing_home"),
    ("医养结合中心", "nursing_home"),
    ("养老大院", "village_point"),
    ("互助站", "village_point"),
    ("幸福院", "village_point"),
    ("助餐点", "meal_point"),
    ("敬老餐厅", "meal_point"),
    ("街道综合养老服务中心", "township_centre"),
    ("day care station", "day_care_station"),
    ("Day-care station", "day_care_station"),
]


def test_classifier_on_the_shanghai_organisations():
    from layers.facilities import classify_kind

    frame = pd.read_csv(shared_path("shanghai_elderly_orgs", "shanghai_elderly_orgs.csv"))
    assert len(frame) == 72 and set(frame["name"]) == set(SHANGHAI_KINDS)
    got = {name: classify_kind(name) for name in frame["name"]}
    wrong = {n: (got[n], k) for n, k in SHANGHAI_KINDS.items() if got[n] != k}
    assert not wrong, f"(classified, expected): {wrong}"


@pytest.mark.parametrize(("name", "kind", "seed"), SEED_NAME_KINDS)
def test_classifier_on_names_from_the_seeds(name, kind, seed):
    from layers.facilities import classify_kind

    seeds = shared_path("..", "seeds")
    text = "".join(next(seeds.glob(f"{seed}_*.txt")).read_text(encoding="utf-8").split())
    assert name in text, f"'{name}' is not written in seed {seed}"
    assert classify_kind(name) == kind


@pytest.mark.parametrize(("name", "kind"), ISSUE_NAME_KINDS)
def test_classifier_on_the_issue_names(name, kind):
    from analysis.facility_kinds import CENTRE_KINDS, DAY_CARE_KINDS, STATION_KINDS
    from layers.facilities import classify_kind

    assert classify_kind(name) == kind
    assert classify_kind("社区日间照料服务站") in STATION_KINDS and classify_kind("社区日间照料服务站") in DAY_CARE_KINDS
    assert classify_kind("老年活动中心") not in CENTRE_KINDS and classify_kind("养老服务指导中心") not in CENTRE_KINDS


def test_shanghai_organisations_through_circles(nanjing, capsys, tmp_path):
    """The real names, in a facility CSV, get their kinds through the CLI; the 13 health facilities stay out of W1."""
    frame = pd.read_csv(shared_path("shanghai_elderly_orgs", "shanghai_elderly_orgs.csv"))
    edges = read_network(nanjing).edges
    x0, y0, x1, y1 = edges.total_bounds
    # the names on Nanjing street points (the coordinates are Shanghai's; the kinds are what is tested)
    n = len(frame)
    lon = x0 + (x1 - x0) * (0.1 + 0.8 * (pd.RangeIndex(n) % 9) / 8)
    lat = y0 + (y1 - y0) * (0.1 + 0.8 * (pd.RangeIndex(n) // 9) / 8)
    table = pd.DataFrame({"名称": frame["name"], "经度": lon, "纬度": lat})
    path = tmp_path / "shanghai_names.csv"
    table.to_csv(path, index=False)
    summary = _json(capsys, "circles", "--network", str(nanjing), "--facilities", str(path), "--out", str(tmp_path / "s.gpkg"))
    health = sum(k == "health_centre" for k in SHANGHAI_KINDS.values())
    assert health == 13
    assert summary["health_facilities"] == health and summary["facilities"] == 72 - health
    layer = gpd.read_file(tmp_path / "s.gpkg", layer="facilities")
    expected = {k: v for k, v in SHANGHAI_KINDS.items() if v != "health_centre"}
    assert dict(zip(layer["name"], layer["kind"], strict=True)) == expected
