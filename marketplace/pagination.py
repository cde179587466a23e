"""Paginating a select() with Flask-SQLAlchemy, the page taken from the query string."""

from flask import current_app, request

from .extensions import db


def paginate(query):
    page = request.args.get("page", 1, type=int)
    return db.paginate(query, page=max(page, 1), per_page=current_app.config["PER_PAGE"],
                       error_out=False, max_per_page=100)
