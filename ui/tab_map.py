"""The "Map" tab: the coverage map and the what-if panel (propose, add and remove sites)."""

from __future__ import annotations

from typing import NamedTuple

import geopandas as gpd
import pandas as pd
import streamlit as st

from coverage.output import facilities_layer, service_area_layer
from layers.facilities import FACILITY_KINDS
from ui import planning, scenario_panel
from ui import state as ss
from ui.basemap_cache import extract_context
from ui.basemap_frame import served_json, show_map
from ui.i18n import translated_table
from ui.map_layers import population_display, proposed_site_group
from ui.map_search import KINDS, Focus, find, focus_of, search_index
from ui.mapping import add_draw_control, coverage_base, coverage_overlays
from ui.page import PageContext, cached_basemap, translated_choice

session = st.session_state


class MapLayers(NamedTuple):
    """The layers drawn on the map that the tables and the site selection show again."""

    facility_layer: gpd.GeoDataFrame
    facility_table: pd.DataFrame
    population: pd.DataFrame


def layers_for_display(page: PageContext):
    """Population as drawn, service areas, facilities, and the two tables, memoised for this result."""
    analysis, result, changes, t = page.analysis, page.result, page.changes, page.t
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


def search_layers(page: PageContext, facility_layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The names to search (streets, facilities with what-if sites, townships, named parks, water
    and buildings of the extract), memoised for this result."""
    analysis, changes = page.analysis, page.changes
    township_file = session.get("up_townships")
    key = (analysis.key, tuple(changes), getattr(township_file, "file_id", None))
    memo = session.get("search_memo")
    if memo is None or memo[0] != key:
        try:
            uploaded = ss.saved_upload(session, "townships", township_file) if township_file is not None else None
            towns = planning.whatif_townships(analysis.choice, uploaded)
        except Exception:  # a bad township upload is reported by the what-if panel; search without it
            towns = None
        index = search_index(
            edges=page.inputs.network.edges, facilities=facility_layer, townships=towns, context=extract_context(page.inputs)
        )
        memo = (key, index)
        session["search_memo"] = memo
    return memo[1]


def search_box(page: PageContext, facility_layer: gpd.GeoDataFrame) -> Focus | None:
    """A name field and the matching streets, facilities and areas; the chosen one is zoomed to."""
    t = page.t
    suffix = ss.data_widget_suffix(page.analysis.data_key)
    text = st.text_input(
        t("Find on the map"), key=f"map_search_{suffix}", placeholder=t("street, facility, township or park"),
    )
    if not text.strip():
        return None
    matches = find(search_layers(page, facility_layer), text)
    if not len(matches):
        st.caption(t("Nothing named like “{text}” in the loaded layers.", text=text.strip()))
        return None
    labels = [f"{name} · {t(KINDS[kind])}" for name, kind in zip(matches["name"], matches["kind"], strict=True)]
    options = [-1, *range(len(labels))]
    pick = st.selectbox(
        t("Zoom to"),
        options,
        index=1,
        format_func=lambda i: t("Whole area") if i < 0 else labels[i],
        key=f"map_search_pick_{suffix}_{ss.data_widget_suffix(text.strip())}",
    )
    return None if pick < 0 else focus_of(matches.iloc[pick], labels[pick])


def on_add(analysis: ss.Analysis) -> None:
    site = session.get(ss.PROPOSED_SITE)
    session.pop(ss.WHATIF_ERROR, None)
    if not site:
        return
    try:
        ss.add_site(session, analysis, site["lng"], site["lat"], session.get("whatif_name", ""), session.get("whatif_kind", "community_station"))
    except (ValueError, KeyError, TypeError) as exc:
        session[ss.WHATIF_ERROR] = ss.readable_message(exc)


def remove_choice_key(analysis: ss.Analysis) -> str:
    """The "facility to remove" widget's key: one per loaded data, so no choice outlives its data."""
    return f"whatif_remove_choice_{ss.data_widget_suffix(analysis.data_key)}"


def on_remove(analysis: ss.Analysis) -> None:
    label = session.get(remove_choice_key(analysis))
    session.pop(ss.WHATIF_ERROR, None)
    if label is None:
        return
    try:
        ss.remove_site(session, analysis, int(label))
    except (KeyError, ValueError, TypeError) as exc:  # a facility of other data: say so, never a traceback
        session[ss.WHATIF_ERROR] = ss.readable_message(exc)


def render(page: PageContext) -> MapLayers:
    """Lay out the map and the what-if panel; return the layers the other tabs show again."""
    analysis, result, changes, t = page.analysis, page.result, page.changes, page.t
    inputs, show_tiles = page.inputs, page.show_tiles
    display, areas, facility_layer, facility_table, population = layers_for_display(page)
    streets = cached_basemap(analysis.data_key, inputs)
    map_col, panel = st.columns([3, 1])
    with panel:  # first, so the map can zoom to the match; beside the map, so the map keeps its place
        focus = search_box(page, facility_layer)
    with map_col:
        groups, legend = coverage_overlays(result, t, display=display, service_areas=areas, facilities=facility_layer)
        site = session.get(ss.PROPOSED_SITE)
        if site:
            groups.append(proposed_site_group(site["lat"], site["lng"], t))

        streets_url = served_json(analysis.data_key, streets.geojson)  # a large city's streets: fetched, not carried

        def base():  # rendered once per data, language, tiles and search (ui/basemap_frame.py)
            fmap, rows = coverage_base(streets, t, tiles=show_tiles, focus=focus, streets_url=streets_url)
            add_draw_control(fmap, t)  # Leaflet.draw is served from ui/static: works offline
            return fmap, rows

        focus_key = None if focus is None else (focus.label, focus.bounds)
        returned = show_map(
            ("coverage", analysis.data_key, t.lang, show_tiles, focus_key, streets_url),
            base,
            groups,
            legend,
            key="coverage_map",
            height=620,
            returned_objects=["last_clicked", "last_object_clicked", "last_active_drawing", "all_drawings"],
        )
        # Drawing a district must not move the proposed what-if site. Leaflet.draw reports every
        # vertex as a map click too. Two guards: in the browser, add_draw_control holds map clicks
        # back while a drawing tool is active (st_folium cannot tell us about the drawing mode);
        # here, a click arriving in the same answer as a new drawing (the click that finished the
        # shape, if it slipped through) is remembered as seen but not taken as a site. A click
        # without a new drawing is an ordinary map click.
        if ss.handle_map_return(session, returned, ss.DISTRICT_DRAWING):
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
        dropped = streets.context.dropped
        if dropped.get("buildings") or dropped.get("land"):
            notes.append(
                t(
                    "The basemap shows the largest {buildings:,} buildings and {areas:,} land-use and water areas of the extract.",
                    buildings=streets.context.counts.get("buildings", 0) - dropped.get("buildings", 0),
                    areas=sum(streets.context.counts.get(k, 0) for k in ("residential", "commercial", "industrial", "green", "water")) - dropped.get("land", 0),
                )
            )
        if show_tiles is not None:
            notes.append(t("Online tiles are on: the browser loads them from the provider; without internet the map says so and the offline basemap stays."))
        notes.append(t("The PNG button on the map saves the view as an image."))
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
        translated_choice(st.selectbox, t("Kind"), list(FACILITY_KINDS), key="whatif_kind", format_func=t, lang=page.lang, default="community_station")
        st.button(
            t("Add facility here"), key="whatif_add", on_click=on_add, args=(analysis,), disabled=not site, type="primary"
        )
        names = ss.facility_names(result)
        labels = list(names)
        st.selectbox(t("Facility to remove"), labels, format_func=lambda k: t.message(names.get(k, str(k))), key=remove_choice_key(analysis))
        st.button(t("Remove facility"), key="whatif_remove", on_click=on_remove, args=(analysis,), disabled=not labels)
        if session.get(ss.WHATIF_ERROR):
            st.error(t("The site cannot be added: {message}", message=session[ss.WHATIF_ERROR]))
        if changes:
            st.markdown("**" + t("Changes") + "**")
            for change in changes:
                if isinstance(change, ss.AddSite):
                    st.markdown(f"- {t('added')}: {change.facility_id} · {t.message(change.name)} ({t(change.kind)})")
                elif isinstance(change, ss.MoveSite):
                    st.markdown(f"- {t('moved')}: {change.facility_id} · {t.message(change.name)}")
                else:
                    st.markdown(f"- {t('removed')}: {change.facility_id} · {t.message(change.name)}")
            st.button(t("Undo all what-if changes"), key="whatif_reset", on_click=ss.reset_changes, args=(session,))
        # per-township numbers follow every what-if change (a point-in-polygon query, no re-search)
        try:
            township_file = session.get("up_townships")
            uploaded_townships = ss.saved_upload(session, "townships", township_file) if township_file is not None else None
            towns = planning.whatif_townships(analysis.choice, uploaded_townships)
        except Exception as exc:
            towns = None
            st.caption(t("This input cannot be used: {message}", message=ss.readable_message(exc)))
        if towns is not None:
            st.markdown("**" + t("Elderly within the walk per township") + "**")
            table = planning.township_whatif_table(analysis.result, result, towns)
            st.dataframe(translated_table(table, t), hide_index=True, width="stretch")
    scenario_panel.render(page)  # name, save, load, undo, compare (ui/scenario_panel.py)
    return MapLayers(facility_layer, facility_table, population)
