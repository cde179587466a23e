"""Providers' track records: the one definition of each service metric.

Each metric is one grouped query over a set of providers, so the provider page (one provider)
and the ranking (every provider, :mod:`marketplace.services.ranking`) count the same things:

- **rating** — the stars (1–5) of its reviews: how many, and their sum;
- **response time** — hours from a request (对接申请) to the provider's first answer, a quote or
  a decline (``DealRequest.responded_at``); the median over the answered requests (the mean of
  the two middle ones for an even count);
- **win rate** — quoted requests that became an order / requests it quoted: the share of its
  quotes an SME accepted (an order cancelled later still counts, the quote did win). Orders
  placed without a quote (typical-case records) are in neither count, so the rate stays 0–1;
- **on-time rate** — orders delivered on or before their due date / orders delivered, the
  delivery day taken in China Standard Time, the zone the due date is set in;
- **volume** — its orders that were not cancelled.

A rate with nothing to count (no quote, no delivery) is ``None``, not 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Date, Float, Select, case, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from ..extensions import db
from ..models import DealRequest, Order, OrderStatus, Quote, Review
from .deals import LOCAL_TZ

# Providers to compute for: ids, or a select() of ids (the ranking's candidates).
Providers = Sequence[int] | Select


class local_date(FunctionElement):
    """The calendar day of an aware timestamp in :data:`LOCAL_TZ`."""

    type = Date()
    inherit_cache = True


@compiles(local_date, "postgresql")
def _local_date_postgresql(element, compiler, **kw) -> str:
    return f"CAST(timezone('{LOCAL_TZ.key}', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(local_date, "sqlite")
def _local_date_sqlite(element, compiler, **kw) -> str:
    # SQLite keeps timestamps as UTC text; China has had one offset (+8, no DST) since 1991.
    hours = int(LOCAL_TZ.utcoffset(datetime(2000, 1, 1)).total_seconds() // 3600)
    return f"date({compiler.process(element.clauses, **kw)}, '{hours:+d} hours')"


class hours_between(FunctionElement):
    """Hours from the first timestamp to the second, as a float."""

    type = Float()
    inherit_cache = True


@compiles(hours_between, "postgresql")
def _hours_between_postgresql(element, compiler, **kw) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    # date_part gives a float; EXTRACT a numeric, which sorts several times slower
    return f"(date_part('epoch', {end} - {start}) / 3600.0)"


@compiles(hours_between, "sqlite")
def _hours_between_sqlite(element, compiler, **kw) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    # julianday() counts whole milliseconds: rounding to them undoes the float noise of days
    return f"(round((julianday({end}) - julianday({start})) * 86400.0, 3) / 3600.0)"


@dataclass(frozen=True)
class ServiceRecord:
    """What a provider's reviews, requests and orders add up to (all zero when it has none)."""

    review_count: int = 0
    rating_sum: int = 0
    median_response_hours: float | None = None
    quoted: int = 0  # requests it quoted
    won: int = 0  # of those, requests that became an order, cancelled ones included
    delivered: int = 0
    on_time: int = 0
    orders: int = 0  # orders not cancelled: the volume

    @property
    def rating_avg(self) -> float | None:
        return self.rating_sum / self.review_count if self.review_count else None

    @property
    def win_rate(self) -> float | None:
        return self.won / self.quoted if self.quoted else None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.delivered if self.delivered else None


def service_records(providers: Providers) -> dict[int, ServiceRecord]:
    """The record of each provider in ``providers`` that has any (four queries, however many
    providers); a provider missing from the result has the empty :class:`ServiceRecord`."""
    fields: dict[int, dict] = {}
    for part in (_review_totals(providers), _response_medians(providers),
                 _quote_counts(providers), _order_counts(providers)):
        for provider_id, values in part.items():
            fields.setdefault(provider_id, {}).update(values)
    return {provider_id: ServiceRecord(**values) for provider_id, values in fields.items()}


def _review_totals(providers: Providers) -> dict[int, dict]:
    rows = db.session.execute(
        select(Review.provider_id, func.count(Review.id), func.sum(Review.rating))
        .where(Review.provider_id.in_(providers)).group_by(Review.provider_id))
    return {pid: {"review_count": n, "rating_sum": int(total)} for pid, n, total in rows}


def _response_medians(providers: Providers) -> dict[int, dict]:
    """The median per provider with window functions (row numbers within each provider's
    answers, sorted), portable between PostgreSQL and SQLite."""
    answers = (
        select(DealRequest.provider_id,
               hours_between(DealRequest.created_at, DealRequest.responded_at).label("hours"))
        .where(DealRequest.responded_at.is_not(None), DealRequest.provider_id.in_(providers))
        .subquery())
    ranked = select(
        answers.c.provider_id, answers.c.hours,
        func.row_number().over(partition_by=answers.c.provider_id,
                               order_by=answers.c.hours).label("position"),
        func.count().over(partition_by=answers.c.provider_id).label("answered"),
    ).subquery()
    middle = or_(ranked.c.position == (ranked.c.answered + 1) // 2,
                 ranked.c.position == (ranked.c.answered + 2) // 2)
    rows = db.session.execute(select(ranked.c.provider_id, func.avg(ranked.c.hours))
                              .where(middle).group_by(ranked.c.provider_id))
    return {pid: {"median_response_hours": float(value)} for pid, value in rows}


def _quote_counts(providers: Providers) -> dict[int, dict]:
    rows = db.session.execute(
        select(DealRequest.provider_id, func.count(Quote.id)).join(Quote.request)
        .where(DealRequest.provider_id.in_(providers)).group_by(DealRequest.provider_id))
    return {pid: {"quoted": n} for pid, n in rows}


def _count_where(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _order_counts(providers: Providers) -> dict[int, dict]:
    delivered = Order.delivered_at.is_not(None)
    on_time = delivered & (local_date(Order.delivered_at) <= Order.due_date)
    rows = db.session.execute(
        select(Order.provider_id, _count_where(Quote.id.is_not(None)), _count_where(delivered),
               _count_where(on_time), _count_where(Order.status != OrderStatus.CANCELLED))
        .outerjoin(Quote, Quote.request_id == Order.request_id)
        .where(Order.provider_id.in_(providers)).group_by(Order.provider_id))
    return {pid: {"won": int(won), "delivered": int(done), "on_time": int(timely),
                  "orders": int(live)}
            for pid, won, done, timely, live in rows}


@dataclass(frozen=True)
class ProviderStats:
    """What the provider page shows: the record's figures and the latest reviews."""

    record: ServiceRecord
    recent_reviews: list

    @property
    def rating_avg(self) -> float | None:
        return self.record.rating_avg

    @property
    def rating_count(self) -> int:
        return self.record.review_count

    @property
    def median_response_hours(self) -> float | None:
        return self.record.median_response_hours

    @property
    def win_rate(self) -> float | None:
        return self.record.win_rate

    @property
    def on_time_rate(self) -> float | None:
        return self.record.on_time_rate


def provider_stats(provider_id: int) -> ProviderStats:
    record = service_records([provider_id]).get(provider_id, ServiceRecord())
    recent = db.session.scalars(select(Review).where(Review.provider_id == provider_id)
                                .order_by(Review.created_at.desc()).limit(5)).all()
    return ProviderStats(record=record, recent_reviews=list(recent))
