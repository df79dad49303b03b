"""Online map tiles under the maps, only when the planner switches them on (default: off).

The maps never request a tile by default: the offline basemap (:mod:`ui.basemap`) is drawn from
the loaded extract. With the sidebar switch on, the browser loads OpenStreetMap tiles or
天地图 (Tianditu) tiles with the planner's own key (``tk``; kept in the session's memory only).
天地图 uses CGCS2000, which matches WGS84 at map scale, so it lines up with the OSM layers (no
GCJ-02 shift). When tiles fail to load (no internet, a refused key), the map says so in a corner
and the offline basemap stays.
"""

from __future__ import annotations

from dataclasses import dataclass

import folium

from ui.map_controls import TileErrorNotice

#: Provider id → label (translated on the page).
TILE_PROVIDERS: dict[str, str] = {
    "osm": "OpenStreetMap",
    "tianditu_vec": "天地图 Tianditu (map, needs a key)",
    "tianditu_img": "天地图 Tianditu (imagery, needs a key)",
}
_TIANDITU = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
    "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)
TIANDITU_ATTRIBUTION = "© 天地图 Tianditu (National Platform for Common GeoSpatial Information Services)"


@dataclass(frozen=True)
class TileSource:
    """An online tile provider chosen by the planner.

    Attributes
    ----------
    provider : {"osm", "tianditu_vec", "tianditu_img"}
    key : str
        The planner's 天地图 key (``tk``); unused for OpenStreetMap.
    """

    provider: str = "osm"
    key: str = ""

    def __post_init__(self) -> None:
        if self.provider not in TILE_PROVIDERS:
            msg = f"unknown tile provider {self.provider!r}; choose one of {', '.join(TILE_PROVIDERS)}"
            raise ValueError(msg)
        if self.provider.startswith("tianditu") and not self.key.strip():
            raise ValueError("天地图 tiles need a key (tk): enter it, or choose OpenStreetMap")

    def add_to(self, fmap: folium.Map, message: str) -> None:
        """Add the provider's tile layer(s) under everything, and ``message`` on any tile error."""
        if self.provider == "osm":
            folium.TileLayer("OpenStreetMap", name="OpenStreetMap", control=True).add_to(fmap)
        else:
            base, notes = ("vec", "cva") if self.provider == "tianditu_vec" else ("img", "cia")
            key = self.key.strip()
            for layer, overlay in ((base, False), (notes, True)):
                folium.TileLayer(
                    tiles=_TIANDITU.format(layer=layer, key=key, s="{s}"),
                    attr=TIANDITU_ATTRIBUTION,
                    name=f"天地图 {layer}",
                    subdomains="01234567",
                    max_zoom=18,
                    overlay=overlay,
                    control=True,
                ).add_to(fmap)
        TileErrorNotice(message).add_to(fmap)


def as_tile_source(tiles: bool | TileSource | None) -> TileSource | None:
    """``True`` means OpenStreetMap (the earlier switch); ``False``/``None``: offline, no tiles."""
    if isinstance(tiles, TileSource):
        return tiles
    return TileSource("osm") if tiles else None


def tile_sidebar(sidebar, t, session) -> TileSource | None:
    """The sidebar switch for online tiles (default off) and, when on, the provider and 天地图 key.

    Returns the chosen :class:`TileSource`, or ``None`` (offline; also when a 天地图 key is missing,
    with a warning saying so).
    """
    on = sidebar.checkbox(t("Online map tiles under the maps (needs internet)"), value=False, key="show_tiles")
    if not on:
        return None
    provider = sidebar.selectbox(t("Tile provider"), list(TILE_PROVIDERS), format_func=lambda k: t(TILE_PROVIDERS[k]), key="tile_provider")
    key = ""
    if provider.startswith("tianditu"):
        key = sidebar.text_input(
            t("天地图 key (tk)"),
            type="password",
            key="tianditu_key",
            help=t("Your own key from the 天地图 developer console; kept in this session's memory only."),
        )
        if not key.strip():
            sidebar.warning(t("Enter a 天地图 key to load its tiles; the offline basemap is shown meanwhile."))
            return None
    sidebar.caption(t("The browser loads the tiles from the provider; without internet the map says so and the offline basemap stays."))
    return TileSource(provider, key)
