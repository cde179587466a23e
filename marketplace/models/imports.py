"""Demand-list imports (需求清单导入): one batch per uploaded file, its problem rows, and the
enterprises an import created."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._base import utcnow
from .accounts import User
from .profiles import Enterprise
from .refdata import Region


class ProblemKind:
    INVALID = "invalid"  # refused: the reasons say why
    DUPLICATE = "duplicate"  # already there: same enterprise, title and description
    ALL = (INVALID, DUPLICATE)


class ImportBatch(db.Model):
    """One uploaded file. ``sha256`` is unique per region: the same file uploaded again for
    the same region imports nothing."""

    __tablename__ = "import_batches"
    __table_args__ = (UniqueConstraint("region_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))  # indexed by the UQ
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    filename: Mapped[str] = mapped_column(String(200))
    file_format: Mapped[str] = mapped_column(String(8))
    sha256: Mapped[str] = mapped_column(String(64))
    visibility: Mapped[str] = mapped_column(String(16))
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_imported: Mapped[int] = mapped_column(Integer, default=0)
    rows_duplicate: Mapped[int] = mapped_column(Integer, default=0)
    rows_invalid: Mapped[int] = mapped_column(Integer, default=0)
    enterprises_created: Mapped[int] = mapped_column(Integer, default=0)

    region: Mapped[Region] = relationship()
    uploaded_by: Mapped[User | None] = relationship()
    problems: Mapped[list[ImportProblem]] = relationship(
        back_populates="batch", order_by="ImportProblem.row_number")

    def can_view(self, user) -> bool:
        """Admins, and officials whose region contains the batch's region."""
        return user.is_authenticated and (user.is_admin or user.governs(self.region))


class ImportProblem(db.Model):
    """A row that was not imported: its cells as uploaded and the reasons, kept in every
    language of the app (``{"zh_CN": [...], "en": [...]}``) so the report can be read in
    the reader's language."""

    __tablename__ = "import_problems"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"), index=True)
    row_number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    cells: Mapped[list] = mapped_column(JSON, default=list)
    reasons: Mapped[dict] = mapped_column(JSON, default=dict)

    batch: Mapped[ImportBatch] = relationship(back_populates="problems")

    def reasons_in(self, locale: str, default: str = "zh_CN") -> list[str]:
        return self.reasons.get(locale) or self.reasons.get(default) or []


class ImportedEnterprise(db.Model):
    """An enterprise created by an import rather than by its own user: its employees and
    revenue were not reported (stored as 0, so its size class is a placeholder)."""

    __tablename__ = "imported_enterprises"

    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"), index=True)

    enterprise: Mapped[Enterprise] = relationship()
    batch: Mapped[ImportBatch] = relationship()


class OwnershipStatus:
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    ALL = (PENDING, APPROVED, REJECTED)


class OwnershipRequest(db.Model):
    """An SME user asks to take over an enterprise an import created (认领): the county's
    officials (or above) decide, since anyone can type a credit code."""

    __tablename__ = "ownership_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=OwnershipStatus.PENDING)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    enterprise: Mapped[Enterprise] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
