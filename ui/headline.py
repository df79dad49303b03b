"""The numbers at the top of the page and the tables of the result (what-if sites included)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from coverage.circles import CoverageResult
from coverage.output import facilities_layer, population_layer
from coverage.pipeline import Inputs, summary

#: Rows of the population table shown on the page (the CSV download has every row).
TABLE_DISPLAY_ROWS = 5000


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


__all__ = [
    "TABLE_DISPLAY_ROWS",
    "Headline",
    "headline",
    "facility_names",
    "population_table",
    "facilities_table",
]
