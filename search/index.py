"""The search index: one directory holding the package and need indexes.

:class:`SearchIndex` is the library's whole interface to storage. Today it is backed by Whoosh
(:mod:`search._whoosh`); a PostgreSQL backend would implement the same four methods —
:meth:`~SearchIndex.apply`, :meth:`~SearchIndex.rebuild`, :meth:`~SearchIndex.search`,
:meth:`~SearchIndex.count` — over the same records, queries and results.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from matching.text import Segmenter, default_segmenter

from . import _engine, _rebuild, _whoosh
from ._store import KindStore
from .analysis import segment
from .errors import QueryError, RecordError
from .query import SPECS, SearchQuery, SearchResults
from .records import KINDS, DocRef, Record

log = logging.getLogger(__name__)

#: Memory for each rebuild writer's posting pool. Whoosh spills sorted runs to disk and merges
#: them when the pool is full; at 128 MB that doubled the indexing time of 100k packages.
REBUILD_LIMIT_MB = 1024


class _Reader:
    """A kind's open searcher and its numpy view, reopened when the index changes."""

    def __init__(self) -> None:
        self.generation: Path | None = None
        self.index = None
        self.searcher = None
        self.view: _whoosh.WhooshView | None = None
        self.segments: dict[str, _whoosh.SegmentArrays] = {}

    def current_view(self, store: KindStore) -> _whoosh.WhooshView | None:
        generation = store.current()
        if generation is None:
            return None
        if generation != self.generation:  # first use, or a rebuild swapped generations
            self.close()
            self.index = _whoosh.open_index(generation)
            self.generation = generation
        if self.searcher is None or not self.searcher.up_to_date():
            # A fresh searcher, not Whoosh's refresh(): its reader reuse is keyed on segment
            # objects and has been unreliable about deletions; unchanged segments' arrays are
            # reused from self.segments anyway.
            if self.searcher is not None:
                self.searcher.close()
            self.searcher = self.index.searcher()
            self.view = _whoosh.WhooshView(self.searcher, SPECS[store.kind], self.segments,
                                           self.generation)
        return self.view

    def close(self) -> None:
        if self.searcher is not None:
            self.searcher.close()
        self.generation = self.index = self.searcher = self.view = None
        self.segments = {}


