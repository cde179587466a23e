"""JSON Lines in and out: the evaluation files and the ``rank`` output.

Package lines: ``{"id", "title", "description", "category", "industries", "scenario_level"}``
and optionally every other :class:`~matching.records.PackageRecord` field (``clusters``,
``regions_served``, ``price_fen``, ``provider_id``, ``provider_tier``, ``provider_verified``,
``provider_rating``, ``provider_status``, ``chain_leader_id``, ``tokens``). Need lines:
``{"id", "text", "industry", "relevant"}`` and optionally the other
:class:`~matching.records.NeedRecord` fields. ``scenario_level`` may be a code or a list.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .records import NeedRecord, PackageRecord


class DataError(ValueError):
    """A line of an input file is not what the format asks for."""


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except ValueError as exc:
                    raise DataError(f"{path}:{number}: not JSON ({exc})") from None


def _tuple(value: Any) -> tuple:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, list | tuple) else (value,)


def package_from_dict(d: dict[str, Any]) -> PackageRecord:
    if "id" not in d or "title" not in d:
        raise DataError(f"package line needs id and title: {d!r:.80}")
    tokens = d.get("tokens")
    return PackageRecord(
        id=d["id"],
        title=d["title"],
        text=d.get("description", d.get("text", "")) or "",
        category=d.get("category"),
        scenario_levels=_tuple(d.get("scenario_levels", d.get("scenario_level"))),
        industries=_tuple(d.get("industries")),
        clusters=_tuple(d.get("clusters")),
        regions_served=_tuple(d.get("regions_served")),
        deployment=d.get("deployment"),
        price_fen=d.get("price_fen"),
        provider_id=d.get("provider_id"),
        provider_tier=d.get("provider_tier"),
        provider_verified=bool(d.get("provider_verified", False)),
        provider_rating=d.get("provider_rating"),
        provider_status=d.get("provider_status", "normal"),
        chain_leader_id=d.get("chain_leader_id"),
        tokens=None if tokens is None else tuple(tokens),
    )


def need_from_dict(d: dict[str, Any]) -> NeedRecord:
    if "id" not in d or "text" not in d:
        raise DataError(f"need line needs id and text: {d!r:.80}")
    tokens = d.get("tokens")
    return NeedRecord(
        id=d["id"],
        text=d["text"],
        category=d.get("category"),
        scenario_level=d.get("scenario_level"),
        industry=d.get("industry"),
        cluster=d.get("cluster"),
        regions=_tuple(d.get("regions")),
        budget_min_fen=d.get("budget_min_fen"),
        budget_max_fen=d.get("budget_max_fen"),
        chain_leader_id=d.get("chain_leader_id"),
        enterprise_id=d.get("enterprise_id"),
        tokens=None if tokens is None else tuple(tokens),
    )


def read_packages(path: str | Path) -> list[PackageRecord]:
    return [package_from_dict(d) for d in read_jsonl(path)]


def read_needs(path: str | Path) -> tuple[list[NeedRecord], dict[Any, list[Any]]]:
    """Needs and their labels (``relevant``, best first; needs without the key get none)."""
    needs, labels = [], {}
    for d in read_jsonl(path):
        need = need_from_dict(d)
        needs.append(need)
        if "relevant" in d:
            labels[need.id] = list(d["relevant"])
    return needs, labels
