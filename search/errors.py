"""The exception tree of the search library, in one place.

::

    SearchError
    ├── QueryError        a query the library cannot run (unknown filter, sort or kind)
    ├── IndexBusyError    the write lock could not be taken in time (retry later)
    └── RecordError       a record that cannot be indexed (e.g. a comma in an acl principal)

Whoosh's own exceptions never leave the library: they are caught and re-raised as one of these.
"""

from __future__ import annotations


class SearchError(Exception):
    """Base class of every error the search library raises."""


class QueryError(SearchError, ValueError):
    """The query names an unknown kind, filter, facet or sort order."""


class IndexBusyError(SearchError):
    """Another process held the index's write lock for longer than the timeout."""


class RecordError(SearchError, ValueError):
    """A record has a value that cannot be indexed."""
