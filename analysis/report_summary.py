"""The first page of the filed report: which rules pass, how many elderly are uncovered and where, what to build.

A planner reads this page and nothing else: a compact table of rule verdicts (通过/未通过/无法评估
with the rule's Chinese name), the elderly outside the walking circle with the townships (or
districts) that hold most of them, and the proposed sites when a site selection was given to the
report (``python -m coverage check --proposed-sites sites.gpkg``), else the sentence that none ran.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from analysis.report_format import (
    format_number,
    rule_documents,
    rule_name_zh,
)
from analysis.rules import RuleSet
from analysis.verdicts import FAIL, NOT_ASSESSABLE, PASS, Finding, summarise
from layers.errors import InputError

#: Areas listed on the first page, most uncovered elderly first.
TOP_AREAS: int = 5
#: Proposed sites listed on the first page (all are in the tables).
TOP_SITES: int = 10


def rule_verdicts(findings: list[Finding], rules: RuleSet, documents: Mapping[str, Mapping[str, str]]) -> pd.DataFrame:
    """One row per rule checked: id, Chinese name, overall verdict, counts and the documents cited.

    A rule is 未通过 when any subject fails it, 通过 when every assessed subject passes, and
    无法评估 when no subject could be assessed.

    Returns
    -------
    DataFrame
        Columns ``rule``, ``name_zh``, ``gloss``, ``status`` (pass/fail/not_assessable), ``passed``,
        ``failed``, ``not_assessable`` (subjects) and ``documents`` (titles and 文号).
    """
    rows = []
    for rule_id, counts in summarise(findings).items():
        rule = rules.rules.get(rule_id)
        if counts["failed"]:
            status = FAIL
        elif counts["passed"]:
            status = PASS
        else:
            status = NOT_ASSESSABLE
        rows.append({
            "rule": rule_id,
            "name_zh": rule_name_zh(rule) if rule else rule_id,
            "gloss": rule.gloss if rule else "",
            "status": status,
            "passed": counts["passed"],
            "failed": counts["failed"],
            "not_assessable": counts["not_assessable"],
            "documents": rule_documents(rule, documents) if rule else "",
        })
    order = {FAIL: 0, PASS: 1, NOT_ASSESSABLE: 2}
    frame = pd.DataFrame(rows, columns=["rule", "name_zh", "gloss", "status", "passed", "failed", "not_assessable", "documents"])
    return frame.sort_values(["status", "rule"], key=lambda s: s.map(order) if s.name == "status" else s, kind="stable")


@dataclass(frozen=True)
class Uncovered:
    """Elderly outside the walking circle.

    Attributes
    ----------
    elderly, covered : float
        Elderly persons in the study area, and those within the walk (persons).
    areas : DataFrame
        The areas with most uncovered elderly: ``area``, ``elderly``, ``uncovered`` (persons) and
        ``uncovered_share`` (0-1), most first; empty when no township or district table was checked.
    area_kind : str
        ``街道（乡镇） townships`` or ``居住区 districts``.
    """

    elderly: float
    covered: float
    areas: pd.DataFrame
    area_kind: str

    @property
    def uncovered(self) -> float:
        """Elderly outside the walk (persons)."""
        return max(self.elderly - self.covered, 0.0)


def uncovered_elderly(layers: Mapping[str, gpd.GeoDataFrame], tables: Mapping[str, pd.DataFrame]) -> Uncovered | None:
    """The uncovered elderly of a check run, in total and by township (else by residential district).

    Reads the ``population`` layer (``elderly_population``, ``covered``) and the ``townships`` table
    (``elderly_population``, ``elderly_covered``) or the ``districts`` table (``w1_population``,
    ``w1_residents_beyond``: residents, as districts carry no elderly count). None without a
    population layer.
    """
    population = layers.get("population")
    if population is None or "elderly_population" not in population.columns:
        return None
    elderly = float(population["elderly_population"].sum())
    covered = float(population.loc[population["covered"].astype(bool), "elderly_population"].sum()) if "covered" in population.columns else 0.0
    townships = tables.get("townships")
    districts = tables.get("districts")
    if townships is not None and {"township", "elderly_population", "elderly_covered"} <= set(townships.columns):
        areas = pd.DataFrame({
            "area": townships["township"].astype(str).to_numpy(),
            "elderly": townships["elderly_population"].astype(float).to_numpy(),
            "uncovered": (townships["elderly_population"] - townships["elderly_covered"]).astype(float).clip(lower=0).to_numpy(),
        })
        kind = "街道（乡镇） townships"
    elif districts is not None and {"district", "w1_population", "w1_residents_beyond"} <= set(districts.columns):
        areas = pd.DataFrame({
            "area": districts["district"].astype(str).to_numpy(),
            "elderly": districts["w1_population"].astype(float).to_numpy(),
            "uncovered": districts["w1_residents_beyond"].astype(float).clip(lower=0).to_numpy(),
        })
        kind = "居住区（居民） districts (residents)"
    else:
        areas = pd.DataFrame(columns=["area", "elderly", "uncovered"])
        kind = ""
    areas = areas.loc[areas["uncovered"].fillna(0) > 0.5]
    areas = areas.assign(uncovered_share=areas["uncovered"] / areas["elderly"].where(areas["elderly"] > 0))
    areas = areas.sort_values("uncovered", ascending=False).head(TOP_AREAS).reset_index(drop=True)
    return Uncovered(elderly=elderly, covered=covered, areas=areas, area_kind=kind)


def read_proposed_sites(path: str | Path) -> gpd.GeoDataFrame:
    """The ``proposed_sites`` layer of a GeoPackage written by ``python -m coverage sites``.

    Raises
    ------
    InputError
        The file is missing, unreadable, or has no ``proposed_sites`` layer.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("the site-selection file does not exist", file=path)
    try:
        names = set(pyogrio.list_layers(path)[:, 0])
    except Exception as exc:
        raise InputError(f"the site-selection file cannot be read: {exc}", file=path) from exc
    if "proposed_sites" not in names:
        msg = "no layer 'proposed_sites': give the GeoPackage written by 'python -m coverage sites --out'"
        raise InputError(msg, file=path, layer="proposed_sites")
    return gpd.read_file(path, layer="proposed_sites").to_crs(4326)


def sites_rows(sites: pd.DataFrame) -> list[tuple[str, ...]]:
    """The first :data:`TOP_SITES` proposed sites as text rows: rank, name, township, newly covered, cumulative share, lon/lat."""
    rows = []
    for _, site in sites.head(TOP_SITES).iterrows():
        point = site.geometry.representative_point() if getattr(site, "geometry", None) is not None else None
        rows.append((
            str(int(site["rank"])) if "rank" in site and pd.notna(site["rank"]) else "",
            str(site.get("name", "") or site.get("candidate_id", "")),
            str(site.get("township", "") or ""),
            format_number(site.get("added_elderly"), "count"),
            format_number(site.get("covered_share"), "share"),
            f"{point.x:.5f}, {point.y:.5f}" if point is not None else "",
        ))
    return rows


