"""15-minute elderly-service circles (W1): who reaches a facility on foot, and which one.

:func:`compute_coverage` snaps facilities and population to the walking graph, runs one bounded
multi-source pass and gives each population unit its walking minutes to the nearest facility.
The pass is bounded by the distance the *fastest* speed preset covers, so the covered share for
every preset (W2) comes from the same pass, and goes at least to ``REPORTED_WALK_FACTOR`` (2) ×
the chosen walk, so the uncovered get their walking time too. :class:`CoverageResult` can add or
remove one facility and update itself with a local search instead of a full recompute (the what-if).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage.engine import (
    NodeDistances,
    Seeds,
    distances_on_edges,
    facility_seeds,
    multi_source_distances,
    single_source_distances,
)
from coverage.graph import WalkGraph
from coverage.settings import (
    DEFAULT_MAX_SNAP_M,
    DEFAULT_MINUTES,
    REPORTED_WALK_FACTOR,
    SPEED_PRESETS,
    resolve_speed,
)
from coverage.snapping import SnappedPoints, snap_points, snap_points_while
from layers.defaults import SIDE_BY_SIDE_MIN_NODES


def unit_points(geometry: gpd.GeoSeries) -> np.ndarray:
    """One point per unit: the point itself, or a point inside a polygon (metric CRS)."""
    geoms = geometry.to_numpy()
    is_point = shapely.get_type_id(geoms) == 0
    if is_point.all():
        return geoms
    out = geoms.copy()
    out[~is_point] = shapely.point_on_surface(geoms[~is_point])
    return out


def population_distances(
    graph: WalkGraph,
    population_snap: SnappedPoints,
    nodes: NodeDistances,
    facility_snap: SnappedPoints,
    labels: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Walking metres (access leg included) and nearest facility label for each population unit.

    Distances beyond the search limit are ``inf``: past it the stored node distances are not exact.
    """
    distance, nearest = distances_on_edges(
        graph, population_snap.edge, population_snap.offset_m, nodes, facility_snap, labels,
        ends=population_snap.edge_ends(graph),
    )
    distance = distance + np.nan_to_num(population_snap.access_m, nan=np.inf)
    beyond = ~(distance <= nodes.limit_m)
    distance[beyond] = np.inf
    nearest[beyond] = -1
    return distance, nearest


