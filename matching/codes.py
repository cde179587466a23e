"""The shared reference codes (``docs/codes.md``) the recommender turns into numbers."""

from __future__ import annotations

CATEGORIES = (
    "device_monitoring",
    "production_mgmt",
    "quality",
    "energy",
    "warehouse_logistics",
    "business_mgmt",
    "marketing_crm",
    "supply_chain",
    "rnd_design",
    "safety",
    "lowcode_integration",
    "digital_twin",
    "data_security",
)
LEVEL_RANK = {"device": 1, "cell": 2, "line": 3, "workshop": 4, "factory": 5}
TIER_RANK = {
    "enterprise": 1,
    "industry": 2,
    "regional": 2,
    "provincial_cross": 3,
    "national_specialized": 4,
    "national_cross": 5,
}
CLUSTERS = ("biomed", "high_end_equipment", "ic", "power_equipment", "new_energy")
# GB/T 4754-2017 manufacturing divisions run from C13 to C43: one bit each in an int64.
FIRST_DIVISION, LAST_DIVISION = 13, 43


def category_index(code: str | None) -> int:
    return CATEGORIES.index(code) if code in CATEGORIES else -1


def level_mask(codes) -> int:
    """Bit ``rank - 1`` for each scenario level, so "same" and "adjacent" are bit tests."""
    mask = 0
    for code in codes:
        if code in LEVEL_RANK:
            mask |= 1 << (LEVEL_RANK[code] - 1)
    return mask


def industry_mask(codes) -> int:
    mask = 0
    for code in codes:
        if code and code[:1] in ("C", "c") and code[1:3].isdigit():
            division = int(code[1:3])
            if FIRST_DIVISION <= division <= LAST_DIVISION:
                mask |= 1 << (division - FIRST_DIVISION)
    return mask


def cluster_mask(codes) -> int:
    mask = 0
    for code in codes:
        if code in CLUSTERS:
            mask |= 1 << CLUSTERS.index(code)
    return mask
