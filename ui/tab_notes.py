"""The "Sources and notes" tab: where each layer came from, the reading notes, the graph size."""

from __future__ import annotations

import streamlit as st

from coverage.settings import DEFAULT_MAX_SNAP_M, SPEED_PRESETS
from ui.page import PageContext
from ui.wording import percent


def render(page: PageContext) -> None:
    """List the layers' sources and notes and the walking graph's size."""
    inputs, result, t = page.inputs, page.result, page.t
    st.markdown("**" + t("Sources") + "**")
    for role, text in inputs.sources.items():
        st.markdown(f"- {t(role)}: {t.message(text)}")
    if inputs.notes:
        st.markdown("**" + t("Notes") + "**")
        for note in inputs.notes:
            st.markdown(f"- {t.message(note)}")
    st.caption(
        t("Walking graph: {nodes:,} nodes, {edges:,} edges.", nodes=result.graph.n_nodes, edges=result.graph.n_edges)
    )
    numbers = page.headline
    if numbers is not None:  # the numbers a planner does not read first, moved here from the headline
        st.markdown("**" + t("More numbers") + "**")
        speeds = ", ".join(f"{v:g}" for v in sorted(SPEED_PRESETS.values()))
        span = "—" if numbers.share_min is None else f"{percent(numbers.share_min)} – {percent(numbers.share_max)}"
        st.markdown("- " + t("Covered population across the speed presets ({speeds} m/s, rule W2): {span}", speeds=speeds, span=span))
        st.markdown("- " + t("Network islands (street pieces not connected to the largest one): {n:,}", n=numbers.islands))
        st.markdown(
            "- "
            + t(
                "Off-network points (facilities and population units more than {m:g} m from a walkable street, rule W4): {n:,}",
                m=DEFAULT_MAX_SNAP_M,
                n=numbers.off_network_points,
            )
        )
