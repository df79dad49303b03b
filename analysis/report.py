"""The report a planner files: a bilingual HTML page and its A4 PDF, an Excel workbook, CSV tables, a GeoPackage.

Everything is written into a fresh folder beside the output folder and swapped into place in one
step at the end (:mod:`coverage.folder_swap`), so a failed or interrupted run never leaves a half
report or damages an earlier one, and only a folder this tool wrote is ever replaced. The HTML
(:mod:`analysis.report_html`) opens with one page that answers the question (which rules pass,
how many elderly are uncovered and where, what to build), then the tables and maps
(:mod:`analysis.report_maps`); it records the tool version, the rule set, every parameter and the
SHA-256 of every input file. ``report.pdf`` is the same page printed to A4
(:mod:`analysis.report_pdf`), ``checks.xlsx`` the tables with Chinese and English headers
(:mod:`analysis.report_excel`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from analysis.report_excel import write_workbook
from analysis.report_format import (
    STATUS_COLOUR,
    STATUS_ZH,
    file_names_only,
    parameter_rows,
    rule_documents,
    rule_name_zh,
    rule_set_documents,
    sources_lines,
)
from analysis.report_maps import MapSpec
from analysis.rules import RuleSet
from analysis.verdicts import Finding, findings_frame
from coverage.folder_swap import replace_folder
from coverage.output import write_layers

__all__ = [
    "STATUS_COLOUR", "STATUS_ZH", "MapSpec", "ReportContent", "parameters_frame", "render_html", "rules_frame",
    "sha256_of", "write_report",
]


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
    #: Proposed sites of a site selection (layer ``proposed_sites`` of ``python -m coverage sites``);
    #: None: the first page says that no site selection ran.
    sites: gpd.GeoDataFrame | None = None
    #: Where the proposed sites come from (a file name), printed with them.
    sites_source: str = ""
    #: The streets (EPSG:4326 lines), drawn under maps the report adds itself (the proposed sites).
    basemap: gpd.GeoDataFrame | None = None

    @property
    def sources(self) -> dict[str, str]:
        """The data sources (``parameters["sources"]``: network, facilities, population)."""
        found = self.parameters.get("sources")
        return {str(k): str(v) for k, v in found.items()} if isinstance(found, Mapping) else {}


def sha256_of(path: str | Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parameters_frame(content: ReportContent) -> pd.DataFrame:
    """The run's parameters as readable rows (nested values such as the sources one row per key)."""
    rows = parameter_rows({k: (file_names_only(v) if isinstance(v, str) else v) for k, v in content.parameters.items()})
    return pd.DataFrame(rows, columns=["parameter", "value"])


def rules_frame(rules: RuleSet) -> pd.DataFrame:
    """Every rule of the rule set: id, Chinese name, value, unit, origin, the documents cited and the source text."""
    documents = rule_set_documents(rules)
    rows = []
    for rule in rules.rules.values():
        source = rule.source.strip()
        if source.startswith("project"):
            origin = "项目参数 project parameter"
        elif source.startswith("standard"):
            origin = "标准 standard"
        else:
            origin = "依据文件 seed document"
        extra = parameter_rows({k: v for k, v in rule.extra.items() if k not in {"cite", "name_zh"}})
        rows.append({
            "rule": rule.id, "name_zh": rule_name_zh(rule), "value": rule.value, "unit": rule.unit, "origin": origin,
            "text_zh": rule.text_zh, "documents": rule_documents(rule, documents), "source": source,
            "further parameters": "; ".join(f"{k} = {v}" for k, v in extra),
        })
    return pd.DataFrame(rows)


def render_html(content: ReportContent, input_hashes: Mapping[str, str]) -> str:
    """The bilingual HTML report as a string (map images embedded as PNG data)."""
    from analysis.report_html import render

    return render(content, input_hashes)


def _fill_report(content: ReportContent, folder: Path) -> None:
    """Write every file of the report but the PDF into ``folder`` (an empty staging folder)."""
    hashes = {str(p): sha256_of(p) for p in content.input_files if Path(p).is_file()}
    tables: dict[str, pd.DataFrame] = {
        "findings": findings_frame(content.findings),
        **content.tables,
        "parameters": parameters_frame(content),
        "rules": rules_frame(content.rules),
    }
    if content.sites is not None:
        tables["proposed_sites"] = content.sites
    layers = {name: frame for name, frame in content.layers.items() if frame is not None and len(frame)}
    if content.sites is not None and len(content.sites):
        layers["proposed_sites"] = content.sites
    if layers:
        write_layers(folder / "checks.gpkg", layers)
    for name, table in tables.items():
        plain = pd.DataFrame(table.drop(columns="geometry", errors="ignore"))
        plain.to_csv(folder / f"{name}.csv", index=False, encoding="utf-8-sig")
    write_workbook(folder / "checks.xlsx", tables, " · ".join(sources_lines(content.sources)))
    (folder / "report.html").write_text(render_html(content, hashes), encoding="utf-8")


def write_report(
    content: ReportContent, out_dir: str | Path, *, flag: str = "--out", pdf: bool = False
) -> dict[str, Path | str]:
    """Write ``report.html`` (and ``report.pdf``), ``checks.xlsx``, ``checks.gpkg`` and one CSV per table.

    Parameters
    ----------
    content : ReportContent
        What the report holds (:meth:`analysis.checks.CheckRun.report_content`).
    out_dir : path
        The report folder.
    flag : str
        The command-line option that named ``out_dir`` (for error messages).
    pdf : bool
        Also print the HTML to ``report.pdf`` (A4) with headless Chromium; without a Chromium the
        report is written without it and ``written["pdf_note"]`` says why.

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
    notes: list[str] = []

    def fill(folder: Path) -> None:
        _fill_report(content, folder)
        if pdf:  # printed from the staged HTML, so the PDF is swapped in with the rest
            from analysis.report_pdf import write_pdf

            why_not = write_pdf(folder / "report.html", folder / "report.pdf")
            if why_not:
                notes.append(why_not)

    out_dir = replace_folder(out_dir, fill, flag=flag)
    written: dict[str, Path | str] = {
        "html": out_dir / "report.html", "excel": out_dir / "checks.xlsx", "findings": out_dir / "findings.csv",
    }
    if (out_dir / "checks.gpkg").exists():
        written["geopackage"] = out_dir / "checks.gpkg"
    if (out_dir / "report.pdf").exists():
        written["pdf"] = out_dir / "report.pdf"
    if notes:
        written["pdf_note"] = notes[0]  # a sentence: why no PDF was written
    return written
