"""Needs (需求) posted by SMEs."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._base import TimestampMixin
from .accounts import User
from .profiles import Enterprise
from .refdata import Category, ScenarioLevel

if TYPE_CHECKING:
    from .deals import DealRequest


class Visibility:
    PUBLIC = "public"
    PRIVATE = "private"  # only the providers it engages
    ALL = (PUBLIC, PRIVATE)


class NeedStatus:
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"
    ALL = (OPEN, IN_PROGRESS, CLOSED)


class Need(TimestampMixin, db.Model):
    __tablename__ = "needs"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"), index=True)
    scenario_level_code: Mapped[str] = mapped_column(ForeignKey("scenario_levels.code"))
    budget_min_fen: Mapped[int | None] = mapped_column(BigInteger)
    budget_max_fen: Mapped[int | None] = mapped_column(BigInteger)
    desired_start: Mapped[date | None] = mapped_column(Date)
    visibility: Mapped[str] = mapped_column(String(16), default=Visibility.PUBLIC)
    status: Mapped[str] = mapped_column(String(16), default=NeedStatus.OPEN, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Derived from the deal tables for the statistics (kept by marketplace.milestones).
    first_request_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_quote_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ordered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when the need came from a demand-list import (需求清单) rather than its enterprise.
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"),
                                                        index=True)

    enterprise: Mapped[Enterprise] = relationship()
    author: Mapped[User | None] = relationship()
    category: Mapped[Category] = relationship()
    scenario_level: Mapped[ScenarioLevel] = relationship()
    requests: Mapped[list[DealRequest]] = relationship(back_populates="need")

    def engaged_provider_ids(self) -> set[int]:
        """Providers this need was requested from: a private need becomes visible to them."""
        return {r.provider_id for r in self.requests}

    def is_owned_by(self, user) -> bool:
        return user.is_authenticated and user.enterprise_id == self.enterprise_id

    def can_edit(self, user) -> bool:
        return self.is_owned_by(user)

    def can_view(self, user) -> bool:
        if not user.is_authenticated:
            return False
        if self.is_owned_by(user) or user.is_admin or user.governs(self.enterprise.county):
            return True
        if self.visibility == Visibility.PUBLIC:
            return True
        return user.provider_id is not None and user.provider_id in self.engaged_provider_ids()
