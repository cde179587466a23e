"""Full-text search of packages and needs: Chinese-aware, faceted, visibility-filtered.

A plain library (no Flask, no SQLAlchemy): the app hands it records after each commit and asks
it queries carrying the viewer's principals. Whoosh is an implementation detail behind
:class:`SearchIndex`.

>>> index = SearchIndex("instance/search")
>>> index.apply(upserts=[PackageDoc(id=1, title="视觉质量检测", acl=("public",))])
>>> index.search(SearchQuery("package", "质量检测", principals={"public"})).total
1
"""

from .analysis import Segmented, index_tokens, query_words, segment
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

__all__ = [
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
    "QueryError",
    "Record",
    "RecordError",
    "SearchError",
    "SearchIndex",
    "SearchQuery",
    "SearchResults",
    "Segmented",
    "highlight",
    "index_tokens",
    "query_words",
    "segment",
]
