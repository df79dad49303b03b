"""The HTML of the filed report: a first page that answers the question, then the tables, printable on A4.

The first page holds the verdict of every rule (通过/未通过/无法评估), the elderly outside the walk
and where most of them live, and what to build. Every later section starts on a new printed page
(``@page { size: A4 }``); tables print their headers in Chinese over English, with units, and
their numbers rounded (:mod:`analysis.report_format`).
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pandas as pd

from analysis.report_format import (
    STATUS_EN,
    STATUS_ZH,
    column_label,
    display_frame,
    file_names_only,
    format_number,
    format_value,
    parameter_rows,
    plain_text,
    preset_rows,
    rule_set_documents,
    sources_lines,
)
from analysis.report_maps import MapSpec, map_png
from analysis.report_summary import rule_verdicts, sites_rows, uncovered_elderly
from coverage import __version__

if TYPE_CHECKING:
    from analysis.report import ReportContent

#: Rows of one table printed in the HTML; the workbook and the CSV files hold all of them.
HTML_TABLE_ROWS: int = 200
#: Tables with more columns than this print in small type.
WIDE_TABLE_COLUMNS: int = 8

#: Columns of the main tables printed in the report (every column is in checks.xlsx and the CSV files).
PRINT_COLUMNS: dict[str, list[str]] = {
    "townships": ["township", "centres", "stations", "t1_status", "t2_status", "t3_status", "elderly_population",
                  "elderly_covered", "w1_elderly_share", "w1_status"],
    "districts": ["district", "residents", "households", "q1_required_m2", "q1_provided_m2", "q1_shortfall_m2", "q1_status",
                  "q2_required_m2", "q2_provided_m2", "q2_status", "q3_status", "w1_share", "w1_status", "q5_status"],
}

#: Chinese names of the run's parameters (printed before the parameter's own name).
PARAMETER_ZH: dict[str, str] = {
    "rule_set": "规则集", "rule_file": "规则文件", "minutes (W1)": "步行时间（分钟）", "speed_mps (W2)": "步行速度（米/秒）",
    "max_snap_m (W4)": "离路网距离上限（米）", "persons_per_household": "户均人口（人/户）", "facilities_crs": "设施坐标系",
    "population_crs": "人口坐标系", "population_elderly": "人口图层为60岁以上人口", "nodata_as_zero": "人口栅格无数据像元按0人计", "2sfca_decay": "两步移动搜索法距离衰减",
    "sources": "数据来源", "meal walk (M1)": "助餐步行范围", "life-circle tiers (W3)": "生活圈分级",
}


def _parameter_name(name: str) -> str:
    """``sources · network`` → ``数据来源 sources · network`` (names already in Chinese stay as they are)."""
    head = name.split(" · ")[0]
    zh = PARAMETER_ZH.get(head)
    return f"{zh} {name}" if zh and not re.search(r"[\u4e00-\u9fff]", name) else name


SUBJECT_ZH = {"district": "居住区", "township": "街道（乡镇）", "facility": "设施", "community": "社区", "area": "全域",
              "county": "县（市、区）", "village": "村", "tier": "生活圈层级", "compound": "居住小区"}

CSS = """
body { font-family: "Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif;
       margin: 2em; max-width: 1100px; font-size: 11pt; color: #222; }
h1 { font-size: 18pt; margin: 0 0 .3em; } h2 { font-size: 14pt; border-bottom: 2px solid #444; padding-bottom: 2px; }
h3 { font-size: 12pt; }
table { border-collapse: collapse; margin: .6em 0; }
td, th { border: 1px solid #bbb; padding: 3px 6px; vertical-align: top; text-align: left; }
th { background: #f0f0f0; } th small { font-weight: normal; color: #555; }
td.num { text-align: right; white-space: nowrap; }
table.compact td, table.compact th { font-size: 9pt; padding: 1px 5px; }
table.rules { table-layout: fixed; width: 100%; } table.rules td { font-size: 8.5pt; overflow-wrap: anywhere; }
table.wide td, table.wide th { font-size: 7.5pt; padding: 2px 3px; overflow-wrap: anywhere; }
.pass { color: #2e7d32; font-weight: bold; } .fail { color: #c62828; font-weight: bold; } .not_assessable { color: #757575; }
td.pass, td.fail, td.not_assessable { white-space: nowrap; }
.answer { font-size: 12pt; background: #f7f7f7; border-left: 4px solid #c62828; padding: .4em .8em; margin: .6em 0; }
.meta, .small { font-size: 9pt; color: #555; }
figure { margin: .8em 0; break-inside: avoid; page-break-inside: avoid; } figcaption { font-size: 9pt; color: #444; }
img { max-width: 100%; height: auto; }
@page { size: A4; margin: 12mm 11mm 12mm 11mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 9.5pt; }
  h1 { font-size: 15pt; } h2 { font-size: 11.5pt; margin: .5em 0 .25em; } .answer { font-size: 10pt; margin: .25em 0; padding: .25em .6em; }
  p { margin: .3em 0; } table { margin: .3em 0; }
  table.compact td, table.compact th { font-size: 8pt; }
  section.page { break-before: page; page-break-before: always; }
  tr, figure { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  table { width: 100%; }
  img { max-width: 100%; }
}
"""


def _e(value: object) -> str:
    return html.escape(str(value))


def _header_cell(column: str) -> str:
    zh, en = column_label(column)
    return f"<th>{_e(zh)}<br><small>{_e(en)}</small></th>"


def _status_cell(status: str) -> str:
    return f"<td class='{_e(status)}'>{STATUS_ZH.get(status, _e(status))}<br><small>{STATUS_EN.get(status, '')}</small></td>"


def table_html(table: pd.DataFrame) -> str:
    """A table with Chinese/English headers and report-formatted cells (at most :data:`HTML_TABLE_ROWS` rows)."""
    shown = display_frame(table.head(HTML_TABLE_ROWS))
    raw = pd.DataFrame(table.drop(columns="geometry", errors="ignore")).head(HTML_TABLE_ROWS)
    head = "".join(_header_cell(str(c)) for c in shown.columns)
    body = []
    for (_, row), (_, values) in zip(shown.iterrows(), raw.iterrows(), strict=True):
        cells = []
        for column, text in row.items():
            value = values[column]
            css = " class='num'" if isinstance(value, int | float) and not isinstance(value, bool) else ""
            if isinstance(value, str) and value in STATUS_ZH:
                css = f" class='{value}'"
            cells.append(f"<td{css}>{_e(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    wide = " class='wide'" if len(shown.columns) > WIDE_TABLE_COLUMNS else ""
    more = (
        f"<p class='small'>前 {HTML_TABLE_ROWS} 行，共 {len(table)} 行，全部见 checks.xlsx · "
        f"first {HTML_TABLE_ROWS} of {len(table)} rows; all in checks.xlsx</p>"
        if len(table) > HTML_TABLE_ROWS else ""
    )
    return f"<table{wide}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def _rows_table(rows: Iterable[tuple[str, ...]], header: tuple[str, ...], css: str = "") -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table{f' class={css!r}' if css else ''}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def first_page(content: ReportContent) -> str:
    """The first page: verdicts of every rule, the uncovered elderly and where, what to build."""
    documents = rule_set_documents(content.rules)
    verdicts = rule_verdicts(content.findings, content.rules, documents)
    failed = verdicts.loc[verdicts["status"] == "fail", "rule"].tolist()
    passed = verdicts.loc[verdicts["status"] == "pass", "rule"].tolist()
    answer = [
        f"<div class='answer'>{len(passed)} 项规则通过，{len(failed)} 项未通过"
        + (f"（{'、'.join(map(_e, failed))}）" if failed else "")
        + f"，{int((verdicts['status'] == 'not_assessable').sum())} 项无法评估。<br><small>{len(passed)} rules pass, "
        f"{len(failed)} do not pass{(' (' + ', '.join(map(_e, failed)) + ')') if failed else ''}.</small></div>"
    ]
    rows = "".join(
        f"<tr><td><b>{_e(r.rule)}</b></td><td title='{_e(r.gloss)}'>{_e(r.name_zh)}</td>"
        f"<td class='{r.status}'>{STATUS_ZH[r.status]} <small>{STATUS_EN[r.status]}</small></td>"
        f"<td class='num'>{r.passed}</td><td class='num'>{r.failed}</td><td class='num'>{r.not_assessable}</td></tr>"
        for r in verdicts.itertuples(index=False)
    )
    table = (
        "<table class='compact'><thead><tr><th>规则 <small>rule</small></th><th>名称 <small>name</small></th>"
        "<th>结论 <small>verdict</small></th><th>通过 <small>passed</small></th>"
        "<th>未通过 <small>not passed</small></th><th>无法评估 <small>not assessable</small></th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )
    uncovered = uncovered_elderly(content.layers, content.tables)
    if uncovered is None:
        where = "<p>无人口图层，未统计未覆盖老年人。 <small>No population layer: uncovered elderly not counted.</small></p>"
    else:
        minutes = content.rules.value("W1") if "W1" in content.rules else 15
        share = uncovered.uncovered / uncovered.elderly if uncovered.elderly > 0 else float("nan")
        where = (
            f"<div class='answer'>{format_number(uncovered.uncovered, 'count')} 名老年人（{format_number(share, 'share')}）"
            f"在 {float(minutes):g} 分钟步行范围以外；范围内 {format_number(uncovered.covered, 'count')} 名，"
            f"共 {format_number(uncovered.elderly, 'count')} 名。<br><small>{format_number(uncovered.uncovered, 'count')} "
            f"elderly ({format_number(share, 'share')}) live outside the {float(minutes):g}-minute walk; "
            f"{format_number(uncovered.covered, 'count')} of {format_number(uncovered.elderly, 'count')} within.</small></div>"
        )
        if len(uncovered.areas):
            where += f"<p>未覆盖最多的地区 Areas with most uncovered elderly · {_e(uncovered.area_kind)}</p>" + _rows_table(
                (
                    (a.area, format_number(a.uncovered, "count"), format_number(a.elderly, "count"),
                     format_number(a.uncovered_share, "share"))
                    for a in uncovered.areas.itertuples(index=False)
                ),
                ("地区<br><small>area</small>", "未覆盖（人）<br><small>uncovered (persons)</small>",
                 "合计（人）<br><small>total (persons)</small>", "未覆盖比例<br><small>uncovered share</small>"),
                css="compact",
            )
    if content.sites is None:
        build = (
            "<p>未运行选址，本报告不提出新建设施。 <small>Site selection was not run: the report proposes no new sites "
            "(run <code>python -m coverage sites --out sites.gpkg</code>, then <code>check --proposed-sites sites.gpkg</code>).</small></p>"
        )
    elif len(content.sites) == 0:
        build = "<p>选址未提出新设施。 <small>The site selection proposed no site.</small></p>"
    else:
        build = (
            f"<p>建议新建 {len(content.sites)} 处养老服务设施（选址结果 {_e(content.sites_source)}）。"
            f"<small> Build {len(content.sites)} new elderly-service sites (site selection {_e(content.sites_source)}).</small></p>"
            + _rows_table(
                sites_rows(content.sites),
                ("序号<br><small>rank</small>", "名称<br><small>name</small>", "街道<br><small>township</small>",
                 "新增覆盖老年人（人）<br><small>newly covered elderly</small>",
                 "累计覆盖比例<br><small>covered share, cumulative</small>", "经度, 纬度<br><small>lon, lat</small>"),
                css="compact",
            )
        )
    return (
        f"<h2>结论 Verdicts</h2>{''.join(answer)}"
        f"<h2>未覆盖的老年人 Elderly outside the walk</h2>{where}"
        f"<h2>建设建议 What to build</h2>{build}"
        f"<h2>各规则结论 Verdict of every rule</h2>{table}"
    )


def sites_map(content: ReportContent) -> list[MapSpec]:
    """The map of the proposed sites over the streets and the population outside the walk (none without sites)."""
    if content.sites is None or len(content.sites) == 0:
        return []
    population = content.layers.get("population")
    layers: list = [(content.basemap, {"color": "#bbbbbb", "linewidth": 0.5, "label": "街道 streets"})]
    if population is not None and "covered" in population.columns:
        layers.append((population, {"column": "covered", "markersize": 5, "alpha": 0.6, "label": "人口 population"}))
    facilities = content.layers.get("facilities")
    layers.append((facilities, {"color": "black", "markersize": 30, "marker": "^", "label": "现有设施 facilities"}))
    layers.append((content.sites, {"color": "#6a1b9a", "markersize": 90, "marker": "*", "label": "建议新建 proposed sites"}))
    return [MapSpec("建议新建养老服务设施", "Proposed new elderly-service sites", layers)]


def _rule_value(value: object, unit: str) -> str:
    """A rule's value with its unit: shares as %, ``m2`` as m²."""
    if unit == "share" and isinstance(value, int | float):
        return format_number(float(value), "share")
    return f"{format_value(value)} {unit.replace('m2', 'm²')}".strip()


def rules_html(frame: pd.DataFrame) -> str:
    """Every rule on one row: id and Chinese name, value and unit, origin, the rule's words, the documents cited."""
    rows = "".join(
        f"<tr><td><b>{_e(r.rule)}</b> {_e(r.name_zh)}</td><td>{_e(_rule_value(r.value, r.unit))}</td>"
        f"<td>{_e(r.origin)}</td><td>{_e(r.text_zh)}</td><td>{_e(r.documents)}"
        + (f"<br><small>{_e(r.further_parameters)}</small>" if r.further_parameters else "")
        + "</td></tr>"
        for r in frame.rename(columns={"further parameters": "further_parameters"}).itertuples(index=False)
    )
    return (
        "<table class='rules'><colgroup><col style='width:17%'><col style='width:11%'><col style='width:10%'>"
        "<col style='width:22%'><col style='width:40%'></colgroup><thead><tr><th>规则<br><small>rule</small></th>"
        "<th>数值<br><small>value</small></th><th>来源类型<br><small>origin</small></th>"
        "<th>规则原文<br><small>rule text</small></th><th>依据文件（标题、文号、条款）及其他参数<br>"
        "<small>documents (title, number, section) and further parameters</small></th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _print_columns(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """The columns of :data:`PRINT_COLUMNS` that the table has (all columns for other tables)."""
    keep = [c for c in PRINT_COLUMNS.get(name, []) if c in table.columns]
    return table[keep] if keep else table


def _section(title: str, body: str) -> str:
    return f"<section class='page'><h2>{title}</h2>{body}</section>"


def render(content: ReportContent, input_hashes: Mapping[str, str]) -> str:
    """The bilingual HTML report (map images embedded as PNG data)."""
    from analysis.report import rules_frame

    rules = content.rules
    sources = sources_lines(content.sources)
    headline = _rows_table(parameter_rows(content.headline), ("项目<br><small>item</small>", "数值<br><small>value</small>"))
    parameters = _rows_table(
        ((_parameter_name(k), v) for k, v in parameter_rows(content.parameters)),
        ("参数<br><small>parameter</small>", "数值<br><small>value</small>"),
    )
    presets = ""
    if "W2" in rules and rules["W2"].extra.get("presets"):
        minutes = float(rules.value("W1")) if "W1" in rules else 15.0
        presets = "<h3>步行速度预设 Walking-speed presets (W2)</h3>" + _rows_table(
            preset_rows(rules["W2"], minutes), ("预设<br><small>preset</small>", "速度与距离<br><small>speed and distance</small>")
        )
    rule_table = rules_html(rules_frame(rules))
    hashes = _rows_table(
        ((file_names_only(name), digest) for name, digest in input_hashes.items()),
        ("文件<br><small>file</small>", "SHA-256"),
    )
    maps = "".join(
        f"<figure><img alt='{_e(m.title)} {_e(m.title_en)}' src='data:image/png;base64,"
        f"{base64.b64encode(map_png(m, sources)).decode()}'><figcaption>{_e(m.title)} · {_e(m.title_en)}</figcaption></figure>"
        for m in [*content.maps, *sites_map(content)]
    )
    findings = content.findings
    finding_rows = "".join(
        f"<tr><td><b>{_e(f.rule_id)}</b></td><td>{_e(SUBJECT_ZH.get(f.subject_kind, f.subject_kind))}: {_e(f.subject)}</td>"
        f"{_status_cell(f.status)}<td>{_e(plain_text(f.message_zh))}<br><small>{_e(plain_text(f.message))}</small></td></tr>"
        for f in findings[:HTML_TABLE_ROWS * 5]
    )
    findings_table = (
        "<table><thead><tr><th>规则<br><small>rule</small></th><th>对象<br><small>subject</small></th>"
        "<th>结论<br><small>verdict</small></th><th>说明<br><small>finding</small></th></tr></thead>"
        f"<tbody>{finding_rows}</tbody></table>"
    )
    notes = "".join(f"<li>{_e(file_names_only(plain_text(n)))}</li>" for n in content.notes)
    extra_sections = "".join(_section(_e(title), table_html(table)) for title, table in content.sections)
    html_tables = "".join(f"<h3>{_e(t)}</h3>{table_html(table)}" for t, table in content.html_tables.items())
    main_tables = "".join(
        f"<h3>{_e(title)}</h3>{table_html(_print_columns(content.tables[name], name))}"
        "<p class='small'>主要列；全部列见 checks.xlsx · main columns; every column is in checks.xlsx</p>"
        for name, title in (("townships", "街道（乡镇） Townships"), ("districts", "居住区 Residential districts"))
        if name in content.tables
    )
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    source_items = "".join(f"<li>{_e(s)}</li>" for s in sources)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>养老服务设施规划核查报告 · Elderly-care facility planning check</title>
<style>{CSS}</style></head><body>
<section class="first">
<h1>养老服务设施规划核查报告<br><small>Elderly-care facility planning check</small></h1>
<p class="meta">规则集 Rule set: <b>{_e(rules.name)}</b> — {_e(rules.title_zh)} / {_e(rules.title)} ·
工具版本 Tool version: {_e(__version__)} · 生成时间 Created: {created}</p>
<p class="meta">数据来源 Sources: {' · '.join(map(_e, sources))}</p>
{first_page(content)}
</section>
{_section("主要结果 Headline", headline)}
{_section("地图 Maps", maps) if maps else ""}
{_section("规则依据 Rules and the documents they cite", rule_table)}
{_section("街道与居住区 Townships and districts", main_tables) if main_tables else ""}
{extra_sections}
{_section("助餐、村庄、县域与生活圈 Meals, villages, counties and life-circle tiers", html_tables) if html_tables else ""}
{_section("全部结论 Every finding", findings_table)}
{_section("说明 Notes", f"<ul>{notes}</ul>")}
{_section("参数 Parameters", parameters + presets)}
{_section("数据来源与输入文件 Data sources and input files (SHA-256)", f"<ul>{source_items}</ul>{hashes}")}
</body></html>
"""

