"""The PostgreSQL backend's tables, for use without the app (tests, the benchmark).

The app creates the same tables with its Alembic revision
(``migrations/versions/0008_postgresql_search_documents.py``, models in
``marketplace/models/search_documents.py``); ``tests/test_search_pages.py`` checks that the two
agree. Three tables:

``search_documents``
    one row per document and generation: the record as JSON, ``acl`` (``text[]``) and
    ``codes`` (``bigint[]``, see :func:`search._pgrows.code_id`) with GIN indexes for ``&&``,
    price and date for sorting, and ``tsv``, the segmented words with their positions (title
    weight A, text weight B; GIN). ``tsv`` is kept in the row (storage ``MAIN``) and the record
    out of it (``EXTERNAL``): a search reads every match's ``tsv`` to rank it but only the
    page's records, and fetching ``tsv`` from TOAST tripled the buffers read per match.
``search_generations``
    per kind, the live generation, the one a rebuild is filling, and a count of writes.
``search_terms``
    per kind and generation, the words (spelling suggestions) and codes (facet vocabularies).
"""

from __future__ import annotations

import re

import psycopg

TABLES = ("search_documents", "search_generations", "search_terms")

DDL = """
CREATE TABLE IF NOT EXISTS search_documents (
    kind varchar(16) NOT NULL,
    generation integer NOT NULL,
    doc_id bigint NOT NULL,
    deleted boolean NOT NULL DEFAULT false,
    record json NOT NULL,
    acl text[] NOT NULL,
    codes bigint[] NOT NULL,
    price bigint,
    sort_ms bigint NOT NULL,
    tsv tsvector NOT NULL,
    CONSTRAINT pk_search_documents PRIMARY KEY (kind, generation, doc_id)
);
ALTER TABLE search_documents ALTER COLUMN tsv SET STORAGE MAIN,
    ALTER COLUMN record SET STORAGE EXTERNAL;
CREATE INDEX IF NOT EXISTS ix_search_documents_tsv ON search_documents USING gin (tsv);
CREATE INDEX IF NOT EXISTS ix_search_documents_acl ON search_documents USING gin (acl);
CREATE INDEX IF NOT EXISTS ix_search_documents_codes ON search_documents USING gin (codes);
CREATE TABLE IF NOT EXISTS search_generations (
    kind varchar(16) NOT NULL,
    live integer NOT NULL,
    building integer,
    version bigint NOT NULL DEFAULT 0,
    CONSTRAINT pk_search_generations PRIMARY KEY (kind)
);
CREATE TABLE IF NOT EXISTS search_terms (
    kind varchar(16) NOT NULL,
    generation integer NOT NULL,
    field varchar(8) NOT NULL,
    term text NOT NULL,
    CONSTRAINT pk_search_terms PRIMARY KEY (kind, generation, field, term)
);
"""

_SQLALCHEMY_SCHEME = re.compile(r"^postgres(?:ql)?\+\w+://")


def libpq_dsn(url: str) -> str:
    """A connection string libpq understands, from an SQLAlchemy URL
    (``postgresql+psycopg://user@host/db`` → ``postgresql://user@host/db``); libpq strings
    (URLs or ``key=value``) are returned as they are."""
    return _SQLALCHEMY_SCHEME.sub("postgresql://", url, count=1)


def create_tables(dsn: str) -> None:
    """Create the backend's tables and indexes where missing (in the DSN's ``search_path``)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(DDL)
