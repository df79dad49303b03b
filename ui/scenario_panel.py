"""The scenario panel under the map: name the what-if changes, save, load, undo, compare with the baseline.

The changes themselves are the session's what-if changes (:mod:`ui.whatif`); a scenario file is
the library's (:mod:`coverage.scenario`), the same one ``python -m coverage circles|check
--scenario FILE`` reads. The comparison runs :func:`analysis.scenario_compare.compare_scenario` on
the cached result (the baseline) and the what-if result: no file is read again.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any

import pandas as pd
import streamlit as st

from analysis.rules import available_rule_sets
from coverage.scenario import ScenarioSettings
from coverage.scenario_file import scenario_from_bytes
from coverage.settings import SPEED_PRESETS
from ui import state as ss
from ui.i18n import Translator, translated_table
from ui.page import PageContext, keep_run, kept_run

session = st.session_state

#: Session keys of the panel.
LOAD_MESSAGE = "scenario_load_message"  # (kind "error"/"success", text) of the last load
COMPARE_RUN = "scenario_compare_run"
OPEN_CHOICE = "scenario_open_choice"
#: Sidebar widget keys a loaded scenario's settings go to (``app.py``).
MINUTES_KEY, SPEED_KEY, RULES_KEY, YEAR_KEY = "minutes", "speed_choice", "rule_set", "check_year"


def upload_key(analysis: ss.Analysis) -> str:
    """The uploader's key: one per loaded data, so a file of other data is not offered again."""
    return f"scenario_upload_{ss.data_widget_suffix(analysis.data_key)}"


def file_name(name: str) -> str:
    """A safe download name for the scenario ``name`` (letters, digits, CJK kept)."""
    stem = re.sub(r"[^\w\-]+", "_", name, flags=re.UNICODE).strip("_") or "scenario"
    return f"{stem[:60]}.scenario.geojson"


def page_settings(page: PageContext, state: MutableMapping[str, Any]) -> ScenarioSettings:
    """The settings of the result shown, as a scenario saves them (minutes, speed, rule set, year)."""
    speed = state.get(SPEED_KEY)
    speed_value: str | float = speed if speed in SPEED_PRESETS else round(float(page.result.speed_mps), 3)
    year = state.get(YEAR_KEY)
    return ScenarioSettings(
        minutes=float(page.result.minutes),
        speed=speed_value,
        rules=page.rule_set_name,
        year=int(year) if isinstance(year, int) or (isinstance(year, str) and year.isdigit()) else None,
    )


def apply_settings(state: MutableMapping[str, Any], settings: ScenarioSettings) -> list[str]:
    """Put a loaded scenario's settings into the sidebar widgets (before they are drawn); what was not set."""
    skipped = []
    if settings.minutes is not None:
        if float(settings.minutes).is_integer() and 1 <= settings.minutes <= 60:
            state[MINUTES_KEY] = int(settings.minutes)
        else:
            skipped.append(f"minutes {settings.minutes:g}")
    if settings.speed is not None:
        if settings.speed in SPEED_PRESETS:
            state[SPEED_KEY] = settings.speed
        else:
            state[SPEED_KEY] = ss.CUSTOM_SPEED
            state["speed_custom"] = float(settings.speed)
        for key in [k for k in list(state.keys()) if str(k).startswith(f"{SPEED_KEY}__")]:
            del state[key]  # the per-language widget starts from the value just set
    if settings.rules is not None:
        if settings.rules in available_rule_sets():
            state[RULES_KEY] = settings.rules
        else:
            skipped.append(f"rule set {settings.rules}")
    if settings.year is not None:
        state[YEAR_KEY] = settings.year
        for key in [k for k in list(state.keys()) if str(k).startswith(f"{YEAR_KEY}__")]:
            del state[key]
    return skipped


def on_load(analysis: ss.Analysis) -> None:
    """The uploader's callback: read the file, check every change against the data, take it and its settings."""
    upload = session.get(upload_key(analysis))
    session.pop(LOAD_MESSAGE, None)
    if upload is None:
        return
    try:
        scenario = scenario_from_bytes(upload.getvalue(), upload.name)
        ss.load_scenario(session, analysis, scenario, source=upload.name)
    except ValueError as exc:  # InputError: names the file and the field
        session[LOAD_MESSAGE] = ("error", ss.readable_message(exc))
        return
    skipped = apply_settings(session, scenario.settings)
    session[LOAD_MESSAGE] = ("success", (scenario.name, len(scenario.changes), ", ".join(skipped)))


