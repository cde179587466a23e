"""Company profiles: SMEs (and chain leaders) and providers."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Column, DateTime, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matching.codes import TIER_RANK

from ..extensions import db
from ._base import TimestampMixin
from .refdata import Cluster, Industry, Region, SizeClass

if TYPE_CHECKING:
    from .accounts import User
    from .packages import Package


class Enterprise(TimestampMixin, db.Model):
    """A manufacturing enterprise: an SME, or a large chain leader (链主)."""

    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    employees: Mapped[int] = mapped_column()
    revenue_wan: Mapped[int] = mapped_column()  # annual revenue in 万元
    size_class_code: Mapped[str] = mapped_column(ForeignKey("size_classes.code"))
    county_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    industry_code: Mapped[str] = mapped_column(ForeignKey("industries.code"))
    cluster_code: Mapped[str | None] = mapped_column(ForeignKey("clusters.code"))
    chain_leader_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    is_chain_leader: Mapped[bool] = mapped_column(default=False)

    size_class: Mapped[SizeClass] = relationship()
    county: Mapped[Region] = relationship()
    industry: Mapped[Industry] = relationship()
    cluster: Mapped[Cluster | None] = relationship()
    chain_leader: Mapped[Enterprise | None] = relationship(remote_side=[id])
    users: Mapped[list[User]] = relationship(back_populates="enterprise")

    def can_edit(self, user) -> bool:
        return user.is_authenticated and (user.is_admin or user.enterprise_id == self.id)

    def can_view(self, user) -> bool:
        return self.can_edit(user) or (user.is_authenticated and user.governs(self.county))


provider_regions = Table(
    "provider_regions",
    db.metadata,
    Column("provider_id", ForeignKey("providers.id", ondelete="CASCADE"), primary_key=True),
    Column("region_id", ForeignKey("regions.id"), primary_key=True),
)


class ProviderKind:
    ALL = ("platform", "service", "software")


class Tier:
    """Platform tiers with the rank used for 'minimum tier' rules."""

    RANK = TIER_RANK
    ALL = tuple(RANK)


class Standing:
    """The province's prefer/eliminate mark (优选/淘汰)."""

    NORMAL = "normal"
    PREFERRED = "preferred"
    ELIMINATED = "eliminated"
    ALL = (NORMAL, PREFERRED, ELIMINATED)


class Provider(TimestampMixin, db.Model):
    """A platform enterprise, service provider or software company."""

    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    tier: Mapped[str] = mapped_column(String(24))
    description: Mapped[str] = mapped_column(Text, default="")
    contact_name: Mapped[str] = mapped_column(String(32), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    # Set when this provider is the platform run by a chain leader (链主平台).
    lead_enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    verified: Mapped[bool] = mapped_column(default=False)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    standing: Mapped[str] = mapped_column(String(16), default=Standing.NORMAL)

    lead_enterprise: Mapped[Enterprise | None] = relationship()
    regions_served: Mapped[list[Region]] = relationship(
        secondary=provider_regions, order_by="Region.sort"
    )
    users: Mapped[list[User]] = relationship(back_populates="provider")
    packages: Mapped[list[Package]] = relationship(back_populates="provider")

    @property
    def is_chain_platform(self) -> bool:
        return self.lead_enterprise_id is not None

    @property
    def is_public(self) -> bool:
        """Whether its published packages may be shown to everyone."""
        return self.verified and self.standing != Standing.ELIMINATED

    def can_edit(self, user) -> bool:
        return user.is_authenticated and (user.is_admin or user.provider_id == self.id)

    def can_view(self, user) -> bool:
        return self.is_public or self.can_edit(user) or (
            user.is_authenticated and user.is_gov
        )
