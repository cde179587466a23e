"""Helpers for the view layer: role checks and the redirect target after login."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import abort, flash, redirect
from flask_login import current_user, login_required

from .extensions import db
from .forms import apply_errors
from .services.errors import NotFound, ValidationFailed

MAX_ID = 2**31 - 1  # ids fit a database integer everywhere


def object_id(value) -> int:
    """A posted id as an int; text that is not an id, or one out of range, is a 404."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise NotFound() from None
    if not 0 < number <= MAX_ID:
        raise NotFound()
    return number


def role_required(*roles: str):
    """Logged in (else the login page) and of one of ``roles`` (else 403)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target


def submit(form, action, message, target, category: str = "success"):
    """The POST half of a form page: for a valid form run ``action()``, commit, flash
    ``message`` (or ``message(result)`` when it is callable; a ``(text, category)`` pair sets
    the flash category) and redirect to ``target(result)``;
    when the service refuses a value, roll back and put its messages beside the fields.
    Returns None when the form should be shown again.
    """
    if not form.validate_on_submit():
        return None
    try:
        result = action()
    except ValidationFailed as failure:
        db.session.rollback()
        apply_errors(form, failure)
        return None
    db.session.commit()
    if callable(message):
        message = message(result)
    if isinstance(message, tuple):
        message, category = message
    if message:
        flash(str(message), category)
    return redirect(target(result))
