"""Command line: ``python -m coverage sites --model mclp|lscp|pmedian --p 5 ... [--json]``.

``--target-coverage SHARE`` (mclp only, instead of ``--p``) picks the fewest sites that put that
share of all elderly within the walk: the MCLP's greedy ranking gives the smallest k reaching it,
then the MCLP is solved (``--method``) with p = k. Giving both ``--p`` and ``--target-coverage`` is
an error. The JSON line reports ``target_coverage`` (null without it) and the chosen ``p``.

Proposes sites for new elderly-service facilities that close the gaps of the 15-minute circles
(see :mod:`analysis.site_selection`). With no input files it runs on the embedded default (real
Helsinki streets, demo facilities, population from the extract's buildings), with candidates from
the extract's vacant/redevelopable land and from clusters of the uncovered elderly demand.

Bad input (p larger than the candidates, no uncovered demand, candidates all off the network, an
LSCP with uncoverable demand under ``--strict``, ...) prints one line and exits with status 2;
the GeoPackage is written only when the whole run succeeded (temporary file renamed into place,
see :mod:`coverage.safe_write`); ``--out`` may not be an input (:mod:`coverage.output_guard`).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np

from analysis.candidates import (
    apply_single_site_minimum,
    combine_candidates,
    demand_cluster_candidates,
    osm_candidates,
    read_candidates,
)
from analysis.rules import DEFAULT_RULE_SET, load_rule_set
from analysis.site_selection import (
    LSCP,
    MCLP,
    PMEDIAN_CAP_WALKS,
    CapacitatedMCLP,
    PMedian,
    SiteSelectionError,
    candidate_sites,
    township_coverage,
    township_of,
    townships_needing_centre,
)
from analysis.townships import read_townships
from coverage.circles import unit_points
from coverage.cli_args import add_input_arguments, add_layer_argument, layer_arguments, population_argument
from coverage.cli_errors import EXIT_INPUT_ERROR, run_reporting_errors, terminate_on_sigterm
from coverage.cli_numbers import (
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
from coverage.json_out import dumps
from coverage.output import write_geopackage
from coverage.output_guard import check_output_file
from coverage.pipeline import load_inputs, run_circles
from coverage.settings import DEFAULT_ELDERLY_SHARE, DEFAULT_MAX_SNAP_M, DEFAULT_MINUTES, SPEED_PRESETS
from layers.errors import InputError
from layers.facilities import check_points_near_extent
from layers.network import embedded_network_path
from layers.projection import WGS84

DEFAULT_OUT = Path("out") / "sites.gpkg"
#: New sites when neither ``--p`` nor ``--target-coverage`` is given.
DEFAULT_P = 5
#: Demand-cluster candidates generated with ``--target-coverage`` (p is not known in advance).
TARGET_CLUSTERS = 100
CANDIDATE_SOURCES = ("user", "osm", "clusters")


def add_sites_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``sites`` subcommand to ``python -m coverage``."""
    p = sub.add_parser(
        "sites",
        help="propose sites for new facilities that close the 15-minute gaps (MCLP, LSCP, p-median)",
        description="Propose where new elderly-service facilities should go. Existing facilities stay open. "
        "With no input files it runs on the embedded default (real Helsinki streets, demo sites).",
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
        "--time-limit", type=bounded_float("--time-limit", *TIME_LIMIT_RANGE_S, unit="seconds"), default=60.0, help="seconds for the exact solver")
    p.add_argument(
        "--strict", action="store_true", help="lscp: fail when some elderly cannot be covered by any candidate"
    )
    p.add_argument("--out", default=str(DEFAULT_OUT), help=f"result GeoPackage (default {DEFAULT_OUT})")
    p.add_argument("--json", action="store_true", help="print a one-line JSON summary")
    return p


