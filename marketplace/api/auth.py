"""Who is calling the API, whether a cookie caller proved it meant to, and how often it may.

- **Bearer tokens** (``Authorization: Bearer zgsz_…``): the token's user, with that user's
  permissions limited by the token's scope: a ``read`` token's writes (POST/PUT/PATCH/DELETE)
  are a 403 ``insufficient_scope``. A bad, revoked or disabled user's token is a 401 even if a
  login cookie is sent too; an expired one a 401 ``token_expired``. No CSRF token is needed: a
  browser never adds the header by itself.
- **The login cookie**: the logged-in user, as on the pages. A browser sends the cookie with
  any request, so writes (POST/PUT/PATCH/DELETE) must also carry the CSRF token in the
  ``X-CSRFToken`` header (``GET /api/v1/me`` hands it to a logged-in page), else 403
  ``csrf_failed``. Flask-WTF's global check is switched off for this blueprint
  (it would look in the form) and done here instead.
- **Nobody**: only the public reads (packages, package search, the document) answer.

Every call counts against ``API_RATE_LIMIT`` per token (per user for the cookie, per address
for anonymous calls and failed tokens), in the app's Flask-Limiter storage, so several workers
share the count when that storage is Redis; keys start with ``RATELIMIT_KEY_PREFIX``, so
another deployment on the same Redis keeps its own counts.
"""

from __future__ import annotations

import logging
import time

from flask import current_app, g, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from limits import parse_many
from wtforms.validators import ValidationError

from ..security import STATE_CHANGING, client_address
from ..services import tokens
from .errors import ApiError

log = logging.getLogger("marketplace.api")

CSRF_HEADERS = ("X-CSRFToken", "X-CSRF-Token")
INVALID_TOKEN_CHALLENGE = 'Bearer realm="api", error="invalid_token"'
INSUFFICIENT_SCOPE_CHALLENGE = 'Bearer realm="api", error="insufficient_scope", scope="write"'


def authenticate() -> None:
    """Before every API view: set ``g.api_user`` and ``g.api_auth`` (``token``, ``session``
    or None) and make Flask-Login's ``current_user`` the caller."""
    g.api_user, g.api_auth, g.api_token = None, None, None
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, secret = header.partition(" ")
        secret = secret.strip() if scheme.lower() == "bearer" else ""
        found = tokens.user_for_token(secret) if secret else None
        if found is None:
            _limit(client_address())
            if secret and tokens.is_expired(secret):
                raise ApiError(401, _l("API 令牌已过期，请在“API 令牌”页面生成新的令牌。"),
                               code="token_expired",
                               headers={"WWW-Authenticate": INVALID_TOKEN_CHALLENGE})
            raise ApiError(401, _l("API 令牌无效、已撤销，或其账号已停用。"),
                           headers={"WWW-Authenticate": INVALID_TOKEN_CHALLENGE})
        g.api_user, g.api_token = found
        g.api_auth = "token"
        g._login_user = g.api_user  # Flask-Login's current_user, without touching the session
        _limit(f"token:{g.api_token.id}")
        if request.method in STATE_CHANGING and not g.api_token.can_write:
            raise ApiError(403, _l("这个 API 令牌只能读取数据；修改数据需要读写权限的令牌。"),
                           code="insufficient_scope",
                           headers={"WWW-Authenticate": INSUFFICIENT_SCOPE_CHALLENGE})
        return
    if current_user.is_authenticated:
        g.api_user, g.api_auth = current_user._get_current_object(), "session"
        _limit(f"user:{current_user.id}")
        if request.method in STATE_CHANGING:
            _check_csrf()
        return
    _limit(client_address())


def _check_csrf() -> None:
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    token = next((request.headers[h] for h in CSRF_HEADERS if request.headers.get(h)), None)
    try:
        validate_csrf(token)
    except ValidationError:
        raise ApiError(403, _l("用登录状态调用接口修改数据时，需要在 X-CSRFToken 请求头中提供 "
                               "CSRF 令牌；或改用 API 令牌。"), code="csrf_failed") from None


def caller():
    """The caller: a user, or Flask-Login's anonymous user for the public reads."""
    return g.api_user if g.get("api_user") is not None else current_user._get_current_object()


def require_user():
    """The caller, or 401."""
    if g.get("api_user") is None:
        raise ApiError(401, headers={"WWW-Authenticate": 'Bearer realm="api"'})
    return g.api_user


def require_role(*roles: str):
    """The caller if of one of ``roles``; 401 for nobody, 403 for another role."""
    user = require_user()
    if user.role not in roles:
        raise ApiError(403)
    return user


def _limit(key: str) -> None:
    limiter = current_app.extensions.get("marketplace_limiter")
    if limiter is None or not limiter.enabled:
        return
    setting = current_app.config["API_RATE_LIMIT"]
    # the deployment's prefix first, as Flask-Limiter keys its own limits: two deployments
    # sharing one Redis count apart
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "")
    identifiers = (prefix, "api", key) if prefix else ("api", key)
    try:
        strategy = limiter.limiter
        for item in parse_many(setting):
            if not strategy.hit(item, *identifiers):
                reset_at, _ = strategy.get_window_stats(item, *identifiers)
                wait = max(1, int(reset_at - time.time()))
                raise ApiError(429, headers={"Retry-After": str(wait)})
    except ApiError:
        raise
    except Exception:  # the store is down: serve rather than fail (as RATELIMIT_SWALLOW_ERRORS)
        log.exception("API rate limit storage failed")
