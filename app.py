"""Streamlit page: 15-minute elderly-service circles (一刻钟养老服务圈) on a map, with what-if sites.

Run with ``streamlit run app.py``. This file only lays out widgets; reading uploads, the session's
what-if changes, the map and the translations live in ``ui/`` as plain functions. The walking
analysis is cached by the input files' content and the settings, so clicking the map never reruns it.
"""

from __future__ import annotations

import time

import streamlit as st
from streamlit_folium import st_folium

from analysis.rules import DEFAULT_RULE_SET, available_rule_sets, load_rule_set
from coverage.output import facilities_layer, service_area_layer
from coverage.pipeline import Inputs, run_circles
from coverage.settings import DEFAULT_MAX_SNAP_M, DEFAULT_MINUTES, SPEED_PRESETS
from layers.facilities import FACILITY_KINDS
from ui import planning
from ui import state as ss
from ui.exports import csv_bytes, geopackage_bytes
from ui.i18n import LANGUAGES, Translator, translated_table
from ui.mapping import (
    Basemap,
    add_draw_control,
    basemap,
    build_map,
    checks_map,
    population_display,
    proposed_site_group,
    proposed_sites_map,
)
from ui.uploads import MAX_UPLOAD_MB, UPLOADER_TYPES, SavedUpload, save_upload

st.set_page_config(page_title="一刻钟养老服务圈 · 15-minute elderly-service circles", layout="wide")
session = st.session_state
DISTRICT_DRAWING = "district_drawing"  # GeoJSON geometry (lon/lat) of the polygon drawn on the map


# ----- cached work (keyed by content hashes and settings, never by widget clicks) ---------------
@st.cache_resource(show_spinner=False, max_entries=6)
def cached_inputs(data_key: str, _choice: ss.DataChoice) -> tuple[Inputs, float]:
    start = time.perf_counter()
    inputs = _choice.load()
    return inputs, time.perf_counter() - start


@st.cache_resource(show_spinner=False, max_entries=24)
def cached_result(data_key: str, minutes: float, speed: str, _inputs: Inputs):
    start = time.perf_counter()
    result = run_circles(_inputs, minutes=minutes, speed=speed)
    return result, time.perf_counter() - start


@st.cache_resource(show_spinner=False, max_entries=6)
def cached_basemap(data_key: str, _inputs: Inputs) -> Basemap:
    return basemap(_inputs.network.edges)


@st.cache_resource(show_spinner=False)
def cached_rule_set(name: str):
    return load_rule_set(name)


# ----- sidebar: language, data, settings ------------------------------------------------------
lang = st.sidebar.radio("Language / 语言", list(LANGUAGES), format_func=LANGUAGES.get, key="lang", horizontal=True)
t = Translator(lang)



def translated_choice(widget, label: str, options: list, *, key: str, format_func, default=None):
    """A radio/selectbox whose option labels follow the language, keeping its choice when it changes.

    The browser remembers a choice by its label, so each language gets its own widget
    (``key`` + language); the value itself lives in ``session[key]``.
    """
    current = session.get(key, options[0] if default is None else default)
    index = options.index(current) if current in options else 0
    value = widget(label, options, index=index, format_func=format_func, key=f"{key}__{lang}")
    session[key] = value
    return value


st.sidebar.header(t("Data"))
source = translated_choice(
    st.sidebar.radio,
    t("Layers"),
    ["default", "upload"],
    key="data_source",
    format_func=lambda v: t("Embedded demo: Helsinki streets, DEMO sites") if v == "default" else t("Upload my own layers"),
)
uploads = {}
if source == "upload":
    st.sidebar.caption(t("Files up to {mb} MB each. Nothing is sent anywhere: files stay on this computer.", mb=MAX_UPLOAD_MB))
    uploads["network"] = st.sidebar.file_uploader(
        t("Street network (.osm.pbf, .osm)"), type=UPLOADER_TYPES["network"], key="up_network", max_upload_size=MAX_UPLOAD_MB
    )
    uploads["facilities"] = st.sidebar.file_uploader(
        t("Facilities (CSV, GeoPackage, GeoJSON, zipped Shapefile)"),
        type=UPLOADER_TYPES["facilities"],
        key="up_facilities",
        max_upload_size=MAX_UPLOAD_MB,
    )
    facilities_crs = translated_choice(
        st.sidebar.selectbox,
        t("Facility coordinates"),
        list(ss.COORDINATE_SYSTEMS),
        key="facilities_crs",
        format_func=lambda k: t(ss.COORDINATE_SYSTEMS[k]),
    )
    uploads["population"] = st.sidebar.file_uploader(
        t("Population (GeoTIFF or polygons; optional with .osm.pbf: estimated from buildings)"),
        type=UPLOADER_TYPES["population"],
        key="up_population",
        max_upload_size=MAX_UPLOAD_MB,
    )
    population_crs = translated_choice(
        st.sidebar.selectbox,
        t("Population coordinates"),
        list(ss.COORDINATE_SYSTEMS),
        key="population_crs",
        format_func=lambda k: t(ss.COORDINATE_SYSTEMS[k]),
    )
    population_elderly = st.sidebar.checkbox(t("The raster counts people aged 60+"), key="population_elderly")

