"""A provider's track record: reviews and the service metrics the ranking uses."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median

from sqlalchemy import func, select

from ..extensions import db
from ..models import DealRequest, Order, Quote, Review


@dataclass(frozen=True)
class ProviderStats:
    rating_avg: float | None
    rating_count: int
    recent_reviews: list
    median_response_hours: float | None  # request to first quote or decline
    win_rate: float | None  # orders / quoted requests
    on_time_rate: float | None  # delivered by the due date / delivered orders


def provider_stats(provider_id: int) -> ProviderStats:
    avg, count = db.session.execute(
        select(func.avg(Review.rating), func.count(Review.id))
        .where(Review.provider_id == provider_id)).one()
    recent = db.session.scalars(select(Review).where(Review.provider_id == provider_id)
                                .order_by(Review.created_at.desc()).limit(5)).all()
    responses = db.session.execute(
        select(DealRequest.created_at, DealRequest.responded_at)
        .where(DealRequest.provider_id == provider_id, DealRequest.responded_at.is_not(None))
    ).all()
    hours = [(answered - asked).total_seconds() / 3600 for asked, answered in responses]
    quoted = db.session.scalar(select(func.count(Quote.id)).join(Quote.request)
                               .where(DealRequest.provider_id == provider_id)) or 0
    orders = db.session.scalars(select(Order).where(Order.provider_id == provider_id)).all()
    delivered = [o for o in orders if o.delivered_at is not None]
    on_time = [o for o in delivered if o.delivered_at.date() <= o.due_date]
    return ProviderStats(
        rating_avg=float(avg) if avg is not None else None, rating_count=count,
        recent_reviews=list(recent),
        median_response_hours=median(hours) if hours else None,
        win_rate=len(orders) / quoted if quoted else None,
        on_time_rate=len(on_time) / len(delivered) if delivered else None,
    )
