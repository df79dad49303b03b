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


# Accepted names (compared stripped and lower case; the first present wins) of the columns the
# planning checks read. English first, then Chinese.

#: Total beds of a facility (C1, C2, C5).
BEDS_ALIASES: tuple[str, ...] = ("beds", "bed", "床位", "床位数", "capacity")
#: Nursing-type beds 护理型床位 (C2, C2b).
NURSING_BEDS_ALIASES: tuple[str, ...] = ("nursing_beds", "护理型床位", "护理床位", "护理型床位数", "护理床位数")
#: Dementia-care beds 失智床位 (C3).
DEMENTIA_BEDS_ALIASES: tuple[str, ...] = (
    "dementia_beds", "失智床位", "认知症床位", "失智照护床位", "失智床位数", "失智照护床位数",
)
#: Ownership 公办/民办 of an institution (C2b).
OWNERSHIP_ALIASES: tuple[str, ...] = (
    "ownership", "owner_type", "public_private", "性质", "机构性质", "公办民办", "公办/民办", "举办性质", "所有制",
)
#: Stage of a district's housing (Q5): planned, built, accepted, handed over.
HOUSING_STAGE_ALIASES: tuple[str, ...] = ("housing_stage", "housing_status", "住宅阶段", "住宅进度", "住宅状态", "房屋状态")
#: Stage of a district's elderly-service facility (Q5).
FACILITY_STAGE_ALIASES: tuple[str, ...] = (
    "facility_stage", "facility_status", "q5_status", "status", "配套阶段", "设施阶段", "设施状态", "配套设施状态", "四同步",
)

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
