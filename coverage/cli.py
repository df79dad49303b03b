"""Command line: ``python -m coverage circles ... [--json]``.

Errors in the inputs print one line naming the file, layer and field and exit with status 2;
no output file is written unless the whole run succeeded. ``--out`` is checked before any work
(:mod:`coverage.output_guard`: never an input, never a folder this tool did not write) and written
through :mod:`coverage.safe_write`; every failure is one line (:mod:`coverage.cli_errors`: 2 bad
input, 1 write refused by the system or closed stdout, 130 Ctrl-C).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from analysis.checks import run_checks
from analysis.report import write_report
from analysis.report_summary import read_proposed_sites
from analysis.rules import DEFAULT_RULE_SET, available_rule_sets
from coverage.cli_args import add_input_arguments, add_layer_argument, layer_arguments, population_argument
from coverage.cli_numbers import (
    MAX_SNAP_RANGE_M,
    MINUTES_RANGE,
    PERSONS_PER_HOUSEHOLD_RANGE,
    OneLineParser,
    bounded_float,
    share,
    speed,
)
from coverage.cli_errors import EXIT_INPUT_ERROR, run_reporting_errors
from coverage.cli_sites import add_sites_parser, run_sites_command
from coverage.json_out import dumps
from coverage.output import (
    facilities_layer,
    network_layer,
    population_layer,
    service_area_layer,
    write_geopackage,
)
from coverage.output_guard import check_output_file, check_output_folder
from coverage.pipeline import summary, timed_circles
from coverage.settings import DEFAULT_ELDERLY_SHARE, DEFAULT_MAX_SNAP_M, DEFAULT_MINUTES, SPEED_PRESETS

DEFAULT_OUT = Path("out") / "circles.gpkg"


def _add_circles(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "circles",
        help="15-minute walking circles: who reaches a facility on foot (W1, W2, W4)",
        description="Compute walking service areas and the population within them. "
        "With no input files it runs on the embedded default (real Helsinki streets, demo sites).",
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


def _add_check(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="planning checks: districts (Q1-Q5), townships (T1-T6), capacity (C1-C7), with a report",
        description="Run every planning check and write a report folder (GeoPackage, CSV, Excel, HTML). "
        "With no input files it runs on the embedded default.",
    )
    p.add_argument("--rules", default=DEFAULT_RULE_SET, help=f"rule set {available_rule_sets()} or a .toml file")
    add_input_arguments(p)
    p.add_argument("--districts", help="residential district polygons (name, residents and/or households)")
    p.add_argument("--townships", help="township/street polygons with a name")
    p.add_argument("--communities", help="community polygons with population (T3, T4)")
    p.add_argument("--health", help="health facilities for co-location (C6)")
    p.add_argument("--villages", help="village points or polygons with a name (R1; T7 per county)")
    p.add_argument("--counties", help="county polygons (C7, C8, T7 per county); default the townships' county field")
    p.add_argument("--counties-crs", choices=["gcj02", "bd09"], help="the county layer's coordinates come from Amap/Tencent (gcj02) or Baidu (bd09)")
    for name in ("districts", "townships", "communities", "health"):
        add_layer_argument(p, name)
    p.add_argument(
        "--persons-per-household",
        type=bounded_float("--persons-per-household", *PERSONS_PER_HOUSEHOLD_RANGE, unit="persons", low_inclusive=True),
        help="default: the rule set's value",
    )
    p.add_argument("--speed", type=speed(), help="walking speed m/s or preset (default: the rule set's W2)")
    p.add_argument("--decay", default="none", choices=["none", "linear", "gaussian"], help="2SFCA distance decay")
    p.add_argument(
        "--elderly-share",
        type=share("--elderly-share"),
        help=f"share aged 60+ (0-1) for population layers with totals only (default {DEFAULT_ELDERLY_SHARE}, "
        "Panshi, seed 000: give your city's)",
    )
    p.add_argument("--out", default=str(Path("out") / "check"), help="report folder (default out/check)")
    p.add_argument("--json", action="store_true", help="print a one-line JSON summary per rule id")
    # target years, ageing, O1 sites (analysis/planning_years.py)
    p.add_argument("--year", type=int, help="check as of this year: facilities open by then, that year's targets (default now)")
    p.add_argument("--elderly-share-by-year", help="share aged 60+ per year, e.g. 2025=0.26,2027=0.28")
    p.add_argument("--elderly-share-growth", type=float, help="yearly growth of the 60+ share in share points, e.g. 0.005")
    p.add_argument("--base-year", type=int, help="year of the population data for --elderly-share-growth (default 2020)")
    p.add_argument("--candidates", help="candidate sites for the O1 retrofit of old districts (default vacant OSM land)")
    # the filed report (analysis/report.py): PDF and the sites to build
    p.add_argument("--no-pdf", action="store_true", help="do not print the report to report.pdf (needs Chromium)")
    p.add_argument("--proposed-sites", help="GeoPackage written by 'sites --out': its proposed sites go on the report's first page")


def run_check_command(args: argparse.Namespace) -> int:
    """Run ``check``: every planning check, the report folder written atomically, the summary printed."""
    layers = layer_arguments(args)
    check_output_folder(args.out, args)
    proposed = read_proposed_sites(args.proposed_sites) if args.proposed_sites else None
    run = run_checks(
        rules=args.rules,
        network=args.network,
        facilities=args.facilities,
        population=population_argument(args),
        districts=args.districts,
        townships=args.townships,
        communities=args.communities,
        health=args.health,
        facilities_crs=args.facilities_crs,
        population_crs=args.population_crs,
        population_elderly=args.population_elderly,
        persons_per_household=args.persons_per_household,
        speed=args.speed,
        decay=args.decay,
        elderly_share=args.elderly_share,
        villages=args.villages,
        counties=args.counties,
        counties_crs=args.counties_crs,
        layers=layers,
        network_noded=args.network_noded,
        year=args.year,
        elderly_share_by_year=args.elderly_share_by_year,
        elderly_share_growth=args.elderly_share_growth,
        base_year=args.base_year,
        candidates=args.candidates,
    )
    content = run.report_content()
    if proposed is not None:
        content.sites, content.sites_source = proposed, Path(args.proposed_sites).name
    written = write_report(content, args.out, pdf=not args.no_pdf)
    summary = run.summary()
    if args.json:
        print(dumps(summary))
        return 0
    print(f"Planning checks, rule set {summary['rule_set']} ({run.seconds:.1f} s)")
    if run.years is not None:
        print(f"  as of {run.years.as_of}" + ("" if run.year is not None else " (now)"))
        for label, text in run.years.headline().items():
            print(f"  {label:<8} {text}")
    for rule_id, counts in summary["rules"].items():
        print(
            f"  {rule_id:<3} assessed {counts['assessed']:>4}  passed {counts['passed']:>4}  "
            f"failed {counts['failed']:>4}  not assessable {counts['not_assessable']:>4}"
        )
    for note in run.inputs.notes + run.notes:
        print(f"  note  {note}")
    if "pdf_note" in written:
        print(f"  note  {written['pdf_note']}")
    pdf = ", report.pdf" if "pdf" in written else ""
    print(f"  wrote {written['html'].parent}/ (report.html{pdf}, checks.xlsx, checks.gpkg, CSV tables)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``python -m coverage``."""
    parser = OneLineParser(prog="python -m coverage", description="Elderly-care walking coverage planner")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_circles(sub)
    _add_check(sub)
    add_sites_parser(sub)
    return parser


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
    layers = layer_arguments(args)
    check_output_file(args.out, args)
    inputs, result, seconds = timed_circles(
        network_layer=layers["network"],
        facilities_layer=layers["facilities"],
        population_layer=layers["population"],
        network=args.network,
        facilities=args.facilities,
        population=population_argument(args),
        facilities_crs=args.facilities_crs,
        population_crs=args.population_crs,
        population_elderly=args.population_elderly,
        population_field=args.population_field,
        elderly_share=args.elderly_share,
        network_noded=args.network_noded,
        minutes=args.minutes,
        speed=args.speed,
        max_snap_m=args.max_snap,
    )
    report = summary(result, inputs, seconds)
    out = write_geopackage(
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


COMMANDS = {"circles": run_circles_command, "check": run_check_command, "sites": run_sites_command}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (see :mod:`coverage.cli_errors`)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a bad argument (one line printed, status 2) or --help (0)
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT_ERROR
    command = COMMANDS.get(args.command)
    if command is None:
        parser.error(f"unknown command {args.command}")
        return EXIT_INPUT_ERROR
    return run_reporting_errors(command, args)
