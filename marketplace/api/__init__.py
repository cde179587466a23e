"""The open JSON API, version 1, under ``/api/v1``.

- :mod:`.auth` — bearer tokens, the login cookie with its CSRF header, the rate limit;
- :mod:`.inputs` — typed JSON bodies and query strings, cursors;
- :mod:`.errors` — the error objects;
- :mod:`.serialize` — what each resource shows;
- :mod:`.routes` and :mod:`.deals` — the resources, each view documented by :func:`operation`
  right where it is written; :mod:`.openapi` collects those into ``/api/v1/openapi.json``.

Views stay thin: they read the request, call the same services as the pages (so every
permission check and business rule is the pages' own), commit, and answer JSON.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint
from werkzeug.routing import BaseConverter

from .auth import authenticate
from .errors import init_errors

MAX_ID = 2**31 - 1


class IdConverter(BaseConverter):
    """``<api_id:name>``: digits, as an int; past a database integer it is 0, which names nothing
    (a 404 from the view). The app's ``int`` converter refuses such ids while matching, and
    Werkzeug then stops looking, so the request would miss this blueprint (and its JSON 404)."""

    regex = r"[0-9]{1,30}"
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = int(value)
        return number if number <= MAX_ID else 0

    def to_url(self, value) -> str:
        return str(int(value))


bp = Blueprint("api", __name__)
bp.record_once(lambda state: state.app.url_map.converters.setdefault("api_id", IdConverter))
bp.before_request(authenticate)
init_errors(bp)


def route(rule: str, **options) -> Callable:
    """``bp.route`` for a view that reads JSON itself (the app's form-only check lets its
    JSON bodies through)."""

    def decorator(view: Callable) -> Callable:
        view.accepts_json = True
        return bp.route(rule, **options)(view)

    return decorator


def operation(tag: str, summary: str, *, ok: int = 200, response: str | None = None,
              query: tuple = (), body: tuple | None = None, partial: bool = False,
              public: bool = False, errors: tuple[int, ...] = (), headers: tuple = (),
              description: str = "") -> Callable:
    """Describe a view for the OpenAPI document: its tag and summary, the success status and
    the component schema it answers with, its query and body fields (the same tuples the view
    reads with), whether anonymous callers may use it, and the error statuses it can give."""

    def decorator(view: Callable) -> Callable:
        view.openapi = dict(tag=tag, summary=summary, ok=ok, response=response, query=query,
                            body=body, partial=partial, public=public, errors=errors,
                            headers=headers, description=description)
        return view

    return decorator


from . import deals, docs, routes  # noqa: E402,F401  (register the views)
