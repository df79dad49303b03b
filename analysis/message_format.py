"""Numbers, shares (0-1) and verdicts as the English and Chinese finding messages write them."""

from __future__ import annotations

import math

import numpy as np

from analysis.verdicts import FAIL, NOT_ASSESSABLE, PASS


def fmt_number(value: float | None) -> str:
    """A number for a message: thousands separated, at most two decimals."""
    if value is None or not np.isfinite(value):
        return "n/a"
    if math.isclose(value, round(value), abs_tol=1e-6):
        return f"{round(value):,}"
    if abs(value) >= 100:
        return f"{value:,.1f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def fmt_share(share: float) -> str:
    """A share (0-1) as a percentage: ``60 %``, ``62.5 %``."""
    if share is None or not np.isfinite(share):
        return "n/a"
    value = 100.0 * share
    return f"{round(value)} %" if math.isclose(value, round(value), abs_tol=0.05) else f"{value:.1f} %"


#: Verdicts in Chinese, for the Chinese messages.
STATUS_ZH: dict[str, str] = {PASS: "达标", FAIL: "未达标", NOT_ASSESSABLE: "无法评估"}
