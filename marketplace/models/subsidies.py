"""Subsidy programs, the claims made against them, and the append-only budget ledger.

A program's money is never a column: its budget, reserved, paid and remaining amounts are sums
over its ledger entries (all integers in fen). The unique constraints here are what makes the
money move exactly once even when two officials click at the same moment: one claim per order,
one reserve, one release and one payment per claim, one use of each idempotency key.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._base import TimestampMixin, utcnow
from .accounts import User
from .deals import Order
from .profiles import Enterprise
from .refdata import Region


class ProgramMode:
    PERCENT = "percent"  # a share of the order amount, up to the per-order cap
    FIXED = "fixed"  # a fixed amount per order (never more than the order)
    PROCUREMENT = "procurement"  # 政府采购: free to the SME up to the per-order cap
    ALL = (PERCENT, FIXED, PROCUREMENT)


class ProgramStatus:
    DRAFT = "draft"
    ACTIVE = "active"
    CLOSED = "closed"
    ALL = (DRAFT, ACTIVE, CLOSED)


class ClaimStatus:
    RESERVED = "reserved"  # the amount is held for the order
    APPROVED = "approved"  # an official approved it after the delivery was accepted
    PAID = "paid"
    REJECTED = "rejected"  # an official refused it; the reservation was released
    RELEASED = "released"  # the order was cancelled; the reservation was released
    ALL = (RESERVED, APPROVED, PAID, REJECTED, RELEASED)
    HOLDING = (RESERVED, APPROVED, PAID)  # claims that count against budgets and caps


class EntryKind:
    ADJUST = "adjust"  # budget added (positive) or withdrawn (negative)
    RESERVE = "reserve"
    RELEASE = "release"
    PAY = "pay"
    ALL = (ADJUST, RESERVE, RELEASE, PAY)


class EntryNote:
    """The notes the system writes on ledger rows, as codes (their words are
    ``templating.LABELS["entry_note"]``, in the reader's language)."""

    INITIAL_BUDGET = "initial_budget"
    BUDGET_EDIT = "budget_edit"
    ORDER_CANCELLED = "order_cancelled"
    # rows written before the code was stored hold the sentence, in the writer's language
    LEGACY = {"初始预算": INITIAL_BUDGET, "Initial budget": INITIAL_BUDGET,
              "修改预算": BUDGET_EDIT, "Budget changed": BUDGET_EDIT,
              "订单取消": ORDER_CANCELLED, "Order cancelled": ORDER_CANCELLED}


class SubsidyProgram(TimestampMixin, db.Model):
    __tablename__ = "subsidy_programs"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(120))
    policy_basis: Mapped[str] = mapped_column(Text, default="")
    mode: Mapped[str] = mapped_column(String(16))
    rate_bp: Mapped[int] = mapped_column(Integer, default=0)  # basis points: 5000 = 50 %
    fixed_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    per_order_cap_fen: Mapped[int] = mapped_column(BigInteger)
    per_enterprise_cap_fen: Mapped[int] = mapped_column(BigInteger)  # per calendar year
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    # Eligibility; an empty list means "any".
    size_classes: Mapped[list] = mapped_column(JSON, default=list)
    industries: Mapped[list] = mapped_column(JSON, default=list)
    clusters: Mapped[list] = mapped_column(JSON, default=list)
    categories: Mapped[list] = mapped_column(JSON, default=list)
    scenario_levels: Mapped[list] = mapped_column(JSON, default=list)
    min_tier: Mapped[str] = mapped_column(String(24), default="")
    verified_only: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(16), default=ProgramStatus.DRAFT, index=True)

    region: Mapped[Region] = relationship()
    created_by: Mapped[User | None] = relationship()

    def can_manage(self, user) -> bool:
        return user.is_authenticated and user.governs(self.region)

    def can_view(self, user) -> bool:
        if not user.is_authenticated:
            return False
        return user.is_admin or user.governs(self.region) or self.status != ProgramStatus.DRAFT


class SubsidyClaim(TimestampMixin, db.Model):
    """The subsidy of one order from one program: ``order_id`` is unique (不重复)."""

    __tablename__ = "subsidy_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("subsidy_programs.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)  # the calendar year the cap counts it in
    order_amount_fen: Mapped[int] = mapped_column(BigInteger)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=ClaimStatus.RESERVED, index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    payment_reference: Mapped[str | None] = mapped_column(String(64), unique=True)
    # What made the order eligible when it was placed, as the program's rules read it
    # (services.subsidies.Eligibility): approval re-checks it, officials read it.
    eligibility: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")

    program: Mapped[SubsidyProgram] = relationship()
    order: Mapped[Order] = relationship()
    enterprise: Mapped[Enterprise] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    paid_by: Mapped[User | None] = relationship(foreign_keys=[paid_by_id])

    def can_view(self, user) -> bool:
        return user.is_authenticated and (
            user.is_admin or user.enterprise_id == self.enterprise_id
            or user.governs(self.program.region))


class LedgerEntry(db.Model):
    """One movement of a program's money. Rows are only ever inserted."""

    __tablename__ = "subsidy_ledger"
    # At most one reserve, one release and one payment per claim (NULL claim: adjustments).
    __table_args__ = (UniqueConstraint("claim_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("subsidy_programs.id"), index=True)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("subsidy_claims.id"))
    kind: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # adjust may be negative; others > 0
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")  # what a person wrote
    # a note the system writes, as a code of EntryNote rendered in the reader's language
    note_code: Mapped[str] = mapped_column(String(32), default="", server_default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)

    actor: Mapped[User | None] = relationship()

    @property
    def system_note(self) -> str:
        """The code of the note the system wrote, if any (older rows: from their text; only
        the system wrote notes on unclaimed adjustments or on releases it made)."""
        if self.note_code:
            return self.note_code
        written_by_system = (self.kind == EntryKind.ADJUST or (
            self.kind == EntryKind.RELEASE and self.note in ("订单取消", "Order cancelled")))
        return EntryNote.LEGACY.get(self.note, "") if written_by_system else ""


class IdempotencyKey(db.Model):
    """A form or API submission already acted on: a repeat (same action, same target)
    returns what the first one did."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)
    TARGET_LENGTH = 80

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    # What the action acted on ("claim:29"; a digest when longer; empty when it made a new
    # object): see services.txn.run_once.
    target: Mapped[str] = mapped_column(String(TARGET_LENGTH), default="", server_default="")
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or delete a ledger row."""


@event.listens_for(LedgerEntry, "before_update")
@event.listens_for(LedgerEntry, "before_delete")
def _refuse_changes(_mapper, _connection, entry: LedgerEntry) -> None:
    raise AppendOnlyError(f"ledger entry {entry.id} is append-only; add a correcting entry")
