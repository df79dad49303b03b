"""Residential district checks Q1-Q5 and W1 (analysis.districts), on hand-computed cases.

Layers are hand-made in metres (UTM 50N, tests.helpers) so every required, provided and shortfall
figure below is worked out by hand from the rule files; W1 runs the real engine on a hand-made grid.
"""

from __future__ import annotations

import re
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from analysis.districts import (
    DistrictCheck,
    check_districts,
    check_proposed_district,
    normalise_districts,
    read_districts,
)
from analysis.polygon_layers import overlapping_pairs
from analysis.rules import RULES_DIR, load_rule_set
from analysis.verdicts import FAIL, NOT_ASSESSABLE, PASS
from coverage.circles import compute_coverage
from layers.errors import EmptyLayerError, FieldError, GeometryError, InputError, MissingCRSError
from tests.helpers import METRIC_CRS, graph_of, grid_network, population

JILIN = load_rule_set("jilin-2023")
HEBEI = load_rule_set("hebei-2022")


def _districts(rows: list[dict], boxes: list[tuple[float, float, float, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=[shapely.box(*b) for b in boxes], crs=METRIC_CRS)


def _facilities(rows: list[dict], xy: list[tuple[float, float]]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows)
    for column in ("land_area_m2", "building_area_m2"):
        if column not in frame:
            frame[column] = np.nan
    return gpd.GeoDataFrame(frame, geometry=[shapely.Point(p) for p in xy], crs=METRIC_CRS)


def _finding(check: DistrictCheck, rule_id: str, subject: str):
    found = [f for f in check.findings if f.rule_id == rule_id and f.subject == subject]
    assert len(found) == 1, (rule_id, subject, found)
    return found[0]


# ----- Q1, Q2, Q3 by hand ---------------------------------------------------------------------


def test_q1_land_per_resident_jilin_and_hebei():
    """10 000 residents need 10 000 × 0.12 = 1 200 m² (Jilin) and 10 000 × 0.1 = 1 000 m² (Hebei)."""
    districts = _districts([{"name": "幸福小区", "residents": 10_000, "households": 3_000}], [(0, 0, 500, 500)])
    facilities = _facilities(
        [{"name": "幸福站", "kind": "community_station", "land_area_m2": 1_100, "building_area_m2": 900}], [(250, 250)]
    )
    jilin = check_districts(districts, facilities, JILIN)
    hebei = check_districts(districts, facilities, HEBEI)
    assert jilin.table.loc[0, "q1_required_m2"] == pytest.approx(1_200)
    assert hebei.table.loc[0, "q1_required_m2"] == pytest.approx(1_000)
    q1_jilin = _finding(jilin, "Q1", "幸福小区")
    assert q1_jilin.status == FAIL and q1_jilin.shortfall == pytest.approx(100)
    assert "short by 100 m²" in q1_jilin.message and "Q1" in q1_jilin.message
    assert "缺 100 m²" in q1_jilin.message_zh
    assert _finding(hebei, "Q1", "幸福小区").status == PASS
    assert hebei.table.loc[0, "q1_shortfall_m2"] == 0


def test_q2_building_area_per_100_households():
    """3 000 households need 3 000 / 100 × 30 = 900 m² of building area."""
    districts = _districts([{"name": "A", "residents": 9_000, "households": 3_000}], [(0, 0, 500, 500)])
    facilities = _facilities(
        [
            {"name": "站", "kind": "community_station", "land_area_m2": 800, "building_area_m2": 400},
            {"name": "日照", "kind": "day_care", "land_area_m2": 400, "building_area_m2": 350},
            {"name": "卫生站", "kind": "health_centre", "land_area_m2": 5_000, "building_area_m2": 5_000},
        ],
        [(100, 100), (300, 300), (400, 100)],
    )
    check = check_districts(districts, facilities, JILIN)
    row = check.table.iloc[0]
    assert row["q2_required_m2"] == pytest.approx(900)
    assert row["q2_provided_m2"] == pytest.approx(750)  # the health centre does not count
    assert row["q2_shortfall_m2"] == pytest.approx(150)
    assert row["facilities"] == 2 and row["health_centres"] == 1
    q2 = _finding(check, "Q2", "A")
    assert q2.status == FAIL and "short by 150 m²" in q2.message and "3,000 households" in q2.message
    assert row["q1_provided_m2"] == pytest.approx(1_200) and row["q1_status"] == PASS  # 9 000 × 0.12 = 1 080


def test_q3_a_280_m2_site_fails_by_20_m2():
    districts = _districts([{"name": "A", "residents": 1_000, "households": 300}], [(0, 0, 500, 500)])
    facilities = _facilities(
        [
            {"name": "小站", "kind": "community_station", "land_area_m2": 200, "building_area_m2": 280},
            {"name": "大站", "kind": "day_care", "land_area_m2": 200, "building_area_m2": 300},
        ],
        [(100, 100), (200, 200)],
    )
    check = check_districts(districts, facilities, JILIN)
    small = _finding(check, "Q3", "小站")
    assert small.subject_kind == "facility"
    assert small.status == FAIL and small.measured == 280 and small.required == 300 and small.shortfall == 20
    assert "short by 20 m²" in small.message and "缺 20 m²" in small.message_zh
    assert _finding(check, "Q3", "大站").status == PASS
    assert check.table.loc[0, "q3_below_minimum"] == 1 and check.table.loc[0, "q3_status"] == FAIL
    assert check.table.loc[0, "meets_q1_q3"] == FAIL


def test_missing_facility_areas_are_not_assessable_never_zero():
    districts = _districts([{"name": "A", "residents": 10_000, "households": 3_000}], [(0, 0, 500, 500)])
    facilities = _facilities([{"name": "无面积", "kind": "community_station"}], [(100, 100)])
    check = check_districts(districts, facilities, JILIN)
    row = check.table.iloc[0]
    assert row["q1_status"] == NOT_ASSESSABLE and np.isnan(row["q1_provided_m2"])
    assert row["q2_status"] == NOT_ASSESSABLE and np.isnan(row["q2_shortfall_m2"])
    assert _finding(check, "Q3", "无面积").status == NOT_ASSESSABLE
    assert "land_area_m2" in _finding(check, "Q1", "A").message
    # a district with no facility at all provides a real 0 m²: that fails
    empty = check_districts(districts, facilities.iloc[:0], JILIN)
    assert empty.table.loc[0, "q1_status"] == FAIL and empty.table.loc[0, "q1_shortfall_m2"] == pytest.approx(1_200)


# ----- residents and households: estimates and what cannot be assessed ---------------------------


def test_no_population_field_and_no_population_layer_is_not_assessable():
    districts = _districts([{"name": "无人口"}], [(0, 0, 500, 500)])
    facilities = _facilities(
        [{"name": "站", "kind": "community_station", "land_area_m2": 500, "building_area_m2": 400}], [(100, 100)]
    )
    check = check_districts(districts, facilities, JILIN)
    row = check.table.iloc[0]
    assert row["residents_source"] == "missing" and row["households_source"] == "missing"
    assert row["q1_status"] == NOT_ASSESSABLE and row["q2_status"] == NOT_ASSESSABLE
    q1 = _finding(check, "Q1", "无人口")
    assert q1.status == NOT_ASSESSABLE and "residents are unknown" in q1.message
    assert any("Q1 is not assessable" in note for note in check.notes)
    q4 = _finding(check, "Q4", "all districts")
    assert q4.status == NOT_ASSESSABLE  # the one district may or may not meet Q1-Q3


def test_residents_estimated_from_households_or_population_layer():
    districts = _districts(
        [{"name": "户数", "households": 1_000}, {"name": "图层", "households": np.nan}],
        [(0, 0, 500, 500), (500, 0, 1000, 500)],
    )
    facilities = _facilities([], [])
    by_households = check_districts(districts, facilities, JILIN, persons_per_household=2.5)
    assert by_households.table.loc[0, "residents"] == pytest.approx(2_500)
    assert "households × 2.5" in by_households.table.loc[0, "residents_source"]
    assert by_households.table.loc[0, "q1_required_m2"] == pytest.approx(300)  # 2 500 × 0.12
    assert by_households.table.loc[1, "q1_status"] == NOT_ASSESSABLE
    assert any("persons_per_household" in note for note in by_households.notes)

    people = population([(100, 100), (600, 100), (900, 400)], [400.0, 1_000.0, 500.0])
    by_layer = check_districts(districts, facilities, JILIN, population=people)
    assert by_layer.table.loc[0, "residents"] == pytest.approx(400)  # no persons_per_household: the layer
    assert by_layer.table.loc[1, "residents"] == pytest.approx(1_500)
    assert by_layer.table.loc[1, "residents_source"].startswith("population layer")
    assert by_layer.table.loc[1, "q2_status"] == NOT_ASSESSABLE  # no households, none derivable
    assert any("taken from the population layer" in note for note in by_layer.notes)

    both = check_districts(districts, facilities, JILIN, population=people, persons_per_household=2.5)
    assert both.table.loc[1, "households"] == pytest.approx(600)  # 1 500 ÷ 2.5
    assert both.table.loc[1, "q2_required_m2"] == pytest.approx(180)  # 600 / 100 × 30


def test_polygon_population_units_are_area_weighted():
    districts = _districts([{"name": "W"}, {"name": "E"}], [(0, 0, 500, 500), (500, 0, 1000, 500)])
    block = gpd.GeoDataFrame(
        {"population": [1_000.0], "elderly_population": [250.0]},
        geometry=[shapely.box(400, 0, 500 + 100, 500)],
        crs=METRIC_CRS,
    )  # half in each district
    check = check_districts(districts, _facilities([], []), JILIN, population=block)
    np.testing.assert_allclose(check.table["residents"], [500, 500])


def test_rule_file_missing_q1_value_is_a_clear_error(tmp_path):
    text = (RULES_DIR / "jilin-2023.toml").read_text(encoding="utf-8")
    broken = re.sub(r"(\[rules\.Q1\][^\[]*?)value = 0\.12\n", r"\1", text, count=1)
    assert broken != text
    path = tmp_path / "jilin-no-q1.toml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(FieldError, match=r"jilin-no-q1.toml.*rules.Q1.*field 'value'"):
        load_rule_set(path)


def test_rule_set_without_q2_names_the_rule(tmp_path):
    text = (RULES_DIR / "jilin-2023.toml").read_text(encoding="utf-8")
    without = re.sub(r"\[rules\.Q2\].*?(?=^\[rules\.)", "", text, count=1, flags=re.S | re.M)  # up to the next rule
    path = tmp_path / "no-q2.toml"
    path.write_text(without, encoding="utf-8")
    rules = load_rule_set(path)
    districts = _districts([{"name": "A", "residents": 100}], [(0, 0, 100, 100)])
    with pytest.raises(InputError, match=r"no-q2.toml.*rules.Q2.*no rule Q2"):
        check_districts(districts, _facilities([], []), rules)


# ----- Q4, Q5, facility membership, overlaps --------------------------------------------------------


def test_q4_share_of_districts_and_q5_status():
    districts = _districts(
        [
            {"name": "达标", "residents": 1_000, "households": 300, "四同步": "已交付"},
            {"name": "不达标", "residents": 1_000, "households": 300, "四同步": "建设"},
        ],
        [(0, 0, 500, 500), (500, 0, 1000, 500)],
    )
    facilities = _facilities(
        [
            {"name": "甲", "kind": "community_station", "land_area_m2": 120, "building_area_m2": 300},
            {"name": "乙", "kind": "community_station", "land_area_m2": 119, "building_area_m2": 300},
        ],
        [(100, 100), (600, 100)],
    )
    check = check_districts(districts, facilities, JILIN)
    assert list(check.table["meets_q1_q3"]) == [PASS, FAIL]  # 1 000 × 0.12 = 120 m²: 119 is 1 short
    q4 = _finding(check, "Q4", "all districts")
    assert q4.status == FAIL and q4.measured == pytest.approx(0.5) and q4.required == 1.0
    assert "1/2 = 50 % < 100 %" in q4.message
    assert _finding(check, "Q5", "达标").status == PASS
    q5 = _finding(check, "Q5", "不达标")
    assert q5.status == FAIL and q5.shortfall == 2 and "accepted, handed_over" in q5.message
    assert "同步交付" in q5.message_zh


def test_district_column_assigns_facilities_and_outsiders_are_noted():
    districts = _districts(
        [{"name": "A", "residents": 100}, {"name": "B", "residents": 100}], [(0, 0, 100, 100), (200, 0, 300, 100)]
    )
    facilities = _facilities(
        [
            {"name": "named", "kind": "day_care", "land_area_m2": 50, "district": "B"},  # lies in A, named B
            {"name": "outside", "kind": "day_care", "land_area_m2": 50},
            {"name": "ghost", "kind": "day_care", "land_area_m2": 50, "district": "Z"},
        ],
        [(50, 50), (1_000, 1_000), (50, 60)],
    )
    check = check_districts(districts, facilities, JILIN)
    assert list(check.table["facilities"]) == [0, 1]
    assert any("2 of 3 facilities lie in no district" in note for note in check.notes)
    assert any("match no district: Z" in note for note in check.notes)


def test_overlapping_districts_are_reported_not_fatal():
    districts = _districts(
        [{"name": "A", "residents": 100}, {"name": "B", "residents": 100}, {"name": "C", "residents": 100}],
        [(0, 0, 100, 100), (80, 0, 180, 100), (180.5, 0, 280, 100)],
    )  # A and B share 20 m × 100 m = 2 000 m² (20 % of either); C only touches nothing
    pairs = overlapping_pairs(districts.geometry.to_numpy(), districts["name"].tolist())
    assert len(pairs) == 1 and pairs.iloc[0]["overlap_m2"] == pytest.approx(2_000)
    assert pairs.iloc[0]["share_of_smaller"] == pytest.approx(0.2)
    facilities = _facilities([{"name": "shared", "kind": "day_care", "land_area_m2": 20}], [(90, 50)])
    check = check_districts(districts, facilities, JILIN)
    assert list(check.table["facilities"]) == [1, 1, 0]  # counted for both, as the note says
    assert any("'A' and 'B' overlap by 2,000 m² (20 %" in note for note in check.notes)


# ----- reading and validation ----------------------------------------------------------------------


def test_read_districts_detects_chinese_columns(tmp_path):
    frame = gpd.GeoDataFrame(
        {"小区名称": ["一区", "二区"], "常住人口": [1_200, None], "户数": ["400", "350"], "四同步": ["已验收", None]},
        geometry=[shapely.box(118.78, 32.04, 118.781, 32.041), shapely.box(118.782, 32.04, 118.783, 32.041)],
        crs="EPSG:4490",
    )
    path = tmp_path / "districts.gpkg"
    frame.to_file(path, layer="小区")
    districts = read_districts(path)
    assert districts.crs.to_epsg() == 4326
    assert list(districts.columns) == ["district", "residents", "households", "status", "geometry"]
    assert districts["residents"].tolist()[0] == 1_200 and np.isnan(districts["residents"].tolist()[1])
    assert districts["households"].tolist() == [400, 350]
    again = normalise_districts(districts)
    pd.testing.assert_frame_equal(
        pd.DataFrame(again.drop(columns="geometry")), pd.DataFrame(districts.drop(columns="geometry"))
    )


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
@pytest.mark.parametrize(
    ("frame", "error", "pattern"),
    [
        (gpd.GeoDataFrame({"name": []}, geometry=[], crs="EPSG:4326"), EmptyLayerError, "no features"),
        (
            gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.box(118, 32, 118.01, 32.01)]),
            MissingCRSError,
            "coordinate reference",
        ),
        (
            gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Point(118, 32)], crs="EPSG:4326"),
            GeometryError,
            "must be polygons",
        ),
        (
            gpd.GeoDataFrame(
                {"name": ["bow"]},
                geometry=[shapely.Polygon([(118, 32), (118.01, 32.01), (118.01, 32), (118, 32.01)])],
                crs="EPSG:4326",
            ),
            GeometryError,
            "invalid",
        ),
        (
            gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Polygon()], crs="EPSG:4326"),
            GeometryError,
            "no geometry",
        ),
        (
            gpd.GeoDataFrame(
                {"name": ["a"], "residents": [-5]}, geometry=[shapely.box(118, 32, 118.01, 32.01)], crs="EPSG:4326"
            ),
            FieldError,
            "negative residents",
        ),
        (
            gpd.GeoDataFrame(
                {"name": ["a"], "户数": ["many"]}, geometry=[shapely.box(118, 32, 118.01, 32.01)], crs="EPSG:4326"
            ),
            FieldError,
            r"field '户数'.*|non-numeric households",
        ),
    ],
)
def test_invalid_district_layers(tmp_path, frame, error, pattern):
    path = tmp_path / "bad.gpkg"
    if len(frame) == 0 or frame.geometry.iloc[0].is_empty:  # not writable as such: check the frame
        with pytest.raises(error, match=pattern):
            normalise_districts(frame, file=path, layer="districts")
        return
    frame.to_file(path, layer="districts")
    with pytest.raises(error, match=pattern) as raised:
        read_districts(path)
    assert str(path) in str(raised.value)


