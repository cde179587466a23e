"""Matchmaking events (供需对接活动): the event, who registered, and the meeting schedule.

An event runs draft → open (registration) → scheduled (schedule published) → finished, or is
cancelled. Its meetings fill a grid of ``slot_count`` slots × ``table_count`` tables; the unique
constraints below are the schedule's rules, so no race can break them: an SME, a provider and a
table each appear at most once per slot, and a pair meets at most once per event. Slots and
tables are stored from 0 and shown from 1.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._base import TimestampMixin, utcnow
from .accounts import User
from .deals import DealRequest
from .needs import Need
from .packages import Package
from .profiles import Enterprise, Provider
from .refdata import Cluster, Region


class EventStatus:
    DRAFT = "draft"
    OPEN = "open"  # registration is open; the official may propose and adjust a schedule
    SCHEDULED = "scheduled"  # the schedule is published to the participants
    FINISHED = "finished"
    CANCELLED = "cancelled"
    ALL = (DRAFT, OPEN, SCHEDULED, FINISHED, CANCELLED)
    PUBLIC = (OPEN, SCHEDULED, FINISHED, CANCELLED)  # seen by everyone logged in


class EventMode:
    ONSITE = "onsite"
    ONLINE = "online"
    ALL = (ONSITE, ONLINE)


class Outcome:
    """What one side says came of a meeting."""

    NONE = "none"
    FOLLOW_UP = "follow_up"  # keep talking
    REQUEST_SENT = "request_sent"  # the SME sent a deal request (对接申请) for a package
    NO_FIT = "no_fit"
    ALL = (NONE, FOLLOW_UP, REQUEST_SENT, NO_FIT)
    PROVIDER = (NONE, FOLLOW_UP, NO_FIT)  # requests come from SMEs


def as_utc(moment: datetime) -> datetime:
    """An aware UTC time (SQLite hands back naive UTC times)."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


