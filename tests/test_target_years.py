"""`check --year`: facilities open by the year, that year's targets, every target year side by side, ageing.

Real streets and buildings of Nanjing (Xuanwu/Qinhuai extract) with hand-made townships (the
extract's quadrants) and three township centres, one of which opens in 2026.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from cli.main import main
from tests.cli_support import check_json as run_json
from tests.conftest import shared_path

BOUNDS = (118.756313, 32.0293594, 118.7996063, 32.0587686)  # the Nanjing extract's street extent


def run_error(capsys, *args: str) -> str:
    assert main(["check", *args]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture(scope="module")
def nanjing_case(tmp_path_factory):
    """Four townships (the extract's quadrants); centres in three: 2019, no year, "2026年" (text)."""
    pbf = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")
    folder = tmp_path_factory.mktemp("years")
    x0, y0, x1, y1 = BOUNDS
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    quads = [shapely.box(x0, ym, xm, y1), shapely.box(xm, ym, x1, y1), shapely.box(x0, y0, xm, ym), shapely.box(xm, y0, x1, ym)]
    townships = folder / "townships.gpkg"
    gpd.GeoDataFrame({"name": ["街道甲", "街道乙", "街道丙", "街道丁"]}, geometry=quads, crs=4326).to_file(townships)
    rows = []
    for name, quad, year in zip(["甲", "乙", "丙"], quads, [2019, None, "2026年"], strict=False):
        c = quad.centroid
        rows.append({"名称": f"{name}街道综合养老服务中心", "类型": "township_centre", "经度": c.x, "纬度": c.y, "床位": 100, "投用年份": year})
    facilities = folder / "facilities.csv"
    pd.DataFrame(rows).to_csv(facilities, index=False)
    return ["--network", str(pbf), "--facilities", str(facilities), "--townships", str(townships)], folder


def t1_area(out) -> pd.Series:
    findings = pd.read_csv(out / "findings.csv")
    rows = findings.loc[(findings["rule_id"] == "T1") & (findings["subject_kind"] == "area")]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_a_centre_opening_in_2026_changes_the_t1_verdict(nanjing_case, capsys):
    common, folder = nanjing_case
    by_year = {}
    for year in (2025, 2027):
        out = folder / f"as_of_{year}"
        summary = run_json(capsys, *common, "--year", str(year), "--out", str(out))
        assert summary["year"] == year and summary["rule_set"] == "jilin-2023"
        assert set(summary) == {"rule_set", "year", "rules"}
        by_year[year] = (summary, out)
    t1_2025, t1_2027 = t1_area(by_year[2025][1]), t1_area(by_year[2027][1])
    # 2025: centres in 2 of 4 townships = 50 % < 60 %; 2027: the 2026 centre makes 3 of 4 = 75 % ≥ 70 %
    assert t1_2025["status"] == "fail" and t1_2025["measured"] == pytest.approx(0.5) and t1_2025["required"] == pytest.approx(0.6)
    assert t1_2027["status"] == "pass" and t1_2027["measured"] == pytest.approx(0.75) and t1_2027["required"] == pytest.approx(0.7)
    assert by_year[2025][0]["rules"]["T1"]["passed"] == 2 and by_year[2027][0]["rules"]["T1"]["passed"] == 4
    # capacity as of the year: 200 beds open in 2025, 300 in 2027
    capacity = {y: pd.read_csv(out / "findings.csv").set_index("rule_id").loc["C1", "measured"] for y, (_, out) in by_year.items()}
    assert capacity == {2025: 200, 2027: 300}
    # the report shows every target year of the rule set side by side, whichever year was checked
    out = by_year[2025][1]
    side = pd.read_csv(out / "target_years.csv").set_index(["rule_id", "subject"])
    assert side.loc[("T1", "all townships"), "2025"] == "50 % (target 60 %) fail"
    assert side.loc[("T1", "all townships"), "2027"] == "75 % (target 70 %) pass"
    assert {"year_2025", "year_2027", "target_years"} <= set(pd.ExcelFile(out / "checks.xlsx").sheet_names)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Target years" in html and "as of 2027" in html and "75 % (target 70 %) pass" in html
    assert "1 facilities open after 2025" in html


def test_without_year_json_has_year_null_and_years_between_targets(nanjing_case, capsys):
    common, folder = nanjing_case
    summary = run_json(capsys, *common, "--out", str(folder / "now"))
    assert summary["year"] is None
    findings = pd.read_csv(folder / "now" / "findings.csv")
    area = findings.loc[(findings["rule_id"] == "T1") & (findings["subject_kind"] == "area")]
    assert len(area) == 2  # "now": one T1 finding per target year, as before
    # 2026 has no target of its own: the 2025 target is in force
    run_json(capsys, *common, "--year", "2026", "--out", str(folder / "y2026"))
    row = t1_area(folder / "y2026")
    assert row["required"] == pytest.approx(0.6) and row["status"] == "pass" and "in force in 2026" in row["message"]
    side = pd.read_csv(folder / "y2026" / "target_years.csv")
    assert {"2025", "2026", "2027"} <= set(side.columns)


def test_ageing_to_the_target_year(nanjing_case, capsys):
    common, folder = nanjing_case
    out = folder / "aged"
    run_json(capsys, *common, "--year", "2027", "--elderly-share-by-year", "2025=0.26,2027=0.30", "--out", str(out))
    c5 = {y: pd.read_csv(out / f"year_{y}.csv").set_index("rule_id").loc["C5", "measured"] for y in (2025, 2027)}
    # C5 = beds × 1000 / (residents × share): 200 beds at 26 % and 300 beds at 30 % of the same residents
    assert c5[2027] / c5[2025] == pytest.approx((300 / 0.30) / (200 / 0.26), rel=1e-6)
    main_c5 = pd.read_csv(out / "findings.csv").set_index("rule_id").loc["C5", "measured"]
    assert main_c5 == pytest.approx(c5[2027], rel=1e-6)  # the year checked uses its own share
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "--elderly-share-by-year" in html and "30.00%" in html
    grown = folder / "grown"
    run_json(capsys, *common, "--elderly-share-growth", "0.01", "--base-year", "2020", "--out", str(grown))
    c5g = {y: pd.read_csv(grown / f"year_{y}.csv").set_index("rule_id").loc["C5", "measured"] for y in (2025, 2027)}
    base = 0.2522  # the population layer's share (default, seed 000)
    assert c5g[2027] / c5g[2025] == pytest.approx((300 / (base + 0.07)) / (200 / (base + 0.05)), rel=1e-3)
    assert "--elderly-share-growth" in (grown / "report.html").read_text(encoding="utf-8")


def test_year_and_ageing_errors(nanjing_case, capsys, tmp_path):
    common, folder = nanjing_case
    err = run_error(capsys, *common, "--elderly-share-by-year", "2025=0.26", "--elderly-share-growth", "0.01", "--out", str(tmp_path / "a"))
    assert "not both" in err
    err = run_error(capsys, *common, "--year", "2027", "--elderly-share-by-year", "2025=0.26", "--out", str(tmp_path / "b"))
    assert "--elderly-share-by-year" in err and "2027" in err
    err = run_error(capsys, *common, "--elderly-share-by-year", "2025=26", "--out", str(tmp_path / "c"))
    assert "between 0 and 1" in err
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"名称": ["某中心"], "经度": [118.77], "纬度": [32.04], "投用年份": ["soon"]}).to_csv(bad, index=False)
    err = run_error(capsys, "--network", common[1], "--facilities", str(bad), "--out", str(tmp_path / "d"))
    assert "投用年份" in err and "bad.csv" in err and "calendar years" in err
    assert not (tmp_path / "a").exists() and not (tmp_path / "d").exists()


