"""Elderly people within the walk per township, for any coverage result (what-if included).

Cheap enough to recompute on every what-if click: one point-in-polygon query and a group-by.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from analysis.site_selection import township_of
from coverage.circles import CoverageResult


def elderly_coverage_by_township(result: CoverageResult, townships: gpd.GeoDataFrame) -> pd.DataFrame:
    """Elderly population, elderly within the walk (persons) and their share (0-1) per township.

    Parameters
    ----------
    result : CoverageResult
        Walking coverage (with or without what-if changes).
    townships : GeoDataFrame
        Township polygons with a ``township`` name column (as :func:`analysis.townships.read_townships`).

    Returns
    -------
    DataFrame
        One row per township, in the layer's order: ``township``, ``elderly_population``,
        ``elderly_covered``, ``covered_share`` (NaN where a township has no elderly people).
    """
    where = township_of(result.population, townships)
    elderly = result.population["elderly_population"].to_numpy(dtype=float)
    frame = pd.DataFrame({"township": where, "elderly": elderly, "covered": np.where(result.covered, elderly, 0.0)})
    totals = frame.dropna(subset=["township"]).groupby("township")[["elderly", "covered"]].sum()
    names = townships["township"]
    out = pd.DataFrame(
        {
            "township": names.to_numpy(),
            "elderly_population": names.map(totals["elderly"]).fillna(0.0).to_numpy(),
            "elderly_covered": names.map(totals["covered"]).fillna(0.0).to_numpy(),
        }
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        out["covered_share"] = np.where(
            out["elderly_population"] > 0, out["elderly_covered"] / out["elderly_population"], np.nan
        )
    return out
