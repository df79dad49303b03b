"""The folium maps of a coverage result, drawn without any web service.

No tile server and no CDN: Leaflet comes from ``ui/static`` (inlined as data URIs by
:mod:`ui.map_assets`) and the basemap is drawn from the loaded extract (:mod:`ui.basemap`: land
use, water, buildings and the streets in light colours), so the map is never a blank grey box
offline. Online tiles are added only when the planner switches them on (:mod:`ui.online_tiles`).
Every map has a "PNG" button that saves the view in the browser. This module holds the entry
points: the offline base map, the coverage map, the proposed-sites map, the planning-checks map
and the draw control; the layers and legend they draw are in :mod:`ui.map_layers`, the Leaflet
scripts in :mod:`ui.map_controls`. Large layers are
thinned *for display only* (:data:`ui.map_layers.MAX_DISPLAY_UNITS`); the numbers on the page
always come from the full result.
"""

from __future__ import annotations

import math

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element

from coverage.circles import CoverageResult
from coverage.output import facilities_layer, service_area_layer
from layers.projection import WGS84
from ui.basemap import BASEMAP_COLOUR, CONTEXT_GROUPS, CONTEXT_STYLES, Basemap, rounded_geometry
from ui.i18n import Translator
from ui.map_assets import html_to_image_asset, leaflet_assets, leaflet_draw_assets
from ui.map_controls import (
    Attribution,
    ClicksWhileDrawing,
    DrawTexts,
    ExportPng,
    FitWhenShown,
    FocusWithoutScrolling,
    Legend,
    MetricScale,
    PlainPopup,
)
from ui.map_layers import (
    SERVICE_AREA_COLOUR,
    UNCOVERED_COLOUR,
    FetchedGeoJson,
    PopulationDisplay,
    StyledGeoJson,
    class_colours,
    class_labels,
    facility_group,
    feature_collection,
    fmt_value,
    legend_html,
    marker_radius,
    point_frame,
    population_display,
)
from ui.map_search import FOCUS_COLOUR, Focus
from ui.online_tiles import TileSource, as_tile_source


def offline_map(
    bounds: tuple[float, float, float, float],
    *,
    tiles: bool | TileSource | None = False,
    t: Translator | None = None,
) -> folium.Map:
    """An empty folium map fitted to lon/lat ``bounds`` that loads nothing from the internet.

    Parameters
    ----------
    bounds : tuple of float
        ``(min_lon, min_lat, max_lon, max_lat)`` in degrees.
    tiles : bool or TileSource or None
        Online tiles under the map (:mod:`ui.online_tiles`; needs internet, off by default;
        ``True`` means OpenStreetMap).
    t : Translator, optional
        Language of the message shown when the tiles cannot be loaded.
    """
    x0, y0, x1, y1 = bounds
    fmap = folium.Map(location=[(y0 + y1) / 2, (x0 + x1) / 2], zoom_start=14, tiles=None, control_scale=False)
    js, css = leaflet_assets()
    fmap.default_js = [("leaflet", js)]
    fmap.default_css = [("leaflet_css", css)]
    fmap.get_root().header.add_child(
        Element(
            "<style>.leaflet-container{background:#f7f7f4;}"
            ".circle-legend{background:rgba(255,255,255,.92);padding:6px 9px;border-radius:4px;"
            "font:12px/1.45 sans-serif;box-shadow:0 0 4px rgba(0,0,0,.3);max-width:260px}"
            ".circle-legend i{display:inline-block;width:12px;height:12px;margin-right:5px;"
            "vertical-align:-1px;border:1px solid #555}</style>"
        )
    )
    source = as_tile_source(tiles)
    if source is not None:
        t = t or Translator("en")
        source.add_to(fmap, t("Online tiles could not be loaded (no internet, or the key was refused): the offline basemap is shown."))
    MetricScale().add_to(fmap)  # metres only: Leaflet's default scale bar also shows feet
    fmap.fit_bounds([[y0, x0], [y1, x1]])
    FitWhenShown([[y0, x0], [y1, x1]]).add_to(fmap)
    FocusWithoutScrolling().add_to(fmap)  # a click on a marker of a map half below the fold stays on it
    return fmap


