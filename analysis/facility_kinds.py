"""Facility kinds (the ``kind`` column of :mod:`layers.facilities`) that count for each rule.

One kind column cannot say "station AND day care", so the rule is: kind ``day_care_station``
(社区日间照料服务站) is counted in both :data:`STATION_KINDS` (T2, T3) and :data:`DAY_CARE_KINDS`
(T4, T5). Health facilities (``health_centre``) count for no elderly-service rule: they are the
C6 layer.
"""

from __future__ import annotations

from layers.facilities import FACILITY_KINDS, HEALTH_KINDS

#: Every elderly-service kind (W1 circles, site selection): all kinds but health facilities.
ELDERLY_SERVICE_KINDS: tuple[str, ...] = tuple(k for k in FACILITY_KINDS if k not in HEALTH_KINDS)

#: Facility kinds whose land and building areas count for Q1-Q3: every kind but health centres
#: (a clinic next door is C6 co-location, not elderly-service floor space).
ELDERLY_FACILITY_KINDS: tuple[str, ...] = ELDERLY_SERVICE_KINDS

#: Township/street comprehensive centres (T1, T2, T3, T6). Activity centres (老年活动中心),
#: guidance centres (养老服务指导中心), dementia-care and combined medical-care centres are not.
CENTRE_KINDS: tuple[str, ...] = ("township_centre",)

#: Community stations (T2, T3): 社区养老服务站 and 社区日间照料服务站.
STATION_KINDS: tuple[str, ...] = ("community_station", "day_care_station")

#: Day care (T4 extra points, T5 coverage): 日间照料中心 and 社区日间照料服务站.
DAY_CARE_KINDS: tuple[str, ...] = ("day_care", "day_care_station")

#: Elderly-care institutions (养老机构: nursing homes, welfare homes) whose beds C2/C2b share over.
INSTITUTION_KINDS: tuple[str, ...] = ("nursing_home",)

#: Rural village points (R1, T7): 养老大院, 互助站/互助养老站点, 幸福院.
VILLAGE_POINT_KINDS: tuple[str, ...] = ("village_point",)

#: Meal-assistance points (M1): 老年食堂, 助餐点, 敬老餐厅.
MEAL_POINT_KINDS: tuple[str, ...] = ("meal_point",)

#: Facility kinds that make a resident "served" by a community facility within the walk.
COMMUNITY_FACILITY_KINDS: tuple[str, ...] = (
    "township_centre", "community_station", "day_care_station", "day_care", "nursing_home",
)
