"""Map images of the filed report: Chinese titles and legends, streets as basemap, scale bar, north arrow, sources.

Maps are drawn with matplotlib in a metric projection (the UTM zone of the map), so the scale bar
is true in metres. Chinese text needs a CJK font: :func:`cjk_font` registers the system's Noto CJK
(Debian ``fonts-noto-cjk``), WenQuanYi or another CJK font with matplotlib even when its font cache
predates the font; without one the map falls back to the English title and legend words, so no
glyph is ever drawn as a box.
"""

from __future__ import annotations

import io
import re
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.projection import local_metric_crs

#: Font family names tried in order (the first installed one is used).
CJK_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
    "Droid Sans Fallback", "SimHei", "Microsoft YaHei", "Noto Serif CJK SC",
)
_CJK_FILE = re.compile(r"(cjk|wqy|wenquanyi|droidsansfallback|simhei|msyh|sourcehan)", re.IGNORECASE)

#: Category labels of a map legend: verdicts and flags in Chinese and English.
CATEGORY_LABELS: dict[object, tuple[str, str]] = {
    "pass": ("通过", "pass"),
    "fail": ("未通过", "not passed"),
    "not_assessable": ("无法评估", "not assessable"),
    True: ("通过", "pass"),
    False: ("未通过", "not passed"),
}
CATEGORY_COLOURS: dict[str, str] = {"通过": "#2e7d32", "未通过": "#c62828", "无法评估": "#9e9e9e",
                                    "pass": "#2e7d32", "not passed": "#c62828", "not assessable": "#9e9e9e"}

#: Printed map size: fits an A4 page's text width (inches) at print resolution (dots per inch).
FIGSIZE_IN: tuple[float, float] = (7.0, 6.4)
DPI: int = 150


@dataclass
class MapSpec:
    """One map of the report.

    Attributes
    ----------
    title : str
        Chinese title drawn on the map (``一刻钟步行覆盖``).
    title_en : str
        English title, printed under the map and drawn instead of ``title`` without a CJK font.
    layers : list of (GeoDataFrame, dict)
        Layers drawn in order. Style keys are those of ``GeoDataFrame.plot`` plus ``label`` (legend
        entry, ``"中文 English"``), ``column`` (colour by a column: verdicts and flags as
        通过/未通过/无法评估, numbers with a colour bar) and ``legend_title``.
    """

    title: str
    title_en: str = ""
    layers: list[tuple[gpd.GeoDataFrame, dict]] = field(default_factory=list)


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The family name of an installed CJK font, registered with matplotlib; None when there is none."""
    from matplotlib import font_manager

    paths = [p for p in font_manager.findSystemFonts() if _CJK_FILE.search(p)]
    try:  # fontconfig knows fonts outside matplotlib's search folders
        listed = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=20, check=False).stdout
        paths += [line.split(":")[0].strip() for line in listed.splitlines() if line.strip()]
    except (OSError, subprocess.SubprocessError):
        pass
    known = {f.fname for f in font_manager.fontManager.ttflist}
    for path in dict.fromkeys(paths):
        if path not in known:
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in names), None)


def _text(zh: str, en: str, chinese: bool) -> str:
    return zh if chinese else en


def _scale_bar(ax, chinese: bool) -> None:
    """A scale bar of a round length (metres) in the lower left corner (axes are metres)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    width = x1 - x0
    target = width / 5
    exponent = 10 ** np.floor(np.log10(target))
    length = max(m * exponent for m in (1, 2, 5) if m * exponent <= target)
    left, bottom = x0 + width * 0.04, y0 + (y1 - y0) * 0.04
    height = (y1 - y0) * 0.012
    ax.add_patch(__import__("matplotlib.patches", fromlist=["Rectangle"]).Rectangle(
        (left, bottom), length, height, facecolor="black", edgecolor="black", zorder=10))
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(left + length / 2, bottom + height * 1.8, f"{label}" + (" 比例尺" if chinese else ""),
            ha="center", va="bottom", fontsize=8, zorder=10,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 1})


def _north_arrow(ax, chinese: bool) -> None:
    """A north arrow in the upper right corner (the UTM grid is drawn north up)."""
    ax.annotate(
        "北 N" if chinese else "N", xy=(0.94, 0.95), xytext=(0.94, 0.83), xycoords="axes fraction",
        ha="center", va="center", fontsize=10, fontweight="bold", zorder=10,
        arrowprops={"facecolor": "black", "width": 4, "headwidth": 11, "headlength": 10},
    )


