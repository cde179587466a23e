"""Personal API tokens: making, listing and revoking them, and knowing a caller by one.

A token is ``zgsz_`` followed by 43 random URL-safe characters (256 bits). Only its SHA-256 is
stored, so a leaked database does not leak working tokens; a token is found by that hash
(a unique index), which leaks nothing about other tokens through timing.

A token acts with the permissions of its user, read afresh on every request, limited by its
scope: ``read`` tokens only read (the API refuses their writes), ``write`` tokens read and
write. It may expire (30, 90 or 365 days, or never). It stops working when it is revoked, when
it expires, or when its user is disabled. Logging out leaves tokens working (integrations should
not break when a person logs out); a new password — changed, reset, or an admin's forced reset
— revokes them all, unless the user ticks 保留我的 API 令牌 when choosing it (not offered on a
forced reset). A user who fears a token leaked revokes it on ``/profile/tokens`` (the page shows
when each token was last used).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from ..extensions import db
from ..forms import BIDI_CONTROLS, visible_length
from ..models import ApiToken, TokenScope, User
from ..models._base import utcnow
from . import audit
from .errors import NotFound, ValidationFailed

TOKEN_PREFIX = "zgsz_"
SHOWN_CHARS = 12  # "zgsz_" and the first seven random characters: enough to tell tokens apart
NAME_MAX = 64
MAX_ACTIVE_TOKENS = 20
# last_used_at is written at most this often per token, not on every request.
TOUCH_EVERY = timedelta(minutes=1)
LIFETIMES_DAYS = (30, 90, 365)  # or None: never expires


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _check_name(actor: User, name: str) -> str:
    name = name.strip()
    if not 1 <= visible_length(name) <= NAME_MAX or len(name) > NAME_MAX:
        raise ValidationFailed({"name": _l("名称需要 1 到 %(n)d 个字。", n=NAME_MAX)})
    if any(ord(c) < 32 or ord(c) == 127 or c in BIDI_CONTROLS for c in name):
        raise ValidationFailed({"name": _l("包含不可见的控制字符，请删除后再提交。")})
    active = db.session.scalar(select(func.count()).select_from(ApiToken).where(
        ApiToken.user_id == actor.id, ApiToken.revoked_at.is_(None))) or 0
    if active >= MAX_ACTIVE_TOKENS:
        raise ValidationFailed({"name": _l("最多同时保留 %(n)d 个令牌，请先撤销不用的令牌。",
                                           n=MAX_ACTIVE_TOKENS)})
    return name


def create_token(actor: User, name: str, scope: str = TokenScope.WRITE,
                 lifetime_days: int | None = None) -> tuple[ApiToken, str]:
    """A new token of ``actor`` and its secret, which is never stored and so shown only now."""
    name = _check_name(actor, name)
    if scope not in TokenScope.ALL:
        raise ValidationFailed({"scope": _l("请选择令牌的权限。")})
    if lifetime_days is not None and lifetime_days not in LIFETIMES_DAYS:
        raise ValidationFailed({"lifetime": _l("请选择令牌的有效期。")})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(days=lifetime_days) if lifetime_days else None
    token = ApiToken(user_id=actor.id, name=name, prefix=secret[:SHOWN_CHARS],
                     token_hash=hash_token(secret), scope=scope, expires_at=expires_at)
    db.session.add(token)
    db.session.flush()
    audit.record(actor, "create_api_token", token, name=name, token_scope=scope,
                 lifetime_days=lifetime_days)
    return token, secret


def tokens_of(actor: User) -> list[ApiToken]:
    """The user's tokens, live ones first, newest first."""
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == actor.id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())))


def revoke_token(actor: User, token_id: int) -> ApiToken:
    """Revoke one of the actor's own tokens (revoking twice changes nothing); another user's
    token is a 404 — its existence is private."""
    token = db.session.get(ApiToken, token_id)
    if token is None or not token.can_manage(actor):
        raise NotFound()
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(actor, "revoke_api_token", token, name=token.name)
    return token


def revoke_all(actor: User, user: User) -> int:
    """Revoke every live token of ``user`` (a password change or a forced reset); how many."""
    now = utcnow()
    live = list(db.session.scalars(select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))))
    for token in live:
        token.revoked_at = now
    if live:
        audit.record(actor, "revoke_api_tokens", user, count=len(live))
    return len(live)


def _find(secret: str) -> ApiToken | None:
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    return db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))


def user_for_token(secret: str) -> tuple[User, ApiToken] | None:
    """The active user a live token belongs to, or None (unknown, revoked, expired, user
    disabled).

    Records when the token was last used (at most every :data:`TOUCH_EVERY`) in its own small
    write, committed at once.
    """
    token = _find(secret)
    now = utcnow()
    if token is None or token.revoked_at is not None or token.is_expired(now) \
            or not token.user.active:
        return None
    if token.last_used_at is None or _aware(token.last_used_at) < now - TOUCH_EVERY:
        db.session.execute(update(ApiToken).where(ApiToken.id == token.id)
                           .values(last_used_at=now).execution_options(synchronize_session=False))
        db.session.commit()
    return token.user, token


def is_expired(secret: str) -> bool:
    """Whether ``secret`` names a token that has expired (to tell its caller why it fails)."""
    token = _find(secret)
    return token is not None and token.is_expired(utcnow())


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored as UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
