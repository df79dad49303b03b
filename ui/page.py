"""What the tabs of the page (``ui/tab_*.py``) share: the page context, one widget helper, caches.

``app.py`` builds one :class:`PageContext` after the analysis and hands it to every tab's
``render``; the tabs take everything else from ``st.session_state`` under the same keys as before.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from analysis.rules import load_rule_set
from coverage.circles import CoverageResult
from coverage.pipeline import Inputs
from ui import state as ss
from ui.basemap import Basemap, basemap
from ui.basemap_cache import extract_context
from ui.i18n import Translator
from ui.online_tiles import TileSource

session = st.session_state


@dataclass(frozen=True)
class PageContext:
    """The analysis shown, its what-if result, the language and the sidebar settings the tabs read."""

    analysis: ss.Analysis  # the analysis shown (the last good one when a new input failed)
    result: CoverageResult  # ``analysis.result`` with the session's what-if changes applied
    changes: list[ss.Change]  # the session's what-if changes
    t: Translator
    lang: str
    rule_set_name: str
    show_tiles: TileSource | None  # online tiles chosen in the sidebar (None: offline, the default)
    speed_text: str  # the speed of the result shown (m/s), even if a new input failed
    headline: ss.Headline | None = None  # the numbers of ``result`` (ui/headline.py); the notes tab lists the rest

    @property
    def inputs(self) -> Inputs:
        return self.analysis.inputs


# ----- cached work shared by the tabs (keyed by content hashes and settings, never by widget clicks) --
@st.cache_resource(show_spinner=False, max_entries=6)
def cached_basemap(data_key: str, _inputs: Inputs) -> Basemap:
    return basemap(_inputs.network.edges, extract_context(_inputs))


@st.cache_resource(show_spinner=False)
def cached_rule_set(name: str):
    return load_rule_set(name)


def widget_texts_css(t: Translator, max_mb: int) -> str:
    """CSS putting Streamlit's own uploader texts ("Upload", "200MB per file • ...") in ``t``'s language.

    Streamlit does not translate the texts inside its file uploader; this hides them (font size 0)
    and shows the translation in their place (``::after``). Empty in English.
    """
    if t.lang == "en":
        return ""
    button = t("Browse files").replace('"', "")
    limit = t("Up to {mb} MB per file", mb=max_mb).replace('"', "")
    return (
        "<style>"
        '[data-testid="stFileUploaderDropzone"] [data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"] p'
        "{font-size:0 !important;}"
        '[data-testid="stFileUploaderDropzone"] [data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"] p::after'
        f'{{content:"{button}";font-size:0.875rem;}}'
        '[data-testid="stFileUploaderDropzoneInstructions"] span{font-size:0 !important;}'
        f'[data-testid="stFileUploaderDropzoneInstructions"] span::after{{content:"{limit}";font-size:0.875rem;}}'
        "</style>"
    )


def rule_set_label(name: str, lang: str) -> str:
    """A rule set's name in the sidebar: its Chinese title in 中文 (``title_zh``), else the file name."""
    if lang != "zh":
        return name
    try:
        rules = cached_rule_set(name)
    except Exception:  # a broken rule file says so when it is chosen (ui/tab_checks.py)
        return name
    return getattr(rules, "title_zh", None) or name


def translated_choice(widget, label: str, options: list, *, key: str, format_func, lang: str, default=None):
    """A radio/selectbox whose option labels follow the language, keeping its choice when it changes.

    The browser remembers a choice by its label, so each language gets its own widget
    (``key`` + language); the value itself lives in ``session[key]``.
    """
    current = session.get(key, options[0] if default is None else default)
    index = options.index(current) if current in options else 0
    value = widget(label, options, index=index, format_func=format_func, key=f"{key}__{lang}")
    session[key] = value
    return value


def pct(value: float | None) -> str:
    """A share 0-1 as the page shows it: ``68.7 %``; "—" when unknown."""
    return "—" if value is None or value != value else f"{100 * value:.1f} %"


def keep_run(name: str, key: Hashable, run: Callable[[], Any]) -> None:
    """Run a button's work and keep ``(key, answer, None)``, or ``(key, None, message)`` when it
    fails, in ``session[name]``: the page shows it on every rerun until the inputs change."""
    try:
        session[name] = (key, run(), None)
    except Exception as exc:  # shown on the page as a readable message
        session[name] = (key, None, ss.readable_message(exc))


def kept_run(name: str, key: Hashable) -> tuple[Any, str | None] | None:
    """``(answer, problem)`` kept by :func:`keep_run` for these inputs (``key``), else ``None``."""
    stored = session.get(name)
    if stored is None or stored[0] != key:
        return None
    return stored[1], stored[2]
