"""What the page remembers between reruns: the data chosen, the last good analysis, the what-if sites.

The session state is any mutable mapping (``st.session_state`` in the page, a ``dict`` in tests).
An analysis that fails leaves the last good one in place (:func:`attempt`); what-if changes are a
list of small records replayed on the cached result with
:meth:`~coverage.circles.CoverageResult.with_facility_added` / ``with_facility_removed``, so a
click never reruns the whole walking analysis.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from coverage.circles import CoverageResult
from coverage.output import facilities_layer, population_layer
from coverage.pipeline import Inputs, load_inputs, run_circles, summary
from coverage.settings import SPEED_PRESETS
from layers.errors import InputError
from ui.uploads import SavedUpload, save_upload

LOG = logging.getLogger(__name__)

#: Session-state keys (also used by the tests to simulate a map click).
LAST_GOOD = "last_good_analysis"
LAST_FAILURE = "last_failed_input"
PROPOSED_SITE = "proposed_site"
LAST_MAP_CLICK = "last_map_click"
CHANGES = "whatif_changes"
CHANGES_FOR = "whatif_changes_for"
WHATIF_MEMO = "whatif_memo"
WHATIF_ERROR = "whatif_error"
DISTRICT_DRAWING = "district_drawing"  # GeoJSON geometry (lon/lat) of the polygon drawn on the map

#: Coordinate systems offered for uploaded points: id → label (the id goes to ``load_inputs``).
COORDINATE_SYSTEMS: dict[str, str] = {
    "wgs84": "WGS84 (GPS, OpenStreetMap)",
    "gcj02": "GCJ-02 (Amap/Tencent)",
    "bd09": "BD-09 (Baidu)",
}
CUSTOM_SPEED = "custom"
SPEED_CHOICES: tuple[str, ...] = (*SPEED_PRESETS, CUSTOM_SPEED)
WHATIF_ID_PREFIX = "WHATIF-"
#: Rows of the population table shown on the page (the CSV download has every row).
TABLE_DISPLAY_ROWS = 5000


# ----- data and analysis ---------------------------------------------------------------------
@dataclass(frozen=True)
class DataChoice:
    """Which layers to read: the embedded default (no network) or saved uploads.

    Attributes
    ----------
    network, facilities, population : SavedUpload or None
        Uploaded layers; no network means the embedded Helsinki default with its DEMO sites.
    facilities_crs, population_crs : {"wgs84", "gcj02", "bd09"}
        Coordinate system the uploaded points were captured in.
    population_elderly : bool
        Uploaded rasters count people aged 60+ already.
    """

    network: SavedUpload | None = None
    facilities: SavedUpload | None = None
    population: SavedUpload | None = None
    facilities_crs: str = "wgs84"
    population_crs: str = "wgs84"
    population_elderly: bool = False

    @property
    def is_default(self) -> bool:
        return self.network is None

    def key(self) -> str:
        """Cache key: the uploads' content hashes and the options (not their temporary paths)."""
        if self.is_default:
            return "default"
        parts = [
            f"{role}={upload.sha256}:{upload.path.name}" if upload else f"{role}=-"
            for role, upload in (("network", self.network), ("facilities", self.facilities), ("population", self.population))
        ]
        parts += [f"fcrs={self.facilities_crs}", f"pcrs={self.population_crs}", f"elderly={self.population_elderly}"]
        return "|".join(parts)

    def layer_arguments(self) -> dict[str, Any]:
        """Keyword arguments of ``load_inputs`` (and ``analysis.checks.run_checks``) for these layers."""
        if self.is_default:
            return {}
        if self.facilities is None:
            raise InputError("upload a facility layer too (CSV, GeoPackage, GeoJSON or zipped Shapefile)")
        return {
            "network": self.network.path,
            "facilities": self.facilities.path,
            "population": self.population.path if self.population else None,
            "facilities_crs": None if self.facilities_crs == "wgs84" else self.facilities_crs,
            "population_crs": None if self.population_crs == "wgs84" else self.population_crs,
            "population_elderly": self.population_elderly,
        }

    def load(self) -> Inputs:
        """Read and validate the layers (``coverage.pipeline.load_inputs``)."""
        return load_inputs(**self.layer_arguments())


def saved_upload(state: MutableMapping[str, Any], role: str, file) -> SavedUpload:
    """Save an uploaded file once per upload (reruns reuse it; errors are raised every time).

    Saved again if its copy was pruned meanwhile (a session left open for a day, see
    ``ui.uploads.prune_uploads``).
    """
    memo = state.setdefault("saved_uploads", {})
    if (role, file.file_id) not in memo or not memo[(role, file.file_id)].path.exists():
        memo[(role, file.file_id)] = save_upload(file.name, file.getvalue(), role)
    return memo[(role, file.file_id)]


