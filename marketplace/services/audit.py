"""The audit log: writing it (the view layer sets where a request comes from; services log)
and reading it (the trail an official or admin may see, filtered).

An edit keeps what it changed in ``details["changes"]``: field → ``[old, new]``, values as
JSON keeps them (codes, not names; dates as ISO text; amounts in fen), so the trail shows
who changed what, when, from what to what, however the names are later renamed.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import AuditEntry, User
from .regions import region_ids_governed
from .textmatch import contains_text

current_origin: ContextVar[str] = ContextVar("current_origin", default="cli")

# What the trail's "object" filter offers: a group name → the object types it covers.
OBJECT_GROUPS = {
    "need": ("need",),
    "quote": ("quote",),
    "package": ("package",),
    "enterprise": ("enterprise",),
    "provider": ("provider",),
    "deal": ("dealrequest", "order", "review"),
    "subsidy": ("subsidyprogram", "subsidyclaim", "ledgerentry"),
    "case": ("typicalcase",),
    "event": ("matchevent", "eventmeeting", "eventregistration"),
    "import": ("importbatch", "ownershiprequest"),
    "diagnosis": ("diagnosisresult",),
    "account": ("user", "apitoken"),
    "chain": ("chainleaderapplication", "chainmembership"),
}


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


def plain(value):
    """A value as the log keeps it: dates as ISO text, tuples and sets as sorted lists."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(plain(v) for v in value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def values_of(obj, fields: Iterable[str]) -> dict:
    """The audited fields of ``obj`` as the log keeps them, to compare before and after."""
    return {name: plain(getattr(obj, name)) for name in fields}


def changes(before: dict, after: dict) -> dict[str, list]:
    """Each field whose value differs: field → ``[old, new]``."""
    return {name: [before.get(name), value] for name, value in after.items()
            if before.get(name) != value}


def record_edit(actor, action: str, obj, before: dict, after: dict,
                region_id: int | None = None, **details) -> dict:
    """Record an edit of ``obj`` with each field it changed (old → new); an edit that
    changed nothing leaves no entry. Returns the changes."""
    changed = changes(before, after)
    if changed:
        record(actor, action, obj, region_id=region_id, changes=changed, **details)
    return changed


# -- reading the trail --------------------------------------------------------------------------


@dataclass(frozen=True)
class TrailFilter:
    object_group: str = ""  # a key of OBJECT_GROUPS
    action: str = ""
    actor: str = ""  # an e-mail address, or part of a display name
    since: date | None = None  # calendar days in China time, both included
    until: date | None = None


def _start_of(day: date) -> datetime:
    from .deals import LOCAL_TZ  # deals logs through this module: import it when used

    return datetime.combine(day, time.min, LOCAL_TZ).astimezone(UTC)


def trail(actor: User, filters: TrailFilter = TrailFilter()) -> Select:
    """The entries ``actor`` may read, newest first: an official those of their region and
    below (entries without a region — accounts, providers, packages — are the admins'), an
    admin all, anyone else none."""
    query = (select(AuditEntry).options(selectinload(AuditEntry.actor))
             .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()))
    if actor.is_gov:
        query = query.where(AuditEntry.region_id.in_(region_ids_governed(actor)))
    elif not actor.is_admin:
        return query.where(AuditEntry.id.is_(None))
    if filters.object_group in OBJECT_GROUPS:
        query = query.where(AuditEntry.object_type.in_(OBJECT_GROUPS[filters.object_group]))
    if filters.action:
        query = query.where(AuditEntry.action == filters.action)
    if filters.actor.strip():
        text = filters.actor.strip()
        query = query.join(AuditEntry.actor).where(or_(
            User.email == text.lower(),
            contains_text(text, User.display_name)))
    if filters.since:
        query = query.where(AuditEntry.at >= _start_of(filters.since))
    if filters.until:
        query = query.where(AuditEntry.at < _start_of(filters.until + timedelta(days=1)))
    return query


def history_of(obj, actions: Iterable[str], limit: int = 50) -> list[AuditEntry]:
    """The latest entries of ``actions`` on one object, newest first."""
    return list(db.session.scalars(
        select(AuditEntry).where(AuditEntry.object_type == type(obj).__name__.lower(),
                                 AuditEntry.object_id == obj.id,
                                 AuditEntry.action.in_(list(actions)))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)))
