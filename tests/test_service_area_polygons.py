"""Service-area polygons traced on a distance field (issue 14) against the buffered union they replace.

The reference is the straightforward construction: every reached street piece of
:func:`coverage.service_areas.reached_pieces` buffered on its own by 50 m (GEOS, arcs of 16
segments per quarter circle, so the reference itself is within 0.2 % of true circles) and the
buffers unioned per facility. The engine's polygons (straight runs joined, band traced as the
50 m contour of the distance to them on a 5-10 m lattice (chosen per facility)) must match it on real Helsinki and Nanjing
streets: every facility's area within 0.5 %, the symmetric difference under 1 % of its area; and
they must be what ``python -m coverage circles --out x.gpkg`` writes to its ``service_areas`` layer.
The construction the engine used before (GEOS arcs of 4 segments per quarter circle) lies up to
2.5 % inside true circles on small catchments, so it is compared on the total area only.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from coverage.band_contour import band_polygons
from coverage.circles import CoverageResult, compute_coverage
from coverage.service_areas import reached_pieces, reached_runs, service_areas
from coverage.settings import SERVICE_AREA_CELL_M
from tests.conftest import PROJECT_ROOT
from tests.service_area_support import assert_same_polygons, facilities_near_streets, polygon_errors, reference_polygons


def assert_matches(areas: gpd.GeoDataFrame, result: CoverageResult) -> None:
    labels = areas["facility_label"].astype(int).to_numpy()
    got = areas.geometry.to_numpy()
    assert_same_polygons(labels, got, reference_polygons(result))
    # the earlier construction (coarse arcs) is smaller, never by more than its arcs explain
    coarse = reference_polygons(result, quad_segs=4)
    coarse_total = sum(shapely.area(coarse[f]) for f in labels)
    assert 0 <= shapely.area(got).sum() / coarse_total - 1 < 0.02
    np.testing.assert_allclose(areas["area_m2"], shapely.area(got), rtol=1e-9)


def _people(graph, seed: int) -> gpd.GeoDataFrame:
    pts = facilities_near_streets(graph, 500, seed).geometry
    return gpd.GeoDataFrame(
        {"population": np.full(pts.size, 10.0), "elderly_population": np.full(pts.size, 2.5)}, geometry=pts, crs=graph.crs
    )


@pytest.fixture(scope="module")
def helsinki_graph():
    from coverage.graph import build_walk_graph
    from layers.network import embedded_network_path, read_network

    path = embedded_network_path()
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return build_walk_graph(read_network(path))


def test_helsinki_polygons_match_the_buffered_union(helsinki_graph):
    graph = helsinki_graph
    result = compute_coverage(graph, facilities_near_streets(graph, 30, 11), _people(graph, 12), speed="general")
    areas = service_areas(result)
    assert len(areas) == 30
    assert_matches(areas, result)


def test_nanjing_polygons_match_the_buffered_union(nanjing_graph):
    graph = nanjing_graph
    result = compute_coverage(graph, facilities_near_streets(graph, 6, 21), _people(graph, 22), speed="elderly")
    assert_matches(service_areas(result), result)


def test_runs_are_the_reached_pieces_joined(nanjing_graph):
    """Joining straight runs keeps every facility's streets: same metres, same lines."""
    graph = nanjing_graph
    result = compute_coverage(graph, facilities_near_streets(graph, 5, 31), _people(graph, 32), speed="general")
    pieces, piece_label = reached_pieces(result)
    runs, run_label = reached_runs(result)
    assert 0 < run_label.size < piece_label.size
    for f in np.unique(piece_label):
        a = shapely.linestrings(pieces[piece_label == f])
        b = shapely.linestrings(runs[run_label == f])
        assert shapely.length(b).sum() == pytest.approx(shapely.length(a).sum(), rel=1e-9)
        assert shapely.hausdorff_distance(shapely.union_all(a), shapely.union_all(b)) < 1e-6


def test_block_holes_and_nested_bands_are_kept():
    """A 400 m square ring of streets leaves a 300 m square hole; a street inside the hole is its own shell."""
    ring = np.array([[0, 0], [400, 0], [400, 400], [0, 400], [0, 0]], dtype=float) + 500_000.0
    sides = np.stack([ring[:-1], ring[1:]], axis=1)
    inner = np.array([[[150.0, 150.0], [250.0, 150.0]]]) + 500_000.0  # a street 150 m inside the ring
    for segments, shells in ((sides, 1), (np.concatenate([sides, inner]), 2)):
        poly = band_polygons(segments, np.array([0, len(segments)]), 50.0, SERVICE_AREA_CELL_M)[0]
        exact = shapely.union_all(shapely.buffer(shapely.linestrings(segments), 50.0, quad_segs=64))
        assert shapely.is_valid(poly)
        assert len(shapely.get_parts(poly)) == shells
        area_error, symdiff = polygon_errors(np.array([poly]), np.array([exact]))
        assert area_error[0] < 1e-3 and symdiff[0] < 2e-3
        outer = shapely.get_parts(poly)[np.argmax(shapely.area(shapely.get_parts(poly)))]
        hole = shapely.Polygon(shapely.get_interior_ring(outer, 0))
        # the hole's straight sides are exact; its corners are cut by less than a cell
        assert shapely.area(hole) == pytest.approx(300.0 * 300.0, rel=2e-3)


