"""A full rebuild in worker processes: each one segments, indexes and writes a Whoosh segment
of its own, with that segment's numpy sidecar.

Replaces Whoosh's ``MpWriter``, whose parent built every document (stored record included) and
pickled it, one ``pickle.dump`` per document with protocol 2, into job files while competing
with the two workers for the two cores, and which left the sidecars to be built one after the
other afterwards: 321–374 s of CPU for 100k packages, against 199–234 s now (README). Here the
parent only reads the records (in its own thread: a database cursor is safe) and puts batches of
them, as they are, on a queue; everything else happens in the workers, and the segments are
listed together without a merge, as ``MpWriter(multisegment=True)`` does. Uses the same private
steps of Whoosh's ``SegmentWriter`` as ``whoosh.multiproc`` (``_finalize_segment``,
``_close_segment``, ``_commit_toc``, ``_finish``).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import queue
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from whoosh.reading import SegmentReader

from matching.text import Segmenter

from . import _whoosh
from .analysis import segment
from .query import KindSpec

#: Records put on the job queue at a time.
BATCH = 256
#: Seconds between liveness checks while waiting on a queue.
_POLL = 0.5


def _index_documents(writer, records: Iterable[Any], segmenter: Segmenter) -> None:
    for record in records:
        writer.add_document(**_whoosh.prepare(record, segment(record.title, segmenter),
                                              segment(record.text, segmenter)))


def _worker(generation: str, spec: KindSpec, segmenter: Segmenter, limitmb: int,
            jobs, results, parent: int) -> None:
    """One worker process: index every batch it takes off ``jobs`` into one new segment, write
    the segment's sidecar, and put ``("ok", segment or None)`` or ``("error", …)`` on
    ``results``."""
    try:
        # No cyclic garbage collection here, so nothing inherited from the parent that awaits
        # collection (say, a database connection) is finalized in this process, where closing
        # it would disturb the parent's. Indexing makes no cycles worth collecting: CPU time
        # and peak memory of a 20k-package rebuild were the same either way.
        gc.disable()
        ix = _whoosh.open_index(generation)
        writer = _whoosh.bulk_writer(ix, limitmb, _lk=False)  # the parent holds the lock
        while True:
            try:
                batch = jobs.get(timeout=_POLL)
            except queue.Empty:
                if os.getppid() != parent:  # the parent died: do not linger holding its locks
                    return
                continue
            if batch is None:
                break
            _index_documents(writer, batch, segmenter)
        if writer.doc_count() == 0:
            # Not cancel(): that would delete the temporary directory the workers share (the
            # parent's writer deletes it at the end).
            writer._close_segment()
            results.put(("ok", None))
            return
        new_segment = writer._finalize_segment()
        reader = SegmentReader(ix.storage, ix.schema, new_segment)
        try:
            _whoosh.write_sidecar(Path(generation), reader, spec)
        finally:
            reader.close()
        results.put(("ok", new_segment))
    except BaseException as exc:  # reported to the parent, which raises it
        try:
            pickle.dumps(exc)  # the queue pickles in a thread of its own, failing silently
        except Exception:
            exc = None
        results.put(("error", exc, traceback.format_exc()))


class _Workers:
    """The worker processes of one rebuild, fed through a bounded queue."""

    def __init__(self, generation: Path, spec: KindSpec, segmenter: Segmenter, procs: int,
                 limitmb: int):
        # fork: the workers inherit the loaded segmenter (jieba's dictionary) for free.
        context = multiprocessing.get_context("fork")
        self.jobs = context.Queue(procs * 4)
        self.results = context.Queue()
        self._done: list = []  # what finished workers returned: a segment or None
        self.procs = [
            context.Process(target=_worker, daemon=True,
                            args=(str(generation), spec, segmenter, limitmb, self.jobs,
                                  self.results, os.getpid()))
            for _ in range(procs)
        ]
        for proc in self.procs:
            proc.start()

    def _failed(self, result: tuple) -> BaseException:
        _, exc, trace = result
        if isinstance(exc, Exception):
            exc.__cause__ = RuntimeError(f"in a search rebuild worker process:\n{trace}")
            return exc
        return RuntimeError(f"a search rebuild worker process failed:\n{trace}")

    def _collect(self, wait: float) -> None:
        """Take the results that are there (waiting up to ``wait`` seconds for the first);
        raise a worker's error, or that a worker died."""
        try:
            result = self.results.get(timeout=wait) if wait else self.results.get_nowait()
            while True:
                if result[0] == "error":
                    raise self._failed(result)
                self._done.append(result[1])
                result = self.results.get_nowait()
        except queue.Empty:
            pass
        if any(proc.exitcode not in (None, 0) for proc in self.procs):
            raise RuntimeError("a search rebuild worker process died")

    def put(self, batch: list | None) -> None:
        while True:
            try:
                self.jobs.put(batch, timeout=_POLL)
                return
            except queue.Full:
                self._collect(0)  # all busy; or failed and no longer taking any

    def finish(self) -> list:
        """Tell the workers to finish; their new segments (all present or an exception)."""
        for _ in self.procs:
            self.put(None)
        while len(self._done) < len(self.procs):
            self._collect(_POLL)
        for proc in self.procs:
            proc.join()
        self.jobs.close()
        self.results.close()
        return [segment for segment in self._done if segment is not None]

    def stop(self) -> None:
        """Stop the workers after a failure (their partial segments are never listed)."""
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()
        for proc in self.procs:
            proc.join()
        self.jobs.cancel_join_thread()
        self.jobs.close()
        self.results.close()


def build(generation: Path, spec: KindSpec, records: Iterable[Any],
          check: Callable[[Any], None], segmenter: Segmenter, procs: int, limitmb: int) -> int:
    """Index ``records`` into the empty index at ``generation`` with ``procs`` worker
    processes; ``check`` vets each record in this process. Returns how many were indexed."""
    workers = _Workers(generation, spec, segmenter, procs, limitmb)
    count = 0
    try:
        batch: list = []
        for record in records:
            check(record)
            batch.append(record)
            count += 1
            if len(batch) >= BATCH:
                workers.put(batch)
                batch = []
        if batch:
            workers.put(batch)
        segments = workers.finish()
    except BaseException:
        workers.stop()
        raise
    ix = _whoosh.open_index(generation)
    writer = ix.writer()
    try:
        writer._close_segment()  # its own (empty) segment is never listed
        writer._commit_toc(segments)
    finally:
        writer._finish()
    return count

