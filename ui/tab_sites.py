"""The "Site selection" tab: new sites proposed by ``analysis.site_selection``, sent to the what-if.

Says "coming" while the site-selection module is absent.
"""

from __future__ import annotations

import geopandas as gpd
import streamlit as st
import streamlit_folium  # called as streamlit_folium.st_folium: looked up at each run, so tests can stand in for it

from ui import planning
from ui import state as ss
from ui.i18n import translated_table
from ui.mapping import proposed_sites_map
from ui.page import PageContext, cached_basemap, keep_run, kept_run, pct, translated_choice

session = st.session_state
#: The what-if changes the kept proposal was computed with.
SITES_RUN_CHANGES = "sites_run_changes"


@st.cache_resource(show_spinner=False, max_entries=8)
def cached_sites(
    data_key: str, model: str, p: int, target: float | None, minutes: float, speed: str, rule_set: str, changes: tuple, _result
):
    """Sites proposed on the result the map shows (``_result``: what-if ``changes`` applied), cached by those keys."""
    return planning.run_site_selection(_result, model=model, p=p, rule_set=rule_set, target=target)


def on_sites_to_whatif(analysis: ss.Analysis, sites: list[tuple[float, float, str]]) -> None:
    session.pop(ss.WHATIF_ERROR, None)
    for lon, lat, name in sites:
        try:
            ss.add_site(session, analysis, lon, lat, name, "community_station")
        except (ValueError, KeyError, TypeError) as exc:
            session[ss.WHATIF_ERROR] = ss.readable_message(exc)


def render(page: PageContext, facility_layer: gpd.GeoDataFrame) -> None:
    """Lay out the model and size, the proposal (drawn over ``facility_layer``) and the what-if buttons."""
    analysis, t, lang = page.analysis, page.t, page.lang
    inputs, rule_set_name, speed_text, show_tiles = page.inputs, page.rule_set_name, page.speed_text, page.show_tiles
    st.caption(t("Proposes new sites among vacant OSM land and clusters of uncovered elderly people; existing facilities stay open."))
    c1, c2 = st.columns(2)
    with c1:
        model = translated_choice(
            st.selectbox, t("Model"), list(planning.SITE_MODELS), key="site_model", format_func=lambda m: t(planning.SITE_MODELS[m]), lang=lang
        )
        size_mode = "p"
        if model == "mclp":
            size_mode = translated_choice(
                st.radio,
                t("How many sites"),
                ["p", "target"],
                key="site_size_mode",
                format_func=lambda v: t("Number of sites") if v == "p" else t("Target coverage"),
                lang=lang,
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
    # proposed on the result of the moment (what-if changes included); the proposal stays shown
    # while its sites are accepted one by one, and says so once the what-if has changed since
    changes = tuple(page.changes)
    sites_key = (analysis.data_key, model, p_value, target, analysis.minutes, speed_text, rule_set_name)
    if st.button(t("Propose sites"), key="run_sites", type="primary"):
        with st.spinner(t("Choosing sites…")):
            keep_run(
                "sites_run", sites_key,
                lambda: cached_sites(
                    analysis.data_key, model, p_value, target, analysis.minutes, speed_text, rule_set_name, changes, page.result
                ),
            )
            session[SITES_RUN_CHANGES] = changes
    stored = kept_run("sites_run", sites_key)
    if stored is not None and session.get(SITES_RUN_CHANGES) != changes:
        st.caption(t("These sites were proposed before the latest what-if changes: press the button again to propose on them."))
    if stored is not None:
        answer, problem = stored
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
                t("Solver {solver}: {state}.", solver=t.message(report["solver"]), state=t("optimal") if report["optimal"] else t("gap {gap:.2%}", gap=report["gap"] or 0.0))
            )
            table = planning.proposed_sites_table(proposed)
            streamlit_folium.st_folium(
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
                    key=f"site_accept_rank_{ss.data_widget_suffix(analysis.data_key)}",
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
                st.caption(f"· {t.message(note)}")