def uploaded_boundaries() -> dict[str, Any]:
    """The district and township layers uploaded in the checks tab (paths), for the comparison."""
    found = {}
    for role in ("districts", "townships"):
        upload = session.get(f"up_{role}")
        if upload is not None:
            found[role] = ss.saved_upload(session, role, upload).path
    return found


def move_choice_key(analysis: ss.Analysis) -> str:
    """The "facility to move" widget's key: one per loaded data."""
    return f"scenario_move_choice_{ss.data_widget_suffix(analysis.data_key)}"


def on_move(analysis: ss.Analysis) -> None:
    """Move the chosen facility to the proposed site (the last map click)."""
    site, label = session.get(ss.PROPOSED_SITE), session.get(move_choice_key(analysis))
    session.pop(ss.WHATIF_ERROR, None)
    if not site or label is None:
        return
    try:
        ss.move_site(session, analysis, int(label), site["lng"], site["lat"])
    except (KeyError, ValueError, TypeError) as exc:  # off the network, or a facility of other data
        session[ss.WHATIF_ERROR] = ss.readable_message(exc)


def on_open(analysis: ss.Analysis) -> None:
    """Open a kept scenario: its changes replace the session's (checked against the data first)."""
    name = session.get(OPEN_CHOICE)
    scenario = ss.kept_scenarios(session).get(name)
    session.pop(LOAD_MESSAGE, None)
    if scenario is None:
        return
    try:
        ss.load_scenario(session, analysis, scenario)
    except ValueError as exc:
        session[LOAD_MESSAGE] = ("error", ss.readable_message(exc))


def change_rows(changes: list[ss.Change], t: Translator) -> pd.DataFrame:
    """One row per change, numbered in order, in the page's language."""
    rows = []
    for number, change in enumerate(changes, start=1):
        if isinstance(change, ss.AddSite):
            what, detail = t("added"), t(change.kind)
            if change.floor_area_m2 is not None:
                detail += f", {change.floor_area_m2:,.0f} m²"
        elif isinstance(change, ss.MoveSite):
            what, detail = t("moved"), f"→ {change.lon:.5f}, {change.lat:.5f} (lon, lat)" if t.lang == "en" else f"→ 经度 {change.lon:.5f}，纬度 {change.lat:.5f}"
        else:
            what, detail = t("removed"), ""
        rows.append({"number": number, "change": what, "facility_id": change.facility_id, "name": t.message(change.name), "detail": detail})
    return pd.DataFrame(rows, columns=["number", "change", "facility_id", "name", "detail"])


def render_comparison(comparison: Any, t: Translator) -> None:
    """The compare view: covered elderly before and after, the verdicts that change, per township and district."""
    before, after = comparison.covered_elderly()
    c1, c2, c3 = st.columns(3)
    c1.metric(t("Elderly covered, baseline"), f"{before:,.0f}")
    c2.metric(t("Elderly covered, scenario"), f"{after:,.0f}", delta=f"{after - before:+,.0f}")
    changed = comparison.changed_verdicts
    c3.metric(t("Verdicts that change"), len(changed))
    st.markdown("**" + t("Verdicts that change") + "**")
    if len(changed):
        message = "message_zh" if t.lang == "zh" else "message"
        shown = changed[["rule_id", "subject_kind", "subject", "status_baseline", "status_scenario", message]]
        shown = shown.rename(columns={message: "message"})
        shown = shown.assign(
            subject_kind=[t(str(v)) for v in shown["subject_kind"]],
            status_baseline=[t(str(v)) if v else "—" for v in shown["status_baseline"]],
            status_scenario=[t(str(v)) if v else "—" for v in shown["status_scenario"]],
        )
        st.dataframe(translated_table(shown, t), hide_index=True, width="stretch")
    else:
        st.caption(t("No verdict changes."))
    st.markdown("**" + t("Rules side by side") + "**")
    st.dataframe(translated_table(comparison.rules, t), hide_index=True, width="stretch")
    for title, table in ((t("Elderly within the walk per township"), comparison.townships),
                         (t("Elderly within the walk per district"), comparison.districts)):
        if table is None:
            continue
        shown = table.copy()
        for column in ("covered_share_baseline", "covered_share_scenario"):
            shown[column] = (100 * shown[column]).round(1)
        st.markdown("**" + title + "**")
        st.dataframe(translated_table(shown, t), hide_index=True, width="stretch")


