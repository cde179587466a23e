"""Paginating a select() with Flask-SQLAlchemy, the page taken from the query string."""

import hashlib

from flask import current_app, request
from sqlalchemy import func, select

from .extensions import db
from .services.figures import kept

MAX_PAGE = 10_000


def paginate(query, shared_total: bool = False):
    """One page of ``query``. ``shared_total``: the list is the same for every visitor (a
    public catalogue), so its total — a count over every matching row, the dearest part of a
    page at 100k rows — may be a minute old (``LANDING_CACHE_SECONDS``)."""
    page = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    found = db.paginate(query, page=page, per_page=current_app.config["PER_PAGE"],
                        error_out=False, max_per_page=100, count=not shared_total)
    if shared_total:
        found.total, _at = kept(_count_key(query), "LANDING_CACHE_SECONDS", lambda: _count(query))
    return found


def _count(query) -> int:
    counted = select(func.count()).select_from(query.order_by(None).subquery())
    return db.session.execute(counted).scalar() or 0


def _count_key(query) -> str:
    """The same statement with the same parameters counts the same rows."""
    compiled = query.compile(db.engine)
    text = f"{compiled}|{sorted(compiled.params.items(), key=lambda kv: kv[0])!r}"
    return "count:" + hashlib.sha256(text.encode()).hexdigest()