#: Licence line of the basemap drawn from an OSM extract.
OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"


def add_basemap(fmap: folium.Map, streets: Basemap, t: Translator, *, streets_url: str | None = None) -> list[str]:
    """Draw the offline basemap: land use, water and buildings of the extract (when read), then the
    streets, each a non-interactive layer under whatever is added next.

    With ``streets_url`` (the streets' GeoJSON served by the app, :func:`ui.basemap_frame.served_json`)
    the map fetches the streets instead of carrying them (a large city's 9.5 MB).

    Returns
    -------
    list of str
        Legend rows (HTML) of the basemap classes drawn.
    """
    rows = []
    context = streets.context
    for group_name, classes in CONTEXT_GROUPS.items():
        present = [name for name in classes if name in context.features]
        if not present:
            continue
        group = folium.FeatureGroup(name=t(group_name), control=True)
        for name in present:
            style = CONTEXT_STYLES[name]
            if name == "waterways":
                css = {"color": style["line"], "weight": 2, "opacity": 0.9, "fill": False}
            else:
                css = {"color": style["line"], "weight": 0.6, "opacity": 0.9, "fillColor": style["fill"], "fillOpacity": 0.85, "fillRule": "nonzero"}
            folium.GeoJson(context.features[name], style_function=lambda _, css=css: css, interactive=False).add_to(group)
            if name != "waterways":
                rows.append(f'<i style="background:{style["fill"]};border-color:{style["line"]}"></i>{t(style["label"])}')
        group.add_to(fmap)
    street_group = folium.FeatureGroup(name=t("Streets (basemap)"), control=True)
    style = {"color": BASEMAP_COLOUR, "weight": 1, "opacity": 0.9}
    if streets_url:
        FetchedGeoJson(streets_url, style).add_to(street_group)
    else:
        folium.GeoJson(streets.geojson, style_function=lambda _: style, interactive=False).add_to(street_group)
    street_group.add_to(fmap)
    if context.features:
        Attribution(OSM_ATTRIBUTION).add_to(fmap)
    return rows


def add_png_export(fmap: folium.Map, t: Translator, filename: str = "map.png") -> None:
    """The "PNG" button that saves the map view as a PNG in the browser (no server, no CDN)."""
    export = ExportPng(t("Save this map view as PNG"), t("The PNG export failed:"), filename)
    export.default_js = [("html_to_image", html_to_image_asset())]
    export.add_to(fmap)


#: Margin around a searched feature when the map zooms to it, degrees (~50 m).
FOCUS_PAD_DEG = 0.0005


def focus_view(focus: Focus) -> tuple[float, float, float, float]:
    """The lon/lat box the map fits when zoomed to ``focus`` (its bounds with a margin)."""
    x0, y0, x1, y1 = focus.bounds
    return (x0 - FOCUS_PAD_DEG, y0 - FOCUS_PAD_DEG, x1 + FOCUS_PAD_DEG, y1 + FOCUS_PAD_DEG)


def add_focus(fmap: folium.Map, focus: Focus) -> None:
    """Outline a searched feature (non-interactive: clicks still propose sites); the map is fitted
    to :func:`focus_view` by :func:`offline_map`."""
    group = folium.FeatureGroup(name=focus.label, control=False)
    folium.GeoJson(
        focus.geojson,
        style_function=lambda _: {"color": FOCUS_COLOUR, "weight": 4, "opacity": 0.95, "fill": False, "dashArray": "6 4"},
        marker=folium.CircleMarker(radius=12),
        interactive=False,
    ).add_to(group)
    group.add_to(fmap)


# ----- the map ---------------------------------------------------------------------------------
def coverage_base(
    streets: Basemap,
    t: Translator,
    *,
    tiles: bool | TileSource | None = False,
    focus: Focus | None = None,
    export: bool = True,
    streets_url: str | None = None,
) -> tuple[folium.Map, list[str]]:
    """The part of the coverage map that does not change with the result: the offline basemap
    (land use, water, buildings, streets), online tiles when chosen, the searched feature and the
    PNG button; with the basemap's legend rows.

    The app renders it once per data, language, tiles and search (:mod:`ui.basemap_frame`) and
    swaps only :func:`coverage_overlays` on a minutes, speed or what-if change. ``streets_url``:
    see :func:`add_basemap`.
    """
    fmap = offline_map(focus_view(focus) if focus is not None else streets.bounds, tiles=tiles, t=t)
    basemap_rows = add_basemap(fmap, streets, t, streets_url=streets_url)
    if focus is not None:
        add_focus(fmap, focus)
    if export:
        add_png_export(fmap, t, "coverage-map.png")
    return fmap, basemap_rows


