"""Bed capacity of an area's elderly-care facilities: C1, C2, C2b, C3, C5 and C7.

Every threshold comes from the rule set (``rules.value("C1")`` ...); nothing here is a quota.

Which facilities count
    Beds (C1, C3, C5) are summed over the *elderly-care* facilities: every row whose ``kind`` is
    not ``health_centre`` (hospital beds are not elderly-care beds). The nursing-bed share (C2) is
    taken over elderly-care *institutions* only (养老机构, kind ``nursing_home``: nursing homes,
    welfare homes), not over community stations' or day-care beds; C2b is the same share over the
    public (公办) institutions, assessed when the layer has an ownership column
    (``ownership``/``性质``/``公办民办``...; 公建民营 counts as public).
    C7 counts rows of kind ``nursing_home``; the layer cannot tell a county-level institution for
    poor, disabled and frail elderly from other care homes, and the message says so.

Missing values (decision)
    A missing input is never a zero. Bed counts cannot be negative, so the beds of the facilities
    whose value is known are a *lower bound* of the total:

    * C1, C3, C5: when that lower bound already meets the quota the rule passes (the message says
      how many facilities were unknown); when it falls short and some facilities are unknown the
      rule is ``not_assessable`` (the unknown ones could make up the gap), with the known total
      and the number of unknown facilities in the message; a fail needs every value known.
    * C2 (a share): when every institution's total beds are known but some nursing-bed counts
      are missing, each missing count lies between 0 and that facility's beds, which bounds the
      share; the rule passes or fails when both bounds agree, otherwise it is ``not_assessable``.
      A missing total bed count leaves the share unbounded: ``not_assessable``.
    * A column that is absent altogether (no ``nursing_beds``/``护理型床位`` column, ...) makes its
      rule ``not_assessable`` and the message names the column names looked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.facility_kinds import INSTITUTION_KINDS
from analysis.rules import RuleSet
from analysis.verdicts import FAIL, NOT_ASSESSABLE, PASS, Finding
from layers.columns import (
    BEDS_ALIASES,
    DEMENTIA_BEDS_ALIASES,
    NURSING_BEDS_ALIASES,
    OWNERSHIP_ALIASES,
    find_column,
)
from layers.errors import FieldError
from layers.facilities import HEALTH_KINDS, parse_ownership

#: Unit conversion of "per 1000 elderly" (C5, C4): not a quota.
PER_THOUSAND: float = 1000.0

#: Layer name used in errors about the facility table.
LAYER = "facilities"

#: Accepted column names (compared stripped and lower case, English and Chinese; see
#: :mod:`layers.columns`); the first present wins.
BEDS_COLUMNS: tuple[str, ...] = BEDS_ALIASES
NURSING_BEDS_COLUMNS: tuple[str, ...] = NURSING_BEDS_ALIASES
DEMENTIA_BEDS_COLUMNS: tuple[str, ...] = DEMENTIA_BEDS_ALIASES
OWNERSHIP_COLUMNS: tuple[str, ...] = OWNERSHIP_ALIASES

#: Kinds whose beds are not elderly-care beds.
NON_CARE_KINDS: tuple[str, ...] = HEALTH_KINDS

#: Kind counted by C7.
INSTITUTION_KIND: str = "nursing_home"

#: How many facility ids a message lists before "...".
MAX_IDS_IN_MESSAGE: int = 5


@dataclass(frozen=True)
class _Column:
    """One numeric column: its values (NaN unknown), the column's name, and the facility ids."""

    name: str | None
    values: np.ndarray
    ids: np.ndarray

    @property
    def present(self) -> bool:
        return self.name is not None

    @property
    def known(self) -> np.ndarray:
        return ~np.isnan(self.values)

    def subset(self, mask: np.ndarray) -> _Column:
        """The same column for the rows where ``mask`` is True."""
        return _Column(self.name, self.values[mask], self.ids[mask])

    def unknown_ids(self) -> str:
        ids = self.ids[~self.known].tolist()
        shown = ", ".join(str(i) for i in ids[:MAX_IDS_IN_MESSAGE])
        return shown + (", ..." if len(ids) > MAX_IDS_IN_MESSAGE else "")


