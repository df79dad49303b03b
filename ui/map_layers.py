"""The result layers of the maps and their legend: population by walking-minute class (grid cells
above :data:`MAX_DISPLAY_UNITS` units, for display only), facilities by kind, the proposed site
and district, and the colours and labels they share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template

from coverage.circles import CoverageResult, unit_points
from layers.defaults import MAX_DISPLAY_UNITS
from layers.facilities import FACILITY_KINDS
from layers.projection import WGS84
from ui.basemap import BASEMAP_COLOUR, DISPLAY_GRID_DEG, rounded_geometry
from ui.i18n import Translator
from ui.state import WHATIF_ID_PREFIX

SERVICE_AREA_COLOUR = "#2b6cb0"
UNCOVERED_COLOUR = "#8e0152"
PROPOSED_COLOUR = "#e6007e"
#: Walking-minute band limits of the map (minutes): the 5/10/15-minute life circles of
#: GB 50180-2018 (rule W3's tiers), whatever walking limit is chosen; see :func:`minute_bands`.
MINUTE_BANDS: tuple[float, ...] = (5.0, 10.0, 15.0)
#: Colours of the bands inside the walk, nearest first, by the number of bands (1 to len(MINUTE_BANDS) + 1).
INSIDE_COLOURS: dict[int, tuple[str, ...]] = {
    1: ("#1a9850",),
    2: ("#1a9850", "#d9ef8b"),
    3: ("#1a9850", "#66bd63", "#d9ef8b"),
    4: ("#1a9850", "#66bd63", "#a6d96a", "#d9ef8b"),
}
BEYOND_COLOUR = "#fc8d59"
#: The labels of the classes: the first band, a band between two limits, beyond the walk.
MINUTE_CLASSES: tuple[tuple[float, str, str], ...] = (
    (5.0, "#1a9850", "within {a:g} min"),
    (10.0, "#66bd63", "{a:g}-{b:g} min"),
    (15.0, "#d9ef8b", "{a:g}-{b:g} min"),
    (math.inf, BEYOND_COLOUR, "more than {b:g} min"),
)
UNREACHED_COLOUR = "#d73027"
KIND_COLOURS: dict[str, str] = {
    "township_centre": "#08306b",
    "community_station": "#2171b5",
    "day_care_station": "#4292c6",
    "day_care": "#6a51a3",
    "nursing_home": "#a63603",
    "health_centre": "#006d2c",
    "other": "#525252",
}


# ----- display layers --------------------------------------------------------------------------
class FetchedGeoJson(MacroElement):
    """A non-interactive GeoJSON layer whose data the map fetches from the app's own server
    (``url``, a Streamlit media file: :func:`ui.basemap_frame.served_json`) instead of carrying it.

    Drawn in its own pane under the analysis layers (``pane``, z-index ``z_index``), so features
    arriving after the overlays still lie beneath them. The URL is resolved against the path the
    frame is served under (any ``server.baseUrlPath``); a failed fetch leaves the layer empty and
    logs a warning (no internet is involved: the server is the app's own).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        if (!{{ this._parent._parent.get_name() }}.getPane({{ this.pane|tojson }})) {
            {{ this._parent._parent.get_name() }}.createPane({{ this.pane|tojson }}).style.zIndex = {{ this.z_index|tojson }};
        }
        var {{ this.get_name() }} = L.geoJson(null, {
            style: function () { return {{ this.style|tojson }}; },
            interactive: false,
            pane: {{ this.pane|tojson }}
        });
        (function () {
            var path = window.location.pathname, at = path.indexOf("/component/");
            var root = at >= 0 ? path.slice(0, at) : "";
            fetch(root + {{ this.url|tojson }})
                .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
                .then(function (data) { {{ this.get_name() }}.addData(data); })
                .catch(function (e) { console.warn("the basemap streets could not be loaded:", e); });
        })();
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, url: str, style: dict, pane: str = "basemapStreets", z_index: int = 390) -> None:
        super().__init__()
        self._name = "FetchedGeoJson"
        self.url = url
        self.style = style
        self.pane = pane
        self.z_index = z_index


def feature_collection(frame: gpd.GeoDataFrame, columns: list[str]) -> str:
    """``frame`` (EPSG:4326) as a GeoJSON FeatureCollection string with ``columns`` as properties.

    Vectorised (shapely's GeoJSON writer, pandas' JSON writer): no per-feature Python objects, so a
    few thousand population cells serialise in milliseconds. NaN becomes ``null``; non-ASCII text
    is escaped.
    """
    geometries = shapely.to_geojson(frame.geometry.to_numpy())
    if columns:
        properties = pd.DataFrame(frame[columns]).to_json(orient="records", lines=True).split("\n")
    else:
        properties = ["{}"] * len(frame)
    features = ",".join(
        f'{{"type":"Feature","properties":{p},"geometry":{g}}}' for p, g in zip(properties, geometries, strict=False) if g is not None
    )
    return f'{{"type":"FeatureCollection","features":[{features}]}}'


