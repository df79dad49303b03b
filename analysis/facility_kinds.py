"""Facility kinds (the ``kind`` column of :mod:`layers.facilities`) that count for each rule."""

from __future__ import annotations

#: Facility kinds whose land and building areas count for Q1-Q3: every kind but health centres
#: (a clinic next door is C6 co-location, not elderly-service floor space).
ELDERLY_FACILITY_KINDS: tuple[str, ...] = ("township_centre", "community_station", "day_care", "nursing_home", "other")

#: Facility kinds that make a resident "served" by the 15-minute circle (W1).
COMMUNITY_FACILITY_KINDS: tuple[str, ...] = ("township_centre", "community_station", "day_care", "nursing_home")
