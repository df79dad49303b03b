"""Scenarios: a named, ordered list of what-if changes plus the settings they were drawn with.

A planning bureau tries "what if we build a centre here, close that station, move this one": a
:class:`Scenario` holds such changes (:class:`AddSite`, :class:`RemoveSite`, :class:`MoveSite`;
kind and floor area in m² where they apply) with the settings (minutes, speed preset, rule set,
year, share aged 60+). :meth:`Scenario.apply` replays the changes on a
:class:`~coverage.circles.CoverageResult` with its local what-if updates
(``with_facility_added`` / ``with_facility_removed``): no full recompute. The app's what-if panel
(``ui/whatif.py``) uses the same change records.

The file format is GeoJSON (a ``FeatureCollection``, so QGIS opens it) with a format tag and a
version: one feature per change, in order, a point for added and moved sites::

    {"type": "FeatureCollection", "format": "elderly-coverage-scenario", "version": 1,
     "name": "New centre north", "settings": {"minutes": 15, "speed": "elderly", "rules": "jilin-2023",
     "year": null, "elderly_share": null},
     "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [118.78, 32.04]},
                   "properties": {"change": "add", "facility_id": "WHATIF-1", "name": "...",
                                  "kind": "township_centre", "floor_area_m2": 800, "beds": null}}, ...]}

Every problem with a file (not JSON, wrong format or version, a field of the wrong type, an unknown
kind, a facility id to remove that is not in the data, a site off the street network) raises
:class:`layers.errors.InputError` naming the file and the field (``features[2].properties.kind``).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer

from coverage.circles import CoverageResult
from coverage.settings import resolve_speed
from layers.errors import InputError
from layers.facilities import FACILITY_KINDS, HEALTH_KINDS

#: The ``format`` tag and the ``version`` of the scenario files this code writes and reads.
SCENARIO_FORMAT = "elderly-coverage-scenario"
SCENARIO_VERSION = 1
#: Kinds a what-if site may have (elderly services: a health facility is not one).
SITE_KINDS: tuple[str, ...] = tuple(k for k in FACILITY_KINDS if k not in HEALTH_KINDS)
#: Walking minutes a scenario may set (the command line's ``--minutes`` range).
SCENARIO_MINUTES_RANGE: tuple[float, float] = (0.0, 240.0)
#: Years a scenario may check as of.
SCENARIO_YEAR_RANGE: tuple[int, int] = (1949, 2100)


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

    # ----- the file ----------------------------------------------------------------------------
    def to_geojson(self) -> dict[str, Any]:
        """The scenario as a GeoJSON ``FeatureCollection`` with ``format``, ``version``, ``name``, ``settings``."""
        return {
            "type": "FeatureCollection",
            "format": SCENARIO_FORMAT,
            "version": SCENARIO_VERSION,
            "name": self.name,
            "description": self.description,
            "settings": self.settings.as_dict(),
            "features": [_feature(change) for change in self.changes],
        }

    def to_json(self) -> str:
        """The file's text (UTF-8, indented; Chinese names as they are)."""
        return json.dumps(self.to_geojson(), ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def _file_name(source: str | Path | None) -> str | None:
    return None if source is None else Path(str(source)).name


def _feature(change: Change) -> dict[str, Any]:
    point = None
    properties: dict[str, Any] = {"change": CHANGE_TYPES[type(change)], "facility_id": change.facility_id, "name": change.name}
    if isinstance(change, AddSite | MoveSite):
        point = {"type": "Point", "coordinates": [float(change.lon), float(change.lat)]}  # not rounded: re-runs exactly
    if isinstance(change, AddSite):
        properties.update(kind=change.kind, floor_area_m2=change.floor_area_m2, beds=change.beds)
    return {"type": "Feature", "geometry": point, "properties": properties}


def save_scenario(scenario: Scenario, path: str | Path) -> Path:
    """Write ``scenario`` to ``path`` (GeoJSON; a temporary file renamed into place in one step)."""
    out = Path(path)
    text = scenario.to_json()
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}-partial-", dir=out.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return out


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file written by :func:`save_scenario` (or the app's download).

    Raises
    ------
    InputError
        The file is missing, not JSON, not a scenario of a version this code reads, or a field is
        wrong; names the file and the field.
    """
    file = Path(path)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise InputError("the scenario file does not exist", file=file.name) from None
    except IsADirectoryError:
        raise InputError("the scenario is a folder, not a file", file=file.name) from None
    except OSError as exc:
        raise InputError(f"the scenario file cannot be read: {exc.strerror or exc}", file=file.name) from None
    return scenario_from_bytes(data, file.name)


def scenario_from_bytes(data: bytes, name: str = "scenario.json") -> Scenario:
    """Parse a scenario file's bytes (an upload in the app); ``name`` is the file name for messages."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError("the scenario file is not UTF-8 text", file=name) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"the scenario file is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", file=name) from None
    return scenario_from_dict(document, name)


def scenario_from_dict(document: Any, name: str = "scenario.json") -> Scenario:
    """Build a :class:`Scenario` from a parsed scenario file, checking every field."""
    if not isinstance(document, Mapping):
        raise InputError("the scenario file must hold a JSON object (a GeoJSON FeatureCollection)", file=name)
    if document.get("format") != SCENARIO_FORMAT:
        raise InputError(f"not a scenario file: 'format' is {document.get('format')!r}, expected {SCENARIO_FORMAT!r}", file=name, field="format")
    version = document.get("version")
    if version != SCENARIO_VERSION or isinstance(version, bool):
        raise InputError(
            f"scenario format version {version!r} is not one this tool reads (version {SCENARIO_VERSION}); "
            "save the scenario again with this version of the tool",
            file=name,
            field="version",
        )
    title = document.get("name")
    if not isinstance(title, str) or not title.strip():
        raise InputError("the scenario needs a name (a non-empty text)", file=name, field="name")
    description = document.get("description") or ""
    if not isinstance(description, str):
        raise InputError("the description must be text", file=name, field="description")
    settings = _settings(document.get("settings"), name)
    features = document.get("features")
    if not isinstance(features, list):
        raise InputError("'features' must be a list of changes (may be empty)", file=name, field="features")
    changes = tuple(_change(feature, i, name) for i, feature in enumerate(features))
    return Scenario(title.strip(), changes, settings, description)


def _number(value: Any, name: str, where: str, *, low: float, high: float, low_inclusive: bool = True) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"must be a finite number, got {value!r}", file=name, field=where)
    if value > high or value < low or (value == low and not low_inclusive):
        bracket = "[" if low_inclusive else "("
        raise InputError(f"must lie in {bracket}{low:g}, {high:g}], got {value!r}", file=name, field=where)
    return float(value)


