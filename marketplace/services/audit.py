"""Writing the audit log. The view layer sets where a request comes from; services log."""

from __future__ import annotations

from contextvars import ContextVar

from ..extensions import db
from ..models import AuditEntry

current_origin: ContextVar[str] = ContextVar("current_origin", default="cli")


def record(actor, action: str, obj=None, region_id: int | None = None, **details) -> None:
    """Add an audit entry to the session; it is committed with the change it describes."""
    db.session.add(
        AuditEntry(
            actor_id=getattr(actor, "id", None),
            action=action,
            object_type=type(obj).__name__.lower() if obj is not None else "",
            object_id=getattr(obj, "id", None),
            region_id=region_id,
            origin=current_origin.get(),
            details=details,
        )
    )
