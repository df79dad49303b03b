"""The folium map of a coverage result, drawn without any web service.

No tile server and no CDN: Leaflet comes from ``ui/static`` (inlined as data URIs) and the basemap
is the loaded street network in light grey, so the map is never a blank grey box offline. A tile
layer is added only when asked for. Large layers are thinned *for display only*: more than
:data:`MAX_DISPLAY_UNITS` population units are drawn as grid cells; the numbers on the page always
come from the full result.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from coverage.circles import CoverageResult, unit_points
from coverage.output import facilities_layer, service_area_layer
from layers.facilities import FACILITY_KINDS
from layers.projection import WGS84
from ui.i18n import Translator
from ui.state import WHATIF_ID_PREFIX

LEAFLET_DIR = Path(__file__).resolve().parent / "static" / "leaflet-1.9.3"
LEAFLET_DRAW_DIR = Path(__file__).resolve().parent / "static" / "leaflet-draw-1.0.4"

#: Above this many population units the map draws grid cells instead of the units.
MAX_DISPLAY_UNITS = 5000
#: Above this many street edges the grey basemap is simplified more coarsely.
MAX_DETAILED_EDGES = 30000
#: Rounding grid of displayed coordinates, degrees (1e-5° ≈ 1 m).
DISPLAY_GRID_DEG = 1e-5

BASEMAP_COLOUR = "#b8b8b8"
SERVICE_AREA_COLOUR = "#2b6cb0"
UNCOVERED_COLOUR = "#8e0152"
PROPOSED_COLOUR = "#e6007e"
#: Walking-minute classes: (upper bound as a share of the circle's minutes, colour, English label).
MINUTE_CLASSES: tuple[tuple[float, str, str], ...] = (
    (1 / 3, "#1a9850", "within {a:g} min"),
    (2 / 3, "#66bd63", "{a:g}-{b:g} min"),
    (1.0, "#d9ef8b", "{a:g}-{b:g} min"),
    (math.inf, "#fc8d59", "more than {b:g} min"),
)
UNREACHED_COLOUR = "#d73027"
KIND_COLOURS: dict[str, str] = {
    "township_centre": "#08306b",
    "community_station": "#2171b5",
    "day_care": "#6a51a3",
    "nursing_home": "#a63603",
    "health_centre": "#006d2c",
    "other": "#525252",
}


# ----- Leaflet without a CDN -------------------------------------------------------------------
def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _inline_assets(folder: Path, js_name: str, css_name: str) -> tuple[str, str]:
    """A JavaScript file and a CSS file of ``folder`` as data URIs, the CSS's images inlined."""
    js = (folder / js_name).read_bytes()
    css = (folder / css_name).read_text(encoding="utf-8")
    mime = {".png": "image/png", ".svg": "image/svg+xml"}

    def inline(match: re.Match) -> str:
        image = folder / match.group(1)
        if not image.exists():
            return match.group(0)
        return f"url({_data_uri(mime[image.suffix], image.read_bytes())})"

    css = re.sub(r"url\(['\"]?(images/[\w.-]+\.(?:png|svg))['\"]?\)", inline, css)
    return _data_uri("text/javascript", js), _data_uri("text/css", css.encode("utf-8"))


@functools.cache
def leaflet_assets() -> tuple[str, str]:
    """Leaflet's JavaScript and CSS (images inlined) as data URIs."""
    return _inline_assets(LEAFLET_DIR, "leaflet.js", "leaflet.css")


@functools.cache
def leaflet_draw_assets() -> tuple[str, str]:
    """Leaflet.draw's JavaScript and CSS (sprites inlined) as data URIs: drawing works offline."""
    return _inline_assets(LEAFLET_DRAW_DIR, "leaflet.draw.js", "leaflet.draw.css")


