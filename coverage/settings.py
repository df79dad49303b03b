"""Defaults of the walking engine, each tied to the planning rule it comes from.

Rule ids refer to ``PLANNING_RULES.md`` in the shared folder (W1: 15-minute circle, W2: walking
speeds, W4: distance on the street network from the nearest point on a street).
"""

from __future__ import annotations

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

#: Edges shorter than this (metres) are given this length so zero-length OSM segments stay edges.
MIN_EDGE_LENGTH_M: float = 0.01

#: Share of residents aged 60+ used when a population layer has totals only
#: (seed 000, Panshi: 93 384 people aged 60+ = 25.22 %).
DEFAULT_ELDERLY_SHARE: float = 0.2522


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
    if not 0.1 <= value <= 3.0:
        msg = f"walking speed {value} m/s is outside 0.1-3.0 m/s: give metres per second, not km/h"
        raise ValueError(msg)
    return value
