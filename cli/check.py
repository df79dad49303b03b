"""``python -m coverage check ... [--json]``: every planning check, with a report folder.

Loads the layers and walks once (:func:`coverage.walk_coverage` with the rule set's W1, W2, W4),
then runs :func:`analysis.run_checks` on that result and writes the report atomically.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis.checks import run_checks, walk_parameters
from analysis.report import write_report
from analysis.report_summary import read_proposed_sites
from analysis.rules import DEFAULT_RULE_SET, RuleSet, available_rule_sets, load_rule_set
from analysis.scenario_compare import ScenarioComparison, compare_scenario
from cli.args import add_input_arguments, add_layer_argument, layer_arguments
from cli.circles import walk_arguments
from cli.database_out import check_database_or_folder, report_tables
from cli.json_out import dumps
from cli.numbers import PERSONS_PER_HOUSEHOLD_RANGE, bounded_float, share, speed
from cli.scenario import add_scenario_argument, read_scenario
from coverage import walk_coverage
from coverage.database_output import write_database
from coverage.scenario import Scenario
from coverage.settings import DEFAULT_ELDERLY_SHARE
from layers.database import is_database_uri
from layers.errors import FieldError, InputError


def add_check_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``check`` subcommand."""
    p = sub.add_parser(
        "check",
        help="planning checks: districts (Q1-Q5), townships (T1-T6), capacity (C1-C7), with a report",
        description="Run every planning check and write a report folder (GeoPackage, CSV, Excel, HTML). "
        "With no input files it runs on the embedded default (central Nanjing, DEMO sites and townships; "
        "--embedded helsinki for Helsinki).",
    )
    p.add_argument(
        "--rules", help=f"rule set {available_rule_sets()} or a .toml file (default {DEFAULT_RULE_SET}, or the --scenario file's)"
    )
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
    p.add_argument("--speed", type=speed(), help="walking speed m/s or preset (default: the --scenario file's, else the rule set's W2)")
    p.add_argument("--decay", default="none", choices=["none", "linear", "gaussian"], help="2SFCA distance decay")
    p.add_argument(
        "--elderly-share",
        type=share("--elderly-share"),
        help=f"share aged 60+ (0-1) for population layers with totals only (default: the --scenario file's, else "
        f"{DEFAULT_ELDERLY_SHARE}, Panshi, seed 000: give your city's)",
    )
    p.add_argument("--out", default=str(Path("out") / "check"), help="report folder (default out/check)")
    p.add_argument("--json", action="store_true", help="print a one-line JSON summary per rule id")
    # target years, ageing, O1 sites (analysis/planning_years.py)
    p.add_argument(
        "--year", type=int, help="check as of this year: facilities open by then, that year's targets (default the --scenario file's, else now)"
    )
    p.add_argument("--elderly-share-by-year", help="share aged 60+ per year, e.g. 2025=0.26,2027=0.28")
    p.add_argument("--elderly-share-growth", type=float, help="yearly growth of the 60+ share in share points, e.g. 0.005")
    p.add_argument("--base-year", type=int, help="year of the population data for --elderly-share-growth (default 2020)")
    p.add_argument("--candidates", help="candidate sites for the O1 retrofit of old districts (default vacant OSM land)")
    # the filed report (analysis/report.py): PDF and the sites to build
    p.add_argument("--no-pdf", action="store_true", help="do not print the report to report.pdf (needs Chromium)")
    p.add_argument("--proposed-sites", help="GeoPackage written by 'sites --out': its proposed sites go on the report's first page")
    add_scenario_argument(
        p,
        "rules, speed, year, elderly_share; its minutes are not used: the rule set's W1 is. The report then "
        "compares baseline and scenario (scenario_*.csv, sheets of checks.xlsx)",
    )
    return p


#: The built-in defaults of the flags a ``--scenario`` file may set (``None`` in the parser).
CHECK_DEFAULTS = {"rules": DEFAULT_RULE_SET, "speed": None, "year": None, "elderly_share": None}


def scenario_notes(scenario: Scenario, rules: RuleSet, comparison: ScenarioComparison) -> list[str]:
    """Notes of a run with ``--scenario``: what was applied, and a setting the check does not use."""
    before, after = comparison.covered_elderly()
    notes = [
        f"scenario '{scenario.name}': {len(scenario.changes)} what-if changes applied; elderly within the walk "
        f"{before:,.0f} before them, {after:,.0f} with them; the report compares both (scenario_*.csv)"
    ]
    minutes = scenario.settings.minutes
    if minutes is not None and float(minutes) != float(rules.value("W1")):
        notes.append(
            f"the scenario's {minutes:g} minutes are not used by check: rule set {rules.name} walks "
            f"{float(rules.value('W1')):g} minutes (W1)"
        )
    return notes


