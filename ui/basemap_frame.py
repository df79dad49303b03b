"""A map whose basemap is rendered and sent to the browser once: only the result's layers change.

streamlit-folium keys its browser frame by a hash of the map's script. A map whose script stays
the same keeps its frame (Leaflet, the basemap's paths and the view stay drawn); the layers passed
as ``feature_group`` are removed and evaluated again in that frame whenever they change. So the
coverage map is split (:func:`ui.mapping.coverage_base` / :func:`ui.mapping.coverage_overlays`):

- the **base** (the offline basemap: streets, land use, water, buildings; tiles when chosen, the
  searched feature, the draw control, the PNG button) is rendered to its script once per data,
  language, tiles and search (:func:`rendered_base`, kept per process) and the frame keeps it;
- the **overlays** (service areas, population, uncovered elderly, facilities, the proposed site)
  and the layer switcher and legend that name them are rendered on each rerun
  (:func:`overlay_scripts`): their script is a small fraction of a large city's map.

On a city of 10⁵ street nodes the basemap is ~9.5 MB of the map's 12 MB: a minutes change used to
rebuild, serialise and re-parse all of it. The layer switcher lists the basemap's layers (named in
the base by :class:`NamedLayers`) and the overlays; an overlay the planner switched off stays off
when the overlays are swapped.

Tests stand in for ``streamlit_folium.st_folium`` (``monkeypatch``): when it is not the library's
own function, :func:`show_map` hands it the whole map (base and overlays in one folium map), so
those tests see what the browser would draw.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

import folium
import folium.elements
import streamlit as st
import streamlit_folium
from branca.element import MacroElement
from jinja2 import Template

from ui.map_controls import Legend

#: The library's own ``st_folium`` (tests replace the module attribute with a stand-in).
LIBRARY_ST_FOLIUM = streamlit_folium.st_folium
#: Rendered bases kept per process (a few data sets × languages × searches).
MAX_RENDERED_BASES = 6
#: Streets whose GeoJSON is larger than this (bytes) are fetched by the map from the app's server
#: (:func:`served_json`) rather than written into the map's script: the script travels with every
#: rerun's message (streamlit-folium sends all its arguments each time), ~9.5 MB on a 10⁵-node city.
FETCHED_STREETS_BYTES = 1_000_000
#: Environment variable overriding :data:`FETCHED_STREETS_BYTES` (the browser test fetches even
#: the small default's streets with 0).
FETCHED_STREETS_ENV = "COVERAGE_FETCHED_STREETS_BYTES"
#: Returned by the component before the planner touched the map.
DEFAULT_KEYS: tuple[str, ...] = (
    "last_clicked",
    "last_object_clicked",
    "last_object_clicked_count",
    "last_object_clicked_tooltip",
    "last_object_clicked_popup",
    "all_drawings",
    "last_active_drawing",
    "bounds",
    "zoom",
    "last_circle_radius",
    "last_circle_polygon",
    "selected_layers",
    "selected_tags",
    "last_geocoder_result",
)


class NamedLayers(MacroElement):
    """Publish the map's switchable layers by name (``window.__baseLayers`` / ``__baseOverlays``),
    so a layer switcher built later with the overlays (:func:`overlay_scripts`) lists them too.

    Added last to the base map: it names the layers added before it.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        window.__baseLayers = {
        {%- for name, var in this.layers(False) %}
            {{ name|tojson }}: {{ var }},
        {%- endfor %}
        };
        window.__baseOverlays = {
        {%- for name, var in this.layers(True) %}
            {{ name|tojson }}: {{ var }},
        {%- endfor %}
        };
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "NamedLayers"

    def layers(self, overlay: bool) -> list[tuple[str, str]]:
        """(name, JavaScript variable) of the parent map's layers shown in a layer switcher."""
        out = []
        for item in self._parent._children.values():
            if isinstance(item, folium.map.Layer) and item.control and bool(item.overlay) == overlay:
                out.append((item.layer_name, item.get_name()))
        return out


@dataclass(frozen=True)
class RenderedBase:
    """The base map as streamlit-folium's frame takes it (what ``st_folium`` would compute).

    Attributes
    ----------
    script, header, html : str
        The map's Leaflet script, the page header (styles, scripts inlined) and body HTML.
    map_id : str
        The folium map's element id.
    css_links, js_links : tuple of str
        Stylesheets and scripts the frame loads (data URIs: nothing from the internet).
    bounds : list
        ``[[south, west], [north, east]]`` of everything on the base map, degrees.
    zoom : int
        The map's starting zoom.
    legend_rows : tuple of str
        The basemap's legend rows (HTML), shown under the overlays' legend.
    """

    script: str
    header: str
    html: str
    map_id: str
    css_links: tuple[str, ...]
    js_links: tuple[str, ...]
    bounds: list
    zoom: int
    legend_rows: tuple[str, ...]

    @property
    def size_bytes(self) -> int:
        """UTF-8 size of the script, header and HTML sent to the browser (bytes)."""
        return sum(len(part.encode("utf-8")) for part in (self.script, self.header, self.html))

    def frame_key(self, key: str) -> str:
        """The component's key: the same for the same base (the browser keeps the frame)."""
        return hashlib.sha256(f"{key}\0{self.script}".encode()).hexdigest()