@dataclass(frozen=True)
class CoverageResult:
    """Walking access from population units to their nearest facility.

    Attributes
    ----------
    graph : WalkGraph
    facilities : GeoDataFrame
        Facilities in the graph's metric CRS, with a ``facility_label`` column (stable ids).
    population : GeoDataFrame
        Population units in the metric CRS with ``population`` and ``elderly_population`` (persons).
    minutes : float
        Length of the circle in minutes (W1).
    speed_mps : float
        Walking speed in metres per second (W2).
    limit_m : float
        Distance the search went to (metres): the larger of minutes × the fastest speed considered
        and ``REPORTED_WALK_FACTOR`` × minutes × the chosen speed. Distances are exact up to it.
    facility_snap, population_snap : SnappedPoints
    nodes : NodeDistances
    distance_m : ndarray
        Walking metres from each population unit to its nearest facility (``inf``: none in reach).
    nearest_label : ndarray of int64
        ``facility_label`` of that facility, ``-1`` if none.
    max_snap_m : float
        Off-network limit the points were snapped with, metres (W4).
    inputs : coverage.pipeline.Inputs or None
        The loaded layers (EPSG:4326), their sources and notes, set by
        :func:`coverage.walk_coverage`: later jobs (:func:`analysis.run_checks`,
        :func:`analysis.propose_sites`) use them instead of reading the files again. Kept by the
        what-if methods (``facilities`` then holds the what-if sites, ``inputs.facilities`` not).
    """

    graph: WalkGraph
    facilities: gpd.GeoDataFrame
    population: gpd.GeoDataFrame
    minutes: float
    speed_mps: float
    limit_m: float
    facility_snap: SnappedPoints
    population_snap: SnappedPoints
    nodes: NodeDistances
    distance_m: np.ndarray
    nearest_label: np.ndarray
    max_snap_m: float = DEFAULT_MAX_SNAP_M
    inputs: Any = field(default=None, repr=False, compare=False)

    # ----- derived values -------------------------------------------------------------------
    @property
    def reach_m(self) -> float:
        """Metres walked in ``minutes`` at ``speed_mps``."""
        return self.minutes * 60.0 * self.speed_mps

    @property
    def walk_minutes(self) -> np.ndarray:
        """Minutes from each population unit to its nearest facility (``inf`` beyond the search)."""
        return self.distance_m / self.speed_mps / 60.0

    @property
    def reported_minutes(self) -> float:
        """Walking minutes up to which times are reported (at least 2 × ``minutes``)."""
        return self.limit_m / self.speed_mps / 60.0

    def walk_band(self) -> np.ndarray:
        """Text band of each unit's walk, never blank (object array of str).

        ``"within M min"`` (covered, W1), ``"M-N min"`` (a time is reported),
        ``"beyond N min"`` (on the network but no facility within N minutes, or none reachable),
        ``"off network"`` (farther than the snapping limit from every street, W4);
        ``M`` = :attr:`minutes`, ``N`` = :attr:`reported_minutes`.
        """
        m, n = f"{round(self.minutes, 1):g}", f"{round(self.reported_minutes, 1):g}"
        band = np.full(self.distance_m.size, f"beyond {n} min", dtype=object)
        band[np.isfinite(self.distance_m)] = f"{m}-{n} min"
        band[self.covered] = f"within {m} min"
        band[~self.population_snap.on_network] = "off network"
        return band

    def within_reported(self, factor: float = REPORTED_WALK_FACTOR) -> np.ndarray:
        """Whether each unit reaches a facility within ``factor`` × the chosen walk."""
        return self.distance_m <= factor * self.reach_m

    @property
    def covered(self) -> np.ndarray:
        """Whether each population unit is within the walk (W1)."""
        return self.distance_m <= self.reach_m

    @property
    def labels(self) -> np.ndarray:
        """``facility_label`` of each facility row."""
        return self.facilities["facility_label"].to_numpy(dtype=np.int64)

    def covered_share(self, speed_mps: float | None = None, *, elderly: bool = False) -> float:
        """Share (0-1) of population (or elderly population) within the walk at a speed in m/s."""
        speed = self.speed_mps if speed_mps is None else speed_mps
        weights = self.population["elderly_population" if elderly else "population"].to_numpy(dtype=float)
        total = weights.sum()
        if total <= 0:
            return float("nan")
        return float(weights[self.distance_m <= self.minutes * 60.0 * speed].sum() / total)

    def covered_share_by_preset(self, *, elderly: bool = False) -> dict[str, float]:
        """Covered share for every walking-speed preset of W2, plus the chosen speed."""
        shares = {name: self.covered_share(speed, elderly=elderly) for name, speed in SPEED_PRESETS.items()}
        shares["chosen"] = self.covered_share(elderly=elderly)
        return shares

    def served_by_facility(self) -> pd.DataFrame:
        """Population and elderly population within the walk whose nearest facility is each one."""
        covered = self.covered
        frame = pd.DataFrame(
            {
                "facility_label": self.nearest_label[covered],
                "population_served": self.population["population"].to_numpy(dtype=float)[covered],
                "elderly_served": self.population["elderly_population"].to_numpy(dtype=float)[covered],
            }
        )
        served = frame.groupby("facility_label").sum()
        return served.reindex(self.labels, fill_value=0.0)

    # ----- what-if ---------------------------------------------------------------------------
    def _population_distances(
        self, nodes: NodeDistances, facilities: SnappedPoints, labels: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        return population_distances(self.graph, self.population_snap, nodes, facilities, labels)

    def with_facility_added(self, point: shapely.Point, attributes: dict | None = None) -> CoverageResult:
        """Return the result with one more facility at ``point`` (metric CRS), updated locally.

        One bounded Dijkstra from the new site's edge ends is merged with the stored distances;
        the rest of the graph is not searched again.
        """
        snapped = snap_points(self.graph, np.array([point], dtype=object), self._max_snap_m)
        if not snapped.on_network[0]:
            msg = f"the new site is more than {self._max_snap_m:.0f} m from any walkable street"
            raise ValueError(msg)
        label = int(self.labels.max() + 1) if len(self.facilities) else 0
        seeds = facility_seeds(self.graph, snapped, np.array([label]))
        new = single_source_distances(self.graph, seeds, self.limit_m)
        better = new < self.nodes.distance_m
        distance = np.where(better, new, self.nodes.distance_m)
        facility = np.where(better, label, self.nodes.facility)
        nodes = NodeDistances(distance, facility, self.limit_m)
        row = {"facility_label": label, "geometry": point, **(attributes or {})}
        facilities = pd.concat(
            [self.facilities, gpd.GeoDataFrame([row], geometry="geometry", crs=self.facilities.crs)],
            ignore_index=True,
        )
        facility_snap = SnappedPoints.concat([self.facility_snap, snapped])
        labels = facilities["facility_label"].to_numpy(dtype=np.int64)
        dist, nearest = self._population_distances(nodes, facility_snap, labels)
        return replace(
            self,
            facilities=facilities,
            facility_snap=facility_snap,
            nodes=nodes,
            distance_m=dist,
            nearest_label=nearest,
        )

    def with_facility_removed(self, label: int) -> CoverageResult:
        """Return the result without the facility ``label``, updated locally.

        Only nodes it was nearest to are searched again, from the nodes around them that keep
        their facility and from other facilities' seeds inside that area.
        """
        labels = self.labels
        if label not in set(labels.tolist()):
            raise KeyError(f"no facility with label {label}")
        keep = labels != label
        facility_snap = self.facility_snap.subset(keep)
        kept_labels = labels[keep]
        affected = self.nodes.facility == label
        distance = np.where(affected, np.inf, self.nodes.distance_m)
        facility = np.where(affected, -1, self.nodes.facility)
        # Boundary: unaffected reached nodes with an edge into the affected area.
        matrix = self.graph.matrix.tocoo()
        cross = affected[matrix.row] & ~affected[matrix.col] & np.isfinite(distance[matrix.col])
        boundary = np.unique(matrix.col[cross])
        own = facility_seeds(self.graph, facility_snap, kept_labels)
        inside = affected[own.node]
        seeds = Seeds(
            node=np.concatenate([boundary, own.node[inside]]),
            offset_m=np.concatenate([distance[boundary], own.offset_m[inside]]),
            label=np.concatenate([facility[boundary], own.label[inside]]),
        )
        local = multi_source_distances(self.graph, seeds, self.limit_m)
        better = local.distance_m < distance
        nodes = NodeDistances(
            np.where(better, local.distance_m, distance), np.where(better, local.facility, facility), self.limit_m
        )
        dist, nearest = self._population_distances(nodes, facility_snap, kept_labels)
        return replace(
            self,
            facilities=self.facilities.loc[keep].reset_index(drop=True),
            facility_snap=facility_snap,
            nodes=nodes,
            distance_m=dist,
            nearest_label=nearest,
        )

    @property
    def _max_snap_m(self) -> float:
        return float(self.facilities.attrs.get("max_snap_m", DEFAULT_MAX_SNAP_M))


def _in_crs(frame: gpd.GeoDataFrame, graph: WalkGraph) -> gpd.GeoDataFrame:
    """``frame`` in the graph's CRS, without a transform when it is there already."""
    return frame if frame.crs is not None and frame.crs == graph.crs else frame.to_crs(graph.crs)


def _numbered(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` with rows numbered 0..n-1 (copied only when they are not: the result is read-only)."""
    index = frame.index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return frame
    return frame.reset_index(drop=True)


def search_limit_m(minutes: float, speed_mps: float) -> float:
    """Metres the Dijkstra pass goes to: every speed preset's circle (W2), and at least
    ``REPORTED_WALK_FACTOR`` × the chosen walk (one larger pass is faster than a second pass
    from the frontier: ``benchmarks/README.md``)."""
    circle = minutes * 60.0 * max(speed_mps, *SPEED_PRESETS.values())
    return float(max(circle, REPORTED_WALK_FACTOR * minutes * 60.0 * speed_mps))


def compute_coverage(
    graph: WalkGraph,
    facilities: gpd.GeoDataFrame,
    population: gpd.GeoDataFrame,
    *,
    minutes: float = DEFAULT_MINUTES,
    speed: float | str | None = None,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    population_snap: SnappedPoints | None = None,
) -> CoverageResult:
    """Compute walking minutes from every population unit to its nearest facility.

    On graphs of at least :data:`SIDE_BY_SIDE_MIN_NODES` nodes the population is snapped on a
    worker thread while the Dijkstra pass runs on this one.

    Parameters
    ----------
    graph : WalkGraph
        The walking graph (metric CRS).
    facilities : GeoDataFrame
        Facility points, any CRS (transformed to the graph's).
    population : GeoDataFrame
        Population units (points or polygons) with ``population`` and ``elderly_population``
        columns in persons, any CRS.
    minutes : float
        Length of the service circle in minutes (W1, default 15).
    speed : float or str, optional
        Walking speed in m/s or a preset name (W2; default ``"elderly"``, 0.8 m/s).
    max_snap_m : float
        Points farther than this from a walkable street (metres) are off-network (W4).
    population_snap : SnappedPoints, optional
        Cached snapping of the same population to the same graph (skips the spatial query).

    Returns
    -------
    CoverageResult
    """
    if minutes <= 0:
        raise ValueError(f"minutes must be positive, got {minutes}")
    speed_mps = resolve_speed(speed)
    limit_m = search_limit_m(minutes, speed_mps)
    facilities = _numbered(_in_crs(facilities, graph))
    if "facility_label" not in facilities.columns:
        facilities = facilities.assign(facility_label=np.arange(len(facilities), dtype=np.int64))
    else:
        facilities = facilities.copy(deep=False)  # attrs below must not reach the caller's frame
    facilities.attrs["max_snap_m"] = max_snap_m
    population = _numbered(_in_crs(population, graph))
    facility_snap = snap_points(graph, facilities.geometry.to_numpy(), max_snap_m)
    labels = facilities["facility_label"].to_numpy(dtype=np.int64)
    seeds = facility_seeds(graph, facility_snap, labels)
    def search() -> NodeDistances:
        return multi_source_distances(graph, seeds, limit_m)

    if population_snap is None and graph.n_nodes >= SIDE_BY_SIDE_MIN_NODES:
        # the population's snapping and the Dijkstra pass are independent: run them side by side
        population_snap, nodes = snap_points_while(graph, population.geometry.to_numpy(), max_snap_m, search)
    else:
        if population_snap is None:
            population_snap = snap_points(graph, population.geometry.to_numpy(), max_snap_m)
        nodes = search()
    distance, nearest = population_distances(graph, population_snap, nodes, facility_snap, labels)
    return CoverageResult(
        graph=graph,
        facilities=facilities,
        population=population,
        minutes=float(minutes),
        speed_mps=speed_mps,
        limit_m=float(limit_m),
        facility_snap=facility_snap,
        population_snap=population_snap,
        nodes=nodes,
        distance_m=distance,
        nearest_label=nearest,
        max_snap_m=float(max_snap_m),
    )
