"""Writes the change log: which packages and needs each flush touched, in the same transaction.

The search indexer drains the log (:mod:`marketplace.services.search`) and every process's
recommender catches up from it (:mod:`marketplace.services.matching`), so an index or model
that missed a change (a crash, another worker) repairs itself from the database.
"""

from __future__ import annotations

from contextvars import ContextVar

from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from .models import Change, DealRequest, Enterprise, Need, Package, PackageCase, Provider

# Set after a commit that logged changes; the request hook then drains the search outbox.
committed_changes: ContextVar[bool] = ContextVar("committed_changes", default=False)


def _touched(session: Session) -> set[tuple[str, int]]:
    keys: set[tuple[str, int]] = set()
    connection = session.connection()
    changed = [*session.new, *session.deleted,
               *(obj for obj in session.dirty if session.is_modified(obj))]
    for obj in changed:
        if isinstance(obj, Package):
            keys.add(("package", obj.id))
        elif isinstance(obj, PackageCase):
            keys.add(("package", obj.package_id))
        elif isinstance(obj, Need):
            keys.add(("need", obj.id))
        elif isinstance(obj, DealRequest):  # who may see a private need changed
            keys.add(("need", obj.need_id))
        elif isinstance(obj, Provider):
            ids = connection.scalars(select(Package.id).where(Package.provider_id == obj.id))
            keys.update(("package", i) for i in ids)
        elif isinstance(obj, Enterprise):
            ids = connection.scalars(select(Need.id).where(Need.enterprise_id == obj.id))
            keys.update(("need", i) for i in ids)
    return {key for key in keys if key[1] is not None}


def log_changes(session: Session, keys: set[tuple[str, int]]) -> None:
    """Log ``(kind, id)`` changes in the session's transaction; also for changes no flushed
    object shows (a subsidy program opening changes its packages' 可享补贴 flag)."""
    if keys:
        session.connection().execute(
            insert(Change.__table__), [{"kind": k, "object_id": i} for k, i in sorted(keys)]
        )
        session.info["logged_changes"] = True


@event.listens_for(Session, "after_flush")
def _log_changes(session: Session, _context) -> None:
    log_changes(session, _touched(session))


@event.listens_for(Session, "after_commit")
def _note_commit(session: Session) -> None:
    if session.info.pop("logged_changes", False):
        committed_changes.set(True)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop("logged_changes", None)
