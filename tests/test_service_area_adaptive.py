"""Service areas with the lattice spacing chosen per facility, and collinear runs joined in any order (issue 14).

``service_areas`` traces each facility's 50 m band on a lattice whose spacing it picks from the
facility's runs (:func:`coverage.service_areas.lattice_cells`, ``SERVICE_AREA_CELL_ERROR``): long
straight runs (a street lattice) get 10 m cells, short winding ones stay near 5 m. The polygons
must stay the same as the straightforward fine-arc union of buffered pieces (areas within 0.5 %,
symmetric difference under 1 % per facility) on a lattice, where the cells are coarsest, and on
real Nanjing streets through ``circles --out x.gpkg``; an explicit ``cell_m`` keeps its fixed
lattice. :func:`coverage.service_areas.join_straight_runs` joins the pieces of one straight line
whatever order they come in, and nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

import coverage.service_areas as service_module
from coverage.circles import CoverageResult, compute_coverage
from coverage.graph import build_walk_graph
from coverage.service_areas import join_straight_runs, lattice_cells, service_areas
from layers.defaults import (
    SERVICE_AREA_BUFFER_M,
    SERVICE_AREA_CELL_ERROR,
    SERVICE_AREA_CELL_M,
    SERVICE_AREA_CELL_MAX_M,
)
from tests.service_area_support import AREA_TOL, assert_same_polygons, facilities_near_streets, reference_polygons


@pytest.fixture
def cells_used(monkeypatch) -> list[np.ndarray]:
    """Records the lattice spacing of every group each ``band_polygons`` call of ``service_areas`` traces."""
    seen: list[np.ndarray] = []
    real = service_module.band_polygons

    def spy(segments, bounds, r, cell_m, **kw):
        seen.append(np.broadcast_to(np.asarray(cell_m, dtype=float), (bounds.size - 1,)).copy())
        return real(segments, bounds, r, cell_m, **kw)

    monkeypatch.setattr(service_module, "band_polygons", spy)
    return seen


# ----- the rule --------------------------------------------------------------------------------


def test_cells_follow_the_share_of_round_ends():
    r = SERVICE_AREA_BUFFER_M
    runs = np.full(6, 100.0)
    street_m = runs * np.array([1.0, 5.0, 15.0, 40.0, 100.0, 400.0])  # mean run 1 m ... 400 m
    cells = lattice_cells(street_m, runs, r)
    assert np.all(np.diff(cells) >= 0)  # longer straight runs, coarser lattice
    assert cells[0] < 1.01 * SERVICE_AREA_CELL_M  # almost all round: at the fine limit
    assert cells[-1] == SERVICE_AREA_CELL_MAX_M  # almost all straight: the coarse limit
    # inside the limits the estimated error (round boundary × cell² / 8r over the area) is the budget
    inner = (cells > SERVICE_AREA_CELL_M) & (cells < SERVICE_AREA_CELL_MAX_M)
    assert inner.any()
    estimate = runs * 2 * np.pi * r * cells**2 / (8 * r) / (2 * r * street_m + runs * np.pi * r * r)
    np.testing.assert_allclose(estimate[inner], SERVICE_AREA_CELL_ERROR, rtol=1e-9)
    # a lone point (no street metres) is a disc, all round: the fine limit
    assert lattice_cells(np.array([0.0]), np.array([1]), r)[0] == pytest.approx(SERVICE_AREA_CELL_M)
    # a tighter budget never coarsens, and the fine limit holds below it
    tight = lattice_cells(street_m, runs, r, error=SERVICE_AREA_CELL_ERROR / 4)
    assert np.all(tight <= cells) and np.all(tight >= SERVICE_AREA_CELL_M) and tight[0] == SERVICE_AREA_CELL_M


# ----- joining runs ----------------------------------------------------------------------------


def test_collinear_pieces_join_in_any_order_and_nothing_else():
    rng = np.random.default_rng(3)
    # a column of five 100 m pieces and a row of four, both facility 0, given shuffled and some reversed
    column = [((0.0, 100.0 * k), (0.0, 100.0 * (k + 1))) for k in range(5)]
    row = [((100.0 * k, 50.0), (100.0 * (k + 1), 50.0)) for k in range(4)]
    # facility 1 continues the column: not joined to facility 0; a collinear piece with a gap stays apart
    other = [((0.0, 500.0), (0.0, 600.0))]
    gap = [((0.0, 700.0), (0.0, 800.0))]
    segments = np.array(column + row + other + gap) + 700_000.0
    label = np.array([0] * 9 + [1, 0])
    flip = rng.random(len(segments)) < 0.5
    segments[flip] = segments[flip][:, ::-1]
    order = rng.permutation(len(segments))
    runs, run_label = join_straight_runs(segments[order, 0], segments[order, 1], label[order])
    assert runs.shape == (4, 2, 2)
    lengths = sorted(zip(run_label.tolist(), np.round(np.hypot(*(runs[:, 1] - runs[:, 0]).T)).tolist()))
    assert lengths == [(0, 100.0), (0, 400.0), (0, 500.0), (1, 100.0)]
    for f in (0, 1):
        before = shapely.union_all(shapely.linestrings(segments[label == f]))
        after = shapely.union_all(shapely.linestrings(runs[run_label == f]))
        assert shapely.hausdorff_distance(before, after) < 1e-9
    assert join_straight_runs(np.empty((0, 2)), np.empty((0, 2)), np.empty(0, dtype=np.int64))[0].shape == (0, 2, 2)


# ----- polygons on a street lattice (where the cells are coarsest) -----------------------------


@pytest.fixture(scope="module")
def lattice_result() -> CoverageResult:
    """A 40 × 40 lattice of 100 m streets, 4 facilities, 15 minutes at 1 m/s."""
    side = 40
    ids = np.arange(side * side).reshape(side, side)
    xx, yy = np.meshgrid(np.arange(side) * 100.0 + 500_000.0, np.arange(side) * 100.0 + 3_500_000.0)
    u = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    v = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    fx, fy = xx.ravel(), yy.ravel()
    lines = shapely.linestrings(np.stack([np.stack([fx[u], fy[u]], 1), np.stack([fx[v], fy[v]], 1)], 1))
    graph = build_walk_graph(gpd.GeoDataFrame({"u": u, "v": v}, geometry=lines, crs="EPSG:32650"), crs="EPSG:32650")
    rng = np.random.default_rng(5)
    fac_xy = rng.uniform(500_800.0, 503_100.0, (4, 2)) + [0.0, 3_000_000.0]
    pop_xy = rng.uniform(500_000.0, 503_900.0, (300, 2)) + [0.0, 3_000_000.0]
    fac = gpd.GeoDataFrame({"name": [f"F{i}" for i in range(4)]}, geometry=shapely.points(fac_xy), crs="EPSG:32650")
    pop = gpd.GeoDataFrame(
        {"population": np.full(300, 10.0), "elderly_population": np.full(300, 2.5)},
        geometry=shapely.points(pop_xy),
        crs="EPSG:32650",
    )
    return compute_coverage(graph, fac, pop, speed="general")


def test_lattice_gets_coarse_cells_and_the_same_polygons(lattice_result, cells_used):
    areas = service_areas(lattice_result)
    assert len(areas) == 4
    (cells,) = cells_used
    assert np.all(cells == SERVICE_AREA_CELL_MAX_M)  # long straight runs: the coarse limit
    assert_same_polygons(areas["facility_label"].to_numpy(), areas.geometry.to_numpy(), reference_polygons(lattice_result))
    np.testing.assert_allclose(areas["area_m2"], shapely.area(areas.geometry.to_numpy()), rtol=1e-9)


def test_explicit_cell_keeps_its_fixed_lattice(lattice_result, cells_used):
    fine = service_areas(lattice_result, cell_m=SERVICE_AREA_CELL_M)
    coarse = service_areas(lattice_result)
    assert np.all(cells_used[0] == SERVICE_AREA_CELL_M) and np.all(cells_used[1] == SERVICE_AREA_CELL_MAX_M)
    # the same streets, the same polygons within the tolerance, one traced four times finer
    np.testing.assert_array_equal(fine["facility_label"], coarse["facility_label"])
    np.testing.assert_allclose(fine["reached_street_m"], coarse["reached_street_m"], rtol=1e-12)
    np.testing.assert_allclose(coarse["area_m2"], fine["area_m2"], rtol=AREA_TOL)
    assert_same_polygons(fine["facility_label"].to_numpy(), fine.geometry.to_numpy(), reference_polygons(lattice_result))


# ----- through the command line on real streets -------------------------------------------------


def _written_layer(out: Path, result: CoverageResult) -> gpd.GeoDataFrame:
    written = pyogrio.read_dataframe(out, layer="service_areas").to_crs(result.graph.crs)
    label_of = result.facilities.set_index("facility_id")["facility_label"]
    written["facility_label"] = label_of.loc[written["facility_id"]].to_numpy()
    return written


def test_cli_service_areas_on_nanjing_match_the_reference_polygons(tmp_path, capsys, monkeypatch, nanjing_pbf, nanjing_graph, cells_used):
    """`python -m coverage circles --network nanjing.osm.pbf --facilities F --out x.gpkg`: adaptive cells, same polygons."""
    from cli.main import main
    from coverage import output

    fac_path = tmp_path / "facilities.geojson"
    facilities_near_streets(nanjing_graph, 5, 61).to_crs("EPSG:4326").to_file(fac_path, driver="GeoJSON")
    seen: list[CoverageResult] = []

    def spy(result, *a, **kw):
        seen.append(result)
        return service_areas(result, *a, **kw)

    monkeypatch.setattr(output, "service_areas", spy)
    out = tmp_path / "x.gpkg"
    code = main(["circles", "--network", str(nanjing_pbf), "--facilities", str(fac_path), "--out", str(out), "--json"])
    assert code == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["facilities"] == 5
    (result,) = seen
    (cells,) = cells_used
    # Nanjing's runs are tens of metres: cells between the limits, coarser than 5 m somewhere
    assert np.all((cells >= SERVICE_AREA_CELL_M) & (cells <= SERVICE_AREA_CELL_MAX_M))
    assert cells.max() > SERVICE_AREA_CELL_M
    written = _written_layer(out, result)
    assert len(written) == cells.size > 0
    assert_same_polygons(written["facility_label"].to_numpy(), written.geometry.to_numpy(), reference_polygons(result))
