"""Findings: one verdict of one rule on one subject (a district, a township, a facility, the area).

Every check returns a list of :class:`Finding`; reports, the CLI's JSON and the app read only these.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import pandas as pd

PASS = "pass"
FAIL = "fail"
NOT_ASSESSABLE = "not_assessable"
STATUSES = (PASS, FAIL, NOT_ASSESSABLE)


@dataclass(frozen=True)
class Finding:
    """The verdict of one rule on one subject.

    Attributes
    ----------
    rule_id : str
        Rule id (``"Q1"``); the rule's text and source come from the rule set.
    subject_kind : str
        ``"district"``, ``"township"``, ``"facility"``, ``"community"`` or ``"area"``.
    subject : str
        Name or id of the subject.
    status : str
        ``"pass"``, ``"fail"`` or ``"not_assessable"`` (a missing input is never a zero).
    measured, required : float or None
        What the subject has and what the rule asks, in ``unit``.
    shortfall : float or None
        The gap to the rule when failing, in ``unit`` (``required - measured`` for minimums,
        ``measured - required`` for maximums such as C6's walking distance), else 0 or None.
    unit : str
        Unit of the three numbers.
    message : str
        English sentence saying what was found, with the numbers.
    message_zh : str
        The same in Chinese.
    """

    rule_id: str
    subject_kind: str
    subject: str
    status: str
    measured: float | None
    required: float | None
    shortfall: float | None
    unit: str
    message: str
    message_zh: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}; use one of {STATUSES}")


def findings_frame(findings: Iterable[Finding]) -> pd.DataFrame:
    """All findings as a table, one row each."""
    rows = [asdict(f) for f in findings]
    columns = list(Finding.__dataclass_fields__)
    return pd.DataFrame(rows, columns=columns)


def summarise(findings: Iterable[Finding]) -> dict[str, dict[str, int]]:
    """Counts per rule id: ``{"Q1": {"assessed": 3, "passed": 2, "failed": 1, "not_assessable": 0}}``.

    ``assessed`` counts subjects with a pass or fail verdict.
    """
    out: dict[str, dict[str, int]] = {}
    for f in findings:
        counts = out.setdefault(f.rule_id, {"assessed": 0, "passed": 0, "failed": 0, "not_assessable": 0})
        if f.status == PASS:
            counts["assessed"] += 1
            counts["passed"] += 1
        elif f.status == FAIL:
            counts["assessed"] += 1
            counts["failed"] += 1
        else:
            counts["not_assessable"] += 1
    return dict(sorted(out.items()))
