"""Read the big inputs once and cut them into one small part per area (GeoParquet).

Streets and facilities are kept where they meet the area's walking buffer
(:func:`analysis.batch.areas.walk_limit_m`), so people near a border reach facilities across it;
population units, districts and townships go to the one area that holds their representative
point, so nobody is counted twice. Population rasters are not cut here: each task reads its own
area's window (``rasterio`` windows through :func:`layers.population.read_population`).
Layout: ``DIR/partitions/<area_id>/{streets,facilities,population,districts,townships}.parquet``.

A street line layer (GeoPackage, GeoJSON, Shapefile, FlatGeobuf) is read once in Arrow batches of
:data:`STREET_BATCH_ROWS` lines (:func:`stream_street_parts`), so the driver holds one batch at a
time, not the province: each batch is filtered as :func:`layers.network.read_network` filters a
line layer, its lines are assigned to the buffers they meet and appended to the areas' scratch
pieces; each area's pieces are joined into its part at the end. The lines are not split at their
junctions here: each task splits its own part (``streets_noded`` of :class:`AreaPart`), which gives
the same walk inside the area (every junction within reach lies inside the buffer, where both of
its lines are in the part). OSM and GraphML files are read whole (:func:`layers.network.read_network`).
"""

from __future__ import annotations

import hashlib
import itertools
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis.batch.areas import area_of_points, buffered, walk_limit_m
from layers.database import is_database_uri
from layers.errors import EmptyLayerError, GeometryError, InputError, NetworkError
from layers.facilities import read_facilities
from layers.network import _check_lines, _finish, read_network
from layers.population import is_raster_file, read_population
from layers.projection import WGS84
from layers.vector import resolve_layer

#: Line layers read in batches (pyogrio Arrow); others (OSM, GraphML, zipped, PostGIS) whole.
STREAMED_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".fgb")
#: Lines per batch when a street layer is streamed (≈ 100-200 MB of driver memory per batch).
STREET_BATCH_ROWS = 200_000


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
    streets_noded : bool
        The task joins the part's streets only at shared vertices (``--network-noded``, or lines
        split by the partitioning); False: also at bare crossings (a streamed layer that is not
        noded: each task splits its own part).
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
    streets_noded: bool = True


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


def _streamable(network: str | Path | None) -> bool:
    """A street file read in batches: a line layer on disk (not OSM, GraphML, zipped or PostGIS)."""
    if network is None or is_database_uri(network):
        return False
    return str(network).lower().endswith(STREAMED_SUFFIXES) and Path(network).exists()


def _nothing_usable(exc: InputError) -> bool:
    """An error that says a batch holds no usable line (the whole layer may still hold some)."""
    return isinstance(exc, NetworkError | EmptyLayerError) or (
        isinstance(exc, GeometryError) and "every geometry is empty" in exc.message
    )


def _street_batch(batch, meta: dict, path: Path, layer: str, noded: bool) -> gpd.GeoDataFrame | None:  # noqa: ANN001
    """One Arrow batch of the street layer as walkable lines (EPSG:4326), or None when none is.

    The checks and filters of :func:`layers.network.read_network` on a line layer (CRS, line
    geometries, walkable ``highway`` values, lon/lat range, the same columns), without the
    splitting at junctions (placeholder end nodes; the tasks split their parts).
    """
    import pyarrow as pa

    table = pa.Table.from_batches([batch])
    names = table.column_names
    geometry_name = next(
        (n for n in (meta.get("geometry_name"), "wkb_geometry", "geometry") if n and n in names), names[-1]
    )
    geometry = shapely.from_wkb(table.column(geometry_name).to_numpy(zero_copy_only=False))
    attributes = table.drop_columns([geometry_name]).to_pandas()
    lines = gpd.GeoDataFrame(attributes, geometry=geometry, crs=meta.get("crs"))
    try:
        lines = _check_lines(lines, path, layer)
        lines["u"], lines["v"] = 0, 0  # placeholders: read_network's filters without its noding
        return _finish(lines, str(path), path, osm=False, noded=noded).edges.drop(columns=["u", "v"])
    except InputError as exc:
        if _nothing_usable(exc):
            return None
        raise


