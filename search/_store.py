"""The index directory on disk: generations, the current-generation link and the rebuild journal.

Layout under the root directory, per kind (``package``, ``need``)::

    package              -> package.g1718000000000000000.4242   (symlink: the live generation)
    package.g…/          one complete index per generation
    package.lock         write lock: every change to the live index happens under it
    package.rebuild.lock held for the whole of a rebuild
    package.journal      exists only while a rebuild runs: changes made meanwhile, replayed
                         into the new generation before it goes live

A rebuild writes a new generation beside the live one and swaps the link with ``os.replace``
(atomic), so readers always see a complete index. Nothing here knows about Whoosh.
"""

from __future__ import annotations

import os
import pickle
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._locks import FileLock

#: Old generations kept after a swap, so a process still reading one is not cut off mid-query.
KEEP_OLD_GENERATIONS = 1


class KindStore:
    """Files of one document kind under ``root``."""

    def __init__(self, root: Path, kind: str, lock_timeout: float | None):
        self.root = root
        self.kind = kind
        self.lock_timeout = lock_timeout
        self.link = root / kind
        self.journal = root / f"{kind}.journal"

    # generations

    def current(self) -> Path | None:
        """The live generation directory, or ``None`` before the first write."""
        try:
            return self.root / os.readlink(self.link)
        except FileNotFoundError:
            return None

    def new_generation(self) -> Path:
        path = self.root / f"{self.kind}.g{time.time_ns()}.{os.getpid()}"
        path.mkdir(parents=True)
        return path

    def publish(self, generation: Path) -> None:
        """Make ``generation`` live atomically (call under the write lock)."""
        tmp = self.root / f".{self.kind}.link.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        os.symlink(generation.name, tmp)
        os.replace(tmp, self.link)

    def prune(self) -> None:
        """Delete generations older than the live one and the last :data:`KEEP_OLD_GENERATIONS`."""
        live = self.current()
        gens = sorted(
            (p for p in self.root.glob(f"{self.kind}.g*") if p.is_dir() and p != live),
            key=lambda p: int(p.name.split(".")[1][1:]),
        )
        for old in gens[: max(0, len(gens) - KEEP_OLD_GENERATIONS)]:
            shutil.rmtree(old, ignore_errors=True)

    # locks

    def write_lock(self) -> FileLock:
        return FileLock(self.root / f"{self.kind}.lock", self.lock_timeout)

    def rebuild_lock(self, timeout: float | None = None) -> FileLock:
        return FileLock(self.root / f"{self.kind}.rebuild.lock", timeout)

    # journal

    def journal_active(self) -> bool:
        """Whether a live rebuild wants changes journaled (call under the write lock).

        A journal left by a crashed rebuild is removed: its rebuild lock is free.
        """
        if not self.journal.exists():
            return False
        probe = self.rebuild_lock()
        if probe.try_acquire():
            probe.release()
            self.journal.unlink(missing_ok=True)
            return False
        return True

    def start_journal(self) -> None:
        self.journal.write_bytes(b"")

    def append_journal(self, ops: list[Any]) -> None:
        with open(self.journal, "ab") as f:
            pickle.dump(ops, f, protocol=pickle.HIGHEST_PROTOCOL)
            f.flush()
            os.fsync(f.fileno())

    def read_journal(self) -> Iterator[Any]:
        """Every journaled operation, oldest first."""
        try:
            f = open(self.journal, "rb")
        except FileNotFoundError:
            return
        with f:
            while True:
                try:
                    yield from pickle.load(f)
                except EOFError:
                    return

    def end_journal(self) -> None:
        self.journal.unlink(missing_ok=True)

    @contextmanager
    def locked(self) -> Iterator[None]:
        with self.write_lock():
            yield
