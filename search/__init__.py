"""Full-text search of packages and needs: Chinese-aware, faceted, visibility-filtered.

A plain library (no Flask, no SQLAlchemy): the app hands it records after each commit and asks
it queries carrying the viewer's principals. Two backends with one interface:
:class:`SearchIndex` (Whoosh files under a directory, one host) and
:class:`PostgresSearchIndex` (PostgreSQL full-text search, any number of hosts);
:func:`open_index` picks one by name.

>>> index = SearchIndex("instance/search")
>>> index.apply(upserts=[PackageDoc(id=1, title="视觉质量检测", acl=("public",))])
>>> index.search(SearchQuery("package", "质量检测", principals={"public"})).total
1
"""

from pathlib import Path

from matching.text import Segmenter

from ._pgschema import create_tables as create_postgres_tables
from ._pgschema import libpq_dsn
from ._postgres import PostgresSearchIndex, lock_key
from .analysis import Segmented, index_tokens, query_words, segment
from .documents import package_document
from .errors import IndexBusyError, QueryError, RecordError, SearchError
from .highlight import highlight
from .index import SearchIndex
from .query import (
    PRICE_BANDS,
    SORTS,
    SPECS,
    FacetCount,
    Hit,
    Html,
    SearchQuery,
    SearchResults,
)
from .records import KINDS, NEED, PACKAGE, DocRef, NeedDoc, PackageDoc, Record

BACKENDS = ("whoosh", "postgresql")


def open_index(backend: str = "whoosh", *, path: str | Path | None = None,
               dsn: str | None = None, segmenter: Segmenter | None = None,
               lock_timeout: float = 30.0) -> SearchIndex | PostgresSearchIndex:
    """The index of ``backend``: ``"whoosh"`` under the directory ``path``, or
    ``"postgresql"`` in the database ``dsn`` (a libpq string or an SQLAlchemy URL)."""
    if backend == "whoosh":
        if path is None:
            raise ValueError("the whoosh search backend needs a directory (path)")
        return SearchIndex(path, segmenter=segmenter, lock_timeout=lock_timeout)
    if backend == "postgresql":
        if not dsn:
            raise ValueError("the postgresql search backend needs a database (dsn)")
        return PostgresSearchIndex(libpq_dsn(dsn), segmenter=segmenter,
                                   lock_timeout=lock_timeout)
    raise ValueError(f"unknown search backend {backend!r}; use one of {BACKENDS}")


__all__ = [
    "BACKENDS",
    "KINDS",
    "NEED",
    "PACKAGE",
    "PRICE_BANDS",
    "SORTS",
    "SPECS",
    "DocRef",
    "FacetCount",
    "Hit",
    "Html",
    "IndexBusyError",
    "NeedDoc",
    "PackageDoc",
    "PostgresSearchIndex",
    "QueryError",
    "Record",
    "RecordError",
    "SearchError",
    "SearchIndex",
    "SearchQuery",
    "SearchResults",
    "Segmented",
    "create_postgres_tables",
    "highlight",
    "index_tokens",
    "libpq_dsn",
    "lock_key",
    "open_index",
    "package_document",
    "query_words",
    "segment",
]
