"""Paginating a select() with Flask-SQLAlchemy, the page taken from the query string."""

from flask import current_app, request

from .extensions import db

MAX_PAGE = 10_000


def paginate(query):
    page = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    return db.paginate(query, page=page, per_page=current_app.config["PER_PAGE"],
                       error_out=False, max_per_page=100)
