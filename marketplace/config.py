"""Configuration: defaults here, then ``instance/config.py``, then ``MARKETPLACE_*`` variables."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from pathlib import Path

ENV_PREFIX = "MARKETPLACE_"


class DefaultConfig:
    # hide_parameters: SQL errors and logs never show values (password hashes, tokens).
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh_CN": "中文", "en": "English"}
    BOOTSTRAP_SERVE_LOCAL = True
    # OWASP ASVS 5.0 asks scrypt N>=2^17, r=8, p=1 (Werkzeug's default is weaker).
    PASSWORD_HASH_METHOD = "scrypt:131072:8:1"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Served over HTTPS: MARKETPLACE_SESSION_COOKIE_SECURE=true (the remember cookie follows).
    SESSION_COOKIE_SECURE = False
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024  # forms; views marked accepts_upload: UPLOAD_MAX_BYTES
    UPLOAD_MAX_BYTES = 5 * 1024 * 1024
    # Flask-Limiter; several workers must share a store: redis://127.0.0.1:6379
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_STRATEGY = "moving-window"
    RATELIMIT_KEY_PREFIX = "zgsz"
    API_RATE_LIMIT = "300 per minute;5000 per hour"  # per API token (or user, or address)
    RATELIMIT_SWALLOW_ERRORS = True  # the store down: log it, fall back to this process's memory
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    # Failed logins of one e-mail *from one address*: guessing from elsewhere never locks the
    # owner out (a correct password from an address not itself throttled is let through).
    LOGIN_LIMIT_PER_ACCOUNT = "5 per minute;20 per hour"
    LOGIN_LIMIT_PER_ADDRESS = "30 per minute;300 per hour"  # failed logins from one address
    # Failed logins of one e-mail from anywhere: past this, a right password no longer opens
    # the account but e-mails a one-time login link (a guarded login), so guessing from many
    # addresses gets nowhere and the owner still gets in.
    LOGIN_GUARD_PER_ACCOUNT = "50 per hour;200 per day"
    LOGIN_LINK_MAX_AGE = 15 * 60
    REGISTER_LIMIT_PER_ADDRESS = "20 per hour"
    PASSWORD_LIMIT_PER_ADDRESS = "10 per 15 minutes"  # wrong current passwords
    FORGOT_LIMIT_PER_ADDRESS = "10 per hour"  # reset links asked for (each sends an e-mail)
    # The logging e-mail backend writes registration and reset links to the log only when
    # true (``python -m marketplace`` sets it; debug and tests show them too).
    EMAIL_LOG_LINKS = False
    PASSWORD_RESET_MAX_AGE = 60 * 60  # seconds a reset link works (once)
    REGISTER_LINK_MAX_AGE = 48 * 60 * 60  # seconds a registration link works
    # A form's CSRF token expires after 8 hours: a page left open for a working day still
    # submits, a token copied out of an old page or log does not last. An expired token shows
    # "页面已过期，请刷新" (the 400 page), never a trace.
    WTF_CSRF_TIME_LIMIT = 8 * 60 * 60
    # Sent when HTTPS is configured (SESSION_COOKIE_SECURE or PREFERRED_URL_SCHEME "https"):
    # browsers then refuse plain HTTP to this host for a year. 0: never sent.
    HSTS_MAX_AGE = 365 * 24 * 60 * 60
    PER_PAGE = 20
    # Production serving (marketplace/wsgi.py): load the recommender and open the search index
    # before a worker's first request; EXPOSE_WORKER_PID adds X-Worker-PID (tests, benchmarks).
    WARM_UP = True
    EXPOSE_WORKER_PID = False
    # "whoosh": files under SEARCH_INDEX_DIR, one host. "postgresql": full-text search in the
    # app's own PostgreSQL database, for several hosts (flask search rebuild once to fill it).
    SEARCH_BACKEND = "whoosh"
    # Flask-Caching: "SimpleCache" keeps figures in each process; several workers or hosts
    # share them with CACHE_TYPE = "RedisCache" and CACHE_REDIS_URL = "redis://127.0.0.1:6379/1".
    # Nothing is kept longer than its timeout; "NullCache" turns caching off.
    CACHE_TYPE = "SimpleCache"
    CACHE_KEY_PREFIX = "zgsz-cache:"
    CACHE_DEFAULT_TIMEOUT = 60
    LANDING_CACHE_SECONDS = 60  # the counts on the home page and the package list's total
    STATS_CACHE_SECONDS = 60  # an official's dashboard figures for the same scope and filters
    LEADS_CACHE_SECONDS = 60  # a provider's ranked leads while its packages stay the same


def _env_overrides() -> dict:
    """``MARKETPLACE_X=value`` sets ``X``; JSON values (numbers, true/false) are decoded."""
    overrides = {}
    for key, raw in os.environ.items():
        if key.startswith(ENV_PREFIX):
            try:
                overrides[key[len(ENV_PREFIX):]] = json.loads(raw)
            except ValueError:
                overrides[key[len(ENV_PREFIX):]] = raw
    if "DATABASE_URL" in overrides:
        overrides["SQLALCHEMY_DATABASE_URI"] = overrides.pop("DATABASE_URL")
    return overrides


def instance_secret_key(instance_path: str) -> str:
    """A secret key kept in ``instance/secret_key`` so restarts keep sessions valid.

    Several hosts must share one key: set ``MARKETPLACE_SECRET_KEY`` there instead.
    Several workers starting at once on a fresh instance all end up with the same key: each
    writes a whole key to a private file and links it into place; the first link wins, and
    nobody ever reads a half-written file.
    """
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, written = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")  # mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
            try:
                os.link(written, path)
            except FileExistsError:  # another worker's key won
                pass
        finally:
            os.unlink(written)
    return path.read_text().strip()


def _no_jit(config) -> None:
    """PostgreSQL compiles plans whose estimated cost is high (``jit_above_cost``); for this
    app's short queries the compilation took ~20 ms of a 40 ms statement and saved nothing, so
    the app's connections turn it off (unless the configuration set ``options`` itself)."""
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(options.get("connect_args") or {})
    connect_args.setdefault("options", "-c jit=off")
    options["connect_args"] = connect_args
    config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def configure(app, overrides: dict | None) -> None:
    app.config.from_object(DefaultConfig)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(
        app.instance_path, "marketplace.db"
    )
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(_env_overrides())
    if overrides:
        app.config.update(overrides)
    app.config.setdefault("REMEMBER_COOKIE_SECURE", app.config["SESSION_COOKIE_SECURE"])
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        _no_jit(app.config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
