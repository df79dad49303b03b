"""Scenarios: a named, ordered list of what-if changes plus the settings they were drawn with.

A planning bureau tries "what if we build a centre here, close that station, move this one": a
:class:`Scenario` holds such changes (:class:`AddSite`, :class:`RemoveSite`, :class:`MoveSite`;
kind and floor area in m² where they apply) with the settings (minutes, speed preset, rule set,
year, share aged 60+). :meth:`Scenario.apply` replays the changes on a
:class:`~coverage.circles.CoverageResult` with its local what-if updates
(``with_facility_added`` / ``with_facility_removed``): no full recompute. The app's what-if panel
(``ui/whatif.py``) uses the same change records.

Scenarios are saved as GeoJSON (:mod:`coverage.scenario_file`: a ``FeatureCollection``, so QGIS
opens it) with a format tag and a version: one feature per change, in order, a point for added
and moved sites::

    {"type": "FeatureCollection", "format": "elderly-coverage-scenario", "version": 1,
     "name": "New centre north", "settings": {"minutes": 15, "speed": "elderly", "rules": "jilin-2023",
     "year": null, "elderly_share": null},
     "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [118.78, 32.04]},
                   "properties": {"change": "add", "facility_id": "WHATIF-1", "name": "...",
                                  "kind": "township_centre", "floor_area_m2": 800, "beds": null}}, ...]}

A change that does not apply to the data (a facility id to remove or move that is not in it, a
site off the street network) raises :class:`layers.errors.InputError` naming the scenario file and
the change's field (``features[2].properties.facility_id``, ``features[0].geometry``); problems
of the file itself are :mod:`coverage.scenario_file`'s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer

from coverage.circles import CoverageResult
from layers.errors import InputError
from layers.facilities import FACILITY_KINDS, HEALTH_KINDS

#: Kinds a what-if site may have (elderly services: a health facility is not one).
SITE_KINDS: tuple[str, ...] = tuple(k for k in FACILITY_KINDS if k not in HEALTH_KINDS)


# ----- the changes ----------------------------------------------------------------------------
@dataclass(frozen=True)
class AddSite:
    """A proposed facility at ``lon``/``lat`` (WGS84 degrees).

    Attributes
    ----------
    lon, lat : float
        Position, degrees (EPSG:4326).
    facility_id, name : str
        Id and name the new site gets.
    kind : str
        One of :data:`SITE_KINDS` (``township_centre`` counts for T1, ...).
    floor_area_m2 : float or None
        Building (floor) area of the site, m² (the ``building_area_m2`` of the facility layer: Q2, Q3).
    beds : float or None
        Beds of the site (capacity rules, 2SFCA).
    """

    lon: float
    lat: float
    facility_id: str
    name: str
    kind: str = "community_station"
    floor_area_m2: float | None = None
    beds: float | None = None


@dataclass(frozen=True)
class RemoveSite:
    """An existing (or proposed) facility taken away.

    ``label`` is the ``facility_label`` within one loaded result (the app knows it); a scenario
    file names the facility by ``facility_id`` only (``label`` None), which must be unique.
    """

    label: int | None
    facility_id: str
    name: str = ""


@dataclass(frozen=True)
class MoveSite:
    """A facility moved to ``lon``/``lat`` (WGS84 degrees), keeping its id, name, kind and areas."""

    facility_id: str
    lon: float
    lat: float
    name: str = ""


Change = AddSite | RemoveSite | MoveSite

#: The ``change`` property of each change type in a scenario file.
CHANGE_TYPES: dict[type, str] = {AddSite: "add", RemoveSite: "remove", MoveSite: "move"}


def describe_change(change: Change) -> str:
    """One line saying what ``change`` does, e.g. ``add township_centre 'North centre' (WHATIF-1)``."""
    if isinstance(change, AddSite):
        area = f", {change.floor_area_m2:g} m²" if change.floor_area_m2 is not None else ""
        return f"add {change.kind} '{change.name}' ({change.facility_id}{area}) at {change.lon:.5f}, {change.lat:.5f}"
    if isinstance(change, MoveSite):
        return f"move {change.facility_id} {('(' + change.name + ') ') if change.name else ''}to {change.lon:.5f}, {change.lat:.5f}"
    return f"remove {change.facility_id}" + (f" ({change.name})" if change.name else "")


# ----- applying them --------------------------------------------------------------------------
class ChangeError(InputError):
    """A change that does not apply to the result; ``field`` names the property at fault."""


def metric_point(result: CoverageResult, lon: float, lat: float) -> shapely.Point:
    """The WGS84 point ``lon``/``lat`` in the result's metric CRS (metres)."""
    transformer = Transformer.from_crs("EPSG:4326", result.graph.crs, always_xy=True)
    x, y = transformer.transform(lon, lat)
    return shapely.Point(x, y)


def _label_of(result: CoverageResult, facility_id: str, label: int | None = None) -> int:
    """The ``facility_label`` of the facility ``facility_id`` (or of ``label`` when given and present)."""
    labels = result.labels
    if label is not None and int(label) in set(labels.tolist()):
        return int(label)
    ids = result.facilities["facility_id"].astype(str).to_numpy() if "facility_id" in result.facilities else np.array([])
    found = np.flatnonzero(ids == str(facility_id))
    if found.size == 0:
        known = ", ".join(sorted(map(str, ids))[:12]) + (", ..." if ids.size > 12 else "")
        raise ChangeError(f"no facility with id '{facility_id}' in the data (ids: {known or 'none'})", field="facility_id")
    if found.size > 1:
        raise ChangeError(f"facility id '{facility_id}' is not unique in the data ({found.size} facilities)", field="facility_id")
    return int(labels[found[0]])


