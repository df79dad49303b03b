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
from cli.database_out import check_database_or_file, write_layers_result
from cli.json_out import dumps
from cli.numbers import MAX_SNAP_RANGE_M, MINUTES_RANGE, bounded_float, share, speed
from cli.scenario import add_scenario_argument, read_scenario
from coverage import walk_coverage
from coverage.circles import CoverageResult
from coverage.output import facilities_layer, network_layer, population_layer, service_area_layer
from coverage.pipeline import summary
from coverage.scenario import Scenario, scenario_summary
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
    # defaults None: filled by read_scenario (the flag, else the --scenario file's setting, else CIRCLES_DEFAULTS)
    p.add_argument(
        "--elderly-share",
        type=share("--elderly-share"),
        help=f"share aged 60+ (0-1; default {DEFAULT_ELDERLY_SHARE}, or the --scenario file's)",
    )
    p.add_argument(
        "--minutes",
        type=bounded_float("--minutes", *MINUTES_RANGE, unit="minutes"),
        help=f"walking minutes (default {DEFAULT_MINUTES:g}, rule W1, or the --scenario file's)",
    )
    p.add_argument(
        "--speed",
        type=speed(),
        help=f"walking speed in m/s or a preset {SPEED_PRESETS} (default elderly, rule W2, or the --scenario file's)",
    )
    p.add_argument(
        "--max-snap",
        type=bounded_float("--max-snap", *MAX_SNAP_RANGE_M, unit="metres"),
        default=DEFAULT_MAX_SNAP_M,
        help="metres to a street before off-network",
    )
    p.add_argument(
        "--out",
        default=str(DEFAULT_OUT),
        help=f"result GeoPackage (default {DEFAULT_OUT}) or postgresql://USER@HOST/DB?schema=NAME[&run=NAME]",
    )
    p.add_argument("--json", action="store_true", help="print a one-line JSON summary")
    add_scenario_argument(p, "minutes, speed, elderly_share")
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
        "nodata_as_zero": args.nodata_as_zero,
    }


#: The built-in defaults of the flags a ``--scenario`` file may set (``None`` in the parser).
CIRCLES_DEFAULTS = {"minutes": DEFAULT_MINUTES, "speed": "elderly", "elderly_share": DEFAULT_ELDERLY_SHARE}


def scenario_report(scenario: Scenario, baseline: CoverageResult, file: str) -> dict:
    """The ``scenario`` key of ``circles --json``: name, changes, and the baseline's covered numbers."""
    population = baseline.population["population"].to_numpy(dtype=float)
    elderly = baseline.population["elderly_population"].to_numpy(dtype=float)
    total = float(population.sum())
    return {
        **scenario_summary(scenario),
        "file": Path(file).name,
        "baseline_covered_population": round(float(population[baseline.covered].sum()), 1),
        "baseline_covered_share": round(float(population[baseline.covered].sum() / total), 4) if total > 0 else None,
        "baseline_covered_elderly_population": round(float(elderly[baseline.covered].sum()), 1),
        "baseline_facilities": int(len(baseline.facilities)),
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
    if "scenario" in result:
        s = result["scenario"]
        print(
            f"  scenario    '{s['name']}' ({s['file']}): {s['changes']} changes; covered before them "
            f"{s['baseline_covered_population']:.0f} persons, {s['baseline_facilities']} facilities"
        )
    for note in result["notes"]:
        print(f"  note        {note}")
    print(f"  wrote       {out}  ({result['seconds']:.2f} s)")


def run_circles_command(args: argparse.Namespace) -> int:
    """Run ``circles``: compute, write the GeoPackage atomically, print the summary."""
    layer_arguments(args)
    scenario = read_scenario(args, CIRCLES_DEFAULTS)  # fills minutes, speed, elderly_share
    check_database_or_file(args.out, args, command="circles")
    start = time.perf_counter()
    result = walk_coverage(**walk_arguments(args), minutes=args.minutes, speed=args.speed, max_snap_m=args.max_snap)
    baseline = result
    if scenario is not None:  # the what-if changes, applied locally (no full recompute)
        result = scenario.apply(baseline, source=args.scenario)
    report = summary(result, result.inputs, time.perf_counter() - start)
    if scenario is not None:
        report["scenario"] = scenario_report(scenario, baseline, args.scenario)
    out = write_layers_result(
        args.out,
        {
            "service_areas": service_area_layer(result),
            "population": population_layer(result),
            "facilities": facilities_layer(result),
            "network_edges": network_layer(result),
        },
        command="circles",
    )
    if args.json:
        print(dumps(report))
    else:
        _print_text(report, out)
    return 0
