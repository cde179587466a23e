"""The list pages' word filter: rows whose text contains what the user typed, literally.

A ``%`` or ``_`` typed into a filter is a character to find, not a LIKE wildcard: every filter
that matches typed text goes through :func:`contains_text`, which escapes them.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_

LIKE_ESCAPE = "\\"


def like_literal(text: str) -> str:
    """``text`` for a LIKE pattern, its wildcards (and the escape character) taken literally."""
    return (text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
            .replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_"))


def contains_text(text: str, *columns) -> ColumnElement[bool]:
    """True where any of ``columns`` contains ``text`` (stripped; case-insensitive)."""
    pattern = f"%{like_literal(text.strip())}%"
    return or_(*(column.ilike(pattern, escape=LIKE_ESCAPE) for column in columns))
