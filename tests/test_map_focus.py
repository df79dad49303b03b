"""Every offline map takes the keyboard focus without scrolling the page (ui.map_controls.FocusWithoutScrolling).

Leaflet focuses the map container on each mouse-down; for a map frame partly below the fold the
browser then scrolled the page between press and release, and a click on a proposed-site marker
reached the map instead (no popup). The browser-level check is
``tests/test_app_browser_broken.py::test_every_map_draws_offline_without_a_console_error``.
"""

from __future__ import annotations

from ui.mapping import offline_map


def test_offline_map_focuses_its_container_with_prevent_scroll():
    html = offline_map((118.77, 32.05, 118.80, 32.08)).get_root().render()
    assert ".getContainer();" in html and "preventScroll: true" in html
    assert html.index("preventScroll: true") > html.index("L.map(")
