"""The provider ranking (综合评价排名): a composite score of every public provider.

The formula lives in :class:`Formula` (its weights in :class:`Weights`) and nowhere else; the
ranking page shows it, and ``docs/ranking.md`` works an example through. Each provider gets
six components between 0 and 1 from its :class:`~.provider_stats.ServiceRecord` (the metric
definitions shared with the provider page) and its tier:

- **rating** — (S − 1) / 4 with the Bayesian average S = (C·m + Σ stars) / (C + n): a
  provider's n reviews pulled toward m, the mean of all reviews, by C = 5 "virtual" reviews, so
  one 5-star review does not top the list. Without reviews S = m (3 stars if nobody has any);
- **on_time** — the on-time rate; 0.5 without a delivered order;
- **win_rate** — the quote win rate; 0.5 without a quote;
- **volume** — min(1, ln(1 + orders) / ln(1 + 100)); no order is 0;
- **response** — 24 / (24 + median first-response hours): 1 at once, 0.5 after a day, 0.25
  after three; 0.5 without an answered request;
- **tier** — (rank − 1) / 4 from ``Tier.RANK``: 企业级 0 … 国家级双跨 1; 0.5 for an unknown tier.

score = 100 × Σ weightᵢ · componentᵢ / Σ weightᵢ (weights: rating 30, on-time 20, win rate 15,
volume 15, response 10, tier 10).
Ties go to more orders, then more reviews, then the older provider (smaller id).

Who is ranked: verified providers that are not eliminated (淘汰); an admin also sees the
eliminated ones, flagged and without a position. Filters narrow the list but never change a
provider's score (every constant above is fixed, and m is over all reviews).

Everything is a handful of grouped queries however many providers there are. No Flask here:
the caller passes the viewer and the filters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace

from sqlalchemy import false, func, select

from ..extensions import db
from ..models import Package, PackageStatus, Provider, Region, Review, Standing, Tier
from .provider_stats import ServiceRecord, service_records
from .regions import region_by_code

LOWEST_STARS, HIGHEST_STARS = 1, 5


@dataclass(frozen=True)
class Weights:
    """How much each component counts; only the proportions matter."""

    rating: float = 30
    on_time: float = 20
    win_rate: float = 15
    volume: float = 15
    response: float = 10
    tier: float = 10

    def items(self) -> list[tuple[str, float]]:
        """``(component, weight)`` in display order."""
        return [(f.name, getattr(self, f.name)) for f in fields(self)]

    @property
    def total(self) -> float:
        return sum(weight for _, weight in self.items())

    def share(self, component: str) -> float:
        """The component's weight as a fraction of all weights."""
        return getattr(self, component) / self.total


COMPONENTS = tuple(f.name for f in fields(Weights))


@dataclass(frozen=True)
class Components:
    """A provider's six components, each in [0, 1]; ``neutral`` names those that had no
    data and took the neutral value."""

    rating: float
    on_time: float
    win_rate: float
    volume: float
    response: float
    tier: float
    smoothed_stars: float
    neutral: frozenset[str] = frozenset()

    def items(self) -> list[tuple[str, float]]:
        return [(name, getattr(self, name)) for name in COMPONENTS]


@dataclass(frozen=True)
class Formula:
    """The ranking formula: the weights and the constants that turn a record into components."""

    weights: Weights = field(default_factory=Weights)
    prior_reviews: float = 5  # C: how many "virtual" reviews at the mean each provider starts with
    neutral: float = 0.5  # a rate or a time without data
    neutral_stars: float = 3  # the mean m when nobody has a review yet
    volume_full_at: int = 100  # orders that earn the full volume component
    response_half_hours: float = 24  # the median response time that earns half

    def smoothed_stars(self, record: ServiceRecord, mean_stars: float) -> float:
        """The Bayesian average S = (C·m + Σ stars) / (C + n)."""
        return ((self.prior_reviews * mean_stars + record.rating_sum)
                / (self.prior_reviews + record.review_count))

    def components(self, record: ServiceRecord, tier: str, mean_stars: float) -> Components:
        stars = self.smoothed_stars(record, mean_stars)
        neutral = {name for name, value in (
            ("rating", record.rating_avg), ("on_time", record.on_time_rate),
            ("win_rate", record.win_rate), ("response", record.median_response_hours),
            ("tier", Tier.RANK.get(tier))) if value is None}
        return Components(
            rating=(stars - LOWEST_STARS) / (HIGHEST_STARS - LOWEST_STARS),
            on_time=self._or_neutral(record.on_time_rate),
            win_rate=self._or_neutral(record.win_rate),
            volume=min(1.0, math.log1p(record.orders) / math.log1p(self.volume_full_at)),
            response=self._response(record.median_response_hours),
            tier=self.tier_value(tier), smoothed_stars=stars, neutral=frozenset(neutral))

    def score(self, components: Components) -> float:
        """100 × the weighted mean of the components."""
        total = sum(weight * getattr(components, name) for name, weight in self.weights.items())
        return 100 * total / self.weights.total

    def _or_neutral(self, value: float | None) -> float:
        return self.neutral if value is None else value

    def _response(self, hours: float | None) -> float:
        if hours is None:
            return self.neutral
        return self.response_half_hours / (self.response_half_hours + max(hours, 0.0))

    def tier_value(self, tier: str) -> float:
        """(rank − 1) / 4: 0 for the lowest tier, 1 for the highest."""
        ranks = Tier.RANK.values()
        rank = Tier.RANK.get(tier)
        if rank is None:
            return self.neutral
        return (rank - min(ranks)) / (max(ranks) - min(ranks))


