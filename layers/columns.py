"""Finding a column by any of its accepted names (English or Chinese, any case)."""

from __future__ import annotations

from collections.abc import Sequence


def find_column(columns: Sequence[object], aliases: Sequence[str]) -> str | None:
    """Return the first column whose name (stripped, case-insensitive) is one of ``aliases``.

    ``aliases`` are tried in order, so the preferred name goes first; ``None`` when none matches.
    """
    lower = {str(c).strip().lower(): c for c in columns}
    for alias in aliases:
        if alias.lower() in lower:
            return lower[alias.lower()]
    return None


#: Accepted names of a facility's opening year (the year it opens or opened to residents).
OPENING_YEAR_ALIASES: tuple[str, ...] = (
    "opening_year", "open_year", "year_opened", "投用年份", "建成年份", "开业年份", "运营年份", "投入使用年份",
)

#: Accepted names of a residential district's completion year (竣工/建成).
COMPLETION_YEAR_ALIASES: tuple[str, ...] = (
    "completion_year", "completed", "year_built", "built_year", "竣工年份", "建成年份", "竣工时间", "建成时间",
)

#: Years outside this range are typing errors, not plans (calendar years, inclusive).
YEAR_RANGE: tuple[int, int] = (1900, 2100)


def parse_years(values: Sequence[object]) -> tuple[list[float], list[int]]:
    """Read calendar years from numbers or text such as ``2026``, ``"2026年"``, ``"2026-06"``.

    Returns
    -------
    (years, bad_rows)
        ``years`` as floats (NaN where empty); ``bad_rows`` the positions of values that are
        neither empty nor a year within :data:`YEAR_RANGE`.
    """
    import math
    import re

    years: list[float] = []
    bad: list[int] = []
    for i, value in enumerate(values):
        if value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() in ("", "<NA>", "nan"):
            years.append(float("nan"))
            continue
        match = re.match(r"^\s*(\d{4})(?:\.0+)?(?:\s*年|[-/.]\d{1,2}.*)?\s*$", str(value))
        year = int(match.group(1)) if match else None
        if year is None or not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
            bad.append(i)
            years.append(float("nan"))
        else:
            years.append(float(year))
    return years, bad
