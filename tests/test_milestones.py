"""Each need's milestones (first request, first quote, live order) kept on its row agree with
the deal tables after every kind of write: through the deal services, after a cancellation,
after backdating, and over the whole demo data set, where they are also compared with the
migration's backfill and with ``flask stats refresh``."""

import importlib
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from marketplace.demo import build_demo
from marketplace.extensions import db
from marketplace.milestones import COLUMNS, refresh
from marketplace.models import DealRequest, Need, Order, Package, Quote, User
from marketplace.services import deals
from marketplace.services.demo import load_demo

BACKFILL = importlib.import_module("migrations.versions.0011_need_milestones").BACKFILL


def _kept() -> dict[int, tuple]:
    rows = db.session.execute(select(Need.id, *(getattr(Need, c) for c in COLUMNS)))
    return {row[0]: tuple(_utc(v) for v in row[1:]) for row in rows}


def _utc(moment):
    """Naive UTC (SQLite hands back naive UTC times, PostgreSQL aware ones)."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _milestones(need_id: int) -> tuple:
    need = db.session.get(Need, need_id)
    return tuple(_utc(getattr(need, c)) for c in COLUMNS)


def _times(*objects) -> tuple:
    return tuple(_utc(o.created_at) if o is not None else None for o in objects)


def test_the_deal_services_keep_the_milestones(app, make_user, make_need, make_package):
    sme, provider, other = make_user(), make_user(role="provider"), make_user(role="provider")
    with app.app_context():
        sme, provider, other = (db.session.get(User, u.id) for u in (sme, provider, other))
        need_id = make_need(sme.enterprise_id)
        package = make_package(provider.provider_id)
        other_package = make_package(other.provider_id, title="另一家的联网包")
        need = db.session.get(Need, need_id)
        assert _milestones(need_id) == (None, None, None)

        first = deals.request_package(sme, need, db.session.get(Package, package), "请联系")
        db.session.commit()
        assert _milestones(need_id) == (*_times(first), None, None)

        second = deals.request_package(sme, need, db.session.get(Package, other_package),
                                       "也请联系")
        db.session.commit()
        assert _milestones(need_id)[0] == _times(first)[0]  # the first stays first

        terms = deals.QuoteData(1_000_000, "二十台注塑机联网", 10,
                                date.today() + timedelta(days=30))
        quote = deals.send_quote(other, second, terms)
        db.session.commit()
        assert _milestones(need_id) == (*_times(first, quote), None)
        deals.send_quote(other, second, terms)  # a revision is not a new first quote
        db.session.commit()
        assert _milestones(need_id) == (*_times(first, quote), None)

        order = deals.accept_quote(sme, second, revision=2)
        db.session.commit()
        assert need.ordered_at is not None  # the loaded need was refreshed, not stale
        assert _milestones(need_id) == _times(first, quote, order)

        deals.cancel_order(sme, order, "预算调整")
        db.session.commit()
        assert _milestones(need_id) == (*_times(first, quote), None)

        # rows moved back in time (demo data, fixtures) are followed too
        earlier = first.created_at - timedelta(days=3)
        first.created_at = earlier
        db.session.commit()
        assert _milestones(need_id)[0] == _utc(earlier)
        assert _kept() == _recomputed()


def _recomputed() -> dict[int, tuple]:
    """What the migration's backfill makes of the deal tables (rolled back afterwards)."""
    connection = db.session.connection()
    nested = connection.begin_nested()
    connection.execute(update(Need.__table__).values(**dict.fromkeys(COLUMNS)))
    connection.execute(text(BACKFILL))
    found = _kept()
    nested.rollback()
    return found


def test_the_demo_data_agrees_with_the_backfill_and_the_refresh(app, runner):
    with app.app_context():
        load_demo(build_demo())
        db.session.commit()
        kept = _kept()
        assert sum(1 for v in kept.values() if v[0]) >= 50  # the demo has deals
        assert sum(1 for v in kept.values() if v[2]) >= 10
        assert kept == _recomputed()
        db.session.execute(update(Need).values(**dict.fromkeys(COLUMNS)))
        db.session.commit()
    assert runner.invoke(args=["stats", "refresh"]).exit_code == 0
    with app.app_context():
        assert _kept() == kept
        counts = {model: db.session.scalar(select(db.func.count()).select_from(model))
                  for model in (DealRequest, Quote, Order)}
        assert all(counts.values())


def test_a_later_concurrent_request_does_not_overwrite_the_first(app, database_url, make_user,
                                                                 make_need, make_package):
    """PostgreSQL: a second transaction's update waits for the first's row lock, then re-reads
    the need row but not its subquery (its snapshot predates the first commit); the kept
    earlier time must win."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite writers take turns for the whole transaction")
    import threading

    sme, provider = make_user(), make_user(role="provider")
    with app.app_context():
        sme, provider = db.session.get(User, sme.id), db.session.get(User, provider.id)
        need_id = make_need(sme.enterprise_id)
        packages = [make_package(provider.provider_id, title=f"联网包{n}") for n in (1, 2)]
        rows = [dict(need_id=need_id, package_id=p, enterprise_id=sme.enterprise_id,
                     provider_id=provider.provider_id, status="pending", message="",
                     created_at=moment, updated_at=moment)
                for p, moment in zip(packages, (datetime(2026, 5, 1, tzinfo=UTC),
                                                datetime(2026, 5, 2, tzinfo=UTC)), strict=True)]
        requests = DealRequest.__table__
        first, second = db.engine.connect(), db.engine.connect()
        try:
            first.begin()
            first.execute(requests.insert(), rows[0])
            refresh(first, [need_id], keep_earlier=True)  # holds the need's row lock
            second.begin()
            second.execute(requests.insert(), rows[1])
            waiting = threading.Thread(
                target=lambda: (refresh(second, [need_id], keep_earlier=True), second.commit()))
            waiting.start()
            waiting.join(0.5)
            assert waiting.is_alive()  # blocked on the row lock
            first.commit()
            waiting.join(10)
        finally:
            first.close()
            second.close()
        db.session.expire_all()
        assert _milestones(need_id)[0] == datetime(2026, 5, 1)