def test_missing_file_and_several_layers(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_districts(tmp_path / "none.gpkg")
    path = tmp_path / "two.gpkg"
    one = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.box(118, 32, 118.01, 32.01)], crs="EPSG:4326")
    one.to_file(path, layer="a")
    one.to_file(path, layer="b")
    with pytest.raises(InputError, match="several layers"):
        read_districts(path)
    assert read_districts(path, layer="b")["district"].tolist() == ["a"]


# ----- W1 on a hand-made grid, and a proposed district -------------------------------------------


@pytest.fixture(scope="module")
def grid_coverage():
    """A 1.5 km street grid (100 m blocks); one station at (0, 0) and a health centre at (1400, 0)."""
    graph = graph_of(grid_network(16))
    facilities = _facilities(
        [
            {"name": "站", "kind": "community_station", "land_area_m2": 400, "building_area_m2": 400},
            {"name": "卫生", "kind": "health_centre", "land_area_m2": 400, "building_area_m2": 400},
        ],
        [(0, 0), (1_400, 0)],
    )
    # 720 m at 0.8 m/s for 15 min: (300, 300) is 600 m away, (700, 100) 800 m, (1400, 100) 1 500 m
    people = population([(300, 300), (700, 100), (1_400, 100)], [600.0, 300.0, 100.0])
    return facilities, compute_coverage(graph, facilities, people)


