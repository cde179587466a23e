"""Reference data: regions, industries, clusters, categories, scenario levels, size classes.

Seeded from ``marketplace/data/*.json`` by ``flask seed refdata``; names are editable by an
admin, codes never change once data refers to them.
"""

from __future__ import annotations

from flask_babel import get_locale
from sqlalchemy import Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class NamedMixin:
    name: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(128), default="")
    sort: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def label(self) -> str:
        """The name in the current language."""
        locale = get_locale()
        if locale is not None and locale.language == "en" and self.name_en:
            return self.name_en
        return self.name

    def __str__(self) -> str:
        return self.label


class Region(NamedMixin, db.Model):
    __tablename__ = "regions"
    LEVELS = ("province", "city", "county")

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(6), unique=True)
    level: Mapped[str] = mapped_column(String(10))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))

    parent: Mapped[Region | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Region]] = relationship(
        back_populates="parent", order_by="Region.sort"
    )

    def ancestors_and_self(self) -> list[Region]:
        """This region and every region above it, nearest first."""
        chain, region = [], self
        while region is not None:
            chain.append(region)
            region = region.parent
        return chain

    def contains(self, other: Region | None) -> bool:
        """Whether ``other`` is this region or lies below it."""
        return other is not None and any(r.id == self.id for r in other.ancestors_and_self())

    def subtree_ids(self) -> set[int]:
        ids, frontier = {self.id}, list(self.children)
        while frontier:
            region = frontier.pop()
            ids.add(region.id)
            frontier.extend(region.children)
        return ids

    @property
    def full_label(self) -> str:
        """City / county, without the province every region shares (the province: its name)."""
        below = [r.label for r in reversed(self.ancestors_and_self()) if r.parent]
        return " / ".join(below) or self.label


class Industry(NamedMixin, db.Model):
    """A manufacturing division of GB/T 4754-2017 (C13–C43)."""

    __tablename__ = "industries"
    code: Mapped[str] = mapped_column(String(8), primary_key=True)


cluster_industries = Table(
    "cluster_industries",
    db.metadata,
    Column("cluster_code", ForeignKey("clusters.code"), primary_key=True),
    Column("industry_code", ForeignKey("industries.code"), primary_key=True),
)


class Cluster(NamedMixin, db.Model):
    """One of the five priority industrial clusters."""

    __tablename__ = "clusters"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    industries: Mapped[list[Industry]] = relationship(secondary=cluster_industries)


class Category(NamedMixin, db.Model):
    """A solution category such as 设备联网与监测."""

    __tablename__ = "categories"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    description_en: Mapped[str] = mapped_column(String(255), default="")


class ScenarioLevel(NamedMixin, db.Model):
    """设备 → 单元 → 产线 → 车间 → 工厂, ordered by ``rank``."""

    __tablename__ = "scenario_levels"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer)


class SizeClass(NamedMixin, db.Model):
    """Enterprise size class of the national classification for industrial enterprises.

    An enterprise is of the first class (by ``sort``) whose minimum employees and minimum
    revenue it both meets.
    """

    __tablename__ = "size_classes"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    min_employees: Mapped[int] = mapped_column(Integer, default=0)
    min_revenue_wan: Mapped[int] = mapped_column(Integer, default=0)
    is_sme: Mapped[bool] = mapped_column(default=True)
