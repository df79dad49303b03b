"""Scenario files: a :class:`coverage.scenario.Scenario` as versioned GeoJSON, written and read back.

The file is a GeoJSON ``FeatureCollection`` (QGIS opens it) with foreign members ``format``
(:data:`SCENARIO_FORMAT`), ``version`` (:data:`SCENARIO_VERSION`), ``name``, ``description`` and
``settings``; one feature per change, in order: ``properties.change`` is ``add``, ``remove`` or
``move``, with ``facility_id``, ``name`` and, for ``add``, ``kind``, ``floor_area_m2`` (m²) and
``beds``; added and moved sites are WGS84 points, removals have no geometry. Every problem with a
file raises :class:`layers.errors.InputError` naming the file and the field
(``features[2].properties.kind``, ``settings.minutes``, ``version``).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from coverage.scenario import (
    CHANGE_TYPES,
    SITE_KINDS,
    AddSite,
    Change,
    MoveSite,
    RemoveSite,
    Scenario,
    ScenarioSettings,
)
from coverage.settings import resolve_speed
from layers.defaults import MINUTES_RANGE
from layers.errors import InputError

#: The ``format`` tag and the ``version`` of the scenario files this code writes and reads.
SCENARIO_FORMAT = "elderly-coverage-scenario"
SCENARIO_VERSION = 1
#: Walking minutes a scenario may set (the command line's ``--minutes`` range).
SCENARIO_MINUTES_RANGE: tuple[float, float] = MINUTES_RANGE
#: Years a scenario may check as of.
SCENARIO_YEAR_RANGE: tuple[int, int] = (1949, 2100)


def scenario_geojson(scenario: Scenario) -> dict[str, Any]:
    """``scenario`` as the file's GeoJSON ``FeatureCollection`` (a dict ready for ``json.dumps``)."""
    return {
        "type": "FeatureCollection",
        "format": SCENARIO_FORMAT,
        "version": SCENARIO_VERSION,
        "name": scenario.name,
        "description": scenario.description,
        "settings": scenario.settings.as_dict(),
        "features": [_feature(change) for change in scenario.changes],
    }


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


__all__ = [
    "SCENARIO_FORMAT",
    "SCENARIO_VERSION",
    "scenario_geojson",
    "save_scenario",
    "load_scenario",
    "scenario_from_bytes",
    "scenario_from_dict",
]