def offline_map(bounds: tuple[float, float, float, float], *, tiles: bool = False) -> folium.Map:
    """An empty folium map fitted to lon/lat ``bounds`` that loads nothing from the internet.

    Parameters
    ----------
    bounds : tuple of float
        ``(min_lon, min_lat, max_lon, max_lat)`` in degrees.
    tiles : bool
        Add the OpenStreetMap tile layer (needs internet; off by default).
    """
    x0, y0, x1, y1 = bounds
    fmap = folium.Map(location=[(y0 + y1) / 2, (x0 + x1) / 2], zoom_start=14, tiles=None, control_scale=True)
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
    if tiles:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", control=True).add_to(fmap)
    fmap.fit_bounds([[y0, x0], [y1, x1]])
    FitWhenShown([[y0, x0], [y1, x1]]).add_to(fmap)
    return fmap


class FitWhenShown(MacroElement):
    """Refit the map to its bounds once its container gets a size.

    A map drawn while its tab is hidden has a 0 × 0 container, so Leaflet zooms out to the whole
    world; this watches the container and fits the bounds when it becomes visible.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var box = {{ this.bounds|tojson }};
            var el = map.getContainer();
            var fitted = el.clientWidth > 0 && el.clientHeight > 0;
            if (typeof ResizeObserver === "undefined") { return; }
            new ResizeObserver(function () {
                if (el.clientWidth > 0 && el.clientHeight > 0) {
                    map.invalidateSize();
                    if (!fitted) { map.fitBounds(box); fitted = true; }
                }
            }).observe(el);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "FitWhenShown"
        self.bounds = bounds


class Legend(MacroElement):
    """A Leaflet control in a map corner holding an HTML legend."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: "bottomright"});
        {{ this.get_name() }}.onAdd = function () {
            var div = L.DomUtil.create("div", "circle-legend");
            div.innerHTML = {{ this.html|tojson }};
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, html: str) -> None:
        super().__init__()
        self._name = "Legend"
        self.html = html


# ----- display layers --------------------------------------------------------------------------
def _rounded(geometry: gpd.GeoSeries, tolerance_deg: float) -> np.ndarray:
    geoms = shapely.simplify(geometry.to_numpy(), tolerance_deg, preserve_topology=True)
    return shapely.set_precision(geoms, DISPLAY_GRID_DEG)


@dataclass(frozen=True)
class Basemap:
    """The streets drawn under everything: GeoJSON, lon/lat bounds, whether it was coarsened."""

    geojson: dict
    bounds: tuple[float, float, float, float]
    coarse: bool
    edges: int


def basemap(edges: gpd.GeoDataFrame) -> Basemap:
    """The street edges as one light-grey multi-line feature (simplified to ~1 m, ~5 m when huge)."""
    coarse = len(edges) > MAX_DETAILED_EDGES
    wgs84 = edges.to_crs(WGS84)
    lines = _rounded(wgs84.geometry, 5e-5 if coarse else 1e-5)
    lines = lines[~shapely.is_empty(lines)]
    merged = shapely.multilinestrings(list(shapely.get_parts(lines)))
    feature = {"type": "Feature", "properties": {}, "geometry": json.loads(shapely.to_geojson(merged))}
    bounds = tuple(float(v) for v in wgs84.total_bounds)
    return Basemap({"type": "FeatureCollection", "features": [feature]}, bounds, coarse, len(edges))


def minute_class(walk_minutes: np.ndarray, minutes: float) -> np.ndarray:
    """Class index of each walking time: 0-2 inside the circle by thirds, 3 beyond it, 4 not reached."""
    out = np.full(walk_minutes.shape, len(MINUTE_CLASSES), dtype=np.int64)
    finite = np.isfinite(walk_minutes)
    bounds = np.array([share * minutes for share, _, _ in MINUTE_CLASSES])
    out[finite] = np.searchsorted(bounds, walk_minutes[finite], side="left")
    return np.minimum(out, len(MINUTE_CLASSES))


def class_colours() -> list[str]:
    return [colour for _, colour, _ in MINUTE_CLASSES] + [UNREACHED_COLOUR]


