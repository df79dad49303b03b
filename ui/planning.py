"""The planning checks and site selection of ``analysis/``, called the way the page needs them.

Both are optional for the page: when their modules are not there yet, :func:`checks_available` /
:func:`sites_available` say so and the tabs show "coming" instead of any result. Nothing here
computes a verdict or a site itself; it only calls ``analysis.checks.run_checks`` and the
``sites`` job of ``coverage.cli_sites`` with the page's layers and settings and shapes their
answers into tables.
"""

from __future__ import annotations

import argparse
import importlib.util
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from layers.errors import InputError
from layers.projection import WGS84
from ui.i18n import Translator
from ui.state import DataChoice

#: Site-selection models offered on the page: id of ``python -m coverage sites --model`` → label.
SITE_MODELS: dict[str, str] = {
    "mclp": "MCLP: p sites covering the most elderly people",
    "lscp": "LSCP: fewest sites covering everyone reachable",
    "pmedian": "p-median: least total walking time",
}
#: Finding statuses of ``analysis.verdicts`` (the ids are translated for display).
STATUSES: tuple[str, ...] = ("pass", "fail", "not_assessable")


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def checks_available() -> bool:
    """Whether the planning checks (``analysis.checks.run_checks``) are installed."""
    return _module_exists("analysis.checks")


def sites_available() -> bool:
    """Whether site selection (``analysis.site_selection`` and its ``sites`` job) is installed."""
    return _module_exists("analysis.site_selection") and _module_exists("coverage.cli_sites")


# ----- planning checks -------------------------------------------------------------------------
def run_planning_checks(choice: DataChoice, rule_set: str, speed: float | str):
    """Every planning check on the chosen layers with ``rule_set`` (W1 minutes come from it)."""
    from analysis.checks import run_checks

    return run_checks(rules=rule_set, speed=speed, **choice.layer_arguments())


def findings_table(run: Any, t: Translator) -> pd.DataFrame:
    """One row per finding, the message in the page's language, statuses translated."""
    from analysis.verdicts import findings_frame

    frame = findings_frame(run.findings)
    message = frame["message_zh"].where(frame["message_zh"].astype(bool), frame["message"]) if t.lang == "zh" else frame["message"]
    table = pd.DataFrame(
        {
            "rule_id": frame["rule_id"],
            "subject_kind": [t(str(k)) for k in frame["subject_kind"]],
            "subject": frame["subject"],
            "status": [t(str(s)) for s in frame["status"]],
            "measured": frame["measured"],
            "required": frame["required"],
            "shortfall": frame["shortfall"],
            "unit": frame["unit"],
            "message": message,
        }
    )
    return table


def rule_summary(run: Any) -> pd.DataFrame:
    """Counts per rule: subjects assessed, passed, failed, not assessable."""
    from analysis.verdicts import summarise

    counts = summarise(run.findings)
    rows = [{"rule_id": rule, **numbers} for rule, numbers in sorted(counts.items())]
    return pd.DataFrame(rows, columns=["rule_id", "assessed", "passed", "failed", "not_assessable"])


# ----- site selection --------------------------------------------------------------------------
def site_selection_arguments(
    choice: DataChoice, *, model: str, p: int, minutes: float, speed: float | str, rule_set: str
) -> list[str]:
    """The ``python -m coverage sites`` arguments for the page's layers and settings."""
    if model not in SITE_MODELS:
        raise ValueError(f"unknown site-selection model {model!r}; use one of {', '.join(SITE_MODELS)}")
    args = ["sites", "--model", model, "--p", str(int(p)), "--minutes", f"{minutes:g}", "--speed", str(speed), "--rules", rule_set]
    if not choice.is_default:
        layers = choice.layer_arguments()
        if layers["population_crs"]:
            msg = "site selection reads population layers in WGS84 only; convert the population layer first"
            raise InputError(msg, file=choice.population.name if choice.population else None, layer="population")
        args += ["--network", str(layers["network"]), "--facilities", str(layers["facilities"])]
        if layers["facilities_crs"]:
            args += ["--facilities-crs", layers["facilities_crs"]]
        if layers["population"] is not None:
            args += ["--population", str(layers["population"])]
        if layers["population_elderly"]:
            args.append("--population-elderly")
    return args


def run_site_selection(
    choice: DataChoice, *, model: str, p: int, minutes: float, speed: float | str, rule_set: str
) -> tuple[dict, gpd.GeoDataFrame]:
    """Propose new sites (MCLP, LSCP or p-median) on the chosen layers; the summary and the sites."""
    from coverage.cli_sites import add_sites_parser, run_sites

    parser = argparse.ArgumentParser(prog="sites")
    add_sites_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(site_selection_arguments(choice, model=model, p=p, minutes=minutes, speed=speed, rule_set=rule_set))
    report, layers = run_sites(args)
    return report, layers["proposed_sites"]


def proposed_sites_table(sites: gpd.GeoDataFrame) -> pd.DataFrame:
    """Rank, name, source, elderly added, lon/lat of the proposed sites (a point inside parcels)."""
    points = sites.to_crs(WGS84).geometry.representative_point()
    table = pd.DataFrame(sites.drop(columns="geometry"))
    keep = [c for c in ("rank", "candidate_id", "name", "source", "added_elderly", "covered_share") if c in table.columns]
    table = table[keep].copy()
    table["lon"] = shapely.get_x(points.to_numpy()).round(6)
    table["lat"] = shapely.get_y(points.to_numpy()).round(6)
    return table.sort_values("rank") if "rank" in table.columns else table
