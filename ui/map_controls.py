"""Small Leaflet scripts as folium elements: refit a hidden map when shown, an HTML legend in a
corner, map clicks held back while a Leaflet.draw tool is active, and a map that takes the
keyboard focus without scrolling the page.
"""

from __future__ import annotations

from branca.element import MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template


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


class FocusWithoutScrolling(MacroElement):
    """Let the map take the keyboard focus without scrolling the page around it.

    On every mouse-down Leaflet's keyboard handler focuses the map container. When the map's frame
    is only partly on screen (a map below the fold, scrolled until a marker shows), the browser
    scrolls the *parent page* to bring the whole container into view, between the mouse-down and
    the mouse-up: the press lands on a marker, the release a few hundred pixels away, so the
    browser sends the ``click`` to the map instead of the marker (no popup; on the coverage map a
    what-if site at the wrong place). Focusing with ``preventScroll`` keeps the keyboard focus
    (arrow keys, +/-) and leaves the page where the planner put it.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var el = {{ this._parent.get_name() }}.getContainer();
            var focus = el.focus;
            el.focus = function (options) {
                return focus.call(this, Object.assign({}, options || {}, {preventScroll: true}));
            };
        })();
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "FocusWithoutScrolling"


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


class PlainPopup(MacroElement):
    """A popup bound to its parent layer with plain Leaflet (``bindPopup`` with an HTML string).

    ``folium.Popup`` builds its content with jQuery's ``$``, which the offline map does not load:
    the map's script then stops at ``$ is not defined`` and the map never draws. This one needs
    Leaflet only.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.bindPopup({{ this.html|tojson }}, {{ this.options|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, html: str, *, max_width: int = 300) -> None:
        super().__init__()
        self._name = "PlainPopup"
        self.html = html
        self.options = {"maxWidth": int(max_width)}


class TileErrorNotice(MacroElement):
    """A message in a map corner as soon as an online tile fails to load (no internet, bad key):
    the offline basemap stays drawn under the analysis layers."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var shown = false;
            function show() {
                if (shown) { return; }
                shown = true;
                var note = L.control({position: "bottomleft"});
                note.onAdd = function () {
                    var div = L.DomUtil.create("div", "circle-legend tile-offline-notice");
                    div.innerHTML = {{ this.message|tojson }};
                    return div;
                };
                note.addTo(map);
            }
            map.eachLayer(function (layer) { if (layer instanceof L.TileLayer) { layer.on("tileerror", show); } });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, message: str) -> None:
        super().__init__()
        self._name = "TileErrorNotice"
        self.message = message


class ExportPng(JSCSSMixin, MacroElement):
    """A "PNG" button (top left) that saves the map as shown, legend and scale included, as a PNG.

    Runs in the browser with html-to-image (vendored in ``ui/static``, loaded as a data URI by
    :func:`ui.map_assets.html_to_image_asset`): the map's own SVG and HTML are drawn onto a canvas,
    so nothing is fetched and no server round trip is needed. The zoom, drawing and layer buttons
    are left out of the picture. The download is named ``filename``.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var skip = ["leaflet-control-zoom", "leaflet-draw", "png-export", "leaflet-control-layers"];
            var Control = L.Control.extend({
                options: {position: "topleft"},
                onAdd: function () {
                    var div = L.DomUtil.create("div", "leaflet-bar png-export");
                    var button = L.DomUtil.create("a", "png-export-button", div);
                    button.href = "#";
                    button.title = {{ this.title|tojson }};
                    button.setAttribute("role", "button");
                    button.setAttribute("aria-label", {{ this.title|tojson }});
                    button.innerHTML = "PNG";
                    button.style.cssText = "width:auto;padding:0 6px;font:bold 11px/30px sans-serif;";
                    L.DomEvent.disableClickPropagation(div);
                    L.DomEvent.on(button, "click", function (event) {
                        L.DomEvent.preventDefault(event);
                        var box = map.getContainer();
                        window.htmlToImage.toPng(box, {
                            skipFonts: true,
                            pixelRatio: 1,
                            backgroundColor: "#f7f7f4",
                            filter: function (node) {
                                return !(node.classList && skip.some(function (c) { return node.classList.contains(c); }));
                            }
                        }).then(function (url) {
                            var link = document.createElement("a");
                            link.download = {{ this.filename|tojson }};
                            link.href = url;
                            document.body.appendChild(link);
                            link.click();
                            link.remove();
                            button.setAttribute("data-exported", String(url.length));
                        }).catch(function (error) {
                            button.title = {{ this.failed|tojson }} + " " + error;
                            button.setAttribute("data-export-error", String(error));
                        });
                    });
                    return div;
                }
            });
            new Control().addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, title: str, failed: str, filename: str = "map.png") -> None:
        super().__init__()
        self._name = "ExportPng"
        self.title = title
        self.failed = failed
        self.filename = filename


class Attribution(MacroElement):
    """A line in Leaflet's attribution corner (the data's licence: © OpenStreetMap contributors)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        if ({{ this._parent.get_name() }}.attributionControl) {
            {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
        }
        {% endmacro %}
        """
    )

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Attribution"
        self.text = text


class MetricScale(MacroElement):
    """Leaflet's scale bar in metres and kilometres only (no feet or miles)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false, metric: true}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "MetricScale"


class DrawTexts(MacroElement):
    """Leaflet.draw's toolbar and tooltip texts (``L.drawLocal``) in the page's language.

    ``texts`` is a nested dict merged into ``L.drawLocal`` before the draw control is built, so
    the control and its tooltips use them (Leaflet.draw reads ``L.drawLocal`` when it creates them).
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            if (typeof L === "undefined" || !L.drawLocal) { return; }
            var merge = function (target, source) {
                Object.keys(source).forEach(function (key) {
                    if (source[key] !== null && typeof source[key] === "object") {
                        target[key] = target[key] || {};
                        merge(target[key], source[key]);
                    } else {
                        target[key] = source[key];
                    }
                });
            };
            merge(L.drawLocal, {{ this.texts|tojson }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, texts: dict) -> None:
        super().__init__()
        self._name = "DrawTexts"
        self.texts = texts
