"""The OpenAPI document and the human page that renders it (from this site's own assets)."""

from __future__ import annotations

from flask import current_app, render_template

from . import route
from .openapi import build_document
from .serialize import respond


@route("/openapi.json")
def openapi_document():
    document = current_app.extensions.get("api_openapi")
    if document is None:  # built once per process: the routes do not change while it runs
        document = current_app.extensions["api_openapi"] = build_document(current_app)
    return respond(document)


@route("/docs")
def docs_page():
    return render_template("api/docs.html")
