"""Solution packages (小快轻准 解决方案包) published by providers."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._base import TimestampMixin
from .profiles import Provider
from .refdata import Category, Industry, ScenarioLevel

if TYPE_CHECKING:
    from .cases import TypicalCase


class PackageStatus:
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"
    ALL = (DRAFT, PUBLISHED, ARCHIVED)


class Deployment:
    ALL = ("saas", "private", "hybrid")


class PriceUnit:
    ALL = ("per_year", "per_month", "per_set", "per_device", "per_project")


package_scenario_levels = Table(
    "package_scenario_levels",
    db.metadata,
    Column("package_id", ForeignKey("packages.id", ondelete="CASCADE"), primary_key=True),
    Column("scenario_level_code", ForeignKey("scenario_levels.code"), primary_key=True),
)

package_industries = Table(
    "package_industries",
    db.metadata,
    Column("package_id", ForeignKey("packages.id", ondelete="CASCADE"), primary_key=True),
    Column("industry_code", ForeignKey("industries.code"), primary_key=True),
)


class Package(TimestampMixin, db.Model):
    __tablename__ = "packages"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"), index=True)
    deployment: Mapped[str] = mapped_column(String(16))
    price_fen: Mapped[int] = mapped_column(BigInteger)
    price_unit: Mapped[str] = mapped_column(String(16))
    delivery_days: Mapped[int] = mapped_column(Integer)
    free_trial: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default=PackageStatus.DRAFT, index=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    provider: Mapped[Provider] = relationship(back_populates="packages")
    category: Mapped[Category] = relationship()
    scenario_levels: Mapped[list[ScenarioLevel]] = relationship(
        secondary=package_scenario_levels, order_by="ScenarioLevel.rank"
    )
    industries: Mapped[list[Industry]] = relationship(
        secondary=package_industries, order_by="Industry.code"
    )
    cases: Mapped[list[PackageCase]] = relationship(
        back_populates="package", cascade="all, delete-orphan", order_by="PackageCase.sort"
    )
    # typical cases (典型案例) of its orders that curators published: evidence for matching
    published_cases: Mapped[list[TypicalCase]] = relationship(
        primaryjoin="and_(TypicalCase.package_id == Package.id, "
                    "TypicalCase.status == 'published')",
        viewonly=True, order_by="TypicalCase.id",
    )

    @property
    def is_public(self) -> bool:
        return self.status == PackageStatus.PUBLISHED and self.provider.is_public

    def can_edit(self, user) -> bool:
        return user.is_authenticated and user.provider_id == self.provider_id

    def can_view(self, user) -> bool:
        return self.is_public or self.can_edit(user) or (
            user.is_authenticated and user.is_admin
        )


class PackageCase(db.Model):
    """A case study (应用案例) shown with a package."""

    __tablename__ = "package_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(
        ForeignKey("packages.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(120))
    customer: Mapped[str] = mapped_column(String(100), default="")
    content: Mapped[str] = mapped_column(Text)
    sort: Mapped[int] = mapped_column(Integer, default=0)

    package: Mapped[Package] = relationship(back_populates="cases")


# The package list's and the home page's order (published_at DESC NULLS LAST, id DESC): the
# newest 20 without sorting them all. SQLite has no NULLS LAST in an index (its NULLs sort
# last in DESC anyway): migration 0012 writes it on PostgreSQL only.
Index("ix_packages_newest", Package.published_at.desc().nulls_last(), Package.id.desc())
