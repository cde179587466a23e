"""The PostgreSQL backend: :class:`PostgresSearchIndex`, the interface of
:class:`search.SearchIndex` over PostgreSQL full-text search, for several app hosts.

Words are segmented by the library's analyzer when a document is written and stored as a
``tsvector`` with their positions (title weight A, text weight B; :mod:`search._pgrows`);
PostgreSQL only matches and ranks them (``@@``, ``ts_rank``), so no Chinese parser is
needed in the database. The tables are described in :mod:`search._pgschema`.

Concurrency, from any number of processes and hosts:

- **Writes** (:meth:`~PostgresSearchIndex.apply`) lock the kind's ``search_generations`` row
  (``FOR UPDATE``, at most ``lock_timeout`` seconds, else :class:`IndexBusyError`), so one
  kind's writes queue up like the Whoosh backend's file lock, in one transaction per kind.
- **Rebuilds** fill a new generation of rows while searches read the live one, then switch
  ``live`` in one transaction. Writes made meanwhile go to both generations; a delete leaves a
  tombstone in the new one, and the rebuild's own rows never overwrite what a write put there
  (``ON CONFLICT DO NOTHING``), so no write is lost. A rebuild holds a session advisory lock: a
  rebuild that died (its lock gone) is noticed by the next write, which stops writing into its
  generation, and by the next rebuild, which deletes its rows.
- **Searches** run in one read-only ``REPEATABLE READ`` transaction: the total, the page and the
  facets come from one snapshot, even while a rebuild switches generations. Each process keeps
  the results of its last few searches keyed by the kind's live generation and write counter
  (read in that snapshot), so a repeated search is answered from memory until any host writes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from matching.text import Segmenter, default_segmenter

from . import _engine
from ._pgrebuild import RowWorkers
from ._pgrows import (
    CODE_NAME_SHIFT,
    CODE_NAMES,
    Row,
    TextQuery,
    code_id,
    code_name_number,
    fits,
    prepare_row,
    quote,
    record_from_json,
    text_query,
)
from ._whoosh import EVERYWHERE, region_ancestors
from .analysis import normalize, query_words
from .errors import IndexBusyError, QueryError, RecordError, SearchError
from .highlight import highlight
from .query import PRICE_BAND_KEYS, SPECS, FacetCount, Hit, SearchQuery, SearchResults
from .records import KINDS, DocRef, Record

log = logging.getLogger(__name__)

#: Records per rebuild job and rows per ``COPY``.
BATCH = 500
#: ``ts_rank`` weights of D, C, B (text) and A (title): the title weighs 2.5×, as in Whoosh.
#: ``ts_rank`` (frequency and proximity of the words) rather than ``ts_rank_cd`` (cover
#: density): the same order of title over text at a quarter of the cost per matching document
#: (8 000 matches at 100k packages: 21–26 ms against 88–110 ms), and ranking reads every match.
RANK_WEIGHTS = [0.1, 0.2, 0.4, 1.0]
#: Normalization 1: divide by 1 + log(document length).
RANK_NORMALIZATION = 1
#: Times a rebuild batch is retried after a deadlock with a concurrent write.
BATCH_ATTEMPTS = 3

_COLUMNS = "doc_id, record, acl, codes, price, sort_ms, tsv"
_UPSERT = f"""
    INSERT INTO search_documents (kind, generation, deleted, {_COLUMNS})
    VALUES (%s, %s, false, %s, %s::json, %s::text[], %s::bigint[], %s, %s, %s::tsvector)
    ON CONFLICT (kind, generation, doc_id) DO UPDATE SET
        deleted = false, record = excluded.record, acl = excluded.acl, codes = excluded.codes,
        price = excluded.price, sort_ms = excluded.sort_ms, tsv = excluded.tsv
"""
_TOMBSTONE = f"""
    INSERT INTO search_documents (kind, generation, deleted, {_COLUMNS})
    VALUES (%s, %s, true, %s, '{{}}', '{{}}', '{{}}', NULL, 0, '')
    ON CONFLICT (kind, generation, doc_id) DO UPDATE SET
        deleted = true, record = '{{}}', acl = '{{}}', codes = '{{}}', price = NULL, sort_ms = 0,
        tsv = ''
