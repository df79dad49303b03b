"""Walking-distance matrices between two sets of snapped points, bounded by a distance limit.

Used where every pair matters, not only the nearest facility: capacity-aware accessibility (2SFCA)
and site selection (MCLP, LSCP, p-median). Sites are searched in chunks (one bounded Dijkstra per
distinct edge end, on the CSR graph) so memory stays at ``chunk × n_nodes`` floats, and only pairs
within the limit are kept, as a sparse matrix.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from coverage.graph import WalkGraph
from coverage.snapping import SnappedPoints
from layers.defaults import CHUNK_FLOATS


def walking_distance_matrix(
    graph: WalkGraph,
    demand: SnappedPoints,
    sites: SnappedPoints,
    limit_m: float,
) -> sparse.csr_array:
    """Walking metres from every demand point to every site, for pairs within ``limit_m``.

    Parameters
    ----------
    graph : WalkGraph
    demand : SnappedPoints
        Demand points (population units) snapped to the graph; off-network rows stay empty.
    sites : SnappedPoints
        Facilities or candidate sites; off-network columns stay empty.
    limit_m : float
        Pairs farther apart than this (metres, access legs included) are left out.

    Returns
    -------
    scipy.sparse.csr_array
        ``len(demand) × len(sites)``; stored entries are distances in metres (a pair at exactly
        0 m is stored as 1e-9 m so that it stays an entry).
    """
    n_demand, n_sites = len(demand), len(sites)
    on_demand = np.flatnonzero(demand.on_network)
    on_sites = np.flatnonzero(sites.on_network)
    if on_demand.size == 0 or on_sites.size == 0:
        return sparse.csr_array((n_demand, n_sites))
    d_edge = demand.edge[on_demand]
    d_u, d_v = graph.edge_u[d_edge], graph.edge_v[d_edge]
    d_to_u = demand.offset_m[on_demand] + demand.access_m[on_demand]
    d_to_v = graph.edge_length_m[d_edge] - demand.offset_m[on_demand] + demand.access_m[on_demand]

    chunk = max(1, CHUNK_FLOATS // max(graph.n_nodes, on_demand.size, 1) // 2)
    rows, cols, values = [], [], []
    for start in range(0, on_sites.size, chunk):
        block = on_sites[start : start + chunk]
        s_edge = sites.edge[block]
        ends = np.concatenate([graph.edge_u[s_edge], graph.edge_v[s_edge]])
        nodes, where = np.unique(ends, return_inverse=True)
        from_nodes = np.atleast_2d(csgraph.dijkstra(graph.matrix, directed=True, indices=nodes, limit=float(limit_m)))
        k = block.size
        s_to_u = sites.access_m[block] + sites.offset_m[block]
        s_to_v = sites.access_m[block] + graph.edge_length_m[s_edge] - sites.offset_m[block]
        # metres from each site to every node: through either end of its edge
        site_nodes = np.minimum(from_nodes[where[:k]] + s_to_u[:, None], from_nodes[where[k:]] + s_to_v[:, None])
        dist = np.minimum(site_nodes[:, d_u] + d_to_u, site_nodes[:, d_v] + d_to_v)  # k × demand
        same = s_edge[:, None] == d_edge[None, :]
        if same.any():
            si, di = np.nonzero(same)
            direct = (
                sites.access_m[block][si]
                + np.abs(sites.offset_m[block][si] - demand.offset_m[on_demand][di])
                + demand.access_m[on_demand][di]
            )
            dist[si, di] = np.minimum(dist[si, di], direct)
        si, di = np.nonzero(dist <= limit_m)
        rows.append(on_demand[di])
        cols.append(block[si])
        values.append(np.maximum(dist[si, di], 1e-9))
    matrix = sparse.coo_array(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(n_demand, n_sites)
    )
    return matrix.tocsr()
