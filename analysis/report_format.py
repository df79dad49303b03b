"""Words and numbers of the filed report: Chinese verdicts, column headers with units, rounding.

One place says how a value reads in the report (HTML, PDF and Excel alike): verdicts are 通过 /
未通过 / 无法评估 (never ``True``/``False`` or ``fail``), areas are whole m², shares are
percentages, minutes have one decimal, an unreachable distance is "不可达 unreachable" (never
``inf``), and nested values (the speed presets, the input sources) become readable rows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from analysis.verdicts import FAIL, NOT_ASSESSABLE, PASS

#: Verdict words, Chinese then English.
STATUS_ZH: dict[str, str] = {PASS: "通过", FAIL: "未通过", NOT_ASSESSABLE: "无法评估"}
STATUS_EN: dict[str, str] = {PASS: "pass", FAIL: "not passed", NOT_ASSESSABLE: "not assessable"}
STATUS_COLOUR: dict[str, str] = {PASS: "#2e7d32", FAIL: "#c62828", NOT_ASSESSABLE: "#757575"}
YES_NO_ZH: dict[bool, str] = {True: "是", False: "否"}
UNREACHABLE = "不可达 unreachable"

#: Short Chinese names of the rule ids of ``../shared/PLANNING_RULES.md`` (a rule file may give
#: its own with ``name_zh``); the rule's full Chinese text comes from the rule file.
RULE_NAME_ZH: dict[str, str] = {
    "W1": "一刻钟步行养老服务圈",
    "W2": "老年人步行速度",
    "W3": "生活圈分级（5/10/15分钟）",
    "W4": "路网步行距离与离路网上限",
    "Q1": "人均养老服务用地",
    "Q1b": "人均养老服务用地（0.1平方米）",
    "Q2": "每百户养老服务建筑面积",
    "Q3": "单体用房面积下限",
    "Q4": "新建居住区配建达标率",
    "Q5": "四同步",
    "T1": "街道（乡镇）综合养老服务中心覆盖率",
    "T2": "街道中心和社区站全覆盖",
    "T3": "一街道一中心、一社区一站",
    "T4": "人口3万以上社区增设日间照料点",
    "T5": "社区日间照料机构覆盖率",
    "T6": "镇区域养老服务中心建有率",
    "T7": "农村三级养老服务网络",
    "C1": "养老服务床位总量",
    "C2": "养老机构护理型床位占比",
    "C2b": "公办养老机构护理型床位占比",
    "C3": "失智老年人照护床位",
    "C4": "每千名老年人社会工作者",
    "C5": "每千名老年人床位数",
    "C6": "医养毗邻建设",
    "C7": "县级特困失能老年人养老机构",
    "C8": "县级医养结合特困供养机构",
    "R1": "农村养老大院/互助站全覆盖",
    "M1": "助餐服务覆盖居住小区",
    "O1": "老旧小区补建养老服务设施",
}

#: Column headers: column name → (Chinese, English with unit). Columns not listed keep their name
#: as the English header, with a unit guessed from the suffix (``_m2``, ``_m``, ``_minutes``, ...).
COLUMN_LABELS: dict[str, tuple[str, str]] = {
    "rule_id": ("规则", "rule"),
    "rule": ("规则", "rule"),
    "subject_kind": ("对象类型", "subject kind"),
    "subject": ("对象", "subject"),
    "status": ("结论", "verdict"),
    "measured": ("实测值", "measured"),
    "required": ("要求值", "required"),
    "shortfall": ("差额", "shortfall"),
    "unit": ("单位", "unit"),
    "message": ("说明（英文）", "finding (English)"),
    "message_zh": ("说明", "finding (Chinese)"),
    "district": ("居住区", "residential district"),
    "township": ("街道（乡镇）", "township / street"),
    "name": ("名称", "name"),
    "residents": ("居民（人）", "residents (persons)"),
    "households": ("户数（户）", "households"),
    "population": ("人口（人）", "population (persons)"),
    "elderly_population": ("老年人口（人）", "elderly 60+ (persons)"),
    "elderly_covered": ("步行可达老年人（人）", "elderly within the walk (persons)"),
    "elderly_uncovered": ("步行不可达老年人（人）", "elderly outside the walk (persons)"),
    "centres": ("综合中心（个）", "comprehensive centres"),
    "stations": ("社区站（个）", "community stations"),
    "day_care": ("日间照料（个）", "day-care facilities"),
    "nursing_homes": ("养老机构（个）", "nursing homes"),
    "health_centres": ("卫生服务中心（个）", "health centres"),
    "facilities": ("设施（个）", "facilities"),
    "value": ("数值", "value"),
    "parameter": ("参数", "parameter"),
    "origin": ("来源类型", "origin"),
    "text_zh": ("规则原文", "rule text (Chinese)"),
    "name_zh": ("名称", "name"),
    "gloss": ("内容（英文）", "gloss"),
    "source": ("出处", "source"),
    "documents": ("依据文件", "documents"),
    "further parameters": ("其他参数", "further parameters"),
    "rank": ("序号", "rank"),
    "added_elderly": ("新增覆盖老年人（人）", "elderly newly covered (persons)"),
    "covered_elderly": ("累计覆盖老年人（人）", "elderly covered, cumulative (persons)"),
    "covered_share": ("累计覆盖比例（%）", "covered share, cumulative (%)"),
    "land_area_m2": ("用地面积（m²）", "land area (m²)"),
    "building_area_m2": ("建筑面积（m²）", "building area (m²)"),
    "beds": ("床位（张）", "beds"),
    "sources": ("数据来源", "data sources"),
}
#: Columns of the scenario comparison (analysis/scenario_compare.py, ``check --scenario``).
COLUMN_LABELS.update({
    "elderly_covered_baseline": ("现状步行可达老年人（人）", "elderly within the walk, baseline (persons)"),
    "elderly_covered_scenario": ("方案步行可达老年人（人）", "elderly within the walk, scenario (persons)"),
    "elderly_covered_change": ("步行可达老年人变化（人）", "change in elderly within the walk (persons)"),
    "covered_share_baseline": ("现状覆盖比例（%）", "covered share, baseline (%)"),
    "covered_share_scenario": ("方案覆盖比例（%）", "covered share, scenario (%)"),
    "status_baseline": ("现状结论", "verdict, baseline"),
    "status_scenario": ("方案结论", "verdict, scenario"),
    "measured_baseline": ("现状实测值", "measured, baseline"),
    "measured_scenario": ("方案实测值", "measured, scenario"),
    "changed": ("是否变化", "changed"),
    "passed_baseline": ("现状通过", "passed, baseline"),
    "failed_baseline": ("现状未通过", "failed, baseline"),
    "not_assessable_baseline": ("现状无法评估", "not assessable, baseline"),
    "passed_scenario": ("方案通过", "passed, scenario"),
    "failed_scenario": ("方案未通过", "failed, scenario"),
    "not_assessable_scenario": ("方案无法评估", "not assessable, scenario"),
    "number": ("序号", "number"),
    "change": ("调整", "change"),
    "description": ("说明", "description"),
    "facility_id": ("设施编号", "facility id"),
})

_SUFFIX_UNITS: tuple[tuple[str, str, str], ...] = (
    ("_m2", "m²", "m2"),
    ("_minutes", "分钟", "min"),
    ("_min", "分钟", "min"),
    ("_share", "%", "share"),
    ("_m", "米", "m"),
)


def column_label(column: str) -> tuple[str, str]:
    """Chinese and English header of a table column, each with its unit.

    Parameters
    ----------
    column : str
        Column name of a report table (``q1_required_m2``, ``w1_share``, ``elderly_covered``).

    Returns
    -------
    (str, str)
        ``("Q1 要求（m²）", "q1 required (m²)")``-style headers.
    """
    if column in COLUMN_LABELS:
        return COLUMN_LABELS[column]
    parts = column.split("_")
    if "share" in parts:
        rest = " ".join(p for p in parts if p != "share")
        zh = _words_zh(rest) if rest else ""
        return zh + (" " if zh[-1:].isascii() and zh else "") + "比例（%）", f"{_rule_prefix(' '.join(parts))} (%)"
    words = column.replace("_", " ")
    for suffix, unit_zh, unit_en in _SUFFIX_UNITS:
        if column.endswith(suffix):
            stem = (column if unit_en == "share" else column[: -len(suffix)]).replace("_", " ")
            unit = "%" if unit_en == "share" else unit_zh if unit_en != "m2" else "m²"
            english_unit = "%" if unit_en == "share" else ("m²" if unit_en == "m2" else unit_en)
            zh = _words_zh(stem) + f"（{unit}）"
            return zh, f"{_rule_prefix(stem)} ({english_unit})"
    if column.endswith("_status"):
        stem = column[: -len("_status")]
        return f"{_words_zh(stem.replace('_', ' '))} 结论", f"{_rule_prefix(stem.replace('_', ' '))} verdict"
    return _words_zh(words), words


#: Words of generated column names, in Chinese (a column header reads in Chinese where it can).
WORDS_ZH: dict[str, str] = {
    "required": "要求", "provided": "现有", "shortfall": "缺口", "share": "比例", "elderly": "老年人",
    "covered": "覆盖", "uncovered": "未覆盖", "walk": "步行", "distance": "距离", "snap": "离路网",
    "population": "人口", "residents": "居民", "beyond": "范围外", "basis": "依据", "below": "低于",
    "minimum": "下限", "meets": "满足", "stations": "社区站", "communities": "社区", "without": "无",
    "station": "站", "beds": "床位", "per": "每", "rural": "农村", "town": "镇", "nearest": "最近",
    "facility": "设施", "facilities": "设施", "source": "来源", "age": "年代", "class": "类别",
    "completion": "竣工", "year": "年份", "counts": "数量", "check": "核查", "other": "其他",
    "health": "卫生", "centres": "中心", "on": "在", "network": "路网", "component": "连通分量",
    "footprint": "基底", "storeys": "层数", "residential": "居住", "kind": "类型", "target": "目标",
    "area": "面积", "land": "用地", "building": "建筑", "candidate": "候选", "id": "编号", "model": "模型",
    "served": "服务", "saved": "节省", "demo": "示例（DEMO）", "opening": "开业", "households": "户数",
    "minutes": "分钟", "tier": "生活圈层级", "compound": "居住小区", "compounds": "居住小区", "meal": "助餐点",
    "inside": "在内", "reached": "可达", "capacity": "容量", "name": "名称", "township": "街道", "district": "居住区",
    "new": "新建", "old": "老旧", "status": "状态", "subject": "对象", "rule": "规则", "value": "数值",
    "measured": "实测", "total": "合计", "county": "县（市、区）", "village": "村",
    "villages": "村", "counties": "县", "townships": "街道", "districts": "居住区", "count": "数量",
    "1000": "千名", "2sfca": "（两步移动搜索法）",
}


def _words_zh(stem: str) -> str:
    """A generated column name in Chinese where every word is known, else the words as they are."""
    if re.fullmatch(r"(19|20)\d\d", stem):
        return f"{stem}年"
    words = stem.split()
    if words and all(w in WORDS_ZH or re.fullmatch(r"[a-z]\d+b?|\d+", w) for w in words):
        return "".join(WORDS_ZH.get(w, w.upper() + " ") for w in words).strip()
    return _rule_prefix(stem)


def _rule_prefix(stem: str) -> str:
    """``q1 required`` → ``Q1 required`` (rule ids upper case; the rest stays as words)."""
    return re.sub(r"\b([a-z]\d+b?)\b", lambda m: m.group(1).upper(), stem)


def column_kind(column: str) -> str:
    """How a column's numbers are rounded: ``area``, ``share``, ``minutes``, ``metres``, ``count`` or ``number``."""
    if column.endswith("_m2") or "area" in column:
        return "area"
    if "share" in column.split("_"):
        return "share"
    if "minutes" in column or column.endswith("_min"):
        return "minutes"
    if column.endswith(("_m", "distance")):
        return "metres"
    if column == "unit":
        return "unit"
    if column in {"residents", "households", "population", "elderly_population", "elderly_covered", "elderly_uncovered",
                  "added_elderly", "covered_elderly", "served_elderly", "beds"} or column.endswith("_population"):
        return "count"
    return "number"