class MatchEvent(TimestampMixin, db.Model):
    __tablename__ = "match_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    mode: Mapped[str] = mapped_column(String(16))
    place: Mapped[str] = mapped_column(String(200), default="")  # on site: the address
    link: Mapped[str] = mapped_column(String(300), default="")  # online: the meeting link
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    slot_minutes: Mapped[int] = mapped_column(Integer)
    slot_count: Mapped[int] = mapped_column(Integer)
    table_count: Mapped[int] = mapped_column(Integer)
    meetings_per_sme: Mapped[int] = mapped_column(Integer)
    sme_capacity: Mapped[int] = mapped_column(Integer)
    provider_capacity: Mapped[int] = mapped_column(Integer)
    registration_deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # whom it is aimed at (optional): SMEs of this cluster, or of this chain leader's chain
    cluster_code: Mapped[str | None] = mapped_column(ForeignKey("clusters.code"))
    chain_leader_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    status: Mapped[str] = mapped_column(String(16), default=EventStatus.DRAFT, index=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str] = mapped_column(Text, default="")

    region: Mapped[Region] = relationship()
    created_by: Mapped[User | None] = relationship()
    cluster: Mapped[Cluster | None] = relationship()
    chain_leader: Mapped[Enterprise | None] = relationship()
    registrations: Mapped[list[EventRegistration]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="EventRegistration.id")
    meetings: Mapped[list[EventMeeting]] = relationship(
        back_populates="event", cascade="all, delete-orphan",
        order_by=lambda: (EventMeeting.slot_index, EventMeeting.table_index))

    @property
    def ends_at(self) -> datetime:
        return as_utc(self.starts_at) + timedelta(minutes=self.slot_minutes * self.slot_count)

    def slot_start(self, slot_index: int) -> datetime:
        return as_utc(self.starts_at) + timedelta(minutes=self.slot_minutes * slot_index)

    def registration_open(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return self.status == EventStatus.OPEN and now <= as_utc(self.registration_deadline)

    def outcomes_open(self, now: datetime | None = None) -> bool:
        """Participants record outcomes once the event is over (or the official finished it)."""
        now = now or utcnow()
        return self.status == EventStatus.FINISHED or (
            self.status == EventStatus.SCHEDULED and now >= self.ends_at)

    def can_manage(self, user) -> bool:
        return user.is_authenticated and user.governs(self.region)

    def can_view(self, user) -> bool:
        if not user.is_authenticated:
            return False
        return user.is_admin or self.can_manage(user) or self.status in EventStatus.PUBLIC

    def can_see_participants(self, user) -> bool:
        """Registrations and the whole schedule: the organisers and admins."""
        return user.is_authenticated and (user.is_admin or self.can_manage(user))


class EventRegistration(db.Model):
    """One enterprise or one provider registered for one event."""

    __tablename__ = "event_registrations"
    __table_args__ = (
        UniqueConstraint("event_id", "enterprise_id", name="uq_event_registrations_enterprise"),
        UniqueConstraint("event_id", "provider_id", name="uq_event_registrations_provider"),
        CheckConstraint("(enterprise_id IS NULL) <> (provider_id IS NULL)", name="one_party"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("match_events.id", ondelete="CASCADE"),
                                          index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"), index=True)
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    event: Mapped[MatchEvent] = relationship(back_populates="registrations")
    enterprise: Mapped[Enterprise | None] = relationship()
    provider: Mapped[Provider | None] = relationship()

    @property
    def party(self) -> Enterprise | Provider:
        return self.enterprise or self.provider


class EventMeeting(TimestampMixin, db.Model):
    """One meeting of the schedule: an SME and a provider at a table in a slot."""

    __tablename__ = "event_meetings"
    __table_args__ = (
        UniqueConstraint("event_id", "slot_index", "provider_id",
                         name="uq_event_meetings_slot_provider"),
        UniqueConstraint("event_id", "slot_index", "enterprise_id",
                         name="uq_event_meetings_slot_enterprise"),
        UniqueConstraint("event_id", "slot_index", "table_index",
                         name="uq_event_meetings_slot_table"),
        UniqueConstraint("event_id", "enterprise_id", "provider_id",
                         name="uq_event_meetings_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("match_events.id", ondelete="CASCADE"),
                                          index=True)
    slot_index: Mapped[int] = mapped_column(Integer)
    table_index: Mapped[int] = mapped_column(Integer)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    # what the meeting is about, from the recommender (optional)
    need_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id"))
    package_id: Mapped[int | None] = mapped_column(ForeignKey("packages.id"))
    score: Mapped[float | None] = mapped_column(Float)  # None: added by hand
    sme_outcome: Mapped[str] = mapped_column(String(16), default=Outcome.NONE)
    sme_note: Mapped[str] = mapped_column(Text, default="")
    provider_outcome: Mapped[str] = mapped_column(String(16), default=Outcome.NONE)
    provider_note: Mapped[str] = mapped_column(Text, default="")
    # the deal request the SME sent as its outcome
    deal_request_id: Mapped[int | None] = mapped_column(ForeignKey("deal_requests.id"))

    event: Mapped[MatchEvent] = relationship(back_populates="meetings")
    enterprise: Mapped[Enterprise] = relationship()
    provider: Mapped[Provider] = relationship()
    need: Mapped[Need | None] = relationship()
    package: Mapped[Package | None] = relationship()
    deal_request: Mapped[DealRequest | None] = relationship()

    @property
    def slot_number(self) -> int:
        return self.slot_index + 1

    @property
    def table_number(self) -> int:
        return self.table_index + 1

    def side_of(self, user) -> str | None:
        """``"sme"`` or ``"provider"`` when ``user`` speaks for one party of the meeting."""
        if not user.is_authenticated:
            return None
        if user.enterprise_id is not None and user.enterprise_id == self.enterprise_id:
            return "sme"
        if user.provider_id is not None and user.provider_id == self.provider_id:
            return "provider"
        return None
