"""The "Batch results" tab: open the summary of ``python -m coverage batch`` and show its areas.

The summary comes from a batch folder on the server (the ``--out`` of the batch, typed in; only a
folder holding the batch's summary files is read) or from uploaded summary files
(``summary.gpkg`` or ``summary.parquet``, with ``summary_rules.csv`` for the per-rule view). The
areas are drawn on an offline map filled by verdict, by one rule's verdict or by covered share;
tables list the areas (population, elderly, covered share, failed rules, errors) and the
area × rule verdicts; clicking an area on the map (or choosing it) shows its row and its rules.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import shapely
import streamlit as st
import streamlit_folium  # called as streamlit_folium.st_folium: looked up at each run, so tests can stand in for it

from analysis.batch.summary_reader import AREA_FILES, RULES_FILE, BatchSummary, find_summary_files, read_batch_summary
from layers.errors import InputError
from ui import state as ss
from ui.batch_map import COVERED_SHARE, VERDICT, VERDICT_LABELS, batch_map
from ui.i18n import Translator
from ui.page import PageContext, translated_choice
from ui.uploads import save_upload, upload_root

session = st.session_state
#: File types the summary uploader takes (area table, area × rule table).
UPLOAD_TYPES = ["gpkg", "parquet", "csv"]
#: Session keys of this tab.
LAST_CLICK = "batch_last_click"


# ----- reading (cached by path and modification times / content) -------------------------------
def _stamp(folder: str) -> tuple:
    """Modification times of a batch folder's summary files: a finished rerun is read again."""
    try:
        area_file, rules = find_summary_files(folder)
    except InputError:
        return ()
    return tuple((p.name, p.stat().st_mtime_ns) for p in (area_file, rules) if p is not None)


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_folder_summary(folder: str, stamp: tuple) -> BatchSummary:
    return read_batch_summary(folder)


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_file_summary(area_file: str, rules_file: str | None, label: str, rules_label: str | None) -> BatchSummary:
    return read_batch_summary(area_file, rules_file, label=label, rules_label=rules_label)


def summary_from_uploads(files: list) -> BatchSummary:
    """The summary of uploaded files: one area table (``.gpkg``/``.parquet``), optionally one ``.csv``.

    Raises
    ------
    InputError
        No area table, two of them, two CSVs, or a file that is not a batch summary.
    """
    tables = [f for f in files if f.name.lower().endswith((".gpkg", ".parquet"))]
    csvs = [f for f in files if f.name.lower().endswith(".csv")]
    if len(tables) != 1:
        names = ", ".join(f.name for f in tables) or "none"
        msg = f"upload one area table of the batch ({' or '.join(AREA_FILES)}), got {names}"
        raise InputError(msg, layer="batch summary")
    if len(csvs) > 1:
        raise InputError(f"upload one {RULES_FILE}, got {', '.join(f.name for f in csvs)}", layer="batch summary")
    saved = save_upload(tables[0].name, tables[0].getvalue(), "batch_summary")
    rules = save_upload(csvs[0].name, csvs[0].getvalue(), "batch_summary") if csvs else None
    return cached_file_summary(str(saved.path), str(rules.path) if rules else None, saved.name, rules.name if rules else None)


def chosen_summary(t: Translator, lang: str) -> BatchSummary | None:
    """The source widgets; the summary they give (``None`` while nothing is chosen). Raises
    :class:`InputError` (or ``ValueError``) for a folder or files that are not a batch summary."""
    how = translated_choice(
        st.radio,
        t("Batch summary from"),
        ["folder", "upload"],
        key="batch_source",
        format_func=lambda v: {"folder": t("A batch folder on the server"), "upload": t("Uploaded summary files")}[v],
        lang=lang,
    )
    if how == "folder":
        folder = st.text_input(
            t("Batch folder (the --out of python -m coverage batch)"),
            key="batch_folder",
            placeholder="/data/batch/jilin-2025",
        ).strip()
        if not folder:
            return None
        folder = os.path.expanduser(folder)
        return cached_folder_summary(str(Path(folder).resolve()), _stamp(folder))
    files = st.file_uploader(
        t("summary.gpkg or summary.parquet, and summary_rules.csv for the rules"),
        type=UPLOAD_TYPES,
        accept_multiple_files=True,
        key="batch_upload",
    )
    return summary_from_uploads(files) if files else None


# ----- tables ---------------------------------------------------------------------------------
def verdict_text(value: object, t: Translator) -> str:
    return t(VERDICT_LABELS.get(str(value), str(value))) if isinstance(value, str) and value else ""


def cell_text(value: object) -> str:
    """A cell of the selected area's row as text (numbers with thousands separators, NaN as "–")."""
    if isinstance(value, float):
        return "–" if value != value else f"{value:,.1f}".removesuffix(".0")
    return str(value)


def area_table(summary: BatchSummary, t: Translator) -> pd.DataFrame:
    """A row per area: verdict, status, population, elderly, covered share, failed rules, error."""
    areas = summary.areas

    def column(name: str) -> pd.Series:
        return areas[name] if name in areas.columns else pd.Series(float("nan"), index=areas.index)

    table = pd.DataFrame(
        {
            t("Batch area"): areas["area_id"],
            t("Batch verdict"): [verdict_text(v, t) for v in areas["verdict"]],
            t("Run of the area"): [t(f"run {s}") if isinstance(s, str) else "" for s in areas["status"]],
            t("Residents of the area (persons)"): column("population").round(0),
            t("Elderly 60+ of the area (persons)"): column("elderly_population").round(0),
            t("Covered share of the area (%)"): (100 * column("covered_share")).round(1),
            t("Rules failed in the area"): summary.failed_rules(),
            t("Error of the area"): areas["error"],
        }
    )
    return table


