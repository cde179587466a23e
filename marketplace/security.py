"""Request-level protections that no single blueprint owns.

- **Request ids:** every request has one (a sane incoming ``X-Request-ID`` from the load
  balancer, else a new one); it goes into the response header, every log record and the 500
  page, so a user's "错误编号" leads to the log lines of that request.
- **Log hygiene:** logging filters, installed in the record factory so they see every record
  whatever handler the server configures, add the request id and redact passwords, tokens,
  secrets and CSRF values from messages, arguments and exception texts (in linear time:
  messages longer than ``MESSAGE_LIMIT`` are cut first, with a note of the cut).
- **Throttling:** a Flask-Limiter per app; :func:`throttle` limits a view's POSTs by a config
  setting such as ``"5 per minute;20 per hour"``, counting only the responses it is told to
  (failed logins, say). Failed logins count per address and per (address, e-mail), never per
  e-mail alone: that counter would let anyone lock an official out. Storage is
  ``RATELIMIT_STORAGE_URI``: ``memory://`` in one process, ``redis://host:6379`` shared by
  several workers.
- **Request bodies:** at most ``MAX_CONTENT_LENGTH`` bytes; views marked with
  :func:`accepts_upload` take files up to ``UPLOAD_MAX_BYTES``. Form views accept form
  encodings only: JSON (which Flask-WTF would feed into the forms untyped) and file parts
  sent to a view that takes no upload are refused with 415 before any form sees them; a NUL
  character in the path or the query string is refused with 400.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Callable, Mapping

from flask import Flask, abort, current_app, g, has_request_context, request
from flask.logging import default_handler
from flask_limiter import Limiter
from limits import parse_many
from werkzeug.exceptions import HTTPException

REQUEST_ID_HEADER = "X-Request-ID"
# What a load balancer sends (uuid, hex, "Root=1-…"): no spaces, quotes or line breaks that
# could forge a log line, and short enough to read out on the phone.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=+-]{0,63}")

FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOG_FORMAT = "[%(asctime)s] %(levelname)s %(name)s [%(request_id)s]: %(message)s"


# --- request ids -----------------------------------------------------------------------------

def request_id() -> str:
    """This request's id (``-`` outside a request); made on first use, so it is the same for
    the logs of every hook, the view, the error page and the response header."""
    if not has_request_context():
        return "-"
    current = g.get("request_id")
    if current is None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        current = incoming if _SANE_REQUEST_ID.fullmatch(incoming) else secrets.token_hex(8)
        g.request_id = current
    return current


# --- logging ---------------------------------------------------------------------------------

SENSITIVE_KEY = re.compile(r"passw|pwd|secret|token|csrf|api[_-]?key|authori[sz]ation|cookie",
                           re.IGNORECASE)
_WORDS = r"(?:passw(?:or)?d|pwd|secret|token|csrf|api[_-]?key|cookie)"
# key=value, key: value, "key": "value" and the ('key', 'value') pairs of a MultiDict's repr.
# Linear on any text (a log line carries what a client sent): a key is a whole run of name
# characters, tried only where such a run starts and taken without backtracking (``++``), so
# no position is rescanned; the lookahead stops at the first sensitive word or the run's end.
_KEY_VALUE = re.compile(
    rf"""(?P<key>(?P<q>["']?)(?<![\w.-])(?=[\w.-]*?{_WORDS})[\w.-]++(?P=q))"""
    r"""(?P<sep>\s*+[:=]\s*+|(?<=["'])\s*+,\s*+(?=["']))"""
    r"""(?P<value>"[^"]*"|'[^']*'|[^\s&,;)}\]]+)""",
    re.IGNORECASE,
)
_AUTH_HEADER = re.compile(r"(?P<key>\b(?:authori[sz]ation|cookie)\s*+:\s*+)[^\r\n]*", re.I)
MASK = "***"
# A log message is cut to this many characters, and says so: a request line, User-Agent or
# Referer can be any length. Cut before redaction, so a value cut short still has its key.
MESSAGE_LIMIT = 8000


def redact(text: str) -> str:
    """``text`` with the values of password, token, secret, CSRF and cookie fields masked
    (in time linear in its length)."""

    def mask(match: re.Match) -> str:
        value = match.group("value")
        quote = value[0] if value[:1] in ("'", '"') else ""
        return f"{match.group('key')}{match.group('sep')}{quote}{MASK}{quote}"

    text = _KEY_VALUE.sub(mask, text)
    return _AUTH_HEADER.sub(lambda m: m.group("key") + MASK, text)


def redact_message(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` redacted, its first ``limit`` characters only, with a note of what was cut."""
    if len(text) <= limit:
        return redact(text)
    return f"{redact(text[:limit])} …[{len(text) - limit} more characters not logged]"


def _redact_arg(arg):
    if isinstance(arg, Mapping):  # a form, headers or a dict of fields: mask by key
        return {key: MASK if SENSITIVE_KEY.search(str(key)) else value
                for key, value in arg.items()}
    return arg


class RequestIdFilter(logging.Filter):
    """Puts the request id on the record as ``request_id`` (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id()
        return True


class RedactSecretsFilter(logging.Filter):
    """Masks sensitive values in the message, its arguments and the exception text.

    The message is rendered here, so what any handler writes is the redacted text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, Mapping):  # log.info("%(email)s", fields)
            args = _redact_arg(args)
        elif args:
            args = tuple(_redact_arg(arg) for arg in args)
        try:
            message = str(record.msg) % args if args else str(record.msg)
        except Exception:  # a malformed call: logging reports it when the record is emitted
            message = None
        if message is not None:
            record.msg, record.args = redact_message(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


LOG_FILTERS = (RequestIdFilter(), RedactSecretsFilter())


def install_log_filters() -> None:
    """Run :data:`LOG_FILTERS` on every record the process creates (once per process).

    A filter on a logger misses its children's records and one on a handler misses handlers
    added later (gunicorn's, pytest's), so they run where every record is made.
    """
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "marketplace_filters", None):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        for log_filter in LOG_FILTERS:
            log_filter.filter(record)
        return record

    factory.marketplace_filters = LOG_FILTERS
    logging.setLogRecordFactory(factory)


def configure_logging(app: Flask) -> None:
    install_log_filters()
    default_handler.setFormatter(logging.Formatter(LOG_FORMAT))


# --- throttling ------------------------------------------------------------------------------

def client_address() -> str:
    """The client's address (``PROXY_HOPS`` makes it the one the load balancer saw)."""
    return "address:" + (request.remote_addr or "-")


def submitted_account() -> str:
    """The e-mail a login is attempted for, hashed (no addresses in the limiter's store)."""
    try:
        email = request.form.get("email", "")
    except HTTPException:  # an oversize body: the request fails on its own
        email = ""
    normalized = email.strip().lower()[:254]
    return "account:" + hashlib.sha256(normalized.encode("utf-8", "replace")).hexdigest()[:32]


def address_and_account() -> str:
    """One e-mail tried from one address: failures elsewhere do not count against it, so
    nobody can lock an account's owner out by failing logins from another address."""
    return f"{client_address()}|{submitted_account()}"


def _guard_counts():
    """(strategy, limits, key) of the failed logins of the form's e-mail from anywhere."""
    limiter: Limiter = current_app.extensions["marketplace_limiter"]
    return (limiter.limiter, parse_many(current_app.config["LOGIN_GUARD_PER_ACCOUNT"]),
            f"{current_app.config['RATELIMIT_KEY_PREFIX']}/login-guard/{submitted_account()}")


def login_guarded() -> bool:
    """Whether the e-mail on the login form failed too often, from any addresses: then a
    right password e-mails a login link instead of opening the account (README, Accounts)."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return False
    strategy, limits, key = _guard_counts()
    try:
        return not all(strategy.test(limit, key) for limit in limits)
    except Exception:  # the store is down: the other limits still hold (and swallow it too)
        current_app.logger.exception("login guard: the limit store failed")
        return False


def count_login_failure() -> None:
    if not current_app.config["RATELIMIT_ENABLED"]:
        return
    strategy, limits, key = _guard_counts()
    try:
        for limit in limits:
            strategy.hit(limit, key)
    except Exception:
        current_app.logger.exception("login guard: the limit store failed")


def failed_form(response) -> bool:
    """A form POST that failed: the form was shown again (a success redirects)."""
    return response.status_code == 200


def not_throttled(response) -> bool:
    return response.status_code != 429


def configure_limiter(app: Flask) -> Limiter:
    """One limiter per app (its storage and settings come from this app's config)."""
    limiter = Limiter(key_func=client_address, app=app)
    app.extensions["marketplace_limiter"] = limiter
    return limiter


def throttle(app: Flask, endpoint: str, setting: str, key: Callable[[], str], *,
             counts: Callable | None = None, on_breach: Callable | None = None) -> None:
    """Limit POSTs to ``endpoint`` by the limit string in config ``setting``, per ``key``.

    ``counts(response)`` says which responses use up the limit (all when None); ``on_breach``
    may return the response shown instead of the view (else the 429 page).
    """
    limiter: Limiter = app.extensions["marketplace_limiter"]
    limit = limiter.limit(lambda: current_app.config[setting], key_func=key, methods=["POST"],
                          deduct_when=counts, on_breach=on_breach)
    app.view_functions[endpoint] = limit(app.view_functions[endpoint])


def throttle_auth_forms(app: Flask) -> None:
    from .auth.routes import throttled_page

    throttle(app, "auth.login", "LOGIN_LIMIT_PER_ACCOUNT", address_and_account,
             counts=failed_form, on_breach=throttled_page)
    throttle(app, "auth.login", "LOGIN_LIMIT_PER_ADDRESS", client_address,
             counts=failed_form, on_breach=throttled_page)
    throttle(app, "auth.register", "REGISTER_LIMIT_PER_ADDRESS", client_address,
             counts=not_throttled, on_breach=throttled_page)
    throttle(app, "auth.change_password", "PASSWORD_LIMIT_PER_ADDRESS", client_address,
             counts=failed_form, on_breach=throttled_page)
    throttle(app, "auth.forgot_password", "FORGOT_LIMIT_PER_ADDRESS", client_address,
             counts=not_throttled, on_breach=throttled_page)


# --- request bodies --------------------------------------------------------------------------

def accepts_upload(view: Callable) -> Callable:
    """Mark a view that receives files: file parts are allowed and the body may be up to
    ``UPLOAD_MAX_BYTES`` (other views: ``MAX_CONTENT_LENGTH``, and no files)."""
    view.accepts_upload = True
    return view


def accepts_json(view: Callable) -> Callable:
    """Mark a view that reads a JSON body itself (and checks its types)."""
    view.accepts_json = True
    return view


def _has_nul(pairs) -> bool:
    return any("\x00" in key or "\x00" in value for key, value in pairs)


def check_request_body() -> None:
    """Before anything reads the body (CSRF does, first): apply the view's size limit, refuse
    bodies a form view does not take (415) and NUL characters in the path or the query (400:
    no one types them, and PostgreSQL text cannot hold them; in form fields the forms'
    ``NoControlChars`` says so beside the field)."""
    view = current_app.view_functions.get(request.endpoint or "")
    upload = getattr(view, "accepts_upload", False)
    if upload:
        request.max_content_length = current_app.config["UPLOAD_MAX_BYTES"]
    if "\x00" in request.path or _has_nul(request.args.items(multi=True)):
        abort(400)
    if request.method not in STATE_CHANGING or not request.mimetype:
        return
    if request.mimetype not in FORM_MIMETYPES:
        if not (request.is_json and getattr(view, "accepts_json", False)):
            abort(415)
    elif request.mimetype == "multipart/form-data" and not upload and request.files:
        abort(415)


def configure_request_checks(app: Flask) -> None:
    # First of all before-request functions: CSRF protection reads the form before ours.
    app.before_request_funcs.setdefault(None, []).insert(0, check_request_body)

    @app.after_request
    def add_request_id(response):
        response.headers[REQUEST_ID_HEADER] = request_id()
        return response


def init_app(app: Flask) -> None:
    """Called by :func:`marketplace.create_app` after the blueprints are registered."""
    configure_logging(app)
    configure_request_checks(app)
    configure_limiter(app)
    throttle_auth_forms(app)