@dataclass(frozen=True)
class Analysis:
    """One successful run: its inputs, the result without what-if changes, and how long it took."""

    data_key: str
    minutes: float
    speed_mps: float
    inputs: Inputs
    result: CoverageResult
    seconds: float
    choice: DataChoice = field(default_factory=DataChoice)

    @property
    def key(self) -> tuple[str, float, float]:
        return (self.data_key, self.minutes, self.speed_mps)


def analyse(choice: DataChoice, minutes: float, speed: float | str) -> Analysis:
    """Load the chosen layers and compute the circles, uncached (the page caches the two steps)."""
    start = time.perf_counter()
    inputs = choice.load()
    result = run_circles(inputs, minutes=minutes, speed=speed)
    return Analysis(choice.key(), float(minutes), result.speed_mps, inputs, result, time.perf_counter() - start, choice)


#: A saved upload's folder inside a path (see ``ui.uploads.save_upload``): cut from messages.
_UPLOAD_FOLDER = re.compile(r"(?:[^\s'\"]*/)?(?:network|facilities|population|districts|townships)/[0-9a-f]{24}/(?:unzipped/(?:[^\s'\"]*/)?)?")


def clean_paths(text: str) -> str:
    """``text`` with the temporary folders of saved uploads cut, leaving the file names."""
    return _UPLOAD_FOLDER.sub("", text)


def readable_message(exc: BaseException) -> str:
    """A one-line message for the page: temporary upload folders are cut to the file names."""
    text = clean_paths(str(exc) or type(exc).__name__)
    if not isinstance(exc, InputError | ValueError):
        text = f"unexpected {type(exc).__name__} while reading the layers: {text}"
    return text


def attempt(
    state: MutableMapping[str, Any], build: Callable[[], Analysis], key: str | None = None
) -> tuple[Analysis | None, str | None]:
    """Run ``build``; on success remember it as the last good analysis, on failure keep the old one.

    Parameters
    ----------
    state : mutable mapping
        The session state.
    build : callable
        Returns the new :class:`Analysis` or raises.
    key : str, optional
        Identifies the input and settings; a key that failed before is not read again (a map click
        must not re-read a bad 200 MB upload), its message is returned at once.

    Returns
    -------
    (analysis, error)
        The new analysis and ``None``, or the last good analysis (``None`` if there is none yet)
        and the readable error message.
    """
    failed = state.get(LAST_FAILURE)
    if key is not None and failed is not None and failed[0] == key:
        return state.get(LAST_GOOD), failed[1]
    try:
        analysis = build()
    except Exception as exc:  # InputError and ValueError expected; a crashing reader must not show a traceback
        if not isinstance(exc, InputError | ValueError):
            LOG.exception("analysis failed")
        message = readable_message(exc)
        if key is not None:
            state[LAST_FAILURE] = (key, message)
        return state.get(LAST_GOOD), message
    state[LAST_GOOD] = analysis
    state.pop(LAST_FAILURE, None)
    return analysis, None


def speed_value(choice: str, custom_mps: float | None = None) -> float | str:
    """The speed argument of ``run_circles``: a preset name, or the custom number in m/s."""
    if choice == CUSTOM_SPEED:
        if custom_mps is None:
            raise ValueError("give the walking speed in m/s")
        return float(custom_mps)
    return choice


# ----- what-if -------------------------------------------------------------------------------
@dataclass(frozen=True)
class AddSite:
    """A proposed facility at ``lon``/``lat`` (WGS84 degrees)."""

    lon: float
    lat: float
    facility_id: str
    name: str
    kind: str = "community_station"


@dataclass(frozen=True)
class RemoveSite:
    """An existing (or proposed) facility taken away, by its ``facility_label``."""

    label: int
    facility_id: str
    name: str = ""


Change = AddSite | RemoveSite


def metric_point(result: CoverageResult, lon: float, lat: float) -> shapely.Point:
    """The WGS84 point ``lon``/``lat`` in the result's metric CRS (metres)."""
    transformer = Transformer.from_crs("EPSG:4326", result.graph.crs, always_xy=True)
    x, y = transformer.transform(lon, lat)
    return shapely.Point(x, y)


