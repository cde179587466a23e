"""User accounts and roles."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._base import TimestampMixin

if TYPE_CHECKING:
    from .profiles import Enterprise, Provider
    from .refdata import Region


def new_session_token() -> str:
    return secrets.token_urlsafe(16)


class Role:
    SME = "sme"
    PROVIDER = "provider"
    GOV = "gov"
    ADMIN = "admin"
    ALL = (SME, PROVIDER, GOV, ADMIN)
    SELF_REGISTER = (SME, PROVIDER)


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"), index=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    # Part of the login cookie: replacing it ends every session of the account.
    session_token: Mapped[str] = mapped_column(String(32), default=new_session_token)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    enterprise: Mapped[Enterprise | None] = relationship(back_populates="users")
    provider: Mapped[Provider | None] = relationship(back_populates="users")
    region: Mapped[Region | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def end_sessions(self) -> None:
        self.session_token = new_session_token()

    @property
    def is_sme(self) -> bool:
        return self.role == Role.SME

    @property
    def is_provider(self) -> bool:
        return self.role == Role.PROVIDER

    @property
    def is_gov(self) -> bool:
        return self.role == Role.GOV

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def governs(self, region: Region | None) -> bool:
        """Whether this official's region is ``region`` or above it."""
        return self.is_gov and self.region is not None and self.region.contains(region)
