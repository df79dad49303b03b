"""The site-selection job as a library function: :func:`propose_sites` on a walk result.

``python -m coverage sites``, the app's site tab and a notebook call it on the result of
:func:`coverage.walk_coverage` (what-if sites included); the models themselves live in
:mod:`analysis.site_selection` (MCLP, LSCP, p-median, capacitated MCLP).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np

from analysis.candidates import (
    apply_single_site_minimum,
    combine_candidates,
    demand_cluster_candidates,
    normalise_candidates,
    osm_candidates,
    read_candidates,
)
from analysis.checks import result_inputs
from analysis.layer_inputs import file_of
from analysis.layer_inputs import townships_layer as township_polygons
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
from coverage.circles import CoverageResult, unit_points
from layers.defaults import DEFAULT_P, TARGET_CLUSTERS  # sites without p, clusters with target_coverage
from layers.errors import InputError
from layers.facilities import check_points_near_extent
from layers.frames import is_frame
from layers.projection import WGS84

CANDIDATE_SOURCES = ("user", "osm", "clusters")
MODELS = ("mclp", "lscp", "pmedian")


@dataclass
class SiteProposal:
    """The answer of :func:`propose_sites`.

    Attributes
    ----------
    summary : dict
        The ``sites --json`` line: model, p, sites (lon/lat, elderly added), elderly covered
        before/after (persons), solver, gap, ``target_coverage``, ``townships``, sources, notes,
        seconds (of this job; the CLI reports its whole run).
    layers : dict of GeoDataFrame
        ``proposed_sites``, ``candidates`` (``selected``, ``rank``) and, with townships,
        ``township_coverage``; all EPSG:4326.
    model : MCLP, LSCP, PMedian or CapacitatedMCLP
        The solved model (its coverage matrix, candidates and selection).
    """

    summary: dict
    layers: dict[str, gpd.GeoDataFrame]
    model: object

    @property
    def sites(self) -> gpd.GeoDataFrame:
        """The proposed sites, ranked (EPSG:4326)."""
        return self.layers["proposed_sites"]


def candidate_source_list(sources: str | list[str] | None, has_candidates: bool, *, osm_possible: bool = True) -> list[str]:
    """The candidate sources to use: given (``"user,osm"`` or a list), else user / osm+clusters."""
    if sources:
        items = sources.split(",") if isinstance(sources, str) else list(sources)
        chosen = [s.strip().lower() for s in items if s.strip()]
        unknown = sorted(set(chosen) - set(CANDIDATE_SOURCES))
        if unknown:
            raise InputError(
                f"unknown candidate sources {unknown}; use {', '.join(CANDIDATE_SOURCES)}", field="--candidate-sources"
            )
        if "user" in chosen and not has_candidates:
            raise InputError("candidate source 'user' needs --candidates FILE", field="--candidates")
        return chosen
    if has_candidates:
        return ["user"]
    return ["osm", "clusters"] if osm_possible else ["clusters"]


def check_site_options(
    model: str, p: int | None, target: float | None, capacity: object, centre: bool, townships: object
) -> int:
    """Validate the option combination on entry; return the number of sites (p)."""
    if model not in MODELS:
        raise InputError(f"unknown model {model!r}; use {', '.join(MODELS)}", field="--model")
    if target is not None:
        if model != "mclp":
            raise InputError("--target-coverage applies to --model mclp only", field="--target-coverage")
        if p is not None:
            raise InputError("give either --p or --target-coverage, not both", field="--target-coverage")
        if capacity is not None:
            raise InputError("--target-coverage does not combine with --capacity", field="--target-coverage")
        if not (np.isfinite(target) and 0.0 < target <= 1.0):
            msg = f"--target-coverage is a share of the elderly between 0 and 1 (e.g. 0.9), got {target:g}"
            raise InputError(msg, field="--target-coverage")
    p_sites = DEFAULT_P if p is None else int(p)
    if model != "lscp" and p_sites < 1:
        raise SiteSelectionError(f"--p must be at least 1, got {p_sites}", field="--p")
    if capacity is not None and model != "mclp":
        raise InputError("--capacity applies to --model mclp only", field="--capacity")
    if centre and townships is None:
        raise InputError("--centre-per-township needs --townships FILE", field="--townships")
    return p_sites


def propose_sites(
    result: CoverageResult,
    *,
    model: str = "mclp",
    p: int | None = None,
    target_coverage: float | None = None,
    candidates: str | Path | gpd.GeoDataFrame | None = None,
    candidate_sources: str | list[str] | None = None,
    clusters: int | None = None,
    townships: str | Path | gpd.GeoDataFrame | None = None,
    township_field: str | None = None,
    centre_per_township: bool = False,
    capacity: float | str | None = None,
    rules: str | Path = DEFAULT_RULE_SET,
    cap_minutes: float | None = None,
    method: str = "auto",
    time_limit_s: float = 60.0,
    strict: bool = False,
    candidates_layer: str | None = None,
    townships_layer: str | None = None,
) -> SiteProposal:
    """Propose sites for new elderly-service facilities that close the gaps of a walk result.

    Existing facilities (what-if sites included) stay open; demand is the elderly population
    (persons) of ``result``, reached within its minutes at its speed (W1, W2).

    Parameters
    ----------
    result : CoverageResult
        From :func:`coverage.walk_coverage`; nothing is read or walked again.
    model : {"mclp", "lscp", "pmedian"}
        mclp: ``p`` sites covering the most elderly; lscp: the fewest sites covering all
        coverable elderly; pmedian: ``p`` sites with the least total walking time.
    p : int, optional
        Number of new sites (mclp, pmedian; default 5).
    target_coverage : float, optional
        mclp only, instead of ``p``: the fewest sites putting this share (0-1) of all elderly
        within the walk.
    candidates : path or GeoDataFrame, optional
        Candidate points or parcels (any declared CRS; ``candidate_id``, ``name``, ``capacity``,
        ``land_area_m2`` in m² used when present).
    candidate_sources : str or list of str, optional
        Among ``user``, ``osm``, ``clusters``; default ``user`` with ``candidates``, else vacant
        OSM land of the network's ``.osm.pbf`` and clusters of the uncovered elderly.
    clusters : int, optional
        Demand-cluster candidates (default 10 × p, at least 50; 100 with ``target_coverage``).
    townships : path or GeoDataFrame, optional
        Township polygons with a name (``township_field``): a per-township table (T3).
    centre_per_township : bool
        T1/T3: at least one site in every township without a centre (needs ``townships``).
    capacity : float or str, optional
        mclp only: capacity per new site (elderly persons), a number or a candidate column.
    rules : str or Path
        Rule set for the Q3 single-site minimum area (m²).
    cap_minutes : float, optional
        pmedian: walking times are capped here, minutes (default 3 × the result's minutes).
    method : {"auto", "milp", "greedy"}
        Exact HiGHS MILP, lazy greedy with a gap, or exact when small enough.
    time_limit_s : float
        Seconds for the exact solver.
    strict : bool
        lscp: fail when some elderly cannot be covered by any candidate.
    candidates_layer, townships_layer : str, optional
        Layer of a multi-layer candidate/township file.

    Returns
    -------
    SiteProposal
        ``.summary`` (the ``sites --json`` dict), ``.layers`` (EPSG:4326), ``.sites``, ``.model``.

    Raises
    ------
    layers.errors.InputError
        Bad options, unreadable layers, no candidates, p larger than the candidates, ...

    Examples
    --------
    >>> from coverage import walk_coverage
    >>> from analysis import propose_sites
    >>> result = walk_coverage()  # embedded default
    >>> proposal = propose_sites(result, p=2, candidate_sources="clusters")
    >>> len(proposal.sites)
    2
    """
    start = time.perf_counter()
    inputs = result_inputs(result, job="propose_sites")
    p_sites = check_site_options(model, p, target_coverage, capacity, centre_per_township, townships)
    rule_set = load_rule_set(rules)
    q3_min_m2 = float(rule_set.value("Q3"))
    max_snap_m = result.max_snap_m
    notes = list(inputs.notes)
    bounds = tuple(float(v) for v in inputs.network.edges.total_bounds)
    network_path = inputs.network_path
    sources = candidate_source_list(candidate_sources, candidates is not None, osm_possible=network_path is not None)

    # ----- candidates ---------------------------------------------------------------------------
    parts = []
    if "user" in sources:
        if is_frame(candidates):
            user = normalise_candidates(candidates, layer="candidates= (GeoDataFrame)")
        else:
            user = read_candidates(candidates, layer=candidates_layer)
        check_points_near_extent(user, bounds, file=file_of(candidates), layer="candidates")
        parts.append(user)
    if "osm" in sources:
        if network_path is None:
            raise InputError("OSM candidates need the network as an .osm.pbf file", field="--candidate-sources")
        osm = osm_candidates(network_path)
        notes.append(f"{len(osm)} candidates from vacant/redevelopable OSM land and buildings")
        parts.append(osm)
    if "clusters" in sources:
        if clusters is not None:
            n_clusters = clusters
        elif target_coverage is not None:
            n_clusters = TARGET_CLUSTERS
        else:
            n_clusters = min(max(10 * max(p_sites, 1), 50), 500)
        cluster_sites = demand_cluster_candidates(result, n_clusters)
        notes.append(f"{len(cluster_sites)} candidates generated from clusters of uncovered elderly demand (KMeans)")
        parts.append(cluster_sites)
    pool = combine_candidates(*parts)
    if len(pool) == 0:
        raise SiteSelectionError(
            "there are no candidate sites: every elderly person may be covered already, the OSM extract has no "
            "vacant land, and no --candidates file was given",
            layer="candidates",
        )
    pool, q3_notes = apply_single_site_minimum(pool, q3_min_m2)
    notes.extend(q3_notes)
    if len(pool) == 0:
        raise SiteSelectionError(
            f"every candidate is smaller than the Q3 minimum of {q3_min_m2:g} m²", layer="candidates", field="area"
        )

    # ----- model ----------------------------------------------------------------------------------
    if model == "pmedian":
        cap = cap_minutes if cap_minutes is not None else PMEDIAN_CAP_WALKS * result.minutes
        if cap < result.minutes:
            raise InputError(
                f"--cap-minutes ({cap:g}) must be at least --minutes ({result.minutes:g})", field="--cap-minutes"
            )
        limit_m = cap * 60.0 * result.speed_mps
    else:
        cap = None
        limit_m = result.reach_m
    sites = candidate_sites(result, pool, limit_m=limit_m, max_snap_m=max_snap_m)
    township_frame = (
        township_polygons(townships, layer=townships_layer, name_field=township_field) if townships is not None else None
    )
    groups = []
    if township_frame is not None:
        sites = replace(sites, frame=sites.frame.assign(township=township_of(sites.frame, township_frame)))
        if centre_per_township:
            groups, t_notes = townships_needing_centre(township_frame, result.facilities, sites.frame)
            notes.extend(t_notes)
    if model == "mclp" and capacity is not None:
        try:
            per_site: float | str = float(capacity)
        except ValueError:
            per_site = str(capacity)
        solver = CapacitatedMCLP.from_coverage(result, sites, p_sites, per_site, required_groups=groups)
    elif model == "mclp":
        solver = MCLP.from_coverage(result, sites, p_sites, required_groups=groups)
        if target_coverage is not None:
            # smallest k whose greedy ranking reaches the target; the exact MCLP with p = k covers
            # at least as many elderly as the greedy, so it meets the target too
            solver.p_for_target(target_coverage)
    elif model == "lscp":
        solver = LSCP.from_coverage(result, sites, required_groups=groups, strict=strict)
    else:
        solver = PMedian.from_coverage(result, sites, p_sites, max_minutes=cap, required_groups=groups)
    solver.solve(method, time_limit_s=time_limit_s)

    # ----- output -----------------------------------------------------------------------------
    layers = {"proposed_sites": solver.sites_frame(), "candidates": _candidates_layer(solver)}
    report = solver.summary()
    report["target_coverage"] = None if target_coverage is None else float(target_coverage)
    if township_frame is not None:
        table = township_coverage(solver, result.population, township_frame, facilities=result.facilities)
        layers["township_coverage"] = table
        report["townships"] = [
            {k: _json_number(v) for k, v in row.items()} for row in table.drop(columns="geometry").to_dict(orient="records")
        ]
    report["sources"] = inputs.sources
    report["notes"] = list(dict.fromkeys(notes + report["notes"]))
    report["seconds"] = round(time.perf_counter() - start, 3)
    return SiteProposal(summary=report, layers=layers, model=solver)


def _json_number(value: object) -> object:
    """Floats rounded to 4 places, NaN/inf as ``None`` (the JSON line's convention)."""
    if isinstance(value, float):
        return None if not np.isfinite(value) else round(value, 4)
    return value


def _candidates_layer(model) -> gpd.GeoDataFrame:  # noqa: ANN001 - any solved site model
    """All on-network candidates as points with ``selected`` and ``rank`` (EPSG:4326)."""
    frame = model.candidates.copy()
    rank = np.zeros(len(frame), dtype=np.int64)
    rank[model.selected] = np.arange(1, model.selected.size + 1)
    frame["selected"] = rank > 0
    frame["rank"] = rank
    frame["geometry"] = unit_points(frame.geometry)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=model.candidates.crs).to_crs(WGS84)