def _settings(raw: Any, name: str) -> ScenarioSettings:
    if raw is None:
        return ScenarioSettings()
    if not isinstance(raw, Mapping):
        raise InputError("'settings' must be an object", file=name, field="settings")
    unknown = sorted(set(raw) - set(ScenarioSettings().as_dict()))
    if unknown:
        raise InputError(f"unknown settings {unknown}; known: {sorted(ScenarioSettings().as_dict())}", file=name, field="settings")
    minutes = _number(raw.get("minutes"), name, "settings.minutes", low=SCENARIO_MINUTES_RANGE[0], high=SCENARIO_MINUTES_RANGE[1], low_inclusive=False)
    speed = raw.get("speed")
    if speed is not None:
        if isinstance(speed, bool) or not isinstance(speed, str | int | float):
            raise InputError(f"must be a preset name or metres per second, got {speed!r}", file=name, field="settings.speed")
        try:
            resolve_speed(speed)
        except ValueError as exc:
            raise InputError(str(exc), file=name, field="settings.speed") from None
        speed = speed.strip().lower() if isinstance(speed, str) else float(speed)
    rules = raw.get("rules")
    if rules is not None and (not isinstance(rules, str) or not rules.strip()):
        raise InputError(f"must be a rule set name or .toml path, got {rules!r}", file=name, field="settings.rules")
    year = raw.get("year")
    if year is not None:
        if isinstance(year, bool) or not isinstance(year, int) or not SCENARIO_YEAR_RANGE[0] <= year <= SCENARIO_YEAR_RANGE[1]:
            raise InputError(f"must be a whole year in {SCENARIO_YEAR_RANGE[0]}-{SCENARIO_YEAR_RANGE[1]}, got {year!r}", file=name, field="settings.year")
    share = _number(raw.get("elderly_share"), name, "settings.elderly_share", low=0.0, high=1.0, low_inclusive=False)
    return ScenarioSettings(minutes, speed, rules.strip() if rules else None, year, share)