def test_app_checks_tab_exposes_the_year_and_the_new_old_split():
    """The checks tab: a year select box (the rule set's target years + now) and the year tables."""
    from streamlit.testing.v1 import AppTest

    from tests.conftest import PROJECT_ROOT
    from ui import planning

    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    box = at.selectbox(key="check_year__en")
    assert list(box.options) == ["now", "2025", "2027"]
    box.set_value(2025).run()
    at.button(key="run_checks").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    _, run, problem = at.session_state["checks_run"]
    assert problem is None and run.year == 2025
    titles = [m.value for m in at.markdown]
    assert any("Target years" in t for t in titles) and any("New and old districts" in t for t in titles)
    side = next(frame.value for frame in at.dataframe if {"2025", "2027"} <= set(frame.value.columns))
    t1 = side.set_index("rule id").loc["T1"]  # column ids are shown with spaces in English
    # the page shows what the CLI computes: the same function, the same verdicts
    expected = planning.year_sections(run)[0][1].set_index("rule_id").loc["T1"]
    assert t1["2025"] == expected["2025"] and t1["2027"] == expected["2027"]
    split = next(frame.value for frame in at.dataframe if "age class" in frame.value.columns)
    assert split["districts"].sum() == len(run.districts.table)


def test_text_output_shows_every_target_year(nanjing_case, capsys, monkeypatch):
    import analysis.planning_years

    monkeypatch.setattr(analysis.planning_years, "current_year", lambda: 2024)  # "now" is 2024: 2026 is a plan
    common, folder = nanjing_case
    assert main(["check", *common, "--year", "2025", "--no-pdf", "--out", str(folder / "text")]) == 0
    out = capsys.readouterr().out
    assert "as of 2025" in out
    t1 = {year: next(line for line in out.splitlines() if f"T1 {year}" in line) for year in (2025, 2027)}
    assert t1[2025].strip() == "T1 2025  50% (target 60%) fail"
    assert t1[2027].strip() == "T1 2027  75% (target 70%) pass, with 1 planned facilities"
