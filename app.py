"""Streamlit page: 15-minute elderly-service circles (一刻钟养老服务圈) on a map, with what-if sites.

Run with ``streamlit run app.py``. This file lays out the sidebar and the headline numbers and
calls each tab's ``render`` (``ui/tab_*.py``); reading uploads, the session's what-if changes, the
map and the translations live in ``ui/`` as plain functions. The walking analysis is cached by
the input files' content and the settings, so clicking the map never reruns it.
"""

from __future__ import annotations

import time

import streamlit as st

import ui.tab_batch
import ui.tab_checks
import ui.tab_district
import ui.tab_map
import ui.tab_notes
import ui.tab_sites
import ui.tab_tables
from analysis.rules import DEFAULT_RULE_SET, available_rule_sets
from coverage.pipeline import Inputs, run_circles
from coverage.settings import DEFAULT_MINUTES, SPEED_PRESETS
from ui import state as ss
from ui.database_source import database_sidebar
from ui.i18n import LANGUAGES, Translator
from ui.online_tiles import tile_sidebar
from ui.page import PageContext, pct, rule_set_label, translated_choice, widget_texts_css
from ui.uploads import MAX_UPLOAD_MB, UPLOADER_TYPES

st.set_page_config(page_title="一刻钟养老服务圈 · 15-minute elderly-service circles", layout="wide")
session = st.session_state


# ----- cached work (keyed by content hashes and settings, never by widget clicks) ---------------
@st.cache_resource(show_spinner=False, max_entries=6)
def cached_inputs(data_key: str, _choice: ss.DataChoice) -> tuple[Inputs, float]:
    start = time.perf_counter()
    inputs = _choice.load()
    return inputs, time.perf_counter() - start


@st.cache_resource(show_spinner=False, max_entries=24)
def cached_result(data_key: str, minutes: float, speed: str, _inputs: Inputs):
    """The walk on the loaded layers; it carries them (``result.inputs``) for the checks and site tabs."""
    start = time.perf_counter()
    result = run_circles(_inputs, minutes=minutes, speed=speed)
    return result, time.perf_counter() - start


# ----- sidebar: language, data, settings ------------------------------------------------------
lang = st.sidebar.radio("Language / 语言", list(LANGUAGES), format_func=LANGUAGES.get, key="lang", horizontal=True)
t = Translator(lang)
if lang != "en":
    st.markdown(widget_texts_css(t, MAX_UPLOAD_MB), unsafe_allow_html=True)  # Streamlit's own uploader texts


st.sidebar.header(t("Data"))
source = translated_choice(
    st.sidebar.radio,
    t("Layers"),
    ["default", "upload", "database"],
    key="data_source",
    format_func=lambda v: {
        "default": t("Embedded demo: real streets, DEMO sites"),
        "upload": t("Upload my own layers"),
        "database": t("Tables of a PostGIS database"),
    }[v],
    lang=lang,
)
embedded = ss.DataChoice().embedded
if source == "default":
    embedded = translated_choice(
        st.sidebar.selectbox,
        t("Embedded area"),
        list(ss.EMBEDDED_LABELS),
        key="embedded",
        format_func=lambda k: t(ss.EMBEDDED_LABELS[k]),
        lang=lang,
    )
uploads = {}
database_layers = database_sidebar(st, t, session) if source == "database" else None


def _uploader(kind: str, label: str):
    """The sidebar's file uploader for one input layer (``kind``: network, facilities, population)."""
    return st.sidebar.file_uploader(label, type=UPLOADER_TYPES[kind], key=f"up_{kind}", max_upload_size=MAX_UPLOAD_MB)


def _coordinates_choice(label: str, key: str) -> str:
    """The sidebar's choice of the coordinate system an uploaded layer's lon/lat are in."""
    return translated_choice(
        st.sidebar.selectbox,
        label,
        list(ss.COORDINATE_SYSTEMS),
        key=key,
        format_func=lambda k: t(ss.COORDINATE_SYSTEMS[k]),
        lang=lang,
    )


