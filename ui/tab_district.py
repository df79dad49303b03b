"""The district check under the map: one proposed district, Q1-Q5 and W1 in seconds."""

from __future__ import annotations

import streamlit as st

from ui import planning
from ui import state as ss
from ui.i18n import translated_table
from ui.page import PageContext, cached_rule_set
from ui.uploads import MAX_UPLOAD_MB, UPLOADER_TYPES

session = st.session_state


def district_polygon():
    """The proposed district: an uploaded boundary file, else the polygon drawn on the map."""
    file = session.get("district_file")
    if file is not None:
        saved = ss.saved_upload(session, "districts", file)
        return planning.district_polygon_from_file(saved.path, name=file.name)
    return planning.district_polygon_from_drawing(session.get(ss.DISTRICT_DRAWING))


@st.fragment  # its widgets rerun this section only: a check does not rebuild and resend the map (~1 s)
def render(page: PageContext) -> None:
    """Lay out the district check: boundary, planned size, the button and the last check's tables.

    A fragment: typing the planned size, uploading a boundary or pressing "Check district" reruns
    this function alone on the page's result; the map and the other tabs stay as they are.
    """
    result, t = page.result, page.t
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
            rules_now = cached_rule_set(page.rule_set_name)
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
            used = planning.district_figures_used(check)
            source = {"field": t("the planned figure typed in")}.get(used["residents_source"], t(used["residents_source"]))
            st.markdown(t("Residents used for Q1: {residents:,.0f} ({source}).", residents=used["residents"], source=source))
            st.dataframe(translated_table(planning.district_findings_table(check, t), t), hide_index=True, width="stretch")
            st.dataframe(translated_table(planning.district_numbers(check), t), hide_index=True, width="stretch")
            for note in check.notes:
                st.caption(f"· {t.message(note)}")
