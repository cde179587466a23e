"""Typical cases (典型案例, 看样学样): written by the parties of an accepted order, agreed by
both, curated by officials and admins.

The allowed steps live in :mod:`marketplace.services.cases`; ``order_id`` is unique, so an
order has at most one case.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._base import TimestampMixin
from .accounts import User
from .deals import Order
from .packages import Package
from .profiles import Enterprise, Provider


class CaseStatus:
    DRAFT = "draft"  # the parties write it
    PENDING = "pending"  # one side submitted it; the other side confirms or returns it
    SUBMITTED = "submitted"  # both agreed; waits for an official or admin
    PUBLISHED = "published"
    REJECTED = "rejected"  # by a curator, with a reason; the parties may revise it
    ALL = (DRAFT, PENDING, SUBMITTED, PUBLISHED, REJECTED)
    CURATED = (SUBMITTED, PUBLISHED, REJECTED)  # what curators may see


class CaseSide:
    SME = "sme"
    PROVIDER = "provider"
    ALL = (SME, PROVIDER)


class TypicalCase(TimestampMixin, db.Model):
    __tablename__ = "typical_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(120))
    problem: Mapped[str] = mapped_column(Text)
    solution: Mapped[str] = mapped_column(Text)
    results: Mapped[str] = mapped_column(Text)
    quote: Mapped[str] = mapped_column(Text, default="")  # the SME's own words, optional
    anonymous: Mapped[bool] = mapped_column(default=False)  # hide the enterprise's name
    status: Mapped[str] = mapped_column(String(16), default=CaseStatus.DRAFT, index=True)
    submitted_by: Mapped[str] = mapped_column(String(16), default="")  # a CaseSide
    note: Mapped[str] = mapped_column(Text, default="")  # why it was returned or rejected
    featured: Mapped[bool] = mapped_column(default=False)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    curator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    order: Mapped[Order] = relationship()
    package: Mapped[Package] = relationship()
    enterprise: Mapped[Enterprise] = relationship()
    provider: Mapped[Provider] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    curator: Mapped[User | None] = relationship(foreign_keys=[curator_id])
    metrics: Mapped[list[CaseMetric]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseMetric.sort")

    def side_of(self, user) -> str | None:
        """Which party ``user`` speaks for, if any."""
        if not user.is_authenticated:
            return None
        if user.enterprise_id is not None and user.enterprise_id == self.enterprise_id:
            return CaseSide.SME
        if user.provider_id is not None and user.provider_id == self.provider_id:
            return CaseSide.PROVIDER
        return None

    def can_curate(self, user) -> bool:
        """Admins, and officials of the enterprise's region or above."""
        return user.is_authenticated and (user.is_admin or user.governs(self.enterprise.county))

    def can_view(self, user) -> bool:
        if self.status == CaseStatus.PUBLISHED or self.side_of(user) is not None:
            return True
        return self.status in CaseStatus.CURATED and self.can_curate(user)


class CaseMetric(db.Model):
    """A before/after figure of a case, e.g. 设备利用率 62 → 85 %."""

    __tablename__ = "case_metrics"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("typical_cases.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(16), default="")
    value_before: Mapped[float] = mapped_column(Float)
    value_after: Mapped[float] = mapped_column(Float)
    sort: Mapped[int] = mapped_column(Integer, default=0)

    case: Mapped[TypicalCase] = relationship(back_populates="metrics")

    @property
    def change_percent(self) -> float | None:
        if not self.value_before:
            return None
        return (self.value_after - self.value_before) / abs(self.value_before) * 100
