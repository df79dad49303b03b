"""English/Chinese labels: one function, one translation file (``data/i18n/zh.toml``).

Labels are written in English in the code; the English text (or an id such as a facility kind,
``nursing_home``) is the key, and ``zh.toml`` maps it to Chinese. A key missing from the file is
shown in English rather than failing, and ``tests/test_app.py`` checks that every literal label the
app uses has its Chinese entry.
"""

from __future__ import annotations

import functools
import re
import tomllib
from pathlib import Path

import pandas as pd

ZH_FILE = Path(__file__).resolve().parents[1] / "data" / "i18n" / "zh.toml"

#: Language codes offered by the page, with the name each is shown by.
LANGUAGES: dict[str, str] = {"en": "English", "zh": "中文"}
DEFAULT_LANGUAGE = "en"
_ID = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)+")  # ids such as nursing_home are shown as "nursing home"


@functools.cache
def chinese_labels() -> dict[str, str]:
    """Return the English → Chinese table of ``data/i18n/zh.toml`` (read once)."""
    with ZH_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    bad = [key for key, value in data.items() if not isinstance(value, str)]
    if bad:
        msg = f"{ZH_FILE}: every entry must be a string, not a table: {bad[:3]}"
        raise ValueError(msg)
    return data


def translate(text: str, lang: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """Return ``text`` in ``lang`` ("en" or "zh"), with ``{name}`` fields filled from ``values``.

    Parameters
    ----------
    text : str
        The English label or an id (facility kind, speed preset) used as the key; in English an
        id with underscores is shown with spaces (``day_care`` → "day care").
    lang : {"en", "zh"}
        Language to show.
    **values
        Values for ``str.format`` placeholders in the label.
    """
    if lang == "zh":
        label = chinese_labels().get(text, text)
    else:
        label = text.replace("_", " ") if _ID.fullmatch(text) else text
    return label.format(**values) if values else label


class Translator:
    """``t("Covered population")``: :func:`translate` bound to one language."""

    def __init__(self, lang: str = DEFAULT_LANGUAGE) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE

    def __call__(self, text: str, **values: object) -> str:
        if isinstance(values.get("message"), str):  # the analysis' own words: file names only, 中文 frames
            from ui.wording import message  # ui.wording builds on this module

            values["message"] = message(values["message"], self.lang)
        return translate(text, self.lang, **values)

    def message(self, text: object) -> str:
        """A note, source or error detail of the analysis in this language (:func:`ui.wording.message`)."""
        from ui.wording import message

        return message(text, self.lang)


def translated_table(table: pd.DataFrame, t: Translator) -> pd.DataFrame:
    """A copy of ``table`` for display: column names and cells in the page's language, numbers rounded.

    See :func:`ui.wording.display_table` (facility kinds, statuses, the analysis' names and messages,
    "—" for empty cells, whole m², shares as percentages, minutes to one decimal).
    """
    from ui.wording import display_table  # ui.wording builds on this module

    return display_table(table, t)