def _links(fmap: folium.Map) -> tuple[tuple[str, ...], tuple[str, ...]]:
    css: list[str] = []
    js: list[str] = []

    def walk(element):
        if isinstance(element, folium.elements.JSCSSMixin):
            yield element
        for child in getattr(element, "_children", {}).values():
            yield from walk(child)

    for element in walk(fmap):
        css.extend(href for _, href in getattr(element, "default_css", []))
        js.extend(src for _, src in getattr(element, "default_js", []))
    return tuple(dict.fromkeys(css)), tuple(dict.fromkeys(js))


def render_base(fmap: folium.Map, legend_rows: Iterable[str] = ()) -> RenderedBase:
    """Render a base map the way ``st_folium`` does (once: the result is kept by :func:`rendered_base`).

    Parameters
    ----------
    fmap : folium.Map
        The base map (no layer switcher, no legend: :func:`overlay_scripts` adds them).
    legend_rows : iterable of str
        The basemap's legend rows (HTML).
    """
    NamedLayers().add_to(fmap)
    fmap.get_root().render()
    fmap.render()
    html = streamlit_folium._get_html(fmap)
    header = streamlit_folium._get_header(fmap)
    script = streamlit_folium._get_map_string(fmap)
    css, js = _links(fmap)
    try:
        bounds = fmap.get_bounds()
    except AttributeError:
        bounds = [[None, None], [None, None]]
    zoom = int(fmap.options.get("zoom", fmap.options.get("zoomStart", 14)) or 14)
    return RenderedBase(script, header, html, streamlit_folium.get_full_id(fmap), css, js, bounds, zoom, tuple(legend_rows))


@st.cache_resource(show_spinner=False, max_entries=4)
def _streets_bytes(data_key: str, _geojson: dict) -> bytes:
    return json.dumps(_geojson, separators=(",", ":")).encode("utf-8")


def served_json(data_key: str, geojson: dict, name: str = "streets") -> str | None:
    """Serve a large GeoJSON (above :data:`FETCHED_STREETS_BYTES`) from the app's own server as a
    Streamlit media file and return its URL (``/media/<hash>.json``); ``None`` when small or when
    no Streamlit runtime serves files (then the map carries the data itself).

    Call it on every rerun that draws the map: Streamlit keeps a media file while the session's
    last run referenced it. Serialised once per data (``data_key``); the URL is the same for the
    same data, so the base map holding it stays the same too.
    """
    from streamlit import runtime

    if not runtime.exists():
        return None
    data = _streets_bytes(data_key, geojson)
    if len(data) <= int(os.environ.get(FETCHED_STREETS_ENV, FETCHED_STREETS_BYTES)):
        return None
    return runtime.get_instance().media_file_mgr.add(data, "application/json", f"basemap_{name}")


_BASES: OrderedDict[Hashable, RenderedBase] = OrderedDict()
_BASES_LOCK = threading.Lock()


def rendered_base(key: Hashable, build: Callable[[], tuple[folium.Map, list[str]]]) -> RenderedBase:
    """The base map rendered for ``key`` (data, language, tiles, search), built by ``build`` the
    first time in this process and kept (the :data:`MAX_RENDERED_BASES` most recent)."""
    with _BASES_LOCK:
        base = _BASES.get(key)
        if base is not None:
            _BASES.move_to_end(key)
            return base
    fmap, rows = build()
    base = render_base(fmap, rows)
    with _BASES_LOCK:
        _BASES[key] = base
        _BASES.move_to_end(key)
        while len(_BASES) > MAX_RENDERED_BASES:
            _BASES.popitem(last=False)
    return base


#: Layer switcher and legend of the overlays: rebuilt with them; an overlay switched off stays off.
_CONTROL_JS = """
(function () {
    var G = window.__circleMap = window.__circleMap || {hidden: {}, version: 0};
    if (!G.watching) {
        G.watching = true;
        // only the planner's clicks in the switcher count: removing the old overlays fires these too
        map_div.on("overlayadd", function (e) { if (G.control && G.control._handlingClick) { delete G.hidden[e.name]; } });
        map_div.on("overlayremove", function (e) { if (G.control && G.control._handlingClick) { G.hidden[e.name] = true; } });
    }
    var groups = %(groups)s;
    var overlays = Object.assign({}, window.__baseOverlays || {});
    groups.forEach(function (g) {
        overlays[g[0]] = g[1];
        if (G.hidden[g[0]]) { map_div.removeLayer(g[1]); }
    });
    var bases = window.__baseLayers || {};
    window.layer_control = G.control = L.control.layers(bases, overlays, {position: "topright", collapsed: false}).addTo(map_div);
    if (G.legend) { map_div.removeControl(G.legend); }
    var legend = G.legend = L.control({position: "bottomright"});
    legend.onAdd = function () {
        var div = L.DomUtil.create("div", "circle-legend");
        div.innerHTML = %(legend)s;
        return div;
    };
    legend.addTo(map_div);
    G.version += 1;
    G.drawnAt = performance.timeOrigin + performance.now();
})();
"""


