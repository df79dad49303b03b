"""The "Sources and notes" tab: where each layer came from, the reading notes, the graph size."""

from __future__ import annotations

import streamlit as st

from ui.page import PageContext


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
