"""The 智改数转 marketplace: a Flask application built by :func:`create_app`."""

from __future__ import annotations

import logging
import os
import secrets

from flask import Flask, has_request_context, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.routing import IntegerConverter

from .config import configure
from .extensions import babel, bootstrap, cache, csrf, db, login_manager, migrate
from .views import MAX_ID

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                              "migrations")


class BoundedIntConverter(IntegerConverter):
    """Ids in URLs fit a database integer: a larger one is a 404, never an overflow (500)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.url_map.converters["int"] = BoundedIntConverter
    os.makedirs(app.instance_path, exist_ok=True)
    configure(app, config)
    configure_extensions(app)
    configure_blueprints(app)
    configure_request_hooks(app)
    configure_security(app)
    configure_templates(app)
    configure_errors(app)
    configure_cli(app)
    return app


def configure_extensions(app: Flask) -> None:
    from . import (
        changes,  # noqa: F401  (registers the change-log hooks)
        milestones,  # noqa: F401  (registers the hooks keeping need milestones)
    )

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    bootstrap.init_app(app)
    cache.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("请先登录。")
    login_manager.login_message_category = "warning"
    login_manager.user_loader(load_user)


def load_user(user_id: str):
    """Load from the cookie's ``id:session_token``; a replaced token ends the session."""
    from .models import User

    raw_id, _, token = user_id.partition(":")
    if not raw_id.isdigit():
        return None
    user = db.session.get(User, int(raw_id))
    if user is None or not user.active or not secrets.compare_digest(user.session_token, token):
        return None
    return user


def select_locale() -> str:
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI, background threads: the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def configure_blueprints(app: Flask) -> None:
    from .admin.routes import bp as admin_bp
    from .api import bp as api_bp
    from .auth.routes import bp as auth_bp
    from .cases.routes import bp as cases_bp
    from .chains.routes import bp as chains_bp
    from .deals.routes import bp as deals_bp
    from .diagnosis.routes import bp as diagnosis_bp
    from .events.routes import bp as events_bp
    from .find.routes import bp as find_bp
    from .imports.routes import bp as imports_bp
    from .main.routes import bp as main_bp
    from .needs.routes import bp as needs_bp
    from .packages.routes import bp as packages_bp
    from .profiles.routes import bp as profiles_bp
    from .ranking.routes import bp as ranking_bp
    from .stats.routes import bp as stats_bp
    from .subsidies.routes import bp as subsidies_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(profiles_bp, url_prefix="/profile")
    app.register_blueprint(needs_bp, url_prefix="/needs")
    app.register_blueprint(packages_bp, url_prefix="/packages")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(find_bp, url_prefix="/search")
    app.register_blueprint(imports_bp, url_prefix="/imports")
    app.register_blueprint(deals_bp, url_prefix="/deals")
    app.register_blueprint(diagnosis_bp, url_prefix="/diagnosis")
    app.register_blueprint(cases_bp, url_prefix="/cases")
    app.register_blueprint(chains_bp, url_prefix="/chains")
    app.register_blueprint(subsidies_bp, url_prefix="/subsidies")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    # The API checks the CSRF header itself, for cookie callers only (bearer tokens need none).
    csrf.exempt(api_bp)
    app.register_blueprint(ranking_bp, url_prefix="/ranking")
    app.register_blueprint(stats_bp, url_prefix="/stats")
    app.register_blueprint(events_bp, url_prefix="/events")


def configure_request_hooks(app: Flask) -> None:
    from .changes import committed_changes
    from .services import search as search_service
    from .services.audit import current_origin

    @app.before_request
    def remember_origin():
        current_origin.set(request.remote_addr or "")
        committed_changes.set(False)

    @app.after_request
    def index_committed_changes(response):
        """Bring the search index up to date right after a write; never fail the request."""
        if committed_changes.get():
            committed_changes.set(False)
            try:
                search_service.drain()
            except Exception:  # the rows stay queued for the next drain
                db.session.rollback()
                logging.getLogger("marketplace.search").exception("search drain failed")
        return response


SECURITY_HEADERS = {
    # No inline script anywhere: scripts and styles come from this site only.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def configure_security(app: Flask) -> None:
    """Security headers on every response; behind a proxy, trust its X-Forwarded-* headers
    (``PROXY_HOPS``) so the audit log records the client's address and cookies can be Secure."""
    from . import security

    security.init_app(app)  # request ids, log filters, throttling, request-body limits
    hops = int(app.config.get("PROXY_HOPS", 0))
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    headers = {**SECURITY_HEADERS, **hsts_header(app.config)}

    @app.after_request
    def add_security_headers(response):
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response


def hsts_header(config) -> dict[str, str]:
    """Strict-Transport-Security when the site is configured for HTTPS (Secure cookies or
    https links): browsers then refuse plain HTTP to it for ``HSTS_MAX_AGE`` seconds. Not on
    plain-HTTP deployments, where it would lock users out. No includeSubDomains: other hosts
    of a government domain may still serve HTTP."""
    https = config.get("SESSION_COOKIE_SECURE") or config.get("PREFERRED_URL_SCHEME") == "https"
    max_age = int(config.get("HSTS_MAX_AGE") or 0)
    return {"Strict-Transport-Security": f"max-age={max_age}"} if https and max_age > 0 else {}


def configure_templates(app: Flask) -> None:
    from . import templating

    templating.init_app(app)


def configure_errors(app: Flask) -> None:
    from .main import errors

    errors.init_app(app)


def configure_cli(app: Flask) -> None:
    from . import cli

    cli.init_app(app)
    # app.logger is the "marketplace" logger; made here, Flask gives it a stderr handler unless
    # the server configured one, so INFO lines are seen from the start (the logging e-mail
    # backend's reset and registration links, in development).
    app.logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
