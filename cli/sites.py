"""Command line: ``python -m coverage sites --model mclp|lscp|pmedian --p 5 ... [--json]``.

``--target-coverage SHARE`` (mclp only, instead of ``--p``) picks the fewest sites that put that
share of all elderly within the walk: the MCLP's greedy ranking gives the smallest k reaching it,
then the MCLP is solved (``--method``) with p = k. Giving both ``--p`` and ``--target-coverage`` is
an error. The JSON line reports ``target_coverage`` (null without it) and the chosen ``p``.

Proposes sites for new elderly-service facilities that close the gaps of the 15-minute circles
(see :mod:`analysis.site_selection`). With no input files it runs on the embedded default (real
streets of central Nanjing, DEMO facilities, population from the extract's buildings; ``--embedded
helsinki`` for Helsinki), with candidates from the extract's vacant/redevelopable land and from
clusters of the uncovered elderly demand.

Bad input (p larger than the candidates, no uncovered demand, candidates all off the network, an
LSCP with uncoverable demand under ``--strict``, ...) prints one line and exits with status 2;
the GeoPackage is written only when the whole run succeeded (temporary file renamed into place,
see :mod:`coverage.safe_write`); ``--out`` may not be an input (:mod:`cli.output_guard`).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from analysis.rules import DEFAULT_RULE_SET
from analysis.site_proposals import DEFAULT_P, TARGET_CLUSTERS, check_site_options, propose_sites
from analysis.site_selection import PMEDIAN_CAP_WALKS
from cli.args import add_input_arguments, add_layer_argument, layer_arguments
from cli.circles import walk_arguments
from cli.database_out import check_database_or_file, write_layers_result
from cli.errors import EXIT_INPUT_ERROR, run_reporting_errors, terminate_on_sigterm
from cli.json_out import dumps
from cli.numbers import (
    COUNT_RANGE,
    MAX_SNAP_RANGE_M,
    MINUTES_RANGE,
    TIME_LIMIT_RANGE_S,
    OneLineParser,
    bounded_float,
    bounded_int,
    number_or_column,
    share,
    speed,
)
from coverage import walk_coverage
from coverage.settings import DEFAULT_ELDERLY_SHARE, DEFAULT_MAX_SNAP_M, DEFAULT_MINUTES, SPEED_PRESETS
from layers.defaults import DEFAULT_TIME_LIMIT_S

DEFAULT_OUT = Path("out") / "sites.gpkg"


def add_sites_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``sites`` subcommand to ``python -m coverage``."""
    p = sub.add_parser(
        "sites",
        help="propose sites for new facilities that close the 15-minute gaps (MCLP, LSCP, p-median)",
        description="Propose where new elderly-service facilities should go. Existing facilities stay open. "
        "With no input files it runs on the embedded default (real streets of central Nanjing, DEMO sites; "
        "--embedded helsinki for Helsinki).",
    )
    p.add_argument(
        "--model",
        choices=["mclp", "lscp", "pmedian"],
        default="mclp",
        help="mclp: p sites covering most elderly; lscp: fewest sites covering all; pmedian: least walking time",
    )
    p.add_argument(
        "--p", type=bounded_int("--p", *COUNT_RANGE), help=f"number of new sites (mclp, pmedian; default {DEFAULT_P}; lscp chooses its own)"
    )
    p.add_argument(
        "--target-coverage",
        type=share("--target-coverage"),
        metavar="SHARE",
        help="mclp only, instead of --p: the fewest sites that put this share (0-1) of all elderly within the walk",
    )
    add_input_arguments(p)
    p.add_argument("--population-field", help="count column of a polygon population layer")
    p.add_argument(
        "--elderly-share", type=share("--elderly-share"), default=DEFAULT_ELDERLY_SHARE, help="share aged 60+ (0-1)"
    )
    p.add_argument("--candidates", help="candidate parcels or points: .gpkg/.geojson/.shp/.zip or .csv (lon,lat)")
    p.add_argument(
        "--candidate-sources",
        help="comma list of user,osm,clusters (default: user with --candidates, else osm,clusters)",
    )
    p.add_argument(
        "--clusters",
        type=bounded_int("--clusters", *COUNT_RANGE),
        help="candidates generated from clusters of uncovered elderly demand "
        f"(default 10×p, at least 50; {TARGET_CLUSTERS} with --target-coverage)",
    )
    p.add_argument("--townships", help="township/street polygons with a name column (per-township table, T3)")
    p.add_argument("--township-field", help="name column of the township layer")
    add_layer_argument(p, "candidates")
    add_layer_argument(p, "townships")
    p.add_argument(
        "--centre-per-township",
        action="store_true",
        help="T1/T3: open at least one site in every township without a centre (needs --townships)",
    )
    p.add_argument(
        "--capacity",
        type=number_or_column("--capacity"),
        help="mclp only: capacity per new site (elderly persons, e.g. beds), a number or a candidate column",
    )
    p.add_argument("--rules", default=DEFAULT_RULE_SET, help="rule set for Q3 (single-site minimum area)")
    p.add_argument(
        "--minutes",
        type=bounded_float("--minutes", *MINUTES_RANGE, unit="minutes"),
        default=DEFAULT_MINUTES,
        help="walking minutes (default 15, rule W1)",
    )
    p.add_argument("--speed", type=speed(), default="elderly", help=f"walking speed in m/s or a preset {SPEED_PRESETS} (rule W2)")
    p.add_argument(
        "--max-snap",
        type=bounded_float("--max-snap", *MAX_SNAP_RANGE_M, unit="metres"),
        default=DEFAULT_MAX_SNAP_M, help="metres to a street before off-network (W4)"
    )
    p.add_argument(
        "--cap-minutes",
        type=bounded_float("--cap-minutes", *MINUTES_RANGE, unit="minutes"),
        help=f"pmedian: walking times are capped here (default {PMEDIAN_CAP_WALKS:g} × --minutes)",
    )
    p.add_argument(
        "--method",
        choices=["auto", "milp", "greedy"],
        default="auto",
        help="milp: exact with HiGHS; greedy: lazy greedy with a gap; auto: exact when small enough",
    )
    p.add_argument(
        "--time-limit", type=bounded_float("--time-limit", *TIME_LIMIT_RANGE_S, unit="seconds"), default=DEFAULT_TIME_LIMIT_S, help="seconds for the exact solver")
    p.add_argument(
        "--strict", action="store_true", help="lscp: fail when some elderly cannot be covered by any candidate"
    )
    p.add_argument(
        "--out",
        default=str(DEFAULT_OUT),
        help=f"result GeoPackage (default {DEFAULT_OUT}) or postgresql://USER@HOST/DB?schema=NAME[&run=NAME]",
    )
    p.add_argument("--json", action="store_true", help="print a one-line JSON summary")
    return p