def _numeric_column(frame: pd.DataFrame, aliases: Sequence[str], ids: np.ndarray) -> _Column:
    """Read a count column as floats (NaN unknown); raise :class:`FieldError` on text or negatives."""
    name = find_column(list(frame.columns), aliases)
    if name is None:
        return _Column(None, np.full(len(frame), np.nan), ids)
    raw = frame[name]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if bad.any():
        sample = raw[bad].astype(str).head(3).tolist()
        raise FieldError(f"non-numeric values {sample} in a bed count column", layer=LAYER, field=str(name))
    values = values.to_numpy(dtype=float)
    if (values < 0).any():
        rows = ids[values < 0][:MAX_IDS_IN_MESSAGE].tolist()
        raise FieldError(f"negative bed counts for facilities {rows}", layer=LAYER, field=str(name))
    return _Column(str(name), values, ids)


def _fmt(value: float) -> str:
    """A count or rate for a message: whole numbers without decimals, others with up to 2."""
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _facilities_text(n: int) -> str:
    """Return "1 facility has" or "<n> facilities have" for a message."""
    return "1 facility has" if n == 1 else f"{n} facilities have"


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def _lower_bound_finding(
    rule_id: str,
    rules: RuleSet,
    area_name: str,
    known_total: float,
    n_unknown: int,
    unknown_ids: str,
    *,
    what: str,
    what_zh: str,
    unit_zh: str,
    measured_of: str = "",
    scale: float = 1.0,
) -> Finding:
    """Pass/fail/not-assessable for "total ≥ quota" when ``known_total`` is a lower bound.

    ``scale`` turns a total into the measured quantity (beds per 1000 elderly for C5).
    """
    rule = rules[rule_id]
    required = float(rule.value)
    measured = known_total * scale
    unknown_note = (
        f"; {_facilities_text(n_unknown)} no value ({unknown_ids}), so this is a lower bound" if n_unknown else ""
    )
    unknown_note_zh = f"；{n_unknown}个设施缺少数值（{unknown_ids}），此为下限" if n_unknown else ""
    if measured >= required:
        status, shortfall = PASS, 0.0
        verdict, verdict_zh = "meets", "达到"
    elif n_unknown == 0:
        status, shortfall = FAIL, required - measured
        verdict, verdict_zh = "falls short of", "未达到"
    else:
        status, shortfall = NOT_ASSESSABLE, None
        message = (
            f"{area_name}: counting the facilities with a known value, {what} is {_fmt(measured)}{measured_of}, "
            f"below {rule_id} (≥ {_fmt(required)} {rule.unit}), but {_facilities_text(n_unknown)} no value "
            f"({unknown_ids}); fill them in (0 where there is none) to assess {rule_id}."
        )
        message_zh = (
            f"{area_name}：按已知数值的设施计，{what_zh}为{_fmt(measured)}{unit_zh}，低于{rule_id}要求（不少于"
            f"{_fmt(required)}{unit_zh}），但有{n_unknown}个设施缺少数值（{unknown_ids}），请补充（没有的填0）后再评估。"
        )
        return Finding(rule_id, "area", area_name, status, None, required, None, rule.unit, message, message_zh)
    message = (
        f"{area_name}: {what} is {_fmt(measured)}{measured_of}, which {verdict} {rule_id} "
        f"(≥ {_fmt(required)} {rule.unit}){unknown_note}."
    )
    message_zh = (
        f"{area_name}：{what_zh}为{_fmt(measured)}{unit_zh}，{verdict_zh}{rule_id}要求（不少于{_fmt(required)}{unit_zh}）"
        f"{unknown_note_zh}。"
    )
    return Finding(rule_id, "area", area_name, status, measured, required, shortfall, rule.unit, message, message_zh)