def coverage_overlays(
    result: CoverageResult,
    t: Translator,
    *,
    display: PopulationDisplay | None = None,
    service_areas: gpd.GeoDataFrame | None = None,
    facilities: gpd.GeoDataFrame | None = None,
) -> tuple[list[folium.FeatureGroup], str]:
    """The layers of the coverage map that follow the result, and their legend (HTML).

    Service areas, population by walking minutes, uncovered elderly and facilities by kind, each a
    feature group (drawn in this order, over the basemap of :func:`coverage_base`).

    Parameters
    ----------
    result : CoverageResult
        What to draw (what-if changes included).
    t : Translator
        Labels in the page's language.
    display, service_areas, facilities : optional
        Precomputed layers (:func:`population_display`, ``service_area_layer``,
        ``facilities_layer``); computed here when not given.
    """
    display = display if display is not None else population_display(result)
    service_areas = service_areas if service_areas is not None else service_area_layer(result)
    facilities = facilities if facilities is not None else facilities_layer(result)
    colours = class_colours(result.minutes)
    labels = class_labels(result.minutes, t)

    areas_group = folium.FeatureGroup(name=t("Service areas ({minutes:g} min)", minutes=result.minutes))
    if len(service_areas):
        areas = service_areas[["name", "geometry"]].copy()
        areas["geometry"] = rounded_geometry(areas.geometry, 1e-5)
        areas["name"] = [t.message(n) for n in areas["name"].fillna("").astype(str)]
        StyledGeoJson(
            feature_collection(areas, ["name"]),
            {"color": SERVICE_AREA_COLOUR, "weight": 1.5, "fillColor": SERVICE_AREA_COLOUR, "fillOpacity": 0.12},
            fields=["name"],
            aliases=[t("Service area of")],
        ).add_to(areas_group)

    population_group = folium.FeatureGroup(name=t("Population by walking minutes"))
    shown = display.frame
    if display.aggregated:
        fields = ["population", "elderly_population", "uncovered_elderly", "units", "class_label"]
        aliases = [t("Population"), t("Elderly (60+)"), t("Elderly outside the circle"), t("Units in cell"), t("Walking time (median)")]
    else:
        fields = ["population", "elderly_population", "walk_minutes", "class_label"]
        aliases = [t("Population"), t("Elderly (60+)"), t("Walking minutes"), t("Walking time")]
    StyledGeoJson(  # the class's colour and label are looked up in the browser: sent once, not per cell
        feature_collection(shown, [*fields[:-1], "klass"]),
        {"weight": 0.6, "fill": True, "fillOpacity": 0.65, "radius": 4},
        style_from={"color": "colour", "fillColor": "colour"},
        fields=fields,
        aliases=aliases,
        lookups={"colour": ("klass", colours), "class_label": ("klass", labels)},
    ).add_to(population_group)

    uncovered_group = folium.FeatureGroup(name=t("Elderly outside the circle"))
    uncovered = display.frame.loc[display.frame["uncovered_elderly"] > 0]
    if len(uncovered):
        points = point_frame(uncovered[["uncovered_elderly", "geometry"]])
        points["radius"] = marker_radius(points["uncovered_elderly"], float(points["uncovered_elderly"].max()))
        StyledGeoJson(
            feature_collection(points, ["uncovered_elderly", "radius"]),
            {"color": UNCOVERED_COLOUR, "weight": 1, "fillColor": UNCOVERED_COLOUR, "fill": True, "fillOpacity": 0.35, "radius": 5},
            style_from={"radius": "radius"},
            fields=["uncovered_elderly"],
            aliases=[t("Elderly outside the circle")],
        ).add_to(uncovered_group)

    groups = [areas_group, population_group, uncovered_group, facility_group(facilities, t)]
    return groups, legend_html(result, t, facilities)


