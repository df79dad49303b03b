"""A synthetic city for the app benchmark: a street lattice as OSM XML, population cells, facilities.

The files are what a planner uploads in the app (``.osm`` network, GeoPackage population polygons
with a ``population`` column, CSV facilities with lon/lat), so the benchmark drives the same
upload path. The lattice lies over central Nanjing in UTM 50N (EPSG:32650), ``side × side``
nodes ``spacing_m`` apart; 317 × 317 = 100 489 nodes (10⁵).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

#: The lattice's south-west corner (lon, lat): central Nanjing.
ORIGIN_LONLAT = (118.70, 31.98)
UTM = "EPSG:32650"


@dataclass(frozen=True)
class City:
    """The files of a generated city and its size."""

    network: Path
    facilities: Path
    population: Path
    district: Path
    nodes: int
    residents: float


def _lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return Transformer.from_crs(UTM, "EPSG:4326", always_xy=True).transform(x, y)


def write_lattice_osm(path: Path, side: int, spacing_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Write a ``side × side`` street lattice as OSM XML: a way per row and per column.

    Returns the nodes' UTM coordinates (metres), row-major.
    """
    x0, y0 = Transformer.from_crs("EPSG:4326", UTM, always_xy=True).transform(*ORIGIN_LONLAT)
    cols, rows = np.meshgrid(np.arange(side), np.arange(side))
    x = x0 + cols.ravel() * spacing_m
    y = y0 + rows.ravel() * spacing_m
    lon, lat = _lonlat(x, y)
    ids = np.arange(1, side * side + 1).reshape(side, side)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="bench_app_browser">']
    lines += [f'<node id="{i}" lat="{la:.7f}" lon="{lo:.7f}"/>' for i, la, lo in zip(ids.ravel(), lat, lon, strict=True)]
    way = side * side + 1
    for line in [*ids, *ids.T]:  # rows, then columns
        refs = "".join(f'<nd ref="{n}"/>' for n in line)
        lines.append(f'<way id="{way}">{refs}<tag k="highway" v="residential"/></way>')
        way += 1
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return x, y


def make_city(folder: Path, side: int = 317, spacing_m: float = 50.0, cell_m: float = 200.0, seed: int = 7) -> City:
    """Write the city's files into ``folder``: ``city.osm``, ``population.gpkg``, ``facilities.csv``
    and ``district.geojson`` (a 600 m square district near the centre, for the district check).

    Population: square cells of ``cell_m`` over the lattice with 50-400 residents each (seeded);
    facilities: one per ~2 500 nodes at random street points.
    """
    folder.mkdir(parents=True, exist_ok=True)
    x, y = write_lattice_osm(folder / "city.osm", side, spacing_m)
    rng = np.random.default_rng(seed)
    x0, y0, extent = x.min(), y.min(), (side - 1) * spacing_m
    edges = np.arange(0.0, extent, cell_m)
    cx, cy = np.meshgrid(edges, edges)
    cells = shapely.box(x0 + cx.ravel(), y0 + cy.ravel(), x0 + cx.ravel() + cell_m, y0 + cy.ravel() + cell_m)
    people = rng.integers(50, 400, len(cells)).astype(float)
    gpd.GeoDataFrame({"population": people}, geometry=cells, crs=UTM).to_crs(4326).to_file(folder / "population.gpkg")
    n_facilities = max(2, side * side // 2500)
    picks = rng.choice(len(x), n_facilities, replace=False)
    lon, lat = _lonlat(x[picks] + 10.0, y[picks])  # 10 m along a street from a junction
    rows = ["facility_id,name,kind,lon,lat"] + [
        f"F{i},Station {i},community_station,{lo:.7f},{la:.7f}" for i, (lo, la) in enumerate(zip(lon, lat, strict=True))
    ]
    (folder / "facilities.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    mx, my = x0 + extent / 2, y0 + extent / 2
    district = gpd.GeoDataFrame({"name": ["bench district"]}, geometry=[shapely.box(mx, my, mx + 600, my + 600)], crs=UTM)
    district.to_crs(4326).to_file(folder / "district.geojson", driver="GeoJSON")
    return City(
        folder / "city.osm", folder / "facilities.csv", folder / "population.gpkg", folder / "district.geojson", side * side, float(people.sum())
    )
