"""Checked numeric command-line values: finite, in a sensible range, the flag named in the error.

Every numeric option of ``python -m coverage circles|check|sites`` is parsed with one of these
``argparse`` types. A bad value (``nan``, ``inf``, a negative distance, a share above 1, ...)
raises :class:`argparse.ArgumentTypeError`, which argparse reports as
``error: argument --minutes: --minutes must be ...`` with exit status 2, before any file is read.

The ranges are plausibility limits of the command line, not planning rules (those live in
``data/rules/*.toml``): they stop typing mistakes (km/h for m/s, metres for minutes) and values
that make a run meaningless or endless. Their values, with their origins, are in
:mod:`layers.defaults` (``MINUTES_RANGE``, ``COUNT_RANGE``, ...), imported here under the same names.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import NoReturn

from coverage.settings import SPEED_PRESETS
from layers.defaults import (  # the ranges live with every other default, each with its origin
    COUNT_RANGE,
    MAX_SNAP_RANGE_M,
    MINUTES_RANGE,
    PERSONS_PER_HOUSEHOLD_RANGE,
    SPEED_RANGE_MPS,
    TIME_LIMIT_RANGE_S,
)

__all__ = [
    "COUNT_RANGE",
    "MAX_SNAP_RANGE_M",
    "MINUTES_RANGE",
    "PERSONS_PER_HOUSEHOLD_RANGE",
    "SPEED_RANGE_MPS",
    "TIME_LIMIT_RANGE_S",
    "OneLineParser",
    "bounded_float",
    "bounded_int",
    "number_or_column",
    "share",
    "speed",
]


def _number(text: str, flag: str, what: str) -> float:
    """Parse ``text`` as a finite float or raise an error naming ``flag``."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{flag} must be {what}, got '{text}'") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{flag} must be {what}, got '{text}' (not a finite number)")
    return value


def bounded_float(
    flag: str, low: float, high: float, *, unit: str, low_inclusive: bool = False
) -> Callable[[str], float]:
    """Return an argparse type: a finite float in ``(low, high]`` (``[low, high]`` with ``low_inclusive``).

    Parameters
    ----------
    flag : str
        The option, e.g. ``"--minutes"``, named in every message.
    low, high : float
        The accepted range (``high`` always included).
    unit : str
        Unit for the message (``"minutes"``, ``"metres"``); ``"a share"`` for shares 0-1.
    low_inclusive : bool
        Accept ``low`` itself.
    """
    if unit == "a share":
        what = "a share between 0 and 1" + ("" if low_inclusive else " (above 0)")
    elif low == 0 and not low_inclusive:
        what = f"positive and at most {high:g} {unit}"
    else:
        what = f"from {low:g} to {high:g} {unit}"

    def parse(text: str) -> float:
        value = _number(text, flag, what)
        too_low = value < low if low_inclusive else value <= low
        if too_low or value > high:
            raise argparse.ArgumentTypeError(f"{flag} must be {what}, got {value:g}")
        return value

    parse.__name__ = flag  # argparse names the type in "invalid <type> value" messages
    return parse


def bounded_int(flag: str, low: int, high: int) -> Callable[[str], int]:
    """Return an argparse type: a whole number in ``[low, high]``, the flag named in the message."""
    what = f"a whole number, at least {low} and at most {high}"

    def parse(text: str) -> int:
        value = _number(text, flag, what)
        if value != int(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{flag} must be {what}, got '{text}'")
        return int(value)

    parse.__name__ = flag
    return parse


def share(flag: str, *, allow_zero: bool = False) -> Callable[[str], float]:
    """Return an argparse type: a share in ``(0, 1]`` (``[0, 1]`` with ``allow_zero``)."""
    return bounded_float(flag, 0.0, 1.0, unit="a share", low_inclusive=allow_zero)


def speed(flag: str = "--speed") -> Callable[[str], str]:
    """Return an argparse type: a preset name of W2 or a finite speed in m/s in the accepted range."""
    low, high = SPEED_RANGE_MPS
    what = f"a preset ({', '.join(SPEED_PRESETS)}) or metres per second in [{low:g}, {high:g}]"

    def parse(text: str) -> str:
        if text.strip().lower() in SPEED_PRESETS:
            return text.strip().lower()
        try:
            float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} must be {what}: unknown walking speed '{text}'") from None
        value = _number(text, flag, what)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{flag} must be {what} (metres per second, not km/h), got {value:g}")
        return text

    parse.__name__ = flag
    return parse


def number_or_column(flag: str) -> Callable[[str], str]:
    """Return an argparse type: a column name, or a number that must be finite and above 0."""

    def parse(text: str) -> str:
        try:
            value = float(text)
        except ValueError:
            if not text.strip():
                raise argparse.ArgumentTypeError(f"{flag} must be a number above 0 or a column name, got ''") from None
            return text
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"{flag} must be a finite number above 0 or a column name, got '{text}'")
        return text

    parse.__name__ = flag
    return parse


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line ``error: ...`` (exit status 2), no usage block.

    An error of a checked type already names its flag (``--minutes must be ...``): argparse's
    ``argument --minutes:`` prefix is then dropped, so the line reads ``error: --minutes must be ...``.
    """

    def error(self, message: str) -> NoReturn:  # noqa: D102 - argparse API
        prefix, _, rest = message.partition(": ")
        if prefix.startswith("argument ") and rest.startswith(prefix.removeprefix("argument ").split("/")[0]):
            message = rest
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")