def build_map(
    result: CoverageResult,
    streets: Basemap,
    t: Translator,
    *,
    display: PopulationDisplay | None = None,
    service_areas: gpd.GeoDataFrame | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    tiles: bool | TileSource | None = False,
    focus: Focus | None = None,
    export: bool = True,
) -> folium.Map:
    """The coverage map as one folium map: :func:`coverage_base` with :func:`coverage_overlays`, a
    layer switcher and a legend (the report and the tests draw it so; the app swaps the overlays
    of a base map it renders once, :mod:`ui.basemap_frame`).

    Parameters
    ----------
    result : CoverageResult
        What to draw (what-if changes included).
    streets : Basemap
        The streets from :func:`basemap`.
    t : Translator
        Labels in the page's language.
    display, service_areas, facilities : optional
        Precomputed layers (:func:`population_display`, ``service_area_layer``,
        ``facilities_layer``); computed here when not given.
    tiles : bool or TileSource or None
        Online tiles under the map (needs internet; off by default).
    focus : Focus, optional
        A searched feature to zoom to and outline (:mod:`ui.map_search`).
    export : bool
        Add the "PNG" button (:func:`add_png_export`).
    """
    fmap, basemap_rows = coverage_base(streets, t, tiles=tiles, focus=focus, export=export)
    groups, legend = coverage_overlays(result, t, display=display, service_areas=service_areas, facilities=facilities)
    for group in groups:
        group.add_to(fmap)
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    Legend("<br>".join([legend, *basemap_rows])).add_to(fmap)
    return fmap


# ----- site selection: the proposed sites ----------------------------------------------------------
#: Colour of the ranked proposed sites of the site-selection tab.
RANKED_SITE_COLOUR = "#ff7f00"


def proposed_sites_map(
    sites: pd.DataFrame,
    streets: Basemap,
    facilities: gpd.GeoDataFrame,
    t: Translator,
    *,
    tiles: bool | TileSource | None = False,
) -> folium.Map:
    """The offline basemap, the current facilities and the proposed sites as numbered markers (offline).

    Parameters
    ----------
    sites : DataFrame
        :func:`ui.planning.proposed_sites_table`: ``rank``, ``lon``, ``lat``, ``added_elderly``
        (persons) and, where known, ``name`` and ``covered_share`` (0-1).
    streets : Basemap
        The grey street basemap.
    facilities : GeoDataFrame
        ``facilities_layer`` of the current result (what-if sites included).
    """
    fmap = offline_map(streets.bounds, tiles=tiles, t=t)
    basemap_rows = add_basemap(fmap, streets, t)
    facility_group(facilities, t).add_to(fmap)
    group = folium.FeatureGroup(name=t("Proposed sites (ranked)"))
    for row in sites.itertuples(index=False):
        rank = int(row.rank)
        lines = [
            f"<b>{t('Proposed site #{rank}', rank=rank)}</b>",
            t("Elderly added: {elderly}", elderly=fmt_value(float(row.added_elderly), 0)),
        ]
        share = getattr(row, "covered_share", None)
        if share is not None and isinstance(share, float | int | np.floating) and math.isfinite(float(share)):
            lines.append(t("Elderly covered with sites up to this rank: {share}", share=f"{100 * float(share):.1f} %"))
        name = getattr(row, "name", None)
        if isinstance(name, str) and name.strip():
            lines.append(t.message(name.strip()))
        marker = folium.Marker(
            location=[float(row.lat), float(row.lon)],
            icon=folium.DivIcon(
                html=(
                    f'<div style="background:{RANKED_SITE_COLOUR};color:#fff;border:2px solid #000;border-radius:50%;'
                    f'width:24px;height:24px;line-height:20px;text-align:center;font:bold 12px sans-serif">{rank}</div>'
                ),
                icon_size=(24, 24),
                icon_anchor=(12, 12),
                class_name="ranked-site",
            ),
            tooltip=t("Proposed site #{rank}", rank=rank),
        )
        PlainPopup("<br>".join(lines), max_width=260).add_to(marker)  # folium.Popup needs jQuery: not loaded offline
        marker.add_to(group)
    group.add_to(fmap)
    if len(sites):
        lat, lon = sites["lat"].astype(float), sites["lon"].astype(float)
        x0, y0, x1, y1 = streets.bounds
        fmap.fit_bounds([[min(lat.min(), y0), min(lon.min(), x0)], [max(lat.max(), y1), max(lon.max(), x1)]])
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    legend = [
        f'<i style="background:{RANKED_SITE_COLOUR};border-radius:50%;border:2px solid #000"></i>{t("Proposed sites (ranked)")}',
        f'<i style="background:{BASEMAP_COLOUR};height:3px;border:0"></i>{t("Streets (basemap)")}',
        *basemap_rows,
    ]
    Legend("<br>".join(legend)).add_to(fmap)
    add_png_export(fmap, t, "proposed-sites.png")
    return fmap


