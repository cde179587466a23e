"""Worker processes that turn records into rows during a PostgreSQL rebuild.

Segmenting is most of the work (about 1 ms per package); the parent reads the records in its
own thread (safe for a database cursor), queues them in batches, and writes the rows the workers
send back with ``COPY`` while they segment the next batches. Forked like the Whoosh backend's
workers (:mod:`search._rebuild`), so they inherit the loaded segmenter; errors come back the
same way: a worker's exception is raised in the caller with the worker's traceback as cause.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import queue
import traceback
from collections.abc import Iterator

from matching.text import Segmenter

from ._pgrows import Row, prepare_row

#: Seconds between liveness checks while waiting on a queue.
_POLL = 0.5


def _worker(segmenter: Segmenter, jobs, results, parent: int) -> None:
    try:
        # No cyclic garbage collection: nothing inherited from the parent (its database
        # connections) may be finalized here, where closing it would disturb the parent's.
        gc.disable()
        while True:
            try:
                batch = jobs.get(timeout=_POLL)
            except queue.Empty:
                if os.getppid() != parent:
                    return
                continue
            if batch is None:
                results.put(("done",))
                return
            results.put(("rows", [prepare_row(record, segmenter) for record in batch]))
    except BaseException as exc:  # reported to the parent, which raises it
        try:
            pickle.dumps(exc)
        except Exception:
            exc = None
        results.put(("error", exc, traceback.format_exc()))


class RowWorkers:
    """``procs`` forked processes turning batches of records into :class:`Row` lists."""

    def __init__(self, segmenter: Segmenter, procs: int):
        context = multiprocessing.get_context("fork")
        self.jobs = context.Queue(procs * 4)
        self.results = context.Queue()
        self.finished = 0
        self.procs = [
            context.Process(target=_worker, daemon=True,
                            args=(segmenter, self.jobs, self.results, os.getpid()))
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

    def ready(self, wait: float = 0) -> Iterator[list[Row]]:
        """Rows that are there (waiting up to ``wait`` seconds for the first); raises a
        worker's error, or that a worker died."""
        try:
            result = self.results.get(timeout=wait) if wait else self.results.get_nowait()
            while True:
                if result[0] == "error":
                    raise self._failed(result)
                if result[0] == "done":
                    self.finished += 1
                else:
                    yield result[1]
                result = self.results.get_nowait()
        except queue.Empty:
            pass
        if any(proc.exitcode not in (None, 0) for proc in self.procs):
            raise RuntimeError("a search rebuild worker process died")

    def put(self, batch: list | None) -> Iterator[list[Row]]:
        """Queue a batch (``None``: no more); yields rows that arrive while the queue is full."""
        while True:
            try:
                self.jobs.put(batch, timeout=_POLL)
                return
            except queue.Full:
                yield from self.ready()

    def finish(self) -> Iterator[list[Row]]:
        """Tell the workers to stop; yields the remaining rows."""
        for _ in self.procs:
            yield from self.put(None)
        while self.finished < len(self.procs):
            yield from self.ready(_POLL)
        for proc in self.procs:
            proc.join()
        self.jobs.close()
        self.results.close()

    def stop(self) -> None:
        """Stop the workers after a failure."""
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()
        for proc in self.procs:
            proc.join()
        self.jobs.cancel_join_thread()
        self.jobs.close()
        self.results.close()