def format_number(value: float, kind: str = "number") -> str:
    """One number as printed: areas and persons whole, shares in %, minutes one decimal.

    Infinite values (an unreachable facility) print as :data:`UNREACHABLE`, NaN as an empty cell.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    value = float(value)
    if math.isinf(value):
        return UNREACHABLE
    if kind == "share":
        return f"{value * 100:.1f}%"
    if kind == "minutes":
        return f"{value:.1f}"
    if kind in {"area", "metres", "count"}:
        return f"{value:,.0f}"
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.3g}" if abs(value) < 1 else f"{value:,.2f}".rstrip("0").rstrip(".")


_VERDICT_WORD = re.compile(r"\b(fail|fails|failed|not_assessable|inf|True|False|None|nan)\b")
_VERDICT_PLAIN = {"fail": "not passed", "fails": "does not pass", "failed": "not passed",
                  "not_assessable": "not assessable", "inf": "unreachable", "True": "yes", "False": "no",
                  "None": "—", "nan": "—"}


def plain_text(text: str) -> str:
    """A text cell as the report prints it: a bare verdict in Chinese (``fail`` → 未通过); in prose
    the code words ``fail``, ``not_assessable``, ``inf``, ``True``/``False``/``None`` become plain English."""
    if text in STATUS_ZH:
        return STATUS_ZH[text]
    return _verdict_plain(text)


def _verdict_plain(text: str) -> str:
    return _VERDICT_WORD.sub(lambda m: _VERDICT_PLAIN[m.group(1)], text)


def format_value(value: Any, kind: str = "number") -> str:
    """Any cell value as report text: verdicts and booleans in Chinese, numbers rounded, no reprs."""
    if isinstance(value, str):
        return value.replace("m2", "m²") if kind == "unit" else plain_text(value)
    if isinstance(value, bool | np.bool_):
        return YES_NO_ZH[bool(value)]
    if isinstance(value, int | np.integer):
        return f"{int(value):,}" if kind != "share" else format_number(float(value), kind)
    if isinstance(value, float | np.floating):
        return format_number(float(value), kind)
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, Mapping):
        return "; ".join(f"{k} = {format_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return ", ".join(format_value(v) for v in value)
    return str(value)


def display_frame(table: pd.DataFrame) -> pd.DataFrame:
    """A table as report text: geometry dropped, verdicts in Chinese, numbers rounded by column kind."""
    plain = pd.DataFrame(table.drop(columns="geometry", errors="ignore"))
    out = pd.DataFrame(index=plain.index)
    for column in plain.columns:
        kind = column_kind(str(column))
        out[column] = [format_value(v, kind) for v in plain[column].tolist()]
    return out


def excel_value(value: Any, kind: str) -> Any:
    """A cell value for the workbook: numbers stay numbers (rounded), verdicts and flags in Chinese.

    Shares are returned as fractions (the cell gets a ``0.0%`` number format), infinite values
    as :data:`UNREACHABLE`, NaN as an empty cell.
    """
    if isinstance(value, bool | np.bool_):
        return YES_NO_ZH[bool(value)]
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        if math.isnan(value):
            return None
        if math.isinf(value):
            return UNREACHABLE
        if kind in {"area", "metres", "count"}:
            return round(value)
        if kind == "minutes":
            return round(value, 1)
        if kind == "share":
            return round(value, 4)
        return round(value, 3)
    if isinstance(value, str):
        return value.replace("m2", "m²") if kind == "unit" else plain_text(value)
    if value is None or value is pd.NA:
        return None
    return format_value(value, kind)


def parameter_rows(parameters: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The run's parameters as (name, value) text rows; a nested mapping becomes one row per key.

    ``{"sources": {"network": "a.pbf"}}`` gives ``("sources · network", "a.pbf")``; the speed presets
    ``{"elderly": 0.8, ...}`` give ``("… · elderly", "0.8")``. No Python ``dict`` repr is printed.
    """
    rows: list[tuple[str, str]] = []
    for name, value in parameters.items():
        if isinstance(value, Mapping):
            if not value:
                rows.append((str(name), "—"))
            for key, inner in value.items():
                rows.append((f"{name} · {key}", file_names_only(format_value(inner))))
        else:
            rows.append((str(name), file_names_only(format_value(value))))
    return rows


