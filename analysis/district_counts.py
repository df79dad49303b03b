"""Residents and households of a district that contradict each other (Q1, Q2).

A district layer giving 3 000 residents and 0 households would pass Q2 with 0 m² required; one
giving 3 000 residents in 100 households (30 persons per household) or more households than
residents is a typing or unit mistake. :func:`reconcile_counts` runs before the estimates of
:mod:`analysis.districts`:

* a count of 0 beside a positive other count is treated as missing, so the usual estimate
  (``residents ÷ persons_per_household`` or ``households × persons_per_household``) replaces it
  and the finding says so;
* when both counts are given and the persons per household lie outside the plausible range
  (``persons_per_household_min``/``_max`` of rule Q2, default :data:`PLAUSIBLE_PERSONS_PER_HOUSEHOLD`),
  each count is raised to what the other implies (the larger, so a quota is never lowered by a
  contradiction) and the finding says which counts disagree;
* without ``persons_per_household`` nothing can be estimated: such districts are left as they are
  (missing counts make the rule not assessable) and still flagged.

The flags are returned per district, in English and Chinese, to be appended to the Q1/Q2 findings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.message_format import fmt_number
from layers.defaults import PLAUSIBLE_PERSONS_PER_HOUSEHOLD


@dataclass
class CountFlags:
    """What :func:`reconcile_counts` changed or found, per district.

    Attributes
    ----------
    en, zh : list of str
        A sentence per district ("" when its counts are consistent), English and Chinese.
    notes : list of str
        One note per kind of change, for the run's notes.
    raised : ndarray of bool
        Districts whose given counts were raised because they disagree.
    """

    en: list[str]
    zh: list[str]
    notes: list[str]
    raised: np.ndarray


def plausible_range(extra: dict) -> tuple[float, float]:
    """The plausible persons per household (min, max) from rule Q2's extra values, else the default."""
    low = float(extra.get("persons_per_household_min", PLAUSIBLE_PERSONS_PER_HOUSEHOLD[0]))
    high = float(extra.get("persons_per_household_max", PLAUSIBLE_PERSONS_PER_HOUSEHOLD[1]))
    if not (np.isfinite(low) and np.isfinite(high) and 0 < low < high):
        msg = f"rule Q2: persons_per_household_min/max must be numbers with 0 < min < max, got {low:g}, {high:g}"
        raise ValueError(msg)
    return low, high


def reconcile_counts(
    table: pd.DataFrame, persons_per_household: float | None, plausible: tuple[float, float]
) -> CountFlags:
    """Treat lone zero counts as missing and raise contradicting counts; flag both (in place).

    Parameters
    ----------
    table : DataFrame
        ``residents`` (persons) and ``households`` columns, NaN when unknown; changed in place.
    persons_per_household : float, optional
        Persons per household of the rule set (or ``--persons-per-household``).
    plausible : (float, float)
        Lowest and highest persons per household a district may imply.

    Returns
    -------
    CountFlags
    """
    residents = table["residents"].to_numpy(dtype=float).copy()
    households = table["households"].to_numpy(dtype=float).copy()
    n = len(table)
    en = [""] * n
    zh = [""] * n
    notes: list[str] = []
    low, high = plausible

    zero_households = (households == 0) & (residents > 0)
    zero_residents = (residents == 0) & (households > 0)
    for i in np.flatnonzero(zero_households):
        en[i] = f"households given as 0 beside {fmt_number(residents[i])} residents: treated as unknown"
        zh[i] = f"户数为 0 而居民 {fmt_number(residents[i])} 人：户数按缺失处理"
    for i in np.flatnonzero(zero_residents):
        en[i] = f"residents given as 0 beside {fmt_number(households[i])} households: treated as unknown"
        zh[i] = f"居民为 0 而户数 {fmt_number(households[i])} 户：居民人数按缺失处理"
    if persons_per_household is not None:
        how = f"estimated with {fmt_number(persons_per_household)} persons per household"
        for i in np.flatnonzero(zero_households | zero_residents):
            en[i] += f", {how}"
            zh[i] += f"，按每户 {fmt_number(persons_per_household)} 人估算"
    households[zero_households] = np.nan
    residents[zero_residents] = np.nan
    if zero_households.any() or zero_residents.any():
        notes.append(
            f"{int(zero_households.sum() + zero_residents.sum())} districts give 0 residents or 0 households "
            "beside a positive other count: the 0 is treated as unknown and estimated (see the Q1/Q2 findings)"
        )

    both = np.isfinite(residents) & np.isfinite(households) & (residents > 0) & (households > 0)
    ratio = np.full(n, np.nan)
    ratio[both] = residents[both] / households[both]
    odd = both & ((ratio < low) | (ratio > high))
    for i in np.flatnonzero(odd):
        en[i] = (
            f"inconsistent counts: {fmt_number(residents[i])} residents in {fmt_number(households[i])} households "
            f"is {fmt_number(ratio[i])} persons per household (plausible {fmt_number(low)}-{fmt_number(high)})"
        )
        zh[i] = (
            f"数据不一致：居民 {fmt_number(residents[i])} 人、{fmt_number(households[i])} 户，"
            f"每户 {fmt_number(ratio[i])} 人（合理范围 {fmt_number(low)}-{fmt_number(high)}）"
        )
        if persons_per_household is not None:
            residents_used = max(residents[i], households[i] * persons_per_household)
            households_used = max(households[i], residents[i] / persons_per_household)
            en[i] += (
                f"; assessed with the larger of each count and what the other implies at "
                f"{fmt_number(persons_per_household)} persons per household ({fmt_number(residents_used)} residents, "
                f"{fmt_number(households_used)} households): check the district layer"
            )
            zh[i] += (
                f"；按两者中较大者评估（{fmt_number(residents_used)} 人，{fmt_number(households_used)} 户），请核对小区数据"
            )
            residents[i], households[i] = residents_used, households_used
        else:
            en[i] += ": check the district layer"
            zh[i] += "，请核对小区数据"
    if odd.any():
        notes.append(
            f"{int(odd.sum())} districts have residents and households that disagree (persons per household "
            f"outside {fmt_number(low)}-{fmt_number(high)}): flagged in their Q1/Q2 findings"
        )
    table["residents"] = residents
    table["households"] = households
    return CountFlags(en, zh, notes, odd if persons_per_household is not None else np.zeros(n, dtype=bool))
