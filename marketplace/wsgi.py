"""The production entry point: ``gunicorn --workers 4 marketplace.wsgi:app`` (docs/deployment.md).

Each gunicorn worker imports this module after it is forked, so each builds its own app,
database pool, search index handle and recommender; nothing is shared through memory. Before
the worker takes its first request it loads the saved recommender and opens the search index
(``WARM_UP``, on by default), so no visitor waits for that. Run ``flask --app marketplace db
upgrade``, ``search rebuild`` (once) and ``matching refit`` before the first start: a worker
that finds no saved recommender fits one itself, which at volume takes minutes.

``EXPOSE_WORKER_PID`` (off by default; the multi-worker test turns it on) adds an
``X-Worker-PID`` header to every response, to see which worker answered.
"""

from __future__ import annotations

import gc
import logging
import os

from flask import Flask

from . import create_app

log = logging.getLogger("marketplace.wsgi")
WORKER_HEADER = "X-Worker-PID"


def warm_up(app: Flask) -> None:
    """Load what the first requests would otherwise wait for; a failure only logs (the
    request that needs it will try again)."""
    from .services import search
    from .services.matching import get_recommender

    with app.app_context():
        for what, load in (("search index", search.get_index),
                           ("recommender", lambda: get_recommender().matcher())):
            try:
                load()
            except Exception:
                log.exception("warm-up: loading the %s failed", what)
        from .extensions import db

        db.session.remove()
    # The recommender is a few hundred thousand long-lived objects: moved out of the garbage
    # collector's sight, a full collection no longer walks them in the middle of a request.
    gc.freeze()


def expose_worker_pid(app: Flask) -> None:
    @app.after_request
    def add_worker_pid(response):
        response.headers[WORKER_HEADER] = str(os.getpid())
        return response


def build() -> Flask:
    app = create_app()
    if app.config.get("EXPOSE_WORKER_PID"):
        expose_worker_pid(app)
    if app.config.get("WARM_UP", True):
        warm_up(app)
    return app


app = build()