def test_w1_share_of_residents_within_the_walk(grid_coverage):
    facilities, coverage = grid_coverage
    districts = _districts(
        [{"name": "near", "residents": 1_000}, {"name": "far", "residents": 2_000}],
        [(200, 0, 800, 500), (1_300, 0, 1_500, 200)],
    )
    check = check_districts(districts, facilities, JILIN, coverage=coverage)
    near, far = check.table.iloc[0], check.table.iloc[1]
    assert near["w1_share"] == pytest.approx(600 / 900) and near["w1_population"] == pytest.approx(900)
    assert near["w1_residents_beyond"] == pytest.approx(1_000 / 3)
    # the health centre at (1400, 0) is 100 m away, but it is not a community facility
    assert far["w1_share"] == 0 and far["w1_status"] == FAIL
    w1 = _finding(check, "W1", "near")
    assert w1.status == FAIL and "about 333 residents (33.3 %) beyond it" in w1.message
    assert "在范围外" in w1.message_zh


def test_proposed_district_gets_a_verdict_in_seconds(grid_coverage):
    facilities, coverage = grid_coverage
    start = time.perf_counter()
    polygon = gpd.GeoSeries([shapely.box(0, 300, 300, 600)], crs=METRIC_CRS).to_crs("EPSG:4326").iloc[0]
    planned = _facilities(
        [{"name": "新站", "kind": "community_station", "land_area_m2": 400, "building_area_m2": 1_000}], [(100, 400)]
    ).to_crs("EPSG:4326")
    check = check_proposed_district(
        polygon,
        households=3_000,
        residents=9_000,
        facilities=pd.concat([facilities.to_crs("EPSG:4326"), planned]),
        rules=JILIN,
        coverage=coverage,
        name="新城",
    )
    seconds = time.perf_counter() - start
    assert seconds < 5
    row = check.table.iloc[0]
    assert row["q1_required_m2"] == pytest.approx(1_080) and row["q1_status"] == FAIL  # 400 < 9 000 × 0.12
    assert row["q2_required_m2"] == pytest.approx(900) and row["q2_status"] == PASS
    assert row["w1_basis"] == "district centre point" and row["w1_status"] == PASS
    assert _finding(check, "Q5", "新城").status == NOT_ASSESSABLE
    assert any("centre point" in note for note in check.notes)
