"""What-if changes: sites added or removed by the planner, replayed on the cached result.

The changes are a list of small records replayed with
:meth:`~coverage.circles.CoverageResult.with_facility_added` / ``with_facility_removed``, so a click
never reruns the whole walking analysis; the result they give (with ``result.inputs`` kept) is the
one the map, the checks and the site proposals all use.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from coverage.circles import CoverageResult
from coverage.scenario import (  # the change records and their replay: shared with scenario files and the CLI
    AddSite,
    Change,
    MoveSite,
    RemoveSite,
    Scenario,
    ScenarioSettings,
    apply_change,
    metric_point,
)
from ui.data_choice import Analysis

#: Session-state keys (also used by the tests to simulate a map click).
PROPOSED_SITE = "proposed_site"
LAST_MAP_CLICK = "last_map_click"
CHANGES = "whatif_changes"
CHANGES_FOR = "whatif_changes_for"
WHATIF_MEMO = "whatif_memo"
WHATIF_ERROR = "whatif_error"
DISTRICT_DRAWING = "district_drawing"  # GeoJSON geometry (lon/lat) of the polygon drawn on the map
WHATIF_ID_PREFIX = "WHATIF-"
SCENARIO_NAME = "scenario_name"  # the name the planner gives the session's changes
SCENARIOS = "scenarios_kept"  # name → Scenario: the scenarios of this session's data, to switch between
DEFAULT_SCENARIO_NAME = "What-if scenario"


def changes_for(state: MutableMapping[str, Any], analysis: Analysis) -> list[Change]:
    """The what-if changes of the current data (cleared when other data is loaded)."""
    if state.get(CHANGES_FOR) != analysis.data_key:
        state[CHANGES_FOR] = analysis.data_key
        state[CHANGES] = []
        state.pop(WHATIF_MEMO, None)
        state.pop(PROPOSED_SITE, None)
        state.pop(SCENARIOS, None)  # scenarios of other data
    return state.setdefault(CHANGES, [])


def current_result(state: MutableMapping[str, Any], analysis: Analysis) -> CoverageResult:
    """The analysis' result with the session's what-if changes applied (memoised per change list).

    Changes are replayed when minutes or speed change; one that no longer applies is dropped.
    """
    changes = changes_for(state, analysis)
    memo = state.get(WHATIF_MEMO)
    key = (analysis.key, tuple(changes))
    if memo is not None and memo[0] == key:
        return memo[1]
    result = analysis.result
    kept = []
    for change in changes:
        try:
            result = apply_change(result, change)
        except (ValueError, KeyError):
            continue
        kept.append(change)
    state[CHANGES] = kept
    state[WHATIF_MEMO] = ((analysis.key, tuple(kept)), result)
    return result


def add_site(
    state: MutableMapping[str, Any], analysis: Analysis, lon: float, lat: float, name: str = "", kind: str = "community_station"
) -> CoverageResult:
    """Add a proposed facility at ``lon``/``lat`` to the session's what-if changes.

    Raises
    ------
    ValueError
        The site is farther than the snapping limit from any walkable street (nothing changes).
    """
    result = current_result(state, analysis)
    number = 1 + sum(isinstance(c, AddSite) for c in state[CHANGES])
    taken = set(result.facilities["facility_id"].astype(str))
    while f"{WHATIF_ID_PREFIX}{number}" in taken:  # a loaded scenario may have used the number
        number += 1
    facility_id = f"{WHATIF_ID_PREFIX}{number}"
    change = AddSite(float(lon), float(lat), facility_id, name.strip() or f"What-if site {number}", kind)
    new = apply_change(result, change)
    state[CHANGES] = [*state[CHANGES], change]
    state[WHATIF_MEMO] = ((analysis.key, tuple(state[CHANGES])), new)
    state.pop(PROPOSED_SITE, None)
    return new


def remove_site(state: MutableMapping[str, Any], analysis: Analysis, label: int) -> CoverageResult:
    """Remove the facility ``label`` (existing or proposed) in the session's what-if changes."""
    result = current_result(state, analysis)
    row = result.facilities.loc[result.facilities["facility_label"] == label]
    if row.empty:
        raise KeyError(f"no facility with label {label}")
    change = RemoveSite(int(label), str(row["facility_id"].iloc[0]), str(row["name"].iloc[0]))
    new = apply_change(result, change)
    state[CHANGES] = [*state[CHANGES], change]
    state[WHATIF_MEMO] = ((analysis.key, tuple(state[CHANGES])), new)
    return new