def rule_view(summary: BatchSummary, t: Translator) -> pd.DataFrame:
    """Areas × rules, each cell the area's verdict on that rule (in the page's language)."""
    matrix = summary.rule_matrix()
    shown = matrix.apply(lambda col: [verdict_text(v, t) for v in col])
    shown.index.name = t("Batch area")
    return shown.reset_index()


def area_at(summary: BatchSummary, lng: float, lat: float) -> str | None:
    """``area_id`` of the area holding the point (lon/lat degrees), else ``None``."""
    hits = shapely.contains_xy(summary.areas.geometry.values, lng, lat)
    return str(summary.areas["area_id"].iloc[int(hits.argmax())]) if hits.any() else None


# ----- the tab --------------------------------------------------------------------------------
def _take_click(summary: BatchSummary, returned: dict | None, area_key: str) -> bool:
    """A new map click inside an area chooses that area; True when the choice changed."""
    clicked = (returned or {}).get("last_clicked")
    if not clicked or clicked == session.get(LAST_CLICK):
        return False
    session[LAST_CLICK] = clicked
    area = area_at(summary, float(clicked["lng"]), float(clicked["lat"]))
    if area is None or area == session.get(area_key):
        return False
    session[area_key] = area
    return True


def render(page: PageContext) -> None:
    """Lay out the batch source, the map of areas, the selected area and the tables."""
    t, lang = page.t, page.lang
    st.caption(
        t(
            "Open the result of a batch run (python -m coverage batch): every area of a province on one map, "
            "coloured by verdict."
        )
    )
    try:
        summary = chosen_summary(t, lang)
    except Exception as exc:  # a folder or file that is not a batch summary: say why, never a traceback
        message = re.sub(rf"{re.escape(str(upload_root()))}/batch_summary/[0-9a-f]{{24}}/", "", ss.readable_message(exc))
        st.error(t("This batch summary cannot be used: {message}", message=message))  # upload folders cut
        return
    if summary is None:
        st.info(t("Type the folder of a batch run, or upload its summary files, to see its areas."))
        return

    areas = summary.areas
    counts = areas["verdict"].astype(str).value_counts()
    st.markdown(
        t(
            "**{n}** areas: {passed} pass, {failed} fail, {na} not assessable, {errors} could not be run.",
            n=len(areas),
            passed=int(counts.get("pass", 0)),
            failed=int(counts.get("fail", 0)),
            na=int(counts.get("not assessable", 0)),
            errors=int(counts.get("error", 0)),
        )
    )
    if not len(summary.rules):
        st.caption(t("No summary_rules.csv: the per-rule view is empty."))

    suffix = ss.data_widget_suffix(summary.source + "|" + ",".join(areas["area_id"]))
    area_key = f"batch_area_{suffix}"
    options = [VERDICT, COVERED_SHARE, *summary.rule_ids]
    colour_by = st.selectbox(
        t("Colour the areas by"),
        options,
        format_func=lambda v: {VERDICT: t("Verdict (any failed finding fails)"), COVERED_SHARE: t("Covered share of residents")}.get(
            v, t("Rule {rule}", rule=v)
        ),
        key=f"batch_colour_{suffix}",
    )
    ids = list(areas["area_id"])
    map_col, panel = st.columns([3, 2])
    with map_col:
        fmap = batch_map(summary, colour_by, t, selected=session.get(area_key), tiles=page.show_tiles)
        returned = streamlit_folium.st_folium(
            fmap, key=f"batch_map_{suffix}", height=520, use_container_width=True, returned_objects=["last_clicked"]
        )
        if _take_click(summary, returned, area_key):
            st.rerun()
        st.caption(t("Click an area on the map, or choose it on the right, to see its row."))
    with panel:
        area = st.selectbox(t("Batch area"), ids, key=area_key, index=None, placeholder=t("Click the map or choose an area"))
        if area is not None:
            row = area_table(summary, t).loc[areas["area_id"] == area].iloc[0]
            st.dataframe(pd.DataFrame({area: [cell_text(v) for v in row]}, index=row.index), width="stretch")
            error = areas.loc[areas["area_id"] == area, "error"].iloc[0]
            if error:
                st.error(t("This area could not be run: {message}", message=error))
            rules = summary.rules.loc[summary.rules["area_id"] == area]
            if len(rules):
                shown = pd.DataFrame(
                    {
                        t("Batch rule"): rules["rule"],
                        t("Batch verdict"): [verdict_text(v, t) for v in rules["verdict"]],
                        t("passed"): rules["passed"],
                        t("failed"): rules["failed"],
                        t("not_assessable"): rules["not_assessable"],
                    }
                )
                st.dataframe(shown, hide_index=True, width="stretch")

    st.markdown("**" + t("Areas of the batch") + "**")
    st.dataframe(area_table(summary, t), hide_index=True, width="stretch")
    if len(summary.rules):
        st.markdown("**" + t("Verdict per area and rule") + "**")
        st.dataframe(rule_view(summary, t), hide_index=True, width="stretch")
