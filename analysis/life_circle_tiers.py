"""Life-circle tiers (W3): the walk of W1 per tier, each facility kind at its tier's minutes.

A rule set may give ``tiers = { community_station = 5, day_care = 10, township_centre = 15 }`` in
W3 (minutes per facility kind: the 5-, 10- and 15-minute life circles). For every tier the share of
residents (and of elderly) within that many minutes of a facility of that kind is measured with the
engine's bounded walk from those facilities only (:mod:`analysis.kind_walk`), at the run's speed.
A tier passes when every resident is within it (W1's "residents reach ...": all of them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.community_walk import EVERY_RESIDENT
from analysis.kind_walk import kind_coverage, kind_mask
from analysis.message_format import fmt_number, fmt_share
from analysis.rules import RuleSet
from analysis.verdicts import FAIL, NOT_ASSESSABLE, PASS, Finding
from coverage.circles import CoverageResult
from layers.defaults import SHARE_TOLERANCE
from layers.errors import FieldError
from layers.facilities import FACILITY_KINDS


@dataclass
class TierCheck:
    """W3 findings (one per tier) and the per-tier table."""

    findings: list[Finding]
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def tier_minutes(rules: RuleSet) -> dict[str, float]:
    """``{kind: minutes}`` of W3's ``tiers`` table; empty when the rule set has none.

    Raises
    ------
    FieldError
        An unknown facility kind or a non-positive number of minutes.
    """
    if "W3" not in rules:
        return {}
    tiers = rules["W3"].extra.get("tiers")
    if not tiers:
        return {}
    if not isinstance(tiers, dict):
        raise FieldError("W3 tiers must be a table {kind = minutes}", file=rules.path, layer="rules.W3", field="tiers")
    out: dict[str, float] = {}
    for kind, minutes in tiers.items():
        if kind not in FACILITY_KINDS:
            raise FieldError(f"W3 tier kind '{kind}' is not one of {FACILITY_KINDS}", file=rules.path, layer="rules.W3", field="tiers")
        if not isinstance(minutes, int | float) or minutes <= 0:
            raise FieldError(f"W3 tier '{kind}' needs positive minutes, got {minutes!r}", file=rules.path, layer="rules.W3", field="tiers")
        out[kind] = float(minutes)
    return out


def check_tiers(coverage: CoverageResult, rules: RuleSet) -> TierCheck | None:
    """W3: the share of residents within each tier's minutes of that tier's facilities.

    Returns
    -------
    TierCheck or None
        ``None`` when the rule set gives no tiers. Table columns: ``tier`` (kind), ``minutes``,
        ``reach_m`` (metres), ``facilities``, ``population_share``, ``elderly_share`` (0-1),
        ``residents_beyond`` (persons), ``w3_status``.
    """
    tiers = tier_minutes(rules)
    if not tiers:
        return None
    population = coverage.population["population"].to_numpy(dtype=float)
    elderly = coverage.population["elderly_population"].to_numpy(dtype=float)
    total, total_elderly = population.sum(), elderly.sum()
    findings: list[Finding] = []
    rows = []
    speed = coverage.speed_mps
    for kind, minutes in tiers.items():
        count = int(kind_mask(coverage, (kind,)).sum())
        served = kind_coverage(coverage, (kind,), minutes=minutes) if count else None
        circle = f"{fmt_number(minutes)}-minute walk at {fmt_number(speed)} m/s ({fmt_number(minutes * 60 * speed)} m)"
        if served is None or total <= 0:
            share = elderly_share = np.nan
            status = NOT_ASSESSABLE
            why = "the facility layer has no facility of this kind" if served is None else "no residents"
            en = f"W3 not assessable for tier {kind}: {why}"
            zh = f"W3 无法评估：{kind} 层级{'没有该类设施' if served is None else '没有居民'}"
        else:
            covered = served.covered
            share = float(population[covered].sum() / total)
            elderly_share = float(elderly[covered].sum() / total_elderly) if total_elderly > 0 else np.nan
            status = PASS if share >= EVERY_RESIDENT - SHARE_TOLERANCE else FAIL
            en = (
                f"W3 {'pass' if status == PASS else 'fail'} for tier {kind}: {fmt_share(share)} of residents "
                f"({fmt_share(elderly_share)} of elderly) within the {circle} of {count} {kind} facilities"
            )
            zh = (
                f"W3 {'达标' if status == PASS else '未达标'}：{kind} {fmt_number(minutes)} 分钟生活圈覆盖 {fmt_share(share)} 居民"
                f"（老年人 {fmt_share(elderly_share)}）"
            )
        measured = None if status == NOT_ASSESSABLE else share
        shortfall = None if measured is None else max(EVERY_RESIDENT - measured, 0.0)
        findings.append(Finding("W3", "tier", f"{kind} {fmt_number(minutes)} min", status, measured, EVERY_RESIDENT, shortfall, "share", en, zh))
        rows.append(
            {
                "tier": kind,
                "minutes": minutes,
                "reach_m": minutes * 60 * speed,
                "facilities": count,
                "population_share": share,
                "elderly_share": elderly_share,
                "residents_beyond": (1 - share) * total if np.isfinite(share) else np.nan,
                "w3_status": status,
            }
        )
    notes = [f"W3 tiers (minutes per facility kind) from rule W3 of {rules.name}: {rules['W3'].extra.get('tiers_source', rules['W3'].source)}"]
    return TierCheck(findings, pd.DataFrame(rows), notes)
