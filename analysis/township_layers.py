"""Township (乡镇/街道) and community (社区/村) layers: reading them and normalising their columns.

:func:`read_townships` and :func:`normalise_townships` give ``township`` (name), ``rural_town``
(bool, for T6) and the polygons in EPSG:4326; :func:`read_communities` and
:func:`normalise_communities` give ``community`` (name), ``population`` (persons, NaN if absent) and
the polygons. Names are found among the column aliases below. Rural towns (T6) are townships whose
name ends in 镇 or 乡, or whose ``level`` column says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from analysis.polygon_layers import count_column, normalise_polygon_layer, read_vector_layer, unique_names
from layers.columns import find_column
from layers.errors import FieldError

PathLike = str | Path

#: Column names (case-insensitive) of a township's name; the first present wins.
TOWNSHIP_NAME_ALIASES: tuple[str, ...] = (
    "township",
    "name",
    "名称",
    "乡镇",
    "街道",
    "乡镇街道",
    "乡镇名称",
    "街道名称",
    "乡镇（街道）",
    "town",
    "street",
)

#: Column names (case-insensitive) that say whether a township is a rural town or an urban street.
TOWNSHIP_LEVEL_ALIASES: tuple[str, ...] = ("level", "类型", "级别", "type")

#: Name endings (and level words) of rural towns (镇, 乡), for T6.
RURAL_TOWN_SUFFIXES: tuple[str, ...] = ("镇", "乡")
RURAL_TOWN_WORDS: tuple[str, ...] = ("镇", "乡", "town", "rural", "township")

#: Column names (case-insensitive) of a community's name and population.
COMMUNITY_NAME_ALIASES: tuple[str, ...] = ("community", "name", "名称", "社区", "社区名称", "村", "村名", "居委会")
COMMUNITY_POPULATION_ALIASES: tuple[str, ...] = (
    "population",
    "人口",
    "常住人口",
    "居民",
    "residents",
    "户籍人口",
    "pop",
)


def is_rural(names: Sequence[str], levels: pd.Series | None) -> np.ndarray:
    """Rural towns: the level column names a town, else the name ends in 镇/乡."""
    rural = np.array([str(n).endswith(RURAL_TOWN_SUFFIXES) for n in names], dtype=bool)
    if levels is not None:
        text = levels.astype("string").str.strip().str.lower()
        known = text.notna() & (text.fillna("") != "")
        word = text.fillna("").apply(lambda v: any(w in v for w in RURAL_TOWN_WORDS) and "街道" not in v)
        rural = np.where(known.to_numpy(), word.to_numpy(dtype=bool), rural)
    return rural


def normalise_townships(
    frame: gpd.GeoDataFrame,
    *,
    name_field: str | None = None,
    file: PathLike | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Validate a township layer and return ``township``, ``rural_town`` and the polygons (EPSG:4326).

    Parameters
    ----------
    frame : GeoDataFrame
        Township/street polygons in any declared CRS.
    name_field : str, optional
        Column with the township name; default: found among :data:`TOWNSHIP_NAME_ALIASES`.
    file, layer : optional
        Where it came from, for the messages.

    Raises
    ------
    FieldError
        No name column (or ``name_field`` is not a column).
    InputError
        See :func:`analysis.polygon_layers.normalise_polygon_layer`.
    """
    layer_name = layer or "townships"
    frame = normalise_polygon_layer(frame, file=file, layer=layer_name, what="township")
    notes = list(frame.attrs.get("notes", []))
    columns = [c for c in frame.columns if c != frame.geometry.name]
    if name_field is not None:
        if name_field not in frame.columns:
            raise FieldError(f"no such column; columns are {columns}", file=file, layer=layer_name, field=name_field)
        name_col = name_field
    else:
        name_col = find_column(columns, TOWNSHIP_NAME_ALIASES)
    if name_col is None:
        msg = (
            f"no township name column (one of {', '.join(TOWNSHIP_NAME_ALIASES)}); columns are {columns}: rename "
            "the name column, or name it with --township-field (name_field=)"
        )
        raise FieldError(msg, file=file, layer=layer_name, field="name")
    names, name_notes = unique_names(frame[name_col].tolist(), prefix="township")
    notes += [n for n in name_notes if n not in notes]
    level_col = find_column(columns, TOWNSHIP_LEVEL_ALIASES)
    if "rural_town" in frame.columns:
        rural = frame["rural_town"].fillna(False).astype(bool).to_numpy()
    else:
        rural = is_rural(names, frame[level_col] if level_col else None)
    out = gpd.GeoDataFrame({"township": names, "rural_town": rural}, geometry=frame.geometry.to_numpy(), crs=frame.crs)
    out.attrs["notes"] = notes
    out.attrs["source"] = str(file) if file is not None else frame.attrs.get("source", "")
    return out


