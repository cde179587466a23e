"""Accounts: registration, authentication, officials and admins, passwords.

E-mailed links (signed with the app's secret key, :mod:`itsdangerous`, each with its own salt
and maximum age):

- **Password reset** (``PASSWORD_RESET_MAX_AGE``): names the user and a fingerprint of the
  password hash it was made for, so it dies when the password changes — once used, or when a
  newer password was set by any route — and when it expires.
- **Registration** (``REGISTER_LINK_MAX_AGE``): the e-mail, name and role typed on the form.
  Nothing is stored until the reader of that mailbox opens the link and chooses a password, so
  the answer to a registration is the same whether the address had an account or not.
- **Login link** (``LOGIN_LINK_MAX_AGE``): sent instead of a session when an account's
  password was guessed at too often from anywhere (a guarded login); names the user and the
  account's session token, which its use replaces, so it opens the account once.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import Role, User
from ..models._base import utcnow
from . import audit, notify, tokens
from .errors import NotAllowed, ValidationFailed
from .regions import region_by_code

MIN_PASSWORD = 8
MAX_PASSWORD = 128
# A forced reset stores this prefix and random text as the hash: no password matches it
# (Werkzeug's check needs "method$salt$hash"), and every forced reset changes the fingerprint.
UNUSABLE_PASSWORD_PREFIX = "!"
RESET_SALT = "password-reset"
SIGNUP_SALT = "registration"
LOGIN_SALT = "login-link"
# A link is one URL segment in an e-mail; anything longer was not made here.
MAX_LINK_TOKEN = 1000
COMMON_PASSWORDS = Path(__file__).parent.parent / "data" / "common_passwords.txt"


@cache
def _common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip())


def password_problem(password: str) -> str | None:
    """Why ``password`` is refused, or None. Never truncated: scrypt hashes all of it."""
    if len(password) < MIN_PASSWORD:
        return _l("密码至少需要 %(n)d 个字符。", n=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        return _l("密码最多 %(n)d 个字符。", n=MAX_PASSWORD)
    if password.lower() in _common_passwords():
        return _l("这个密码太常见，容易被猜中，请换一个。")
    return None


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


# Compared against when the e-mail is unknown, so both failures take the same time.
_DUMMY_HASH: dict[str, str] = {}


def _dummy_hash() -> str:
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASH:
        _DUMMY_HASH[method] = generate_password_hash("not-a-password", method=method)
    return _DUMMY_HASH[method]


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


@dataclass(frozen=True)
class NewAccount:
    email: str
    password: str
    display_name: str
    role: str
    region_code: str | None = None


def _check_new_account(data: NewAccount, allowed_roles: tuple[str, ...]) -> None:
    errors = {}
    if data.role not in allowed_roles:
        errors["role"] = _l("不能创建这种角色的账号。")
    if find_user_by_email(data.email) is not None:
        errors["email"] = _l("这个邮箱已经注册。")
    problem = password_problem(data.password)
    if problem:
        errors["password"] = problem
    if data.role == Role.GOV and region_by_code(data.region_code) is None:
        errors["region_code"] = _l("请选择政府账号所属的地区。")
    if errors:
        raise ValidationFailed(errors)


def _new_user(data: NewAccount) -> User:
    user = User(
        email=normalize_email(data.email),
        password_hash=hash_password(data.password),
        display_name=data.display_name.strip(),
        role=data.role,
        region=region_by_code(data.region_code) if data.role == Role.GOV else None,
    )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:  # registered a moment ago by a concurrent request
        db.session.rollback()
        raise ValidationFailed({"email": _l("这个邮箱已经注册。")}) from None
    return user


@dataclass(frozen=True)
class Registration:
    """What the registration form asks; the password is chosen through the e-mailed link."""

    email: str
    display_name: str
    role: str


def start_registration(data: Registration, signup_link: Callable[[str], str],
                       reset_link: Callable[[str], str]) -> None:
    """Answer a registration in the same way whether the address has an account or not: a new
    address is sent a link to choose a password (the account is made then, by whoever reads
    that mailbox); an existing account's owner is told that someone tried, with a reset link.
    Nothing is written."""
    if data.role not in Role.SELF_REGISTER:
        raise ValidationFailed({"role": _l("不能创建这种角色的账号。")})
    email = normalize_email(data.email)
    user = find_user_by_email(email)
    if user is None:
        notify.send_email(email, "signup", _l("完成注册：设置密码"),
                          signup_link(registration_token(data)))
    elif user.active:
        notify.send_email(user.email, "signup_existing",
                          _l("有人用您的邮箱尝试注册；如果忘记了密码，可以用这个链接重设"),
                          reset_link(password_reset_token(user)))


def registration_token(data: Registration) -> str:
    return _signer(SIGNUP_SALT).dumps({"email": normalize_email(data.email),
                                       "name": data.display_name.strip(), "role": data.role})


def registration_from_token(token: str) -> Registration | None:
    """The registration a link was made for, or None (forged, garbled or expired)."""
    data = _load(SIGNUP_SALT, token, "REGISTER_LINK_MAX_AGE")
    if not isinstance(data, dict):
        return None
    values = (data.get("email"), data.get("name"), data.get("role"))
    if not all(isinstance(value, str) for value in values) or values[2] not in Role.SELF_REGISTER:
        return None
    return Registration(*values)


def complete_registration(registration: Registration, password: str) -> User:
    """The account of an e-mailed registration link, with the password chosen there."""
    return register_user(NewAccount(email=registration.email, password=password,
                                    display_name=registration.display_name,
                                    role=registration.role))


def register_user(data: NewAccount) -> User:
    """Self-registration of an SME or provider user; the company profile comes next."""
    _check_new_account(data, Role.SELF_REGISTER)
    user = _new_user(data)
    audit.record(user, "register", user, role=user.role)
    return user


def create_account(actor: User | None, data: NewAccount) -> User:
    """An admin creates any account, gov ones bound to a region (``actor`` None: the CLI)."""
    if actor is not None and not actor.is_admin:
        raise NotAllowed(_l("只有管理员可以创建政府和管理员账号。"))
    _check_new_account(data, Role.ALL)
    user = _new_user(data)
    audit.record(actor, "create_account", user, region_id=user.region_id, role=user.role)
    return user


def authenticate(email: str, password: str, *, guarded: bool = False,
                 login_link: Callable[[str], str] | None = None) -> User | None:
    """The active user with these credentials, or None (same answer for every failure).

    ``guarded``: the account's password was guessed at too often; right credentials then
    e-mail a one-time ``login_link`` instead of opening the account, and return None too."""
    user = find_user_by_email(email)
    if user is None:
        check_password_hash(_dummy_hash(), password)
        audit.record(None, "login_failed", None, email=normalize_email(email)[:254])
        return None
    if user.password_hash.startswith(UNUSABLE_PASSWORD_PREFIX):  # a forced reset
        check_password_hash(_dummy_hash(), password)  # the same work as for any failure
        audit.record(user, "login_failed", user)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        audit.record(user, "login_failed", user)
        return None
    if guarded:
        notify.send_email(user.email, "login_link", _l("登录链接"), login_link(login_token(user)))
        audit.record(user, "login_link_sent", user)
        return None
    user.last_login_at = utcnow()
    audit.record(user, "login", user)
    return user


def login_token(user: User) -> str:
    return _signer(LOGIN_SALT).dumps({"user": user.id, "session": user.session_token})


def user_for_login_token(token: str) -> User | None:
    """The active user a login link was made for, while no session began since."""
    return _user_from_link(_load(LOGIN_SALT, token, "LOGIN_LINK_MAX_AGE"), "session",
                           lambda user: user.session_token)


def login_by_link(user: User) -> None:
    """The link was used: it and every other session of the account end here."""
    user.end_sessions()
    user.last_login_at = utcnow()
    audit.record(user, "login_by_link", user)


def change_password(user: User, current: str, new: str, keep_tokens: bool = False) -> None:
    if not check_password_hash(user.password_hash, current):
        raise ValidationFailed({"current_password": _l("当前密码不正确。")})
    problem = password_problem(new)
    if problem:
        raise ValidationFailed({"new_password": problem})
    _set_password(user, new, keep_tokens)
    audit.record(user, "change_password", user, kept_api_tokens=keep_tokens)


def _set_password(user: User, new: str, keep_tokens: bool) -> None:
    """A new password ends every session and outstanding reset link of the account (the
    fingerprint changes), and its API tokens unless the user chose to keep them."""
    user.password_hash = hash_password(new)
    user.end_sessions()
    if not keep_tokens:
        tokens.revoke_all(user, user)


# -- password reset ------------------------------------------------------------------------------


def _signer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _load(salt: str, token: str, max_age_setting: str):
    """What a link carries, or None when it is forged, garbled or older than the setting."""
    if len(token) > MAX_LINK_TOKEN:
        return None
    try:
        return _signer(salt).loads(token, max_age=current_app.config[max_age_setting])
    except BadData:  # a bad signature, an expired one, a payload that is not JSON
        return None


def _password_fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode("utf-8")).hexdigest()[:20]


def password_reset_token(user: User) -> str:
    return _signer(RESET_SALT).dumps({"user": user.id, "password": _password_fingerprint(user)})


def user_for_reset_token(token: str) -> User | None:
    """The active user a reset link was made for, while the password it was made for holds."""
    return _user_from_link(_load(RESET_SALT, token, "PASSWORD_RESET_MAX_AGE"), "password",
                           _password_fingerprint)


def _user_from_link(data, field: str, current: Callable[[User], str]) -> User | None:
    """The active user a link's ``data`` names, while its ``field`` still equals
    ``current(user)`` (else the link was used already, or the account changed since)."""
    if not isinstance(data, dict) or type(data.get("user")) is not int:
        return None
    carried = data.get(field)
    user = db.session.get(User, data["user"]) if 0 < data["user"] < 2**31 else None
    if user is None or not user.active or not isinstance(carried, str):
        return None
    return user if secrets.compare_digest(carried, current(user)) else None


def request_password_reset(email: str, reset_link: Callable[[str], str]) -> None:
    """E-mail a reset link when an active account has this address; the caller answers the
    same either way."""
    user = find_user_by_email(email)
    if user is None or not user.active:  # the same write as for an account: the same time
        audit.record(None, "request_password_reset", None, email=normalize_email(email)[:254])
        return
    notify.send_email(user.email, "password_reset", _l("重设密码"),
                      reset_link(password_reset_token(user)))
    audit.record(None, "request_password_reset", user)


def reset_password(user: User, new: str, keep_tokens: bool = False) -> None:
    """Set the password through a reset link (the caller checked the link)."""
    problem = password_problem(new)
    if problem:
        raise ValidationFailed({"password": problem})
    _set_password(user, new, keep_tokens)
    audit.record(user, "reset_password", user, kept_api_tokens=keep_tokens)


def force_password_reset(actor: User, user: User, reset_link: Callable[[str], str]) -> None:
    """An admin takes the password away: every session and API token of the account ends at
    once, and its owner is e-mailed a link to choose a new password (the only way back in)."""
    if not actor.is_admin:
        raise NotAllowed(_l("只有管理员可以强制重设密码。"))
    if user.id == actor.id:
        raise ValidationFailed({"user": _l("不能强制重设自己的密码，请直接修改密码。")})
    user.password_hash = UNUSABLE_PASSWORD_PREFIX + secrets.token_hex(16)
    user.end_sessions()
    tokens.revoke_all(actor, user)
    audit.record(actor, "force_password_reset", user)
    notify.send_email(user.email, "password_reset_forced", _l("管理员要求您重设密码"),
                      reset_link(password_reset_token(user)))


def set_user_active(actor: User, user: User, active: bool) -> None:
    if not actor.is_admin:
        raise NotAllowed(_l("只有管理员可以停用账号。"))
    if user.id == actor.id and not active:
        raise ValidationFailed({"active": _l("不能停用自己的账号。")})
    user.active = active
    if not active:
        user.end_sessions()
    audit.record(actor, "enable_user" if active else "disable_user", user)


def logout_everywhere(user: User) -> None:
    """Invalidate every cookie of the account (called at logout)."""
    user.end_sessions()


def count_users_by_role() -> dict[str, int]:
    rows = db.session.execute(select(User.role, func.count()).group_by(User.role))
    return {role: count for role, count in rows}


def user_list(role: str = ""):
    """Accounts for the admin's list, newest first, optionally of one role."""
    query = select(User).order_by(User.created_at.desc(), User.id.desc())
    return query.where(User.role == role) if role in Role.ALL else query


def set_locale(user: User, code: str) -> None:
    user.locale = code
