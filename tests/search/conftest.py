"""Fixtures for the search library's tests: no app, just an index and records.

Every test that takes ``index`` (or ``store``) runs on both backends: Whoosh in a temporary
directory, and PostgreSQL in a schema of its own in the database of ``TEST_DATABASE_URL``
(skipped, with that reason, when it is not set).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from matching.text import Segmenter
from search import (
    NeedDoc,
    PackageDoc,
    SearchQuery,
    create_postgres_tables,
    libpq_dsn,
    open_index,
)
from search._pgschema import TABLES

BACKENDS = ("whoosh", "postgresql")


@pytest.fixture(scope="session")
def segmenter(tmp_path_factory) -> Segmenter:
    """One loaded segmenter for the session, with a jieba cache of its own."""
    cache = tmp_path_factory.mktemp("jieba") / "jieba.cache"
    with warnings.catch_warnings():
        # jieba's load_userdict leaves a dictionary file it opened itself unclosed; older
        # versions of matching.text passed it a path. Harmless either way.
        warnings.simplefilter("ignore", ResourceWarning)
        return Segmenter(cache_file=cache).initialize()


@dataclass(frozen=True)
class Store:
    """Where a test's index lives: a directory or a PostgreSQL DSN. Picklable, so processes
    spawned by a test open the same index."""

    backend: str
    location: str

    def open(self, segmenter: Segmenter | None = None, **options):
        where = {"path": self.location} if self.backend == "whoosh" else {"dsn": self.location}
        return open_index(self.backend, segmenter=segmenter, **where, **options)

    def sql(self, statement: str, params=()) -> list[tuple]:
        """Run SQL in the PostgreSQL store (tests that look at the tables)."""
        with psycopg.connect(self.location, autocommit=True) as conn:
            cur = conn.execute(statement, params)
            return cur.fetchall() if cur.description else []


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """A schema of this session's own, with the backend's tables, in the test database."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("PostgreSQL search backend tests need TEST_DATABASE_URL (set by .ci/run)")
    base = libpq_dsn(url)
    schema = f"search_lib_test_{os.getpid()}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    dsn = make_conninfo(base, options=f"-c search_path={schema}")
    create_postgres_tables(dsn)
    yield dsn
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def postgres_store(postgres_dsn) -> Store:
    """The PostgreSQL store, emptied."""
    store = Store("postgresql", postgres_dsn)
    store.sql("TRUNCATE " + ", ".join(TABLES))
    return store


@pytest.fixture
def store(request, backend, tmp_path) -> Store:
    if backend == "whoosh":
        return Store("whoosh", str(tmp_path / "search"))
    return request.getfixturevalue("postgres_store")


@pytest.fixture
def index(store, segmenter):
    with store.open(segmenter, lock_timeout=10) as ix:
        yield ix


_BASE = datetime(2025, 1, 1)


@pytest.fixture
def package() -> Callable[..., PackageDoc]:
    """Builds a public package; keyword arguments override any field."""

    def make(id: int, title: str = "通用方案", text: str = "", **fields) -> PackageDoc:
        fields.setdefault("acl", ("public",))
        fields.setdefault("published", _BASE + timedelta(days=id))
        return PackageDoc(id=id, title=title, text=text, **fields)

    return make


@pytest.fixture
def need() -> Callable[..., NeedDoc]:
    def make(id: int, title: str = "通用需求", text: str = "", **fields) -> NeedDoc:
        fields.setdefault("acl", ("public",))
        fields.setdefault("created", _BASE + timedelta(days=id))
        return NeedDoc(id=id, title=title, text=text, **fields)

    return make


@pytest.fixture
def find(index) -> Callable[..., object]:
    """``find(text, **options)``: search packages as the public unless told otherwise."""

    def run(text: str = "", kind: str = "package", principals=("public",), **options):
        return index.search(SearchQuery(kind, text, frozenset(principals), **options))

    return run


def ids(results) -> list[int]:
    return [hit.id for hit in results.hits]
