"""``python -m coverage circles ... [--json]``: the walking circles, written to a GeoPackage.

Errors in the inputs print one line naming the file, layer and field and exit with status 2;
no output file is written unless the whole run succeeded. ``--out`` is checked before any work
(:mod:`cli.output_guard`: never an input, never a folder this tool did not write) and written
through :mod:`coverage.safe_write`; every failure is one line (:mod:`cli.errors`: 2 bad input,
1 write refused by the system or closed stdout, 130 Ctrl-C).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cli.args import add_input_arguments, layer_arguments, population_argument
from cli.database_out import check_database_or_file, write_circles_result
from cli.json_out import dumps
from cli.numbers import MAX_SNAP_RANGE_M, MINUTES_RANGE, bounded_float, share, speed
from coverage import walk_coverage
from coverage.output import facilities_layer, network_layer, population_layer, service_area_layer
from coverage.pipeline import summary
from coverage.settings import DEFAULT_ELDERLY_SHARE, DEFAULT_MAX_SNAP_M, DEFAULT_MINUTES, SPEED_PRESETS

DEFAULT_OUT = Path("out") / "circles.gpkg"


def add_circles_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``circles`` subcommand."""
    p = sub.add_parser(
        "circles",
        help="15-minute walking circles: who reaches a facility on foot (W1, W2, W4)",
        description="Compute walking service areas and the population within them. "
        "With no input files it runs on the embedded default (real streets of central Nanjing, DEMO sites; "
        "--embedded helsinki for Helsinki).",
    )
    add_input_arguments(p)
    p.add_argument("--population-field", help="count column of a polygon population layer")
    p.add_argument(
        "--elderly-share", type=share("--elderly-share"), default=DEFAULT_ELDERLY_SHARE, help="share aged 60+ (0-1)"
    )
    p.add_argument(
        "--minutes",
        type=bounded_float("--minutes", *MINUTES_RANGE, unit="minutes"),
        default=DEFAULT_MINUTES,
        help="walking minutes (default 15, rule W1)",
    )
    p.add_argument(
        "--speed",
        type=speed(),
        default="elderly",
        help=f"walking speed in m/s or a preset {SPEED_PRESETS} (default elderly, rule W2)",
    )
    p.add_argument(
        "--max-snap",
        type=bounded_float("--max-snap", *MAX_SNAP_RANGE_M, unit="metres"),
        default=DEFAULT_MAX_SNAP_M,
        help="metres to a street before off-network",
    )
    p.add_argument("--out", default=str(DEFAULT_OUT), help=f"result GeoPackage (default {DEFAULT_OUT})")
    p.add_argument("--json", action="store_true", help="print a one-line JSON summary")
    return p


def walk_arguments(args: argparse.Namespace) -> dict:
    """Keyword arguments of :func:`coverage.walk_coverage` for the input options of any command."""
    layers = layer_arguments(args)
    return {
        "network": args.network,
        "facilities": args.facilities,
        "population": population_argument(args),
        "facilities_crs": args.facilities_crs,
        "population_crs": args.population_crs,
        "population_elderly": args.population_elderly,
        "population_field": getattr(args, "population_field", None),
        "elderly_share": args.elderly_share,
        "network_layer": layers["network"],
        "facilities_layer": layers["facilities"],
        "population_layer": layers["population"],
        "network_noded": args.network_noded,
        "embedded": getattr(args, "embedded", None),
    }


def _print_text(result: dict, out: Path) -> None:
    share = result["covered_share"]
    print(f"Walking circles: {result['minutes']:g} min at {result['speed_mps']:g} m/s")
    print(f"  network     {result['sources']['network']}")
    print(f"  facilities  {result['sources']['facilities']}")
    print(f"  population  {result['sources']['population']}")
    print(f"  graph       {result['graph_nodes']} nodes, {result['graph_edges']} edges, {result['network_islands']} islands")
    print(
        f"  covered     {result['covered_population']:.0f} of {result['total_population']:.0f} persons"
        f" ({share:.1%})" if share is not None else "  covered     no population"
    )
    by_speed = ", ".join(f"{k} {v:.1%}" for k, v in result["covered_share_by_speed"].items())
    print(f"  by speed    {by_speed}")
    print(f"  off-network {result['off_network_facilities']} facilities, {result['off_network_population_units']} population units")
    for note in result["notes"]:
        print(f"  note        {note}")
    print(f"  wrote       {out}  ({result['seconds']:.2f} s)")


def run_circles_command(args: argparse.Namespace) -> int:
    """Run ``circles``: compute, write the GeoPackage atomically, print the summary."""
    layer_arguments(args)
    check_database_or_file(args.out, args, command="circles")
    start = time.perf_counter()
    result = walk_coverage(**walk_arguments(args), minutes=args.minutes, speed=args.speed, max_snap_m=args.max_snap)
    report = summary(result, result.inputs, time.perf_counter() - start)
    out = write_circles_result(
        args.out,
        {
            "service_areas": service_area_layer(result),
            "population": population_layer(result),
            "facilities": facilities_layer(result),
            "network_edges": network_layer(result),
        },
    )
    if args.json:
        print(dumps(report))
    else:
        _print_text(report, out)
    return 0
