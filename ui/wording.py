"""What the page shows of the analysis' own words: notes, sources, error details, table cells.

The analysis writes its notes, sources and error messages in English (the CLI's language). The
page shows them through :func:`message`: server paths cut to file names (in both languages), and in
中文 the message frames of ``data/i18n/zh_messages.toml`` translated, the numbers, names and ids
they hold kept as they are. :func:`display_table` gives a table as the page shows it: Chinese
column names and cell values, "—" for empty cells, areas in whole m², shares as percentages,
minutes to one decimal.
"""

from __future__ import annotations

import functools
import math
import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from ui.i18n import Translator, chinese_labels

MESSAGES_FILE = Path(__file__).resolve().parents[1] / "data" / "i18n" / "zh_messages.toml"
#: Shown for an empty cell (None, NaN, missing) in either language.
EMPTY = "—"

# A path with at least one folder (POSIX, or a Windows drive): the page shows its file name only.
_PATH = re.compile(
    r"(?<![\w/.])(?:[A-Za-z]:\\|/)(?=[A-Za-z._~])(?:[^\s'\"/\\:;,()]+[/\\])+(?P<name>[^\s'\"/\\:;,()]*[^\s'\"/\\:;,().])"
)


def file_names_only(text: str) -> str:
    """``text`` with every absolute path (``/srv/x/data/a.gpkg``, ``C:\\x\\a.gpkg``) cut to its file name."""
    return _PATH.sub(lambda match: match.group("name"), text)


@functools.cache
def _frames() -> tuple[list[tuple[re.Pattern, str]], list[tuple[re.Pattern, str]]]:
    """The message frames (whole messages) and phrases (parts of messages) of ``zh_messages.toml``."""
    with MESSAGES_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    frames = [(re.compile(entry["en"]), entry["zh"]) for entry in data.get("message", [])]
    phrases = [(re.compile(entry["en"]), entry["zh"]) for entry in data.get("phrase", [])]
    return frames, phrases


_SNAKE_ID = re.compile(r"(?<![A-Za-z0-9_/])[a-z]+(?:_[a-z]+)+(?![A-Za-z0-9_/])")


def _fragment(text: str, depth: int) -> str:
    """A captured part of a message: a label of ``zh.toml``, another message, or kept as it is."""
    labels = chinese_labels()
    if text in labels:
        return labels[text]
    return _translate(text, depth + 1)


def _translate(text: str, depth: int = 0) -> str:
    text = text.strip()
    if not text or depth > 6:
        return text
    frames, phrases = _frames()
    for pattern, template in frames:
        match = pattern.fullmatch(text)
        if match:
            values = {key: _fragment(value, depth) if value else "" for key, value in match.groupdict().items()}
            return template.format(**values)
    if "; " in text:  # a list of notes joined by "; ": each part on its own
        return "；".join(_translate(part, depth + 1) for part in text.split("; "))
    for pattern, replacement in phrases:
        text = pattern.sub(replacement, text)
    labels = chinese_labels()  # ids inside a Chinese message (W3 "community_station 5 分钟"): their labels
    return _SNAKE_ID.sub(lambda m: labels.get(m.group(0), m.group(0)), text)


def message(text: object, lang: str = "en") -> str:
    """A note, source or error detail as the page shows it: file names only; in ``"zh"`` translated.

    Parameters
    ----------
    text : object
        The analysis' English text (``str()`` is taken).
    lang : {"en", "zh"}
        Language of the page. A message without a frame in ``zh_messages.toml`` stays in English.
    """
    shown = file_names_only(str(text))
    return _translate(shown) if lang == "zh" else shown


def section_title(title: str, lang: str) -> str:
    """A bilingual section title of the analysis ("目标年份 Target years, side by side") in one language."""
    match = re.fullmatch(r"(?P<zh>.*?[\u4e00-\u9fff）)])\s*/?\s+(?P<en>[A-Za-z].*)", title)
    if match is None:
        return message(title, lang)
    return match.group("zh") if lang == "zh" else match.group("en")


def source_text(source: str, lang: str) -> str:
    """A rule's source (``Rule.source``) for the page: in 中文 the documents cited (title, 文号, section).

    The English source names each seed document with its title and section between English
    explanations; in 中文 the page keeps the kind (标准 / 项目参数 / 文件) and the documents.
    """
    if lang != "zh":
        return file_names_only(source)
    parts = []
    for part in source.split("; "):
        standards = re.findall(r"\b(?:GB|GB/T|TD/T|JGJ|CJJ)\s?\d[\d.]*-\d{4}", part)
        documents = [
            (doc + " " + section.strip()).strip()
            for doc, section in re.findall(r"(《[^》]+》(?:（[^）]*）)?)(?:\s*\[[^\]]*\])?\s*([^;(\[]*)", part)
        ]
        documents = [re.sub(r"\s+[A-Za-z][^\u4e00-\u9fff]*$", "", doc) for doc in documents]
        if part.startswith("project parameter"):
            parts.append("项目参数（政策文件未给出数值）" + ("：" + "；".join(documents) if documents else ""))
        elif part.startswith("standard"):
            parts.append("标准：" + "、".join(standards or ["国家标准"]))
        elif part.startswith("seed of "):
            parts.append("外省文件，本规则集同样采用：" + "；".join(documents))
        elif documents:
            parts.extend(documents)
        elif standards:
            parts.append("标准：" + "、".join(standards))
    return "；".join(dict.fromkeys(p for p in parts if p)) or "—"


