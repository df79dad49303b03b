"""New and old residential districts (新建/老旧小区): which is which, Q4 over new ones, the 清查 audit.

Q4 (新建居住区配套建设养老服务设施达标率) is the pass rate of **new** districts only; old districts
are measured apart, as a retrofit shortfall (O1, :mod:`analysis.retrofit`). A district is new or
old by, in this order:

1. an explicit class field (``age_class``/``新旧``/``小区类型``/``建设类型``, or a ``status`` field
   whose values are 新建/老旧 rather than 四同步 stages): 新建/new → new, 老旧/old/既有 → old;
2. its completion year (``completion_year``/``竣工年份``/``建成年份``): completed in or after the
   rule set's ``O1.new_since`` (2014) → new, before → old;
3. neither: ``unknown``. Unknown districts count as new for Q4 (the stricter reading: the quota of
   new districts applies) and a note says how many.

A layer with no class and no year at all keeps the former reading (every district counted for
Q4), and the notes say so. Districts completed after the year checked do not exist yet in that
year: :func:`completed_by` leaves them out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from analysis.districts import DistrictCheck, normalise_districts
from analysis.polygon_layers import read_vector_layer
from analysis.quota_verdicts import area_share_finding
from analysis.rules import RuleSet
from analysis.verdicts import FAIL, NOT_ASSESSABLE, PASS, Finding
from layers.columns import COMPLETION_YEAR_ALIASES, find_column, parse_years
from layers.errors import FieldError, InputError

NEW, OLD, UNKNOWN = "new", "old", "unknown"

#: Accepted names of an explicit new/old class field (compared case-insensitively).
AGE_CLASS_ALIASES: tuple[str, ...] = (
    "age_class", "new_or_old", "district_type", "新旧", "新建老旧", "新旧类型", "小区类型", "建设类型", "小区类别",
)

#: Words of a class field → new/old.
AGE_WORDS: dict[str, str] = {
    "新建": NEW, "新建小区": NEW, "新建居住区": NEW, "new": NEW, "新": NEW,
    "老旧": OLD, "老旧小区": OLD, "老": OLD, "old": OLD, "既有": OLD, "既有小区": OLD, "existing": OLD,
}


@dataclass
class DistrictAges:
    """New/old class of every district of a layer, in the layer's row order.

    Attributes
    ----------
    frame : DataFrame
        ``age_class`` (new/old/unknown), ``completion_year`` (NaN unknown), ``age_source``.
    new_since : int or None
        First completion year counted as new (rule set ``O1.new_since``).
    notes : list of str
    """

    frame: pd.DataFrame
    new_since: int | None
    notes: list[str] = field(default_factory=list)

    @property
    def known(self) -> bool:
        """Whether any district has a class or a completion year."""
        return bool((self.frame["age_class"] != UNKNOWN).any() or self.frame["completion_year"].notna().any())

    def subset(self, keep: np.ndarray) -> DistrictAges:
        """The rows where ``keep`` is True (renumbered)."""
        return DistrictAges(self.frame.loc[keep].reset_index(drop=True), self.new_since, list(self.notes))


def new_since_year(rules: RuleSet) -> int | None:
    """``O1.new_since`` of the rule set (first year of a new district), or None without rule O1."""
    if "O1" not in rules:
        return None
    value = rules["O1"].extra.get("new_since")
    if value is None:
        raise FieldError("rule O1 needs new_since (first completion year of a new district, e.g. 2014)",
                         file=rules.path, layer="rules.O1", field="new_since")
    return int(value)


def _class_of(values: pd.Series) -> np.ndarray:
    text = values.astype("string").str.strip().str.lower()
    return text.map(lambda v: AGE_WORDS.get(v, None) if isinstance(v, str) else None).to_numpy(dtype=object)


def district_ages(frame: gpd.GeoDataFrame, rules: RuleSet, *, file: str | Path | None = None,
                  layer: str = "districts") -> tuple[DistrictAges, gpd.GeoDataFrame]:
    """Class every district new/old and take 新建/老旧 words out of a ``status`` field.

    Parameters
    ----------
    frame : GeoDataFrame
        The district layer as read (any columns).
    rules : RuleSet
        Gives ``O1.new_since`` (first completion year counted as new).

    Returns
    -------
    (DistrictAges, GeoDataFrame)
        The classes, and the layer with a ``status`` field holding only 四同步 stages (its
        新建/老旧 words moved to the class), ready for :func:`analysis.districts.normalise_districts`.

    Raises
    ------
    FieldError
        Completion years that are not years, class words that are neither new nor old, or
        completion years with a rule set lacking ``O1.new_since``.
    """
    columns = [c for c in frame.columns if c != frame.geometry.name]
    n = len(frame)
    age = np.full(n, None, dtype=object)
    source = np.full(n, "unknown", dtype=object)
    notes: list[str] = []
    frame = frame.copy()
    class_col = find_column(columns, AGE_CLASS_ALIASES)
    status_col = find_column(columns, ("status",))
    if class_col is None and status_col is not None:
        words = _class_of(frame[status_col])
        given = frame[status_col].notna() & (frame[status_col].astype("string").str.strip() != "")
        if given.any() and all(w is not None for w in words[given.to_numpy()]):
            class_col = status_col
    if class_col is not None:
        words = _class_of(frame[class_col])
        given = (frame[class_col].notna() & (frame[class_col].astype("string").str.strip() != "")).to_numpy()
        bad = given & np.array([w is None for w in words])
        if bad.any():
            sample = frame[class_col][bad].astype(str).head(3).tolist()
            raise FieldError(f"values {sample} are neither 新建/new nor 老旧/old", file=file, layer=layer, field=str(class_col))
        age[given] = words[given]
        source[given] = f"field {class_col}"
        if class_col == status_col:
            frame[status_col] = pd.Series(pd.NA, index=frame.index, dtype="string")
            notes.append(f"the districts' '{status_col}' field holds 新建/老旧 (new/old), not 四同步 stages: Q5 has no stage to read")
    year_col = find_column(columns, COMPLETION_YEAR_ALIASES)
    years = np.full(n, np.nan)
    new_since = new_since_year(rules)
    if year_col is not None:
        parsed, bad_rows = parse_years(frame[year_col].tolist())
        if bad_rows:
            sample = frame[year_col].iloc[bad_rows[:3]].astype(str).tolist()
            raise FieldError(f"values {sample} (rows {bad_rows[:5]}) are not calendar years", file=file, layer=layer, field=str(year_col))
        years = np.asarray(parsed, dtype=float)
        if new_since is None and np.isfinite(years).any():
            raise InputError("the districts have completion years but the rule set has no O1 with new_since "
                             "(first year of a new district): add [rules.O1]", file=rules.path, layer="rules.O1")
        by_year = np.isfinite(years) & (age == None)  # noqa: E711 (object array)
        if by_year.any():
            age[by_year] = np.where(years[by_year] >= new_since, NEW, OLD)
            source[by_year] = f"completed {'≥'} {new_since} → new, before → old ({year_col})"
        disagree = (source != "unknown") & np.isfinite(years) & (age != np.where(years >= (new_since or 0), NEW, OLD))
        if disagree.any():
            notes.append(f"{int(disagree.sum())} districts have a new/old class that disagrees with their completion year: the class field wins")
    age[age == None] = UNKNOWN  # noqa: E711
    if (age == UNKNOWN).any() and (age != UNKNOWN).any():
        notes.append(f"{int((age == UNKNOWN).sum())} districts have neither a new/old class nor a completion year: "
                     "they count as new for Q4")
    ages = DistrictAges(pd.DataFrame({"age_class": age.astype(str), "completion_year": years, "age_source": source}),
                        new_since, notes)
    return ages, frame


def read_districts_with_age(path: str | Path, rules: RuleSet, *, layer: str | None = None) -> tuple[gpd.GeoDataFrame, DistrictAges]:
    """Read a district layer (see :func:`analysis.districts.read_districts`) and its new/old classes."""
    frame, file, layer_name = read_vector_layer(path, layer=layer, what="district", option="--districts-layer")
    ages, cleaned = district_ages(frame, rules, file=file, layer=layer_name)
    return normalise_districts(cleaned, file=file, layer=layer_name), ages


def unknown_ages(n: int, rules: RuleSet) -> DistrictAges:
    """Classes for a layer that says nothing about age (e.g. OSM residential areas)."""
    frame = pd.DataFrame({"age_class": [UNKNOWN] * n, "completion_year": np.full(n, np.nan), "age_source": ["unknown"] * n})
    return DistrictAges(frame, new_since_year(rules))


def completed_by(districts: gpd.GeoDataFrame, ages: DistrictAges, year: int) -> tuple[gpd.GeoDataFrame, DistrictAges, list[str]]:
    """The districts that exist in ``year``: completion year unknown or ≤ ``year``."""
    years = ages.frame["completion_year"].to_numpy(dtype=float)
    keep = ~(years > year)
    notes = []
    if (~keep).any():
        notes.append(f"{int((~keep).sum())} districts are completed after {year}: they are not checked for {year}")
    return districts.loc[keep].reset_index(drop=True), ages.subset(keep), notes


def q4_new_districts(check: DistrictCheck, ages: DistrictAges, rules: RuleSet, *, label_year: int | None = None) -> Finding:
    """Q4: share of new districts (unknown counted as new) meeting Q1-Q3, against the Q4 value."""
    met = check.table["meets_q1_q3"].to_numpy()
    new = ages.frame["age_class"].to_numpy() != OLD if ages.known else np.ones(len(met), dtype=bool)
    when = f" ({label_year})" if label_year is not None else ""
    return area_share_finding(
        "Q4",
        "new districts" if ages.known else "all districts",
        int(((met == PASS) & new).sum()),
        int(((met == FAIL) & new).sum()),
        int(((met == NOT_ASSESSABLE) & new).sum()),
        float(rules.value("Q4")),
        what="new districts" if ages.known else "districts",
        what_zh="新建小区" if ages.known else "小区",
        label=f"Q4 new districts meeting Q1-Q3{when}" if ages.known else f"Q4 districts meeting Q1-Q3{when}",
    )


def apply_ages(check: DistrictCheck, ages: DistrictAges, rules: RuleSet, *, label_year: int | None = None) -> None:
    """Add the classes to the district table and make Q4 count new districts only (in place).

    Old districts lose their Q2 finding (Q2 is the quota of new districts; their retrofit is O1).
    """
    table = check.table
    for column in ("age_class", "completion_year", "age_source"):
        table[column] = ages.frame[column].to_numpy()
    check.notes[:] = list(dict.fromkeys(check.notes + ages.notes))
    if not ages.known:
        check.notes.append("the district layer has no new/old class (新建/老旧) or completion year: every district counts for Q4")
    old_names = set(table.loc[table["age_class"] == OLD, "district"])
    kept = [
        f for f in check.findings
        if not (f.rule_id == "Q4" and f.subject_kind == "area")
        and not (f.rule_id == "Q2" and f.subject_kind == "district" and f.subject in old_names)
    ]
    kept.append(q4_new_districts(check, ages, rules, label_year=label_year))
    check.findings[:] = kept
    if old_names:
        check.notes.append(f"{len(old_names)} old districts (老旧) are measured by the retrofit standard O1, not by Q2 or Q4")


#: Columns of the 清查 audit table, in order.
AUDIT_COLUMNS: tuple[str, ...] = (
    "district", "completion_year", "age_source", "residents", "households",
    "q1_status", "q1_required_m2", "q1_provided_m2", "q1_shortfall_m2",
    "q2_status", "q2_required_m2", "q2_provided_m2", "q2_shortfall_m2",
    "q3_status", "meets_q1_q3",
)


def audit_table(check: DistrictCheck, ages: DistrictAges) -> pd.DataFrame:
    """The 2014-onward audit (清查): every new district, its Q1-Q3 verdict and shortfalls (m²).

    Rows: districts classed new (by field or completion year ≥ ``new_since``), latest first.
    ``verdict`` is ``meets_q1_q3``; shortfalls are 0 when passing and NaN when not assessable.
    """
    table = check.table
    new = (table["age_class"] == NEW).to_numpy() if "age_class" in table else np.zeros(len(table), dtype=bool)
    out = pd.DataFrame(table.loc[new, [c for c in AUDIT_COLUMNS if c in table.columns]]).reset_index(drop=True)
    out = out.rename(columns={"meets_q1_q3": "verdict"})
    return out.sort_values("completion_year", ascending=False, na_position="last", kind="stable").reset_index(drop=True)
