"""All planning checks in one run: walking coverage, districts, townships, capacity, co-location.

:func:`run_checks` is what ``python -m coverage check`` and the app call. With no input files it
runs on the embedded default (:mod:`layers.embedded`): the real streets of central Nanjing, their
buildings as population, the OSM ``landuse=residential`` areas as residential districts, the demo
facilities and demo townships (both labelled DEMO), and the extract's hospitals and clinics as
health facilities (``embedded="helsinki"``: the same for Helsinki, with the HSY population grid).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import pandas as pd

from analysis.accessibility import accessibility_from_coverage, aggregate_by_polygons
from analysis.capacity import check_capacity
from analysis.colocation import check_colocation
from analysis.districts import DistrictCheck, check_districts, normalise_districts
from analysis.extra_checks import ExtraChecks, run_extra_checks
from analysis.layer_inputs import communities_layer, districts_layer, file_of, health_layer, townships_layer
from analysis.planning_years import PlanningYears, plan_years
from analysis.report import MapSpec, ReportContent
from analysis.rules import DEFAULT_RULE_SET, RuleSet, load_rule_set
from analysis.townships import TownshipCheck, check_townships, osm_admin_boundaries, read_townships
from analysis.verdicts import Finding, summarise
from coverage.circles import CoverageResult
from coverage.output import facilities_layer, network_layer, population_layer, service_area_layer
from coverage.pipeline import DATA_DIR, Inputs, run_circles
from coverage.settings import DEFAULT_ELDERLY_SHARE, resolve_speed
from layers.embedded import embedded_data
from layers.errors import EmptyLayerError, InputError
from layers.facilities import check_points_near_extent, read_facilities
from layers.projection import WGS84

#: The Helsinki choice's DEMO townships (the name is from when Helsinki was the only embedded data;
#: each choice's townships are ``layers.embedded.embedded_data(name).townships``).
DEMO_TOWNSHIPS = DATA_DIR / "demo_townships_helsinki.geojson"


@dataclass
class CheckRun:
    """Every result of one checking run, and what it was run on."""

    rules: RuleSet
    inputs: Inputs
    coverage: CoverageResult
    districts: DistrictCheck | None
    townships: TownshipCheck | None
    capacity: list[Finding]
    colocation: gpd.GeoDataFrame | None
    colocation_findings: list[Finding]
    accessibility: gpd.GeoDataFrame | None
    parameters: dict[str, object]
    input_files: list[Path]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    extra: ExtraChecks | None = None  # W3, M1, R1, C7/C8/T7 per county (analysis/extra_checks.py)
    years: PlanningYears | None = None  # target years, new/old districts, O1, ageing

    @property
    def year(self) -> int | None:
        """The year checked (``--year``), None for "now"."""
        return self.years.year if self.years is not None else None

    @property
    def findings(self) -> list[Finding]:
        """Every finding of every check."""
        out: list[Finding] = []
        if self.districts is not None:
            out += self.districts.findings
        if self.townships is not None:
            out += self.townships.findings
        out = out + self.capacity + self.colocation_findings
        if self.extra is not None:
            out += self.extra.findings
        return out

    def summary(self) -> dict[str, object]:
        """``{"rule_set", "year", "rules": {"Q1": {"assessed", "passed", "failed", "not_assessable"}}}``."""
        return {"rule_set": self.rules.name, "year": self.year, "rules": summarise(self.findings)}

    def report_content(self) -> ReportContent:
        """Layers, tables, maps and metadata for :func:`analysis.report.write_report`."""
        coverage = self.coverage
        population = population_layer(coverage)
        facilities = facilities_layer(coverage)
        streets = network_layer(coverage)
        layers: dict[str, gpd.GeoDataFrame] = {
            "service_areas": service_area_layer(coverage),
            "population": population,
            "facilities": facilities,
        }
        tables = {}
        maps = [
            MapSpec(
                "W1 一刻钟步行养老服务圈：人口是否在步行范围内",
                "W1 15-minute walk: population units within the walk",
                [
                    (streets, {"color": "#bbbbbb", "linewidth": 0.5, "label": "街道 streets"}),
                    (layers["service_areas"], {"color": "#90caf9", "alpha": 0.4, "label": "步行范围 walk area"}),
                    (population, {"column": "covered", "markersize": 6, "label": "人口 population"}),
                    (facilities, {"color": "black", "markersize": 30, "marker": "^", "label": "养老设施 facilities"}),
                ],
            )
        ]
        if self.districts is not None:
            table = self.districts.table.to_crs(WGS84)
            layers["districts"] = table
            tables["districts"] = table
            maps.append(
                MapSpec(
                    "Q1-Q3 居住区养老服务设施配建",
                    "Q1-Q3 residential districts meeting the quotas",
                    [
                        (streets, {"color": "#bbbbbb", "linewidth": 0.5, "label": "街道 streets"}),
                        (table, {"column": "meets_q1_q3", "alpha": 0.7, "label": "居住区 districts"}),
                    ],
                )
            )
        if self.townships is not None:
            table = self.townships.table.to_crs(WGS84)
            layers["townships"] = table
            tables["townships"] = table
            if self.townships.communities is not None and len(self.townships.communities):
                tables["communities"] = self.townships.communities
            maps.append(
                MapSpec(
                    "T1 街道（乡镇）综合养老服务中心",
                    "T1 townships with a comprehensive centre",
                    [
                        (table, {"column": "t1_status", "alpha": 0.5, "edgecolor": "black", "label": "街道 townships"}),
                        (streets, {"color": "#777777", "linewidth": 0.4, "label": "街道 streets"}),
                        (facilities, {"color": "black", "markersize": 30, "marker": "^", "label": "养老设施 facilities"}),
                    ],
                )
            )
        if self.colocation is not None and len(self.colocation):
            layers["colocation"] = self.colocation.to_crs(WGS84)
            tables["colocation"] = layers["colocation"]
        if self.accessibility is not None:
            layers["accessibility"] = self.accessibility.to_crs(WGS84)
            maps.append(
                MapSpec(
                    "步行可达养老床位（两步移动搜索法）",
                    "2SFCA beds per 1000 elderly within the walk",
                    [
                        (streets, {"color": "#bbbbbb", "linewidth": 0.5, "label": "街道 streets"}),
                        (layers["accessibility"], {"column": "beds_per_1000_elderly", "markersize": 8, "cmap": "viridis",
                                                   "legend_title": "每千名老年人床位 beds per 1000 elderly"}),
                    ],
                )
            )
        if self.extra is not None:
            tables.update(self.extra.tables())
            layers.update(self.extra.layers())
        summary = self.summary()["rules"]
        headline = {
            "covered share of population (W1) 步行覆盖人口比例": f"{coverage.covered_share():.1%}",
            "covered share of elderly (W1) 步行覆盖老年人比例": f"{coverage.covered_share(elderly=True):.1%}",
            "covered share by speed preset (W2) 各步行速度预设的覆盖比例": {
                k: f"{v:.1%}" for k, v in coverage.covered_share_by_preset().items()
            },
            "facilities 设施数": len(coverage.facilities),
            "population 人口": round(float(coverage.population["population"].sum())),
            "elderly population 老年人口": round(float(coverage.population["elderly_population"].sum())),
        }
        for rule_id in ("Q4", "T1", "T2", "M1", "R1", "T7", "C7", "C8"):
            if rule_id in summary:
                headline[f"{rule_id} passed/assessed"] = f"{summary[rule_id]['passed']}/{summary[rule_id]['assessed']}"
        sections = []
        if self.years is not None:  # target years side by side, new/old districts, O1 (analysis/planning_years.py)
            headline.update(self.years.headline())
            tables.update(self.years.tables())
            sections = self.years.sections()
        return ReportContent(
            rules=self.rules,
            findings=self.findings,
            layers=layers,
            tables=tables,
            headline=headline,
            parameters=self.parameters,
            input_files=self.input_files,
            maps=maps,
            notes=self.inputs.notes + self.notes,
            html_tables=self.extra.html_tables() if self.extra is not None else {},
            sections=sections,
            basemap=streets,
        )


def _osm_residential_areas(pbf: Path) -> gpd.GeoDataFrame | None:
    """``landuse=residential`` polygons of an OSM extract as stand-in residential districts."""
    import pyrosm

    landuse = pyrosm.OSM(str(pbf), progress=False).get_landuse(custom_filter={"landuse": ["residential"]})
    if landuse is None or len(landuse) == 0:
        return None
    landuse = landuse.loc[landuse.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    names = landuse["name"] if "name" in landuse.columns else None
    label = [
        n if isinstance(n, str) and n else f"OSM residential area {i + 1}"
        for i, n in enumerate(names if names is not None else [None] * len(landuse))
    ]
    frame = gpd.GeoDataFrame({"name": label}, geometry=landuse.geometry.make_valid().to_numpy(), crs=landuse.crs or WGS84)
    frame = frame.loc[frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"])].reset_index(drop=True)
    return frame if len(frame) else None


def _osm_health(pbf: Path) -> gpd.GeoDataFrame | None:
    try:
        found = read_facilities(pbf)
    except EmptyLayerError:
        return None
    health = found.loc[found["kind"] == "health_centre"]
    return health if len(health) else None


def _check_extent(frame: gpd.GeoDataFrame, inputs: Inputs, file: str | Path | None, layer: str) -> None:
    points = frame.copy()
    points["geometry"] = frame.geometry.representative_point()
    check_points_near_extent(points, tuple(inputs.network.edges.total_bounds), file=file, layer=layer)


LAYER_INPUTS = ("districts", "townships", "communities", "health")


def _layer_choice(layers: Mapping[str, str | None] | None) -> dict[str, str | None]:
    """The chosen layer for every boundary input of :func:`run_checks` (``None``: the file's only layer)."""
    chosen = dict.fromkeys(LAYER_INPUTS)
    unknown = sorted(set(layers or {}) - set(LAYER_INPUTS))
    if unknown:
        raise ValueError(f"layers= has unknown inputs {unknown}; use {', '.join(LAYER_INPUTS)}")
    chosen.update(layers or {})
    return chosen


def walk_parameters(rules: str | Path | RuleSet = DEFAULT_RULE_SET, speed: float | str | None = None) -> dict[str, float | str]:
    """The walk of a rule set: ``minutes`` (W1), ``speed`` (W2 unless given, m/s or preset), ``max_snap_m`` (W4).

    Pass them to :func:`coverage.walk_coverage` so that :func:`run_checks` reuses its result.
    """
    rule_set = rules if isinstance(rules, RuleSet) else load_rule_set(rules)
    return {
        "minutes": float(rule_set.value("W1")),
        "speed": speed if speed is not None else float(rule_set.value("W2")),
        "max_snap_m": float(rule_set.value("W4")),
    }


def result_inputs(result: CoverageResult, *, job: str) -> Inputs:
    """The loaded layers a walk result carries (``result.inputs``), or an :class:`InputError` saying how to get them."""
    if not isinstance(result, CoverageResult):
        msg = f"{job} takes the result of coverage.walk_coverage(...), got {type(result).__name__}"
        raise InputError(msg, layer="result")
    if result.inputs is None:
        msg = f"this walk result carries no loaded layers: compute it with coverage.walk_coverage(...) before {job}"
        raise InputError(msg, layer="result")
    return result.inputs


def current_facilities(result: CoverageResult, inputs: Inputs) -> gpd.GeoDataFrame:
    """The result's facilities in EPSG:4326: the loaded rows as read, plus what-if sites, minus removed ones."""
    loaded = inputs.facilities
    now = result.facilities["facility_id"].astype(str)
    ids = loaded["facility_id"].astype(str)
    if len(now) == len(ids) and (now.to_numpy() == ids.to_numpy()).all():
        return loaded
    kept = loaded.loc[ids.isin(set(now)).to_numpy()]
    added = result.facilities.loc[~now.isin(set(ids)).to_numpy()].drop(columns="facility_label").to_crs(WGS84)
    frame = pd.concat([kept, added[[c for c in added.columns if c in loaded.columns]]], ignore_index=True)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=WGS84)


