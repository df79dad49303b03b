"""The areas of a batch run: polygons with a file-safe id, and their walking buffers."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np

from coverage.settings import SPEED_PRESETS
from layers.errors import EmptyLayerError, FieldError, GeometryError, InputError
from layers.projection import WGS84, require_crs

#: Id columns tried, in order, when ``--id-field`` is not given.
ID_FIELD_CANDIDATES = ("code", "id", "adcode", "name")
_UNSAFE = re.compile(r"[^\w.-]+", re.UNICODE)


def walk_limit_m(minutes: float, max_snap_m: float) -> float:
    """Buffer around an area in metres: the walk at the fastest W2 preset plus two snaps (W4).

    A person inside the area snaps at most ``max_snap_m`` to a street, walks at most
    ``minutes × 60 × fastest speed`` metres, and the facility snaps at most ``max_snap_m``: every
    street and facility that can take part in such a walk lies within this distance of the area.
    """
    return float(minutes) * 60.0 * max(SPEED_PRESETS.values()) + 2.0 * float(max_snap_m)


def safe_id(value: object) -> str:
    """A file-name-safe form of an area id (letters, digits, CJK, ``.-_``; others become ``_``)."""
    text = _UNSAFE.sub("_", str(value).strip()).strip("._")
    return text or "_"


def read_areas(path: str | Path, id_field: str | None = None, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read the area polygons; return ``area_id`` (file-safe, unique) and geometry in EPSG:4326.

    Raises
    ------
    InputError
        Missing file, no polygons, no id field, or two areas with the same id.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("the areas file does not exist", file=path, layer=layer)
    try:
        frame = gpd.read_file(path, layer=layer)
    except Exception as exc:  # noqa: BLE001 - GDAL errors of any kind, reported in one line
        raise InputError(f"cannot read the areas layer: {exc}", file=path, layer=layer) from None
    name = layer or "areas"
    if frame.empty:
        raise EmptyLayerError("the areas layer has no features", file=path, layer=name)
    require_crs(frame, file=path, layer=name)
    kinds = set(frame.geometry.geom_type.dropna())
    if not kinds or not kinds <= {"Polygon", "MultiPolygon"}:
        raise GeometryError(f"areas must be polygons, found {sorted(kinds)}", file=path, layer=name, field="geometry")
    if id_field is None:
        id_field = next((c for c in ID_FIELD_CANDIDATES if c in frame.columns), None)
    elif id_field not in frame.columns:
        raise FieldError(f"no id field '{id_field}'; columns: {list(frame.columns)}", file=path, layer=name, field=id_field)
    ids = (
        frame[id_field].map(safe_id) if id_field is not None else [f"area{i + 1}" for i in range(len(frame))]
    )
    out = gpd.GeoDataFrame({"area_id": list(ids)}, geometry=frame.geometry.to_crs(WGS84).values, crs=WGS84)
    if id_field is not None and frame[id_field].isna().any():
        raise FieldError("some areas have no id", file=path, layer=name, field=id_field)
    duplicated = out["area_id"][out["area_id"].duplicated()].unique()
    if len(duplicated):
        raise FieldError(
            f"area ids must be unique (as file names): {', '.join(map(str, duplicated[:5]))} repeat",
            file=path, layer=name, field=id_field or "area_id",
        )
    return out


def buffered(areas: gpd.GeoDataFrame, metres: float) -> gpd.GeoSeries:
    """Each area grown by ``metres`` (buffered in its UTM zone), in EPSG:4326."""
    metric = areas.estimate_utm_crs()
    return areas.geometry.to_crs(metric).buffer(float(metres)).to_crs(WGS84)


def area_of_points(points: gpd.GeoSeries, areas: gpd.GeoDataFrame) -> np.ndarray:
    """Index (position in ``areas``) of the area holding each point; -1 outside every area.

    A point on a shared border goes to the first area that holds it, so each person is counted
    in exactly one area.
    """
    owner = np.full(len(points), -1, dtype=np.int64)
    point_idx, area_idx = areas.sindex.query(points.values, predicate="intersects")
    order = np.lexsort((area_idx, point_idx))
    point_idx, area_idx = point_idx[order], area_idx[order]
    first = np.unique(point_idx, return_index=True)[1]
    owner[point_idx[first]] = area_idx[first]
    return owner