def test_bands_that_just_touch_are_joined():
    """Streets 2r apart put lattice vertices at exactly r from both: one valid polygon, as the union gives."""
    r, cell = 51.25, 5.0  # the lattice starts r + 2.5 cells below the lower street: its row 23 is the midline
    segments = np.array([[[0.0, 0.0], [200.0, 0.0]], [[0.0, 2 * r], [200.0, 2 * r]]]) + 600_000.0
    poly = band_polygons(segments, np.array([0, 2]), r, cell)[0]
    exact = shapely.union_all(shapely.buffer(shapely.linestrings(segments), r, quad_segs=64))
    assert shapely.is_valid(poly)
    assert poly.geom_type == "Polygon" and len(poly.interiors) == 0
    area_error, symdiff = polygon_errors(np.array([poly]), np.array([exact]))
    assert area_error[0] < 1e-3 and symdiff[0] < 2e-3


def test_oversized_lattice_falls_back_to_geos():
    """A group too large for the lattice is drawn by GEOS with fine arcs: the same polygon."""
    segments = np.array([[[0.0, 0.0], [300.0, 0.0]], [[300.0, 0.0], [300.0, 200.0]]]) + 4_000_000.0
    bounds = np.array([0, 2])
    traced = band_polygons(segments, bounds, 50.0, SERVICE_AREA_CELL_M)[0]
    fallback = band_polygons(segments, bounds, 50.0, SERVICE_AREA_CELL_M, max_vertices=10)[0]
    area_error, symdiff = polygon_errors(np.array([traced]), np.array([fallback]))
    assert area_error[0] < 1e-3 and symdiff[0] < 2e-3


def _read_layer(out: Path, result: CoverageResult) -> gpd.GeoDataFrame:
    written = pyogrio.read_dataframe(out, layer="service_areas").to_crs(result.graph.crs)
    label_of = result.facilities.set_index("facility_id")["facility_label"]
    written["facility_label"] = label_of.loc[written["facility_id"]].to_numpy()
    # the round trip through WGS84 moves vertices by millimetres: area_m2 is the metric area written
    written["area_m2"] = shapely.area(written.geometry.to_numpy())
    return written


def _run_circles(args: list[str], capsys, monkeypatch) -> CoverageResult:
    from cli.main import main
    from coverage import output

    seen: list[CoverageResult] = []

    def spy(result, *a, **kw):
        seen.append(result)
        return service_areas(result, *a, **kw)

    monkeypatch.setattr(output, "service_areas", spy)
    assert main(["circles", *args, "--json"]) == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["facilities"] > 0
    assert len(seen) == 1
    return seen[0]


def test_cli_writes_the_polygons_on_nanjing(tmp_path, capsys, monkeypatch, nanjing_pbf, nanjing_graph):
    """`circles --network nanjing.osm.pbf --facilities F.geojson --out x.gpkg`: the layer matches the reference."""
    fac = facilities_near_streets(nanjing_graph, 4, 41).to_crs("EPSG:4326")
    fac_path = tmp_path / "facilities.geojson"
    fac.to_file(fac_path, driver="GeoJSON")
    out = tmp_path / "circles.gpkg"
    result = _run_circles(["--network", str(nanjing_pbf), "--facilities", str(fac_path), "--out", str(out)], capsys, monkeypatch)
    written = _read_layer(out, result)
    assert len(written) == 4
    assert {"facility_id", "name", "reached_street_m", "area_m2"} <= set(written.columns)
    assert_matches(written, result)


def test_cli_writes_the_polygons_on_helsinki(tmp_path, capsys, monkeypatch):
    from layers.network import embedded_network_path

    network = embedded_network_path()
    facilities = PROJECT_ROOT / "data" / "demo_facilities_helsinki.geojson"
    if not network.exists() or not facilities.exists():
        pytest.skip("the embedded Helsinki extract or its demo sites are missing")
    out = tmp_path / "circles.gpkg"
    result = _run_circles(["--network", str(network), "--facilities", str(facilities), "--out", str(out)], capsys, monkeypatch)
    written = _read_layer(out, result)
    assert len(written) > 0
    assert_matches(written, result)
