"""The ONE place where a batch task calls the engine and the checks (adapter).

Everything else of :mod:`analysis.batch` works on part files and rows; this module turns an
area's part into library calls: the GeoParquet parts are read into frames and handed to
:func:`coverage.walk_coverage` in memory (no scratch files: the streets are already split at
their junctions by the partitioning), which walks them with the rule set's walk
(:func:`analysis.checks.walk_parameters`); :func:`analysis.checks.run_checks` checks that result
(the walk reused); :func:`coverage.pipeline.summary` and the :mod:`coverage.output` layer builders
make the numbers and layers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import rasterio
import shapely

from analysis.batch.partition import AreaPart
from analysis.checks import run_checks, walk_parameters
from coverage.output import (
    facilities_layer,
    network_layer,
    population_layer,
    service_area_layer,
)
from coverage.pipeline import summary
from coverage.walk import walk_coverage
from layers.defaults import DEFAULT_ELDERLY_SHARE
from layers.errors import CoordinateError, EmptyLayerError
from layers.population_raster import read_population_raster
from layers.projection import WGS84

#: ``note`` of an area where the population data holds nobody (lake, mountain, unbuilt land).
NO_RESIDENTS_NOTE = "no residents: the population data covers the area and counts 0 people in it"
#: ``note`` of an area whose raster cells are all nodata, read as 0 people (``--nodata-as-zero``).
NODATA_AS_ZERO_NOTE = (
    "no residents: every population raster cell of the area is nodata, read as 0 people (--nodata-as-zero)"
)
#: ``note`` of an area that reaches past the population rasters (``share``: 0-1 of its area).
OUTSIDE_RASTERS_NOTE = "{share:.0%} of the area lies outside the population rasters: nobody is counted there"
#: Share (0-1) of an area outside the rasters up to which no note is written (cells cut at the edge).
OUTSIDE_RASTERS_TOLERANCE = 0.01


@dataclass(frozen=True)
class AreaResult:
    """One area's numbers and layers.

    Attributes
    ----------
    circles : dict
        :func:`coverage.pipeline.summary` of the area (persons, shares 0-1, counts).
    rules : dict
        ``{"Q1": {"assessed", "passed", "failed", "not_assessable"}, ...}`` of the checks.
    layers : dict of GeoDataFrame
        ``service_areas``, ``population``, ``facilities``, ``network_edges`` (EPSG:4326); an area
        without residents: ``area`` and ``facilities``.
    note : str
        Why the numbers are special ("" when they are not): :data:`NO_RESIDENTS_NOTE`, or
        :data:`OUTSIDE_RASTERS_NOTE` when part of the area lies past the population rasters.
    """

    circles: dict
    rules: dict
    layers: dict[str, gpd.GeoDataFrame]
    note: str = ""


@contextmanager
def one_kernel_thread() -> Iterator[None]:
    """Run the engine's numba kernels on one thread in the calling (task) thread, then restore.

    A batch's parallelism is one area per Dask worker thread; the kernels' own thread pool
    (``prange``, one thread per core) would put 2 × cores threads on the cores with 2 workers and
    costs ~15 % more CPU per area even alone (thread start-up and joins on ~10⁴-node areas).
    ``numba.set_num_threads`` is local to the calling thread, so other threads keep their setting;
    the caller's own setting is restored afterwards (a task run in-process leaves none behind).
    """
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def area_polygon(part: AreaPart) -> shapely.Geometry:
    """The area's polygon (EPSG:4326)."""
    return shapely.from_wkb(part.geometry_wkb)


def _cell_size(path: str) -> float:
    """The larger side of a raster's cell, in its CRS units (degrees for EPSG:4326 rasters)."""
    with rasterio.open(path) as src:
        return float(max(abs(src.res[0]), abs(src.res[1])))


def share_outside_rasters(part: AreaPart) -> float:
    """Share (0-1) of the area's polygon outside the extent of every population raster of the part."""
    from rasterio.warp import transform_bounds

    polygon = area_polygon(part)
    extents = []
    for path in part.rasters:
        with rasterio.open(path) as src:
            bounds = transform_bounds(src.crs, WGS84, *src.bounds) if src.crs is not None else tuple(src.bounds)
        extents.append(shapely.box(*bounds))
    if not extents or polygon.area <= 0:
        return 0.0
    return max(0.0, 1.0 - shapely.intersection(polygon, shapely.union_all(extents)).area / polygon.area)


def outside_rasters_note(part: AreaPart) -> str:
    """:data:`OUTSIDE_RASTERS_NOTE` when more than the tolerance of the area lies past the rasters, else ""."""
    share = share_outside_rasters(part) if part.rasters else 0.0
    return OUTSIDE_RASTERS_NOTE.format(share=share) if share > OUTSIDE_RASTERS_TOLERANCE else ""


