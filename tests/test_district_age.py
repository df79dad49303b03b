"""New and old districts: Q4 over new districts only, O1 retrofit for old ones, the 2014-onward audit.

Real streets and buildings of Nanjing with hand-made districts, facilities and candidate sites placed
inside the extract.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from cli.main import main
from tests.cli_support import check_json as run_json
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def nanjing_districts(tmp_path_factory):
    """Two new districts (by year, by 新建), one old (2005) short of space, one completed in 2026."""
    pbf = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")
    folder = tmp_path_factory.mktemp("ages")
    districts = gpd.GeoDataFrame(
        {
            "name": ["新苑", "新村", "老街坊", "将来城"],
            "residents": [10_000, 2_620, 5_240, 2_620],
            "households": [3_000, 1_000, 2_000, 1_000],
            "status": [None, "新建", None, None],
            "竣工年份": [2016, None, 2005, 2026],
        },
        geometry=[
            shapely.box(118.760, 32.040, 118.766, 32.045),
            shapely.box(118.770, 32.040, 118.776, 32.045),
            shapely.box(118.780, 32.040, 118.786, 32.045),
            shapely.box(118.790, 32.050, 118.796, 32.055),
        ],
        crs=4326,
    )
    districts_path = folder / "districts.gpkg"
    districts.to_file(districts_path)
    facilities = pd.DataFrame(
        {
            "名称": ["新苑社区养老服务站", "老街坊社区养老服务站", "将来城社区养老服务站"],
            "类型": ["community_station", "community_station", "community_station"],
            "经度": [118.763, 118.783, 118.793],
            "纬度": [32.0425, 32.0425, 32.0525],
            "用地面积": [1_300, 200, 400],
            "建筑面积": [950, 150, 320],
            "投用年份": [2016, 2005, 2026],
        }
    )
    facilities_path = folder / "facilities.csv"
    facilities.to_csv(facilities_path, index=False)
    candidates = pd.DataFrame(
        {
            "id": ["小地块", "空地", "远地块"],
            "经度": [118.787, 118.788, 118.797],
            "纬度": [32.046, 32.047, 32.057],
            "用地面积": [200, 800, 5_000],
        }
    )
    candidates_path = folder / "candidates.csv"
    candidates.to_csv(candidates_path, index=False)
    common = ["--network", str(pbf), "--facilities", str(facilities_path), "--districts", str(districts_path),
              "--candidates", str(candidates_path)]
    return common, folder


def test_q4_counts_new_districts_and_old_ones_get_o1(nanjing_districts, capsys):
    common, folder = nanjing_districts
    out = folder / "y2025"
    summary = run_json(capsys, *common, "--year", "2025", "--out", str(out))
    rules = summary["rules"]
    # 2025: 新苑 (2016) passes Q1-Q3, 新村 (新建) has nothing; 老街坊 (2005) is old; 将来城 is not built yet
    findings = pd.read_csv(out / "findings.csv")
    q4 = findings.loc[findings["rule_id"] == "Q4"].iloc[0]
    assert q4["subject"] == "new districts" and q4["measured"] == pytest.approx(0.5) and q4["status"] == "fail"
    assert "1/2" in q4["message"]
    # Q2 is the new districts' quota: the old one is measured by O1 instead
    assert set(findings.loc[findings["rule_id"] == "Q2", "subject"]) == {"新苑", "新村"}
    assert rules["O1"] == {"assessed": 1, "passed": 0, "failed": 1, "not_assessable": 0}
    # 2 000 households × 20 m²/100 = 400 m², 150 m² there: 250 m² to retrofit (补建)
    o1 = pd.read_csv(out / "o1_retrofit.csv").set_index("district")
    assert o1.loc["老街坊", "o1_required_m2"] == pytest.approx(400)
    assert o1.loc["老街坊", "o1_shortfall_m2"] == pytest.approx(250)
    # sites that can host max(250 m², Q3 300 m²): the 200 m² parcel is left out; nearest first, walked
    sites = pd.read_csv(out / "o1_sites.csv")
    assert list(sites["candidate_id"]) == ["空地", "远地块"]
    # the near parcel is walked (~1 km); the far one is beyond the 2 km walking search (O1.search_m): straight line
    assert list(sites["distance_method"]) == ["walk", "straight line"]
    assert 500 < sites.loc[0, "distance_m"] < 2000
    assert "空地" in o1.loc["老街坊", "nearest_sites"] and "m walk" in o1.loc["老街坊", "nearest_sites"]
    # the 清查 audit: every new district since 2014, its verdict and shortfall
    audit = pd.read_csv(out / "audit_new_since_2014.csv")
    assert list(audit["district"]) == ["新苑", "新村"]
    assert list(audit["verdict"]) == ["pass", "fail"]
    assert audit.set_index("district").loc["新村", "q2_shortfall_m2"] == pytest.approx(300)
    table = pd.read_csv(out / "districts.csv").set_index("district")
    assert table.loc["新村", "age_class"] == "new" and table.loc["老街坊", "age_class"] == "old"
    assert "将来城" not in table.index
    assert table.loc["老街坊", "o1_status"] == "fail" and table.loc["老街坊", "o1_shortfall_m2"] == pytest.approx(250)
    assert pd.isna(table.loc["新苑", "o1_status"])
    # 新建 in the status field is a class, not a 四同步 stage
    assert not findings["message"].str.contains("unknown status '新建'").any()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "清查" in html and "O1 retrofit of old districts" in html and "New and old districts" in html
    assert {"o1_retrofit", "o1_sites", "audit_new_since_2014"} <= set(pd.ExcelFile(out / "checks.xlsx").sheet_names)


def test_q4_per_target_year_counts_districts_completed_by_then(nanjing_districts, capsys):
    common, folder = nanjing_districts
    out = folder / "y2027"
    run_json(capsys, *common, "--year", "2027", "--out", str(out))
    side = pd.read_csv(out / "target_years.csv").set_index("rule_id")
    # 2025: 1 of 2 new districts; 2027: 将来城 (2026, its 320 m² station opens 2026) passes too: 2 of 3
    assert side.loc["Q4", "2025"].startswith("50 %")
    assert side.loc["Q4", "2027"].startswith("66.7 %")
    audit = pd.read_csv(out / "audit_new_since_2014.csv")
    assert list(audit["district"]) == ["将来城", "新苑", "新村"]


def test_bad_completion_years_and_class_words(nanjing_districts, tmp_path, capsys):
    network_and_facilities = nanjing_districts[0][:4]
    bad = gpd.GeoDataFrame(
        {"name": ["甲"], "households": [100], "completion_year": ["long ago"]},
        geometry=[shapely.box(118.760, 32.040, 118.766, 32.045)], crs=4326,
    )
    path = tmp_path / "bad.gpkg"
    bad.to_file(path)
    assert main(["check", *network_and_facilities, "--districts", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "completion_year" in err and "bad.gpkg" in err and "calendar years" in err
    bad["completion_year"] = [2000]
    bad["age_class"] = ["半新"]
    bad.to_file(path)
    assert main(["check", *network_and_facilities, "--districts", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "age_class" in err and "新建" in err
    assert not (tmp_path / "o").exists()


def test_app_planning_call_shows_the_new_old_split_of_uploaded_districts(tmp_path):
    """The checks tab calls ui.planning.run_planning_checks: uploaded districts give the split and O1."""
    from analysis.rules import DEFAULT_RULE_SET
    from ui import planning
    from ui import state as ss
    from ui.uploads import save_upload

    districts = gpd.GeoDataFrame(
        {"name": ["new block", "old block"], "households": [400, 1_500], "completion_year": [2018, 1998]},
        geometry=[shapely.box(24.936, 60.166, 24.942, 60.169), shapely.box(24.944, 60.166, 24.950, 60.169)],
        crs=4326,
    )
    upload = save_upload("districts.geojson", districts.to_json().encode(), "districts", root=tmp_path)
    result = ss.build_analysis(ss.DataChoice(embedded="helsinki"), 15, "elderly").result  # the blocks lie in Helsinki
    run = planning.run_planning_checks(result, DEFAULT_RULE_SET, "elderly", districts=upload, year=2025)
    sections = dict(planning.year_sections(run))
    split = sections["新建/老旧小区 New and old districts"].set_index("age_class")
    assert split.loc["new", "districts"] == 1 and split.loc["old", "districts"] == 1
    o1 = sections["老旧小区补建 O1 retrofit of old districts"].set_index("district")
    assert o1.loc["old block", "o1_required_m2"] == pytest.approx(300)  # 1 500 households × 20 m²/100
    assert run.summary()["year"] == 2025 and "O1" in run.summary()["rules"]
