"""The shared reference codes (``docs/codes.md``) the recommender turns into numbers."""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

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


# --------------------------------------------------------------- labels → codes

LABELS_FILE = Path(__file__).parent / "data" / "labels.json"
# Characters that differ between ways of writing one label: spaces, separators, brackets.
_NOISE = re.compile(r"[\s、，,·/\\|()（）\[\]【】<>《》\"'“”‘’_\-—]+")
# Suffixes people add to a label ("设备级", "汽车行业", "质量检测类").
_SUFFIXES = ("行业", "领域", "方向", "场景", "方面", "级", "层", "类")
# What industry names share and therefore says nothing about which one is meant.
_INDUSTRY_TAIL = re.compile(r"(制造业|制品业|加工业|工业|业)$")
_GENERIC_PARTS = frozenset({"其他", "其他制造", "制造", "加工", "设备", "制品", "器材", "用品"})


def _fold(value: str) -> str:
    return _NOISE.sub("", unicodedata.normalize("NFKC", str(value)).lower())


class LabelIndex:
    """Resolve a code, a label or a common variant of a label to one code.

    Exact codes and labels (Chinese or English, case and separators ignored) first, then the
    label with a suffix like 级/类/行业 removed, then containment: the value contains a known
    stem or a stem contains the value (at least two characters). The longest such match wins;
    when matches of the same length point at different codes the value is ambiguous and
    resolves to nothing.
    """

    def __init__(self, entries: list[dict], split_parts: bool = False):
        self.codes = tuple(e["code"] for e in entries)
        self.names = {e["code"]: e["name"] for e in entries}
        self._exact: dict[str, str] = {}
        self._stems: list[tuple[str, str]] = []
        for e in entries:
            code = e["code"]
            for text in (code, e["name"], e.get("name_en", "")):
                if text:
                    self._exact.setdefault(_fold(text), code)
            for stem in self._stems_of(e["name"], split_parts):
                self._stems.append((stem, code))

    @staticmethod
    def _stems_of(name: str, split_parts: bool) -> set[str]:
        folded = _fold(name)
        stems = {folded, _INDUSTRY_TAIL.sub("", folded)}
        if split_parts:
            for part in re.split(r"[、，,和及与]", _INDUSTRY_TAIL.sub("", name)):
                part = _fold(part).removeprefix("其他")
                if len(part) >= 2 and part not in _GENERIC_PARTS:
                    stems.add(part)
        return {s for s in stems if len(s) >= 2}

    def resolve(self, value: Any) -> str | None:
        """The code ``value`` names, or ``None`` (empty values too: see :meth:`is_known`)."""
        if value is None:
            return None
        folded = _fold(value)
        if not folded:
            return None
        if folded in self._exact:
            return self._exact[folded]
        for suffix in _SUFFIXES:
            if folded.endswith(suffix) and folded[: -len(suffix)] in self._exact:
                return self._exact[folded[: -len(suffix)]]
        return self._by_containment(folded)

    def _by_containment(self, folded: str) -> str | None:
        best_len, found = 0.0, set()
        for stem, code in self._stems:
            if stem in folded or (len(folded) >= 2 and folded in stem):
                # A stem equal to the value beats one that merely contains it (纺织 → 纺织业).
                length = min(len(stem), len(folded)) + (0.5 if stem == folded else 0.0)
                if length > best_len:
                    best_len, found = length, {code}
                elif length == best_len:
                    found.add(code)
        return found.pop() if len(found) == 1 else None


def _division_code(value: Any) -> str | None:
    match = re.fullmatch(r"c?(\d{2})", _fold(value)) if value is not None else None
    if match and FIRST_DIVISION <= int(match.group(1)) <= LAST_DIVISION:
        return f"C{match.group(1)}"
    return None


@functools.cache
def label_indexes() -> dict[str, LabelIndex]:
    """One :class:`LabelIndex` per field kind, from ``data/labels.json``."""
    data = json.loads(LABELS_FILE.read_text(encoding="utf-8"))
    return {
        "category": LabelIndex(data["categories"]),
        "scenario_level": LabelIndex(data["scenario_levels"]),
        "industry": LabelIndex(data["industries"], split_parts=True),
        "cluster": LabelIndex(data["clusters"]),
    }


def resolve(kind: str, value: Any) -> str | None:
    """The code for ``value`` of a field kind (``category``, ``scenario_level``, ``industry``,
    ``cluster``), accepting the code itself, its label or a common variant; else ``None``."""
    if kind == "industry":
        division = _division_code(value)
        if division is not None:
            return division
    return label_indexes()[kind].resolve(value)


def label_of(kind: str, code: str | None) -> str:
    """The Chinese label of a code (empty for an unknown code)."""
    return label_indexes()[kind].names.get(code, "") if code else ""
