"""Small Leaflet scripts as folium elements: refit a hidden map when shown, an HTML legend in a
corner, map clicks held back while a Leaflet.draw tool is active, and a map that takes the
keyboard focus without scrolling the page.
"""

from __future__ import annotations

from branca.element import MacroElement
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