# ----- tables -----------------------------------------------------------------------------------
_SHARE = re.compile(r"(^|_)(share|covered_share|share_reached|population_share|elderly_share)$|_share_|^w1_elderly_share$")
_AREA = re.compile(r"(_m2$|^area_m2|_area$)")
_MINUTES = re.compile(r"(^|_)minutes$|_min$")
#: Units of a finding or rule (the ``unit`` column) shown in their own words.
UNIT_TEXT_EN: dict[str, str] = {"m2": "m²", "m2/person": "m²/person", "m2/100 households": "m²/100 households"}


def percent(value: object, digits: int = 1) -> str:
    """A share 0-1 as a percentage, ``68.7 %``; "—" when empty."""
    number = _number(value)
    return EMPTY if number is None else f"{100 * number:.{digits}f} %"


def _number(value: object) -> float | None:
    if value is None or isinstance(value, bool | np.bool_):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def unit_text(unit: object, t: Translator) -> str:
    """A rule's unit (``m2``, ``share``, ``beds/1000 elderly`` ...) in the page's language."""
    if unit is None or (isinstance(unit, float) and unit != unit) or str(unit) == "":
        return EMPTY
    key = f"unit:{unit}"
    if t.lang == "zh":
        return chinese_labels().get(key, UNIT_TEXT_EN.get(str(unit), str(unit)))
    return "%" if str(unit) == "share" else UNIT_TEXT_EN.get(str(unit), str(unit))


def _format_number(value: object, kind: str | None) -> object:
    """A number as the page shows it: shares ``68.7 %``, areas whole, minutes one decimal, persons one decimal."""
    number = _number(value)
    if number is None:
        return value
    if kind == "share":
        return percent(number)
    if kind == "area":
        return f"{number:,.0f}"
    if kind in ("minutes", "persons"):
        return f"{number:,.1f}"
    if number == int(number) and abs(number) < 1e15:
        return f"{int(number):,}"
    return f"{number:,.2f}".rstrip("0").rstrip(".")


_PERSONS = re.compile(r"(population|elderly|residents|served|persons)")


def _column_kind(column: str) -> str | None:
    if _SHARE.search(column):
        return "share"
    if _AREA.search(column):
        return "area"
    if _MINUTES.search(column):
        return "minutes"
    if _PERSONS.search(column):
        return "persons"
    return None


def _text(value: str, t: Translator, memo: dict) -> str:
    """A text cell: file names only; in 中文 a label of ``zh.toml`` or a translated message."""
    if value in memo:
        return memo[value]
    shown = file_names_only(value)
    if t.lang == "zh":
        labels = chinese_labels()
        shown = labels[shown] if shown in labels else _translate(shown)
    elif re.fullmatch(r"[a-z0-9]+(?:_[a-z0-9]+)+", shown):
        shown = shown.replace("_", " ")
    memo[value] = shown
    return shown


def _cell(value: object, t: Translator, memo: dict, kind: str | None) -> object:
    """One cell for display: "—" when empty, yes/no, texts translated, numbers formatted by ``kind``."""
    if value is None or value is pd.NA or value is pd.NaT:
        return EMPTY
    if isinstance(value, bool | np.bool_):
        return t("yes") if value else t("no")
    if isinstance(value, str):
        return _text(value, t, memo)
    if isinstance(value, float | np.floating) and not math.isfinite(float(value)):
        return EMPTY
    if isinstance(value, int | float | np.integer | np.floating):
        return _format_number(value, kind)
    return str(value)


def display_table(table: pd.DataFrame, t: Translator) -> pd.DataFrame:
    """``table`` as the page shows it (a copy): numbers rounded by what they are, cells and column names translated.

    Columns of shares (``*_share``) become percentages ``68.7 %``, areas (``*_m2``) whole m², minutes
    and persons one decimal; where a ``unit`` column says ``share``, ``m2`` or ``min``, the
    ``measured``/``required``/``shortfall``/``value`` cells of that row follow it. Empty cells show
    "—", True/False yes/no (是/否). Numeric columns without empty cells and without a kind stay
    numbers (sortable); every other column is text, so each column has one type.
    """
    if "message_zh" in table.columns:  # one message column, in the page's language
        table = table.copy()
        if "message" in table.columns and t.lang == "zh":
            chinese = table["message_zh"].fillna("").astype(str)
            table["message"] = chinese.where(chinese != "", table["message"])
        elif t.lang == "zh":
            table = table.rename(columns={"message_zh": "message"})
        table = table.drop(columns=[c for c in ["message_zh"] if c in table.columns])
    out = pd.DataFrame(index=table.index)
    unit_kinds = None
    if "unit" in table.columns and pd.api.types.is_numeric_dtype(table["unit"]):  # a population unit's number
        table = table.rename(columns={"unit": "unit_number"})
    if "unit" in table.columns:
        unit_kinds = table["unit"].astype(str).map({"share": "share", "m2": "area", "m²": "area", "min": "minutes"})
    memo: dict = {}
    for column in table.columns:
        series = table[column]
        name = str(column)
        if name == "unit":
            out[column] = pd.Series([unit_text(u, t) for u in series], index=table.index, dtype=object)
            continue
        kind = _column_kind(name)
        numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        by_unit = unit_kinds is not None and name in ("measured", "required", "shortfall", "value", "provided")
        if numeric and kind is None and not by_unit and not series.isna().any():
            out[column] = series
            continue
        if by_unit:
            cells = [_cell(v, t, memo, k if isinstance(k, str) else kind) for v, k in zip(series, unit_kinds, strict=True)]
        else:
            cells = [_cell(v, t, memo, kind) for v in series]
        out[column] = pd.Series(cells, index=table.index, dtype=object)
    return out.rename(columns={column: t(str(column)) for column in out.columns})


__all__ = [
    "EMPTY",
    "MESSAGES_FILE",
    "display_table",
    "file_names_only",
    "message",
    "percent",
    "section_title",
    "source_text",
    "unit_text",
]
