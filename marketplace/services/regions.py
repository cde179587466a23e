"""Region lookups and the scope of a government official."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Region, User


def region_by_code(code: str | None) -> Region | None:
    return db.session.scalar(select(Region).where(Region.code == code)) if code else None


def region_codes_up(region: Region) -> tuple[str, ...]:
    """The codes of a region and every region above it, nearest first."""
    return tuple(r.code for r in region.ancestors_and_self())


def region_ids_for_code(code: str) -> set[int]:
    """The ids of the region with ``code`` and every region below it."""
    region = region_by_code(code)
    return region.subtree_ids() if region else set()


def region_ids_governed(user: User) -> set[int]:
    """The ids of the official's region and every region below it (empty for non-officials)."""
    if not user.is_gov or user.region is None:
        return set()
    return user.region.subtree_ids()


def region_choices(levels: tuple[str, ...] = ("province", "city", "county")) -> list[Region]:
    """Regions in tree order (province, each city followed by its counties)."""
    regions = db.session.scalars(select(Region).order_by(Region.sort)).all()
    roots = [r for r in regions if r.parent_id is None]
    children: dict[int, list[Region]] = {}
    for region in regions:  # from the one query, not one lazy load per region
        children.setdefault(region.parent_id, []).append(region)
    ordered: list[Region] = []

    def walk(region: Region) -> None:
        if region.level in levels:
            ordered.append(region)
        for child in children.get(region.id, ()):
            walk(child)

    for root in roots:
        walk(root)
    return ordered
