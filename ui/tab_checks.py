"""The "Planning checks" tab: every rule of the set on the current layers (``analysis/``).

Says "coming" while the checks module is absent.
"""

from __future__ import annotations

import streamlit as st
import streamlit_folium  # called as streamlit_folium.st_folium: looked up at each run, so tests can stand in for it

from ui import planning
from ui import state as ss
from ui.exports import csv_bytes
from ui.i18n import translated_table
from ui.mapping import checks_map
from ui.page import PageContext, cached_basemap, cached_rule_set, keep_run, kept_run, translated_choice
from ui.uploads import MAX_UPLOAD_MB, UPLOADER_TYPES
from ui.wording import section_title, source_text

session = st.session_state


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_checks(
    data_key: str, rule_set: str, speed: str, boundaries_key: str, changes: tuple, _result, _boundaries: dict, year: int | None = None
):
    """The checks on the result the map shows (``_result``: what-if ``changes`` applied), cached by those keys."""
    return planning.run_planning_checks(_result, rule_set, speed, year=year, **_boundaries)


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_report(checks_key: tuple, _run) -> dict[str, bytes]:
    return planning.report_files(_run)


def rules_table(rules, lang: str):
    """The rules of a set as rows: id, text, value (shares as 0-1), unit, source (documents in 中文)."""
    import pandas as pd

    rows = []
    for r in rules.rules.values():
        value = r.value
        rows.append(
            {
                "rule_id": r.id,
                "rule_text": r.text_zh if lang == "zh" else r.gloss,
                "value": value if isinstance(value, int | float) and not isinstance(value, bool) else str(value),
                "unit": r.unit,
                "rule_source": source_text(str(r.source), lang),
            }
        )
    return pd.DataFrame(rows, columns=["rule_id", "rule_text", "value", "unit", "rule_source"])


def _extra_results(run, t) -> None:
    """Meal assistance (M1), villages (R1), counties (C7, C8, T7) and life-circle tiers (W3), when run."""
    extra = getattr(run, "extra", None)
    if extra is None:
        return
    walks = extra.parameters()
    if extra.meals is not None:
        st.markdown(f"**{t('Meal assistance (M1): compounds with a meal point within the walk')}**")
        st.caption(t("Walk: {walk}", walk=t.message(walks.get("meal walk (M1)", ""))))
        st.dataframe(translated_table(extra.meals.townships, t), hide_index=True, width="stretch")
    if extra.villages is not None:
        table = extra.villages.table.drop(columns="geometry")
        passed = int((table["r1_status"] == "pass").sum())
        st.markdown(f"**{t('Villages (R1): a village point inside or within the rural walk')}**")
        st.caption(t("Rural walk: {walk}", walk=t.message(walks.get("rural walk (R1)", ""))))
        st.metric(t("Villages with a village point"), f"{passed} / {len(table)}")
        st.dataframe(translated_table(table, t), hide_index=True, width="stretch")
    if extra.counties is not None and len(extra.counties.table):
        st.markdown(f"**{t('Counties (C7, C8, T7)')}**")
        st.dataframe(translated_table(extra.counties.table.drop(columns="geometry"), t), hide_index=True, width="stretch")
    if extra.tiers is not None:
        st.markdown(f"**{t('Life-circle tiers (W3): residents within each tier of its facilities')}**")
        st.dataframe(translated_table(extra.tiers.table, t), hide_index=True, width="stretch")