DEFAULT_FORMULA = Formula()


@dataclass(frozen=True)
class RankingFilters:
    """Optional narrowing: a region code (providers serving it or a region above it), a
    solution category (a published package in it), a provider kind, a tier. An unknown code
    matches no provider."""

    region_code: str = ""
    category_code: str = ""
    kind: str = ""
    tier: str = ""


@dataclass(frozen=True)
class RankedProvider:
    position: int | None  # None for an eliminated provider (shown to admins only)
    provider_id: int
    name: str
    kind: str
    tier: str
    standing: str
    record: ServiceRecord
    components: Components
    score: float

    @property
    def eliminated(self) -> bool:
        return self.standing == Standing.ELIMINATED

    @property
    def preferred(self) -> bool:
        return self.standing == Standing.PREFERRED


@dataclass(frozen=True)
class Ranking:
    rows: list[RankedProvider]
    filters: RankingFilters
    formula: Formula
    mean_stars: float  # m, the mean the ratings are pulled toward


def rank_providers(viewer, filters: RankingFilters | None = None,
                   formula: Formula = DEFAULT_FORMULA) -> Ranking:
    """Public providers best first, scored by ``formula``; admins also get the eliminated
    ones (``position`` None). ``viewer`` is the acting user (anonymous too)."""
    filters = filters or RankingFilters()
    conditions = _conditions(filters, with_eliminated=_is_admin(viewer))
    records = service_records(select(Provider.id).where(*conditions))
    mean_stars = _mean_stars(formula)
    providers = db.session.execute(
        select(Provider.id, Provider.name, Provider.kind, Provider.tier, Provider.standing)
        .where(*conditions))
    rows = []
    for provider_id, name, kind, tier, standing in providers:
        record = records.get(provider_id, ServiceRecord())
        components = formula.components(record, tier, mean_stars)
        rows.append(RankedProvider(
            position=None, provider_id=provider_id, name=name, kind=kind, tier=tier,
            standing=standing, record=record, components=components,
            score=formula.score(components)))
    rows.sort(key=lambda r: (-round(r.score, 9), -r.record.orders, -r.record.review_count,
                             r.provider_id))
    return Ranking(rows=_numbered(rows), filters=filters, formula=formula,
                   mean_stars=mean_stars)


def _numbered(rows: list[RankedProvider]) -> list[RankedProvider]:
    """Positions 1, 2, … for the ranked; an eliminated provider keeps None."""
    numbered, position = [], 0
    for row in rows:
        if not row.eliminated:
            position += 1
            row = replace(row, position=position)
        numbered.append(row)
    return numbered


def _is_admin(viewer) -> bool:
    return bool(viewer is not None and viewer.is_authenticated and viewer.is_admin)


def _mean_stars(formula: Formula) -> float:
    """m: the mean of every review on the marketplace (the neutral 3 stars when none)."""
    mean = db.session.scalar(select(func.avg(Review.rating)))
    return formula.neutral_stars if mean is None else float(mean)


def _conditions(filters: RankingFilters, with_eliminated: bool) -> list:
    conditions = [Provider.verified.is_(True)]
    if not with_eliminated:
        conditions.append(Provider.standing != Standing.ELIMINATED)
    if filters.kind:
        conditions.append(Provider.kind == filters.kind)
    if filters.tier:
        conditions.append(Provider.tier == filters.tier)
    if filters.category_code:
        conditions.append(Provider.packages.any(
            (Package.status == PackageStatus.PUBLISHED)
            & (Package.category_code == filters.category_code)))
    if filters.region_code:
        conditions.append(_serves(filters.region_code))
    return conditions


def _serves(region_code: str):
    """Serves the region or a region above it (a provider serving 苏州市 serves 吴中区)."""
    region = region_by_code(region_code)
    if region is None:
        return false()
    ids = [r.id for r in region.ancestors_and_self()]
    return Provider.regions_served.any(Region.id.in_(ids))