def _missing_column_finding(
    rule_id: str, rules: RuleSet, area_name: str, aliases: Sequence[str], what: str, what_zh: str
) -> Finding:
    rule = rules[rule_id]
    names = "/".join(aliases)
    message = (
        f"{area_name}: {rule_id} cannot be assessed: the facility table has no {what} column "
        f"(looked for {names}); add one."
    )
    message_zh = f"{area_name}：设施表没有{what_zh}字段（可用列名：{names}），无法评估{rule_id}，请补充。"
    return Finding(
        rule_id, "area", area_name, NOT_ASSESSABLE, None, float(rule.value), None, rule.unit, message, message_zh
    )


def _empty_column_finding(
    rule_id: str, rules: RuleSet, area_name: str, column: str, reason: str, reason_zh: str
) -> Finding:
    rule = rules[rule_id]
    message = f"{area_name}: {rule_id} cannot be assessed: {reason} (column '{column}')."
    message_zh = f"{area_name}：{reason_zh}（字段“{column}”），无法评估{rule_id}。"
    return Finding(
        rule_id, "area", area_name, NOT_ASSESSABLE, None, float(rule.value), None, rule.unit, message, message_zh
    )


def check_capacity(
    facilities: pd.DataFrame,
    rules: RuleSet,
    *,
    elderly_population: float | None,
    area_name: str = "area",
) -> list[Finding]:
    """Check an area's elderly-care beds against C1, C5, C2, C3 and C7.

    Parameters
    ----------
    facilities : DataFrame or GeoDataFrame
        Facilities of the area in the schema of :mod:`layers.facilities` (``facility_id``,
        ``kind``, ``beds``); optional columns ``nursing_beds`` (护理型床位/护理床位) and
        ``dementia_beds`` (失智床位/认知症床位) hold counts of beds. NaN means unknown, never 0.
        Geometry is not used.
    rules : RuleSet
        The rule set giving C1 (beds), C2 (share), C3 (beds), C5 (beds per 1000 elderly) and
        C7 (institutions).
    elderly_population : float or None
        People aged 60+ in the area (persons); None or NaN makes C5 not assessable.
    area_name : str
        Name of the area, the subject of every finding.

    Returns
    -------
    list of Finding
        One finding per rule, in the order C1, C5, C2, C3, C7 (subject kind ``"area"``).

    Raises
    ------
    FieldError
        A count column holds text or negative numbers, or nursing/dementia beds exceed a
        facility's beds.
    InputError
        ``elderly_population`` is negative, or the rule set lacks one of the rules.
    """
    frame = pd.DataFrame(facilities).reset_index(drop=True)
    ids = (
        frame["facility_id"].astype(str).to_numpy()
        if "facility_id" in frame.columns
        else np.array([f"row {i}" for i in range(len(frame))], dtype=object)
    )
    kind_column = find_column(list(frame.columns), ("kind",))
    if kind_column is not None:
        kinds = frame[kind_column].astype("string").fillna("").str.strip().str.lower().to_numpy(dtype=object)
        care = ~np.isin(kinds, NON_CARE_KINDS)
    else:
        kinds = None
        care = np.ones(len(frame), dtype=bool)
    care_frame = frame.loc[care].reset_index(drop=True)
    care_ids = ids[care]
    beds = _numeric_column(care_frame, BEDS_COLUMNS, care_ids)
    nursing = _numeric_column(care_frame, NURSING_BEDS_COLUMNS, care_ids)
    dementia = _numeric_column(care_frame, DEMENTIA_BEDS_COLUMNS, care_ids)
    for part, label in ((nursing, "nursing-type"), (dementia, "dementia-care")):
        over = part.known & beds.known & (part.values > beds.values)
        if over.any():
            msg = f"{label} beds exceed total beds for facilities {care_ids[over][:MAX_IDS_IN_MESSAGE].tolist()}"
            raise FieldError(msg, layer=LAYER, field=part.name)

    # C2, C2b: the share is over elderly-care institutions (养老机构) only, not community stations
    institution = (
        np.isin(kinds[care], INSTITUTION_KINDS) if kinds is not None else np.zeros(int(care.sum()), dtype=bool)
    )
    findings = [
        _check_total_beds(rules, area_name, beds),
        _check_beds_per_thousand(rules, area_name, beds, elderly_population),
        _check_nursing_share(rules, area_name, beds.subset(institution), nursing.subset(institution), kinds is not None),
        _check_dementia_beds(rules, area_name, dementia),
        _check_institutions(rules, area_name, kinds),
    ]
    ownership_column = find_column(list(care_frame.columns), OWNERSHIP_COLUMNS)
    if ownership_column is not None and "C2b" in rules:
        owner = parse_ownership(care_frame[ownership_column], layer=LAYER, column=str(ownership_column))
        owner = owner.to_numpy(dtype=object)[institution]
        findings.append(
            _check_public_nursing_share(
                rules, area_name, beds.subset(institution), nursing.subset(institution), owner, str(ownership_column)
            )
        )
    return findings