def rule_name_zh(rule: Any) -> str:
    """The short Chinese name of a rule: ``name_zh`` of the rule file, else :data:`RULE_NAME_ZH`, else its text."""
    return str(rule.extra.get("name_zh") or RULE_NAME_ZH.get(rule.id) or rule.text_zh)


def rule_documents(rule: Any, documents: Mapping[str, Mapping[str, str]]) -> str:
    """The documents a rule cites, by title and 文号: ``《磐石市…规划》（磐政办发〔2023〕4号） （三）… 1.…``.

    Rules without a ``cite`` list (standards, project parameters) return their ``source`` text.
    """
    cites = rule.extra.get("cite") or []
    parts = []
    for cite in cites:
        doc = documents.get(str(cite.get("seed", "")), {})
        title = doc.get("title", "")
        number = doc.get("number", "")
        section = " ".join(cite.get("section", []) or [])
        text = f"seed {cite.get('seed')} " + (f"《{title}》" if title else "")
        if number:
            text += f"（{number}）"
        if section:
            text += f" {section}"
        parts.append(text)
    return "；".join(parts) if parts else rule.source.strip()


def preset_rows(rule: Any, minutes: float) -> list[tuple[str, str]]:
    """The walking-speed presets of W2 as rows: name, speed in m/s, distance walked in ``minutes`` (m)."""
    presets = rule.extra.get("presets") or {}
    return [(str(name), f"{float(speed):g} m/s · {float(speed) * 60 * minutes:,.0f} m / {minutes:g} 分钟 min")
            for name, speed in presets.items()]


