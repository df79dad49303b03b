"""Streamlit page (minimal for now): runs the same pipeline as the CLI on the embedded default."""

from __future__ import annotations

import streamlit as st

from coverage.pipeline import summary, timed_circles
from layers.errors import InputError

st.set_page_config(page_title="Elderly-care 15-minute circles", layout="wide")
st.title("一刻钟养老服务圈 · 15-minute elderly-service circles")


@st.cache_resource(show_spinner="Building the walking graph…")
def _default_run():
    return timed_circles()


try:
    inputs, result, seconds = _default_run()
except InputError as exc:
    st.error(str(exc))
    st.stop()

report = summary(result, inputs, seconds)
col1, col2, col3 = st.columns(3)
col1.metric("Covered population", f"{report['covered_share']:.1%}")
col2.metric("Facilities", report["facilities"])
col3.metric("Graph nodes", report["graph_nodes"])
st.json(report)