st.sidebar.header(t("Settings"))
minutes = st.sidebar.number_input(
    t("Walking minutes"), min_value=1, max_value=60, value=int(DEFAULT_MINUTES), step=1, key="minutes"
)
speed_choice = translated_choice(
    st.sidebar.selectbox,
    t("Walking speed"),
    list(ss.SPEED_CHOICES),
    key="speed_choice",
    format_func=lambda k: t("{preset} ({mps:g} m/s)", preset=t(k), mps=SPEED_PRESETS[k]) if k in SPEED_PRESETS else t("custom (m/s)"),
)
custom_speed = None
if speed_choice == ss.CUSTOM_SPEED:
    custom_speed = st.sidebar.number_input(
        t("Speed (m/s)"), min_value=0.1, max_value=3.0, value=0.8, step=0.05, format="%.2f", key="speed_custom"
    )
rule_sets = available_rule_sets()
rule_set_name = st.sidebar.selectbox(
    t("Rule set"), rule_sets, index=rule_sets.index(DEFAULT_RULE_SET) if DEFAULT_RULE_SET in rule_sets else 0, key="rule_set"
)
show_tiles = st.sidebar.checkbox(t("OpenStreetMap tiles under the map (needs internet)"), value=False, key="show_tiles")


# ----- the analysis (or the last good one when the new input is bad) ----------------------------
def data_choice() -> ss.DataChoice | None:
    """The layers chosen in the sidebar, uploads saved; None while an upload is still missing."""
    if source == "default":
        return ss.DataChoice()
    if uploads["network"] is None or uploads["facilities"] is None:
        return None
    saved = {role: saved_upload(role, file) if file is not None else None for role, file in uploads.items()}
    return ss.DataChoice(
        network=saved["network"],
        facilities=saved["facilities"],
        population=saved["population"],
        facilities_crs=facilities_crs,
        population_crs=population_crs,
        population_elderly=population_elderly,
    )


def saved_upload(role: str, file) -> SavedUpload:
    """Save an uploaded file once per upload (reruns reuse it; errors are raised every time).

    Saved again if its copy was pruned meanwhile (a session left open for a day, see
    ``ui.uploads.prune_uploads``).
    """
    memo = session.setdefault("saved_uploads", {})
    if (role, file.file_id) not in memo or not memo[(role, file.file_id)].path.exists():
        memo[(role, file.file_id)] = save_upload(file.name, file.getvalue(), role)
    return memo[(role, file.file_id)]


def build_analysis(choice: ss.DataChoice) -> ss.Analysis:
    speed = ss.speed_value(speed_choice, custom_speed)
    with st.spinner(t("Reading the layers and building the walking graph…")):
        inputs, load_seconds = cached_inputs(choice.key(), choice)
    with st.spinner(t("Computing walking times…")):
        result, run_seconds = cached_result(choice.key(), float(minutes), str(speed), inputs)
    return ss.Analysis(choice.key(), float(minutes), result.speed_mps, inputs, result, load_seconds + run_seconds, choice)


st.title(t("15-minute elderly-service circles"))
error = None
try:
    choice = data_choice()
except Exception as exc:  # a bad upload: say why, keep the last good result
    choice, error = None, ss.readable_message(exc)
if choice is not None:
    settings_key = f"{choice.key()}|{minutes}|{speed_choice}|{custom_speed}"
    analysis, error = ss.attempt(session, lambda: build_analysis(choice), key=settings_key)
else:
    analysis = session.get(ss.LAST_GOOD)
if error:
    st.error(t("This input cannot be used: {message}", message=error))