def run_checks(
    result: CoverageResult,
    *,
    districts: str | Path | gpd.GeoDataFrame | None = None,
    townships: str | Path | gpd.GeoDataFrame | None = None,
    communities: str | Path | gpd.GeoDataFrame | None = None,
    health: str | Path | gpd.GeoDataFrame | None = None,
    villages: str | Path | gpd.GeoDataFrame | None = None,
    counties: str | Path | gpd.GeoDataFrame | None = None,
    rules: str | Path | RuleSet = DEFAULT_RULE_SET,
    year: int | None = None,
    speed: float | str | None = None,
    persons_per_household: float | None = None,
    decay: str = "none",
    counties_crs: str | None = None,
    layers: Mapping[str, str | None] | None = None,
    elderly_share_by_year: dict[int, float] | str | None = None,
    elderly_share_growth: float | None = None,
    base_year: int | None = None,
    candidates: str | Path | None = None,
) -> CheckRun:
    """Run every planning check on a walk result (W1-W4, Q1-Q5, T1-T7, C1-C8, M1, R1, O1).

    The network, facilities and population are the ones ``result`` was computed on
    (``result.inputs``, what-if sites included): no file is read again. The walk is reused when
    the rule set's W1 minutes, W2 speed and W4 off-network limit equal the result's; otherwise
    (or when ``year`` leaves out facilities not yet open, or ages the population) it is computed
    again on the already-built graph, and a note says so.

    Parameters
    ----------
    result : CoverageResult
        From :func:`coverage.walk_coverage` (metric CRS; its ``inputs`` in EPSG:4326).
    districts : path or GeoDataFrame, optional
        Residential district polygons (any declared CRS) with a name and residents and/or
        households; default the OSM ``landuse=residential`` areas of the network's ``.osm.pbf``.
    townships : path or GeoDataFrame, optional
        Township/street polygons with a name; default the OSM administrative boundaries of the
        extract, the DEMO townships for the embedded default, or none (T1-T6 skipped, said so).
    communities : path or GeoDataFrame, optional
        Community polygons with population, persons (T3, T4).
    health : path or GeoDataFrame, optional
        Health facilities for C6; default the facility layer's ``health_centre`` rows, else the
        extract's OSM clinics and hospitals.
    villages : path or GeoDataFrame, optional
        Village points or polygons with a name (R1, T7).
    counties : path or GeoDataFrame, optional
        County polygons (C7, C8, T7 per county); default the townships' county field, if any.
    rules : str, Path or RuleSet
        Rule set name (``jilin-2023``, ``hebei-2022``, ``national``), a ``.toml`` file, or a loaded one.
    year : int, optional
        Check as of this year: facilities open by then (``opening_year``), districts completed by
        then, the targets of that year; default "now".
    speed : float or str, optional
        Walking speed (m/s or preset); default the rule set's W2 value.
    persons_per_household : float, optional
        Persons per household; default the rule set's Q2 ``persons_per_household``.
    decay : {"none", "linear", "gaussian"}
        Distance decay of the 2SFCA accessibility (beds per elderly person).
    counties_crs : {"gcj02", "bd09"}, optional
        A county file's coordinates come from a Chinese web map.
    layers : mapping, optional
        Layer of a multi-layer file, by input: keys ``districts``, ``townships``,
        ``communities``, ``health``.
    elderly_share_by_year, elderly_share_growth, base_year : optional
        Ageing to the year checked (:mod:`analysis.ageing`): shares per year (``"2025=0.26,..."``)
        or a yearly growth in share points from the population layer's share in ``base_year``.
    candidates : path, optional
        Candidate sites for the O1 retrofit of old districts; default vacant OSM land of the extract.

    Returns
    -------
    CheckRun
        Findings per rule id (``run.findings``, ``run.summary()``), tables, the walk used
        (``run.coverage``) and notes; ``write_report(run.report_content(), folder)`` writes the report.

    Raises
    ------
    layers.errors.InputError
        A layer is unreadable or lacks a column (naming file or argument, layer and field).

    Examples
    --------
    >>> from coverage import walk_coverage
    >>> from analysis import run_checks
    >>> result = walk_coverage()  # embedded default
    >>> run = run_checks(result)
    >>> sorted(run.summary()["rules"])[:2]
    ['C1', 'C2']
    """
    start = time.perf_counter()
    loaded = result_inputs(result, job="run_checks")
    rule_set = rules if isinstance(rules, RuleSet) else load_rule_set(rules)
    walk = walk_parameters(rule_set, speed)
    minutes, speed, max_snap_m = walk["minutes"], walk["speed"], walk["max_snap_m"]
    if persons_per_household is None:
        persons_per_household = rule_set["Q2"].extra.get("persons_per_household")
    options = loaded.options
    elderly_share = float(options.get("elderly_share", DEFAULT_ELDERLY_SHARE))
    share_given = bool(options.get("elderly_share_given", False))
    population_elderly = bool(options.get("population_elderly", False))
    facilities_crs, population_crs = options.get("facilities_crs"), options.get("population_crs")
    layer = _layer_choice(layers)
    # the checks may narrow facilities (year) and age the population: work on a copy of the inputs
    inputs = replace(loaded, facilities=current_facilities(result, loaded), notes=list(loaded.notes))
    facilities_before, population_before = inputs.facilities, inputs.population
    years = plan_years(
        rule_set, inputs, year=year, share_by_year=elderly_share_by_year, share_growth=elderly_share_growth,
        base_year=base_year, candidates=candidates,
    )  # keeps every facility for the year sections; inputs now hold those open in the year checked
    notes: list[str] = []
    same_walk = (
        float(minutes) == result.minutes
        and resolve_speed(speed) == result.speed_mps
        and max_snap_m == result.max_snap_m
    )
    same_layers = len(inputs.facilities) == len(facilities_before) and inputs.population is population_before
    if same_walk and same_layers:
        coverage = result
    else:
        coverage = run_circles(inputs, minutes=minutes, speed=speed, max_snap_m=max_snap_m)
        if not same_walk:
            notes.append(
                f"the walk was computed again for rule set {rule_set.name}: {minutes:g} min at "
                f"{coverage.speed_mps:g} m/s, {max_snap_m:g} m off-network limit (the result given had "
                f"{result.minutes:g} min at {result.speed_mps:g} m/s)"
            )
    network_path = inputs.network_path
    is_pbf = network_path is not None and network_path.name.lower().endswith(".pbf")
    input_files = [network_path] if network_path is not None else []
    input_files += [p for p in [options.get("facilities_file")] if p is not None]
    input_files += [f for f in map(file_of, (districts, townships, communities, health, villages, counties)) if f is not None]
    input_files += list(options.get("population_files", []))

    # residential districts (Q1-Q5, W1)
    district_frame = None
    if districts is not None:
        district_frame = districts_layer(districts, years, layer=layer["districts"])
        _check_extent(district_frame, inputs, file_of(districts), "districts")
    elif is_pbf:
        osm_districts = _osm_residential_areas(network_path)
        if osm_districts is not None:
            district_frame = normalise_districts(osm_districts)
            notes.append(
                f"no district layer given: {len(district_frame)} OSM landuse=residential areas of "
                f"{network_path.name} stand in for residential districts (residents estimated from the population layer)"
            )
    if district_frame is None:
        notes.append("no residential districts: Q1-Q5 not checked")
        district_check = None
    else:
        district_frame = years.districts_of_year(district_frame)
        district_check = check_districts(
            district_frame, inputs.facilities, rule_set, coverage=coverage, persons_per_household=persons_per_household
        )
        years.check_district_ages(district_check, coverage, network_path if is_pbf else None)

    # townships (T1-T6)
    township_frame = None
    if townships is not None:
        township_frame = townships_layer(townships, layer=layer["townships"])
        _check_extent(township_frame, inputs, file_of(townships), "townships")
    elif is_pbf:
        township_frame = osm_admin_boundaries(network_path, extent=tuple(inputs.network.edges.total_bounds))
        if township_frame is not None:
            notes.append(f"no township layer given: administrative boundaries of {network_path.name} are used")
        elif options.get("embedded"):
            chosen = options["embedded"] if isinstance(options["embedded"], str) else None  # True: the default
            demo_townships = embedded_data(chosen).townships
            township_frame = read_townships(demo_townships)
            notes.append(
                f"townships are DEMO areas drawn by the project ({demo_townships.name}): the embedded extract "
                "has no 街道 administrative boundaries"
            )
    if township_frame is None:
        notes.append("no township boundaries given or found in the extract: T1-T6 not checked")
        township_check = None
    else:
        community_frame = (
            communities_layer(communities, layer=layer["communities"]) if communities is not None else None
        )
        township_check = check_townships(
            township_frame, inputs.facilities, rule_set, coverage=coverage, communities=community_frame
        )
        years.check_townships_of_year(township_check, township_frame, community_frame)

    # capacity (C1-C3, C5, C7), 2SFCA and co-location (C6)
    elderly_total = float(coverage.population["elderly_population"].sum())
    capacity = check_capacity(inputs.facilities, rule_set, elderly_population=elderly_total)
    # C6: --health, else the health facilities found in the facility layer, else the extract's
    if health is not None:
        health_frame = health_layer(health, layer=layer["health"])
    elif inputs.health is not None:
        health_frame = inputs.health
    else:
        health_frame = _osm_health(network_path) if is_pbf else None
    colocation, colocation_findings = check_colocation(inputs.graph, inputs.facilities, rule_set, health=health_frame)
    accessibility = None
    if inputs.facilities["beds"].notna().any():
        accessibility = accessibility_from_coverage(coverage, decay=decay)
        if township_check is not None:
            per_township = aggregate_by_polygons(accessibility, township_check.table)
            township_check.table["beds_per_elderly_2sfca"] = per_township.to_numpy()
    else:
        notes.append("no facility has a bed count: 2SFCA accessibility not computed")

    if population_elderly:
        share_text = "not used: the population layer counts people aged 60+ (--population-elderly)"
    elif share_given:
        share_text = f"{float(elderly_share):g} (given with --elderly-share)"
    else:
        share_text = (
            f"{float(elderly_share):g} (default: Panshi's share aged 60+, seed 000, 2020 census; "
            "give the city's own with --elderly-share)"
        )
        notes.append(
            f"elderly share {float(elderly_share):.2%} is Panshi's (seed 000): pass --elderly-share for another city"
        )

    # meals (M1), villages (R1), counties (C7, C8, T7), life-circle tiers (W3)
    study_area = inputs.network.edges.to_crs(WGS84).geometry.to_numpy()
    extra = run_extra_checks(
        coverage,
        inputs.facilities,
        rule_set,
        study_area=study_area,
        districts=district_frame,
        townships=township_frame,
        townships_path=file_of(townships),
        villages=villages,
        counties=counties,
        counties_crs=counties_crs,
        extent=tuple(inputs.network.edges.total_bounds),
    )

    parameters = {
        "rule_set": rule_set.name,
        "rule_file": str(rule_set.path),
        "minutes (W1)": minutes,
        "speed_mps (W2)": coverage.speed_mps,
        "max_snap_m (W4)": max_snap_m,
        "off-network limit (W4) 离路网距离上限": f"{max_snap_m:g} m ({rule_set['W4'].source})",
        "C6 adjacency distance 毗邻建设距离": f"{float(rule_set.value('C6')):g} m walk ({rule_set['C6'].source})",
        "elderly_share 60岁及以上人口比例": share_text,
        "persons_per_household": persons_per_household,
        "facilities_crs": facilities_crs or "wgs84",
        "population_crs": population_crs or "wgs84",
        "population_elderly": population_elderly,
        # only when asked: the parameters of runs without the option stay as they were
        **({"nodata_as_zero": "nodata cells of the population rasters read as 0 people (--nodata-as-zero)"}
           if options.get("nodata_as_zero") else {}),
        "2sfca_decay": decay,
        "sources": inputs.sources,
        **extra.parameters(),
        **years.parameters(),
    }
    years.evaluate(coverage, persons_per_household, counties=extra.county_frame, study_area=study_area)
    return CheckRun(
        rules=rule_set,
        inputs=inputs,
        coverage=coverage,
        districts=district_check,
        townships=township_check,
        capacity=capacity,
        colocation=colocation,
        colocation_findings=colocation_findings,
        accessibility=accessibility,
        parameters=parameters,
        input_files=input_files,
        notes=notes
        + (district_check.notes if district_check else [])
        + (township_check.notes if township_check else [])
        + extra.all_notes()
        + years.notes,
        seconds=time.perf_counter() - start,
        extra=extra,
        years=years,
    )
