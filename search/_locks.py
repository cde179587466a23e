"""An inter-process lock on a file (``fcntl.flock``) with a timeout and backoff.

``flock`` locks belong to an open file description, so two threads of one process that each open
the lock file exclude each other too, and the kernel drops the lock when a process dies, so a
crashed writer never leaves the index locked. It works on one host; several hosts share search
through one indexer process or the PostgreSQL backend (see README).
"""

from __future__ import annotations

import fcntl
import os
import random
import time
from pathlib import Path

from .errors import IndexBusyError


class FileLock:
    """Exclusive lock on ``path``, usable as a context manager.

    Parameters
    ----------
    path : Path
        The lock file; created when missing, never deleted (deleting it would let two holders
        lock two different files).
    timeout : float or None
        Seconds to wait before :class:`IndexBusyError`; ``None`` waits for ever.
    """

    def __init__(self, path: Path, timeout: float | None = 30.0):
        self.path = path
        self.timeout = timeout
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        delay = 0.002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
                return
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    os.close(fd)
                    raise IndexBusyError(f"{self.path.name} is held by another writer") from None
                # Jittered exponential backoff, capped so waiters notice a release quickly.
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.1)

    def try_acquire(self) -> bool:
        """Take the lock if it is free right now."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