def _check_total_beds(rules: RuleSet, area_name: str, beds: _Column) -> Finding:
    """C1: total elderly-care beds ≥ the rule's value."""
    if not beds.present:
        return _missing_column_finding("C1", rules, area_name, BEDS_COLUMNS, "beds", "床位数")
    if beds.values.size and not beds.known.any():
        return _empty_column_finding(
            "C1", rules, area_name, beds.name, "no facility has a bed count", "所有设施均缺少床位数"
        )
    known = beds.known
    return _lower_bound_finding(
        "C1",
        rules,
        area_name,
        float(beds.values[known].sum()),
        int((~known).sum()),
        beds.unknown_ids(),
        what="the total of elderly-care beds",
        what_zh="养老服务床位总量",
        unit_zh="张",
        measured_of=" beds",
    )


def _check_beds_per_thousand(
    rules: RuleSet, area_name: str, beds: _Column, elderly_population: float | None
) -> Finding:
    """C5: beds per 1000 elderly people ≥ the rule's value."""
    rule = rules["C5"]
    if elderly_population is not None and np.isfinite(elderly_population) and elderly_population < 0:
        raise FieldError(
            f"elderly population must not be negative, got {elderly_population}", field="elderly_population"
        )
    if elderly_population is None or not np.isfinite(elderly_population) or elderly_population == 0:
        message = (
            f"{area_name}: C5 cannot be assessed: the number of elderly people (aged 60+) is unknown or zero; "
            "give the area's elderly population."
        )
        message_zh = (
            f"{area_name}：老年人口（60岁及以上）未知或为零，无法评估C5（每千名老年人床位数），请提供老年人口数。"
        )
        return Finding(
            "C5", "area", area_name, NOT_ASSESSABLE, None, float(rule.value), None, rule.unit, message, message_zh
        )
    if not beds.present:
        return _missing_column_finding("C5", rules, area_name, BEDS_COLUMNS, "beds", "床位数")
    if beds.values.size and not beds.known.any():
        return _empty_column_finding(
            "C5", rules, area_name, beds.name, "no facility has a bed count", "所有设施均缺少床位数"
        )
    known = beds.known
    return _lower_bound_finding(
        "C5",
        rules,
        area_name,
        float(beds.values[known].sum()),
        int((~known).sum()),
        beds.unknown_ids(),
        what="beds per 1000 elderly people",
        what_zh="每千名老年人床位数",
        unit_zh="张/千名老年人",
        measured_of=f" ({_fmt(float(beds.values[known].sum()))} beds for {_fmt(float(elderly_population))} elderly)",
        scale=PER_THOUSAND / float(elderly_population),
    )


