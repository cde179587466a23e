"""Self-diagnosis results (数字化水平自评) and the needs posted from their suggestions.

The questionnaire and its scoring rules live in ``marketplace/data/diagnosis.json`` and
:mod:`marketplace.services.diagnosis`; a result keeps the answers and what they scored, so an
enterprise sees its progress over time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._base import utcnow
from .accounts import User
from .needs import Need
from .profiles import Enterprise


class DiagnosisResult(db.Model):
    __tablename__ = "diagnosis_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[str] = mapped_column(String(16))  # of the questionnaire answered
    answers: Mapped[dict] = mapped_column(JSON)  # question code -> option code
    score: Mapped[float] = mapped_column(Float)  # 0–100, one decimal
    level: Mapped[int] = mapped_column(SmallInteger, index=True)  # 1–4
    dimension_scores: Mapped[dict] = mapped_column(JSON)  # dimension code -> 0–100
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 index=True)

    enterprise: Mapped[Enterprise] = relationship()
    author: Mapped[User | None] = relationship()
    posted_needs: Mapped[list[DiagnosisNeed]] = relationship(
        back_populates="result", cascade="all, delete-orphan")

    def can_view(self, user) -> bool:
        """The enterprise's own users and admins; officials see only the distribution."""
        return user.is_authenticated and (
            user.enterprise_id == self.enterprise_id or user.is_admin)

    def need_for(self, suggestion_code: str) -> Need | None:
        return next((p.need for p in self.posted_needs if p.suggestion_code == suggestion_code),
                    None)


class DiagnosisNeed(db.Model):
    """A suggestion of a result that the enterprise posted as a need (at most once)."""

    __tablename__ = "diagnosis_needs"
    __table_args__ = (UniqueConstraint("result_id", "suggestion_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(
        ForeignKey("diagnosis_results.id", ondelete="CASCADE"), index=True)
    suggestion_code: Mapped[str] = mapped_column(String(40))
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    result: Mapped[DiagnosisResult] = relationship(back_populates="posted_needs")
    need: Mapped[Need] = relationship()