def read_townships(path: PathLike, *, layer: str | None = None, name_field: str | None = None) -> gpd.GeoDataFrame:
    """Read township/street polygons (乡镇/街道) with their names, in EPSG:4326.

    Parameters
    ----------
    path : str or Path
        GeoPackage, GeoJSON, Shapefile, zipped Shapefile or FlatGeobuf of polygons.
    layer : str, optional
        Layer to read; needed only when the file holds several.
    name_field : str, optional
        Column with the name; default: ``name``/``名称``/``乡镇``/``街道``/``township`` ...

    Returns
    -------
    GeoDataFrame
        ``township`` (str), ``rural_town`` (bool, for T6) and polygon ``geometry`` in EPSG:4326.

    Raises
    ------
    InputError
        Missing or unreadable file; :class:`MissingCRSError`, :class:`EmptyLayerError`,
        :class:`GeometryError` (non-polygon, empty or invalid), :class:`FieldError` (no name).
    """
    frame, file, layer_name = read_vector_layer(path, layer=layer, what="township", option="--townships-layer")
    return normalise_townships(frame, name_field=name_field, file=file, layer=layer_name)


def normalise_communities(
    frame: gpd.GeoDataFrame,
    *,
    name_field: str | None = None,
    population_field: str | None = None,
    file: PathLike | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Validate a community (社区/村) layer: ``community``, ``population`` (persons, NaN if absent), polygons.

    Raises
    ------
    FieldError
        ``name_field``/``population_field`` not a column, non-numeric or negative populations.
    InputError
        See :func:`analysis.polygon_layers.normalise_polygon_layer`.
    """
    layer_name = layer or "communities"
    frame = normalise_polygon_layer(frame, file=file, layer=layer_name, what="community")
    columns = [c for c in frame.columns if c != frame.geometry.name]
    for given in (name_field, population_field):
        if given is not None and given not in frame.columns:
            raise FieldError(f"no such column; columns are {columns}", file=file, layer=layer_name, field=given)
    name_col = name_field or find_column(columns, COMMUNITY_NAME_ALIASES)
    names, notes = unique_names(frame[name_col].tolist() if name_col else [None] * len(frame), prefix="community")
    population_col = population_field or find_column(columns, COMMUNITY_POPULATION_ALIASES)
    population = (
        count_column(frame, population_col, file=file, layer=layer_name, what="population").to_numpy()
        if population_col
        else np.full(len(frame), np.nan)
    )
    out = gpd.GeoDataFrame(
        {"community": names, "population": population}, geometry=frame.geometry.to_numpy(), crs=frame.crs
    )
    out.attrs["notes"] = list(frame.attrs.get("notes", [])) + notes
    return out


def read_communities(
    path: PathLike, *, layer: str | None = None, name_field: str | None = None, population_field: str | None = None
) -> gpd.GeoDataFrame:
    """Read community (社区/村) polygons with their population (persons), in EPSG:4326."""
    frame, file, layer_name = read_vector_layer(path, layer=layer, what="community", option="--communities-layer")
    return normalise_communities(
        frame, name_field=name_field, population_field=population_field, file=file, layer=layer_name
    )
