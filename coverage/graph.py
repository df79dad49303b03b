"""The walking graph: street edges as compact arrays and a sparse CSR matrix of lengths in metres."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy import sparse
from scipy.sparse import csgraph

from coverage.segment_grid import SegmentGrid
from coverage.settings import MIN_EDGE_LENGTH_M
from layers.errors import NetworkError
from layers.network import StreetNetwork
from layers.projection import local_metric_crs


@dataclass(eq=False)
class WalkGraph:
    """An undirected walking graph in a local metric CRS.

    Nodes are numbered ``0..n_nodes-1``; edge ``i`` runs from ``edge_u[i]`` to ``edge_v[i]`` along
    ``edge_geometry[i]`` (metres, in ``crs``) and is ``edge_length_m[i]`` metres long. No edge has
    length 0: the ends of a zero-length street segment are one node (:func:`contract_zero_length`),
    so nothing downstream (snapping, service areas, matrices) meets a degenerate line.

    Attributes
    ----------
    crs : pyproj.CRS
        The metric CRS (UTM zone of the data) of every coordinate here.
    node_osm_id : ndarray of int64
        The source network's node id of each node.
    edge_u, edge_v : ndarray of int64
        End nodes of each edge.
    edge_length_m : ndarray of float64
        Edge lengths in metres (measured on the geometry in ``crs``).
    edge_geometry : ndarray of shapely LineString
        Edge lines in ``crs``, running from ``edge_u`` to ``edge_v``.
    matrix : scipy.sparse.csr_array
        Symmetric ``n_nodes × n_nodes`` matrix of the shortest edge length between two nodes.
    component : ndarray of int64
        Connected piece of each node; ``0`` is the largest piece.
    """

    crs: CRS
    node_osm_id: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length_m: np.ndarray
    edge_geometry: np.ndarray
    matrix: sparse.csr_array
    component: np.ndarray
    edge_attributes: gpd.GeoDataFrame | None = field(default=None, repr=False)
    #: Held while a matrix from :meth:`with_seed_nodes` is in use (it shares one buffer).
    seed_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _seed_buffers: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def with_seed_nodes(self, node: np.ndarray, weight_m: np.ndarray) -> sparse.csr_array:
        """The CSR matrix plus one virtual node per seed, with one edge of ``weight_m`` metres to ``node``.

        The virtual nodes are numbered ``n_nodes ..`` and have outgoing edges only, so no path
        passes through them. The graph's arrays are copied once into a buffer with spare room;
        each call writes only the seeds (O(k), not O(edges)). The result shares that buffer:
        hold :attr:`seed_lock` until you are done with it.
        """
        base = self.matrix
        n, nnz, k = self.n_nodes, base.nnz, int(node.size)
        buffers = self._seed_buffers
        if buffers is None or buffers[0].size < nnz + k:
            spare = max(2 * k, 4096)
            data = np.empty(nnz + spare)
            indices = np.empty(nnz + spare, dtype=base.indices.dtype)
            indptr = np.empty(n + 1 + spare, dtype=base.indptr.dtype)
            data[:nnz], indices[:nnz], indptr[: n + 1] = base.data, base.indices, base.indptr
            buffers = self._seed_buffers = (data, indices, indptr)
        data, indices, indptr = buffers
        data[nnz : nnz + k] = weight_m
        indices[nnz : nnz + k] = node
        indptr[n + 1 : n + 1 + k] = nnz + np.arange(1, k + 1)
        return sparse.csr_array(
            (data[: nnz + k], indices[: nnz + k], indptr[: n + 1 + k]), shape=(n + k, n + k), copy=False
        )

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_osm_id.size)

    @property
    def n_edges(self) -> int:
        """Number of edges (street segments)."""
        return int(self.edge_u.size)

    @cached_property
    def edge_tree(self) -> shapely.STRtree:
        """Spatial index of the edge lines, for snapping points to the nearest street."""
        # small nodes make nearest-edge queries ~2x faster on street networks (benchmarks/)
        return shapely.STRtree(self.edge_geometry, node_capacity=4)

    def edge_ends(self, edge: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """End nodes ``u``, ``v`` and length (metres) of each listed edge (edge 0's for ``-1``)."""
        e = np.maximum(edge, 0)
        return self.edge_u[e], self.edge_v[e], self.edge_length_m[e]

    @cached_property
    def segment_grid(self) -> SegmentGrid:
        """Street pieces filed by grid cell: the index :func:`coverage.snapping.snap_points` uses."""
        return SegmentGrid.from_edges(self.edge_geometry, self.edge_u, self.edge_v, self.edge_length_m)

    @cached_property
    def component_sizes(self) -> np.ndarray:
        """Number of nodes in each connected piece (index = piece label)."""
        return np.bincount(self.component)

    @property
    def n_islands(self) -> int:
        """Connected pieces other than the largest one."""
        return int(self.component_sizes.size - 1)

    def edges_frame(self) -> gpd.GeoDataFrame:
        """Return the edges as a GeoDataFrame in the metric CRS (for output and display)."""
        frame = gpd.GeoDataFrame(
            {
                "u": self.node_osm_id[self.edge_u],
                "v": self.node_osm_id[self.edge_v],
                "length_m": self.edge_length_m,
                "component": self.component[self.edge_u],
            },
            geometry=self.edge_geometry,
            crs=self.crs,
        )
        if self.edge_attributes is not None:
            for column in ("highway", "name"):
                if column in self.edge_attributes.columns:
                    frame[column] = self.edge_attributes[column].to_numpy()
        return frame


def build_csr(n_nodes: int, u: np.ndarray, v: np.ndarray, length_m: np.ndarray) -> sparse.csr_array:
    """Return the symmetric CSR matrix of edge lengths, keeping the shortest of parallel edges.

    Self-loops are dropped; lengths below ``MIN_EDGE_LENGTH_M`` are raised to it so that a
    zero-length segment stays an edge (sparse matrices cannot hold an explicit zero reliably).
    """
    keep = u != v
    rows = np.concatenate([u[keep], v[keep]])
    cols = np.concatenate([v[keep], u[keep]])
    weights = np.maximum(np.concatenate([length_m[keep], length_m[keep]]), MIN_EDGE_LENGTH_M)
    # Sum-free deduplication: sort by (row, col, weight) and keep the first of each pair.
    order = np.lexsort((weights, cols, rows))
    rows, cols, weights = rows[order], cols[order], weights[order]
    first = np.ones(rows.size, dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    rows, cols, weights = rows[first], cols[first], weights[first]
    # int32 indices and indptr: scipy's Dijkstra would otherwise copy int64 arrays on every call
    index_type = np.int32 if rows.size < np.iinfo(np.int32).max else np.int64
    indptr = np.zeros(n_nodes + 1, dtype=index_type)
    np.cumsum(np.bincount(rows, minlength=n_nodes), out=indptr[1:])
    return sparse.csr_array((weights, cols.astype(index_type), indptr), shape=(n_nodes, n_nodes))


def _component_labels(matrix: sparse.csr_array) -> np.ndarray:
    """Label connected pieces so that ``0`` is the largest, then by decreasing size."""
    _, labels = csgraph.connected_components(matrix, directed=False)
    sizes = np.bincount(labels)
    rank = np.empty_like(sizes)
    rank[np.argsort(-sizes, kind="stable")] = np.arange(sizes.size)
    return rank[labels].astype(np.int64)


def contract_zero_length(u_ids: np.ndarray, v_ids: np.ndarray, zero: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """End node ids with the two ends of every zero-length edge made one node.

    Two distinct OSM nodes at the same position joined by a way, or a GIS line whose points
    coincide, give an edge of length 0 m: a walker at one end is at the other. Such ends are
    merged (transitively, through chains of zero-length edges) into the smallest id among them,
    so each zero-length edge becomes a self-loop the caller drops. Nodes merely at the same
    position but not joined by a zero-length edge (a bridge over a street) stay apart.

    Parameters
    ----------
    u_ids, v_ids : ndarray of int64
        Source node ids of the two ends of each edge.
    zero : ndarray of bool
        Whether each edge has zero length.

    Returns
    -------
    u_ids, v_ids : ndarray of int64
        The same with merged nodes renamed to their group's smallest id.
    """
    ids, inverse = np.unique(np.concatenate([u_ids, v_ids]), return_inverse=True)
    inverse = inverse.ravel()
    u, v = inverse[: u_ids.size], inverse[u_ids.size :]
    n = ids.size
    joins = sparse.csr_array((np.ones(int(zero.sum()), dtype=np.int8), (u[zero], v[zero])), shape=(n, n))
    _, group = csgraph.connected_components(joins, directed=False)
    # ids are sorted, so the first member of a group in that order holds its smallest id
    first = np.unique(group, return_index=True)[1]
    smallest = np.empty(first.size, dtype=np.int64)
    smallest[group[first]] = ids[first]
    renamed = smallest[group]
    return renamed[u], renamed[v]


def duplicate_edges(u: np.ndarray, v: np.ndarray, geometry: np.ndarray, n_nodes: int) -> np.ndarray:
    """Which edges repeat an earlier one: the same two end nodes and the same line, either way round.

    Two ways over the same nodes (a duplicated way, a footway drawn on a road) are one street:
    kept twice, a point equally near both would join whichever comes first in the file, and
    two points on the same spot of the street could only walk to each other through a junction.
    Only edges whose end pair repeats are compared (their WKB); a graph without repeated pairs
    costs one sort of an int64 key (30 ms for 2·10⁶ edges).

    Parameters
    ----------
    u, v : ndarray of int64
        End nodes (``0 .. n_nodes-1``) of each edge.
    geometry : ndarray of shapely LineString
    n_nodes : int

    Returns
    -------
    ndarray of bool
        ``True`` for every copy after the first.
    """
    copy = np.zeros(u.size, dtype=bool)
    key = np.minimum(u, v) * np.int64(n_nodes) + np.maximum(u, v)
    ordered = np.sort(key)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if repeated.size == 0:
        return copy
    rows = np.flatnonzero(np.isin(key, repeated))
    forward = shapely.to_wkb(geometry[rows])
    backward = shapely.to_wkb(shapely.reverse(geometry[rows]))
    keys = pd.DataFrame({"pair": key[rows], "line": np.minimum(forward, backward)})
    copy[rows] = keys.duplicated().to_numpy()
    return copy


def build_walk_graph(network: StreetNetwork | gpd.GeoDataFrame, crs: CRS | None = None) -> WalkGraph:
    """Build the walking graph from a street network.

    Parameters
    ----------
    network : StreetNetwork or GeoDataFrame
        Walkable edges with integer ``u``/``v`` columns and LineString geometry.
    crs : pyproj.CRS, optional
        Metric CRS to work in; by default the UTM zone of the network.

    Returns
    -------
    WalkGraph
    """
    edges = network.edges if isinstance(network, StreetNetwork) else network
    crs = crs or local_metric_crs(edges)
    edges = edges.to_crs(crs)
    geometry = edges.geometry.to_numpy()
    length_m = shapely.length(geometry).astype(np.float64)
    u_ids = edges["u"].to_numpy().astype(np.int64)
    v_ids = edges["v"].to_numpy().astype(np.int64)
    zero = length_m == 0.0
    if zero.any():  # coincident nodes joined by a way: one node, and no edge to segmentize
        if zero.all():
            source = network.source if isinstance(network, StreetNetwork) else None
            msg = "every street line has zero length (its points coincide): no street to walk"
            raise NetworkError(msg, file=source, layer="edges", field="geometry")
        u_ids, v_ids = contract_zero_length(u_ids, v_ids, zero)
        keep = ~zero
        edges, geometry, length_m, u_ids, v_ids = edges.loc[keep], geometry[keep], length_m[keep], u_ids[keep], v_ids[keep]
    ids, inverse = np.unique(np.concatenate([u_ids, v_ids]), return_inverse=True)
    inverse = inverse.ravel()
    n_edges = len(edges)
    u = inverse[:n_edges].astype(np.int64)
    v = inverse[n_edges:].astype(np.int64)
    copy = duplicate_edges(u, v, geometry, ids.size)
    if copy.any():  # the same street twice: points must not join one copy or the other by row order
        keep = ~copy
        edges, geometry, length_m, u, v = edges.loc[keep], geometry[keep], length_m[keep], u[keep], v[keep]
    matrix = build_csr(ids.size, u, v, length_m)
    return WalkGraph(
        crs=crs,
        node_osm_id=ids.astype(np.int64),
        edge_u=u,
        edge_v=v,
        edge_length_m=length_m,
        edge_geometry=geometry,
        matrix=matrix,
        component=_component_labels(matrix),
        edge_attributes=edges.drop(columns="geometry").reset_index(drop=True),
    )