def render(page: PageContext) -> None:
    """Lay out the rule set, the optional boundaries, the checks' results, the map and the report."""
    analysis, result, t, lang = page.analysis, page.result, page.t, page.lang
    inputs, rule_set_name, speed_text, show_tiles = page.inputs, page.rule_set_name, page.speed_text, page.show_tiles
    try:
        rules = cached_rule_set(rule_set_name)
    except Exception as exc:
        st.error(t.message(ss.readable_message(exc)))
        rules = None
    if rules is not None:
        st.markdown(f"**{rules.title_zh if lang == 'zh' and rules.title_zh else rules.title}**")
        if "W1" in rules and float(rules.value("W1")) != result.minutes:
            st.warning(t("Rule W1 of this set is {w1:g} minutes; the map uses {minutes:g}.", w1=float(rules.value("W1")), minutes=result.minutes))
    if rules is not None:
        st.caption(t("Checks every rule of the set on the result shown on the map, what-if changes included. Walking time is the set's W1."))
        b1, b2 = st.columns(2)
        boundary_files = {
            "districts": b1.file_uploader(
                t("Residential districts (optional; GeoJSON, GeoPackage, zipped Shapefile)"),
                type=UPLOADER_TYPES["districts"],
                key="up_districts",
                max_upload_size=MAX_UPLOAD_MB,
            ),
            "townships": b2.file_uploader(
                t("Township boundaries (optional; GeoJSON, GeoPackage, zipped Shapefile)"),
                type=UPLOADER_TYPES["townships"],
                key="up_townships",
                max_upload_size=MAX_UPLOAD_MB,
            ),
        }
        boundary_files["villages"] = st.file_uploader(
            t("Villages (optional; points or polygons with a name: R1 village points)"),
            type=UPLOADER_TYPES["villages"],
            key="up_villages",
            max_upload_size=MAX_UPLOAD_MB,
        )
        boundaries, boundary_error = {}, None
        try:
            boundaries = {role: ss.saved_upload(session, role, file) for role, file in boundary_files.items() if file is not None}
        except Exception as exc:
            boundary_error = ss.readable_message(exc)
            st.error(t("This input cannot be used: {message}", message=boundary_error))
        boundaries_key = "|".join(f"{role}={upload.sha256}" for role, upload in sorted(boundaries.items()))
        year_choice = translated_choice(
            st.selectbox,
            t("Year checked"),
            ["now", *planning.target_years(rules)],
            key="check_year",
            format_func=lambda v: t("now") if v == "now" else str(v),
            lang=lang,
        )
        year = None if year_choice == "now" else int(year_choice)
        changes = tuple(page.changes)
        checks_key = (analysis.data_key, rule_set_name, speed_text, boundaries_key, year, changes)
        if st.button(t("Run planning checks"), key="run_checks", type="primary", disabled=boundary_error is not None):
            with st.spinner(t("Running the planning checks…")):
                keep_run(
                    "checks_run", checks_key,
                    lambda: cached_checks(analysis.data_key, rule_set_name, speed_text, boundaries_key, changes, result, boundaries, year),
                )
        stored = kept_run("checks_run", checks_key)
        if stored is not None:
            run, problem = stored
            if problem:
                st.error(t("The checks could not run: {message}", message=problem))
            else:
                summary_table = planning.rule_summary(run)
                failed = int(summary_table["failed"].sum())
                passed = int(summary_table["passed"].sum())
                c1, c2, c3 = st.columns(3)
                c1.metric(t("Findings"), len(run.findings))
                c2.metric(t("Passed"), passed)
                c3.metric(t("Failed"), failed)
                st.dataframe(translated_table(summary_table, t), hide_index=True, width="stretch")
                findings = planning.findings_table(run, t)
                st.dataframe(translated_table(findings, t), hide_index=True, width="stretch", height=360)
                for title, table in planning.year_sections(run):  # target years side by side, new/old districts, O1
                    st.markdown(f"**{section_title(title, lang)}**")
                    st.dataframe(translated_table(table, t), hide_index=True, width="stretch")
                st.download_button(
                    t("Findings (CSV)"), data=lambda: csv_bytes(findings), file_name="findings.csv", mime="text/csv", key="download_findings", on_click="ignore"
                )
                _extra_results(run, t)
                township_colour = translated_choice(
                    st.radio,
                    t("Colour townships by"),
                    ["t1_status", "w1_elderly_share"],
                    key="township_colour",
                    format_func=lambda v: t("T1 comprehensive centre (pass/fail)") if v == "t1_status" else t("W1 share of elderly within the walk"),
                    lang=lang,
                )
                streamlit_folium.st_folium(
                    checks_map(run, cached_basemap(analysis.data_key, inputs), t, township_colour=township_colour, tiles=show_tiles),
                    key="checks_map",
                    height=520,
                    use_container_width=True,
                    returned_objects=[],
                )
                try:
                    report = cached_report(checks_key, run)
                except Exception as exc:
                    report = None
                    st.error(t("The report could not be written: {message}", message=ss.readable_message(exc)))
                if report is not None:
                    r1, r2 = st.columns(2)
                    r1.download_button(
                        t("Report (HTML)"), data=report["html"], file_name="report.html", mime="text/html", key="download_report_html", on_click="ignore"
                    )
                    r2.download_button(
                        t("Workbook (Excel)"),
                        data=report["excel"],
                        file_name="checks.xlsx",
                        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        key="download_report_excel",
                        on_click="ignore",
                    )
                for note in run.notes:
                    st.caption(f"· {t.message(note)}")
        elif stored is not None:
            st.caption(t("Settings changed since the last run: press the button again."))
    if rules is not None:
        with st.expander(t("Rules of this set")):
            st.dataframe(translated_table(rules_table(rules, lang), t), hide_index=True, width="stretch")
