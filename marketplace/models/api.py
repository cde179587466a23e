"""Personal API tokens: a user's key to the JSON API (``Authorization: Bearer …``).

Only the SHA-256 of a token's secret is stored; the secret itself is shown once, when the
token is made. ``prefix`` (the first characters of the secret) lets its owner tell tokens
apart. A token acts with exactly the permissions of its user, and stops working when it is
revoked or the user is disabled (see :mod:`marketplace.services.tokens`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._base import utcnow
from .accounts import User


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def can_manage(self, user) -> bool:
        return user.is_authenticated and user.id == self.user_id
