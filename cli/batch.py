"""``python -m coverage batch``: many areas at once on Dask, resumable (parser and runner)."""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

from analysis.batch.areas import read_areas
from analysis.batch.partition import partition_inputs
from analysis.batch.runner import run_parts
from analysis.batch.summary import area_table, rule_table, write_summary
from analysis.batch.task import BatchParams
from analysis.rules import (
    DEFAULT_RULE_SET,
    RULES_DIR,
    available_rule_sets,
    load_rule_set,
)
from cli.args import add_nodata_argument
from cli.json_out import dumps
from cli.numbers import share
from cli.output_guard import check_not_an_input, overlap
from coverage.database_output import database_target, write_database
from coverage.safe_write import OutputPathError, probe_writable, write_errors
from layers.database import is_database_uri
from layers.errors import InputError
from layers.population import is_raster_file, refuse_nodata_as_zero

#: File marking a folder as a batch folder (a rerun may write there).
BATCH_MARKER = ".coverage-batch"


def add_batch_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``batch`` subcommand to ``python -m coverage``."""
    p = sub.add_parser(
        "batch",
        help="every area (county, township) of a province at once on Dask: walk coverage and checks per area",
        description="Cut the inputs once into one part per area (with a walking buffer), run the walk coverage "
        "and the checks of every area on Dask, write DIR/areas/<id>.gpkg and a merged summary. "
        "Finished areas are skipped on a rerun unless their inputs or parameters changed.",
    )
    p.add_argument("--areas", required=True, help="area polygons (GeoPackage, GeoJSON, Shapefile) with an id field")
    p.add_argument("--areas-layer", metavar="LAYER", help="layer of a multi-layer --areas file")
    p.add_argument("--id-field", help="id column of the areas (default: code, id, adcode or name)")
    p.add_argument("--network", required=True, help="street network: .osm.pbf, .osm/.xml, .graphml, or line layer")
    p.add_argument("--network-noded", action="store_true", help="the line layer is already split at its junctions")
    p.add_argument("--facilities", required=True, help="facility layer (as for circles)")
    p.add_argument("--facilities-crs", choices=["wgs84", "gcj02", "bd09"], help="coordinates from a Chinese web map")
    p.add_argument("--population", nargs="+", help="GeoTIFF(s) read per area in windows, or one vector layer with counts")
    p.add_argument("--population-elderly", action="store_true", help="the population rasters count people aged 60+")
    add_nodata_argument(p)
    p.add_argument("--districts", help="residential district polygons (Q1-Q5), each in the area holding it")
    p.add_argument("--townships", help="township polygons (T1-T6), each in the area holding it")
    p.add_argument("--rules", default=DEFAULT_RULE_SET, help=f"rule set {available_rule_sets()} or a .toml file")
    p.add_argument("--elderly-share", type=share("--elderly-share"), help="share aged 60+ (0-1) for totals-only population")
    p.add_argument("--out", required=True, help="batch folder: areas/<id>.gpkg, partitions/, summary.*")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://HOST:8786")
    where.add_argument("--workers", type=int, default=2, help="worker processes of the local Dask cluster (default 2)")
    p.add_argument(
        "--summary-db",
        metavar="URI",
        help="also write the summary to PostGIS in one transaction: postgresql://user@host/db?schema=NAME[&run=NAME]",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--json", action="store_true", help="print one JSON line: areas, done, failed, skipped, seconds, summary")


def _rules_digest(rules: str) -> str:
    candidate = Path(rules)
    path = candidate if (candidate.suffix == ".toml" or candidate.exists()) else RULES_DIR / f"{rules}.toml"
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_batch_folder(out: Path, args: argparse.Namespace) -> None:
    """``--out`` may not be or hold an input; an existing folder must be an earlier batch or empty."""
    with write_errors(out):
        check_not_an_input(out, args)
        for source in (args.areas, args.districts, args.townships):
            if source is not None and overlap(out, Path(source)):
                raise OutputPathError(f"--out '{out}' {overlap(out, Path(source))} '{source}'")
        if out.exists() and not out.is_dir():
            raise OutputPathError(f"--out '{out}' is a file, not a folder")
        if out.is_dir() and any(out.iterdir()) and not (out / BATCH_MARKER).exists():
            raise OutputPathError(f"--out '{out}' exists and was not written by this tool's batch command")
        probe_writable(out / BATCH_MARKER)


def _refuse_nodata_without_rasters(args: argparse.Namespace) -> None:
    """``--nodata-as-zero`` needs population GeoTIFFs (refused before any work, as ``circles`` does)."""
    rasters = bool(args.population) and all(is_raster_file(p) for p in args.population)
    if args.nodata_as_zero and not rasters:
        what = "a vector layer" if args.population else "the buildings' estimate"
        refuse_nodata_as_zero(args.population[0] if args.population else None, what)


def run_batch_command(args: argparse.Namespace) -> int:
    """Run ``batch``: partition once, run every area on Dask, write the summary, print the counts."""
    start = time.perf_counter()
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers must be 1 or more, got {args.workers}")
    if is_database_uri(args.out):  # before any work: it would otherwise become a folder named "postgresql:"
        raise InputError(
            "--out to a database is for circles, check, sites; batch writes a folder "
            "(--summary-db postgresql://... also writes its summary tables to PostGIS)"
        )
    _refuse_nodata_without_rasters(args)
    out = Path(args.out)
    _check_batch_folder(out, args)
    if args.summary_db is not None:  # parsed before any work: a password in it is refused
        database_target(args.summary_db, default_run="batch")
    rule_set = load_rule_set(args.rules)
    areas = read_areas(args.areas, args.id_field, args.areas_layer)
    (out / "areas").mkdir(parents=True, exist_ok=True)
    (out / BATCH_MARKER).write_text("written by python -m coverage batch\n", encoding="utf-8")
    population = args.population[0] if args.population and len(args.population) == 1 else args.population
    partition = partition_inputs(
        areas,
        out,
        network=args.network,
        facilities=args.facilities,
        population=population,
        minutes=float(rule_set.value("W1")),
        max_snap_m=float(rule_set.value("W4")),
        facilities_crs=args.facilities_crs,
        population_elderly=args.population_elderly,
        elderly_share=args.elderly_share,
        districts=args.districts,
        townships=args.townships,
        network_noded=args.network_noded,
    )
    params = BatchParams(
        out_dir=str(out.resolve()),
        rules=args.rules,
        rules_digest=_rules_digest(args.rules),
        elderly_share=args.elderly_share,
        population_elderly=args.population_elderly,
        nodata_as_zero=args.nodata_as_zero,
    )
    results = run_parts(
        partition.parts, params, scheduler=args.scheduler, workers=args.workers, progress=not args.no_progress
    )
    summary_path = write_summary(out, areas, results)
    database = None
    if args.summary_db is not None:  # the same two tables in PostGIS: areas (polygons) and area × rule
        tables = {"areas": area_table(areas, results), "area_rules": rule_table(results)}
        database = write_database(args.summary_db, tables, command="batch")
    statuses = [r["row"]["status"] for r in results]
    report = {
        "areas": len(results),
        "done": statuses.count("done"),
        "failed": statuses.count("failed"),
        "skipped": statuses.count("skipped"),
        "seconds": round(time.perf_counter() - start, 3),
        "summary": str(summary_path),
    }
    if args.json:
        print(dumps(report))
        return 0
    print(f"Batch of {report['areas']} areas, rule set {rule_set.name} ({report['seconds']:.1f} s, "
          f"partitioning {partition.seconds:.1f} s)")
    print(f"  done {report['done']}  skipped {report['skipped']} (unchanged)  failed {report['failed']}")
    for result in results:
        row = result["row"]
        if row["status"] == "failed":
            print(f"  failed {row['area_id']}: {row['error']}", file=sys.stdout)
    print(f"  wrote {summary_path} (+ summary_rules.csv, summary.parquet, summary.gpkg for QGIS, areas/)")
    if database is not None:
        print(f"  wrote {database}")
    return 0