def class_labels(minutes: float, t: Translator) -> list[str]:
    labels = []
    lower = 0.0
    for share, _, text in MINUTE_CLASSES:
        upper = share * minutes if math.isfinite(share) else minutes
        labels.append(t(text, a=round(upper if lower == 0 else lower, 1), b=round(upper, 1)))
        lower = upper
    labels.append(t("not reached / off the street network"))
    return labels


@dataclass(frozen=True)
class PopulationDisplay:
    """Population as drawn: units, or grid cells when there are too many units."""

    frame: gpd.GeoDataFrame  # EPSG:4326: population, elderly_population, uncovered_elderly, walk_minutes, klass
    aggregated: bool
    units: int
    cell_m: float | None = None


def population_display(result: CoverageResult, max_units: int = MAX_DISPLAY_UNITS) -> PopulationDisplay:
    """Population units for the map, or (above ``max_units``) square cells summing them.

    A cell's colour class is the population-weighted median class of its units; its counts are
    sums. Only the drawing is thinned: every number on the page uses the full result.
    """
    pop = result.population
    walk = result.walk_minutes
    klass = minute_class(walk, result.minutes)
    people = pop["population"].to_numpy(dtype=float)
    elderly = pop["elderly_population"].to_numpy(dtype=float)
    uncovered_elderly = np.where(result.covered, 0.0, elderly)
    n = len(pop)
    if n <= max_units:
        frame = gpd.GeoDataFrame(
            {
                "population": people.round(1),
                "elderly_population": elderly.round(1),
                "uncovered_elderly": uncovered_elderly.round(1),
                "walk_minutes": np.where(np.isfinite(walk), walk, np.nan).round(1),
                "klass": klass,
            },
            geometry=pop.geometry.to_numpy(),
            crs=pop.crs,
        ).to_crs(WGS84)
        frame["geometry"] = _rounded(frame.geometry, 5e-6)
        return PopulationDisplay(frame, aggregated=False, units=n)

    points = unit_points(pop.geometry)
    xy = shapely.get_coordinates(points)
    x0, y0 = xy.min(axis=0)
    x1, y1 = xy.max(axis=0)
    cell = max(50.0, math.ceil(math.sqrt(max((x1 - x0) * (y1 - y0), 1.0) / (0.8 * max_units)) / 50.0) * 50.0)
    while True:
        ix = np.floor((xy[:, 0] - x0) / cell).astype(np.int64)
        iy = np.floor((xy[:, 1] - y0) / cell).astype(np.int64)
        cells = pd.DataFrame({"ix": ix, "iy": iy})
        if cells.drop_duplicates().shape[0] <= max_units:
            break
        cell *= 1.5
    table = cells.assign(population=people, elderly_population=elderly, uncovered_elderly=uncovered_elderly, klass=klass)
    sums = table.groupby(["ix", "iy"])[["population", "elderly_population", "uncovered_elderly"]].sum()
    by_class = table.pivot_table(index=["ix", "iy"], columns="klass", values="population", aggfunc="sum", fill_value=0.0)
    by_class = by_class.reindex(columns=range(len(MINUTE_CLASSES) + 1), fill_value=0.0)
    cumulative = by_class.cumsum(axis=1).to_numpy()
    half = cumulative[:, -1:] / 2.0
    median_class = np.argmax(cumulative >= half, axis=1)
    counts = table.groupby(["ix", "iy"]).size()
    idx = sums.index.to_frame(index=False)
    boxes = shapely.box(
        x0 + idx["ix"] * cell, y0 + idx["iy"] * cell, x0 + (idx["ix"] + 1) * cell, y0 + (idx["iy"] + 1) * cell
    )
    frame = gpd.GeoDataFrame(
        {
            "population": sums["population"].to_numpy().round(1),
            "elderly_population": sums["elderly_population"].to_numpy().round(1),
            "uncovered_elderly": sums["uncovered_elderly"].to_numpy().round(1),
            "units": counts.to_numpy(),
            "klass": median_class,
        },
        geometry=boxes,
        crs=pop.crs,
    ).to_crs(WGS84)
    frame["geometry"] = shapely.set_precision(frame.geometry.to_numpy(), DISPLAY_GRID_DEG)
    return PopulationDisplay(frame, aggregated=True, units=n, cell_m=cell)


