"""Shortest walking distances: one bounded multi-source Dijkstra pass over the CSR graph.

Facilities join the graph in the middle of an edge (see :mod:`coverage.snapping`), so each one
seeds the search at both ends of its edge with the distance already walked (access leg plus the
part of the edge). scipy's Dijkstra starts every source at zero, so each seed becomes a virtual
node with a single outgoing edge of that length; with ``min_only=True`` one pass returns, for every
node, the distance to the nearest facility and which seed (hence which facility) it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.sparse import csgraph

from coverage.graph import WalkGraph
from coverage.kernels import seed_labels, walk_to_positions
from coverage.settings import MIN_EDGE_LENGTH_M
from coverage.snapping import SnappedPoints

#: Smallest seed offset (metres): a seed edge of length 0 could be dropped as "no edge" by scipy.
SEED_FLOOR_M: float = MIN_EDGE_LENGTH_M * 1e-3


@dataclass(frozen=True, eq=False)
class NodeDistances:
    """Walking distance from every node to its nearest facility.

    Attributes
    ----------
    distance_m : ndarray of float64
        Metres to the nearest facility; ``inf`` beyond ``limit_m`` or unreachable.
    labels : ndarray of int64, optional
        Label of that facility per node, ``-1`` where ``distance_m`` is ``inf``; or ``None`` when
        the labels are kept as scipy's per-node source (``seed_source``, the virtual seed node
        ``n + s``) and ``seed_label`` (label of seed ``s``), turned into :attr:`facility` only
        when asked for: the walk to the population reads them directly (one pass over 10⁶ nodes
        and 8 MB saved per query).
    limit_m : float
        The search stopped at this distance (metres).
    """

    distance_m: np.ndarray
    labels: np.ndarray | None
    limit_m: float
    seed_source: np.ndarray | None = None
    seed_label: np.ndarray | None = None

    @cached_property
    def facility(self) -> np.ndarray:
        """Label of the nearest facility of each node (int64), ``-1`` where none is in reach."""
        if self.labels is not None:
            return self.labels
        return seed_labels(self.seed_source, self.distance_m.size, self.seed_label)

    def label_lookup(self) -> tuple[np.ndarray, int, np.ndarray]:
        """``(source, offset, table)``: a reached node's label is ``table[source[node] - offset]``.

        With labels given per node this is ``(labels, 0, [])`` read directly (``offset == 0`` and
        an empty table mean "the source is the label").
        """
        if self.labels is not None:
            return self.labels, 0, np.empty(0, dtype=np.int64)
        return self.seed_source, self.distance_m.size, self.seed_label


@dataclass(frozen=True)
class Seeds:
    """Starting points of a search: a node, the metres already walked to it, and a facility label."""

    node: np.ndarray
    offset_m: np.ndarray
    label: np.ndarray


def facility_seeds(graph: WalkGraph, snapped: SnappedPoints, labels: np.ndarray) -> Seeds:
    """Return two seeds per on-network facility: the ``u`` and ``v`` ends of its edge.

    Parameters
    ----------
    graph : WalkGraph
    snapped : SnappedPoints
        The facilities' joining points.
    labels : ndarray of int64
        The facility label of each snapped point (usually its row number).
    """
    on = snapped.on_network
    edge = snapped.edge[on]
    along = snapped.offset_m[on]
    access = snapped.access_m[on]
    length = graph.edge_length_m[edge]
    node = np.concatenate([graph.edge_u[edge], graph.edge_v[edge]])
    offset = np.concatenate([access + along, access + (length - along)])
    label = np.concatenate([labels[on], labels[on]]).astype(np.int64)
    return Seeds(node=node, offset_m=offset, label=label)


def multi_source_distances(graph: WalkGraph, seeds: Seeds, limit_m: float) -> NodeDistances:
    """Run one bounded multi-source Dijkstra pass from the seeds.

    Parameters
    ----------
    graph : WalkGraph
    seeds : Seeds
        Where the search starts and the metres already walked there.
    limit_m : float
        Stop at this distance (metres); nodes farther away get ``inf``.

    Returns
    -------
    NodeDistances
    """
    n = graph.n_nodes
    if seeds.node.size == 0:
        return NodeDistances(np.full(n, np.inf), np.full(n, -1, dtype=np.int64), float(limit_m))
    offsets = np.maximum(seeds.offset_m, SEED_FLOOR_M)
    with graph.seed_lock:
        augmented = graph.with_seed_nodes(seeds.node, offsets)
        distance, _, source = csgraph.dijkstra(
            augmented,
            directed=True,
            indices=np.arange(n, n + seeds.node.size),
            limit=float(limit_m) + SEED_FLOOR_M,  # a seed's floor must not push a node past the limit
            min_only=True,
            return_predecessors=True,
        )
    seed_label = np.ascontiguousarray(seeds.label, dtype=np.int64)
    return NodeDistances(distance[:n], None, float(limit_m), seed_source=source, seed_label=seed_label)


def distances_on_edges(
    graph: WalkGraph,
    edge: np.ndarray,
    position_m: np.ndarray,
    nodes: NodeDistances,
    facilities: SnappedPoints,
    facility_labels: np.ndarray,
    ends: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Walking distance from the nearest facility to positions on edges (metres, and its label).

    A position is reached through either end of its edge, or directly along the edge from a
    facility that joins the same edge. Positions with ``edge == -1`` get ``inf`` and ``-1``.

    Parameters
    ----------
    graph : WalkGraph
    edge : ndarray of int64
        Edge index of each position (``-1`` for none).
    position_m : ndarray of float64
        Metres from the edge's ``u`` end.
    nodes : NodeDistances
        Result of :func:`multi_source_distances` for the same facilities.
    facilities, facility_labels :
        The facilities' joining points and labels (for the same-edge shortcut).
    ends : (u, v, length_m), optional
        End nodes and length of each position's edge, if already at hand
        (:meth:`SnappedPoints.edge_ends`); gathered from the graph otherwise.

    Returns
    -------
    distance_m, facility : ndarray, ndarray
    """
    edge = np.ascontiguousarray(edge, dtype=np.int64)
    end_u, end_v, length_m = graph.edge_ends(edge) if ends is None else ends
    on = facilities.on_network
    by_edge = np.argsort(facilities.edge[on], kind="stable")
    return walk_to_positions(
        edge,
        np.ascontiguousarray(position_m, dtype=np.float64),
        end_u,
        end_v,
        length_m,
        nodes.distance_m,
        *nodes.label_lookup(),
        facilities.edge[on][by_edge],
        facilities.offset_m[on][by_edge],
        facilities.access_m[on][by_edge],
        np.asarray(facility_labels, dtype=np.int64)[on][by_edge],
    )


def single_source_distances(graph: WalkGraph, seeds: Seeds, limit_m: float) -> np.ndarray:
    """Distances (metres) from one new facility's seeds, bounded: for the what-if update.

    Runs scipy's Dijkstra from each seed node on the base graph (no augmentation), then adds
    the seed's offset. Returns ``inf`` beyond ``limit_m``.
    """
    # the matrix is symmetric: directed=True gives the same distances without scipy transposing it
    rows = csgraph.dijkstra(graph.matrix, directed=True, indices=seeds.node, limit=float(limit_m))
    rows = np.atleast_2d(rows) + seeds.offset_m[:, None]
    best = rows.min(axis=0)
    best[best > limit_m] = np.inf
    return best
