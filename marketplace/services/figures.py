"""Figures computed for everyone and kept for a short while (the landing page's counts, an
official's dashboard): in each process by default, in Redis when several workers or hosts
serve (``CACHE_TYPE``). What is kept must be plain data (numbers, strings, dataclasses of
them), never database objects; it is at most the configured number of seconds old, and the
pages that show such figures say when they were computed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from flask import current_app

from ..extensions import cache
from ..models._base import utcnow

T = TypeVar("T")


def kept(key: str, seconds_setting: str, compute: Callable[[], T]) -> tuple[T, datetime]:
    """The value kept under ``key`` with the moment it was computed, or ``compute()`` now
    (kept for ``current_app.config[seconds_setting]`` seconds; 0 keeps nothing)."""
    seconds = int(current_app.config.get(seconds_setting, 0) or 0)
    if seconds > 0:
        found = cache.get(key)
        if found is not None:
            return found
    fresh = (compute(), utcnow())
    if seconds > 0:
        cache.set(key, fresh, timeout=seconds)
    return fresh
