"""Error pages in the user's language; never a trace or SQL."""

import logging

from flask import Flask, g, render_template
from flask_wtf.csrf import CSRFError

from ..extensions import db
from ..services.errors import IllegalTransition, NotAllowed, NotFound

log = logging.getLogger("marketplace.errors")


def init_app(app: Flask) -> None:
    def page(code: int):
        def handler(error):
            return render_template(f"errors/{code}.html", error=error), code

        return handler

    for code in (400, 403, 404, 405, 413):
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

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        log.exception("request %s failed", g.get("request_id", "-"))
        return render_template("errors/500.html", request_id=g.get("request_id", "")), 500
