"""Verdict helpers shared by the area checks: ``measured >= required`` up to rounding, the count a
quota's unit is per, combined statuses, and the area-level share findings (Q4, T1, T2, ...).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

from analysis.message_format import STATUS_ZH, fmt_share
from analysis.rules import Rule
from analysis.verdicts import FAIL, NOT_ASSESSABLE, PASS, Finding
from layers.defaults import RELATIVE_TOLERANCE
from layers.errors import FieldError

PathLike = str | Path


def meets(measured: float, required: float) -> bool:
    """``measured >= required`` up to rounding of the arithmetic."""
    return bool(measured >= required - RELATIVE_TOLERANCE * max(1.0, abs(required)))


def per_count(rule: Rule, noun: str, *, file: PathLike | None = None) -> float:
    """The count a quota's unit is per: ``m2/100 households`` → 100, ``m2/person`` → 1.

    Raises
    ------
    FieldError
        The unit does not name ``noun`` (the rule file's unit and the check disagree).
    """
    match = re.fullmatch(rf"\s*[^/]+/\s*(\d+(?:\.\d+)?)?\s*{noun}s?\s*", rule.unit)
    if match is None:
        msg = f"rule {rule.id} has unit '{rule.unit}'; the check needs a quota per {noun} (e.g. 'm2/100 {noun}s')"
        raise FieldError(msg, file=file, layer=f"rules.{rule.id}", field="unit")
    return float(match.group(1)) if match.group(1) else 1.0


def area_share_finding(
    rule_id: str,
    subject: str,
    passed: int,
    failed: int,
    unknown: int,
    target: float,
    *,
    what: str,
    what_zh: str,
    label: str,
) -> Finding:
    """An area-level share verdict (Q4, T1, T2, ...), decided despite unknown subjects when it can be.

    Passes when the subjects known to pass already reach ``target``; fails when even all unknown
    subjects passing would not; otherwise not assessable. The message reads
    ``"T1 2025: 3/5 = 60 % ≥ 60 % pass"``.
    """
    total = passed + failed + unknown
    if total == 0:
        return Finding(
            rule_id,
            "area",
            subject,
            NOT_ASSESSABLE,
            None,
            target,
            None,
            "share",
            f"{label}: no {what} to assess",
            f"{label}：没有可评估的{what_zh}",
        )
    low = passed / total
    high = (passed + unknown) / total
    needed = max(math.ceil(target * total - RELATIVE_TOLERANCE * total), 0) - passed
    unknown_en = f" ({unknown} not assessable)" if unknown else ""
    unknown_zh = f"（{unknown} 个无法评估）" if unknown else ""
    if meets(low, target):
        status, sign = PASS, "≥"
        shortfall = 0.0
    elif not meets(high, target):
        status, sign = FAIL, "<"
        shortfall = target - low
    else:
        status, sign = NOT_ASSESSABLE, "?"
        shortfall = None
    en = f"{label}: {passed}/{total} = {fmt_share(low)} {sign} {fmt_share(target)} {status}{unknown_en}"
    zh = f"{label}：{passed}/{total} = {fmt_share(low)} {sign} {fmt_share(target)} {STATUS_ZH[status]}{unknown_zh}"
    if status == FAIL:
        en += f"; {needed} more {what} must meet it"
        zh += f"；还需 {needed} 个{what_zh}达标"
    return Finding(rule_id, "area", subject, status, low, target, shortfall, "share", en, zh)


def combine_statuses(statuses: Sequence[str]) -> str:
    """fail if any fails, pass if all pass, else not assessable."""
    if FAIL in statuses:
        return FAIL
    if all(s == PASS for s in statuses):
        return PASS
    return NOT_ASSESSABLE
