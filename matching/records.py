"""Plain records the recommender takes in and gives back.

The web layer builds these from its models; nothing here knows about a database. Ids are
whatever the caller uses (database ints or strings); they only need to be hashable and stable.
Money is in fen (分), integers, never floats; region codes are GB/T 2260 six-digit strings.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

ItemId = Hashable

#: Provider statuses under the province's prefer/eliminate mechanism (优选和淘汰).
PROVIDER_STATUSES = ("normal", "preferred", "eliminated")


@dataclass(frozen=True, slots=True)
class PackageRecord:
    """One published "小快轻准" solution package, flattened with its provider.

    Parameters
    ----------
    id : hashable
        The package id.
    title, text : str
        Title and description; both are matched (the title counts once, like any other text).
    category : str or None
        Solution category code (``device_monitoring`` …, see ``docs/codes.md``).
    scenario_levels : tuple of str
        Scenario level codes the package fits (``device`` … ``factory``).
    industries : tuple of str
        GB/T 4754 divisions (``C36`` …); empty means the package is industry-neutral.
    clusters : tuple of str
        Priority cluster codes (``biomed`` …).
    regions_served : tuple of str
        Region codes the provider serves; empty means the whole province.
    deployment : str or None
        ``saas``, ``private`` or ``hybrid``.
    price_fen : int or None
        List price in fen; ``None`` means "price on request".
    provider_id : hashable or None
    provider_tier : str or None
        Platform tier code (``enterprise`` … ``national_cross``).
    provider_verified : bool
        Verified by the province's admin.
    provider_rating : float or None
        Mean review rating, 1–5, ``None`` without reviews.
    provider_status : str
        ``normal``, ``preferred`` or ``eliminated`` (eliminated packages are never recommended).
    chain_leader_id : hashable or None
        Set when the provider is the platform run by this chain leader (链主平台).
    tokens : tuple of str or None
        Words of ``title + text`` from :func:`matching.analyze`, stored at write time so a refit
        need not segment again. ``None`` makes the matcher segment the text itself.
    """

    id: ItemId
    title: str
    text: str = ""
    category: str | None = None
    scenario_levels: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    regions_served: tuple[str, ...] = ()
    deployment: str | None = None
    price_fen: int | None = None
    provider_id: ItemId | None = None
    provider_tier: str | None = None
    provider_verified: bool = False
    provider_rating: float | None = None
    provider_status: str = "normal"
    chain_leader_id: ItemId | None = None
    tokens: tuple[str, ...] | None = None

    @property
    def full_text(self) -> str:
        """The text that is matched: title and description."""
        return f"{self.title}。{self.text}" if self.text else self.title


@dataclass(frozen=True, slots=True)
class NeedRecord:
    """One need posted by an enterprise (or imported from a demand list).

    Parameters
    ----------
    id : hashable
    text : str
        The need in the owner's words (title and description joined by the caller).
    category, scenario_level : str or None
        Set when the poster chose them; ``None`` lets the text decide.
    industry : str or None
        The enterprise's GB/T 4754 division (``C36``).
    cluster : str or None
        The enterprise's priority cluster, if any.
    regions : tuple of str
        The enterprise's region codes, nearest first: county, its city, the province.
    budget_min_fen, budget_max_fen : int or None
    chain_leader_id : hashable or None
        The enterprise's chain leader (链主), if it belongs to a chain.
    enterprise_id : hashable or None
    tokens : tuple of str or None
        Words from :func:`matching.analyze`, stored at write time.
    """

    id: ItemId
    text: str
    category: str | None = None
    scenario_level: str | None = None
    industry: str | None = None
    cluster: str | None = None
    regions: tuple[str, ...] = ()
    budget_min_fen: int | None = None
    budget_max_fen: int | None = None
    chain_leader_id: ItemId | None = None
    enterprise_id: ItemId | None = None
    tokens: tuple[str, ...] | None = None

    @property
    def full_text(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class EnterpriseRecord:
    """An SME's profile and its open needs, for "为您推荐" on its home page.

    Parameters
    ----------
    id : hashable
    industry, cluster : str or None
    regions : tuple of str
        County, city, province codes.
    chain_leader_id : hashable or None
    open_needs : tuple of NeedRecord
        The enterprise's open needs; recommendations for them are merged. Without needs the
        profile alone (industry, cluster, region, chain) decides.
    """

    id: ItemId
    industry: str | None = None
    cluster: str | None = None
    regions: tuple[str, ...] = ()
    chain_leader_id: ItemId | None = None
    open_needs: tuple[NeedRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class Reason:
    """Why an item was recommended: a code the web layer translates, with its parameters.

    Codes: ``shared_terms`` (``terms``), ``shared_concepts`` (``concepts``, ``labels``),
    ``same_category`` / ``likely_category`` (``category``), ``same_level`` / ``adjacent_level``
    (``level``), ``same_industry`` (``industry``), ``same_cluster`` (``cluster``),
    ``serves_region`` (``region``), ``within_budget`` (``price_fen``, ``budget_max_fen``),
    ``subsidy`` (``price_fen``, ``subsidised_price_fen``), ``chain_leader_platform``
    (``chain_leader_id``), ``chain_adopted`` (``count``), ``preferred_provider``,
    ``verified_provider``, ``high_rating`` (``rating``), ``platform_tier`` (``tier``),
    ``for_need`` (``need``, on enterprise recommendations).
    """

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``{"code": ..., **params}``."""
        return {"code": self.code, **self.params}


class Recommendation(NamedTuple):
    """One recommended item: unpacks as ``id, score, reasons``."""

    id: ItemId
    score: float
    reasons: tuple[Reason, ...] = ()