if analysis is None:
    st.info(t("Upload a street network and a facility layer in the sidebar to start."))
    st.stop()
if error or (choice is None and source == "upload"):
    st.warning(t("Showing the last result that worked (minutes {minutes:g}).", minutes=analysis.minutes))
    if choice is None and not error:
        st.info(t("Upload a street network and a facility layer in the sidebar to analyse your own area."))

inputs = analysis.inputs
result = ss.current_result(session, analysis)
changes = session[ss.CHANGES]
if analysis.data_key == "default":
    st.info(
        t(
            "Demo data: real streets of central Helsinki (© OpenStreetMap contributors) with four made-up "
            "DEMO sites and population estimated from buildings. These are not real facilities."
        )
    )


# ----- headline numbers -------------------------------------------------------------------------
def pct(value: float | None) -> str:
    return "–" if value is None or value != value else f"{value:.1%}"


def span(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "–"
    return f"{100 * low:.1f}–{high:.1%}"


now = ss.headline(result, inputs, analysis.seconds)
before = ss.headline(analysis.result, inputs, analysis.seconds) if changes else None
cols = st.columns([1.0, 1.45, 1.1, 0.8, 1.0, 1.0])
delta = None
if before is not None and now.covered_share is not None and before.covered_share is not None:
    delta = t("{pp:+.1f} points (what-if)", pp=100 * (now.covered_share - before.covered_share))
cols[0].metric(t("Covered population"), pct(now.covered_share), delta=delta, help=t("Share of residents within the walk at the chosen speed."))
cols[1].metric(t("Across speed presets"), span(now.share_min, now.share_max), help=t("Covered share at {speeds} m/s (rule W2).", speeds=", ".join(f"{v:g}" for v in sorted(SPEED_PRESETS.values()))))
cols[2].metric(
    t("Elderly covered (60+)"),
    f"{now.covered_elderly:,.0f}",
    delta=t("{share} of {total:,.0f}", share=pct(now.elderly_share), total=now.elderly_population),
    delta_color="off",
    delta_arrow="off",
)
cols[3].metric(t("Facilities"), now.facilities)
cols[4].metric(t("Off-network points"), now.off_network_points, help=t("Facilities and population units more than {m:g} m from a walkable street (rule W4).", m=DEFAULT_MAX_SNAP_M))
cols[5].metric(t("Network islands"), now.islands, help=t("Street pieces not connected to the largest one."))
st.caption(
    t(
        "{minutes:g} minutes at {speed:g} m/s = {reach:,.0f} m along streets · analysis {seconds:.1f} s",
        minutes=result.minutes,
        speed=result.speed_mps,
        reach=result.reach_m,
        seconds=analysis.seconds,
    )
)

tab_map, tab_tables, tab_checks, tab_sites, tab_notes = st.tabs(
    [t("Map"), t("Tables"), t("Planning checks"), t("Site selection"), t("Sources and notes")]
)


# ----- map and what-if --------------------------------------------------------------------------
def layers_for_display():
    """Population as drawn, service areas, facilities, and the two tables, memoised for this result."""
    key = (analysis.key, tuple(changes))
    memo = session.get("display_memo")
    if memo is None or memo[0] != key:
        with st.spinner(t("Drawing the service areas…")):
            memo = (
                key,
                population_display(result),
                service_area_layer(result),
                facilities_layer(result),
                ss.facilities_table(result),
                ss.population_table(result),
            )
        session["display_memo"] = memo
    return memo[1:]


def on_add(analysis: ss.Analysis) -> None:
    site = session.get(ss.PROPOSED_SITE)
    session.pop(ss.WHATIF_ERROR, None)
    if not site:
        return
    try:
        ss.add_site(session, analysis, site["lng"], site["lat"], session.get("whatif_name", ""), session.get("whatif_kind", "community_station"))
    except ValueError as exc:
        session[ss.WHATIF_ERROR] = str(exc)


def on_remove(analysis: ss.Analysis) -> None:
    label = session.get("whatif_remove_choice")
    session.pop(ss.WHATIF_ERROR, None)
    if label is None:
        return
    try:
        ss.remove_site(session, analysis, int(label))
    except KeyError as exc:
        session[ss.WHATIF_ERROR] = str(exc)


with tab_map:
    display, areas, facility_layer, facility_table, population = layers_for_display()
    streets = cached_basemap(analysis.data_key, inputs)
    map_col, panel = st.columns([3, 1])
    with map_col:
        fmap = build_map(result, streets, t, display=display, service_areas=areas, facilities=facility_layer, tiles=show_tiles)
        site = session.get(ss.PROPOSED_SITE)
        proposed = proposed_site_group(site["lat"], site["lng"], t) if site else None
        add_draw_control(fmap)  # Leaflet.draw is served from ui/static: works offline
        returned = st_folium(
            fmap,
            key="coverage_map",
            height=620,
            use_container_width=True,
            returned_objects=["last_clicked", "last_active_drawing"],
            feature_group_to_add=proposed,
        )
        # Drawing a district must not move the proposed what-if site. Leaflet.draw reports every
        # vertex as a map click too. Two guards: in the browser, add_draw_control holds map clicks
        # back while a drawing tool is active (st_folium cannot tell us about the drawing mode);
        # here, a click arriving in the same answer as a new drawing (the click that finished the
        # shape, if it slipped through) is remembered as seen but not taken as a site. A click
        # without a new drawing is an ordinary map click.
        if ss.handle_map_return(session, returned, DISTRICT_DRAWING):
            st.rerun()
        notes = []
        if display.aggregated:
            notes.append(
                t(
                    "{units:,} population units are drawn as {cells:,} cells of {cell:g} m; every number uses all units.",
                    units=display.units,
                    cells=len(display.frame),
                    cell=display.cell_m,
                )
            )
        if streets.coarse:
            notes.append(t("{edges:,} street edges: the grey basemap is simplified for drawing.", edges=streets.edges))
        notes.append(t("Click a layer name at the top right to show or hide it. Click the map to propose a what-if site."))
        st.caption(" ".join(notes))

    with panel:
        st.subheader(t("What-if"))
        st.caption(t("Click the map to propose a site, then add it. Coverage updates at once, without recomputing the whole area."))
        site = session.get(ss.PROPOSED_SITE)
        if site:
            st.markdown(t("Proposed site: {lat:.5f} N, {lng:.5f} E", lat=site["lat"], lng=site["lng"]))
        else:
            st.markdown(t("No site proposed yet: click the map."))
        st.text_input(t("Name of the new site"), key="whatif_name", placeholder=t("What-if site"))
        translated_choice(st.selectbox, t("Kind"), list(FACILITY_KINDS), key="whatif_kind", format_func=t, default="community_station")
        st.button(
            t("Add facility here"), key="whatif_add", on_click=on_add, args=(analysis,), disabled=not site, type="primary"
        )
        names = ss.facility_names(result)
        labels = list(names)
        st.selectbox(t("Facility to remove"), labels, format_func=lambda k: names.get(k, str(k)), key="whatif_remove_choice")
        st.button(t("Remove facility"), key="whatif_remove", on_click=on_remove, args=(analysis,), disabled=not labels)
        if session.get(ss.WHATIF_ERROR):
            st.error(t("The site cannot be added: {message}", message=session[ss.WHATIF_ERROR]))
        if changes:
            st.markdown("**" + t("Changes") + "**")
            for change in changes:
                if isinstance(change, ss.AddSite):
                    st.markdown(f"- {t('added')}: {change.facility_id} · {change.name} ({t(change.kind)})")
                else:
                    st.markdown(f"- {t('removed')}: {change.facility_id} · {change.name}")
            st.button(t("Undo all what-if changes"), key="whatif_reset", on_click=ss.reset_changes, args=(session,))
        # per-township numbers follow every what-if change (a point-in-polygon query, no re-search)
        try:
            township_file = session.get("up_townships")
            uploaded_townships = saved_upload("townships", township_file) if township_file is not None else None
            towns = planning.whatif_townships(analysis.choice, uploaded_townships)
        except Exception as exc:
            towns = None
            st.caption(t("This input cannot be used: {message}", message=ss.readable_message(exc)))
        if towns is not None:
            st.markdown("**" + t("Elderly within the walk per township") + "**")
            table = planning.township_whatif_table(analysis.result, result, towns)
            st.dataframe(translated_table(table, t), hide_index=True, width="stretch")


# ----- one proposed district: Q1-Q5 and W1 in seconds -------------------------------------------
def district_polygon():
    """The proposed district: an uploaded boundary file, else the polygon drawn on the map."""
    file = session.get("district_file")
    if file is not None:
        saved = saved_upload("districts", file)
        return planning.district_polygon_from_file(saved.path, name=file.name)
    return planning.district_polygon_from_drawing(session.get(DISTRICT_DRAWING))


with tab_map:
    st.subheader(t("Check a district"))
    st.caption(t("Draw the district on the map (polygon or rectangle tool, top left) or upload its boundary file."))
    d1, d2, d3 = st.columns([2, 1, 1])
    d1.file_uploader(
        t("District boundary (GeoJSON, GeoPackage, zipped Shapefile)"),
        type=UPLOADER_TYPES["districts"],
        key="district_file",
        max_upload_size=MAX_UPLOAD_MB,
    )
    households = d2.number_input(t("Planned households"), min_value=0, value=None, step=100, key="district_households")
    residents = d3.number_input(t("Planned residents"), min_value=0, value=None, step=100, key="district_residents")
    district_name = d2.text_input(t("District name"), key="district_name", placeholder=t("proposed district"))
    try:
        polygon, polygon_error = district_polygon(), None
    except Exception as exc:
        polygon, polygon_error = None, ss.readable_message(exc)
    if polygon_error:
        st.error(t("This boundary cannot be used: {message}", message=polygon_error))
    elif polygon is None:
        st.info(t("No district boundary yet: upload a file or draw one on the map."))
    no_size = households is None and residents is None
    if polygon is not None and no_size:
        st.caption(t("Enter the planned households or residents."))
    if st.button(t("Check district"), key="check_district", type="primary", disabled=polygon is None or no_size):
        try:
            rules_now = cached_rule_set(rule_set_name)
            check = planning.check_district(
                polygon,
                result=result,
                rules=rules_now,
                households=None if households is None else float(households),
                residents=None if residents is None else float(residents),
                name=district_name or "proposed district",
            )
            session["district_run"] = (check, None)
        except Exception as exc:
            session["district_run"] = (None, ss.readable_message(exc))
    stored_district = session.get("district_run")
    if stored_district is not None:
        check, problem = stored_district
        if problem:
            st.error(t("The district could not be checked: {message}", message=problem))
        else:
            st.dataframe(translated_table(planning.district_findings_table(check, t), t), hide_index=True, width="stretch")
            st.dataframe(translated_table(planning.district_numbers(check), t), hide_index=True, width="stretch")
            for note in check.notes:
                st.caption(f"· {ss.clean_paths(note)}")


# ----- tables and downloads ---------------------------------------------------------------------
with tab_tables:
    st.subheader(t("Facility table"))
    st.dataframe(translated_table(facility_table, t), hide_index=True, width="stretch")
    st.subheader(t("Population units"))
    st.caption(t("{n:,} units; walking minutes are empty where no facility is reached.", n=len(population)))
    if len(population) > ss.TABLE_DISPLAY_ROWS:
        st.caption(t("Showing the first {rows:,} rows; the CSV download has all of them.", rows=ss.TABLE_DISPLAY_ROWS))
    st.dataframe(translated_table(population.head(ss.TABLE_DISPLAY_ROWS), t), hide_index=True, width="stretch", height=320)
    c1, c2, c3 = st.columns(3)
    c1.download_button(
        t("GeoPackage (4 layers)"),
        data=lambda: geopackage_bytes(result),
        file_name="circles.gpkg",
        mime="application/geopackage+sqlite3",
        key="download_gpkg",
        on_click="ignore",
    )
    c2.download_button(
        t("Population table (CSV)"), data=lambda: csv_bytes(population), file_name="population.csv", mime="text/csv", key="download_population", on_click="ignore"
    )
    c3.download_button(
        t("Facilities table (CSV)"), data=lambda: csv_bytes(facility_table), file_name="facilities.csv", mime="text/csv", key="download_facilities", on_click="ignore"
    )


# ----- planning checks and site selection (analysis/; "coming" while those modules are absent) ----
@st.cache_resource(show_spinner=False, max_entries=4)
def cached_checks(data_key: str, rule_set: str, speed: str, boundaries_key: str, _choice: ss.DataChoice, _boundaries: dict):
    return planning.run_planning_checks(_choice, rule_set, speed, **_boundaries)


@st.cache_resource(show_spinner=False, max_entries=4)
def cached_report(checks_key: tuple, _run) -> dict[str, bytes]:
    return planning.report_files(_run)


@st.cache_resource(show_spinner=False, max_entries=8)
def cached_sites(data_key: str, model: str, p: int, target: float | None, minutes: float, speed: str, rule_set: str, _choice: ss.DataChoice):
    return planning.run_site_selection(_choice, model=model, p=p, minutes=minutes, speed=speed, rule_set=rule_set, target=target)


speed_text = f"{analysis.speed_mps:g}"  # the speed of the result shown (m/s), even if a new input failed

with tab_checks:
    try:
        rules = cached_rule_set(rule_set_name)
    except Exception as exc:
        st.error(ss.readable_message(exc))
        rules = None
    if rules is not None:
        st.markdown(f"**{rules.title_zh if lang == 'zh' and rules.title_zh else rules.title}**")
        if "W1" in rules and float(rules.value("W1")) != result.minutes:
            st.warning(t("Rule W1 of this set is {w1:g} minutes; the map uses {minutes:g}.", w1=float(rules.value("W1")), minutes=result.minutes))
    if not planning.checks_available():
        st.info(t("Planning checks (quotas, township coverage) are coming in a later issue: nothing is assessed here yet."))
    elif rules is not None:
        st.caption(t("Checks every rule of the set on the current layers (existing facilities, without what-if changes). Walking time is the set's W1."))
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
        boundaries, boundary_error = {}, None
        try:
            boundaries = {role: saved_upload(role, file) for role, file in boundary_files.items() if file is not None}
        except Exception as exc:
            boundary_error = ss.readable_message(exc)
            st.error(t("This input cannot be used: {message}", message=boundary_error))
        boundaries_key = "|".join(f"{role}={upload.sha256}" for role, upload in sorted(boundaries.items()))
        checks_key = (analysis.data_key, rule_set_name, speed_text, boundaries_key)
        if st.button(t("Run planning checks"), key="run_checks", type="primary", disabled=boundary_error is not None):
            with st.spinner(t("Running the planning checks…")):
                try:
                    run = cached_checks(analysis.data_key, rule_set_name, speed_text, boundaries_key, analysis.choice, boundaries)
                    session["checks_run"] = (checks_key, run, None)
                except Exception as exc:
                    session["checks_run"] = (checks_key, None, ss.readable_message(exc))
        stored = session.get("checks_run")
        if stored is not None and stored[0] == checks_key:
            _, run, problem = stored
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
                st.download_button(
                    t("Findings (CSV)"), data=lambda: csv_bytes(findings), file_name="findings.csv", mime="text/csv", key="download_findings", on_click="ignore"
                )
                township_colour = translated_choice(
                    st.radio,
                    t("Colour townships by"),
                    ["t1_status", "w1_elderly_share"],
                    key="township_colour",
                    format_func=lambda v: t("T1 comprehensive centre (pass/fail)") if v == "t1_status" else t("W1 share of elderly within the walk"),
                )
                st_folium(
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
                    st.caption(f"· {ss.clean_paths(note)}")
        elif stored is not None:
            st.caption(t("Settings changed since the last run: press the button again."))
    if rules is not None:
        with st.expander(t("Rules of this set")):
            st.dataframe(
                [
                    {"id": r.id, t("Rule"): r.text_zh if lang == "zh" else r.gloss, t("Value"): str(r.value), t("Unit"): r.unit, t("Source"): r.source}
                    for r in rules.rules.values()
                ],
                hide_index=True,
                width="stretch",
            )


def on_sites_to_whatif(analysis: ss.Analysis, sites: list[tuple[float, float, str]]) -> None:
    session.pop(ss.WHATIF_ERROR, None)
    for lon, lat, name in sites:
        try:
            ss.add_site(session, analysis, lon, lat, name, "community_station")
        except ValueError as exc:
            session[ss.WHATIF_ERROR] = str(exc)


with tab_sites:
    if not planning.sites_available():
        st.info(t("Site selection is coming in a later issue. Until then, try sites one at a time with the what-if panel on the map."))
    else:
        st.caption(t("Proposes new sites among vacant OSM land and clusters of uncovered elderly people; existing facilities stay open."))
        c1, c2 = st.columns(2)
        with c1:
            model = translated_choice(
                st.selectbox, t("Model"), list(planning.SITE_MODELS), key="site_model", format_func=lambda m: t(planning.SITE_MODELS[m])
            )
            size_mode = "p"
            if model == "mclp":
                size_mode = translated_choice(
                    st.radio,
                    t("How many sites"),
                    ["p", "target"],
                    key="site_size_mode",
                    format_func=lambda v: t("Number of sites") if v == "p" else t("Target coverage"),
                )
        with c2:
            target = None
            if size_mode == "target":
                target_pct = st.slider(
                    t("Target: elderly within the walk (%)"), min_value=0, max_value=100, value=90, step=1, format="%d%%", key="site_target"
                )
                target = target_pct / 100.0
                st.caption(t("The fewest sites whose coverage of all elderly people reaches the target."))
            else:
                p_sites = st.number_input(t("New sites"), min_value=1, max_value=20, value=3, step=1, key="site_p", disabled=model == "lscp")
        p_value = 0 if target is not None else int(p_sites)
        sites_key = (analysis.data_key, model, p_value, target, analysis.minutes, speed_text, rule_set_name)
        if st.button(t("Propose sites"), key="run_sites", type="primary"):
            with st.spinner(t("Choosing sites…")):
                try:
                    answer = cached_sites(analysis.data_key, model, p_value, target, analysis.minutes, speed_text, rule_set_name, analysis.choice)
                    session["sites_run"] = (sites_key, answer, None)
                except Exception as exc:
                    session["sites_run"] = (sites_key, None, ss.readable_message(exc))
        stored = session.get("sites_run")
        if stored is not None and stored[0] == sites_key:
            _, answer, problem = stored
            if problem:
                st.error(t("No sites could be chosen: {message}", message=problem))
            else:
                report, proposed = answer
                total = report["total_elderly"] or float("nan")
                c1, c2, c3 = st.columns(3)
                c1.metric(t("New sites"), len(proposed))
                c2.metric(t("Elderly covered before"), pct(report["covered_before"] / total))
                c3.metric(t("Elderly covered after"), pct(report["covered_after"] / total))
                if report.get("target_coverage") is not None:
                    st.caption(t("Target {target:.0%}: {p} sites reach it.", target=report["target_coverage"], p=report["p"]))
                st.caption(
                    t("Solver {solver}: {state}.", solver=report["solver"], state=t("optimal") if report["optimal"] else t("gap {gap:.2%}", gap=report["gap"] or 0.0))
                )
                table = planning.proposed_sites_table(proposed)
                st_folium(
                    proposed_sites_map(table, cached_basemap(analysis.data_key, inputs), facility_layer, t, tiles=show_tiles),
                    key="sites_map",
                    height=480,
                    use_container_width=True,
                    returned_objects=[],
                )
                st.dataframe(translated_table(table, t), hide_index=True, width="stretch")
                sites = {int(r.rank): (float(r.lon), float(r.lat), t("Proposed site #{rank}", rank=int(r.rank))) for r in table.itertuples()}
                a1, a2, a3 = st.columns([1, 1, 1])
                with a1:
                    rank = st.selectbox(
                        t("Site to accept"),
                        list(sites),
                        format_func=lambda k: t("#{rank} (+{elderly} elderly)", rank=k, elderly=f"{float(table.loc[table['rank'] == k, 'added_elderly'].iloc[0]):,.0f}"),
                        key="site_accept_rank",
                    )
                accepted = {c.name for c in session[ss.CHANGES] if isinstance(c, ss.AddSite)}
                with a2:
                    st.button(
                        t("Add this site to the what-if"),
                        key="site_to_whatif",
                        on_click=on_sites_to_whatif,
                        args=(analysis, [sites[rank]] if rank in sites else []),
                        disabled=rank not in sites or sites[rank][2] in accepted,
                        type="primary",
                    )
                    if rank in sites and sites[rank][2] in accepted:
                        st.caption(t("This site is already in the what-if."))
                with a3:
                    st.button(t("Add these sites to the what-if"), key="sites_to_whatif", on_click=on_sites_to_whatif, args=(analysis, list(sites.values())))
                if session.get(ss.WHATIF_ERROR):
                    st.error(t("The site cannot be added: {message}", message=session[ss.WHATIF_ERROR]))
                for note in report["notes"]:
                    st.caption(f"· {ss.clean_paths(note)}")

with tab_notes:
    st.markdown("**" + t("Sources") + "**")
    for role, text in inputs.sources.items():
        st.markdown(f"- {t(role)}: {text}")
    if inputs.notes:
        st.markdown("**" + t("Notes") + "**")
        for note in inputs.notes:
            st.markdown(f"- {ss.clean_paths(note)}")
    st.caption(
        t("Walking graph: {nodes:,} nodes, {edges:,} edges.", nodes=result.graph.n_nodes, edges=result.graph.n_edges)
    )
