"""Error pages in the user's language; never a trace or SQL.

An unexpected error is logged by Flask (with the request id, through the log filters of
:mod:`marketplace.security`); the user sees the 500 page with that id as 错误编号.
"""

import logging

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from ..extensions import db
from ..security import request_id
from ..services.errors import IllegalTransition, NotAllowed, NotFound

log = logging.getLogger("marketplace.errors")


def init_app(app: Flask) -> None:
    def page(code: int):
        def handler(error):
            return render_template(f"errors/{code}.html", error=error), code

        return handler

    for code in (400, 403, 404, 405, 413, 415):
        app.register_error_handler(code, page(code))
    app.register_error_handler(NotFound, page(404))
    app.register_error_handler(NotAllowed, page(403))

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template("errors/400.html", error=error, csrf=True), 400

    @app.errorhandler(IllegalTransition)
    def illegal(error):
        db.session.rollback()
        return render_template("errors/409.html", error=error), 409

    @app.errorhandler(429)
    def too_many(error):
        """A throttled form shows itself again (its ``on_breach`` response); else this page."""
        if getattr(error, "response", None) is not None:
            return error.response
        return render_template("errors/429.html"), 429

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        try:
            return render_template("errors/500.html", request_id=request_id()), 500
        except Exception:  # the page itself failed (say the database is down): plain text
            log.exception("the 500 page failed")
            text = f"500 · {_('服务器出错了')} · {_('错误编号')}: {request_id()}"
            return text, 500, {"Content-Type": "text/plain; charset=utf-8"}
