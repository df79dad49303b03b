"""The report a planner files (issue 13): first page, Chinese verdicts, maps, PDF, workbook, citations.

Everything runs through ``python -m coverage check`` (in-process) on the real Nanjing extract with
small hand-made layers: townships cut from the extract's extent, facilities placed on its streets,
and the proposed sites of ``python -m coverage sites`` on the same data.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from cli.main import main
from layers.network import read_network
from tests.conftest import shared_path

CHROMIUM = Path("/usr/bin/chromium")
CODE_WORDS = re.compile(r"\b(True|False|fail|fails|failed|inf|nan|None|not_assessable)\b|\{'|\{\"")
A4_PT = (595.28, 841.89)


def _visible_text(html: str) -> str:
    """The report's visible text: no style sheet, no embedded images, no tags."""
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html)
    text = re.sub(r"<style>.*?</style>", "", text, flags=re.DOTALL)
    return re.sub(r"<[^>]+>", " ", text)


def _run(*args: str) -> dict:
    """``check ... --json`` in-process; the JSON summary (the report's own stdout is captured by pytest)."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["check", *args, "--json"])
    assert code == 0
    return json.loads(out.getvalue().strip().splitlines()[-1])


@pytest.fixture(scope="module")
def nanjing(tmp_path_factory):
    """Nanjing layers, the proposed sites of ``sites``, and two reports: with sites and PDF, without either."""
    pbf = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")
    root = tmp_path_factory.mktemp("filing")
    edges = read_network(pbf).edges
    x0, y0, x1, y1 = edges.total_bounds
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    quads = [shapely.box(x0, ym, xm, y1), shapely.box(xm, ym, x1, y1), shapely.box(x0, y0, xm, ym), shapely.box(xm, y0, x1, ym)]
    townships = root / "townships.gpkg"
    gpd.GeoDataFrame({"name": ["街道甲", "街道乙", "街道丙", "街道丁"]}, geometry=quads, crs=4326).to_file(townships)
    sites = shapely.line_interpolate_point(edges.to_crs(32650).geometry.to_numpy()[::400], 0.5, normalized=True)
    lonlat = gpd.GeoSeries(sites, crs=32650).to_crs(4326)
    kinds = ["township_centre", "community_station", "day_care", "nursing_home"] * 5
    facilities = root / "facilities.csv"
    pd.DataFrame(
        {"名称": [f"设施{i}" for i in range(len(lonlat))], "类型": kinds[: len(lonlat)], "经度": lonlat.x, "纬度": lonlat.y, "床位": 40}
    ).to_csv(facilities, index=False)
    common = ["--network", str(pbf), "--facilities", str(facilities), "--townships", str(townships)]
    proposed = root / "proposed.gpkg"
    assert main(["sites", *common, "--p", "3", "--method", "greedy", "--out", str(proposed), "--json"]) == 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with_sites = _run(*common, "--proposed-sites", str(proposed), "--out", str(root / "with_sites"))
    without = _run(*common, "--no-pdf", "--out", str(root / "plain"))
    return {
        "root": root, "with": root / "with_sites", "plain": root / "plain", "summary": with_sites,
        "summary_plain": without, "proposed": gpd.read_file(proposed, layer="proposed_sites"),
        "warnings": [str(w.message) for w in caught], "common": common,
    }


def _first_page(folder: Path) -> str:
    html = (folder / "report.html").read_text(encoding="utf-8")
    first = re.search(r"<section class=\"first\">(.*?)</section>", html, flags=re.DOTALL)
    assert first, "the report opens with its first-page section"
    return first.group(1)


def test_first_page_answers_the_question(nanjing):
    page = _first_page(nanjing["with"])
    text = _visible_text(page)
    # which rules pass and fail: every rule of the run, with its Chinese verdict and name
    rows = dict(re.findall(r"<tr><td><b>(\w+)</b></td><td[^>]*>[^<]+</td><td class='(\w+)'>", page))
    assert set(rows) == set(nanjing["summary"]["rules"])
    for rule_id, counts in nanjing["summary"]["rules"].items():
        expected = "fail" if counts["failed"] else ("pass" if counts["passed"] else "not_assessable")
        assert rows[rule_id] == expected, rule_id
    assert "未通过" in text and "通过" in text and "一刻钟步行养老服务圈" in text and "人均养老服务用地" in text
    # how many elderly are uncovered: the population layer of the same report
    population = gpd.read_file(nanjing["with"] / "checks.gpkg", layer="population")
    uncovered = population.loc[~population["covered"].astype(bool), "elderly_population"].sum()
    assert f"{uncovered:,.0f} 名老年人" in text
    # and where: the township with most uncovered elderly is named, with its number
    townships = pd.read_csv(nanjing["with"] / "townships.csv")
    gap = townships["elderly_population"] - townships["elderly_covered"]
    worst = townships.loc[gap.idxmax(), "township"]
    assert worst in text and f"{gap.max():,.0f}" in text
    # what to build: the proposed sites of the sites command, ranked
    assert "建议新建 3 处" in text and "proposed.gpkg" in text
    for name in nanjing["proposed"]["name"]:
        assert str(name) in text


def test_without_site_selection_the_first_page_says_so_and_no_pdf(nanjing):
    text = _visible_text(_first_page(nanjing["plain"]))
    assert "未运行选址" in text and "Site selection was not run" in text
    assert not (nanjing["plain"] / "report.pdf").exists()  # --no-pdf


def test_no_code_words_in_html_or_workbook(nanjing):
    for folder in (nanjing["with"], nanjing["plain"]):
        text = _visible_text((folder / "report.html").read_text(encoding="utf-8"))
        found = [text[max(0, m.start() - 40): m.end() + 20] for m in CODE_WORDS.finditer(text)]
        assert not found, found[:5]
        from openpyxl import load_workbook

        book = load_workbook(folder / "checks.xlsx")
        for sheet in book.worksheets:
            for row in sheet.iter_rows(values_only=True):
                for value in row:
                    if isinstance(value, str):
                        assert not CODE_WORDS.search(value), (sheet.title, value)
                    if isinstance(value, float):
                        assert np.isfinite(value), sheet.title


def test_parameters_and_presets_print_as_rows(nanjing):
    html = (nanjing["with"] / "report.html").read_text(encoding="utf-8")
    section = html[html.index("参数 Parameters"):]
    section = section[: section.index("</section>")]
    text = _visible_text(section)
    assert "sources · network" in text and "nanjing_xuanwu.osm.pbf" in text
    assert "{" not in text and "}" not in text
    # the W2 presets, one row each, with the distance walked in the W1 minutes
    for preset, speed in (("elderly", 0.8), ("general", 1), ("frail", 0.67)):
        assert re.search(rf"<td>{preset}</td><td>{speed:g} m/s · [\d,]+ m / 15 分钟", section), preset
    assert "/work/" not in text and str(nanjing["root"]) not in text  # file names only, no server paths


def test_rules_cite_documents_by_title_and_number(nanjing):
    html = (nanjing["with"] / "report.html").read_text(encoding="utf-8")
    rules = _visible_text(html[html.index("规则依据"):])
    assert "《磐石市老龄事业发展和养老服务体系“十四五”规划》（磐政办发〔2023〕4号）" in rules
    assert "《对省政协十三届一次会议第W145号委员提案的答复》（吉民议字〔2023〕20号）" in rules
    workbook = pd.read_excel(nanjing["with"] / "checks.xlsx", sheet_name="rules", header=[0, 1])
    documents = workbook[("依据文件", "documents")]
    q1 = documents[workbook[("规则", "rule")] == "Q1"].iloc[0]
    assert "磐政办发〔2023〕4号" in q1 and "吉民议字〔2023〕20号" in q1


def test_workbook_headers_units_rounding_frozen_widths(nanjing):
    from openpyxl import load_workbook

    book = load_workbook(nanjing["with"] / "checks.xlsx")
    assert {"findings", "townships", "districts", "parameters", "rules", "proposed_sites"} <= set(book.sheetnames)
    cjk = re.compile(r"[\u4e00-\u9fff]")
    for sheet in book.worksheets:
        zh = [c.value for c in sheet[1]]
        en = [c.value for c in sheet[2]]
        assert sheet.freeze_panes == "A3", sheet.title  # both header rows stay in view
        assert zh[-1] == "数据来源" and en[-1] == "data sources"
        assert sum(bool(cjk.search(str(v))) for v in zh) >= 0.6 * len(zh), (sheet.title, zh)
        assert not any(cjk.search(str(v)) for v in en), (sheet.title, en)  # English (units such as m² allowed)
        widths = [sheet.column_dimensions[c.column_letter].width for c in sheet[1]]
        assert all(8 <= w <= 60 for w in widths), (sheet.title, widths)
        assert sheet.cell(row=3, column=len(zh)).value.startswith("路网 streets: nanjing_xuanwu.osm.pbf")
    townships = book["townships"]
    header = [c.value for c in townships[1]]
    assert "老年人口（人）" in header and "W1 老年人比例（%）" in header
    share = townships.cell(row=3, column=header.index("W1 老年人比例（%）") + 1)
    assert share.number_format == "0.0%" and 0 <= share.value <= 1
    people = townships.cell(row=3, column=header.index("老年人口（人）") + 1).value
    assert isinstance(people, int)  # persons are whole
    districts = book["districts"]
    header = [c.value for c in districts[1]]
    area = header.index("Q1 要求（m²）") + 1
    values = [districts.cell(row=r, column=area).value for r in range(3, districts.max_row + 1)]
    assert all(v is None or isinstance(v, int) for v in values)  # areas in whole m²
    verdicts = {districts.cell(row=r, column=header.index("Q1 结论") + 1).value for r in range(3, districts.max_row + 1)}
    assert verdicts <= {"通过", "未通过", "无法评估"}


def test_maps_have_chinese_titles_and_render_every_glyph(nanjing):
    from analysis.report_maps import cjk_font

    html = (nanjing["with"] / "report.html").read_text(encoding="utf-8")
    captions = re.findall(r"<figcaption>([^<]+)</figcaption>", html)
    assert any("一刻钟步行养老服务圈" in c for c in captions)
    assert any("建议新建养老服务设施" in c for c in captions)  # the proposed sites get a map
    assert len(captions) >= 4
    missing = [w for w in nanjing["warnings"] if "missing from font" in w or "Glyph" in w]
    assert not missing, missing[:3]
    if Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc").exists():
        assert cjk_font() is not None, "fonts-noto-cjk is installed: the maps must use it"


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent: no PDF to check")
def test_pdf_pages_are_a4_and_not_blank(nanjing, tmp_path):
    import pypdfium2 as pdfium

    pdf_path = nanjing["with"] / "report.pdf"
    assert pdf_path.exists()
    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        pages = len(pdf)
        assert pages >= 5  # first page, headline, maps, rules, tables ...
        for index in range(pages):
            width, height = pdf[index].get_size()
            assert abs(width - A4_PT[0]) < 2 and abs(height - A4_PT[1]) < 2, (index, width, height)
        first_text = pdf[0].get_textpage().get_text_range()
        assert "养老服务设施规划核查报告" in first_text and "未通过" in first_text and "建议新建" in first_text
        for index in range(pages):
            image = np.asarray(pdf[index].render(scale=0.5).to_pil().convert("L"), dtype=float)
            assert image.std() > 3, f"page {index + 1} is blank"
        first = pdf[0].render(scale=1).to_pil()
        first.save(tmp_path / "page1.png")
        ink = np.asarray(first.convert("L")) < 128
        assert 0.005 < ink.mean() < 0.5  # text on the page, not a black or empty page
        maps = [i for i in range(pages) if "地图 Maps" in pdf[i].get_textpage().get_text_range()]
        assert maps, "the maps section starts a page"
        picture = np.asarray(pdf[maps[0]].render(scale=0.5).to_pil().convert("RGB"), dtype=int)
        red = (picture[..., 0] > 150) & (picture[..., 1] < 90) & (picture[..., 2] < 90)
        assert red.mean() > 0.002  # the map image is printed (未通过 buildings in red)
    finally:
        pdf.close()


def test_no_chromium_writes_the_report_and_says_why(nanjing, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("COVERAGE_CHROMIUM", str(tmp_path / "no-such-browser"))
    out = tmp_path / "report"
    assert main(["check", *nanjing["common"], "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "note  no PDF: no Chromium found" in printed
    assert (out / "report.html").exists() and not (out / "report.pdf").exists()


def test_bad_proposed_sites_is_one_line_error(nanjing, capsys, tmp_path):
    not_sites = tmp_path / "other.gpkg"
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[shapely.Point(118.78, 32.04)], crs=4326).to_file(not_sites, layer="points")
    for path, words in ((not_sites, "no layer 'proposed_sites'"), (tmp_path / "missing.gpkg", "does not exist")):
        code = main(["check", *nanjing["common"], "--proposed-sites", str(path), "--no-pdf", "--out", str(tmp_path / "r")])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and err[0].startswith("error:") and words in err[0], err
        assert not (tmp_path / "r").exists()


def test_maps_fall_back_to_english_words_without_a_cjk_font(monkeypatch):
    """Without a CJK font no glyph is drawn as a box: the map uses its English title and legend words."""
    import io

    from PIL import Image

    from analysis import report_maps

    monkeypatch.setattr(report_maps, "cjk_font", lambda: None)
    streets = gpd.GeoDataFrame(geometry=[shapely.LineString([(118.77, 32.04), (118.79, 32.05)])], crs=4326)
    verdicts = gpd.GeoDataFrame(
        {"t1_status": ["pass", "fail"]},
        geometry=[shapely.box(118.77, 32.04, 118.78, 32.05), shapely.box(118.78, 32.04, 118.79, 32.05)], crs=4326,
    )
    spec = report_maps.MapSpec("T1 街道综合养老服务中心", "T1 townships with a centre", [
        (verdicts, {"column": "t1_status", "label": "街道 townships"}), (streets, {"color": "grey", "label": "街道 streets"}),
    ])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = report_maps.map_png(spec, ["路网 streets: a.osm.pbf"])
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert Image.open(io.BytesIO(png)).size[0] > 500