class RasterCells(NamedTuple):
    """An area's population cells and why they are special.

    Attributes
    ----------
    people : GeoDataFrame
        Cell points with more than 0 people (``population``, ``elderly_population`` in persons).
    note : str
        :data:`NODATA_AS_ZERO_NOTE` (with :data:`OUTSIDE_RASTERS_NOTE` when part of the area lies
        past the rasters) when every cell of the area is nodata read as 0 people, else "".
    """

    people: gpd.GeoDataFrame
    note: str = ""


def raster_population(
    part: AreaPart, *, elderly: bool, elderly_share: float | None = None, nodata_as_zero: bool = False
) -> RasterCells:
    """Population cells of the part's rasters inside the area, read in the area's window only.

    A window whose cells hold data but 0 people (a lake, a mountain) gives an empty frame: the
    area has no residents, a valid result. A window outside the rasters, or whose cells inside the
    area are all nodata, is an error naming the raster: the area lies outside the population data.
    With ``nodata_as_zero`` (``--nodata-as-zero``) an area whose cells are all nodata but which
    lies (partly) inside the rasters' extent has no residents too, with
    :data:`NODATA_AS_ZERO_NOTE`; an area wholly outside the extent is still an error.

    Returns
    -------
    RasterCells
        ``people``: cell points with more than 0 people, ``population`` and ``elderly_population``
        (persons) as :func:`layers.population_raster.read_population_raster` gives them (with
        ``elderly`` the cells are the people aged 60+ and ``population`` the estimate
        ``cells / elderly_share``), empty when the area has no residents; ``note``: see
        :class:`RasterCells`.

    Raises
    ------
    CoordinateError
        The area's window does not overlap the rasters (with ``nodata_as_zero``: the area does not
        overlap their extent).
    EmptyLayerError
        Every cell of the area is nodata (never with ``nodata_as_zero``).
    """
    polygon = area_polygon(part)
    pad = 2.0 * max(_cell_size(path) for path in part.rasters)  # cells whose centre is inside, at the edges too
    x0, y0, x1, y1 = polygon.bounds
    share = {"elderly_share": elderly_share} if elderly_share is not None else {}
    where = f"area {part.area_id} lies outside the population data"
    cells = None
    try:  # strict even with nodata_as_zero: the note tells nodata read as 0 from cells counting 0 people
        cells = read_population_raster(
            list(part.rasters), elderly=elderly, bounds=(x0 - pad, y0 - pad, x1 + pad, y1 + pad), keep_zero=True, **share
        )
    except CoordinateError as exc:
        raise CoordinateError(f"{where}: {exc.message}", file=exc.file, layer=exc.layer) from None
    except EmptyLayerError as exc:
        if not nodata_as_zero:
            raise EmptyLayerError(f"{where}: {exc.message}", file=exc.file, layer=exc.layer) from None
    if cells is not None:
        cells = cells.loc[shapely.intersects(polygon, cells.geometry.representative_point().values)]
    if cells is None or cells.empty:
        if not nodata_as_zero:
            msg = f"{where}: every cell of the rasters inside the area is nodata"
            raise EmptyLayerError(msg, file=part.rasters[0])
        return RasterCells(_no_cells(part, where), " ".join(filter(None, (NODATA_AS_ZERO_NOTE, outside_rasters_note(part)))))
    people = (cells["population"].to_numpy() > 0) | (cells["elderly_population"].to_numpy() > 0)
    return RasterCells(cells.loc[people, ["population", "elderly_population", "geometry"]])


def _no_cells(part: AreaPart, where: str) -> gpd.GeoDataFrame:
    """The empty population of an area whose cells are all nodata read as 0 people (``--nodata-as-zero``).

    Raises
    ------
    CoordinateError
        The area does not overlap the rasters' extent: nodata there is not a place where nobody lives.
    """
    if share_outside_rasters(part) >= 1.0 - 1e-9:
        msg = f"{where}: the area does not overlap the rasters' extent (--nodata-as-zero reads nodata as 0 only inside it)"
        raise CoordinateError(msg, file=part.rasters[0])
    empty = np.empty(0, dtype=np.float64)
    return gpd.GeoDataFrame(
        {"population": empty, "elderly_population": empty}, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84
    )


def _part_layer(part: AreaPart, what: str) -> gpd.GeoDataFrame:
    """One layer of the part (GeoParquet); an empty streets/facilities/population part is an error."""
    frame = gpd.read_parquet(part.files[what])
    if frame.empty:
        raise EmptyLayerError(f"area {part.area_id} has no {what} within its walking buffer", layer=what)
    return frame