#: First line of the overlays' script: when the frame started drawing them (epoch ms).
_START_JS = "window.__circleMapStart = performance.timeOrigin + performance.now();\n"


def overlay_scripts(groups: list[folium.FeatureGroup], legend_html: str) -> tuple[str, str]:
    """The overlays' script (``feature_group``) and the switcher-and-legend script (``layer_control``)
    for the frame of a :class:`RenderedBase`.

    The groups are rendered against a stand-in map (``map_div`` in the frame); the second script
    records ``window.__circleMap.version`` and ``drawnAt`` (epoch ms) when it ran, and the first
    ``window.__circleMapStart`` when the frame got them, so a test or the benchmark can tell that
    the overlays were swapped and time it.
    """
    stand_in = folium.Map(tiles=None)
    parts = [streamlit_folium._get_feature_group_string(group, map=stand_in, idx=i) for i, group in enumerate(groups)]
    names = ", ".join(f"[{json.dumps(g.layer_name)}, feature_group_feature_group_{i}]" for i, g in enumerate(groups))
    control = _CONTROL_JS % {"groups": f"[{names}]", "legend": json.dumps(legend_html)}
    return _START_JS + "".join(parts), control


def full_map(base_build: Callable[[], tuple[folium.Map, list[str]]], groups: list[folium.FeatureGroup], legend_html: str) -> folium.Map:
    """Base and overlays as one folium map (what a stand-in for ``st_folium`` is given)."""
    fmap, rows = base_build()
    for group in groups:
        group.add_to(fmap)
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    Legend("<br>".join([legend_html, *rows])).add_to(fmap)
    return fmap


def show_map(
    base_key: Hashable,
    base_build: Callable[[], tuple[folium.Map, list[str]]],
    groups: list[folium.FeatureGroup],
    legend_html: str,
    *,
    key: str,
    height: int,
    returned_objects: list[str],
    use_container_width: bool = True,
) -> dict | None:
    """Draw a map whose base stays in the browser; only ``groups`` and the legend are sent anew.

    Parameters
    ----------
    base_key : hashable
        What the base depends on (data, language, tiles, search); a new key draws a new frame.
    base_build : callable
        Builds the base map and its legend rows (:func:`ui.mapping.coverage_base` and extras).
    groups : list of folium.FeatureGroup
        The overlays, drawn over the base in this order.
    legend_html : str
        The overlays' legend (HTML); the basemap's rows follow it.
    key, height, returned_objects, use_container_width
        As for ``st_folium``.

    Returns
    -------
    dict or None
        What the planner did on the map (``st_folium``'s answer).
    """
    if streamlit_folium.st_folium is not LIBRARY_ST_FOLIUM:  # a test's stand-in: give it the whole map
        return streamlit_folium.st_folium(
            full_map(base_build, groups, legend_html), key=key, height=height,
            use_container_width=use_container_width, returned_objects=returned_objects,
        )  # fmt: skip
    base = rendered_base(base_key, base_build)
    legend = "<br>".join([legend_html, *base.legend_rows])
    feature_group, control = overlay_scripts(groups, legend)
    south_west, north_east = base.bounds
    defaults = {
        "bounds": {"_southWest": {"lat": south_west[0], "lng": south_west[1]}, "_northEast": {"lat": north_east[0], "lng": north_east[1]}},
        "zoom": base.zoom,
    }
    defaults = {k: defaults.get(k) for k in DEFAULT_KEYS if k in returned_objects}
    frame_key = base.frame_key(key)

    def on_change() -> None:
        st.session_state[key] = st.session_state.get(frame_key, {})

    return streamlit_folium._component_func(
        script=base.script,
        header=base.header,
        html=base.html,
        id=base.map_id,
        key=frame_key,
        height=height,
        width=None if use_container_width else 700,
        returned_objects=returned_objects,
        default=defaults,
        zoom=None,
        center=None,
        feature_group=feature_group,
        return_on_hover=False,
        layer_control=control,
        pixelated=False,
        css_links=list(base.css_links),
        js_links=list(base.js_links),
        on_change=on_change,
        wrap_longitude=False,
    )