def _check_public_nursing_share(
    rules: RuleSet, area_name: str, beds: _Column, nursing: _Column, owner: np.ndarray, column: str
) -> Finding:
    """C2b: the nursing-type bed share of public (公办) institutions ≥ the rule's value (bounded)."""
    unknown = np.array([v is None or v is pd.NA for v in owner], dtype=bool)
    if unknown.any():
        ids = ", ".join(str(i) for i in beds.ids[unknown][:MAX_IDS_IN_MESSAGE])
        n = int(unknown.sum())
        reason = f"{n} institution(s) have no ownership value ({ids}): they may be public"
        reason_zh = f"{n}个养老机构缺少公办/民办性质（{ids}）"
        return _empty_column_finding("C2b", rules, area_name, column, reason, reason_zh)
    public = owner == "public"
    if not public.any():
        return _empty_column_finding(
            "C2b", rules, area_name, column, "there is no public (公办) institution", "没有公办养老机构"
        )
    return _check_nursing_share(
        rules, area_name, beds.subset(public), nursing.subset(public), True, rule_id="C2b", who="public institutions",
        who_zh="公办养老机构",
    )


def _check_nursing_share(
    rules: RuleSet,
    area_name: str,
    beds: _Column,
    nursing: _Column,
    kinds_known: bool = True,
    *,
    rule_id: str = "C2",
    who: str = "institutions",
    who_zh: str = "养老机构",
) -> Finding:
    """C2 (C2b): nursing-type beds / all beds of elderly-care institutions (public ones) ≥ the rule's value.

    ``beds`` and ``nursing`` hold the institutions' rows only (kind ``nursing_home``: 养老院,
    敬老院, 福利院 ...); community stations' and day-care beds are not in the share.
    """
    rule = rules[rule_id]
    required = float(rule.value)
    if not kinds_known:
        return _missing_column_finding(rule_id, rules, area_name, ("kind",), "facility kind", "设施类型")
    if nursing.present and beds.values.size == 0:
        reason = f"there is no elderly-care institution (kind {INSTITUTION_KIND}: 养老院, 敬老院, 福利院)"
        return _empty_column_finding(rule_id, rules, area_name, "kind", reason, "没有养老机构（养老院、敬老院、福利院）")
    if not nursing.present:
        return _missing_column_finding(rule_id, rules, area_name, NURSING_BEDS_COLUMNS, "nursing-type beds", "护理型床位")
    if not beds.present:
        return _missing_column_finding(rule_id, rules, area_name, BEDS_COLUMNS, "beds", "床位数")
    if not nursing.known.any():
        return _empty_column_finding(
            rule_id,
            rules,
            area_name,
            nursing.name,
            "no facility has a nursing-type bed count",
            "所有设施均缺少护理型床位数",
        )
    if not beds.known.all():
        n = int((~beds.known).sum())
        reason = f"{_facilities_text(n)} no total bed count ({beds.unknown_ids()}), so the share is unbounded"
        reason_zh = f"{n}个设施缺少床位总数（{beds.unknown_ids()}），占比无法确定"
        return _empty_column_finding(rule_id, rules, area_name, beds.name, reason, reason_zh)
    total = float(beds.values.sum())
    if total == 0:
        return _empty_column_finding(
            rule_id, rules, area_name, beds.name, "the facilities have no beds at all", "设施床位总数为0"
        )
    known = nursing.known
    low = float(nursing.values[known].sum()) / total
    high = (float(nursing.values[known].sum()) + float(beds.values[~known].sum())) / total
    n_unknown = int((~known).sum())
    if n_unknown:
        note = (
            f"; {_facilities_text(n_unknown)} no nursing-type count ({nursing.unknown_ids()}), "
            f"so the share lies between {_pct(low)} and {_pct(high)}"
        )
        note_zh = (
            f"；{n_unknown}个设施缺少护理型床位数（{nursing.unknown_ids()}），占比介于{_pct(low)}与{_pct(high)}之间"
        )
    else:
        note = note_zh = ""
    if low >= required:
        status, measured, shortfall, verdict, verdict_zh = PASS, low, 0.0, "meets", "达到"
    elif high < required:
        status, measured, shortfall, verdict, verdict_zh = FAIL, high, required - high, "falls short of", "未达到"
    else:
        message = (
            f"{area_name}: {rule_id} cannot be assessed: the nursing-type bed share of {who} lies between {_pct(low)} and "
            f"{_pct(high)} ({rule_id} asks ≥ {_pct(required)}) because {_facilities_text(n_unknown)} no nursing-type "
            f"bed count ({nursing.unknown_ids()})."
        )
        message_zh = (
            f"{area_name}：{who_zh}护理型床位占比介于{_pct(low)}与{_pct(high)}之间（{rule_id}要求不低于{_pct(required)}），"
            f"{n_unknown}个设施缺少护理型床位数（{nursing.unknown_ids()}），无法评估。"
        )
        return Finding(rule_id, "area", area_name, NOT_ASSESSABLE, None, required, None, rule.unit, message, message_zh)
    shown = (
        _pct(measured) if not n_unknown else (f"at least {_pct(low)}" if status == PASS else f"at most {_pct(high)}")
    )
    shown_zh = _pct(measured) if not n_unknown else (f"至少{_pct(low)}" if status == PASS else f"至多{_pct(high)}")
    message = (
        f"{area_name}: the nursing-type bed share of {who} is {shown} of {_fmt(total)} beds, which {verdict} {rule_id} "
        f"(≥ {_pct(required)}){note}."
    )
    message_zh = f"{area_name}：{who_zh}护理型床位占比{shown_zh}（床位总数{_fmt(total)}张），{verdict_zh}{rule_id}要求（不低于{_pct(required)}）{note_zh}。"
    return Finding(rule_id, "area", area_name, status, measured, required, shortfall, rule.unit, message, message_zh)


