"""The numbers at the top of the page and the tables of the result (what-if sites included)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from coverage.circles import CoverageResult, unit_points
from coverage.output import facilities_layer, population_layer
from coverage.pipeline import Inputs, summary

#: Rows of the population table shown on the page (the CSV download has every row).
TABLE_DISPLAY_ROWS = 5000


@dataclass(frozen=True)
class Gap:
    """The largest group of uncovered elderly people: the gap a new site would close first.

    The uncovered elderly (aged 60+, outside the walk) are summed in squares as wide as the walk's
    reach along streets (``reach_m``; two grids, the second shifted by half a square, and the fuller
    square wins), so one new facility in the square could serve most of them.
    """

    elderly: float  # persons aged 60+ outside the walk in the square
    lon: float  # elderly-weighted centre of the square's units, degrees (EPSG:4326)
    lat: float
    minutes: float | None  # median walk (minutes) of those people to the nearest facility; None: beyond twice the walk
    size_m: float  # the square's side, metres


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
    uncovered_elderly: float = 0.0  # persons aged 60+ outside the walk
    gap: Gap | None = None  # the largest group of them (None: everybody is covered)


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
        uncovered_elderly=max(0.0, float(elderly_total) - float(report["covered_elderly_population"])),
        gap=largest_gap(result),
    )


def largest_gap(result: CoverageResult) -> Gap | None:
    """The square of side ``result.reach_m`` holding the most uncovered elderly people (see :class:`Gap`).

    Returns None when no elderly person is outside the walk.
    """
    elderly = result.population["elderly_population"].to_numpy(dtype=float)
    outside = ~np.asarray(result.covered, dtype=bool) & (elderly > 0)
    if not outside.any():
        return None
    points = unit_points(result.population.geometry.iloc[np.flatnonzero(outside)])
    xy = shapely.get_coordinates(points)
    weights = elderly[outside]
    minutes = np.asarray(result.walk_minutes, dtype=float)[outside]
    size = float(result.reach_m) if result.reach_m > 0 else 500.0
    best_sum, best_members = -1.0, None
    for shift in (0.0, size / 2):
        cells = np.floor((xy - xy.min(axis=0) + shift) / size).astype(np.int64)
        keys, inverse = np.unique(cells, axis=0, return_inverse=True)
        sums = np.bincount(inverse.ravel(), weights=weights, minlength=len(keys))
        top = int(np.argmax(sums))
        if sums[top] > best_sum:
            best_sum, best_members = float(sums[top]), inverse.ravel() == top
    members = best_members
    w = weights[members]
    x, y = np.average(xy[members, 0], weights=w), np.average(xy[members, 1], weights=w)
    lon, lat = Transformer.from_crs(result.population.crs, "EPSG:4326", always_xy=True).transform(x, y)
    finite = np.isfinite(minutes[members])
    median = float(np.median(minutes[members][finite])) if finite.any() else None
    return Gap(elderly=best_sum, lon=float(lon), lat=float(lat), minutes=median, size_m=size)


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


__all__ = [
    "TABLE_DISPLAY_ROWS",
    "Gap",
    "Headline",
    "headline",
    "largest_gap",
    "facility_names",
    "population_table",
    "facilities_table",
]
