"""`check` with meal points (M1), villages (R1, T7 from the townships' county field) and life-circle
tiers (W3), on the real Nanjing streets and buildings with hand-made layers inside its extent.

Walking distances quoted below were measured on the Nanjing walk graph (largest piece, node to node):
from the meal point M to compound B's node 206 m, to D's 533 m, to C's 2 444 m; from the village
point V to village P2's node 805 m, to P3's 1 709 m.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from cli.main import main
from layers.facilities import classify_kind
from layers.network import read_network
from tests.cli_support import check_json
from tests.conftest import shared_path

STATUS_KEYS = {"assessed", "passed", "failed", "not_assessable"}
M = (118.78801, 32.03738)  # meal point
V = (118.77888, 32.04796)  # village point (养老大院)


def run_json(capsys, *args: str) -> dict:
    summary = check_json(capsys, *args)
    assert set(summary) >= {"rule_set", "rules"}
    for counts in summary["rules"].values():
        assert set(counts) == STATUS_KEYS
    return summary


def _box(x: float, y: float, half: float = 0.0003) -> shapely.Polygon:
    return shapely.box(x - half, y - half, x + half, y + half)


@pytest.fixture()
def nanjing_layers(tmp_path) -> dict[str, Path]:
    """Facilities, compounds, townships (with a county field) and villages inside the Nanjing extract."""
    facilities = pd.DataFrame(
        {
            "名称": ["玄武区老年食堂", "某村养老大院", "玄武区养老服务指导中心", "社区养老服务站", "梅园街道综合养老服务中心"],
            "类型": ["老年食堂", "养老大院", "guidance", "community_station", "township_centre"],
            "经度": [M[0], V[0], 118.7800, 118.7850, 118.7830],
            "纬度": [M[1], V[1], 32.0450, 32.0420, 32.0400],
        }
    )
    f_path = tmp_path / "facilities.csv"
    facilities.to_csv(f_path, index=False)
    compounds = gpd.GeoDataFrame(
        {"name": ["A 小区", "B 小区", "C 小区", "D 小区"], "residents": [1000, 800, 600, 900]},
        geometry=[_box(*M, 0.0005), _box(118.78596, 32.03800), _box(118.7719, 32.04866), _box(118.79246, 32.03842)],
        crs=4326,
    )
    d_path = tmp_path / "compounds.gpkg"
    compounds.to_file(d_path)
    townships = gpd.GeoDataFrame(
        {"name": ["西街道", "东街道"], "区县": ["玄武区", "玄武区"]},
        geometry=[shapely.box(118.760, 32.030, 118.780, 32.055), shapely.box(118.780, 32.030, 118.800, 32.055)],
        crs=4326,
    )
    t_path = tmp_path / "townships.gpkg"
    townships.to_file(t_path)
    villages = gpd.GeoDataFrame(
        {"村名": ["一村", "二村", "三村"]},
        geometry=[_box(*V, 0.0008), shapely.Point(118.77506, 32.04272), shapely.Point(118.79337, 32.04787)],
        crs=4326,
    )
    v_path = tmp_path / "villages.gpkg"
    villages.to_file(v_path)
    return {"facilities": f_path, "districts": d_path, "townships": t_path, "villages": v_path}


def test_classifier_names_meal_and_village_points():
    for name in ("老年食堂", "社区助餐点", "敬老餐厅", "XX社区老年助餐服务点"):
        assert classify_kind(name) == "meal_point", name
    for name in ("农村养老大院", "互助养老站点", "村互助站", "农村幸福院"):
        assert classify_kind(name) == "village_point", name


def test_meals_villages_tiers_and_county_on_nanjing(nanjing_layers, tmp_path, capsys):
    pbf = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")
    out = tmp_path / "report"
    summary = run_json(
        capsys,
        "--network", str(pbf),
        "--facilities", str(nanjing_layers["facilities"]),
        "--districts", str(nanjing_layers["districts"]),
        "--townships", str(nanjing_layers["townships"]),
        "--villages", str(nanjing_layers["villages"]),
        "--out", str(out),
    )
    rules = summary["rules"]
    # M1 per township: the east street holds A (meal point inside), B (206 m) and D (533 m < 720 m):
    # all reached; the west street holds only C (2.4 km): none reached
    assert rules["M1"] == {"assessed": 2, "passed": 1, "failed": 1, "not_assessable": 0}
    compounds = pd.read_csv(out / "meals.csv").set_index("compound")
    assert compounds.loc["A 小区", "meal_inside"]
    assert compounds.loc[["A 小区", "B 小区", "D 小区"], "meal_reached"].all()
    assert not compounds.loc["C 小区", "meal_reached"]
    assert 150 < compounds.loc["B 小区", "meal_walk_m"] < 400
    per_township = pd.read_csv(out / "meals_townships.csv").set_index("township")
    assert per_township.loc["东街道", "share_reached"] == pytest.approx(1.0)
    assert per_township.loc["东街道", "residents_reached"] == pytest.approx(2700)
    assert per_township.loc["西街道", "share_reached"] == pytest.approx(0.0)
    # R1 at the rural walk (20 min at 0.7 m/s = 840 m): 一村 holds V, 二村 is 805 m away, 三村 1.7 km
    assert rules["R1"] == {"assessed": 3, "passed": 2, "failed": 1, "not_assessable": 0}
    villages = pd.read_csv(out / "villages.csv").set_index("village")
    assert villages.loc["一村", "village_point_inside"]
    assert 720 < villages.loc["二村", "walk_m"] <= 840
    assert villages.loc["三村", "r1_status"] == "fail"
    # T7 per county (the townships' 区县 field): guidance centre yes, a regional centre in the east
    # street only, one village failing R1 -> 1 of 3 tiers
    assert rules["T7"] == {"assessed": 1, "passed": 0, "failed": 1, "not_assessable": 0}
    counties = pd.read_csv(out / "counties.csv")
    assert counties["county"].tolist() == ["玄武区"]
    assert bool(counties.loc[0, "county_tier"]) and not bool(counties.loc[0, "town_tier"])
    # W3: one tier per kind of the rule set (5, 10, 15 min); no day care here: not assessable
    assert rules["W3"]["assessed"] == 2 and rules["W3"]["not_assessable"] == 1
    tiers = pd.read_csv(out / "life_circle_tiers.csv").set_index("tier")
    assert tiers.loc["community_station", "minutes"] == 5 and tiers.loc["township_centre", "minutes"] == 15
    assert 0 < tiers.loc["community_station", "population_share"] < tiers.loc["township_centre", "population_share"] < 1
    # the report says which walk each rule used, and has the village, meal and county tables
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "20 min at 0.7 m/s" in html and "rural walk (R1)" in html and "meal walk (M1)" in html
    assert "农村养老大院实现全覆盖" in html
    for title in ("R1 村级养老设施 Villages", "M1 助餐：居住小区", "W3 生活圈层级", "C7 / C8 / T7"):
        assert title in html, title
    assert "二村" in html and "D 小区" in html  # the tables' rows, not only the findings
    sheets = set(pd.ExcelFile(out / "checks.xlsx").sheet_names)
    assert {"meals", "meals_townships", "villages", "counties", "life_circle_tiers"} <= sheets


def test_rural_walk_and_meal_walk_are_rule_set_parameters(nanjing_layers, tmp_path, capsys):
    """A rule set with a 10-minute rural walk fails 二村 (805 m > 420 m); a 10-minute meal walk at
    0.8 m/s (480 m) no longer reaches D (533 m)."""
    pbf = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")
    text = Path("data/rules/jilin-2023.toml").read_text(encoding="utf-8")
    text = text.replace("minutes = 20\nspeed = 0.7", "minutes = 10\nspeed = 0.7")
    text = text.replace("[rules.M1]\n", "[rules.M1]\nminutes = 10\n")  # independent of M1's citation text
    assert "minutes = 10\nspeed = 0.7" in text and "[rules.M1]\nminutes = 10\n" in text
    rules = tmp_path / "short.toml"
    rules.write_text(text, encoding="utf-8")
    out = tmp_path / "short"
    summary = run_json(
        capsys,
        "--rules", str(rules),
        "--network", str(pbf),
        "--facilities", str(nanjing_layers["facilities"]),
        "--districts", str(nanjing_layers["districts"]),
        "--villages", str(nanjing_layers["villages"]),
        "--out", str(out),
    )
    assert summary["rules"]["R1"]["passed"] == 1 and summary["rules"]["R1"]["failed"] == 2
    compounds = pd.read_csv(out / "meals.csv").set_index("compound")
    assert not compounds.loc["D 小区", "meal_reached"] and compounds.loc["B 小区", "meal_reached"]
    # no townships: one M1 finding for the whole area, 2 of 4 compounds reached
    assert summary["rules"]["M1"] == {"assessed": 1, "passed": 0, "failed": 1, "not_assessable": 0}
    findings = pd.read_csv(out / "findings.csv")
    r1 = findings.loc[findings["rule_id"] == "R1", "message"]
    assert r1.str.contains("10-minute walk at 0.7 m/s").all()


def test_meals_on_population_units_and_missing_inputs(tmp_path, capsys):
    """Without any district layer (the streets as a line layer: no OSM residential areas stand in)
    the population units are the compounds; without meal points M1 is not assessable; a village
    layer of lines stops with exit 2 naming the file."""
    pbf = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")
    streets = tmp_path / "streets.gpkg"
    read_network(pbf).edges[["geometry"]].to_file(streets)
    facilities = pd.DataFrame({"name": ["老年食堂", "社区养老服务站"], "lon": [M[0], 118.785], "lat": [M[1], 32.042]})
    f_path = tmp_path / "f.csv"
    facilities.to_csv(f_path, index=False)
    out = tmp_path / "units"
    summary = run_json(capsys, "--network", str(streets), "--population", str(pbf), "--facilities", str(f_path), "--out", str(out))
    units = pd.read_csv(out / "meals.csv")
    assert (units["basis"] == "population unit").all() and len(units) > 100
    reached = units["meal_reached"].to_numpy()
    assert 0 < reached.sum() < len(units)
    assert (units.loc[reached, "meal_walk_m"] <= 720 + 1e-6).all()
    assert summary["rules"]["M1"]["assessed"] >= 1

    no_meals = tmp_path / "no_meals.csv"
    facilities.iloc[[1]].to_csv(no_meals, index=False)
    summary = run_json(capsys, "--network", str(pbf), "--facilities", str(no_meals), "--out", str(tmp_path / "nm"))
    assert summary["rules"]["M1"]["assessed"] == 0 and summary["rules"]["M1"]["not_assessable"] >= 1

    lines = gpd.GeoDataFrame({"name": ["路"]}, geometry=[shapely.LineString([M, V])], crs=4326)
    bad = tmp_path / "lines.gpkg"
    lines.to_file(bad)
    code = main(["check", "--network", str(pbf), "--facilities", str(f_path), "--villages", str(bad), "--out", str(tmp_path / "bad")])
    err = capsys.readouterr().err
    assert code == 2 and "lines.gpkg" in err and "points or polygons" in err
    far = gpd.GeoDataFrame({"name": ["远村"]}, geometry=[shapely.Point(126.12, 43.06)], crs=4326)
    far_path = tmp_path / "far.gpkg"
    far.to_file(far_path)
    code = main(["check", "--network", str(pbf), "--facilities", str(f_path), "--villages", str(far_path), "--out", str(tmp_path / "far")])
    err = capsys.readouterr().err
    assert code == 2 and "far.gpkg" in err and "villages" in err and "extent" in err


def test_checks_tab_shows_meal_and_tier_tables_and_takes_villages(tmp_path):
    """The app's checks tab (AppTest on the embedded default) shows the M1 and W3 tables; an uploaded
    village layer reaches the checks (R1 rows, not assessable: the demo sites hold no village point)."""
    from streamlit.testing.v1 import AppTest

    from analysis.rules import DEFAULT_RULE_SET
    from tests.test_app import APP
    from ui import planning
    from ui import state as ss
    from ui.i18n import Translator
    from ui.uploads import save_upload

    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.button(key="run_checks").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    t = Translator("en")  # the page shows column names through the translator
    frames = [frame.value for frame in at.dataframe]
    meals = next(f for f in frames if t("m1_status") in f.columns)
    assert meals[t("m1_status")].tolist() and set(meals[t("m1_status")]) <= {"pass", "fail", "not assessable"}  # ids shown as words
    tiers = next(f for f in frames if t("w3_status") in f.columns)
    assert tiers["tier"].tolist() == ["community station", "day care", "township centre"]
    assert tiers["minutes"].tolist() == ["5.0", "10.0", "15.0"]  # minutes shown to one decimal
    assert any("Meal assistance (M1)" in m.value for m in at.markdown)

    villages = gpd.GeoDataFrame({"name": ["Kylä 1", "Kylä 2"]}, geometry=[shapely.Point(24.94, 60.17), shapely.Point(24.95, 60.165)], crs=4326)
    path = tmp_path / "villages.geojson"
    villages.to_file(path)
    saved = save_upload("villages.geojson", path.read_bytes(), "villages", root=tmp_path / "uploads")
    result = ss.build_analysis(ss.DataChoice(embedded="helsinki"), 15, "elderly").result  # the villages lie in Helsinki
    run = planning.run_planning_checks(result, DEFAULT_RULE_SET, "elderly", villages=saved)
    assert run.extra.villages is not None and list(run.extra.villages.table["village"]) == ["Kylä 1", "Kylä 2"]
    assert set(run.extra.villages.table["r1_status"]) == {"not_assessable"}
    assert run.summary()["rules"]["R1"]["not_assessable"] == 2
