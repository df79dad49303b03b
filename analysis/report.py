"""The report a planner files: GeoPackage, CSV and Excel tables, and a bilingual HTML page.

Everything is written into a fresh folder beside the output folder and swapped into place in one
step at the end (:mod:`coverage.folder_swap`), so a failed or interrupted run never leaves a half
report or damages an earlier one, and only a folder this tool wrote is ever replaced. The HTML records
the tool version, the rule set, every parameter and the SHA-256 of every input file.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import geopandas as gpd
import pandas as pd

from analysis.rules import RuleSet
from analysis.verdicts import FAIL, NOT_ASSESSABLE, PASS, Finding, findings_frame, summarise
from coverage import __version__
from coverage.folder_swap import replace_folder
from coverage.output import write_layers

STATUS_ZH = {PASS: "达标", FAIL: "不达标", NOT_ASSESSABLE: "无法评估"}
STATUS_COLOUR = {PASS: "#2e7d32", FAIL: "#c62828", NOT_ASSESSABLE: "#757575"}


@dataclass
class MapSpec:
    """A map image of one check: layers drawn in order, each a GeoDataFrame (EPSG:4326) and a style.

    ``column`` colours features by a column (categorical for strings/bools); ``color`` is a fixed
    colour. ``title`` (English: the image fonts may lack Chinese glyphs) is drawn on the map,
    ``caption_zh`` is printed under it in the HTML.
    """

    title: str
    caption_zh: str = ""
    layers: list[tuple[gpd.GeoDataFrame, dict]] = field(default_factory=list)


@dataclass
class ReportContent:
    """What goes into a report."""

    rules: RuleSet
    findings: list[Finding]
    layers: Mapping[str, gpd.GeoDataFrame]
    tables: Mapping[str, pd.DataFrame]
    headline: Mapping[str, object]
    parameters: Mapping[str, object]
    input_files: Iterable[str | Path]
    maps: list[MapSpec] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Tables also printed in the HTML (meals, villages, counties, life-circle tiers), by title.
    html_tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    #: Extra HTML sections, each a title and a table (target years, new/old districts, O1).
    sections: list[tuple[str, pd.DataFrame]] = field(default_factory=list)


#: Rows of one table printed in the HTML; the workbook and the CSV files hold all of them.
HTML_TABLE_ROWS: int = 200


def _tables_html(tables: Iterable[tuple[str, pd.DataFrame]], *, heading: str = "h3") -> str:
    """Each table under its title (geometry left out), at most :data:`HTML_TABLE_ROWS` rows printed."""
    parts = []
    for title, table in tables:
        plain = pd.DataFrame(table.drop(columns="geometry", errors="ignore"))
        more = (
            f"<p><small>first {HTML_TABLE_ROWS} of {len(plain)} rows; all in checks.xlsx</small></p>"
            if len(plain) > HTML_TABLE_ROWS
            else ""
        )
        body = plain.head(HTML_TABLE_ROWS).to_html(index=False, na_rep="", float_format=lambda v: f"{v:.3g}")
        parts.append(f"<{heading}>{html.escape(title)}</{heading}>{body}{more}")
    return "".join(parts)


def sha256_of(path: str | Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _map_png(spec: MapSpec) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 6), dpi=110)
    for frame, style in spec.layers:
        if frame is None or len(frame) == 0:
            continue
        style = dict(style)
        column = style.pop("column", None)
        if column is not None and column in frame.columns:
            frame.plot(ax=ax, column=column, legend=True, **style)
        else:
            frame.plot(ax=ax, **style)
    ax.set_title(spec.title, fontsize=10)
    ax.set_axis_off()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _findings_html(findings: list[Finding], rules: RuleSet) -> str:
    rows = []
    for f in findings:
        rule = rules.rules.get(f.rule_id)
        text_zh = html.escape(rule.text_zh) if rule else ""
        source = html.escape(rule.source) if rule else ""
        colour = STATUS_COLOUR[f.status]
        rows.append(
            "<tr>"
            f"<td><b>{html.escape(f.rule_id)}</b></td>"
            f"<td>{html.escape(f.subject_kind)}: {html.escape(str(f.subject))}</td>"
            f"<td style='color:{colour}'>{STATUS_ZH[f.status]} / {f.status}</td>"
            f"<td>{html.escape(f.message_zh)}<br>{html.escape(f.message)}</td>"
            f"<td>{text_zh}<br><small>{source}</small></td>"
            "</tr>"
        )
    head = (
        "<tr><th>规则 Rule</th><th>对象 Subject</th><th>结论 Verdict</th><th>说明 Finding</th><th>依据 Source</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def _summary_html(findings: list[Finding], rules: RuleSet) -> str:
    rows = []
    for rule_id, counts in summarise(findings).items():
        rule = rules.rules.get(rule_id)
        gloss = html.escape(rule.gloss) if rule else ""
        rows.append(
            f"<tr><td><b>{rule_id}</b></td><td>{gloss}</td><td>{counts['assessed']}</td>"
            f"<td>{counts['passed']}</td><td>{counts['failed']}</td><td>{counts['not_assessable']}</td></tr>"
        )
    head = (
        "<tr><th>规则 Rule</th><th>内容 Gloss</th><th>评估 Assessed</th><th>达标 Passed</th>"
        "<th>不达标 Failed</th><th>无法评估 Not assessable</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def parameters_frame(content: ReportContent) -> pd.DataFrame:
    """The run's parameters (walk, speed, off-network limit, C6 distance, elderly share, ...) as a table."""
    return pd.DataFrame({"parameter": list(content.parameters), "value": [str(v) for v in content.parameters.values()]})


