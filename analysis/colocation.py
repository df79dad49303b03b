"""C6 毗邻建设: community elderly facilities within a short walk of a health facility.

Each community elderly facility (kinds in :data:`ELDERLY_KINDS`) gets the walking distance on the
street network (W4: from the nearest point on a street, access legs included) to its nearest health
facility. The health facilities seed one bounded multi-source Dijkstra pass of the engine
(:mod:`coverage.engine`), with the elderly facilities in the place of population units, so the
search limit is set in metres directly rather than through minutes × speed.

The search goes at least to the C6 distance; by default it goes on to the W1 walk at the W2 speed
(15 min × 0.8 m/s = 720 m in ``jilin-2023``) so that a failing facility's distance is reported
too. Beyond the search limit the distance is ``inf`` ("farther than the limit").

A failing finding's ``shortfall`` is the excess walk, ``measured - required`` metres (C6 is a
maximum); it is None when no health facility lies within the search limit.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from analysis.facility_kinds import COMMUNITY_FACILITY_KINDS
from analysis.rules import RuleSet
from analysis.verdicts import FAIL, NOT_ASSESSABLE, PASS, Finding
from coverage.circles import population_distances, unit_points
from coverage.engine import facility_seeds, multi_source_distances
from coverage.graph import WalkGraph
from coverage.settings import DEFAULT_MAX_SNAP_M
from coverage.snapping import snap_points
from layers.errors import FieldError
from layers.projection import require_crs

#: Kinds of community elderly facility that C6 asks to sit next to a health facility.
ELDERLY_KINDS: tuple[str, ...] = COMMUNITY_FACILITY_KINDS

#: Kind of a health facility in the facility layer.
HEALTH_KIND: str = "health_centre"


def _ids(frame: pd.DataFrame, prefix: str) -> np.ndarray:
    """``facility_id`` of each row, or ``"<prefix> row <i>"`` when there is none."""
    if "facility_id" in frame.columns:
        return frame["facility_id"].astype(str).to_numpy(dtype=object)
    return np.array([f"{prefix} row {i}" for i in range(len(frame))], dtype=object)


def _label(frame: pd.DataFrame) -> np.ndarray:
    """A readable subject per facility: ``name (id)``, or the id when it has no name."""
    ids = _ids(frame, "facility")
    if "name" not in frame.columns:
        return ids
    names = frame["name"].astype("string").fillna("").str.strip().to_numpy(dtype=object)
    return np.array([f"{n} ({i})" if n else i for n, i in zip(names, ids, strict=True)], dtype=object)


def _search_limit_m(rules: RuleSet, adjacency_m: float, search_limit_m: float | None) -> float:
    if search_limit_m is not None:
        if not search_limit_m >= adjacency_m:
            msg = f"search_limit_m ({search_limit_m} m) must be at least the C6 distance ({adjacency_m} m)"
            raise ValueError(msg)
        return float(search_limit_m)
    if "W1" in rules and "W2" in rules:
        return max(adjacency_m, float(rules.value("W1")) * 60.0 * float(rules.value("W2")))
    return adjacency_m


def check_colocation(
    graph: WalkGraph,
    facilities: gpd.GeoDataFrame,
    rules: RuleSet,
    *,
    health: gpd.GeoDataFrame | None = None,
    search_limit_m: float | None = None,
    max_snap_m: float | None = None,
    area_name: str = "area",
) -> tuple[gpd.GeoDataFrame, list[Finding]]:
    """Walking distance from each community elderly facility to the nearest health facility (C6).

    Parameters
    ----------
    graph : WalkGraph
        The walking graph (metric CRS).
    facilities : GeoDataFrame
        Facilities in the schema of :mod:`layers.facilities` (``kind``, ``facility_id``, ``name``),
        any CRS. Rows of kinds :data:`ELDERLY_KINDS` are checked; rows of kind ``health_centre``
        are health facilities.
    rules : RuleSet
        Gives C6 (the adjacency distance, metres) and, for the default search limit, W1 and W2.
    health : GeoDataFrame, optional
        A separate layer of health facilities (every row is one), any CRS; used together with the
        ``health_centre`` rows of ``facilities``.
    search_limit_m : float, optional
        How far to search, metres (at least C6). Default: the W1 walk at the W2 speed, or C6 if
        that is shorter or the rule set lacks W1/W2.
    max_snap_m : float, optional
        Points farther than this from a walkable street are off-network (metres; default W4 of the
        rule set, else :data:`coverage.settings.DEFAULT_MAX_SNAP_M`).
    area_name : str
        Subject of the area-level finding given when there is no elderly facility to check.

    Returns
    -------
    GeoDataFrame
        The community elderly facilities (input CRS) with ``walk_to_health_m`` (metres, ``inf``
        beyond the search limit, NaN off-network or with no health facility), ``nearest_health_id``
        and ``c6_status`` (``pass``/``fail``/``not_assessable``).
    list of Finding
        One C6 finding per elderly facility (subject kind ``"facility"``); a single area-level
        ``not_assessable`` finding when the layer has no community elderly facility.

    Raises
    ------
    FieldError
        ``facilities`` has no ``kind`` column.
    MissingCRSError
        A layer has no CRS.
    """
    require_crs(facilities, layer="facilities")
    if "kind" not in facilities.columns:
        raise FieldError("the facility layer has no kind column", layer="facilities", field="kind")
    rule = rules["C6"]
    adjacency_m = float(rule.value)
    limit_m = _search_limit_m(rules, adjacency_m, search_limit_m)
    if max_snap_m is None:
        max_snap_m = float(rules.value("W4")) if "W4" in rules else DEFAULT_MAX_SNAP_M

    kinds = facilities["kind"].astype("string").fillna("").str.strip().str.lower()
    elderly = facilities.loc[kinds.isin(ELDERLY_KINDS).to_numpy()].copy()
    health_parts = {"facility": facilities.loc[(kinds == HEALTH_KIND).to_numpy()]}
    if health is not None:
        require_crs(health, layer="health")
        health_parts["health"] = health
    health_points = np.concatenate([unit_points(part.to_crs(graph.crs).geometry) for part in health_parts.values()])
    health_ids = np.concatenate([_ids(part, source) for source, part in health_parts.items()])

    n = len(elderly)
    distance = np.full(n, np.nan)
    nearest_id = np.full(n, None, dtype=object)
    status = np.full(n, NOT_ASSESSABLE, dtype=object)
    if n == 0:
        message = (
            f"{area_name}: C6 cannot be assessed: the facility layer has no community elderly facility "
            f"(kinds {', '.join(ELDERLY_KINDS)})."
        )
        message_zh = f"{area_name}：设施图层中没有社区养老服务设施（综合中心、服务站、日间照料、养老院），无法评估C6。"
        elderly["walk_to_health_m"] = distance
        elderly["nearest_health_id"] = nearest_id
        elderly["c6_status"] = status
        finding = Finding(
            "C6", "area", area_name, NOT_ASSESSABLE, None, adjacency_m, None, rule.unit, message, message_zh
        )
        return elderly, [finding]

    elderly_metric = elderly.to_crs(graph.crs)
    elderly_snap = snap_points(graph, unit_points(elderly_metric.geometry), max_snap_m)
    health_snap = snap_points(graph, health_points, max_snap_m)
    any_health = health_points.size > 0
    health_on_network = bool(health_snap.on_network.any())
    if health_on_network:
        labels = np.arange(health_points.size, dtype=np.int64)
        nodes = multi_source_distances(graph, facility_seeds(graph, health_snap, labels), limit_m)
        walked, nearest = population_distances(graph, elderly_snap, nodes, health_snap, labels)
        on = elderly_snap.on_network
        distance[on] = walked[on]
        reached = on & (nearest >= 0)
        nearest_id[reached] = health_ids[nearest[reached]]
        status[on] = np.where(walked[on] <= adjacency_m, PASS, FAIL)

    names = _label(elderly)
    findings = []
    for i in range(n):  # one finding per facility: a report loop, not a distance computation
        findings.append(
            _finding(
                names[i],
                status[i],
                distance[i],
                nearest_id[i],
                adjacency_m,
                limit_m,
                max_snap_m,
                rule.unit,
                any_health=any_health,
                health_on_network=health_on_network,
                on_network=bool(elderly_snap.on_network[i]),
            )
        )
    elderly["walk_to_health_m"] = distance
    elderly["nearest_health_id"] = nearest_id
    elderly["c6_status"] = status
    return elderly, findings


def _finding(
    subject: str,
    status: str,
    distance_m: float,
    nearest_id: str | None,
    adjacency_m: float,
    limit_m: float,
    max_snap_m: float,
    unit: str,
    *,
    any_health: bool,
    health_on_network: bool,
    on_network: bool,
) -> Finding:
    if not any_health:
        message = (
            f"{subject}: C6 cannot be assessed: there is no health facility at all (no health_centre rows "
            "in the facility layer and no health layer); add community health centres or clinics."
        )
        message_zh = f"{subject}：没有任何卫生服务设施（设施图层无卫生服务中心，也未提供卫生设施图层），无法评估C6。"
        return Finding("C6", "facility", subject, NOT_ASSESSABLE, None, adjacency_m, None, unit, message, message_zh)
    if not health_on_network:
        message = (
            f"{subject}: C6 cannot be assessed: every health facility is more than {max_snap_m:.0f} m from a "
            "walkable street (W4)."
        )
        message_zh = f"{subject}：所有卫生服务设施距步行道路均超过{max_snap_m:.0f}米（W4），无法评估C6。"
        return Finding("C6", "facility", subject, NOT_ASSESSABLE, None, adjacency_m, None, unit, message, message_zh)
    if not on_network:
        message = (
            f"{subject}: C6 cannot be assessed: the facility is more than {max_snap_m:.0f} m from a walkable "
            "street (W4); check its location."
        )
        message_zh = f"{subject}：该设施距步行道路超过{max_snap_m:.0f}米（W4），无法评估C6，请核对位置。"
        return Finding("C6", "facility", subject, NOT_ASSESSABLE, None, adjacency_m, None, unit, message, message_zh)
    if status == PASS:
        message = (
            f"{subject}: {distance_m:.0f} m walk to the nearest health facility ({nearest_id}), within C6 "
            f"(≤ {adjacency_m:.0f} m)."
        )
        message_zh = f"{subject}：步行{distance_m:.0f}米可达最近的卫生服务设施（{nearest_id}），符合C6毗邻要求（不超过{adjacency_m:.0f}米）。"
        return Finding("C6", "facility", subject, PASS, float(distance_m), adjacency_m, 0.0, unit, message, message_zh)
    if np.isfinite(distance_m):
        excess = float(distance_m - adjacency_m)
        message = (
            f"{subject}: {distance_m:.0f} m walk to the nearest health facility ({nearest_id}), "
            f"{excess:.0f} m more than C6 allows (≤ {adjacency_m:.0f} m)."
        )
        message_zh = (
            f"{subject}：步行{distance_m:.0f}米才到最近的卫生服务设施（{nearest_id}），"
            f"超出C6要求（不超过{adjacency_m:.0f}米）{excess:.0f}米。"
        )
        return Finding(
            "C6", "facility", subject, FAIL, float(distance_m), adjacency_m, excess, unit, message, message_zh
        )
    message = (
        f"{subject}: no health facility within {limit_m:.0f} m walk (the search limit); C6 asks ≤ {adjacency_m:.0f} m."
    )
    message_zh = (
        f"{subject}：步行{limit_m:.0f}米（搜索范围）内没有卫生服务设施，不符合C6要求（不超过{adjacency_m:.0f}米）。"
    )
    return Finding("C6", "facility", subject, FAIL, None, adjacency_m, None, unit, message, message_zh)