def run_sites(args: argparse.Namespace) -> tuple[dict, dict]:
    """Run the ``sites`` job: walk once, :func:`analysis.propose_sites` on it; summary and layers."""
    start = time.perf_counter()
    layers = layer_arguments(args)
    target = getattr(args, "target_coverage", None)
    # option clashes fail before any file is read
    check_site_options(args.model, args.p, target, args.capacity, args.centre_per_township, args.townships)
    result = walk_coverage(**walk_arguments(args), minutes=args.minutes, speed=args.speed, max_snap_m=args.max_snap)
    proposal = propose_sites(
        result,
        model=args.model,
        p=args.p,
        target_coverage=target,
        candidates=args.candidates,
        candidate_sources=args.candidate_sources,
        clusters=args.clusters,
        townships=args.townships,
        township_field=args.township_field,
        centre_per_township=args.centre_per_township,
        capacity=args.capacity,
        rules=args.rules,
        cap_minutes=args.cap_minutes,
        method=args.method,
        time_limit_s=args.time_limit,
        strict=args.strict,
        candidates_layer=layers["candidates"],
        townships_layer=layers["townships"],
    )
    report = proposal.summary
    report["seconds"] = round(time.perf_counter() - start, 3)
    return report, proposal.layers


def _print_text(report: dict, out: Path) -> None:
    print(
        f"Site selection: {report['model']}, {len(report['sites'])} new sites ({report['solver']}, "
        f"{'optimal' if report['optimal'] else 'gap ' + format(report['gap'] or float('nan'), '.2%')})"
    )
    print(f"  network     {report['sources']['network']}")
    print(f"  facilities  {report['sources']['facilities']}")
    print(f"  population  {report['sources']['population']}")
    total = report["total_elderly"] or float("nan")
    if report["model"] == "mclp" and not report["optimal"] and report.get("bound") is not None and report.get("gap") is not None:
        print(
            f"  gap         {report['gap']:.2%}: at most {report['bound']:.0f} elderly can be newly covered with "
            f"{report['p']} sites (proven bound), these sites cover {report['objective']:.0f}"
        )
    if report.get("target_coverage") is not None:
        print(f"  target      {report['target_coverage']:.1%} of the elderly within the walk → p = {report['p']}")
    print(
        f"  covered     {report['covered_before']:.0f} → {report['covered_after']:.0f} of {total:.0f} elderly "
        f"({report['covered_before'] / total:.1%} → {report['covered_after'] / total:.1%})"
    )
    for rank, site in enumerate(report["sites"], start=1):
        print(f"  #{rank:<3d} {site['lon']:.6f}, {site['lat']:.6f}  +{site['added_elderly']:.0f} elderly")
    for row in report.get("townships", []):
        print(
            f"  township    {row['township']}: {row['covered_before']:.0f} → {row['covered_after']:.0f} of "
            f"{row['elderly_population']:.0f} elderly, {row['new_sites']} new sites"
        )
    for note in report["notes"]:
        print(f"  note        {note}")
    print(f"  wrote       {out}  ({report['seconds']:.2f} s)")


def run_sites_command(args: argparse.Namespace) -> int:
    """Run ``sites``: solve, write the GeoPackage atomically, print the summary."""
    check_database_or_file(args.out, args, command="sites")
    report, layers = run_sites(args)
    out = write_layers_result(args.out, layers, command="sites")
    if args.json:
        print(dumps(report))
    else:
        _print_text(report, out)
    if report["model"] == "lscp" and report["uncoverable_elderly"] > 0:
        print(
            f"warning: {report['uncoverable_elderly']:.0f} elderly persons cannot be covered by any candidate "
            "(islands or far from every candidate); --strict makes this an error",
            file=sys.stderr,
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point (``python -m cli.sites sites ...``); returns the exit status."""
    parser = OneLineParser(prog="python -m coverage", description="Elderly-care walking coverage planner")
    sub = parser.add_subparsers(dest="command", required=True)
    add_sites_parser(sub)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a bad argument (one line printed, status 2) or --help (0)
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT_ERROR
    return run_reporting_errors(run_sites_command, args)


if __name__ == "__main__":
    terminate_on_sigterm()
    sys.exit(main())