class StyledGeoJson(MacroElement):
    """GeoJSON features styled and labelled in the browser from their own properties.

    folium's ``GeoJson`` calls a Python style function per feature and writes a ``switch`` over
    feature ids per distinct style, and builds its tooltip per layer with a compiled template:
    ~0.5 s and 40 % more bytes for the 10⁴ features of a large city. Here the style is one object
    plus properties named in ``style_from`` (e.g. ``{"fillColor": "colour"}``), points are circle
    markers, and the tooltip is a table of ``fields`` under ``aliases`` (numbers localised).

    Parameters
    ----------
    data : str
        A FeatureCollection (:func:`feature_collection`).
    style : dict
        Leaflet path options shared by every feature.
    style_from : dict
        Leaflet option → property whose value sets it per feature.
    fields, aliases : list of str
        Tooltip rows: property names and their labels (none: no tooltip).
    lookups : dict
        Properties filled in the browser from a table: name → (index property, values), e.g.
        ``{"colour": ("klass", colours)}``, so a label repeated over thousands of features is sent once.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var base = {{ this.style|tojson }}, from = {{ this.style_from|tojson }};
            var fields = {{ this.fields|tojson }}, aliases = {{ this.aliases|tojson }}, lookups = {{ this.lookups|tojson }};
            function style(f) {
                var s = Object.assign({}, base);
                for (var k in from) { if (f.properties[from[k]] !== null && f.properties[from[k]] !== undefined) { s[k] = f.properties[from[k]]; } }
                return s;
            }
            function esc(v) {
                if (v === null || v === undefined) { return "–"; }
                if (typeof v === "number") { v = v.toLocaleString(); }
                return String(v).replace(/[&<>"]/g, function (c) { return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]; });
            }
            var data = JSON.parse({{ this.data|tojson }});
            data.features.forEach(function (f) {
                for (var k in lookups) { f.properties[k] = lookups[k][1][f.properties[lookups[k][0]]]; }
            });
            var layer = L.geoJson(data, {
                style: style,
                pointToLayer: function (f, latlng) { return L.circleMarker(latlng, style(f)); },
                onEachFeature: function (f, l) {
                    if (!fields.length) { return; }
                    l.bindTooltip(function () {
                        var rows = fields.map(function (k, i) { return "<tr><th>" + esc(aliases[i]) + "</th><td>" + esc(f.properties[k]) + "</td></tr>"; });
                        return "<table>" + rows.join("") + "</table>";
                    }, {sticky: true, className: "foliumtooltip"});
                },
                interactive: {{ this.interactive|tojson }}
            });
            return layer;
        })();
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data: str,
        style: dict,
        style_from: dict[str, str] | None = None,
        fields: list[str] | None = None,
        aliases: list[str] | None = None,
        interactive: bool = True,
        lookups: dict[str, tuple[str, list]] | None = None,
    ) -> None:
        super().__init__()
        self._name = "StyledGeoJson"
        self.data = data
        self.style = style
        self.style_from = style_from or {}
        self.fields = list(fields or [])
        self.aliases = list(aliases or self.fields)
        self.interactive = interactive
        self.lookups = {name: [index, list(values)] for name, (index, values) in (lookups or {}).items()}


def minute_bands(minutes: float) -> tuple[float, ...]:
    """Upper limits (minutes) of the map's bands inside the walk: 5, 10 and 15 clipped to the limit, plus the limit.

    15 minutes gives 5/10/15; 20 gives 5/10/15/20; 12 gives 5/10/12; 4 gives 4. The bands are the
    same whatever limit is chosen (never thirds of it), so a map at 20 minutes reads like one at 15.
    """
    inside = [band for band in MINUTE_BANDS if band < minutes]
    return (*inside, float(minutes))


def minute_class(walk_minutes: np.ndarray, minutes: float) -> np.ndarray:
    """Class index of each walking time: one per band of :func:`minute_bands`, then beyond the walk, then not reached."""
    bands = np.array(minute_bands(minutes))
    out = np.full(walk_minutes.shape, len(bands) + 1, dtype=np.int64)
    finite = np.isfinite(walk_minutes)
    out[finite] = np.searchsorted(bands, walk_minutes[finite], side="left")
    return out


def class_count(minutes: float) -> int:
    """Number of classes of :func:`minute_class`: the bands, beyond the walk, not reached."""
    return len(minute_bands(minutes)) + 2


def class_colours(minutes: float = 15.0) -> list[str]:
    """Colour of each class of :func:`minute_class` (greens inside the walk, orange beyond, red not reached)."""
    inside = len(minute_bands(minutes))
    return [*INSIDE_COLOURS[inside], BEYOND_COLOUR, UNREACHED_COLOUR]


def class_labels(minutes: float, t: Translator) -> list[str]:
    """Legend label of each class of :func:`minute_class` (minutes to one decimal)."""
    bands = minute_bands(minutes)
    labels = [t(MINUTE_CLASSES[0][2], a=round(bands[0], 1))]
    labels += [t(MINUTE_CLASSES[1][2], a=round(low, 1), b=round(high, 1)) for low, high in zip(bands[:-1], bands[1:], strict=True)]
    labels.append(t(MINUTE_CLASSES[-1][2], b=round(bands[-1], 1)))
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
        frame["geometry"] = rounded_geometry(frame.geometry, 5e-6)
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
    by_class = by_class.reindex(columns=range(class_count(result.minutes)), fill_value=0.0)
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


def point_frame(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The same rows with a point inside each shape (EPSG:4326)."""
    out = frame.copy()
    out["geometry"] = shapely.set_precision(frame.geometry.representative_point().to_numpy(), DISPLAY_GRID_DEG)
    return out


def marker_radius(elderly: pd.Series, largest: float) -> pd.Series:
    scale = 9.0 / math.sqrt(largest) if largest > 0 else 0.0
    return (3.0 + np.sqrt(elderly.clip(lower=0)) * scale).clip(upper=14.0).round(1)


def fmt_value(value: object, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, float | int | np.floating | np.integer):
        return f"{value:,.{digits}f}"
    return str(value)


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
            popup[column] = [fmt_value(v, digits) for v in popup[column]]
        popup["name"] = [t.message(n) for n in popup["name"].fillna(popup["facility_id"]).astype(str)]
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
    for colour, label in zip(class_colours(result.minutes), class_labels(result.minutes, t), strict=True):
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