def _point_frame(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The same rows with a point inside each shape (EPSG:4326)."""
    out = frame.copy()
    out["geometry"] = shapely.set_precision(frame.geometry.representative_point().to_numpy(), DISPLAY_GRID_DEG)
    return out


def _radius(elderly: pd.Series, largest: float) -> pd.Series:
    scale = 9.0 / math.sqrt(largest) if largest > 0 else 0.0
    return (3.0 + np.sqrt(elderly.clip(lower=0)) * scale).clip(upper=14.0).round(1)


def _fmt(value: object, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, float | int | np.floating | np.integer):
        return f"{value:,.{digits}f}"
    return str(value)


# ----- the map ---------------------------------------------------------------------------------
def build_map(
    result: CoverageResult,
    streets: Basemap,
    t: Translator,
    *,
    display: PopulationDisplay | None = None,
    service_areas: gpd.GeoDataFrame | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    tiles: bool = False,
) -> folium.Map:
    """The coverage map: basemap streets, service areas, population by walking minutes, uncovered
    elderly, facilities by kind (popups), a layer switcher and a legend.

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
    tiles : bool
        Also offer the OpenStreetMap tile layer (needs internet).
    """
    display = display if display is not None else population_display(result)
    service_areas = service_areas if service_areas is not None else service_area_layer(result)
    facilities = facilities if facilities is not None else facilities_layer(result)
    fmap = offline_map(streets.bounds, tiles=tiles)

    street_group = folium.FeatureGroup(name=t("Streets (basemap)"), control=True)
    folium.GeoJson(
        streets.geojson,
        style_function=lambda _: {"color": BASEMAP_COLOUR, "weight": 1, "opacity": 0.9},
        interactive=False,
    ).add_to(street_group)
    street_group.add_to(fmap)

    colours = class_colours()
    labels = class_labels(result.minutes, t)

    areas_group = folium.FeatureGroup(name=t("Service areas ({minutes:g} min)", minutes=result.minutes))
    if len(service_areas):
        areas = service_areas[["name", "geometry"]].copy()
        areas["geometry"] = _rounded(areas.geometry, 1e-5)
        areas["name"] = areas["name"].fillna("").astype(str)
        folium.GeoJson(
            areas.to_json(drop_id=True),
            style_function=lambda _: {
                "color": SERVICE_AREA_COLOUR,
                "weight": 1.5,
                "fillColor": SERVICE_AREA_COLOUR,
                "fillOpacity": 0.12,
            },
            tooltip=folium.GeoJsonTooltip(fields=["name"], aliases=[t("Service area of")]),
        ).add_to(areas_group)
    areas_group.add_to(fmap)

    population_group = folium.FeatureGroup(name=t("Population by walking minutes"))
    shown = display.frame.copy()
    shown["colour"] = [colours[k] for k in shown["klass"]]
    shown["class_label"] = [labels[k] for k in shown["klass"]]
    if display.aggregated:
        fields = ["population", "elderly_population", "uncovered_elderly", "units", "class_label"]
        aliases = [t("Population"), t("Elderly (60+)"), t("Elderly outside the circle"), t("Units in cell"), t("Walking time (median)")]
    else:
        fields = ["population", "elderly_population", "walk_minutes", "class_label"]
        aliases = [t("Population"), t("Elderly (60+)"), t("Walking minutes"), t("Walking time")]
    shown = shown[[*fields, "colour", "geometry"]]
    folium.GeoJson(
        shown.to_json(drop_id=True, na="null"),
        style_function=lambda f: {
            "color": f["properties"]["colour"],
            "weight": 0.6,
            "fillColor": f["properties"]["colour"],
            "fill": True,
            "fillOpacity": 0.65,
            "radius": 4,
        },
        marker=folium.CircleMarker(radius=4),
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases, localize=True),
    ).add_to(population_group)
    population_group.add_to(fmap)

    uncovered_group = folium.FeatureGroup(name=t("Elderly outside the circle"))
    uncovered = display.frame.loc[display.frame["uncovered_elderly"] > 0]
    if len(uncovered):
        points = _point_frame(uncovered[["uncovered_elderly", "geometry"]])
        points["radius"] = _radius(points["uncovered_elderly"], float(points["uncovered_elderly"].max()))
        folium.GeoJson(
            points.to_json(drop_id=True),
            style_function=lambda f: {
                "color": UNCOVERED_COLOUR,
                "weight": 1,
                "fillColor": UNCOVERED_COLOUR,
                "fill": True,
                "fillOpacity": 0.35,
                "radius": f["properties"]["radius"],
            },
            marker=folium.CircleMarker(radius=5),
            tooltip=folium.GeoJsonTooltip(fields=["uncovered_elderly"], aliases=[t("Elderly outside the circle")], localize=True),
        ).add_to(uncovered_group)
    uncovered_group.add_to(fmap)

    facility_group(facilities, t).add_to(fmap)

    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    Legend(legend_html(result, t, facilities)).add_to(fmap)
    return fmap


def facility_group(facilities: gpd.GeoDataFrame, t: Translator) -> folium.FeatureGroup:
    """Facilities by kind as circle markers with popups; what-if sites outlined in black."""
    group = folium.FeatureGroup(name=t("Facilities by kind"))
    if len(facilities):
        popup = facilities.copy()
        popup["kind_label"] = [t(str(k)) for k in popup["kind"].fillna("other")]
        popup["whatif"] = popup["facility_id"].astype(str).str.startswith(WHATIF_ID_PREFIX)
        popup["colour"] = [
            PROPOSED_COLOUR if w else KIND_COLOURS.get(str(k), KIND_COLOURS["other"])
            for k, w in zip(popup["kind"], popup["whatif"], strict=True)
        ]
        for column, digits in (("beds", 0), ("building_area_m2", 0), ("land_area_m2", 0), ("population_served", 0), ("elderly_served", 0)):
            popup[column] = [_fmt(v, digits) for v in popup[column]]
        popup["name"] = popup["name"].fillna(popup["facility_id"]).astype(str)
        fields = ["name", "facility_id", "kind_label", "beds", "building_area_m2", "land_area_m2", "population_served", "elderly_served"]
        aliases = [
            t("Name"),
            t("Id"),
            t("Kind"),
            t("Beds"),
            t("Building area (m²)"),
            t("Land area (m²)"),
            t("People served (within the walk)"),
            t("Elderly served"),
        ]
        folium.GeoJson(
            popup[[*fields, "colour", "whatif", "geometry"]].to_json(drop_id=True),
            style_function=lambda f: {
                "color": "#000000" if f["properties"]["whatif"] else "#ffffff",
                "weight": 3 if f["properties"]["whatif"] else 2,
                "fillColor": f["properties"]["colour"],
                "fill": True,
                "fillOpacity": 0.95,
                "radius": 9,
            },
            marker=folium.CircleMarker(radius=9),
            popup=folium.GeoJsonPopup(fields=fields, aliases=aliases),
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
        ).add_to(group)
    return group


def legend_html(result: CoverageResult, t: Translator, facilities: gpd.GeoDataFrame) -> str:
    """The legend: walking-minute classes, service areas, uncovered elderly, facility kinds."""
    rows = [f"<b>{t('Walking time to the nearest facility')}</b>"]
    for colour, label in zip(class_colours(), class_labels(result.minutes, t), strict=True):
        rows.append(f'<i style="background:{colour}"></i>{label}')
    rows.append(f'<i style="background:{SERVICE_AREA_COLOUR};opacity:.4"></i>{t("Service area (street-following)")}')
    rows.append(f'<i style="background:{UNCOVERED_COLOUR};border-radius:50%"></i>{t("Elderly outside the circle")}')
    kinds = [k for k in FACILITY_KINDS if k in set(facilities["kind"].astype(str))] if len(facilities) else []
    for kind in kinds:
        rows.append(f'<i style="background:{KIND_COLOURS[kind]};border-radius:50%"></i>{t(kind)}')
    if len(facilities) and facilities["facility_id"].astype(str).str.startswith(WHATIF_ID_PREFIX).any():
        rows.append(f'<i style="background:{PROPOSED_COLOUR};border-radius:50%;border:2px solid #000"></i>{t("What-if site")}')
    rows.append(f'<i style="background:{BASEMAP_COLOUR};height:3px;border:0"></i>{t("Streets (basemap)")}')
    return "<br>".join(rows)


def proposed_site_group(lat: float, lng: float, t: Translator) -> folium.FeatureGroup:
    """A feature group holding the clicked, not yet added site (drawn without reloading the map)."""
    group = folium.FeatureGroup(name=t("Proposed site"))
    folium.CircleMarker(
        location=[lat, lng],
        radius=10,
        color="#000000",
        weight=3,
        dash_array="4 3",
        fill=True,
        fill_color=PROPOSED_COLOUR,
        fill_opacity=0.6,
        tooltip=t("Proposed site: press “Add facility here”"),
    ).add_to(group)
    return group


# ----- site selection: the proposed sites ----------------------------------------------------------
#: Colour of the ranked proposed sites of the site-selection tab.
RANKED_SITE_COLOUR = "#ff7f00"


def proposed_sites_map(
    sites: pd.DataFrame,
    streets: Basemap,
    facilities: gpd.GeoDataFrame,
    t: Translator,
    *,
    tiles: bool = False,
) -> folium.Map:
    """Streets, the current facilities and the proposed sites as numbered markers (offline).

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
    fmap = offline_map(streets.bounds, tiles=tiles)
    street_group = folium.FeatureGroup(name=t("Streets (basemap)"))
    folium.GeoJson(
        streets.geojson, style_function=lambda _: {"color": BASEMAP_COLOUR, "weight": 1, "opacity": 0.9}, interactive=False
    ).add_to(street_group)
    street_group.add_to(fmap)
    facility_group(facilities, t).add_to(fmap)
    group = folium.FeatureGroup(name=t("Proposed sites (ranked)"))
    for row in sites.itertuples(index=False):
        rank = int(row.rank)
        lines = [
            f"<b>{t('Proposed site #{rank}', rank=rank)}</b>",
            t("Elderly added: {elderly}", elderly=_fmt(float(row.added_elderly), 0)),
        ]
        share = getattr(row, "covered_share", None)
        if share is not None and isinstance(share, float | int | np.floating) and math.isfinite(float(share)):
            lines.append(t("Elderly covered with sites up to this rank: {share:.1%}", share=float(share)))
        name = getattr(row, "name", None)
        if isinstance(name, str) and name.strip():
            lines.append(name.strip())
        folium.Marker(
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
            popup=folium.Popup("<br>".join(lines), max_width=260),
            tooltip=t("Proposed site #{rank}", rank=rank),
        ).add_to(group)
    group.add_to(fmap)
    if len(sites):
        lat, lon = sites["lat"].astype(float), sites["lon"].astype(float)
        x0, y0, x1, y1 = streets.bounds
        fmap.fit_bounds([[min(lat.min(), y0), min(lon.min(), x0)], [max(lat.max(), y1), max(lon.max(), x1)]])
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    legend = [
        f'<i style="background:{RANKED_SITE_COLOUR};border-radius:50%;border:2px solid #000"></i>{t("Proposed sites (ranked)")}',
        f'<i style="background:{BASEMAP_COLOUR};height:3px;border:0"></i>{t("Streets (basemap)")}',
    ]
    Legend("<br>".join(legend)).add_to(fmap)
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


def checks_map(run, streets: Basemap, t: Translator, *, township_colour: str = "t1_status", tiles: bool = False) -> folium.Map:
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
    fmap = offline_map(streets.bounds, tiles=tiles)
    street_group = folium.FeatureGroup(name=t("Streets (basemap)"))
    folium.GeoJson(
        streets.geojson, style_function=lambda _: {"color": BASEMAP_COLOUR, "weight": 1, "opacity": 0.9}, interactive=False
    ).add_to(street_group)
    street_group.add_to(fmap)
    rows = []
    if run.townships is not None and len(run.townships.table):
        table = run.townships.table.to_crs(WGS84)
        name_col = next((c for c in ("township", "name") if c in table.columns), None)
        shown = gpd.GeoDataFrame(
            {
                "name": table[name_col].astype(str) if name_col else [str(i + 1) for i in range(len(table))],
                "status": [t(str(s)) for s in table.get("t1_status", pd.Series(["not_assessable"] * len(table)))],
                "share": [_fmt(100 * v if isinstance(v, float | int) else v, 1) for v in table.get("w1_elderly_share", pd.Series([None] * len(table)))],
            },
            geometry=_rounded(table.geometry, 1e-5),
            crs=WGS84,
        )
        if township_colour == "w1_elderly_share" and "w1_elderly_share" in table.columns:
            shown["colour"] = [share_colour(v) for v in table["w1_elderly_share"]]
            rows.append(f"<b>{t('Townships: elderly within the walk (W1)')}</b>")
            lower = 0.0
            for upper, colour in SHARE_CLASSES:
                label = f"≥ {lower:.0%}" if not math.isfinite(upper) else f"{lower:.0%}–{upper:.0%}"
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
                "name": table["district"].astype(str),
                "status": [t(str(s)) for s in table["meets_q1_q3"]],
                "colour": [STATUS_COLOURS.get(str(s), STATUS_COLOURS["not_assessable"]) for s in table["meets_q1_q3"]],
            },
            geometry=_rounded(table.geometry, 1e-5),
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
    return fmap