# ----- planning checks: townships and districts --------------------------------------------------
STATUS_COLOURS: dict[str, str] = {"pass": "#1a9850", "fail": "#d73027", "not_assessable": "#9e9e9e"}
#: W1 elderly share classes of townships: (upper bound, colour).
SHARE_CLASSES: tuple[tuple[float, str], ...] = ((0.5, "#d73027"), (0.8, "#fc8d59"), (0.95, "#d9ef8b"), (math.inf, "#1a9850"))


def share_colour(share: object) -> str:
    """Colour of a township's W1 elderly share (0-1); grey when unknown."""
    if share is None or not isinstance(share, float | int | np.floating | np.integer) or not math.isfinite(float(share)):
        return STATUS_COLOURS["not_assessable"]
    return next(colour for upper, colour in SHARE_CLASSES if float(share) < upper)


def checks_map(
    run, streets: Basemap, t: Translator, *, township_colour: str = "t1_status", tiles: bool | TileSource | None = False
) -> folium.Map:
    """Townships coloured by T1 status (or W1 elderly share) and districts by Q1-Q3, with a legend.

    Parameters
    ----------
    run : analysis.checks.CheckRun
        The checking run.
    streets : Basemap
        The grey street basemap.
    township_colour : {"t1_status", "w1_elderly_share"}
        What colours the townships.
    """
    fmap = offline_map(streets.bounds, tiles=tiles, t=t)
    add_basemap(fmap, streets, t)
    rows = []
    if run.townships is not None and len(run.townships.table):
        table = run.townships.table.to_crs(WGS84)
        name_col = next((c for c in ("township", "name") if c in table.columns), None)
        shown = gpd.GeoDataFrame(
            {
                "name": [t.message(n) for n in table[name_col].astype(str)] if name_col else [str(i + 1) for i in range(len(table))],
                "status": [t(str(s)) for s in table.get("t1_status", pd.Series(["not_assessable"] * len(table)))],
                "share": [fmt_value(100 * v if isinstance(v, float | int) else v, 1) for v in table.get("w1_elderly_share", pd.Series([None] * len(table)))],
            },
            geometry=rounded_geometry(table.geometry, 1e-5),
            crs=WGS84,
        )
        if township_colour == "w1_elderly_share" and "w1_elderly_share" in table.columns:
            shown["colour"] = [share_colour(v) for v in table["w1_elderly_share"]]
            rows.append(f"<b>{t('Townships: elderly within the walk (W1)')}</b>")
            lower = 0.0
            for upper, colour in SHARE_CLASSES:
                label = f"≥ {100 * lower:.0f} %" if not math.isfinite(upper) else f"{100 * lower:.0f} %–{100 * upper:.0f} %"
                rows.append(f'<i style="background:{colour}"></i>{label}')
                lower = upper
        else:
            shown["colour"] = [STATUS_COLOURS.get(str(s), STATUS_COLOURS["not_assessable"]) for s in table.get("t1_status", ["not_assessable"] * len(table))]
            rows.append(f"<b>{t('Townships: comprehensive centre (T1)')}</b>")
            rows += [f'<i style="background:{c}"></i>{t(s)}' for s, c in STATUS_COLOURS.items()]
        group = folium.FeatureGroup(name=t("Townships"))
        folium.GeoJson(
            shown.to_json(drop_id=True, na="null"),
            style_function=lambda f: {"color": "#333333", "weight": 1.5, "fillColor": f["properties"]["colour"], "fillOpacity": 0.45},
            tooltip=folium.GeoJsonTooltip(fields=["name", "status", "share"], aliases=[t("Township"), "T1", t("Elderly within the walk (%)")]),
        ).add_to(group)
        group.add_to(fmap)
    if run.districts is not None and len(run.districts.table):
        table = run.districts.table.to_crs(WGS84)
        shown = gpd.GeoDataFrame(
            {
                "name": [t.message(n) for n in table["district"].astype(str)],
                "status": [t(str(s)) for s in table["meets_q1_q3"]],
                "colour": [STATUS_COLOURS.get(str(s), STATUS_COLOURS["not_assessable"]) for s in table["meets_q1_q3"]],
            },
            geometry=rounded_geometry(table.geometry, 1e-5),
            crs=WGS84,
        )
        group = folium.FeatureGroup(name=t("Residential districts"))
        folium.GeoJson(
            shown.to_json(drop_id=True, na="null"),
            style_function=lambda f: {"color": f["properties"]["colour"], "weight": 2.5, "fillColor": f["properties"]["colour"], "fillOpacity": 0.25},
            tooltip=folium.GeoJsonTooltip(fields=["name", "status"], aliases=[t("District"), "Q1-Q3"]),
        ).add_to(group)
        group.add_to(fmap)
        rows.append(f"<b>{t('Residential districts: quotas Q1-Q3')}</b>")
        rows += [f'<i style="background:{c};opacity:.6"></i>{t(s)}' for s, c in STATUS_COLOURS.items()]
    if not rows:
        rows.append(t("No townships or districts were checked."))
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    Legend("<br>".join(rows)).add_to(fmap)
    add_png_export(fmap, t, "planning-checks.png")
    return fmap


