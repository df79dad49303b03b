"""The data the page analyses: the layers chosen (embedded default or uploads), the last good analysis.

The session state is any mutable mapping (``st.session_state`` in the page, a ``dict`` in tests).
An analysis that fails leaves the last good one in place (:func:`attempt`).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from coverage.circles import CoverageResult
from coverage.pipeline import Inputs, load_inputs, run_circles
from coverage.settings import SPEED_PRESETS
from layers.defaults import DEFAULT_EMBEDDED
from layers.errors import InputError
from ui.uploads import SavedUpload, save_upload

LOG = logging.getLogger(__name__)

#: Session-state keys.
LAST_GOOD = "last_good_analysis"
LAST_FAILURE = "last_failed_input"

#: Coordinate systems offered for uploaded points: id → label (the id goes to ``load_inputs``).
COORDINATE_SYSTEMS: dict[str, str] = {
    "wgs84": "WGS84 (GPS, OpenStreetMap)",
    "gcj02": "GCJ-02 (Amap/Tencent)",
    "bd09": "BD-09 (Baidu)",
}
CUSTOM_SPEED = "custom"
SPEED_CHOICES: tuple[str, ...] = (*SPEED_PRESETS, CUSTOM_SPEED)

#: The embedded data sets the sidebar offers: id → label (the default, central Nanjing, first).
EMBEDDED_LABELS: dict[str, str] = {
    "nanjing": "Nanjing centre (Xuanwu/Gulou)",
    "helsinki": "Helsinki centre (HSY population grid)",
}
#: What the page says above the map on embedded data: DEMO sites, sources and licences.
EMBEDDED_NOTES: dict[str, str] = {
    "nanjing": "Demo data: real streets and buildings of central Nanjing, Xuanwu/Gulou (© OpenStreetMap "
    "contributors, ODbL) with five DEMO elderly-service sites and four DEMO 街道 placed by this project, "
    "population estimated from buildings. These are not real facilities or boundaries.",
    "helsinki": "Demo data: real streets of central Helsinki (© OpenStreetMap contributors, ODbL) with four "
    "made-up DEMO sites and the real HSY 2020 population grid (© HSY, CC BY 4.0). These are not real facilities.",
}

@dataclass(frozen=True)
class DataChoice:
    """Which layers to read: the embedded default (no network) or saved uploads.

    Attributes
    ----------
    network, facilities, population : SavedUpload or None
        Uploaded layers; no network means the embedded data ``embedded`` with its DEMO sites.
    facilities_crs, population_crs : {"wgs84", "gcj02", "bd09"}
        Coordinate system the uploaded points were captured in.
    population_elderly : bool
        Uploaded rasters count people aged 60+ already.
    nodata_as_zero : bool
        Nodata cells inside the uploaded rasters' extent are 0 people (``--nodata-as-zero``).
    embedded : {"nanjing", "helsinki"}
        The embedded data used without an uploaded network (:mod:`layers.embedded`).
    """

    network: SavedUpload | None = None
    facilities: SavedUpload | None = None
    population: SavedUpload | None = None
    facilities_crs: str = "wgs84"
    population_crs: str = "wgs84"
    population_elderly: bool = False
    nodata_as_zero: bool = False
    embedded: str = DEFAULT_EMBEDDED

    @property
    def is_default(self) -> bool:
        return self.network is None

    def key(self) -> str:
        """Cache key: the uploads' content hashes and the options (not their temporary paths)."""
        if self.is_default:  # "default" for the default embedded data, "default:helsinki" for another
            return "default" if self.embedded == DEFAULT_EMBEDDED else f"default:{self.embedded}"
        parts = [
            f"{role}={upload.sha256}:{upload.path.name}" if upload else f"{role}=-"
            for role, upload in (("network", self.network), ("facilities", self.facilities), ("population", self.population))
        ]
        parts += [f"fcrs={self.facilities_crs}", f"pcrs={self.population_crs}", f"elderly={self.population_elderly}"]
        if self.nodata_as_zero:  # only when ticked: the keys of earlier choices stay as they were
            parts.append("nodata=0")
        return "|".join(parts)

    def layer_arguments(self) -> dict[str, Any]:
        """Keyword arguments of ``load_inputs`` (and ``analysis.checks.run_checks``) for these layers."""
        if self.is_default:
            return {} if self.embedded == DEFAULT_EMBEDDED else {"embedded": self.embedded}
        if self.facilities is None:
            raise InputError("upload a facility layer too (CSV, GeoPackage, GeoJSON or zipped Shapefile)")
        return {
            "network": self.network.path,
            "facilities": self.facilities.path,
            "population": self.population.path if self.population else None,
            "facilities_crs": None if self.facilities_crs == "wgs84" else self.facilities_crs,
            "population_crs": None if self.population_crs == "wgs84" else self.population_crs,
            "population_elderly": self.population_elderly,
            "nodata_as_zero": self.nodata_as_zero,
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


def build_analysis(
    choice: DataChoice,
    minutes: float,
    speed: float | str,
    *,
    load: Callable[[DataChoice], tuple[Inputs, float]] | None = None,
    walk: Callable[[Inputs, float, float | str], tuple[CoverageResult, float]] | None = None,
) -> Analysis:
    """Load the chosen layers and compute the circles: the one path the page runs.

    ``load`` and ``walk`` are the page's cached steps (``app.py`` passes its ``st.cache_resource``
    functions, so a minutes change walks again without reading the files); by default they run
    uncached. The result carries its inputs (``result.inputs``) for the checks and site tabs.
    """
    if load is None:
        load = _load
    if walk is None:
        walk = _walk
    inputs, load_seconds = load(choice)
    result, walk_seconds = walk(inputs, float(minutes), speed)
    return Analysis(choice.key(), float(minutes), result.speed_mps, inputs, result, load_seconds + walk_seconds, choice)


def _load(choice: DataChoice) -> tuple[Inputs, float]:
    start = time.perf_counter()
    inputs = choice.load()
    return inputs, time.perf_counter() - start


def _walk(inputs: Inputs, minutes: float, speed: float | str) -> tuple[CoverageResult, float]:
    start = time.perf_counter()
    result = run_circles(inputs, minutes=minutes, speed=speed)
    return result, time.perf_counter() - start


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


def data_widget_suffix(data_key: str) -> str:
    """A short, stable suffix of ``data_key`` for widget keys whose choices belong to that data.

    A widget keyed with it starts afresh when other data is loaded, so it never keeps a choice
    (a facility, a proposed site) that no longer exists.
    """
    return hashlib.sha1(data_key.encode("utf-8")).hexdigest()[:12]


__all__ = [
    "data_widget_suffix",
    "LAST_GOOD",
    "LAST_FAILURE",
    "COORDINATE_SYSTEMS",
    "CUSTOM_SPEED",
    "SPEED_CHOICES",
    "EMBEDDED_LABELS",
    "EMBEDDED_NOTES",
    "DataChoice",
    "saved_upload",
    "Analysis",
    "build_analysis",
    "clean_paths",
    "readable_message",
    "attempt",
    "speed_value",
]
