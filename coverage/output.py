"""Result layers in EPSG:4326 and writing them without ever leaving a half-written file."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage.circles import CoverageResult
from coverage.engine import distances_on_edges
from coverage.safe_write import write_file_atomically
from coverage.service_areas import service_areas
from layers.projection import WGS84


def _finite_or_nan(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, np.nan)


def _label_to_id(result: CoverageResult) -> pd.Series:
    return pd.Series(result.facilities["facility_id"].to_numpy(), index=result.labels)


def population_layer(result: CoverageResult) -> gpd.GeoDataFrame:
    """Population units with ``walk_distance_m``, ``walk_minutes``, ``walk_band``, ``nearest_facility``, ``covered``.

    Walking times are given up to :attr:`CoverageResult.reported_minutes` (at least twice the
    chosen minutes; NaN beyond); ``walk_band`` is never blank: ``within 15 min``, ``15-30 min``,
    ``beyond 30 min`` or ``off network``.
    """
    frame = result.population.copy()
    frame["walk_distance_m"] = _finite_or_nan(result.distance_m)
    frame["walk_minutes"] = _finite_or_nan(result.walk_minutes)
    frame["walk_band"] = pd.array(result.walk_band(), dtype="string")
    ids = _label_to_id(result)
    nearest = pd.Series(result.nearest_label)
    frame["nearest_facility"] = nearest.map(ids).where(nearest >= 0).astype("string").to_numpy()
    frame["covered"] = result.covered
    frame["on_network"] = result.population_snap.on_network
    frame["snap_distance_m"] = result.population_snap.access_m
    edge = result.population_snap.edge
    component = np.full(edge.size, -1, dtype=np.int64)
    component[edge >= 0] = result.graph.component[result.graph.edge_u[edge[edge >= 0]]]
    frame["network_component"] = component
    return frame.to_crs(WGS84)


def facilities_layer(result: CoverageResult) -> gpd.GeoDataFrame:
    """Facilities with snapping, ``population_served`` and ``elderly_served`` (persons, within the walk)."""
    frame = result.facilities.copy()
    frame["on_network"] = result.facility_snap.on_network
    frame["snap_distance_m"] = result.facility_snap.access_m
    served = result.served_by_facility()
    frame["population_served"] = served["population_served"].to_numpy()
    frame["elderly_served"] = served["elderly_served"].to_numpy()
    return frame.drop(columns=["facility_label"]).to_crs(WGS84)


def service_area_layer(result: CoverageResult) -> gpd.GeoDataFrame:
    """Street-following service areas (catchments within the walk), with the facility's id and name."""
    areas = service_areas(result)
    info = result.facilities.set_index("facility_label")[["facility_id", "name", "kind"]]
    areas = areas.join(info, on="facility_label")
    areas["minutes"] = result.minutes
    areas["speed_mps"] = result.speed_mps
    columns = ["facility_id", "name", "kind", "minutes", "speed_mps", "reached_street_m", "area_m2", "geometry"]
    return areas[columns].to_crs(WGS84)


def network_layer(result: CoverageResult) -> gpd.GeoDataFrame:
    """Street edges with their connected piece and walking minutes to the nearest facility at mid-edge."""
    graph = result.graph
    frame = graph.edges_frame()
    edge = np.arange(graph.n_edges)
    mid, _ = distances_on_edges(
        graph, edge, graph.edge_length_m / 2, result.nodes, result.facility_snap, result.labels
    )
    frame["walk_minutes"] = _finite_or_nan(mid / result.speed_mps / 60.0)
    return frame.to_crs(WGS84)


def write_layers(path: str | Path, layers: Mapping[str, gpd.GeoDataFrame]) -> Path:
    """Write layers to a new GeoPackage at ``path`` (no temporary, no lock: for staging folders)."""
    path = Path(path)
    for name, frame in layers.items():
        frame.to_file(path, layer=name, driver="GPKG", mode="a" if path.exists() else "w")
    return path


def write_geopackage(path: str | Path, layers: Mapping[str, gpd.GeoDataFrame], *, flag: str = "--out") -> Path:
    """Write layers to a GeoPackage through a temporary file renamed into place.

    An existing file at ``path`` is replaced only once every layer was written; on failure or
    Ctrl-C the temporary file is removed and ``path`` is left as it was. Concurrent writers of the
    same ``path`` take turns; temporaries of killed runs are removed (see :mod:`coverage.safe_write`).

    Raises
    ------
    coverage.safe_write.OutputPathError
        ``path`` is a folder or lies under a file (exit status 2 on the command line).
    coverage.safe_write.WriteError
        Permission denied, disk full, I/O error (exit status 1 on the command line).
    """
    return write_file_atomically(path, lambda tmp: write_layers(tmp, layers), flag=flag)