def apply_change(result: CoverageResult, change: Change) -> CoverageResult:
    """Return ``result`` with one what-if change applied (local update, no full recompute).

    Raises
    ------
    ValueError
        The new site is too far from any walkable street (W4).
    KeyError
        The facility to remove is not in the result.
    """
    if isinstance(change, AddSite):
        attributes = {
            "facility_id": change.facility_id,
            "name": change.name,
            "kind": change.kind,
            "beds": np.nan,
            "building_area_m2": np.nan,
            "land_area_m2": np.nan,
            "demo": False,
        }
        return result.with_facility_added(metric_point(result, change.lon, change.lat), attributes)
    return result.with_facility_removed(change.label)


def changes_for(state: MutableMapping[str, Any], analysis: Analysis) -> list[Change]:
    """The what-if changes of the current data (cleared when other data is loaded)."""
    if state.get(CHANGES_FOR) != analysis.data_key:
        state[CHANGES_FOR] = analysis.data_key
        state[CHANGES] = []
        state.pop(WHATIF_MEMO, None)
        state.pop(PROPOSED_SITE, None)
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


def reset_changes(state: MutableMapping[str, Any]) -> None:
    """Forget every what-if change and the proposed site."""
    state[CHANGES] = []
    state.pop(WHATIF_MEMO, None)
    state.pop(PROPOSED_SITE, None)


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


def handle_map_return(state: MutableMapping[str, Any], returned: dict | None, drawing_key: str) -> bool:
    """Take a rerun's st_folium answer: a new drawing (stored under ``drawing_key``) and a click.

    A click that arrives in the same answer as a new drawing is the vertex that finished the
    polygon or rectangle (Leaflet.draw reports it as a map click too): it is remembered but does
    not move the proposed what-if site. Clicks while a drawing tool is active are held back in the
    browser (:func:`ui.mapping.add_draw_control`). Returns True when the proposed site changed.
    """
    returned = returned or {}
    drawing = returned.get("last_active_drawing")
    new_drawing = bool(drawing) and drawing != state.get(f"{drawing_key}_raw")
    if new_drawing:
        state[f"{drawing_key}_raw"] = drawing
        state[drawing_key] = drawing.get("geometry", drawing)
    return record_click(state, returned.get("last_clicked"), ignore=new_drawing)


# ----- numbers and tables ----------------------------------------------------------------------
@dataclass(frozen=True)
class Headline:
    """The numbers at the top of the page (persons, shares 0-1, counts)."""

    covered_share: float | None
    share_min: float | None
    share_max: float | None
    elderly_population: float
    covered_elderly: float
    elderly_share: float | None
    facilities: int
    off_network_points: int
    islands: int
    report: dict = field(default_factory=dict)


def headline(result: CoverageResult, inputs: Inputs, seconds: float) -> Headline:
    """Covered share (chosen speed), its range over the speed presets, elderly covered, counts."""
    report = summary(result, inputs, seconds)
    presets = [v for k, v in report["covered_share_by_speed"].items() if k != "chosen" and v == v]
    elderly_total = report["elderly_population"]
    return Headline(
        covered_share=report["covered_share"],
        share_min=min(presets) if presets else None,
        share_max=max(presets) if presets else None,
        elderly_population=elderly_total,
        covered_elderly=report["covered_elderly_population"],
        elderly_share=report["covered_elderly_population"] / elderly_total if elderly_total > 0 else None,
        facilities=report["facilities"],
        off_network_points=report["off_network_points"],
        islands=report["network_islands"],
        report=report,
    )


def facility_names(result: CoverageResult) -> dict[int, str]:
    """``facility_label`` → "id · name" of every facility in the result (what-if sites included)."""
    frame = result.facilities
    names = frame["name"].fillna("").astype(str)
    return {
        int(label): f"{fid} · {name}" if name else str(fid)
        for label, fid, name in zip(frame["facility_label"], frame["facility_id"], names, strict=True)
    }


def population_table(result: CoverageResult) -> pd.DataFrame:
    """Population units with walking minutes etc. and a point inside each (lon/lat), no geometry."""
    layer = population_layer(result)
    points = layer.geometry.representative_point()
    table = pd.DataFrame(layer.drop(columns="geometry"))
    table.insert(0, "unit", np.arange(len(table)))
    table["lon"] = points.x.round(6).to_numpy()
    table["lat"] = points.y.round(6).to_numpy()
    return table


def facilities_table(result: CoverageResult) -> pd.DataFrame:
    """Facilities with people served and snapping, lon/lat, no geometry."""
    layer = facilities_layer(result)
    table = pd.DataFrame(layer.drop(columns="geometry"))
    table["lon"] = layer.geometry.x.round(6).to_numpy()
    table["lat"] = layer.geometry.y.round(6).to_numpy()
    return table