def render(page: PageContext) -> None:
    """The scenario expander under the map (full width)."""
    analysis, t = page.analysis, page.t
    with st.expander(t("Scenario: save, load, undo, compare"), expanded=bool(page.changes) or LOAD_MESSAGE in session):
        name_col, load_col = st.columns([1, 1])
        with name_col:
            st.text_input(t("Scenario name"), key=ss.SCENARIO_NAME, placeholder=t(ss.DEFAULT_SCENARIO_NAME))
        with load_col:
            st.file_uploader(
                t("Load a scenario file (.geojson)"), type=["geojson", "json"], key=upload_key(analysis), on_change=on_load, args=(analysis,)
            )
        message = session.get(LOAD_MESSAGE)
        if message is not None and message[0] == "error":
            st.error(t("The scenario cannot be loaded: {message}", message=message[1]))
        elif message is not None:
            name, count, skipped = message[1]
            st.success(t("Scenario '{name}' loaded: {count} changes.", name=name, count=count))
            if skipped:
                st.caption(t("Settings not applied (not offered here): {what}", what=skipped))
        if page.changes:
            lines = [
                f"{row.number}. {row.change}: {row.facility_id} · {row.name}" + (f" ({row.detail})" if row.detail else "")
                for row in change_rows(page.changes, t).itertuples(index=False)
            ]
            st.markdown("\n".join(lines))
        else:
            st.caption(t("No what-if changes yet: add or remove a site on the map, or load a scenario file."))
        names = ss.facility_names(page.result)
        move_col, move_button = st.columns([2, 1])
        move_col.selectbox(t("Facility to move"), list(names), format_func=lambda k: t.message(names.get(k, str(k))), key=move_choice_key(analysis))
        move_button.button(
            t("Move it to the proposed site"), key="scenario_move", on_click=on_move, args=(analysis,),
            disabled=not names or not session.get(ss.PROPOSED_SITE),
        )
        scenario = ss.session_scenario(session, page_settings(page, session))
        b1, b2, b3 = st.columns(3)
        b1.button(t("Undo last change"), key="scenario_undo", on_click=ss.undo_last_change, args=(session,), disabled=not page.changes)
        b2.download_button(
            t("Save scenario (.geojson)"),
            data=scenario.to_json().encode("utf-8"),
            file_name=file_name(scenario.name),
            mime="application/geo+json",
            key="scenario_download",
            on_click="ignore",
        )
        # the session's list of scenarios: keep this one, open another
        kept = ss.kept_scenarios(session)
        k1, k2, k3 = st.columns([1, 1, 1])
        k1.button(t("Keep in the list of scenarios"), key="scenario_keep", on_click=ss.keep_scenario, args=(session, scenario.settings))
        if kept:
            k2.selectbox(t("Scenarios kept"), list(kept), key=OPEN_CHOICE,
                         format_func=lambda n: t("{name} ({count} changes)", name=n, count=len(kept[n].changes)))
            k3.button(t("Open scenario"), key="scenario_open", on_click=on_open, args=(analysis,))
        compare_key = (analysis.key, page.rule_set_name, scenario.settings.year, tuple(page.changes))
        if b3.button(t("Compare with the baseline"), key="scenario_compare", disabled=not page.changes, type="primary"):
            from analysis.scenario_compare import compare_scenario

            with st.spinner(t("Running the planning checks…")):
                keep_run(
                    COMPARE_RUN,
                    compare_key,
                    lambda: compare_scenario(
                        analysis.result, scenario, scenario_result=page.result, rules=page.rule_set_name,
                        speed=page.result.speed_mps, year=scenario.settings.year, **uploaded_boundaries(),
                    ),
                )
        stored = kept_run(COMPARE_RUN, compare_key)
        if stored is not None:
            comparison, problem = stored
            if problem:
                st.error(t("The checks could not run: {message}", message=problem))
            else:
                render_comparison(comparison, t)


__all__ = ["render", "on_load", "apply_settings", "page_settings", "change_rows", "file_name", "upload_key"]
