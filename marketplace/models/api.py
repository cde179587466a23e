"""Personal API tokens: a user's key to the JSON API (``Authorization: Bearer …``).

Only the SHA-256 of a token's secret is stored; the secret itself is shown once, when the
token is made. ``prefix`` (the first characters of the secret) lets its owner tell tokens
apart. A token acts with the permissions of its user, limited by its scope (``read``: only
reads; ``write``: reads and writes), and stops working when it is revoked, when it expires or
when the user is disabled (see :mod:`marketplace.services.tokens`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._base import utcnow
from .accounts import User


class TokenScope:
    READ = "read"
    WRITE = "write"  # includes reading
    ALL = (READ, WRITE)


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
    # Tokens made before scopes existed could write (migration 0015): the server default.
    scope: Mapped[str] = mapped_column(String(8), server_default=TokenScope.WRITE)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self, now: datetime) -> bool:
        """Whether it expired by ``now`` (aware; SQLite hands back naive UTC datetimes)."""
        if self.expires_at is None:
            return False
        expires = self.expires_at
        return (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) <= now

    @property
    def can_write(self) -> bool:
        return self.scope == TokenScope.WRITE

    def can_manage(self, user) -> bool:
        return user.is_authenticated and user.id == self.user_id
