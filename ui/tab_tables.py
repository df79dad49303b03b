"""The "Tables" tab: the facility and population tables and the downloads."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import state as ss
from ui.exports import csv_bytes, geopackage_bytes
from ui.i18n import translated_table
from ui.page import PageContext


def render(page: PageContext, facility_table: pd.DataFrame, population: pd.DataFrame) -> None:
    """Lay out the two tables (as the map drew them) and the GeoPackage/CSV downloads."""
    result, t = page.result, page.t
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
