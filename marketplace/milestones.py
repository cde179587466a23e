"""Keeps each need's milestones on its row: when its first request and first quote came, and
when its live order was placed (none while it has no order that is not cancelled).

The statistics count the funnel from these three columns with one pass over the needs (at
100k needs, reading the deal tables instead cost the province's dashboard most of its time).
They are derived data: every flush that adds a request, a quote or an order, or changes an
order's status, recomputes them for the needs concerned in the same transaction, so no service
has to remember to; :func:`refresh` recomputes them from the deal tables for bulk loads
(``flask stats refresh`` and the benchmark seeder) and the migration that added them.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import case, event, func, inspect, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from .models import DealRequest, Need, Order, OrderStatus, Quote

COLUMNS = ("first_request_at", "first_quote_at", "ordered_at")


def _sources():
    """Per need (correlated with the ``needs`` row being updated): its first request, first
    quote and live order, from the deal tables."""
    requests, quotes, orders = (DealRequest.__table__, Quote.__table__, Order.__table__)
    need_id = Need.__table__.c.id
    first_request = (select(func.min(requests.c.created_at))
                     .where(requests.c.need_id == need_id).scalar_subquery())
    first_quote = (select(func.min(quotes.c.created_at))
                   .join(requests, requests.c.id == quotes.c.request_id)
                   .where(requests.c.need_id == need_id).scalar_subquery())
    ordered = (select(func.min(orders.c.created_at))
               .where(orders.c.need_id == need_id, orders.c.status != OrderStatus.CANCELLED)
               .scalar_subquery())
    return first_request, first_quote, ordered


def _earliest(current, found):
    """The earlier of a column and a new value, either possibly NULL. Requests and quotes are
    never deleted, so a first one stays first: keeping the row's value when it is earlier also
    keeps a concurrent writer (PostgreSQL re-reads the row it waited for, not the subquery)
    from putting back a later time."""
    return case((current.is_(None), found), (found.is_(None), current),
                (found < current, found), else_=current)


def refresh(connection: Connection, need_ids: Iterable[int] | None = None,
            keep_earlier: bool = False) -> None:
    """Recompute the milestones of ``need_ids`` (every need when None) from the deal tables;
    with ``keep_earlier`` (after inserts only) a first request or quote already on the row
    stays when it is earlier."""
    needs = Need.__table__
    first_request, first_quote, ordered = _sources()
    statement = update(needs).values(first_request_at=first_request,
                                     first_quote_at=first_quote, ordered_at=ordered)
    if need_ids is not None:
        ids = sorted(set(need_ids))
        if not ids:
            return
        statement = statement.where(needs.c.id.in_(ids))
    if keep_earlier:
        statement = statement.values(
            first_request_at=_earliest(needs.c.first_request_at, first_request),
            first_quote_at=_earliest(needs.c.first_quote_at, first_quote))
    connection.execute(statement)


def _need_ids(session: Session, objects: list) -> set[int]:
    found = {obj.need_id for obj in objects if isinstance(obj, DealRequest | Order)}
    quote_requests = {obj.request_id for obj in objects if isinstance(obj, Quote)}
    if quote_requests:
        found.update(session.connection().scalars(
            select(DealRequest.need_id).where(DealRequest.id.in_(quote_requests))))
    return {need_id for need_id in found if need_id is not None}


def _changed(obj, *names: str) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


@event.listens_for(Session, "after_flush")
def _keep_milestones(session: Session, _context) -> None:
    """New requests, quotes and orders; orders whose status changed; and (tests and demo
    data going back in time) rows whose creation time was rewritten."""
    added = _need_ids(session, list(session.new))
    rewritten = _need_ids(session, [
        obj for obj in session.dirty if isinstance(obj, DealRequest | Quote | Order)
        and _changed(obj, *(("created_at", "status") if isinstance(obj, Order)
                            else ("created_at",)))])
    if added - rewritten:
        refresh(session.connection(), added - rewritten, keep_earlier=True)
    if rewritten:
        refresh(session.connection(), rewritten)
    if added | rewritten:
        session.info.setdefault("milestones_changed", set()).update(added | rewritten)


@event.listens_for(Session, "after_flush_postexec")
def _expire_loaded(session: Session, _context) -> None:
    """Needs already loaded would otherwise keep the values of before (expired once the flush
    is over: a need inserted by the same flush is persistent only then)."""
    for need_id in session.info.pop("milestones_changed", ()):
        need = session.identity_map.get(identity_key(Need, need_id))
        if need is not None:
            session.expire(need, list(COLUMNS))
