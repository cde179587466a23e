"""The package document as indexed: one builder for the app and ``python -m search rank``.

Besides the package's own words, the text carries the words people search by that the
description may not use: the provider's name, the category's label ("设备联网与监测"), the
scenario levels' names ("产线") and the industries' names ("汽车制造业").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from matching.codes import label_of

from .records import PackageDoc


def label_line(
    category: str | None,
    scenario_levels: Iterable[str] = (),
    industries: Iterable[str] = (),
) -> str:
    """The labels of a package's codes as one line of text (unknown codes left out)."""
    labels = [label_of("category", category)]
    labels += [label_of("scenario_level", code) for code in scenario_levels]
    labels += [label_of("industry", code) for code in industries]
    return " ".join(label for label in labels if label)


def package_document(
    id: int,
    title: str,
    *,
    summary: str = "",
    description: str = "",
    provider_name: str = "",
    cases: Iterable[str] = (),
    category: str | None = None,
    scenario_levels: tuple[str, ...] = (),
    industries: tuple[str, ...] = (),
    clusters: tuple[str, ...] = (),
    regions_served: tuple[str, ...] = (),
    deployment: str | None = None,
    price_fen: int | None = None,
    provider_id: int | None = None,
    provider_tier: str | None = None,
    subsidy_available: bool = False,
    created: datetime | None = None,
    published: datetime | None = None,
    acl: tuple[str, ...] = (),
) -> PackageDoc:
    """A :class:`PackageDoc` whose text is the summary, description, provider name, case texts
    and the labels of its category, scenario levels and industries, one per line."""
    parts = [summary, description, provider_name, *cases]
    parts.append(label_line(category, scenario_levels, industries))
    return PackageDoc(
        id=id,
        title=title,
        text="\n".join(part for part in parts if part),
        category=category,
        scenario_levels=tuple(scenario_levels),
        industries=tuple(industries),
        clusters=tuple(clusters),
        regions_served=tuple(regions_served),
        deployment=deployment,
        price_fen=price_fen,
        provider_id=provider_id,
        provider_name=provider_name,
        provider_tier=provider_tier,
        subsidy_available=subsidy_available,
        created=created,
        published=published,
        acl=tuple(acl),
    )
