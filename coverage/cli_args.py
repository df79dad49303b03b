"""Command-line options shared by every ``python -m coverage`` subcommand."""

from __future__ import annotations

import argparse


def add_input_arguments(p: argparse.ArgumentParser) -> None:
    """The input-layer options every subcommand shares (network, facilities, population)."""
    p.add_argument("--network", help="street network: .osm.pbf, .osm/.xml, .graphml, or line .gpkg/.geojson")
    p.add_argument(
        "--network-noded",
        action="store_true",
        help="the line layer is already split at its junctions: join lines at shared vertices only, not where they cross",
    )
    p.add_argument("--facilities", help="facilities: .gpkg/.geojson/.zip(Shapefile)/.csv(lon,lat) or OSM file")
    p.add_argument("--facilities-crs", choices=["wgs84", "gcj02", "bd09"], help="coordinates from a Chinese web map")
    p.add_argument("--population", nargs="+", help="population: GeoTIFF(s) summed, polygons with counts, or buildings")
    p.add_argument("--population-crs", choices=["wgs84", "gcj02", "bd09"], help="population points from a Chinese web map")
    p.add_argument("--population-elderly", action="store_true", help="the population rasters count people aged 60+")


def population_argument(args: argparse.Namespace) -> str | list[str] | None:
    """``--population``: one path, several rasters to sum, or None."""
    if args.population and len(args.population) == 1:
        return args.population[0]
    return args.population