def _sources(args: argparse.Namespace) -> list[str]:
    if args.candidate_sources:
        sources = [s.strip().lower() for s in args.candidate_sources.split(",") if s.strip()]
        unknown = sorted(set(sources) - set(CANDIDATE_SOURCES))
        if unknown:
            raise InputError(
                f"unknown candidate sources {unknown}; use {', '.join(CANDIDATE_SOURCES)}", field="--candidate-sources"
            )
        if "user" in sources and not args.candidates:
            raise InputError("candidate source 'user' needs --candidates FILE", field="--candidates")
        return sources
    return ["user"] if args.candidates else ["osm", "clusters"]


def run_sites(args: argparse.Namespace) -> tuple[dict, dict[str, gpd.GeoDataFrame]]:
    """Run the ``sites`` job; return the summary and the output layers (nothing written yet)."""
    start = time.perf_counter()
    target = getattr(args, "target_coverage", None)
    if target is not None:
        if args.model != "mclp":
            raise InputError("--target-coverage applies to --model mclp only", field="--target-coverage")
        if args.p is not None:
            raise InputError("give either --p or --target-coverage, not both", field="--target-coverage")
        if args.capacity is not None:
            raise InputError("--target-coverage does not combine with --capacity", field="--target-coverage")
        if not (np.isfinite(target) and 0.0 < target <= 1.0):
            msg = f"--target-coverage is a share of the elderly between 0 and 1 (e.g. 0.9), got {target:g}"
            raise InputError(msg, field="--target-coverage")
    p_sites = DEFAULT_P if args.p is None else int(args.p)
    if args.model != "lscp" and p_sites < 1:
        raise SiteSelectionError(f"--p must be at least 1, got {p_sites}", field="--p")
    if args.capacity is not None and args.model != "mclp":
        raise InputError("--capacity applies to --model mclp only", field="--capacity")
    if args.centre_per_township and not args.townships:
        raise InputError("--centre-per-township needs --townships FILE", field="--townships")
    layers = layer_arguments(args)
    rules = load_rule_set(args.rules)
    q3_min_m2 = float(rules.value("Q3"))
    inputs = load_inputs(
        network=args.network,
        facilities=args.facilities,
        population=population_argument(args),
        facilities_crs=args.facilities_crs,
        population_crs=args.population_crs,
        population_elderly=args.population_elderly,
        population_field=args.population_field,
        elderly_share=args.elderly_share,
        network_layer=layers["network"],
        facilities_layer=layers["facilities"],
        population_layer=layers["population"],
        network_noded=args.network_noded,
    )
    result = run_circles(inputs, minutes=args.minutes, speed=args.speed, max_snap_m=args.max_snap)
    notes = list(inputs.notes)
    bounds = tuple(float(v) for v in inputs.network.edges.total_bounds)

    # ----- candidates ---------------------------------------------------------------------------
    sources = _sources(args)
    parts = []
    if "user" in sources:
        user = read_candidates(args.candidates, layer=layers["candidates"])
        check_points_near_extent(user, bounds, file=args.candidates, layer="candidates")
        parts.append(user)
    if "osm" in sources:
        network_path = Path(args.network) if args.network else embedded_network_path()
        osm = osm_candidates(network_path)
        notes.append(f"{len(osm)} candidates from vacant/redevelopable OSM land and buildings")
        parts.append(osm)
    if "clusters" in sources:
        if args.clusters is not None:
            n_clusters = args.clusters
        elif target is not None:
            n_clusters = TARGET_CLUSTERS
        else:
            n_clusters = min(max(10 * max(p_sites, 1), 50), 500)
        clusters = demand_cluster_candidates(result, n_clusters)
        notes.append(f"{len(clusters)} candidates generated from clusters of uncovered elderly demand (KMeans)")
        parts.append(clusters)
    candidates = combine_candidates(*parts)
    if len(candidates) == 0:
        raise SiteSelectionError(
            "there are no candidate sites: every elderly person may be covered already, the OSM extract has no "
            "vacant land, and no --candidates file was given",
            layer="candidates",
        )
    candidates, q3_notes = apply_single_site_minimum(candidates, q3_min_m2)
    notes.extend(q3_notes)
    if len(candidates) == 0:
        raise SiteSelectionError(
            f"every candidate is smaller than the Q3 minimum of {q3_min_m2:g} m²", layer="candidates", field="area"
        )

    # ----- model ----------------------------------------------------------------------------------
    if args.model == "pmedian":
        cap_minutes = args.cap_minutes if args.cap_minutes is not None else PMEDIAN_CAP_WALKS * result.minutes
        if cap_minutes < result.minutes:
            raise InputError(
                f"--cap-minutes ({cap_minutes:g}) must be at least --minutes ({result.minutes:g})",
                field="--cap-minutes",
            )
        limit_m = cap_minutes * 60.0 * result.speed_mps
    else:
        cap_minutes = None
        limit_m = result.reach_m
    sites = candidate_sites(result, candidates, limit_m=limit_m, max_snap_m=args.max_snap)
    townships = (
        read_townships(args.townships, layer=layers["townships"], name_field=args.township_field)
        if args.townships
        else None
    )
    groups = []
    if townships is not None:
        sites = replace(sites, frame=sites.frame.assign(township=township_of(sites.frame, townships)))
        if args.centre_per_township:
            groups, t_notes = townships_needing_centre(townships, result.facilities, sites.frame)
            notes.extend(t_notes)
    if args.model == "mclp" and args.capacity is not None:
        try:
            capacity: float | str = float(args.capacity)
        except ValueError:
            capacity = args.capacity
        model = CapacitatedMCLP.from_coverage(result, sites, p_sites, capacity, required_groups=groups)
    elif args.model == "mclp":
        model = MCLP.from_coverage(result, sites, p_sites, required_groups=groups)
        if target is not None:
            # smallest k whose greedy ranking reaches the target; the exact MCLP with p = k covers
            # at least as many elderly as the greedy, so it meets the target too
            model.p_for_target(target)
    elif args.model == "lscp":
        model = LSCP.from_coverage(result, sites, required_groups=groups, strict=args.strict)
    else:
        model = PMedian.from_coverage(result, sites, p_sites, max_minutes=cap_minutes, required_groups=groups)
    model.solve(args.method, time_limit_s=args.time_limit)

    # ----- output -----------------------------------------------------------------------------
    layers = {"proposed_sites": model.sites_frame(), "candidates": _candidates_layer(model)}
    report = model.summary()
    report["target_coverage"] = None if target is None else float(target)
    if townships is not None:
        table = township_coverage(model, result.population, townships, facilities=result.facilities)
        layers["township_coverage"] = table
        report["townships"] = [
            {
                k: (
                    None
                    if isinstance(v, float) and not np.isfinite(v)
                    else (round(v, 4) if isinstance(v, float) else v)
                )
                for k, v in row.items()
            }
            for row in table.drop(columns="geometry").to_dict(orient="records")
        ]
    report["sources"] = inputs.sources
    report["notes"] = list(dict.fromkeys(notes + report["notes"]))
    report["seconds"] = round(time.perf_counter() - start, 3)
    return report, layers


def _candidates_layer(model) -> gpd.GeoDataFrame:
    """All on-network candidates as points with ``selected`` and ``rank`` (EPSG:4326)."""
    frame = model.candidates.copy()
    rank = np.zeros(len(frame), dtype=np.int64)
    rank[model.selected] = np.arange(1, model.selected.size + 1)
    frame["selected"] = rank > 0
    frame["rank"] = rank
    frame["geometry"] = unit_points(frame.geometry)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=model.candidates.crs).to_crs(WGS84)


def _print_text(report: dict, out: Path) -> None:
    print(
        f"Site selection: {report['model']}, {len(report['sites'])} new sites ({report['solver']}, "
        f"{'optimal' if report['optimal'] else 'gap ' + format(report['gap'] or float('nan'), '.2%')})"
    )
    print(f"  network     {report['sources']['network']}")
    print(f"  facilities  {report['sources']['facilities']}")
    print(f"  population  {report['sources']['population']}")
    total = report["total_elderly"] or float("nan")
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
    check_output_file(args.out, args)
    report, layers = run_sites(args)
    out = write_geopackage(args.out, layers)
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
    """Stand-alone entry point (``python -m coverage.cli_sites sites ...``); returns the exit status."""
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
