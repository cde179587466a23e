"""Tables of the PostgreSQL search backend (``SEARCH_BACKEND = "postgresql"``).

The search library (:mod:`search._postgres`, plain psycopg) reads and writes them; they are
declared here so that the Alembic revision creates them and ``tests/test_schema.py`` checks
them. Full-text search exists only on PostgreSQL: there ``tsv`` is a ``tsvector`` and the
arrays ``text[]`` with GIN indexes; on SQLite the same tables exist (TEXT and JSON columns,
plain indexes) and stay empty, because the backend refuses to run there.

Rebuilds write a new ``generation`` of a kind's rows beside the live one and switch
``search_generations.live`` in one transaction, so searches never see a half-built index.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text, false, text
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

TEXT_ARRAY = ARRAY(Text()).with_variant(JSON(), "sqlite")
BIGINT_ARRAY = ARRAY(BigInteger()).with_variant(JSON(), "sqlite")


class SearchDocument(db.Model):
    """One indexed package or need of one generation, as the search library wrote it."""

    __tablename__ = "search_documents"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # "package" or "need"
    generation: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    doc_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # A delete made while a rebuild fills this generation; removed when it goes live.
    deleted: Mapped[bool] = mapped_column(Boolean, server_default=false())
    record: Mapped[dict] = mapped_column(JSON)  # json, not jsonb: texts may hold \u0000
    acl: Mapped[list[str]] = mapped_column(TEXT_ARRAY)  # principals allowed to see it
    # Filter and facet codes ("category=quality", "region=320102" …) as 64-bit ids.
    codes: Mapped[list[int]] = mapped_column(BIGINT_ARRAY)
    price: Mapped[int | None] = mapped_column(BigInteger)  # fen; NULL: price on request
    sort_ms: Mapped[int] = mapped_column(BigInteger)  # "newest first": published/created, ms
    # Segmented words with their positions; title weight A, text weight B. On PostgreSQL the
    # migration keeps tsv in the row (storage MAIN) and the record out of it (EXTERNAL).
    tsv: Mapped[str] = mapped_column(TSVECTOR().with_variant(Text(), "sqlite"))

    # GIN on PostgreSQL; ordinary (unused) indexes on SQLite, where Alembic would otherwise
    # report them missing (it does not honour ``ddl_if``).
    __table_args__ = (
        Index("ix_search_documents_tsv", "tsv", postgresql_using="gin"),
        Index("ix_search_documents_acl", "acl", postgresql_using="gin"),
        Index("ix_search_documents_codes", "codes", postgresql_using="gin"),
    )


class SearchGeneration(db.Model):
    """Which generation of a kind is live, which one a rebuild is filling, and a counter of
    writes (search results cached in a process are keyed by it)."""

    __tablename__ = "search_generations"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    live: Mapped[int] = mapped_column(Integer)
    building: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class SearchTerm(db.Model):
    """Words (for spelling suggestions) and codes (facet vocabularies) seen in a generation."""

    __tablename__ = "search_terms"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    field: Mapped[str] = mapped_column(String(8), primary_key=True)  # "word" or "code"
    term: Mapped[str] = mapped_column(Text, primary_key=True)
