"""链式转型: who is a chain leader (链主) and who supplies whom, both decided, never declared.

A :class:`ChainLeaderApplication` is an enterprise's application to be a 链主 (or an
official's direct designation); the enterprise is a 链主 while its latest one is approved.
A :class:`ChainMembership` is one episode of a supplier in a leader's chain: asked by one side
(an invitation or a join request), confirmed or declined by the other, later ended (left,
removed, or the leader's status revoked) with the reason. ``Enterprise.is_chain_leader`` and
``Enterprise.chain_leader_id`` are kept in step by ``services.chains`` only: they cache the
approved status and the confirmed membership for the recommender and the figures.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._base import TimestampMixin
from .accounts import User
from .profiles import Enterprise, Provider

DECIDING_LEVELS = ("province", "city")  # officials of the enterprise's city or the province


class LeaderStatus:
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"
    ALL = (PENDING, APPROVED, REJECTED, REVOKED)


class ChainLeaderApplication(TimestampMixin, db.Model):
    """An application to be a 链主 with its evidence, or an official's designation."""

    __tablename__ = "chain_leader_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=LeaderStatus.PENDING)
    revenue_wan: Mapped[int] = mapped_column()  # annual revenue claimed, 万元
    supplier_count: Mapped[int] = mapped_column()
    platform_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    evidence: Mapped[str] = mapped_column(Text, default="")
    designated: Mapped[bool] = mapped_column(default=False)  # made by an official directly
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text, default="")
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoke_reason: Mapped[str] = mapped_column(Text, default="")

    enterprise: Mapped[Enterprise] = relationship()
    platform: Mapped[Provider | None] = relationship()
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])

    def can_view(self, user) -> bool:
        return user.is_authenticated and (
            user.is_admin or user.enterprise_id == self.enterprise_id
            or user.governs(self.enterprise.county))

    def can_decide(self, user) -> bool:
        return may_decide_for(user, self.enterprise)


def may_decide_for(user, enterprise: Enterprise) -> bool:
    """Officials of the enterprise's city or of the province decide on its 链主 status."""
    return (user.is_authenticated and user.is_gov and user.region is not None
            and user.region.level in DECIDING_LEVELS and user.governs(enterprise.county))


class MembershipStatus:
    INVITED = "invited"  # the leader asked; the supplier confirms or declines
    REQUESTED = "requested"  # the supplier asked; the leader confirms or declines
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"  # the asking side took it back before an answer
    ENDED = "ended"  # left, removed, or the leader's status was revoked
    OPEN = (INVITED, REQUESTED)
    ALL = (INVITED, REQUESTED, CONFIRMED, DECLINED, WITHDRAWN, ENDED)


class ChainMembership(TimestampMixin, db.Model):
    """One episode of a supplier in a leader's chain, from the question to its end."""

    __tablename__ = "chain_memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    leader_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    asked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answer_reason: Mapped[str] = mapped_column(Text, default="")
    joined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str] = mapped_column(Text, default="")

    leader: Mapped[Enterprise] = relationship(foreign_keys=[leader_id])
    supplier: Mapped[Enterprise] = relationship(foreign_keys=[supplier_id])
    asked_by: Mapped[User | None] = relationship(foreign_keys=[asked_by_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])
    ended_by: Mapped[User | None] = relationship(foreign_keys=[ended_by_id])

    @property
    def answering_enterprise_id(self) -> int | None:
        """Whose turn it is: the side that did not ask."""
        return {MembershipStatus.INVITED: self.supplier_id,
                MembershipStatus.REQUESTED: self.leader_id}.get(self.status)

    def is_party(self, user) -> bool:
        return user.is_authenticated and user.enterprise_id in (self.leader_id, self.supplier_id)

    def can_view(self, user) -> bool:
        return self.is_party(user) or (user.is_authenticated and (
            user.is_admin or user.governs(self.supplier.county)))