def _part_population(part: AreaPart) -> gpd.GeoDataFrame:
    """The area's population units (vector part); empty when the area holds none.

    An area that does not meet the population layer's extent lies outside the data: an error
    naming the layer's file, not an area without residents.
    """
    if part.outside_population:
        msg = f"area {part.area_id} lies outside the population data (it does not meet the layer's extent)"
        raise EmptyLayerError(msg, file=part.population_source or None, layer="population")
    return gpd.read_parquet(part.files["population"])


def no_residents(part: AreaPart, note: str = NO_RESIDENTS_NOTE) -> AreaResult:
    """The result of an area whose population data counts nobody: population 0, shares undefined.

    ``note`` says why (:data:`NO_RESIDENTS_NOTE`; :data:`NODATA_AS_ZERO_NOTE` for nodata read as 0).

    No walk is run and no rule applies (no findings: the area's verdict is "not assessable"); the
    area's GeoPackage holds its polygon (layer ``area``, with the note) and the facilities within
    its walking buffer.
    """
    facilities = gpd.read_parquet(part.files["facilities"]) if "facilities" in part.files else None
    nan = float("nan")
    circles = {
        "total_population": 0.0,
        "elderly_population": 0.0,
        "covered_population": 0.0,
        "covered_elderly_population": 0.0,
        "covered_share": nan,
        "covered_share_by_speed": {},
        "facilities": 0 if facilities is None else len(facilities),
        "graph_nodes": 0,
    }
    area = gpd.GeoDataFrame({"area_id": [part.area_id], "note": [note]}, geometry=[area_polygon(part)], crs=WGS84)
    layers = {"area": area}
    if facilities is not None and len(facilities):
        layers["facilities"] = facilities.to_crs(WGS84)
    return AreaResult(circles, {}, layers, note)


def _with_elderly(people: gpd.GeoDataFrame, elderly_share: float | None) -> gpd.GeoDataFrame:
    """``elderly_population`` (persons) for a part holding totals only: ``population × share``.

    The same estimate :func:`layers.population.read_population` makes for a layer of totals, so
    the frame walks as the part's file would.
    """
    if "elderly_population" in people.columns:
        return people
    share = DEFAULT_ELDERLY_SHARE if elderly_share is None else float(elderly_share)
    return people.assign(elderly_population=people["population"].to_numpy(dtype=float) * share)


def run_area(
    part: AreaPart,
    *,
    rules: str,
    elderly_share: float | None,
    population_elderly: bool,
    population: gpd.GeoDataFrame | None = None,
    nodata_as_zero: bool = False,
    population_note: str = "",
) -> AreaResult:
    """Run the walk coverage and every check on one area's part.

    Parameters
    ----------
    part : AreaPart
        The area's part files (streets and facilities within the buffer; population, districts,
        townships of the area only).
    rules : str
        Rule set name or ``.toml`` path (walk minutes W1, speed W2, snap W4 come from it).
    elderly_share : float, optional
        Share (0-1) aged 60+ for population given as totals.
    population_elderly : bool
        The population rasters count people aged 60+.
    population : GeoDataFrame, optional
        The area's raster cells already read (:func:`raster_population`, its ``people``).
    nodata_as_zero : bool
        Nodata raster cells inside the rasters' extent are 0 people (``--nodata-as-zero``).
    population_note : str
        The note of the cells already read (:func:`raster_population`, its ``note``).

    An area whose population data counts nobody gives :func:`no_residents` (before the streets
    and facilities are needed: a lake has none); an area outside the population data raises.
    """
    if population is None and "population" in part.files:
        population = _part_population(part)
    if population is None:
        population, population_note = raster_population(
            part, elderly=population_elderly, elderly_share=elderly_share, nodata_as_zero=nodata_as_zero
        )
    if population.empty:
        return no_residents(part, population_note or NO_RESIDENTS_NOTE)
    streets = _part_layer(part, "streets")
    facilities = _part_layer(part, "facilities")
    people = _with_elderly(population, elderly_share).to_crs(WGS84)
    extra = {}
    for name in ("districts", "townships"):
        if name in part.files:
            frame = gpd.read_parquet(part.files[name])
            if len(frame):
                extra[name] = frame
    start = time.perf_counter()
    result = walk_coverage(
        streets, facilities, people, network_noded=part.streets_noded, elderly_share=elderly_share, **walk_parameters(rules)
    )
    run = run_checks(result, rules=rules, **extra)
    circles = summary(run.coverage, run.inputs, time.perf_counter() - start)
    layers = {
        "service_areas": service_area_layer(run.coverage),
        "population": population_layer(run.coverage),
        "facilities": facilities_layer(run.coverage),
        "network_edges": network_layer(run.coverage),
    }
    # people past the rasters' edge are not in the data: say so rather than count them silently as 0
    return AreaResult(circles, run.summary()["rules"], layers, note=outside_rasters_note(part))
