"""Accounts: registration, authentication, officials and admins, passwords."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import Role, User
from ..models._base import utcnow
from . import audit
from .errors import NotAllowed, ValidationFailed
from .regions import region_by_code

MIN_PASSWORD = 8
MAX_PASSWORD = 128
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


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (same answer for every failure)."""
    user = find_user_by_email(email)
    if user is None:
        check_password_hash(_dummy_hash(), password)
        audit.record(None, "login_failed", None, email=normalize_email(email)[:254])
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        audit.record(user, "login_failed", user)
        return None
    user.last_login_at = utcnow()
    audit.record(user, "login", user)
    return user


def change_password(user: User, current: str, new: str) -> None:
    if not check_password_hash(user.password_hash, current):
        raise ValidationFailed({"current_password": _l("当前密码不正确。")})
    problem = password_problem(new)
    if problem:
        raise ValidationFailed({"new_password": problem})
    user.password_hash = hash_password(new)
    user.end_sessions()
    audit.record(user, "change_password", user)


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