if source == "upload":
    st.sidebar.caption(t("Files up to {mb} MB each. Nothing is sent anywhere: files stay on this computer.", mb=MAX_UPLOAD_MB))
    uploads["network"] = _uploader("network", t("Street network (.osm.pbf, .osm)"))
    uploads["facilities"] = _uploader("facilities", t("Facilities (CSV, GeoPackage, GeoJSON, zipped Shapefile)"))
    facilities_crs = _coordinates_choice(t("Facility coordinates"), "facilities_crs")
    uploads["population"] = _uploader(
        "population", t("Population (GeoTIFF or polygons; optional with .osm.pbf: estimated from buildings)")
    )
    population_crs = _coordinates_choice(t("Population coordinates"), "population_crs")
    population_elderly = st.sidebar.checkbox(t("The raster counts people aged 60+"), key="population_elderly")
    nodata_as_zero = st.sidebar.checkbox(
        t("Nodata cells of the raster: nobody lives there (0 people)"),
        key="nodata_as_zero",
        help=t("Rivers and lakes are nodata in WorldPop. Off: a place on nodata cells only is an error (no data is not 0 people)."),
    )

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
    lang=lang,
)
custom_speed = None
if speed_choice == ss.CUSTOM_SPEED:
    custom_speed = st.sidebar.number_input(
        t("Speed (m/s)"), min_value=0.1, max_value=3.0, value=0.8, step=0.05, format="%.2f", key="speed_custom"
    )
rule_sets = available_rule_sets()
rule_set_name = st.sidebar.selectbox(
    t("Rule set"),
    rule_sets,
    index=rule_sets.index(DEFAULT_RULE_SET) if DEFAULT_RULE_SET in rule_sets else 0,
    key="rule_set",
    format_func=lambda name: rule_set_label(name, lang),
)
show_tiles = tile_sidebar(st.sidebar, t, session)  # online tiles only when switched on (default: offline)


# ----- the analysis (or the last good one when the new input is bad) ----------------------------
def data_choice() -> ss.DataChoice | None:
    """The layers chosen in the sidebar, uploads saved; None while an upload is still missing."""
    if source == "default":
        return ss.DataChoice(embedded=embedded)
    if source == "database":  # tables read and kept like uploads (ui/database_source.py)
        return None if database_layers is None else ss.DataChoice(**database_layers)
    if uploads["network"] is None or uploads["facilities"] is None:
        return None
    saved = {role: ss.saved_upload(session, role, file) if file is not None else None for role, file in uploads.items()}
    return ss.DataChoice(
        network=saved["network"],
        facilities=saved["facilities"],
        population=saved["population"],
        facilities_crs=facilities_crs,
        population_crs=population_crs,
        population_elderly=population_elderly,
        nodata_as_zero=nodata_as_zero,
    )


def build_analysis(choice: ss.DataChoice) -> ss.Analysis:
    """One walk per data and settings (``ui.data_choice.build_analysis`` with the cached steps)."""

    def load(chosen: ss.DataChoice) -> tuple[Inputs, float]:
        with st.spinner(t("Reading the layers and building the walking graph…")):
            return cached_inputs(chosen.key(), chosen)

    def walk(inputs: Inputs, walk_minutes: float, speed: float | str) -> tuple:
        with st.spinner(t("Computing walking times…")):
            return cached_result(choice.key(), walk_minutes, str(speed), inputs)

    return ss.build_analysis(choice, float(minutes), ss.speed_value(speed_choice, custom_speed), load=load, walk=walk)


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
if analysis.choice.is_default:
    st.info(t(ss.EMBEDDED_NOTES[analysis.choice.embedded]))