def move_site(state: MutableMapping[str, Any], analysis: Analysis, label: int, lon: float, lat: float) -> CoverageResult:
    """Move the facility ``label`` (existing or proposed) to ``lon``/``lat`` in the session's what-if changes.

    Raises
    ------
    KeyError
        No facility ``label`` in the current result.
    layers.errors.InputError
        The new place is farther than the snapping limit from any walkable street (nothing changes).
    """
    result = current_result(state, analysis)
    row = result.facilities.loc[result.facilities["facility_label"] == label]
    if row.empty:
        raise KeyError(f"no facility with label {label}")
    change = MoveSite(str(row["facility_id"].iloc[0]), float(lon), float(lat), str(row["name"].iloc[0]))
    new = apply_change(result, change)
    state[CHANGES] = [*state[CHANGES], change]
    state[WHATIF_MEMO] = ((analysis.key, tuple(state[CHANGES])), new)
    state.pop(PROPOSED_SITE, None)
    return new


def reset_changes(state: MutableMapping[str, Any]) -> None:
    """Forget every what-if change and the proposed site."""
    state[CHANGES] = []
    state.pop(WHATIF_MEMO, None)
    state.pop(PROPOSED_SITE, None)


def undo_last_change(state: MutableMapping[str, Any]) -> Change | None:
    """Take back the last what-if change (the result is replayed from the rest); the change, or None."""
    changes = list(state.get(CHANGES) or [])
    if not changes:
        return None
    undone = changes.pop()
    state[CHANGES] = changes
    state.pop(WHATIF_MEMO, None)
    return undone


def session_scenario(state: MutableMapping[str, Any], settings: ScenarioSettings | None = None) -> Scenario:
    """The session's what-if changes as a named :class:`~coverage.scenario.Scenario` (to save or compare)."""
    name = str(state.get(SCENARIO_NAME) or "").strip() or DEFAULT_SCENARIO_NAME
    return Scenario(name, tuple(state.get(CHANGES) or []), settings or ScenarioSettings())


def load_scenario(
    state: MutableMapping[str, Any], analysis: Analysis, scenario: Scenario, source: str | None = None
) -> CoverageResult:
    """Replace the session's changes with ``scenario``'s, after checking that every one applies.

    Raises
    ------
    layers.errors.InputError
        A change does not apply to the loaded data (unknown facility id, a site off the network),
        naming the file and the change; the session's changes stay as they were.
    """
    changes_for(state, analysis)
    result = scenario.apply(analysis.result, source=source)
    state[CHANGES] = list(scenario.changes)
    state[SCENARIO_NAME] = scenario.name
    state[WHATIF_MEMO] = ((analysis.key, tuple(state[CHANGES])), result)
    state.pop(PROPOSED_SITE, None)
    return result


def keep_scenario(state: MutableMapping[str, Any], settings: ScenarioSettings | None = None) -> Scenario:
    """Keep the session's changes under their name in the list of scenarios (a kept one of that name is replaced)."""
    scenario = session_scenario(state, settings)
    kept = dict(state.get(SCENARIOS) or {})
    kept[scenario.name] = scenario
    state[SCENARIOS] = kept
    return scenario


def kept_scenarios(state: MutableMapping[str, Any]) -> dict[str, Scenario]:
    """The scenarios kept in this session for the loaded data, by name, in the order kept."""
    return dict(state.get(SCENARIOS) or {})