def rules_frame(rules: RuleSet) -> pd.DataFrame:
    """Every rule of the rule set: id, value, unit, origin (seed, standard or project) and source."""
    rows = []
    for rule in rules.rules.values():
        source = rule.source.strip()
        if source.startswith("project"):
            origin = "project 项目参数"
        elif source.startswith("standard"):
            origin = "standard 标准"
        else:
            origin = "seed 依据文件"
        extra = "; ".join(f"{k} = {v}" for k, v in rule.extra.items() if k != "cite")
        rows.append(
            {"rule": rule.id, "value": str(rule.value), "unit": rule.unit, "origin": origin, "text_zh": rule.text_zh,
             "source": source, "further parameters": extra}
        )
    return pd.DataFrame(rows)


def render_html(content: ReportContent, input_hashes: Mapping[str, str]) -> str:
    """The bilingual HTML report as a string (map images embedded as PNG data)."""
    rules = content.rules
    headline = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in content.headline.items()
    )
    parameters = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in content.parameters.items()
    )
    rule_rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in rules_frame(rules)[["rule", "value", "unit", "origin", "source", "further parameters"]].itertuples(
            index=False
        )
    )
    hashes = "".join(
        f"<tr><td>{html.escape(name)}</td><td><code>{digest}</code></td></tr>" for name, digest in input_hashes.items()
    )
    maps = "".join(
        f"<figure><img alt='{html.escape(m.title)}' src='data:image/png;base64,"
        f"{base64.b64encode(_map_png(m)).decode()}'><figcaption>{html.escape(m.caption_zh)} · "
        f"{html.escape(m.title)}</figcaption></figure>"
        for m in content.maps
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in content.notes)
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>养老服务设施规划核查报告 · Elderly-care planning check</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 2em; max-width: 1100px; }}
table {{ border-collapse: collapse; margin: 1em 0; }} td, th {{ border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; }}
th {{ background: #f0f0f0; }} figure {{ display: inline-block; margin: 0.5em; }} img {{ max-width: 520px; }}
</style></head><body>
<h1>养老服务设施规划核查报告<br><small>Elderly-care facility planning check</small></h1>
<p>规则集 Rule set: <b>{html.escape(rules.name)}</b> — {html.escape(rules.title_zh)} / {html.escape(rules.title)}<br>
工具版本 Tool version: {__version__} · 生成时间 Created: {created}</p>
<h2>主要结果 Headline</h2><table>{headline}</table>
<h2>规则汇总 Rules summary</h2>{_summary_html(content.findings, rules)}
{_tables_html(content.sections, heading="h2")}
<h2>地图 Maps</h2>{maps}
{("<h2>助餐、村庄、县域与生活圈 Meals, villages, counties and life-circle tiers</h2>" + _tables_html(content.html_tables.items())) if content.html_tables else ""}
<h2>全部结论 Every finding</h2>{_findings_html(content.findings, rules)}
<h2>说明 Notes</h2><ul>{notes}</ul>
<h2>参数 Parameters</h2><table>{parameters}</table>
<h2>规则参数及来源 Rule values and their origin</h2><table><tr><th>规则 Rule</th><th>数值 Value</th><th>单位 Unit</th>
<th>来源类型 Origin</th><th>出处 Source</th><th>其他参数 Further parameters</th></tr>{rule_rows}</table>
<h2>输入文件 Input files (SHA-256)</h2><table>{hashes}</table>
</body></html>
"""


def _fill_report(content: ReportContent, folder: Path) -> None:
    """Write every file of the report into ``folder`` (an empty staging folder)."""
    hashes = {str(p): sha256_of(p) for p in content.input_files if Path(p).is_file()}
    tables = {
        "findings": findings_frame(content.findings),
        **content.tables,
        "parameters": parameters_frame(content),
        "rules": rules_frame(content.rules),
    }
    layers = {name: frame for name, frame in content.layers.items() if frame is not None and len(frame)}
    if layers:
        write_layers(folder / "checks.gpkg", layers)
    for name, table in tables.items():
        plain = pd.DataFrame(table.drop(columns="geometry", errors="ignore"))
        plain.to_csv(folder / f"{name}.csv", index=False, encoding="utf-8-sig")
    with pd.ExcelWriter(folder / "checks.xlsx", engine="openpyxl") as writer:
        for name, table in tables.items():
            pd.DataFrame(table.drop(columns="geometry", errors="ignore")).to_excel(
                writer, sheet_name=name[:31], index=False
            )
    (folder / "report.html").write_text(render_html(content, hashes), encoding="utf-8")


def write_report(content: ReportContent, out_dir: str | Path, *, flag: str = "--out") -> dict[str, Path]:
    """Write ``checks.gpkg``, ``findings.csv``, one CSV per table, ``checks.xlsx`` and ``report.html``.

    Returns the paths written, by kind. The report is written into a fresh sibling folder and
    swapped in as ``out_dir`` in one step, only when everything was written, and only over a
    folder this tool wrote (see :mod:`coverage.folder_swap`); the folder holds the marker file
    ``.coverage-report``.

    Raises
    ------
    coverage.safe_write.OutputPathError
        ``out_dir`` is a file, or a folder this tool did not write (exit status 2 on the command line).
    coverage.safe_write.WriteError
        Permission denied, disk full, I/O error (exit status 1); ``out_dir`` is left as it was.
    """
    out_dir = replace_folder(out_dir, lambda folder: _fill_report(content, folder), flag=flag)
    written = {"html": out_dir / "report.html", "excel": out_dir / "checks.xlsx", "findings": out_dir / "findings.csv"}
    if (out_dir / "checks.gpkg").exists():
        written["geopackage"] = out_dir / "checks.gpkg"
    return written