# ----- headline numbers: covered elderly, uncovered elderly, the largest gap ----------------------
now = ss.headline(result, inputs, analysis.seconds)
before = ss.headline(analysis.result, inputs, analysis.seconds) if changes else None
cols = st.columns([1.15, 1.0, 1.35, 1.0, 0.7])
uncovered_delta = None
if before is not None:
    uncovered_delta = t("{n:+,.0f} (what-if)", n=now.uncovered_elderly - before.uncovered_elderly)
cols[0].metric(
    t("Elderly covered (60+)"),
    f"{now.covered_elderly:,.0f}",
    delta=t("{share} of {total:,.0f}", share=pct(now.elderly_share), total=now.elderly_population),
    delta_color="off",
    delta_arrow="off",
)
cols[1].metric(
    t("Elderly not covered"),
    f"{now.uncovered_elderly:,.0f}",
    delta=uncovered_delta,
    delta_color="inverse",
    help=t("People aged 60+ farther than {minutes:g} minutes' walk from every facility (rule W1).", minutes=result.minutes),
)
gap = now.gap
if gap is None:
    cols[2].metric(t("Largest gap"), "—", help=t("Every elderly person is within the walk."))
else:
    cols[2].metric(
        t("Largest gap"),
        t("{elderly:,.0f} elderly", elderly=gap.elderly),
        delta=t("around {lat:.4f} N, {lon:.4f} E", lat=gap.lat, lon=gap.lon)
        + " · "
        + (t("{minutes:.1f} min to the nearest facility", minutes=gap.minutes) if gap.minutes is not None else t("no facility within twice the walk")),
        delta_color="off",
        delta_arrow="off",
        help=t(
            "The largest group of uncovered elderly people: the {size:,.0f} m square (the walk's reach) holding the most of them. A site there closes the biggest gap first.",
            size=gap.size_m,
        ),
    )
delta = None
if before is not None and now.covered_share is not None and before.covered_share is not None:
    delta = t("{pp:+.1f} points (what-if)", pp=100 * (now.covered_share - before.covered_share))
cols[3].metric(t("Covered population"), pct(now.covered_share), delta=delta, help=t("Share of residents within the walk at the chosen speed."))
cols[4].metric(t("Facilities"), now.facilities)
st.caption(
    t(
        "{minutes:g} minutes at {speed:g} m/s = {reach:,.0f} m along streets · analysis {seconds:.1f} s",
        minutes=result.minutes,
        speed=result.speed_mps,
        reach=result.reach_m,
        seconds=analysis.seconds,
    )
)

speed_text = f"{analysis.speed_mps:g}"  # the speed of the result shown (m/s), even if a new input failed
page = PageContext(
    analysis=analysis,
    result=result,
    changes=changes,
    t=t,
    lang=lang,
    rule_set_name=rule_set_name,
    show_tiles=show_tiles,
    speed_text=speed_text,
    headline=now,
)

tab_map, tab_tables, tab_checks, tab_sites, tab_notes, tab_batch = st.tabs(
    [t("Map"), t("Tables"), t("Planning checks"), t("Site selection"), t("Sources and notes"), t("Batch results")]
)

# ----- map and what-if --------------------------------------------------------------------------
with tab_map:
    shown = ui.tab_map.render(page)

# ----- one proposed district: Q1-Q5 and W1 in seconds -------------------------------------------
with tab_map:
    ui.tab_district.render(page)

# ----- tables and downloads ---------------------------------------------------------------------
with tab_tables:
    ui.tab_tables.render(page, shown.facility_table, shown.population)

# ----- planning checks and site selection (analysis/; "coming" while those modules are absent) ----
with tab_checks:
    ui.tab_checks.render(page)

with tab_sites:
    ui.tab_sites.render(page, shown.facility_layer)

with tab_notes:
    ui.tab_notes.render(page)

with tab_batch:  # the summary of a `python -m coverage batch` run: its areas on a map (issue 14)
    ui.tab_batch.render(page)
