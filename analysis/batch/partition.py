"""Read the big inputs once and cut them into one small part per area (GeoParquet).

Streets and facilities are kept where they meet the area's walking buffer
(:func:`analysis.batch.areas.walk_limit_m`), so people near a border reach facilities across it;
population units, districts and townships go to the one area that holds their representative
point, so nobody is counted twice. Population rasters are not cut here: each task reads its own
area's window (``rasterio`` windows through :func:`layers.population.read_population`).
Layout: ``DIR/partitions/<area_id>/{streets,facilities,population,districts,townships}.parquet``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis.batch.areas import area_of_points, buffered, walk_limit_m
from layers.facilities import read_facilities
from layers.network import read_network
from layers.population import read_population
from layers.projection import WGS84

RASTER_SUFFIXES = (".tif", ".tiff")


@dataclass(frozen=True)
class AreaPart:
    """What one area's task reads: its polygon, its part files, raster paths, a content key.

    Attributes
    ----------
    area_id : str
        File-safe id of the area.
    geometry_wkb : bytes
        The area polygon (EPSG:4326) as WKB.
    files : dict
        ``{"streets": path, "facilities": path, "population": path?, "districts": path?, ...}``.
    rasters : tuple of str
        Population GeoTIFFs, read by the task in the area's window only.
    key : str
        SHA-256 of the part's content (every part file's features and the polygon).
    outside_population : bool
        The area does not meet the extent of the population layer (vector population only): it
        lies outside the population data, which is an error, not an area without residents.
    population_source : str
        The population layer's file (named in that error).
    """

    area_id: str
    geometry_wkb: bytes
    files: dict[str, str]
    rasters: tuple[str, ...] = ()
    key: str = ""
    outside_population: bool = False
    population_source: str = ""


@dataclass
class Partition:
    """The parts of a batch and the seconds spent making them."""

    parts: list[AreaPart]
    seconds: float
    notes: list[str] = field(default_factory=list)


def frame_digest(frame: gpd.GeoDataFrame) -> str:
    """SHA-256 of a layer's attribute values and geometries (WKB), in row order."""
    digest = hashlib.sha256()
    attributes = frame.drop(columns=frame.geometry.name)
    digest.update(",".join(map(str, attributes.columns)).encode())
    if len(attributes.columns):
        digest.update(pd.util.hash_pandas_object(attributes.astype(str), index=False).to_numpy().tobytes())
    digest.update(b"".join(b"" if wkb is None else wkb for wkb in shapely.to_wkb(frame.geometry.values)))
    return digest.hexdigest()


def _by_buffer(frame: gpd.GeoDataFrame, buffers: gpd.GeoSeries) -> list[np.ndarray]:
    """Row positions of ``frame`` meeting each buffer (one spatial-index query for all areas)."""
    area_idx, row_idx = frame.sindex.query(buffers.values, predicate="intersects") if len(frame) else ([], [])
    area_idx, row_idx = np.asarray(area_idx, dtype=np.int64), np.asarray(row_idx, dtype=np.int64)
    order = np.lexsort((row_idx, area_idx))
    area_idx, row_idx = area_idx[order], row_idx[order]
    cuts = np.searchsorted(area_idx, np.arange(len(buffers) + 1))
    return [row_idx[cuts[i] : cuts[i + 1]] for i in range(len(buffers))]


def _by_owner(frame: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> list[np.ndarray]:
    """Row positions of ``frame`` whose representative point lies in each area (one area each)."""
    owner = area_of_points(frame.geometry.representative_point(), areas)
    return [np.flatnonzero(owner == i) for i in range(len(areas))]


def _read_layer(path: str | Path) -> gpd.GeoDataFrame:
    frame = gpd.read_file(path)
    return frame.to_crs(WGS84) if frame.crs is not None else frame


def partition_inputs(
    areas: gpd.GeoDataFrame,
    out_dir: str | Path,
    *,
    network: str | Path | None,
    facilities: str | Path | None,
    population: str | Path | Sequence[str | Path] | None,
    minutes: float,
    max_snap_m: float,
    facilities_crs: str | None = None,
    population_elderly: bool = False,
    elderly_share: float | None = None,
    districts: str | Path | None = None,
    townships: str | Path | None = None,
    network_noded: bool = False,
) -> Partition:
    """Read every input once and write one part per area under ``out_dir/partitions``.

    Parameters
    ----------
    areas : GeoDataFrame
        ``area_id`` and polygons in EPSG:4326 (:func:`analysis.batch.areas.read_areas`).
    minutes, max_snap_m : float
        Walk (minutes, W1) and snap limit (metres, W4) of the rule set: the buffer is
        :func:`walk_limit_m` metres.
    population : path(s), optional
        GeoTIFFs (left whole: tasks read windows), a vector layer, or ``None`` (the buildings of
        the network's ``.osm.pbf``).

    Returns
    -------
    Partition
        One :class:`AreaPart` per area, in the order of ``areas``.
    """
    start = time.perf_counter()
    root = Path(out_dir) / "partitions"
    buffers = buffered(areas, walk_limit_m(minutes, max_snap_m))
    streets = read_network(network, noded=network_noded).edges
    keep = [c for c in streets.columns if c not in ("u", "v")]
    streets = streets[keep]
    facility_frame = read_facilities(facilities, source_crs=facilities_crs)
    layers: dict[str, tuple[gpd.GeoDataFrame, list[np.ndarray]]] = {
        "streets": (streets, _by_buffer(streets, buffers)),
        "facilities": (facility_frame, _by_buffer(facility_frame, buffers)),
    }
    population_paths = [population] if isinstance(population, str | Path) else list(population or [])
    rasters = tuple(str(p) for p in population_paths if str(p).lower().endswith(RASTER_SUFFIXES))
    outside = np.zeros(len(areas), dtype=bool)
    population_source = ""
    if not rasters:
        share = {"elderly_share": elderly_share} if elderly_share is not None else {}
        if population_paths:
            people = read_population(population_paths[0], **share)
            population_source = str(population_paths[0])
        else:
            people = read_population(network, kind="buildings", **share)
            population_source = str(network or "the embedded extract")
        people = people[["population", "geometry"]]
        layers["population"] = (people, _by_owner(people, areas))
        # an area that does not meet the data's extent lies outside it (not "no residents")
        outside = ~shapely.intersects(areas.geometry.values, shapely.box(*people.total_bounds))
    for name, path in (("districts", districts), ("townships", townships)):
        if path is not None:
            frame = _read_layer(path)
            layers[name] = (frame, _by_owner(frame, areas))

    parts = []
    for i, (area_id, geometry) in enumerate(zip(areas["area_id"], areas.geometry, strict=True)):
        folder = root / area_id
        folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(geometry.wkb)
        files = {}
        for name, (frame, rows) in layers.items():
            piece = frame.iloc[rows[i]]
            path = folder / f"{name}.parquet"
            piece.to_parquet(path, index=False)
            files[name] = str(path)
            digest.update(f"{name}:{frame_digest(piece)}".encode())
        digest.update(f"outside:{bool(outside[i])}".encode())
        parts.append(AreaPart(area_id, geometry.wkb, files, rasters, digest.hexdigest(), bool(outside[i]), population_source))
    return Partition(parts, time.perf_counter() - start)
