"""Ageing to the target year: the share of residents aged 60+ in the year a check is made for.

A population layer gives people today; the seeds' targets are for 2025 and 2027, when more of them
are old. The planner gives either the share per year (``--elderly-share-by-year 2025=0.26,2027=0.28``)
or a yearly growth of the share in absolute points (``--elderly-share-growth 0.005`` from the
share of the population layer in ``--base-year``). :class:`ElderlyShareByYear` says which share
applies to a year, and :func:`apply_share` sets the elderly count of every population unit to
``population × share``, so every demand-side check (W1 elderly shares, C5 beds per 1000 elderly,
2SFCA) uses the share of the year checked.

Decisions
---------
* Between two given years the share is interpolated linearly; a year outside the given ones is an
  error naming the option (a share is never extrapolated silently).
* The default base year of the growth is 2020, the year of the 7th national census from which
  the default share (Panshi, 25.22 %, seed 000) is taken; give ``--base-year`` for other data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np

from layers.defaults import DEFAULT_BASE_YEAR
from layers.errors import InputError


@dataclass(frozen=True)
class ElderlyShareByYear:
    """Share of residents aged 60+ (0-1) per calendar year.

    Attributes
    ----------
    method : str
        ``"by_year"`` (shares given per year) or ``"growth"`` (base share + growth × years).
    shares : dict of int to float
        Given shares per year (``by_year``).
    base_share : float
        Share in ``base_year`` (``growth``): the population layer's own elderly share.
    base_year : int
        Year of the population data (``growth``).
    growth : float
        Yearly growth of the share, in absolute share points (0.005 = +0.5 points a year).
    """

    method: str
    shares: dict[int, float] = field(default_factory=dict)
    base_share: float = float("nan")
    base_year: int = DEFAULT_BASE_YEAR
    growth: float = 0.0

    def share(self, year: int) -> float:
        """The share aged 60+ in ``year`` (0-1).

        Raises
        ------
        InputError
            ``year`` lies outside the given years (``by_year``) or the share leaves 0-1.
        """
        if self.method == "growth":
            value = self.base_share + self.growth * (int(year) - self.base_year)
            if not 0.0 < value < 1.0:
                msg = (
                    f"--elderly-share-growth {self.growth:g} from {self.base_share:.4f} in {self.base_year} "
                    f"gives a share of {value:.4f} in {year}, outside 0-1"
                )
                raise InputError(msg, field="--elderly-share-growth")
            return value
        years = sorted(self.shares)
        if int(year) in self.shares:
            return self.shares[int(year)]
        if not years or year < years[0] or year > years[-1]:
            msg = (
                f"no elderly share for {year}: --elderly-share-by-year gives "
                f"{', '.join(str(y) for y in years)}; add {year}=SHARE (shares are interpolated only between given years)"
            )
            raise InputError(msg, field="--elderly-share-by-year")
        return float(np.interp(year, years, [self.shares[y] for y in years]))

    def describe(self) -> str:
        """One sentence for the report: which option gave the share and how."""
        if self.method == "growth":
            return (
                f"elderly share grows {self.growth * 100:+.2f} points a year from {self.base_share:.2%} in "
                f"{self.base_year} (--elderly-share-growth, --base-year)"
            )
        given = ", ".join(f"{y}: {s:.2%}" for y, s in sorted(self.shares.items()))
        return f"elderly share per year given by --elderly-share-by-year ({given}; linear between given years)"


def parse_share_by_year(text: str) -> dict[int, float]:
    """Parse ``"2025=0.26,2027=0.28"`` into ``{2025: 0.26, 2027: 0.28}``.

    Raises
    ------
    InputError
        A part is not ``YEAR=SHARE`` or a share is not strictly between 0 and 1.
    """
    shares: dict[int, float] = {}
    for part in str(text).split(","):
        if not part.strip():
            continue
        year_text, sep, share_text = part.partition("=")
        try:
            year, share = int(year_text.strip()), float(share_text.strip())
        except ValueError:
            year, share = None, None
        if not sep or year is None or share is None:
            raise InputError(f"'{part.strip()}' is not YEAR=SHARE (e.g. 2025=0.26)", field="--elderly-share-by-year")
        if not 0.0 < share < 1.0:
            raise InputError(f"the share for {year} must be between 0 and 1, got {share}", field="--elderly-share-by-year")
        shares[year] = share
    if not shares:
        raise InputError("no YEAR=SHARE pair given", field="--elderly-share-by-year")
    return shares


def layer_share(population: gpd.GeoDataFrame) -> float:
    """The elderly share of a population layer: elderly persons ÷ persons (0-1)."""
    total = float(population["population"].sum())
    if total <= 0:
        raise InputError("the population layer counts nobody: no elderly share to age", layer="population")
    return float(population["elderly_population"].sum()) / total


def share_schedule(
    population: gpd.GeoDataFrame,
    *,
    by_year: dict[int, float] | str | None = None,
    growth: float | None = None,
    base_year: int | None = None,
) -> ElderlyShareByYear | None:
    """The ageing schedule of the options given, or None when neither was given.

    Raises
    ------
    InputError
        Both options given, or ``base_year`` without a growth.
    """
    if by_year is not None and growth is not None:
        raise InputError("give --elderly-share-by-year or --elderly-share-growth, not both", field="--elderly-share-growth")
    if base_year is not None and growth is None:
        raise InputError("--base-year is the year of the population data for --elderly-share-growth", field="--base-year")
    if by_year is not None:
        shares = parse_share_by_year(by_year) if isinstance(by_year, str) else {int(k): float(v) for k, v in by_year.items()}
        return ElderlyShareByYear("by_year", shares=shares)
    if growth is not None:
        return ElderlyShareByYear(
            "growth", base_share=layer_share(population), base_year=int(base_year or DEFAULT_BASE_YEAR), growth=float(growth)
        )
    return None


def apply_share(population: gpd.GeoDataFrame, share: float) -> gpd.GeoDataFrame:
    """A copy of the population units with ``elderly_population = population × share`` (persons)."""
    out = population.copy()
    out["elderly_population"] = out["population"].to_numpy(dtype=float) * float(share)
    return out
