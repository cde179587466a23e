"""JSON Lines in and out: the evaluation files and the ``rank`` output.

Package lines: ``{"id", "title", "description", "category", "industries", "scenario_level"}``
and optionally every other :class:`~matching.records.PackageRecord` field (``clusters``,
``regions_served``, ``price_fen``, ``provider_id``, ``provider_tier``, ``provider_verified``,
``provider_rating``, ``provider_status``, ``chain_leader_id``, ``tokens``). Need lines:
``{"id", "text", "industry", "relevant"}`` and optionally the other
:class:`~matching.records.NeedRecord` fields. ``scenario_level`` may be a code or a list.

Structured fields take the code or its label, tolerating common variants (``quality``, 质量检测,
质量检测类; ``line``, 产线级; ``C36``, 汽车制造业, 汽车零部件: see :func:`matching.codes.resolve`).
A value that names nothing known is dropped and counted in the :class:`InputReport`. Money
fields (``budget_min_fen``, ``budget_max_fen``, ``price_fen``) take fen as a number, or an
amount in yuan with its unit as text ("5万", "5000元", "3.5万元以内"); ``budget`` takes yuan
text or a range ("3-5万"). Anything else is a :class:`DataError`, never a traceback. Ids must be
unique within a file.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .codes import resolve
from .records import NeedRecord, PackageRecord


class DataError(ValueError):
    """A line of an input file is not what the format asks for."""


class InputReport:
    """Counts the records whose structured fields held values nothing resolves to."""

    def __init__(self) -> None:
        self.records = 0
        self.unrecognised: Counter[tuple[str, str]] = Counter()
        self._flagged: set[tuple[str, Any]] = set()

    def note(self, kind: str, record_id: Any, field: str, value: Any) -> None:
        self.unrecognised[kind, field] += 1
        self._flagged.add((kind, record_id))

    def flagged(self, kind: str) -> int:
        return sum(1 for k, _ in self._flagged if k == kind)

    def summary(self, kind: str, total: int) -> str | None:
        """One line for stderr, or ``None`` when every value was recognised."""
        n = self.flagged(kind)
        if not n:
            return None
        counts = sorted((f, c) for (k, f), c in self.unrecognised.items() if k == kind)
        fields = ", ".join(f"{f}: {c} values" for f, c in counts)
        return f"{n} of {total} {kind} had unrecognised values (dropped; {fields})"


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                try:
                    value = json.loads(line)
                except ValueError as exc:
                    raise DataError(f"{path}:{number}: not JSON ({exc})") from None
                if not isinstance(value, dict):
                    raise DataError(f"{path}:{number}: not a JSON object")
                yield value


def _tuple(value: Any) -> tuple:
    if value is None or value == "":
        return ()
    return tuple(value) if isinstance(value, list | tuple) else (value,)


_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(万|千|百|w|k)?")
_UNITS = {None: 1, "百": 100, "千": 1_000, "k": 1_000, "万": 10_000, "w": 10_000}
_MONEY = re.compile(
    r"(?:约|大约|不超过|最多|最高)?(\d+(?:\.\d+)?(?:万|千|百|w|k)?)(?:元|块|rmb)?"
    r"(?:[-~～至到](\d+(?:\.\d+)?(?:万|千|百|w|k)?)(?:元|块|rmb)?)?"
    r"(以内|以下|之内|内|左右|上下)?"
)


def _yuan_fen(amount: str, unit: str | None) -> int:
    match = _AMOUNT.fullmatch(amount)
    assert match is not None
    return round(float(match.group(1)) * _UNITS[match.group(2) or unit] * 100)


def parse_money(value: Any, field: str = "budget") -> tuple[int | None, int | None]:
    """``(low, high)`` in fen from a number of fen or a text in yuan ("5万", "3-5万元以内")."""
    if value is None or value == "":
        return None, None
    if isinstance(value, bool):
        raise DataError(f"{field}: {value!r} is not an amount")
    if isinstance(value, int | float):
        if value < 0:
            raise DataError(f"{field}: {value!r} is negative")
        return round(value), round(value)
    text = re.sub(r"[\s,，]", "", str(value)).lower()
    match = _MONEY.fullmatch(text)
    if not match:
        raise DataError(f"{field}: {value!r} is not an amount (write e.g. 50000, 5万, 3-5万元)")
    low, high = match.group(1), match.group(2) or match.group(1)
    # "3-5万": the unit written once applies to both ends.
    unit = _AMOUNT.fullmatch(high).group(2)
    upper_only = match.group(2) is None and match.group(3) in ("以内", "以下", "之内", "内")
    return (None if upper_only else _yuan_fen(low, unit)), _yuan_fen(high, unit)


def _fen(d: dict[str, Any], key: str, which: int) -> int | None:
    value = d.get(key)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())  # digits alone in a *_fen field are fen, as a number is
    return parse_money(value, key)[which]


def _code(kind: str, value: Any, record_id: Any, field: str, report, rkind: str):
    if value is None or value == "":
        return None
    code = resolve(kind, value)
    if code is None and report is not None:
        report.note(rkind, record_id, field, value)
    return code


def _codes(kind: str, values: Any, record_id: Any, field: str, report, rkind: str) -> tuple:
    found = (_code(kind, v, record_id, field, report, rkind) for v in _tuple(values))
    return tuple(dict.fromkeys(c for c in found if c is not None))


def package_from_dict(d: dict[str, Any], report: InputReport | None = None) -> PackageRecord:
    if "id" not in d or "title" not in d:
        raise DataError(f"package line needs id and title: {d!r:.80}")
    tokens, pid = d.get("tokens"), d["id"]

    def codes_of(kind, field, value):
        return _codes(kind, value, pid, field, report, "packages")

    try:
        price = _fen(d, "price_fen", 0)
    except DataError as exc:
        raise DataError(f"package {pid!r}: {exc}") from None
    return PackageRecord(
        id=pid,
        title=d["title"],
        text=d.get("description", d.get("text", "")) or "",
        category=_code("category", d.get("category"), pid, "category", report, "packages"),
        scenario_levels=codes_of(
            "scenario_level", "scenario_level", d.get("scenario_levels", d.get("scenario_level"))
        ),
        industries=codes_of("industry", "industries", d.get("industries")),
        clusters=codes_of("cluster", "clusters", d.get("clusters")),
        regions_served=_tuple(d.get("regions_served")),
        deployment=d.get("deployment"),
        price_fen=price,
        provider_id=d.get("provider_id"),
        provider_tier=d.get("provider_tier"),
        provider_verified=bool(d.get("provider_verified", False)),
        provider_rating=d.get("provider_rating"),
        provider_status=d.get("provider_status", "normal"),
        chain_leader_id=d.get("chain_leader_id"),
        tokens=None if tokens is None else tuple(tokens),
    )


def _budget(d: dict[str, Any]) -> tuple[int | None, int | None]:
    low, high = parse_money(d.get("budget"), "budget")
    if d.get("budget_min_fen") not in (None, ""):
        low = _fen(d, "budget_min_fen", 0)
    if d.get("budget_max_fen") not in (None, ""):
        high = _fen(d, "budget_max_fen", 1)
    return low, high


def need_from_dict(d: dict[str, Any], report: InputReport | None = None) -> NeedRecord:
    if "id" not in d or "text" not in d:
        raise DataError(f"need line needs id and text: {d!r:.80}")
    tokens, nid = d.get("tokens"), d["id"]
    try:
        low, high = _budget(d)
    except DataError as exc:
        raise DataError(f"need {nid!r}: {exc}") from None

    def code_of(kind, field):
        return _code(kind, d.get(field), nid, field, report, "needs")

    return NeedRecord(
        id=nid,
        text=d["text"] or "",
        category=code_of("category", "category"),
        scenario_level=code_of("scenario_level", "scenario_level"),
        industry=code_of("industry", "industry"),
        cluster=code_of("cluster", "cluster"),
        regions=_tuple(d.get("regions")),
        budget_min_fen=low,
        budget_max_fen=high,
        chain_leader_id=d.get("chain_leader_id"),
        enterprise_id=d.get("enterprise_id"),
        tokens=None if tokens is None else tuple(tokens),
    )


def _refuse_duplicates(path: str | Path, ids: list[Any]) -> None:
    seen: dict[Any, int] = {}
    for number, item in enumerate(ids, 1):
        if item in seen:
            raise DataError(
                f"{path}: id {item!r} appears twice (records {seen[item]} and {number}); "
                "ids must be unique"
            )
        seen[item] = number


def read_packages(path: str | Path, report: InputReport | None = None) -> list[PackageRecord]:
    packages = [package_from_dict(d, report) for d in read_jsonl(path)]
    _refuse_duplicates(path, [p.id for p in packages])
    return packages


def read_needs(
    path: str | Path, report: InputReport | None = None
) -> tuple[list[NeedRecord], dict[Any, list[Any]]]:
    """Needs and their labels (``relevant``, best first; needs without the key get none)."""
    needs, labels = [], {}
    for d in read_jsonl(path):
        need = need_from_dict(d, report)
        needs.append(need)
        if "relevant" in d:
            labels[need.id] = list(d["relevant"])
    _refuse_duplicates(path, [n.id for n in needs])
    return needs, labels