def record_click(state: MutableMapping[str, Any], clicked: dict | None, *, ignore: bool = False) -> bool:
    """Store a new map click (``{"lat", "lng"}``) as the proposed site; True when it is new.

    With ``ignore`` the click is remembered as seen but does not move the proposed site (a vertex
    of a polygon being drawn): st_folium returns the same ``last_clicked`` on every later rerun,
    which must not turn it into a proposal then.
    """
    if not clicked or clicked.get("lat") is None or clicked.get("lng") is None:
        return False
    point = {"lat": float(clicked["lat"]), "lng": float(clicked["lng"])}
    if state.get(LAST_MAP_CLICK) == point:
        return False
    state[LAST_MAP_CLICK] = point
    if ignore:
        return False
    state[PROPOSED_SITE] = point
    return True


#: GeoJSON geometry types a map drawing must have to be a district boundary.
DISTRICT_GEOMETRY_TYPES: tuple[str, ...] = ("Polygon", "MultiPolygon")


def _polygon_drawing(drawing: object) -> dict | None:
    """``drawing`` (a GeoJSON Feature or geometry) when it is a polygon, else None.

    st_folium reports a click on any map feature (an elderly dot, a facility) as the "last active
    drawing" too: such points are not district boundaries.
    """
    if not isinstance(drawing, dict):
        return None
    geometry = drawing.get("geometry", drawing)
    if isinstance(geometry, dict) and geometry.get("type") in DISTRICT_GEOMETRY_TYPES:
        return drawing
    return None


def _drawn(drawing: dict, all_drawings: object) -> bool:
    """Whether ``drawing`` is one of the shapes drawn with the drawing tools (``all_drawings``)."""
    geometry = drawing.get("geometry", drawing)
    shapes = all_drawings if isinstance(all_drawings, list) else []
    return any(isinstance(d, dict) and d.get("geometry", d) == geometry for d in shapes)


def handle_map_return(state: MutableMapping[str, Any], returned: dict | None, drawing_key: str) -> bool:
    """Take a rerun's st_folium answer: a new drawing (stored under ``drawing_key``) and a click.

    A click that arrives in the same answer as a new drawing is the vertex that finished the
    polygon or rectangle (Leaflet.draw reports it as a map click too): it is remembered but does
    not move the proposed what-if site. Clicks while a drawing tool is active are held back in the
    browser (:func:`ui.mapping.add_draw_control`). Returns True when the proposed site changed.
    """
    returned = returned or {}
    drawing = _polygon_drawing(returned.get("last_active_drawing"))
    if drawing is not None and "all_drawings" in returned and not _drawn(drawing, returned.get("all_drawings")):
        drawing = None  # a clicked map polygon (a service area), reported as "active drawing": a click, not a boundary
    new_drawing = drawing is not None and drawing != state.get(f"{drawing_key}_raw")
    if new_drawing:
        state[f"{drawing_key}_raw"] = drawing
        state[drawing_key] = drawing.get("geometry", drawing)
    # a click on a feature (an elderly dot, a street) comes as last_object_clicked: a site there too
    seen = f"{LAST_MAP_CLICK}_object"
    clicked_object = returned.get("last_object_clicked")
    new_object = bool(clicked_object) and clicked_object != state.get(seen)
    if new_object:
        state[seen] = clicked_object
    changed = record_click(state, returned.get("last_clicked"), ignore=new_drawing)
    if new_object and not new_drawing:
        changed = record_click(state, clicked_object) or changed
    return changed


__all__ = [
    "PROPOSED_SITE",
    "LAST_MAP_CLICK",
    "CHANGES",
    "CHANGES_FOR",
    "WHATIF_MEMO",
    "WHATIF_ERROR",
    "DISTRICT_DRAWING",
    "WHATIF_ID_PREFIX",
    "AddSite",
    "RemoveSite",
    "MoveSite",
    "Change",
    "Scenario",
    "ScenarioSettings",
    "SCENARIO_NAME",
    "DEFAULT_SCENARIO_NAME",
    "undo_last_change",
    "SCENARIOS",
    "keep_scenario",
    "kept_scenarios",
    "move_site",
    "session_scenario",
    "load_scenario",
    "metric_point",
    "apply_change",
    "changes_for",
    "current_result",
    "add_site",
    "remove_site",
    "reset_changes",
    "record_click",
    "handle_map_return",
    "DISTRICT_GEOMETRY_TYPES",
]