def _added(result: CoverageResult, lon: float, lat: float, attributes: dict) -> CoverageResult:
    try:
        return result.with_facility_added(metric_point(result, lon, lat), attributes)
    except ValueError as exc:  # more than the W4 limit from any walkable street
        raise ChangeError(f"{exc} (the point is outside the street network)", field="geometry") from None


def apply_change(result: CoverageResult, change: Change) -> CoverageResult:
    """Return ``result`` with one what-if change applied (local update, no full recompute).

    Raises
    ------
    ChangeError
        A new or moved site is farther than the W4 limit from any walkable street (field
        ``geometry``), or the facility to remove or move is not in the result (``facility_id``).
    """
    if isinstance(change, AddSite):
        attributes = {
            "facility_id": change.facility_id,
            "name": change.name,
            "kind": change.kind,
            "beds": np.nan if change.beds is None else float(change.beds),
            "building_area_m2": np.nan if change.floor_area_m2 is None else float(change.floor_area_m2),
            "land_area_m2": np.nan,
            "demo": False,
        }
        return _added(result, change.lon, change.lat, attributes)
    if isinstance(change, MoveSite):
        label = _label_of(result, change.facility_id)
        row = result.facilities.loc[result.facilities["facility_label"] == label].iloc[0]
        attributes = {k: v for k, v in row.items() if k not in ("facility_label", "geometry")}
        if change.name:
            attributes["name"] = change.name
        removed = result.with_facility_removed(label)
        return _added(removed, change.lon, change.lat, attributes)
    return result.with_facility_removed(_label_of(result, change.facility_id, change.label))


# ----- settings and the scenario ---------------------------------------------------------------
@dataclass(frozen=True)
class ScenarioSettings:
    """The settings a scenario was drawn with; ``None``: not set (the command's own default).

    Attributes
    ----------
    minutes : float or None
        Walking minutes (W1).
    speed : str or float or None
        A W2 preset name (``elderly``, ``general``, ``frail``) or metres per second.
    rules : str or None
        Rule set name (``jilin-2023``, ...) or a ``.toml`` path.
    year : int or None
        Year to check as of (``check --year``).
    elderly_share : float or None
        Share (0-1) of residents aged 60+ for population layers with totals only.
    """

    minutes: float | None = None
    speed: str | float | None = None
    rules: str | None = None
    year: int | None = None
    elderly_share: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"minutes": self.minutes, "speed": self.speed, "rules": self.rules, "year": self.year, "elderly_share": self.elderly_share}


@dataclass(frozen=True)
class Scenario:
    """A named, ordered list of what-if changes and the settings they belong to."""

    name: str
    changes: tuple[Change, ...] = ()
    settings: ScenarioSettings = field(default_factory=ScenarioSettings)
    description: str = ""

    def with_change(self, change: Change) -> Scenario:
        """The scenario with ``change`` appended."""
        return replace(self, changes=(*self.changes, change))

    def undone(self) -> Scenario:
        """The scenario without its last change (unchanged when it has none)."""
        return replace(self, changes=self.changes[:-1])

    def apply(self, result: CoverageResult, *, source: str | Path | None = None) -> CoverageResult:
        """``result`` with every change applied in order (local what-if updates).

        Raises
        ------
        InputError
            A change does not apply; names ``source`` (the scenario file) and the change's field.
        """
        for number, change in enumerate(self.changes):
            try:
                result = apply_change(result, change)
            except ChangeError as exc:
                raise InputError(
                    f"change {number + 1} ({describe_change(change)}): {exc.message}",
                    file=_file_name(source),
                    field=f"features[{number}].{'geometry' if exc.field == 'geometry' else 'properties.' + str(exc.field)}",
                ) from None
            except KeyError as exc:
                raise InputError(
                    f"change {number + 1} ({describe_change(change)}): {exc.args[0] if exc.args else exc}",
                    file=_file_name(source),
                    field=f"features[{number}].properties.facility_id",
                ) from None
        return result


    # ----- the file (coverage/scenario_file.py) -----------------------------------------------
    def to_geojson(self) -> dict[str, Any]:
        """The scenario as a GeoJSON ``FeatureCollection`` with ``format``, ``version``, ``name``, ``settings``."""
        from coverage.scenario_file import scenario_geojson

        return scenario_geojson(self)

    def to_json(self) -> str:
        """The file's text (UTF-8, indented; Chinese names as they are)."""
        from coverage.scenario_file import scenario_geojson

        return json.dumps(scenario_geojson(self), ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def _file_name(source: str | Path | None) -> str | None:
    return None if source is None else Path(str(source)).name


def scenario_summary(scenario: Scenario) -> dict[str, Any]:
    """``{"name", "changes", "added", "removed", "moved"}``: the ``scenario`` key of the CLI's ``--json``."""
    counts = {label: sum(isinstance(c, kind) for c in scenario.changes) for kind, label in CHANGE_TYPES.items()}
    return {
        "name": scenario.name,
        "changes": len(scenario.changes),
        "added": counts["add"],
        "removed": counts["remove"],
        "moved": counts["move"],
    }


__all__ = [
    "SITE_KINDS",
    "AddSite",
    "RemoveSite",
    "MoveSite",
    "Change",
    "ChangeError",
    "CHANGE_TYPES",
    "describe_change",
    "metric_point",
    "apply_change",
    "ScenarioSettings",
    "Scenario",
    "scenario_summary",
]
