"""Notifications: in-app rows for every user of the side that must act, plus an e-mail hook.

The e-mail backend is a dotted path in ``EMAIL_BACKEND`` (default: log the message), so a
deployment can swap in SMTP or a government messaging gateway without touching the services.
"""

from __future__ import annotations

import logging
from functools import partial
from importlib import import_module

from flask import after_this_request, current_app, has_request_context
from sqlalchemy import func, select, update

from ..extensions import db
from ..models import Notification, Role, User
from ..models._base import utcnow

log = logging.getLogger("marketplace.email")


# Mails whose link is a key to an account (set a password, reset it): whoever reads the log
# could use them.
SECRET_LINK_KINDS = frozenset({"signup", "signup_existing", "password_reset",
                               "password_reset_forced", "login_link"})


class LoggingEmailBackend:
    """Writes each message to the log instead of sending it. Links that open an account are
    logged only where the log is the developer's own (``EMAIL_LOG_LINKS``, debug, tests)."""

    def __init__(self) -> None:
        self.show_secret_links = bool(current_app.config.get("EMAIL_LOG_LINKS")
                                      or current_app.debug or current_app.testing)

    def send(self, to: str, kind: str, subject: str, link: str) -> None:
        if kind in SECRET_LINK_KINDS and not self.show_secret_links:
            link = "<hidden>"  # EMAIL_BACKEND delivers it; EMAIL_LOG_LINKS shows it
        log.info("email to=%s kind=%s subject=%s link=%s", to, kind, subject, link)


def _backend():
    default = "marketplace.services.notify.LoggingEmailBackend"
    path = current_app.config.get("EMAIL_BACKEND", default)
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)()


def _recipients(enterprise_id: int | None = None, provider_id: int | None = None,
                region_id: int | None = None) -> list[User]:
    query = select(User).where(User.active.is_(True))
    if enterprise_id is not None:
        query = query.where(User.enterprise_id == enterprise_id)
    elif provider_id is not None:
        query = query.where(User.provider_id == provider_id)
    elif region_id is not None:
        query = query.where(User.role == Role.GOV, User.region_id == region_id)
    else:
        return []
    return list(db.session.scalars(query))


def send_email(to: str, kind: str, subject: str, link: str) -> None:
    """One e-mail to one address through the configured backend (account mails: password
    reset links, registration links), with no in-app notification.

    While a request is answered the mail leaves after the response (a server closes every
    response): how long ``/auth/forgot`` takes must not tell whether an address has an
    account."""
    backend, message = _backend(), (to, kind, str(subject), link)
    if has_request_context():
        after_this_request(partial(_send_when_closed, backend, message))
    else:
        backend.send(*message)


def _send_when_closed(backend, message: tuple, response):
    response.call_on_close(lambda: backend.send(*message))
    return response


def notify(kind: str, subject: str, link: str, *, enterprise_id: int | None = None,
           provider_id: int | None = None, region_id: int | None = None) -> None:
    """Tell every active user of one enterprise or one provider, or every official of one
    region."""
    backend = _backend()
    for user in _recipients(enterprise_id, provider_id, region_id):
        db.session.add(Notification(user_id=user.id, kind=kind, subject=subject[:300],
                                    link=link[:200]))
        backend.send(user.email, kind, subject, link)


def unread_count(user: User) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ) or 0


def recent(user: User, limit: int = 50) -> list[Notification]:
    return list(db.session.scalars(
        select(Notification).where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    ))


def mark_all_read(user: User) -> None:
    db.session.execute(update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)).values(read_at=utcnow()))