def _categories(values: pd.Series, chinese: bool) -> pd.Series:
    """Verdict and flag values as legend words (通过/未通过/无法评估); other values as text."""
    def word(v: object) -> str:
        key = bool(v) if isinstance(v, bool | np.bool_) else v
        if key in CATEGORY_LABELS:
            zh, en = CATEGORY_LABELS[key]
            return zh if chinese else en
        return "无法评估" if chinese and (v is None or pd.isna(v)) else str(v)
    return values.map(word)


def _draw_layer(ax, frame: gpd.GeoDataFrame, style: dict, chinese: bool, handles: list) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    style = dict(style)
    label = style.pop("label", None)
    column = style.pop("column", None)
    legend_title = style.pop("legend_title", None)
    cmap = style.pop("cmap", "viridis")
    geom = frame.geometry.geom_type.iloc[0] if len(frame) else "Point"
    marker_kw = {"marker": style.get("marker", "o")} if "Point" in geom else {}

    def handle(colour: str, text: str):
        if "Point" in geom:
            return Line2D([], [], linestyle="", color=colour, markersize=7, label=text, **marker_kw)
        if "Line" in geom:
            return Line2D([], [], color=colour, linewidth=1.5, label=text)
        return Patch(facecolor=colour, edgecolor=style.get("edgecolor", colour), alpha=style.get("alpha", 1.0), label=text)

    if column is None or column not in frame.columns:
        frame.plot(ax=ax, **style)
        if label:
            handles.append(handle(style.get("color", "#555555"), _label(label, chinese)))
        return
    values = frame[column]
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric:
        finite = values.replace([np.inf, -np.inf], np.nan)
        plotted = frame.assign(_value=finite)
        plotted.plot(ax=ax, column="_value", cmap=cmap, legend=True,
                     legend_kwds={"label": _label(legend_title or label or column, chinese), "shrink": 0.6},
                     missing_kwds={"color": "#dddddd"}, **style)
        return
    words = _categories(values, chinese)
    prefix = _label(label, chinese) + ": " if label else ""
    for text in sorted(words.unique(), key=lambda w: list(CATEGORY_COLOURS).index(w) if w in CATEGORY_COLOURS else 99):
        colour = CATEGORY_COLOURS.get(text, "#1565c0")
        frame.loc[(words == text).to_numpy()].plot(ax=ax, color=colour, **style)
        handles.append(handle(colour, prefix + text))


def _label(text: str, chinese: bool) -> str:
    """``"街道 streets"`` → ``"街道 streets"`` with a CJK font, ``"streets"`` without (ASCII words only)."""
    if chinese:
        return text
    ascii_words = " ".join(w for w in text.split() if w.isascii())
    return ascii_words or text.encode("ascii", "ignore").decode() or "layer"


def map_png(spec: MapSpec, sources: list[str] | None = None) -> bytes:
    """The map as PNG bytes: title, legend, scale bar, north arrow and the data sources under it."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    family = cjk_font()
    chinese = family is not None
    frames = [(f, s) for f, s in spec.layers if f is not None and len(f)]
    crs = None
    for frame, _ in frames:
        if frame.crs is not None:
            crs = local_metric_crs(frame.to_crs(4326))  # PROJ's database asked once per UTM zone, not per map
            break
    rc = {"font.family": [family, "DejaVu Sans"] if family else ["DejaVu Sans"], "axes.unicode_minus": False}
    with plt.rc_context(rc), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Legend does not support handles.*")
        fig, ax = plt.subplots(figsize=FIGSIZE_IN, dpi=DPI)
        handles: list = []
        for frame, style in frames:
            drawn = frame.to_crs(crs) if crs is not None and frame.crs is not None else frame
            _draw_layer(ax, drawn, style, chinese, handles)
        ax.set_aspect("equal")
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_color("#999999")
        title = spec.title if chinese else (spec.title_en or spec.title)
        ax.set_title(title, fontsize=12)
        if frames:
            _scale_bar(ax, chinese)
            _north_arrow(ax, chinese)
        if handles:
            ax.legend(handles=handles, loc="upper left", fontsize=7, framealpha=0.85,
                      title="图例" if chinese else "Legend", title_fontsize=8)
        if sources:
            text = ("数据来源 Sources: " if chinese else "Sources: ") + " · ".join(sources)
            fig.text(0.01, 0.005, _wrap(text if chinese else text.encode("ascii", "replace").decode(), 120),
                     fontsize=6, va="bottom", ha="left", color="#333333")
        fig.tight_layout(rect=(0, 0.05 if sources else 0, 1, 1))
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        plt.close(fig)
    return buffer.getvalue()


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width=width))