def _print_comparison(comparison: ScenarioComparison) -> None:
    """The scenario lines of the text summary: covered elderly and the verdicts that change."""
    before, after = comparison.covered_elderly()
    print(f"  scenario '{comparison.scenario.name}': {len(comparison.scenario.changes)} changes; "
          f"elderly within the walk {before:,.0f} -> {after:,.0f}")
    changed = comparison.changed_verdicts
    for row in changed.itertuples(index=False):
        print(f"    {row.rule_id:<3} {row.subject_kind} '{row.subject}': {row.status_baseline or '-'} -> {row.status_scenario or '-'}")
    still = comparison.rules.loc[(comparison.rules["failed_scenario"] > 0), "rule_id"].tolist()
    if still:
        print(f"    still failing somewhere: {', '.join(still)}")


def run_check_command(args: argparse.Namespace) -> int:
    """Run ``check``: every planning check, the report folder written atomically, the summary printed."""
    layers = layer_arguments(args)
    rules_given = args.rules is not None
    scenario = read_scenario(args, CHECK_DEFAULTS)  # fills rules, speed, year, elderly_share
    check_database_or_folder(args.out, args, command="check")
    proposed = read_proposed_sites(args.proposed_sites) if args.proposed_sites else None
    try:
        rules = load_rule_set(args.rules)
    except InputError as exc:
        if rules_given or scenario is None or scenario.settings.rules is None:
            raise
        raise InputError(f"the scenario's rule set cannot be used: {exc}", file=Path(args.scenario).name, field="settings.rules") from None
    if args.elderly_share is not None and not 0 < float(args.elderly_share) <= 1:
        raise FieldError(f"--elderly-share must lie in (0, 1], got {args.elderly_share}", field="elderly_share")
    result = walk_coverage(**walk_arguments(args), **walk_parameters(rules, args.speed))
    check_options = dict(
        rules=rules,
        districts=args.districts,
        townships=args.townships,
        communities=args.communities,
        health=args.health,
        villages=args.villages,
        counties=args.counties,
        counties_crs=args.counties_crs,
        persons_per_household=args.persons_per_household,
        speed=args.speed,
        decay=args.decay,
        layers={name: layers[name] for name in ("districts", "townships", "communities", "health")},
        year=args.year,
        elderly_share_by_year=args.elderly_share_by_year,
        elderly_share_growth=args.elderly_share_growth,
        base_year=args.base_year,
        candidates=args.candidates,
    )
    comparison = None
    if scenario is None:
        run = run_checks(result, **check_options)
    else:  # both runs, lined up: the report is the scenario's, with the comparison tables
        comparison = compare_scenario(result, scenario, source=args.scenario, **check_options)
        run = comparison.variant
        run.notes.extend(scenario_notes(scenario, rules, comparison))
    run.seconds += float(result.inputs.options.get("seconds", 0.0))
    content = run.report_content()
    if comparison is not None:
        content.tables = {**content.tables, **comparison.tables()}
        content.sections = [*content.sections, *comparison.sections()]
    if proposed is not None:
        content.sites, content.sites_source = proposed, Path(args.proposed_sites).name
    pdf_note = None
    if is_database_uri(args.out):  # PostGIS: every layer and table in one transaction
        wrote = write_database(args.out, report_tables(content), command="check")
    else:
        written = write_report(content, args.out, pdf=not args.no_pdf)
        pdf_note = written.get("pdf_note")
        pdf = ", report.pdf" if "pdf" in written else ""
        wrote = f"{written['html'].parent}/ (report.html{pdf}, checks.xlsx, checks.gpkg, CSV tables)"
    summary = run.summary()
    if comparison is not None:
        summary["scenario"] = {**comparison.summary(), "file": Path(args.scenario).name}
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
    if comparison is not None:
        _print_comparison(comparison)
    for note in run.inputs.notes + run.notes:
        print(f"  note  {note}")
    if pdf_note:
        print(f"  note  {pdf_note}")
    print(f"  wrote {wrote}")
    return 0