def _text(properties: Mapping, key: str, name: str, where: str, *, required: bool) -> str:
    value = properties.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InputError("is missing (a non-empty text is needed)", file=name, field=f"{where}.properties.{key}")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InputError(f"must be text, got {value!r}", file=name, field=f"{where}.properties.{key}")
    return str(value).strip()


def _point(feature: Mapping, name: str, where: str) -> tuple[float, float]:
    geometry = feature.get("geometry")
    coordinates = geometry.get("coordinates") if isinstance(geometry, Mapping) else None
    if (
        not isinstance(geometry, Mapping)
        or geometry.get("type") != "Point"
        or not isinstance(coordinates, list)
        or len(coordinates) < 2
    ):
        raise InputError("must be a GeoJSON Point with [lon, lat] (WGS84 degrees)", file=name, field=f"{where}.geometry")
    lon = _number(coordinates[0], name, f"{where}.geometry.coordinates[0]", low=-180.0, high=180.0)
    lat = _number(coordinates[1], name, f"{where}.geometry.coordinates[1]", low=-90.0, high=90.0)
    if lon is None or lat is None:
        raise InputError("must be a GeoJSON Point with [lon, lat] (WGS84 degrees)", file=name, field=f"{where}.geometry")
    return lon, lat


def _change(feature: Any, index: int, name: str) -> Change:
    where = f"features[{index}]"
    if not isinstance(feature, Mapping) or not isinstance(feature.get("properties"), Mapping):
        raise InputError("each change must be a GeoJSON Feature with 'properties'", file=name, field=where)
    properties = feature["properties"]
    kind_of_change = properties.get("change")
    if kind_of_change not in CHANGE_TYPES.values():
        raise InputError(
            f"unknown change {kind_of_change!r}; use one of {sorted(CHANGE_TYPES.values())}", file=name, field=f"{where}.properties.change"
        )
    facility_id = _text(properties, "facility_id", name, where, required=True)
    site_name = _text(properties, "name", name, where, required=False)
    if kind_of_change == "remove":
        return RemoveSite(None, facility_id, site_name)
    lon, lat = _point(feature, name, where)
    if kind_of_change == "move":
        return MoveSite(facility_id, lon, lat, site_name)
    kind = properties.get("kind", "community_station")
    if kind not in SITE_KINDS:
        raise InputError(f"unknown kind {kind!r}; use one of {', '.join(SITE_KINDS)}", file=name, field=f"{where}.properties.kind")
    area = _number(properties.get("floor_area_m2"), name, f"{where}.properties.floor_area_m2", low=0.0, high=1e7)
    beds = _number(properties.get("beds"), name, f"{where}.properties.beds", low=0.0, high=1e6)
    return AddSite(lon, lat, facility_id, site_name or facility_id, kind, area, beds)


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
    "SCENARIO_FORMAT",
    "SCENARIO_VERSION",
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
    "save_scenario",
    "load_scenario",
    "scenario_from_bytes",
    "scenario_from_dict",
    "scenario_summary",
]