def district_group(polygon, t: Translator) -> folium.FeatureGroup:
    """The proposed district's outline (EPSG:4326 shapely polygon) as a feature group."""
    group = folium.FeatureGroup(name=t("Proposed district"))
    folium.GeoJson(
        json.loads(shapely.to_geojson(polygon)),
        style_function=lambda _: {"color": PROPOSED_COLOUR, "weight": 3, "dashArray": "6 4", "fillOpacity": 0.08},
    ).add_to(group)
    return group


def add_draw_control(fmap: folium.Map) -> None:
    """Polygon and rectangle drawing (Leaflet.draw from ``ui/static``, no CDN)."""
    from folium.plugins import Draw

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


class ClicksWhileDrawing(MacroElement):
    """Hold back map clicks while a Leaflet.draw tool is active (and just after it stops).

    Each vertex of a polygon (and the mouse-up of a rectangle) also reaches the map as a plain
    ``click``, which st_folium reports as ``last_clicked`` and the page would take as a proposed
    what-if site. Between ``draw:drawstart`` / ``draw:deletestart`` and the matching stop, and for
    a moment after it (the click that finishes a shape arrives after ``draw:drawstop``), the map's
    ``fire`` drops ``click`` events. The polygon and rectangle tools do not use map clicks.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var busy = false, until = 0;
            var fire = map.fire;
            map.fire = function (type) {
                if (type === "click" && (busy || Date.now() < until)) { return this; }
                return fire.apply(this, arguments);
            };
            function start() { busy = true; }
            function stop() { busy = false; until = Date.now() + {{ this.grace_ms }}; }
            map.on("draw:drawstart draw:deletestart draw:editstart", start);
            map.on("draw:drawstop draw:deletestop draw:editstop", stop);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, grace_ms: int = 400) -> None:
        super().__init__()
        self._name = "ClicksWhileDrawing"
        self.grace_ms = int(grace_ms)
