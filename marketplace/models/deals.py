"""Deals: a request (对接申请) for a package against a need, its quote, the order, the review.

The allowed transitions of each live in :mod:`marketplace.services.deals`; the unique
constraints here make the database refuse what a race could otherwise let through (two
orders for one need, two reviews of one order).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._base import TimestampMixin, utcnow
from .accounts import User
from .needs import Need
from .packages import Package
from .profiles import Enterprise, Provider


class RequestStatus:
    PENDING = "pending"  # waiting for the provider
    QUOTED = "quoted"  # the provider quoted; the SME may accept
    DECLINED = "declined"  # the provider said no
    WITHDRAWN = "withdrawn"  # the SME took it back
    CLOSED = "closed"  # another quote for the need was accepted, or the need closed
    ORDERED = "ordered"  # its quote was accepted
    ALL = (PENDING, QUOTED, DECLINED, WITHDRAWN, CLOSED, ORDERED)
    ACTIVE = (PENDING, QUOTED)


class OrderStatus:
    PLACED = "placed"
    DELIVERED = "delivered"
    DISPUTED = "disputed"
    ACCEPTED = "accepted"
    CANCELLED = "cancelled"
    ALL = (PLACED, DELIVERED, DISPUTED, ACCEPTED, CANCELLED)


class DealRequest(TimestampMixin, db.Model):
    __tablename__ = "deal_requests"
    __table_args__ = (UniqueConstraint("need_id", "package_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.PENDING, index=True)
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decline_reason: Mapped[str] = mapped_column(Text, default="")

    need: Mapped[Need] = relationship(back_populates="requests")
    package: Mapped[Package] = relationship()
    enterprise: Mapped[Enterprise] = relationship()
    provider: Mapped[Provider] = relationship()
    requester: Mapped[User | None] = relationship()
    quote: Mapped[Quote | None] = relationship(back_populates="request", uselist=False)

    def is_party(self, user) -> bool:
        return user.is_authenticated and (
            user.enterprise_id == self.enterprise_id or user.provider_id == self.provider_id
        )

    def can_view(self, user) -> bool:
        return self.is_party(user) or (user.is_authenticated and user.is_admin)


class Quote(TimestampMixin, db.Model):
    """The provider's current offer for a request; revised in place until accepted."""

    __tablename__ = "quotes"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("deal_requests.id"), unique=True)
    price_fen: Mapped[int] = mapped_column(BigInteger)
    scope: Mapped[str] = mapped_column(Text)
    delivery_days: Mapped[int] = mapped_column()
    valid_until: Mapped[date] = mapped_column(Date)
    revision: Mapped[int] = mapped_column(default=1)

    request: Mapped[DealRequest] = relationship(back_populates="quote")

    def is_expired(self, today: date) -> bool:
        return self.valid_until < today

    @property
    def is_free_trial(self) -> bool:
        """A quote of 0 yuan, for a package that offers a free trial (the only 0 allowed)."""
        return self.price_fen == 0 and self.request.package.free_trial


class Order(TimestampMixin, db.Model):
    """An accepted quote. One live order per need: two quick clicks make one order, and a
    cancelled order frees the need for another."""

    __tablename__ = "orders"
    __table_args__ = (
        Index("uq_orders_live_need", "need_id", unique=True,
              postgresql_where=text("status <> 'cancelled'"),
              sqlite_where=text("status <> 'cancelled'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"))
    request_id: Mapped[int] = mapped_column(ForeignKey("deal_requests.id"), unique=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    # placed on the package's free trial (a quote of 0 yuan): no subsidy applies
    free_trial: Mapped[bool] = mapped_column(default=False)
    scope: Mapped[str] = mapped_column(Text)
    delivery_days: Mapped[int] = mapped_column()
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.PLACED, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dispute_reason: Mapped[str] = mapped_column(Text, default="")
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    need: Mapped[Need] = relationship()
    request: Mapped[DealRequest] = relationship()
    package: Mapped[Package] = relationship()
    enterprise: Mapped[Enterprise] = relationship()
    provider: Mapped[Provider] = relationship()
    review: Mapped[Review | None] = relationship(back_populates="order", uselist=False)

    def is_party(self, user) -> bool:
        return user.is_authenticated and (
            user.enterprise_id == self.enterprise_id or user.provider_id == self.provider_id
        )

    def can_view(self, user) -> bool:
        """Parties, admins, and officials of the enterprise's region (disputes go to them)."""
        return self.is_party(user) or (user.is_authenticated and (
            user.is_admin or user.governs(self.enterprise.county)))


class Review(db.Model):
    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    rating: Mapped[int] = mapped_column(SmallInteger)
    text: Mapped[str] = mapped_column(Text, default="")
    reply: Mapped[str] = mapped_column(Text, default="")
    replied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    order: Mapped[Order] = relationship(back_populates="review")
    enterprise: Mapped[Enterprise] = relationship()


class Notification(db.Model):
    """An in-app message for one user about something the other side did."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(300))  # what it is about, e.g. a need title
    link: Mapped[str] = mapped_column(String(200), default="")
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FeedbackKind:
    IMPRESSION = "impression"
    REQUEST = "request"
    ORDER = "order"
    ACCEPTED = "accepted"
    DISMISSED = "dismissed"
    ALL = (IMPRESSION, REQUEST, ORDER, ACCEPTED, DISMISSED)


class MatchFeedback(db.Model):
    """What an SME did with a recommended package for a need: the recommender's training data."""

    __tablename__ = "match_feedback"
    __table_args__ = (UniqueConstraint("need_id", "package_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id"))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
