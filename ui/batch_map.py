"""The map of a batch summary: the area polygons coloured by verdict, one rule or covered share.

Drawn offline like every map of the app (:func:`ui.mapping.offline_map`: Leaflet from
``ui/static``, no tiles unless asked); the legend says what the colours mean.
"""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from analysis.batch.summary import VERDICT_COLOURS
from analysis.batch.summary_reader import BatchSummary
from ui.i18n import Translator
from ui.map_controls import Legend
from ui.mapping import offline_map

#: Colour choices besides the rules: the area's verdict and its covered share.
VERDICT = "verdict"
COVERED_SHARE = "covered_share"
#: Covered-share classes (upper bounds, 0-1) and their fills (light to dark blue).
SHARE_BOUNDS: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8, 1.0)
SHARE_COLOURS: tuple[str, ...] = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
#: Fill of an area with no value (a failed area's share, a rule without findings there).
NO_VALUE_COLOUR = "#ffffff"
#: Verdict words as labels (the summary's values are ids).
VERDICT_LABELS = {"pass": "pass", "fail": "fail", "not assessable": "not_assessable", "error": "Area failed to run"}


def share_colour(share: float) -> str:
    """Fill of a covered share (0-1); NaN → :data:`NO_VALUE_COLOUR`."""
    if share != share:
        return NO_VALUE_COLOUR
    index = int(np.searchsorted(np.asarray(SHARE_BOUNDS), share, side="left"))
    return SHARE_COLOURS[min(index, len(SHARE_COLOURS) - 1)]


def area_colours(summary: BatchSummary, colour_by: str) -> pd.Series:
    """Fill colour per area (aligned with ``summary.areas``) for ``colour_by``: ``verdict``,
    ``covered_share`` or a rule id (that rule's verdict)."""
    areas = summary.areas
    if colour_by == VERDICT:
        values = areas["verdict"].astype(str)
        return values.map(VERDICT_COLOURS).fillna(NO_VALUE_COLOUR)
    if colour_by == COVERED_SHARE:
        shares = areas["covered_share"] if "covered_share" in areas.columns else pd.Series(np.nan, index=areas.index)
        return shares.astype(float).map(share_colour)
    return summary.rule_verdicts(colour_by).map(VERDICT_COLOURS).fillna(NO_VALUE_COLOUR)


def legend_rows(colour_by: str, t: Translator) -> list[str]:
    """The legend's HTML rows for ``colour_by``."""
    if colour_by == COVERED_SHARE:
        rows = [f"<b>{t('Covered share of residents')}</b>"]
        low = 0.0
        for high, colour in zip(SHARE_BOUNDS, SHARE_COLOURS, strict=True):
            rows.append(f'<i style="background:{colour}"></i>{low:.0%}–{high:.0%}')
            low = high
        rows.append(f'<i style="background:{NO_VALUE_COLOUR}"></i>{t("No value for the area")}')
        return rows
    title = t("Verdict of the area") if colour_by == VERDICT else t("Verdict on rule {rule}", rule=colour_by)
    rows = [f"<b>{title}</b>"]
    for verdict, colour in VERDICT_COLOURS.items():
        if colour_by != VERDICT and verdict == "error":
            continue
        rows.append(f'<i style="background:{colour}"></i>{t(VERDICT_LABELS[verdict])}')
    if colour_by != VERDICT:
        rows.append(f'<i style="background:{NO_VALUE_COLOUR}"></i>{t("No findings of this rule")}')
    return rows


def batch_map(summary: BatchSummary, colour_by: str, t: Translator, *, selected: str | None = None, tiles: bool = False) -> folium.Map:
    """The areas of a batch on an offline map, filled by ``colour_by``, the ``selected`` area outlined.

    Parameters
    ----------
    summary : BatchSummary
        The summary read by :func:`analysis.batch.summary_reader.read_batch_summary`.
    colour_by : str
        ``verdict``, ``covered_share`` or a rule id of ``summary.rule_ids``.
    t : Translator
        Labels in the page's language.
    selected : str, optional
        ``area_id`` drawn with a thick outline.
    tiles : bool
        Also the OpenStreetMap tile layer (needs internet).
    """
    areas = summary.areas
    fmap = offline_map(tuple(float(v) for v in areas.total_bounds), tiles=tiles)
    shown = gpd.GeoDataFrame(
        {
            "area_id": areas["area_id"],
            "verdict": [t(VERDICT_LABELS.get(v, str(v))) for v in areas["verdict"].astype(str)],
            "share": [("–" if s != s else f"{s:.1%}") for s in areas.get("covered_share", pd.Series(np.nan, index=areas.index)).astype(float)],
            "fill": area_colours(summary, colour_by).to_numpy(),
            "selected": (areas["area_id"] == selected).to_numpy(),
        },
        geometry=areas.geometry.values,
        crs=areas.crs,
    )
    folium.GeoJson(
        shown.to_json(),
        name=t("Batch areas"),
        style_function=lambda f: {
            "fillColor": f["properties"]["fill"],
            "fillOpacity": 0.7,
            "color": "#000000" if f["properties"]["selected"] else "#3c3c3c",
            "weight": 4 if f["properties"]["selected"] else 1,
        },
        highlight_function=lambda _: {"weight": 3},
        tooltip=folium.GeoJsonTooltip(fields=["area_id", "verdict", "share"], aliases=[t("Batch area"), t("Batch verdict"), t("Covered share of the area")]),
    ).add_to(fmap)
    Legend("<br>".join(legend_rows(colour_by, t))).add_to(fmap)
    return fmap