def stream_street_parts(
    network: str | Path, buffers: gpd.GeoSeries, scratch: Path, *, noded: bool, batch_rows: int | None = None
) -> list[list[Path]]:
    """Read a street line layer once, in batches of ``batch_rows`` lines (default
    :data:`STREET_BATCH_ROWS`), into scratch pieces per buffer.

    Returns
    -------
    list of list of Path
        Per buffer (area), the GeoParquet pieces holding its streets, in file order.

    Raises
    ------
    InputError
        As :func:`layers.network.read_network` for a line layer: unreadable file, no features,
        no walkable line, wrong geometry type, no CRS.
    """
    import pyogrio.raw

    path = Path(network)
    layer = resolve_layer(path, None, what="street network", option="--network-layer")
    tree = shapely.STRtree(buffers.values)
    pieces: list[list[Path]] = [[] for _ in range(len(buffers))]
    scratch.mkdir(parents=True, exist_ok=True)
    seen, kept = 0, 0
    with ExitStack() as stack:
        with _read_errors(path, layer):
            opened = pyogrio.raw.open_arrow(path, layer=layer, batch_size=batch_rows or STREET_BATCH_ROWS, use_pyarrow=True)
            meta, reader = stack.enter_context(opened)
        for number in itertools.count():
            with _read_errors(path, layer):
                batch = next(reader, None)
            if batch is None:
                break
            seen += batch.num_rows
            lines = _street_batch(batch, meta, path, layer, noded)
            if lines is None or lines.empty:
                continue
            kept += len(lines)
            row_idx, area_idx = tree.query(lines.geometry.values, predicate="intersects")
            order = np.lexsort((row_idx, area_idx))
            row_idx, area_idx = row_idx[order], area_idx[order]
            cuts = np.searchsorted(area_idx, np.arange(len(buffers) + 1))
            for i in np.flatnonzero(np.diff(cuts)):
                piece = scratch / f"{i}-{number}.parquet"
                lines.iloc[row_idx[cuts[i] : cuts[i + 1]]].to_parquet(piece, index=False)
                pieces[i].append(piece)
    if seen == 0:
        raise EmptyLayerError("the layer has no features", file=path, layer=layer)
    if kept == 0:
        msg = "no walkable ways: every way is missing, non-linear or closed to pedestrians"
        raise NetworkError(msg, file=path, layer="edges", field="highway")
    return pieces


@contextmanager
def _read_errors(path: Path, layer: str) -> Iterator[None]:
    """GDAL/pyogrio/Arrow errors while reading the street layer, as one line naming the file."""
    try:
        yield
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - errors of any kind from the reader, reported in one line
        raise InputError(f"cannot read the line layer: {exc}", file=path, layer=layer) from None


def _joined(pieces: list[Path], empty: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """An area's street pieces as one frame (``empty`` when it has none)."""
    if not pieces:
        return empty
    frames = [gpd.read_parquet(piece) for piece in pieces]
    return frames[0] if len(frames) == 1 else gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=WGS84)


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
    layers: dict[str, tuple[gpd.GeoDataFrame, list[np.ndarray]]] = {}
    street_pieces: list[list[Path]] | None = None
    scratch = root / ".streets-scratch"
    if _streamable(network):  # read in batches: the driver never holds the whole layer
        shutil.rmtree(scratch, ignore_errors=True)
        street_pieces = stream_street_parts(network, buffers, scratch, noded=network_noded)
    else:
        streets = read_network(network, noded=network_noded).edges
        streets = streets[[c for c in streets.columns if c not in ("u", "v")]]
        layers["streets"] = (streets, _by_buffer(streets, buffers))
    facility_frame = read_facilities(facilities, source_crs=facilities_crs)
    layers["facilities"] = (facility_frame, _by_buffer(facility_frame, buffers))
    population_paths = [population] if isinstance(population, str | Path) else list(population or [])
    rasters = tuple(str(p) for p in population_paths if is_raster_file(p))
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
    empty_streets = gpd.GeoDataFrame({"highway": [], "name": []}, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)
    for i, (area_id, geometry) in enumerate(zip(areas["area_id"], areas.geometry, strict=True)):
        folder = root / area_id
        folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(geometry.wkb)
        files = {}
        pieces = {name: frame.iloc[rows[i]] for name, (frame, rows) in layers.items()}
        if street_pieces is not None:
            pieces = {"streets": _joined(street_pieces[i], empty_streets), **pieces}
        for name, piece in pieces.items():
            path = folder / f"{name}.parquet"
            piece.to_parquet(path, index=False)
            files[name] = str(path)
            digest.update(f"{name}:{frame_digest(piece)}".encode())
        streets_noded = street_pieces is None or network_noded
        digest.update(f"outside:{bool(outside[i])}:noded:{streets_noded}".encode())
        parts.append(
            AreaPart(area_id, geometry.wkb, files, rasters, digest.hexdigest(), bool(outside[i]), population_source, streets_noded)
        )
    shutil.rmtree(scratch, ignore_errors=True)
    return Partition(parts, time.perf_counter() - start)