class SearchIndex:
    """Packages and needs, searchable, under one directory.

    Parameters
    ----------
    path : str or Path
        The index directory (created when missing), e.g. ``instance/search``.
    segmenter : matching.text.Segmenter, optional
        The shared Chinese segmenter; defaults to the process-wide one. Give the app's own (with
        its jieba cache file) so rebuild workers use the same cache.
    lock_timeout : float
        Seconds a write waits for another process's write before :class:`IndexBusyError`.

    Notes
    -----
    Safe to share between threads (searches and writes in one process are serialized) and
    between processes on one host (writes take an ``flock`` per kind). Searches never wait for
    writes from other processes.
    """

    def __init__(self, path: str | Path, *, segmenter: Segmenter | None = None,
                 lock_timeout: float = 30.0):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.segmenter = segmenter or default_segmenter()
        _whoosh.use_segmenter(self.segmenter)
        self.lock_timeout = lock_timeout
        self._stores = {kind: KindStore(self.path, kind, lock_timeout) for kind in KINDS}
        self._readers = {kind: _Reader() for kind in KINDS}
        self._lock = threading.RLock()  # Whoosh's file reads seek shared handles

    # writing

    def apply(self, upserts: Iterable[Record] = (), deletes: Iterable[DocRef] = ()) -> None:
        """Add or replace ``upserts`` and remove ``deletes`` (``(kind, id)`` pairs).

        One atomic commit per kind; upserts are applied before deletes. Texts are segmented
        before the write lock is taken, so concurrent writers wait only for the short commit.
        Raises :class:`IndexBusyError` if another writer holds the lock past ``lock_timeout``.
        """
        ops: dict[str, list[tuple[str, Any]]] = defaultdict(list)
        for record in upserts:
            ops[record.kind].append(("upsert", self._prepare(record)))
        for kind, doc_id in deletes:
            if kind not in KINDS:
                raise RecordError(f"unknown kind {kind!r}")
            ops[kind].append(("delete", int(doc_id)))
        for kind, kind_ops in ops.items():
            store = self._stores[kind]
            with store.write_lock():
                generation = store.current() or self._create_generation(store)
                if store.journal_active():
                    store.append_journal(kind_ops)
                ix = _whoosh.open_index(generation)
                _whoosh.write(ix, kind_ops, timeout=self.lock_timeout)
                _whoosh.prepare_sidecars(generation, SPECS[kind])

    def rebuild(self, kind: str, records: Iterable[Record], *, workers: int = 1) -> int:
        """Replace the ``kind`` index with exactly ``records``; returns how many were indexed.

        Builds a new generation beside the live one, so searches keep working, then swaps it in
        atomically. Writes made by :meth:`apply` meanwhile (in any process) are journaled and
        replayed into the new generation before the swap, so none is lost. ``workers`` > 1
        segments and indexes in that many forked worker processes (call it from a CLI command,
        not a threaded web worker). ``records`` is consumed in this thread (safe for a database
        cursor).
        """
        if kind not in KINDS:
            raise QueryError(f"unknown kind {kind!r}")
        store = self._stores[kind]
        with store.rebuild_lock(timeout=None):  # one rebuild of a kind at a time
            with store.write_lock():
                store.start_journal()
            generation = None
            try:
                generation = store.new_generation()
                count = self._build(generation, kind, records, workers)
                with store.write_lock():
                    journaled = list(store.read_journal())
                    ix = _whoosh.open_index(generation)
                    if journaled:
                        _whoosh.write(ix, journaled, timeout=self.lock_timeout)
                        _whoosh.prepare_sidecars(generation, SPECS[kind])
                    store.publish(generation)
                    store.end_journal()
            except BaseException:
                with store.write_lock():
                    store.end_journal()
                if generation is not None and generation != store.current():
                    shutil.rmtree(generation, ignore_errors=True)
                raise
        store.prune()
        log.info("search: rebuilt %s index with %d documents", kind, count)
        return count

    def _build(self, generation: Path, kind: str, records: Iterable[Record], workers: int) -> int:
        spec = SPECS[kind]
        ix = _whoosh.create_index(generation, spec)

        def check(record: Record) -> None:
            if getattr(record, "kind", None) != kind:
                raise RecordError(f"a {kind} rebuild got {record!r}")

        if workers > 1:
            # Each forked worker segments and indexes its share into a segment of its own and
            # writes that segment's sidecar; the segments are then listed together unmerged.
            count = _rebuild.build(generation, spec, records, check, self.segmenter,
                                   workers, REBUILD_LIMIT_MB)
        else:
            writer = _whoosh.bulk_writer(ix, REBUILD_LIMIT_MB)
            count = 0
            try:
                for record in records:
                    check(record)
                    writer.add_document(**self._prepare(record))
                    count += 1
            except BaseException:
                writer.cancel()
                raise
            writer.commit()
        _whoosh.prepare_sidecars(generation, spec)
        return count

    def _prepare(self, record: Record) -> dict[str, Any]:
        if getattr(record, "kind", None) not in KINDS:
            raise RecordError(f"not a search record: {record!r}")
        return _whoosh.prepare(
            record, segment(record.title, self.segmenter), segment(record.text, self.segmenter)
        )

    def _create_generation(self, store: KindStore) -> Path:
        generation = store.new_generation()
        _whoosh.create_index(generation, SPECS[store.kind])
        store.publish(generation)
        return generation

    # reading

    def search(self, query: SearchQuery) -> SearchResults:
        """Run ``query``: only documents whose acl meets ``query.principals`` are counted,
        faceted or returned."""
        with self._lock:
            view = self._readers[query.kind].current_view(self._stores[query.kind])
            if view is None:
                return _engine.empty_results(query)
            return _engine.run(view, query, self.segmenter)

    def count(self, kind: str) -> int:
        """Documents in the ``kind`` index, whoever may see them."""
        with self._lock:
            view = self._readers[kind].current_view(self._stores[kind])
            return 0 if view is None else view.doc_count

    def close(self) -> None:
        with self._lock:
            for reader in self._readers.values():
                reader.close()

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
