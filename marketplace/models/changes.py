"""The change log: one row per commit-time change of a package or need.

Written in the same transaction as the change (see :mod:`marketplace.changes`), read by the
search indexer and by every process's recommender to catch up, so nothing that must be shared
lives only in one worker's memory.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ._base import utcnow


class Change(db.Model):
    __tablename__ = "change_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "package" or "need"
    object_id: Mapped[int] = mapped_column()
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    # Set once the search index holds this change; unindexed rows are the indexer's queue.
    indexed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
