"""Transactions that move money: the write lock taken up front, and exactly-once submissions.

PostgreSQL serialises writers on the rows a service locks with ``SELECT … FOR UPDATE``. SQLite
ignores ``FOR UPDATE``; there the only safe way to read a balance and write against it is to
hold the database's write lock before the read, which ``BEGIN IMMEDIATE`` takes (other writers
wait up to ``busy_timeout``). :func:`begin_write` does whichever the database needs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import IdempotencyKey, User
from .errors import KeyReused, ValidationFailed

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
INVALID_KEY = _l("提交编号无效，请刷新页面后重试。")
KEY_USED_ELSEWHERE = _l("这个提交编号已用于另一个对象，本次操作没有执行。请刷新页面后重试。")


def begin_write() -> None:
    """Hold the write lock from here to the commit (SQLite); a no-op on PostgreSQL, where the
    caller locks rows with ``with_for_update()``."""
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return
    # pysqlite opens a transaction only before its first INSERT/UPDATE/DELETE; if one is open
    # this session has written already and so holds the write lock.
    if not connection.connection.driver_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def run_once(actor: User, key: str | None, action: str, act: Callable[[], dict],
             target: str = "") -> dict:
    """Run ``act`` once per (user, idempotency key): a repeated submission with the same key
    gets the first submission's result back and changes nothing. ``act`` returns a small JSON
    dict (ids of what it made) which is stored with the key in the same transaction.

    ``target`` names what the action acts on (:func:`target_of`; empty when it makes a new
    object): a key is a repeat only of the same action on the same target, so a key first
    used for claim 2 and sent again to approve claim 29 is refused, never answered with claim
    2's result as if claim 29 had been approved."""
    if not key:
        return act()
    if not KEY_PATTERN.match(key):
        raise ValidationFailed({"form": INVALID_KEY})
    target = _fingerprint(target)
    begin_write()
    done = _stored(actor, key)
    if done is not None:
        return _repeated(done, action, target)
    record = IdempotencyKey(user_id=actor.id, key=key, action=action, target=target, result={})
    try:
        with db.session.begin_nested():  # a concurrent twin waits here, then conflicts
            db.session.add(record)
    except IntegrityError:
        return _repeated(_stored(actor, key), action, target)
    record.result = act()
    return record.result


def target_of(kind: str, *ids: int) -> str:
    """The ``target`` of an action on the objects of ``kind`` with these ids (in any order):
    ``claim:29``, ``claims:2,5,9``."""
    return f"{kind}:{','.join(str(i) for i in sorted(map(int, ids)))}"


def _fingerprint(target: str) -> str:
    """``target`` as stored: itself when it fits the column, else its digest."""
    if len(target) <= IdempotencyKey.TARGET_LENGTH:
        return target
    return "sha256:" + hashlib.sha256(target.encode()).hexdigest()


def _repeated(done: IdempotencyKey, action: str, target: str) -> dict:
    """The first submission's result; a key used for another action (its result has another
    shape) or on another object is no repeat of this submission and is refused."""
    if done.action != action:
        raise KeyReused({"form": INVALID_KEY})
    if done.target != target:
        raise KeyReused({"form": KEY_USED_ELSEWHERE})
    return done.result


def _stored(actor: User, key: str) -> IdempotencyKey | None:
    return db.session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == actor.id, IdempotencyKey.key == key)
        .execution_options(populate_existing=True))
