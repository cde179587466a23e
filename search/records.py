"""Plain records the search index takes in and gives back.

The web layer builds these from its models after a commit; nothing here knows about a database.
Codes follow ``docs/codes.md``; money is integer fen; regions are GB/T 2260 six-digit strings.

Visibility is data, not logic: the app computes ``acl``, the principals allowed to see a document
(``"public"``, ``"enterprise:12"``, ``"provider:5"``, ``"region:320100"``, ``"admin"`` …), and a
query carries the viewer's principals. A document is returned only when the two intersect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

PACKAGE = "package"
NEED = "need"
KINDS = (PACKAGE, NEED)


@dataclass(frozen=True)
class PackageDoc:
    """A solution package (小快轻准 解决方案包) as indexed, flattened with its provider.

    Parameters
    ----------
    id : int
        The package id.
    title : str
        Shown and matched with a higher weight than ``text``.
    text : str
        Everything else worth matching: summary, description, provider name, case texts.
    category : str or None
        Solution category code (``quality`` …).
    scenario_levels, industries, clusters : tuple of str
        Scenario level codes, GB/T 4754 divisions (``C36``), priority cluster codes.
    regions_served : tuple of str
        GB/T 2260 codes the provider serves; empty means the whole province. A region filter
        for a county also finds packages serving its city or province.
    deployment : str or None
        ``saas``, ``private`` or ``hybrid``.
    price_fen : int or None
        List price; ``None`` is "price on request" (sorted last, in no price band).
    provider_id, provider_name, provider_tier
        The provider, its display name and platform tier code.
    subsidy_available : bool
        Whether an open subsidy program covers the package.
    created, published : datetime or None
        ``published`` (else ``created``) orders "newest first".
    acl : tuple of str
        Principals allowed to see the package; empty means nobody.
    """

    kind: ClassVar[str] = PACKAGE

    id: int
    title: str
    text: str = ""
    category: str | None = None
    scenario_levels: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    regions_served: tuple[str, ...] = ()
    deployment: str | None = None
    price_fen: int | None = None
    provider_id: int | None = None
    provider_name: str = ""
    provider_tier: str | None = None
    subsidy_available: bool = False
    created: datetime | None = None
    published: datetime | None = None
    acl: tuple[str, ...] = ()


@dataclass(frozen=True)
class NeedDoc:
    """A need (需求) posted by an enterprise, as indexed.

    Parameters
    ----------
    id : int
        The need id.
    title, text : str
        Title; description plus anything else worth matching (enterprise name, industry words).
    category, scenario_levels, industries, clusters
        As for :class:`PackageDoc`; ``industries`` and ``clusters`` are the enterprise's.
    regions : tuple of str
        Where the enterprise is (usually its county code).
    budget_min_fen, budget_max_fen : int or None
        The stated budget; ``budget_max_fen`` is the "price" of price sorting, filters and bands.
    enterprise_id, enterprise_name
        The posting enterprise.
    status : str
        ``open``, ``in_progress`` or ``closed``; a filter and facet.
    created : datetime or None
        Orders "newest first".
    acl : tuple of str
        Principals allowed to see the need; empty means nobody.
    """

    kind: ClassVar[str] = NEED

    id: int
    title: str
    text: str = ""
    category: str | None = None
    scenario_levels: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    budget_min_fen: int | None = None
    budget_max_fen: int | None = None
    enterprise_id: int | None = None
    enterprise_name: str = ""
    status: str = "open"
    created: datetime | None = None
    acl: tuple[str, ...] = ()


Record = PackageDoc | NeedDoc

#: Deletes name a document by kind and id, e.g. ``("package", 7)``.
DocRef = tuple[str, int]