"""
# Words and codes of some documents into the vocabulary (sorted: concurrent writers take the
# rows' locks in one order, so they queue instead of deadlocking).
_TERMS = """
    INSERT INTO search_terms (kind, generation, field, term)
    SELECT %(kind)s, %(generation)s, field, term FROM (
        SELECT 'word' AS field, u.lexeme AS term FROM {words} AS s, unnest(s.tsv) AS u
        UNION
        {codes}
    ) AS t
    ORDER BY field, term
    ON CONFLICT DO NOTHING
"""
_WRITTEN_TERMS = _TERMS.format(
    words="""(SELECT tsv FROM search_documents WHERE kind = %(kind)s
              AND generation = %(generation)s AND doc_id = ANY(%(ids)s))""",
    codes="SELECT 'code', unnest(%(code_terms)s::text[])")
_STAGED_TERMS = _TERMS.format(
    words="search_staging",
    codes="SELECT 'code', unnest(s.code_terms) FROM search_staging AS s")
_STAGING = """
    CREATE TEMP TABLE IF NOT EXISTS search_staging (
        doc_id bigint, record json, acl text[], codes bigint[], price bigint, sort_ms bigint,
        tsv tsvector, code_terms text[]
    ) ON COMMIT DELETE ROWS
"""
# A term of search_terms as tsquery input (quoted like _pgrows.quote).
_TERM_QUERY = r"""('''' || replace(replace(t.term, '\', '\\'), '''', '''''') || '''')::tsquery"""


def lock_key(*parts: str) -> int:
    """A stable 64-bit advisory lock key for a name (the same in every process)."""
    digest = hashlib.blake2b("/".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _rebuild_key(kind: str) -> int:
    return lock_key("search", "rebuild", kind)


class _ResultCache:
    """The last ``size`` results of one process, least recently used out."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[tuple, SearchResults] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(query: SearchQuery, generation: int, version: int) -> tuple:
        return (query.kind, generation, version, query.text, query.principals,
                tuple(sorted(query.filters.items())), query.price_min_fen, query.price_max_fen,
                query.sort, query.page, query.per_page, query.facets, query.highlight,
                query.expand, query.fallback)

    def get(self, key: tuple) -> SearchResults | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple, results: SearchResults) -> SearchResults:
        if self.size <= 0:
            return results
        results = replace(results, facets=MappingProxyType(dict(results.facets)))  # shared
        with self._lock:
            self._entries[key] = results
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return results


class _Connections:
    """Autocommit connections to the search database, reused; one per thread at a time.

    A forked child opens its own and leaves the parent's alone (``psycopg`` only closes a
    connection's socket in the process that opened it).
    """

    def __init__(self, dsn: str, keep: int):
        self.dsn, self.keep = dsn, keep
        self._idle: list[psycopg.Connection] = []
        self._inherited: list[psycopg.Connection] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()

    @contextmanager
    def get(self) -> Iterator[psycopg.Connection]:
        with self._lock:
            if self._pid != os.getpid():
                self._inherited += self._idle  # never closed here: they are the parent's
                self._idle, self._pid = [], os.getpid()
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = psycopg.connect(self.dsn, autocommit=True)
        try:
            yield conn
        finally:
            self._put_back(conn)

    def _put_back(self, conn: psycopg.Connection) -> None:
        healthy = not conn.closed and not conn.broken and (
            conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE)
        with self._lock:
            if healthy and len(self._idle) < self.keep and self._pid == os.getpid():
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


@dataclass
class _Plan:
    """The SQL pieces of one query: conditions and their parameters."""

    params: dict[str, Any]
    text_condition: str
    filters: list[tuple[str | None, str]] = field(default_factory=list)  # (facet, condition)

    def where(self, skip: str | None = None, alias: str = "") -> str:
        conditions = [cond.format(t=alias) for name, cond in self.filters
                      if name is None or name != skip]
        return " AND ".join(conditions) or "true"


_ORDERS = {
    "relevance": "{t}score DESC, {t}sort_ms DESC, {t}doc_id",
    "newest": "{t}sort_ms DESC, {t}doc_id",
    "price_asc": "{t}price ASC NULLS LAST, {t}sort_ms DESC, {t}doc_id",
    "price_desc": "{t}price DESC NULLS LAST, {t}sort_ms DESC, {t}doc_id",
}


class PostgresSearchIndex:
    """Packages and needs, searchable, in tables of a PostgreSQL database.

    Parameters
    ----------
    dsn : str
        A libpq connection string (``postgresql://user@host/db``; see :func:`libpq_dsn` for an
        SQLAlchemy URL). The tables must exist (the app's migration, or
        :func:`create_postgres_tables`); a ``search_path`` in ``options`` chooses their schema.
    segmenter : matching.text.Segmenter, optional
        The shared Chinese segmenter; defaults to the process-wide one.
    lock_timeout : float
        Seconds a write waits for another write of the same kind before
        :class:`IndexBusyError`.
    connections : int
        Idle connections kept for reuse (one is used per search or write at a time).
    cache_size : int
        Results of recent searches kept in this process (0: none); any write, from any
        process, makes them stale (see the module docstring).

    Notes
    -----
    Safe to share between threads, processes and hosts; see the module docstring.
    """

    backend = "postgresql"

    def __init__(self, dsn: str, *, segmenter: Segmenter | None = None,
                 lock_timeout: float = 30.0, connections: int = 4, cache_size: int = 256):
        self.dsn = dsn
        self.segmenter = segmenter or default_segmenter()
        self.lock_timeout = lock_timeout
        self._pool = _Connections(dsn, connections)
        self._cache = _ResultCache(cache_size)
        self._codes: dict[int, str] = {}  # code id → "name=value"

    # writing

    def apply(self, upserts: Iterable[Record] = (), deletes: Iterable[DocRef] = ()) -> None:
        """Add or replace ``upserts`` and remove ``deletes`` (``(kind, id)`` pairs).

        One transaction per kind; upserts are applied before deletes. Texts are segmented before
        the transaction starts. Raises :class:`IndexBusyError` if another write of the kind held
        its lock past ``lock_timeout``.
        """
        ops: dict[str, tuple[dict[int, Row], set[int]]] = defaultdict(lambda: ({}, set()))
        for record in upserts:
            row = prepare_row(record, self.segmenter)
            ops[record.kind][0][row.doc_id] = row  # the last version of an id wins
        for kind, doc_id in deletes:
            if kind not in KINDS:
                raise RecordError(f"unknown kind {kind!r}")
            ops[kind][1].add(int(doc_id))
        for kind, (rows, deleted) in ops.items():
            with self._database_errors(), self._pool.get() as conn, conn.transaction():
                live, building = self._lock_generations(conn, kind, self.lock_timeout)
                self._write(conn, kind, live, rows, deleted)
                if building is not None:
                    self._write(conn, kind, building, rows, deleted, tombstones=True)
                conn.execute("UPDATE search_generations SET version = version + 1 "
                             "WHERE kind = %s", (kind,))

    def _write(self, conn, kind: str, generation: int, rows: dict[int, Row], deleted: set[int],
               tombstones: bool = False) -> None:
        """Upserts, then deletes, then the vocabulary; documents in id order (see _TERMS)."""
        with conn.cursor() as cur:
            for doc_id in sorted(rows.keys() | deleted):
                if doc_id in deleted:
                    if tombstones:
                        cur.execute(_TOMBSTONE, (kind, generation, doc_id))
                    else:
                        cur.execute("DELETE FROM search_documents WHERE kind = %s AND "
                                    "generation = %s AND doc_id = %s", (kind, generation, doc_id))
                else:
                    cur.execute(_UPSERT, (kind, generation, *rows[doc_id].values()))
            if rows:
                code_terms = sorted({c for row in rows.values() for c in row.code_terms})
                cur.execute(_WRITTEN_TERMS, {"kind": kind, "generation": generation,
                                             "ids": sorted(rows), "code_terms": code_terms})

    def _lock_generations(self, conn, kind: str, timeout: float | None,
                          rebuilding: bool = False) -> tuple[int, int | None]:
        """Lock the kind's generations row (creating it) for this transaction. A write
        (``rebuilding`` false) also notices a rebuild that died."""
        if timeout is not None:
            conn.execute("SELECT set_config('lock_timeout', %s, true)",
                         (f"{max(1, int(timeout * 1000))}ms",))
        select = "SELECT live, building FROM search_generations WHERE kind = %s FOR UPDATE"
        found = conn.execute(select, (kind,)).fetchone()
        if found is None:
            conn.execute("INSERT INTO search_generations (kind, live) VALUES (%s, 1) "
                         "ON CONFLICT DO NOTHING", (kind,))
            found = conn.execute(select, (kind,)).fetchone()
        live, building = found
        if building is not None and not rebuilding and conn.execute(
                "SELECT pg_try_advisory_xact_lock(%s)", (_rebuild_key(kind),)).fetchone()[0]:
            # The rebuild that set it is gone (its session lock with it): stop feeding it.
            conn.execute("UPDATE search_generations SET building = NULL WHERE kind = %s",
                         (kind,))
            building = None
        return live, building

    @contextmanager
    def _database_errors(self) -> Iterator[None]:
        try:
            yield
        except pg_errors.LockNotAvailable as exc:
            raise IndexBusyError("another search write held the lock too long") from exc
        except psycopg.Error as exc:
            raise SearchError(f"the search database failed: {exc}") from exc

    # rebuilding

    def rebuild(self, kind: str, records: Iterable[Record], *, workers: int = 1) -> int:
        """Replace the ``kind`` index with exactly ``records``; returns how many were indexed.

        Fills a new generation while searches keep reading the live one, then switches in one
        transaction; writes made meanwhile (any process or host) land in both, so none is lost.
        ``workers`` > 1 segments in that many forked processes (call it from a CLI command, not
        a threaded web worker). ``records`` is consumed in this thread.
        """
        if kind not in KINDS:
            raise QueryError(f"unknown kind {kind!r}")
        with self._database_errors(), psycopg.connect(self.dsn, autocommit=True) as conn:
            # One rebuild of a kind at a time; the lock goes with this session if it dies.
            conn.execute("SELECT pg_advisory_lock(%s)", (_rebuild_key(kind),))
            generation = self._start_generation(conn, kind)
            try:
                count = self._fill(conn, kind, generation, records, workers)
                with conn.transaction():
                    self._lock_generations(conn, kind, None, rebuilding=True)
                    conn.execute("DELETE FROM search_documents WHERE kind = %s AND "
                                 "generation = %s AND deleted", (kind, generation))
                    conn.execute("UPDATE search_generations SET live = %s, building = NULL, "
                                 "version = version + 1 WHERE kind = %s", (generation, kind))
            except BaseException:
                self._abandon(conn, kind, generation)
                raise
            self._drop_generations(conn, kind, keep=generation)
            try:  # the old generation's space back, and fresh statistics for the planner
                conn.execute("VACUUM (ANALYZE) search_documents, search_terms")
            except psycopg.Error:  # the rebuild stands without them
                log.warning("search: could not vacuum the search tables", exc_info=True)
        log.info("search: rebuilt %s index with %d documents", kind, count)
        return count

    def _start_generation(self, conn, kind: str) -> int:
        with conn.transaction():
            live, _ = self._lock_generations(conn, kind, None, rebuilding=True)
            self._drop_generations(conn, kind, keep=live)  # rows of a rebuild that died
            conn.execute("UPDATE search_generations SET building = %s WHERE kind = %s",
                         (live + 1, kind))
        return live + 1

    def _drop_generations(self, conn, kind: str, keep: int) -> None:
        for table in ("search_documents", "search_terms"):
            conn.execute(f"DELETE FROM {table} WHERE kind = %s AND generation <> %s",
                         (kind, keep))

    def _abandon(self, conn, kind: str, generation: int) -> None:
        try:
            with conn.transaction():
                conn.execute("UPDATE search_generations SET building = NULL "
                             "WHERE kind = %s AND building = %s", (kind, generation))
                for table in ("search_documents", "search_terms"):
                    conn.execute(f"DELETE FROM {table} WHERE kind = %s AND generation = %s",
                                 (kind, generation))
        except psycopg.Error:  # the next write or rebuild cleans up after us
            log.exception("search: could not remove the failed rebuild's rows")

    def _fill(self, conn, kind: str, generation: int, records: Iterable[Record],
              workers: int) -> int:
        conn.execute(_STAGING)
        pending: list[Row] = []

        def take(rows: list[Row]) -> None:
            pending.extend(rows)
            if len(pending) >= BATCH:
                self._copy(conn, kind, generation, pending)
                pending.clear()

        def check(record: Record) -> None:
            if getattr(record, "kind", None) != kind:
                raise RecordError(f"a {kind} rebuild got {record!r}")

        count = 0
        if workers > 1:
            pool = RowWorkers(self.segmenter, workers)
            try:
                batch: list[Record] = []
                for record in records:
                    check(record)
                    batch.append(record)
                    count += 1
                    if len(batch) >= BATCH:
                        for rows in pool.put(batch):
                            take(rows)
                        for rows in pool.ready():
                            take(rows)
                        batch = []
                if batch:
                    for rows in pool.put(batch):
                        take(rows)
                for rows in pool.finish():
                    take(rows)
            except BaseException:
                pool.stop()
                raise
        else:
            for record in records:
                check(record)
                take([prepare_row(record, self.segmenter)])
                count += 1
        if pending:
            self._copy(conn, kind, generation, pending)
        return count

    def _copy(self, conn, kind: str, generation: int, rows: list[Row]) -> None:
        """One batch into the new generation: ``COPY`` to a staging table, then insert what
        no concurrent write has put there already."""
        params = {"kind": kind, "generation": generation}
        for attempt in range(1, BATCH_ATTEMPTS + 1):
            try:
                with conn.transaction():
                    with conn.cursor() as cur:
                        with cur.copy(f"COPY search_staging ({_COLUMNS}, code_terms) "
                                      "FROM STDIN") as copy:
                            for row in rows:
                                copy.write_row((*row.values(), row.code_terms))
                        cur.execute(
                            f"INSERT INTO search_documents (kind, generation, {_COLUMNS}) "
                            f"SELECT %(kind)s, %(generation)s, {_COLUMNS} FROM search_staging "
                            "ORDER BY doc_id ON CONFLICT DO NOTHING", params)
                        cur.execute(_STAGED_TERMS, params)
                return
            except pg_errors.DeadlockDetected:
                if attempt == BATCH_ATTEMPTS:
                    raise
                log.warning("search: rebuild batch deadlocked with a write; retrying")

    # reading

    def search(self, query: SearchQuery) -> SearchResults:
        """Run ``query``: only documents whose acl meets ``query.principals`` are counted,
        faceted or returned."""
        if not query.principals:
            return _engine.empty_results(query)
        text = text_query(query.text, self.segmenter, expand=query.expand)
        for attempt in (1, 2):
            try:
                with self._pool.get() as conn, conn.transaction():
                    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    return self._run(conn, query, text)
            except psycopg.OperationalError as exc:
                # A connection the server dropped (restart, idle timeout) is not reused: one
                # more try on a fresh connection.
                if attempt == 2:
                    raise SearchError(f"the search database failed: {exc}") from exc
            except psycopg.Error as exc:
                raise SearchError(f"the search database failed: {exc}") from exc
        raise AssertionError("unreachable")

    def count(self, kind: str) -> int:
        """Documents in the ``kind`` index, whoever may see them."""
        with self._database_errors(), self._pool.get() as conn:
            return conn.execute(
                "SELECT count(*) FROM search_documents AS d JOIN search_generations AS g "
                "ON g.kind = d.kind AND g.live = d.generation WHERE d.kind = %s", (kind,)
            ).fetchone()[0]

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> PostgresSearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # the query

    def _plan(self, query: SearchQuery, generation: int, text: TextQuery) -> _Plan:
        plan = _Plan(params={"kind": query.kind, "generation": generation,
                             "principals": sorted(query.principals)},
                     text_condition=self._text_condition(text))
        plan.params.update(match=text.match, rank=text.rank)
        for i, (name, values) in enumerate(query.filters.items()):
            wanted = set(values)
            if name == "region" and query.kind == "package":  # serving the province serves it
                wanted |= {a for v in values for a in region_ancestors(v)} | {EVERYWHERE}
            plan.params[f"f{i}"] = sorted(code_id(f"{name}={v}") for v in wanted)
            plan.filters.append((name, f"{{t}}codes && %(f{i})s::bigint[]"))
        if query.price_min_fen is not None or query.price_max_fen is not None:
            plan.params["price_low"] = max(query.price_min_fen or 0, 0)
            plan.params["price_high"] = query.price_max_fen
            high = "" if query.price_max_fen is None else " AND {t}price <= %(price_high)s"
            plan.filters.append((None, "{t}price >= %(price_low)s" + high))
        return plan

    @staticmethod
    def _text_condition(text: TextQuery) -> str:
        if text.impossible:
            return "AND false"
        return "" if text.match is None else "AND tsv @@ %(match)s::tsquery"

    def _run(self, conn, query: SearchQuery, text: TextQuery) -> SearchResults:
        found = conn.execute("SELECT live, version FROM search_generations WHERE kind = %s",
                             (query.kind,)).fetchone()
        if found is None:
            return _engine.empty_results(query)
        key = _ResultCache.key(query, *found)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache.put(key, self._execute_or_relax(conn, query, text, found[0]))
        return cached

    def _execute_or_relax(self, conn, query: SearchQuery, text: TextQuery,
                          generation: int) -> SearchResults:
        """With ``query.fallback``, when no visible document matches every word, the documents
        matching some of them (``relaxed``), as the Whoosh backend does."""
        may_relax = query.fallback and text.groups > 1
        results = self._execute(conn, query, text, generation, suggest=not may_relax)
        if results.total or not may_relax:
            return results
        partial = text_query(query.text, self.segmenter, expand=query.expand, partial=True)
        relaxed = self._execute(conn, query, partial, generation, suggest=False)
        if relaxed.total:
            return replace(relaxed, relaxed=True)
        # No word matches: the suggestion the strict search would have made.
        if not results.words:  # nothing visible at all
            return results
        plan = self._plan(query, generation, text)
        return replace(results, suggestion=self._suggest(conn, query, plan))

    def _execute(self, conn, query: SearchQuery, text: TextQuery,
                 generation: int, suggest: bool = True) -> SearchResults:
        plan = self._plan(query, generation, text)
        sort = "newest" if query.sort == "relevance" and text.rank is None else query.sort
        rank = f"ts_rank(%(weights)s::real[], {{t}}tsv, %(rank)s::tsquery, {RANK_NORMALIZATION})"
        plan.params.update(limit=query.per_page, offset=(query.page - 1) * query.per_page,
                           weights=RANK_WEIGHTS)
        flags = "".join(f", {cond.format(t='')} AS f{i}"
                        for i, (_, cond) in enumerate(plan.filters))
        flagged = _Plan(plan.params, plan.text_condition,
                        [(name, f"f{i}") for i, (name, _) in enumerate(plan.filters)])
        parts = [f"""
            WITH m AS MATERIALIZED (
                SELECT doc_id, codes, price, sort_ms,
                       {rank.format(t='') if sort == 'relevance' else '0::real'} AS score{flags}
                FROM search_documents
                WHERE kind = %(kind)s AND generation = %(generation)s
                  AND acl && %(principals)s::text[] {plan.text_condition}
            ), page AS (
                SELECT doc_id, score, price, sort_ms FROM m WHERE {flagged.where()}
                ORDER BY {_ORDERS[sort].format(t='')} LIMIT %(limit)s OFFSET %(offset)s
            )
            SELECT 'total' AS part, NULL::text AS code, count(*) AS n, NULL::real AS score,
                   NULL::json AS record, NULL::bigint[] AS counts
            FROM m WHERE {flagged.where()}
            UNION ALL
            SELECT 'hit', NULL, row_number() OVER (ORDER BY {_ORDERS[sort].format(t='p.')}),
                   {rank.format(t='d.') if text.rank else '0::real'}, d.record, NULL
            FROM page AS p JOIN search_documents AS d ON d.kind = %(kind)s
                 AND d.generation = %(generation)s AND d.doc_id = p.doc_id"""]
        # Facets: one pass over the codes of the matches. A facet whose own filter is set
        # counts without it (a count of its own); every other facet counts with all filters.
        own = [name for name, _ in plan.filters if name in query.facets]
        if query.facets:
            conditions = [flagged.where(), *(flagged.where(skip=name) for name in own)]
            counts = ", ".join(f"count(*) FILTER (WHERE {c})" for c in conditions)
            plan.params["facet_names"] = [code_name_number(name) for name in query.facets]
            parts.append(f"""
                SELECT 'facet', NULL, code, NULL, NULL, ARRAY[{counts}]
                FROM (SELECT unnest(m.codes) AS code, m.* FROM m
                      WHERE ({") OR (".join(conditions)})) AS c
                WHERE code >> {CODE_NAME_SHIFT} = ANY(%(facet_names)s::bigint[])
                GROUP BY code""")
        selected = [f"{name}={v}" for name in query.facets if name != "price_band"
                    for v in query.filters.get(name, ()) if "\x00" not in v]
        region_vocabulary = query.kind == "package" and "region" in query.facets
        if selected or region_vocabulary:
            plan.params.update(selected=selected,
                               region_like="region=%" if region_vocabulary else "")
            parts.append("""
                SELECT 'vocabulary', term, NULL, NULL, NULL, NULL FROM search_terms
                WHERE kind = %(kind)s AND generation = %(generation)s AND field = 'code'
                  AND (term LIKE %(region_like)s OR term = ANY(%(selected)s::text[]))""")
        # The planner guesses the selectivity of words badly and would rather read every row
        # (and its tsvector) than use the GIN index; JIT only adds compile time here.
        conn.execute("SELECT set_config('jit', 'off', true), "
                     "set_config('enable_seqscan', %s, true)",
                     ("off" if text.match and not text.impossible else "on",))
        rows = conn.execute(" UNION ALL ".join(parts), plan.params).fetchall()
        return self._results(conn, query, text, plan, rows, own, suggest)

    def _code_terms(self, conn, plan: _Plan, ids: set[int]) -> dict[int, str]:
        """``"name=value"`` of code ids, from the vocabulary of the generation (remembered:
        an id always stands for the same code)."""
        unknown = ids - self._codes.keys()
        if unknown:
            names = {CODE_NAMES[i >> CODE_NAME_SHIFT] for i in unknown}
            rows = conn.execute(
                "SELECT term FROM search_terms WHERE kind = %(kind)s "
                "AND generation = %(generation)s AND field = 'code' "
                "AND term LIKE ANY(%(prefixes)s::text[])",
                {**plan.params, "prefixes": [f"{name}=%" for name in sorted(names)]},
            ).fetchall()
            self._codes.update((code_id(term), term) for (term,) in rows)
        return {i: self._codes[i] for i in ids if i in self._codes}

    def _results(self, conn, query: SearchQuery, text: TextQuery, plan: _Plan,
                 rows: list[tuple], own: list[str], suggest: bool = True) -> SearchResults:
        total, hits = 0, []
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        vocabulary: dict[str, set[str]] = defaultdict(set)
        record_type = SPECS[query.kind].record_type
        column = {name: i + 1 for i, name in enumerate(own)}  # else 0: with every filter
        facet_rows = []
        for part, code, n, score, record, facet_counts in rows:
            if part == "total":
                total = n
            elif part == "hit":
                hits.append((n, score, record_from_json(record_type, record)))
            elif part == "facet":
                facet_rows.append((n, facet_counts))
            else:
                name, value = code.split("=", 1)
                vocabulary[name].add(value)
        terms_of = self._code_terms(conn, plan, {code for code, _ in facet_rows})
        for code, facet_counts in facet_rows:
            if code in terms_of:
                name, value = terms_of[code].split("=", 1)
                if count := facet_counts[column.get(name, 0)]:
                    counts[name][value] = count
        if total == 0 and not self._any_visible(conn, plan):
            return _engine.empty_results(query)
        terms = text.words if query.highlight else ()
        page = tuple(
            Hit(record, float(score), highlight(record.title, terms),
                highlight(record.text, terms, _engine.SNIPPET_CHARS))
            for _, score, record in sorted(hits, key=lambda hit: hit[0])
        )
        suggestion = None
        if total == 0 and text.words and suggest:
            suggestion = self._suggest(conn, query, plan)
        return SearchResults(
            hits=page, total=total, page=query.page, per_page=query.per_page,
            facets=_facets(query, counts, vocabulary), suggestion=suggestion, words=text.words,
        )

    def _any_visible(self, conn, plan: _Plan) -> bool:
        return conn.execute(
            "SELECT EXISTS (SELECT 1 FROM search_documents WHERE kind = %(kind)s "
            "AND generation = %(generation)s AND acl && %(principals)s::text[])", plan.params
        ).fetchone()[0]

    # spelling suggestions: what search._engine.suggest does, over the search_terms words

    def _suggest(self, conn, query: SearchQuery, plan: _Plan) -> str | None:
        chunks = query.text.split()
        words_of = {chunk: query_words(chunk.strip('"“”-'), self.segmenter) for chunk in chunks}
        visible = self._visible_words(conn, plan, {w for ws in words_of.values() for w in ws})
        fixed, changed = [], False
        for chunk in chunks:
            words = words_of[chunk]
            if not words or all(w in visible for w in words):
                fixed.append(chunk)
                continue
            candidates = self._similar_terms(conn, plan, normalize(chunk))
            if not candidates and len(words) == 1:
                candidates = self._similar_terms(conn, plan, words[0])
            if candidates:
                fixed.append(max(candidates.items(), key=lambda kv: (kv[1], kv[0]))[0])
                changed = True
            else:
                fixed.append(chunk)
        options = [" ".join(fixed)] if changed else []
        for i in range(len(chunks) if len(chunks) > 1 else 0):
            rest = chunks[:i] + chunks[i + 1:]
            if any(not c.startswith(("-", "－")) for c in rest):  # never only exclusions
                options.append(" ".join(rest))
        best, best_total = None, 0
        for option in options:
            total = self._count(conn, plan, text_query(option, self.segmenter))
            if total > best_total:
                best, best_total = option, total
        return best

    def _visible_words(self, conn, plan: _Plan, words: set[str]) -> set[str]:
        """The words found in at least one document the principals may see."""
        usable = [(w, quote(w)) for w in sorted(words) if fits(w)]
        if not usable:
            return set()
        rows = conn.execute(
            "SELECT w FROM unnest(%(words)s::text[], %(queries)s::text[]) AS u(w, q) "
            "WHERE EXISTS (SELECT 1 FROM search_documents WHERE kind = %(kind)s "
            "AND generation = %(generation)s AND acl && %(principals)s::text[] "
            "AND tsv @@ u.q::tsquery)",
            {**plan.params, "words": [w for w, _ in usable], "queries": [q for _, q in usable]},
        ).fetchall()
        return {w for (w,) in rows}

    def _similar_terms(self, conn, plan: _Plan, word: str) -> dict[str, int]:
        """Indexed words one edit from ``word``, with how many visible documents hold each;
        words only hidden documents hold are left out."""
        if not word or "\x00" in word:  # never indexed, and not valid text for PostgreSQL
            return {}
        rows = conn.execute(
            f"SELECT term, n FROM (SELECT t.term, (SELECT count(*) FROM search_documents AS d "
            "WHERE d.kind = %(kind)s AND d.generation = %(generation)s "
            f"AND d.acl && %(principals)s::text[] AND d.tsv @@ {_TERM_QUERY}) AS n "
            "FROM search_terms AS t WHERE t.kind = %(kind)s AND t.generation = %(generation)s "
            "AND t.field = 'word' AND t.term <> %(word)s "
            "AND char_length(t.term) BETWEEN %(shortest)s AND %(longest)s "
            "AND t.term LIKE ANY(%(patterns)s::text[])) AS c WHERE n > 0",
            {**plan.params, "word": word, "shortest": len(word) - 1, "longest": len(word) + 1,
             "patterns": one_edit_patterns(word)},
        ).fetchall()
        return dict(rows)

    def _count(self, conn, plan: _Plan, text: TextQuery) -> int:
        return conn.execute(
            "SELECT count(*) FROM search_documents WHERE kind = %(kind)s "
            "AND generation = %(generation)s AND acl && %(principals)s::text[] "
            f"{self._text_condition(text)} AND {plan.where()}",
            {**plan.params, "match": text.match},
        ).fetchone()[0]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def one_edit_patterns(word: str) -> list[str]:
    """``LIKE`` patterns of every string one substitution, insertion or deletion away."""
    chars = [_like_escape(c) for c in word]
    patterns = set()
    for i in range(len(chars) + 1):
        patterns.add("".join(chars[:i]) + "_" + "".join(chars[i:]))  # insertion
        if i < len(chars):
            patterns.add("".join(chars[:i]) + "_" + "".join(chars[i + 1:]))  # substitution
            if len(chars) > 1:
                patterns.add("".join(chars[:i]) + "".join(chars[i + 1:]))  # deletion
    return sorted(patterns)


def _facets(query: SearchQuery, counts: dict[str, dict[str, int]],
            vocabulary: dict[str, set[str]]) -> dict[str, tuple[FacetCount, ...]]:
    """Facet values as the Whoosh engine lists them: price bands in order, other values by
    count; a selected value with no results only when the index knows it."""
    out = {}
    for name in query.facets:
        selected = set(query.filters.get(name, ()))
        found = counts.get(name, {})
        if name == "price_band":
            out[name] = tuple(FacetCount(key, found.get(key, 0), key in selected)
                              for key in PRICE_BAND_KEYS if found.get(key) or key in selected)
            continue
        by_code = {code: 0 for code in vocabulary.get(name, ()) if code in selected}
        by_code.update(found)
        if name == "region" and query.kind == "package":
            by_code = _engine._served_counts({**dict.fromkeys(vocabulary.get(name, ()), 0),
                                              **found})
        values = sorted(((code, n) for code, n in by_code.items() if n or code in selected),
                        key=lambda item: (-item[1], item[0]))
        out[name] = tuple(FacetCount(code, n, code in selected) for code, n in values)
    return out
