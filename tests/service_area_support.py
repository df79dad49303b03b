"""Shared by the service-area tests: the straightforward reference polygons and the tolerances.

The reference is every reached street piece of :func:`coverage.service_areas.reached_pieces`
buffered on its own (GEOS, arcs of 16 segments per quarter circle) and the buffers unioned per
facility; the engine's polygons must match it within :data:`AREA_TOL` and :data:`SYMDIFF_TOL`.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from coverage.circles import CoverageResult
from coverage.service_areas import reached_pieces
from coverage.settings import SERVICE_AREA_BUFFER_M

#: Largest per-facility |area / reference area - 1| (issue 14's tolerance).
AREA_TOL = 0.005
#: Largest per-facility symmetric difference / reference area.
SYMDIFF_TOL = 0.01


def reference_polygons(
    result: CoverageResult, buffer_m: float = SERVICE_AREA_BUFFER_M, quad_segs: int = 16
) -> dict[int, shapely.Geometry]:
    """Facility label → union of the ``buffer_m`` (metres) buffers of each of its reached pieces, one by one."""
    segments, label = reached_pieces(result)
    bands = shapely.buffer(shapely.linestrings(segments), buffer_m, quad_segs=quad_segs)
    return {int(f): shapely.union_all(bands[label == f]) for f in np.unique(label)}


def polygon_errors(got: np.ndarray, want: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per polygon: |area / reference area - 1| and symmetric difference / reference area."""
    want_area = shapely.area(want)
    assert np.all(want_area > 0)
    return np.abs(shapely.area(got) / want_area - 1), shapely.area(shapely.symmetric_difference(got, want)) / want_area


def assert_same_polygons(labels: np.ndarray, got: np.ndarray, reference: dict[int, shapely.Geometry]) -> None:
    """``got[i]`` (facility ``labels[i]``) is valid and within the tolerances of ``reference``; same facilities."""
    assert sorted(int(f) for f in labels) == sorted(reference)
    want = np.array([reference[int(f)] for f in labels], dtype=object)
    assert shapely.is_valid(got).all()
    area_error, symdiff = polygon_errors(got, want)
    assert area_error.max() < AREA_TOL, area_error.max()
    assert symdiff.max() < SYMDIFF_TOL, symdiff.max()


def facilities_near_streets(graph, n: int, seed: int) -> gpd.GeoDataFrame:
    """``n`` points within 15 m of random street positions (length-weighted), in the graph's CRS."""
    rng = np.random.default_rng(seed)
    edge = rng.choice(graph.n_edges, size=n, p=graph.edge_length_m / graph.edge_length_m.sum())
    at = shapely.line_interpolate_point(graph.edge_geometry[edge], rng.random(n), normalized=True)
    xy = shapely.get_coordinates(at) + rng.uniform(-15, 15, (n, 2))
    return gpd.GeoDataFrame({"name": [f"F{i}" for i in range(n)]}, geometry=shapely.points(xy), crs=graph.crs)
