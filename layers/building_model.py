"""The building model: floor area lived in per footprint, from storeys and the building type.

``residents = footprint area (m²) × storeys × residential share / floor area per person (m²)``;
the storeys come from a storeys column, else a height (m) divided by the storey height, else a
default; the residential share comes from the OSM ``building=*`` value
(:data:`layers.defaults.DEFAULT_RESIDENTIAL_SHARE`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.defaults import DEFAULT_RESIDENTIAL_SHARE
from layers.errors import FieldError
from layers.population_common import (
    BUILDING_TAG_FIELD,
    HEIGHT_FIELD_NAMES,
    STOREYS_FIELD_NAMES,
    _matching_columns,
    _resolve_named_field,
)

_UNKNOWN_BUILDING_TAG = "yes"
_NUMBER_PATTERN = r"([-+]?\d+(?:\.\d+)?)"


def _storeys(
    footprints: gpd.GeoDataFrame,
    storeys_field: str | None,
    default_storeys: float,
    storey_height_m: float,
    *,
    file: Path | None,
    layer: str | None,
) -> np.ndarray:
    """Return storeys per building: the storeys column, else height / storey height, else default."""
    if storeys_field is not None:
        storeys_field = _resolve_named_field(footprints, storeys_field, file=file, layer=layer)
        columns = [storeys_field]
    else:
        columns = _matching_columns(footprints, STOREYS_FIELD_NAMES)
    storeys = pd.Series(np.nan, index=footprints.index)
    for column in columns:  # a handful of columns at most, each handled as a whole
        storeys = storeys.fillna(_numbers_in(footprints[column], file=file, layer=layer, field=column))
    for column in _matching_columns(footprints, HEIGHT_FIELD_NAMES):
        height_m = _numbers_in(footprints[column], file=file, layer=layer, field=column)
        from_height = np.maximum(np.round(height_m / storey_height_m), 1.0).where(height_m > 0)
        storeys = storeys.fillna(from_height)
    return storeys.fillna(default_storeys).to_numpy(dtype=np.float64)


def _numbers_in(values: pd.Series, *, file: Path | None, layer: str | None, field: str) -> pd.Series:
    """Return the first number in each value (float64), NaN where none or negative."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype("float64")
    else:
        text = values.astype("string")
        numbers = pd.to_numeric(text.str.extract(_NUMBER_PATTERN, expand=False), errors="coerce").astype("float64")
        if values.notna().any() and numbers.isna().all():
            examples = ", ".join(repr(value) for value in values.dropna().astype(str).unique()[:3])
            msg = f"the column holds no numbers (e.g. {examples})"
            raise FieldError(msg, file=file, layer=layer, field=field)
    return numbers.where(np.isfinite(numbers) & (numbers >= 0))


def _residential_share_table(overrides: Mapping[str, float] | None) -> dict[str, float]:
    """Return :data:`DEFAULT_RESIDENTIAL_SHARE` updated with ``overrides`` (keys lower-cased)."""
    table = {key.casefold(): float(value) for key, value in DEFAULT_RESIDENTIAL_SHARE.items()}
    for key, value in (overrides or {}).items():
        table[str(key).strip().casefold()] = float(value)
    bad = {key: value for key, value in table.items() if not 0.0 <= value <= 1.0}
    if bad:
        raise ValueError(f"residential shares must be between 0 and 1, got {bad}")
    return table


def _residential_shares(footprints: gpd.GeoDataFrame, table: Mapping[str, float]) -> np.ndarray:
    """Return the lived-in share of each building from its ``building`` tag (1.0 without the column)."""
    columns = _matching_columns(footprints, (BUILDING_TAG_FIELD,))
    if not columns:
        return np.ones(len(footprints), dtype=np.float64)
    tags = footprints[columns[0]].astype("string").str.strip().str.casefold()
    shares = tags.map(table).astype("float64")
    return shares.fillna(table[_UNKNOWN_BUILDING_TAG]).to_numpy(dtype=np.float64)
