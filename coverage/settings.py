"""Walking-speed resolution and the walking defaults (re-exported from :mod:`layers.defaults`).

Rule ids refer to ``PLANNING_RULES.md`` in the shared folder (W1: 15-minute circle, W2: walking
speeds, W4: distance on the street network from the nearest point on a street).
"""

from __future__ import annotations

from layers.defaults import (
    DEFAULT_ELDERLY_SHARE,
    DEFAULT_MAX_SNAP_M,
    DEFAULT_MINUTES,
    DEFAULT_SPEED_PRESET,
    MIN_EDGE_LENGTH_M,
    REPORTED_WALK_FACTOR,
    SERVICE_AREA_BUFFER_M,
    SERVICE_AREA_CELL_M,
    SERVICE_AREA_PIECE_M,
    SPEED_PRESETS,
    SPEED_RANGE_MPS,
)

#: The walking defaults live in :mod:`layers.defaults` (the bottom layer); these names stay
#: importable from here.
__all__ = [
    "DEFAULT_ELDERLY_SHARE",
    "DEFAULT_MAX_SNAP_M",
    "DEFAULT_MINUTES",
    "DEFAULT_SPEED_PRESET",
    "MIN_EDGE_LENGTH_M",
    "REPORTED_WALK_FACTOR",
    "SERVICE_AREA_BUFFER_M",
    "SERVICE_AREA_CELL_M",
    "SERVICE_AREA_PIECE_M",
    "SPEED_PRESETS",
    "resolve_speed",
]


def resolve_speed(speed: float | str | None) -> float:
    """Return a walking speed in metres per second from a number or a preset name (W2)."""
    if speed is None:
        return SPEED_PRESETS[DEFAULT_SPEED_PRESET]
    if isinstance(speed, str):
        key = speed.strip().lower()
        if key in SPEED_PRESETS:
            return SPEED_PRESETS[key]
        try:
            speed = float(key)
        except ValueError:
            msg = f"unknown walking speed '{speed}': use a number in m/s or one of {sorted(SPEED_PRESETS)}"
            raise ValueError(msg) from None
    value = float(speed)
    low, high = SPEED_RANGE_MPS
    if not low <= value <= high:
        msg = f"walking speed {value} m/s is outside {low:g}-{high:.1f} m/s: give metres per second, not km/h"
        raise ValueError(msg)
    return value