def rule_set_documents(rules: Any) -> dict[str, dict[str, str]]:
    """The ``[documents]`` table of a rule file (seed → title, number (文号), issuer); empty when absent."""
    import tomllib

    try:
        data = tomllib.loads(rules.path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError, AttributeError):
        return {}
    documents = data.get("documents", {})
    return {str(k): dict(v) for k, v in documents.items() if isinstance(v, Mapping)}


_PATH = re.compile(r"(?<![\w.])(?:[A-Za-z]:[\\/]|~?/|\.\.?/)(?:[^\s/\\'\"()]+[/\\])*([^\s/\\'\"()]+)")


def file_names_only(text: str) -> str:
    """Server paths in a text reduced to their file names (``/srv/data/a.gpkg`` → ``a.gpkg``)."""
    return _PATH.sub(lambda m: m.group(1), text)


def sources_lines(sources: Mapping[str, Any]) -> list[str]:
    """The data sources as short lines for a map or a table: ``路网 network: nanjing.osm.pbf (© OpenStreetMap …)``."""
    names = {"network": "路网 streets", "facilities": "设施 facilities", "population": "人口 population"}
    lines = []
    for key, value in sources.items():
        text = file_names_only(str(value))
        if key == "network" and re.search(r"\.(osm|pbf)\b", text, re.IGNORECASE) and "OpenStreetMap" not in text:
            text += " (© OpenStreetMap contributors, ODbL)"
        lines.append(f"{names.get(key, key)}: {text}")
    return lines