def _check_dementia_beds(rules: RuleSet, area_name: str, dementia: _Column) -> Finding:
    """C3: dementia-care beds ≥ the rule's value."""
    if not dementia.present:
        return _missing_column_finding(
            "C3", rules, area_name, DEMENTIA_BEDS_COLUMNS, "dementia-care beds", "失智照护床位"
        )
    if dementia.values.size and not dementia.known.any():
        return _empty_column_finding(
            "C3",
            rules,
            area_name,
            dementia.name,
            "no facility has a dementia-care bed count",
            "所有设施均缺少失智照护床位数",
        )
    known = dementia.known
    return _lower_bound_finding(
        "C3",
        rules,
        area_name,
        float(dementia.values[known].sum()),
        int((~known).sum()),
        dementia.unknown_ids(),
        what="the number of dementia-care beds",
        what_zh="失智老年人照护床位",
        unit_zh="张",
        measured_of=" beds",
    )


def _check_institutions(rules: RuleSet, area_name: str, kinds: np.ndarray | None) -> Finding:
    """C7: institutions of kind ``nursing_home`` ≥ the rule's value."""
    rule = rules["C7"]
    required = float(rule.value)
    if kinds is None:
        return _missing_column_finding("C7", rules, area_name, ("kind",), "facility kind", "设施类型")
    count = float(np.count_nonzero(kinds == INSTITUTION_KIND))
    passed = count >= required
    status = PASS if passed else FAIL
    caveat = "; every care home counts, the layer does not say which is the county-level institution for poor, disabled and frail elderly"
    caveat_zh = "；按全部养老院计数，图层无法区分县级特困人员供养服务机构"
    message = (
        f"{area_name}: {_fmt(count)} residential care institution{'' if count == 1 else 's'} (kind {INSTITUTION_KIND}), which "
        f"{'meets' if passed else 'falls short of'} C7 (≥ {_fmt(required)}){caveat}."
    )
    message_zh = (
        f"{area_name}：养老机构（养老院/敬老院等）{_fmt(count)}所，{'达到' if passed else '未达到'}C7要求"
        f"（不少于{_fmt(required)}所）{caveat_zh}。"
    )
    shortfall = 0.0 if passed else required - count
    return Finding("C7", "area", area_name, status, count, required, shortfall, rule.unit, message, message_zh)