def draw_texts(t: Translator) -> dict:
    """Leaflet.draw's texts (toolbar buttons, actions, tooltips) for ``L.drawLocal``, in ``t``'s language."""
    return {
        "draw": {
            "toolbar": {
                "actions": {"title": t("Cancel drawing"), "text": t("Cancel")},
                "finish": {"title": t("Finish drawing"), "text": t("Finish")},
                "undo": {"title": t("Delete last point drawn"), "text": t("Delete last point")},
                "buttons": {"polygon": t("Draw a polygon"), "rectangle": t("Draw a rectangle")},
            },
            "handlers": {
                "polygon": {
                    "tooltip": {
                        "start": t("Click to start drawing shape."),
                        "cont": t("Click to continue drawing shape."),
                        "end": t("Click first point to close this shape."),
                    }
                },
                "rectangle": {"tooltip": {"start": t("Click and drag to draw rectangle.")}},
                "simpleshape": {"tooltip": {"end": t("Release mouse to finish drawing.")}},
            },
        },
        "edit": {
            "toolbar": {
                "actions": {
                    "save": {"title": t("Save changes"), "text": t("Save")},
                    "cancel": {"title": t("Cancel editing, discards all changes"), "text": t("Cancel")},
                    "clearAll": {"title": t("Clear all layers"), "text": t("Clear All")},
                },
                "buttons": {
                    "edit": t("Edit layers"),
                    "editDisabled": t("No layers to edit"),
                    "remove": t("Delete layers"),
                    "removeDisabled": t("No layers to delete"),
                },
            },
            "handlers": {"remove": {"tooltip": {"text": t("Click on a feature to remove.")}}},
        },
    }


def add_draw_control(fmap: folium.Map, t: Translator | None = None) -> None:
    """Polygon and rectangle drawing (Leaflet.draw from ``ui/static``, no CDN), its texts in ``t``'s language."""
    from folium.plugins import Draw

    if t is not None:
        DrawTexts(draw_texts(t)).add_to(fmap)  # before the control: Leaflet.draw reads L.drawLocal when it builds it

    draw = Draw(
        export=False,
        draw_options={"polyline": False, "circle": False, "marker": False, "circlemarker": False, "polygon": True, "rectangle": True},
        edit_options={"edit": False},
    )
    js, css = leaflet_draw_assets()
    draw.default_js = [("leaflet_draw_js", js)]
    draw.default_css = [("leaflet_draw_css", css)]
    draw.add_to(fmap)
    ClicksWhileDrawing().add_to(fmap)
