"""Leaflet and Leaflet.draw from ``ui/static`` as data URIs, so the map loads nothing from a CDN.

The CSS's images are inlined too; each pair is read once per process.
"""

from __future__ import annotations

import base64
import functools
import re
from pathlib import Path

LEAFLET_DIR = Path(__file__).resolve().parent / "static" / "leaflet-1.9.3"
LEAFLET_DRAW_DIR = Path(__file__).resolve().parent / "static" / "leaflet-draw-1.0.4"


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


HTML_TO_IMAGE_DIR = Path(__file__).resolve().parent / "static" / "html-to-image-1.11.13"


@functools.cache
def html_to_image_asset() -> str:
    """html-to-image (MIT, vendored from npm ``html-to-image@1.11.13``) as a data URI: the map's
    PNG export runs in the browser with nothing fetched."""
    return _data_uri("text/javascript", (HTML_TO_IMAGE_DIR / "html-to-image.js").read_bytes())
