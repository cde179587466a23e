"""Every figure officials read, recomputed from the raw rows (issue 17, item 2).

Hypothesis writes random histories — programs and budget changes, needs across regions and
years, requests, quotes, orders (some cancelled), claims and payments — straight into the
tables, and checks the dashboard, a year's report, the ranking and the program ledger against a
naive recomputation from those rows: counts equal, every ratio within 0–1, the medians of one
cohort in the order of events, and a year's figures made of that year only. Each example is
rolled back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from statistics import median
from zoneinfo import ZoneInfo

import pytest
from flask_login import AnonymousUserMixin
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.extensions import db
from marketplace.models import (
    DealRequest,
    LedgerEntry,
    Need,
    Order,
    Quote,
    SubsidyClaim,
    SubsidyProgram,
    User,
)
from marketplace.services import statistics, subsidies
from marketplace.services.ranking import rank_providers
from marketplace.services.regions import region_by_code

LOCAL = ZoneInfo("Asia/Shanghai")
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
COUNTIES = ("320505", "320506", "320102")  # two counties of 苏州市, one of 南京市
YEARS = ((date(2025, 1, 1), date(2025, 12, 31)), (date(2026, 1, 1), date(2026, 12, 31)))
ORDER_STATES = ("placed", "delivered", "accepted", "cancelled")


@dataclass
class World:
    enterprises: list[int]
    providers: list[int]
    packages: list[int]
    officials: dict[str, int]


@pytest.fixture
def world(app, make_enterprise, make_provider, make_package, make_user) -> World:
    enterprises = [make_enterprise(county=county, name=f"企业{i}", employees=employees,
                                   revenue_wan=revenue).id
                   for i, (county, employees, revenue) in enumerate(
                       ((COUNTIES[0], 30, 800), (COUNTIES[1], 200, 15000),
                        (COUNTIES[2], 8, 90)))]
    providers = [make_provider(name=f"服务商{i}").id for i in range(2)]
    packages = [make_package(p) for p in providers]
    officials = {code: make_user(role="gov", region_code=code).id
                 for code in ("320000", "320500")}
    return World(enterprises, providers, packages, officials)


deal = st.fixed_dictionaries({
    "provider": st.integers(0, 1),
    "asked": st.floats(0, 400),  # hours after the need was posted
    "quoted": st.one_of(st.none(), st.floats(0, 300)),  # hours after the request
    "ordered": st.one_of(st.none(), st.floats(0, 300)),  # hours after the quote
    "state": st.sampled_from(ORDER_STATES),
    "claim": st.one_of(st.none(), st.tuples(st.integers(0, 1), st.integers(1, 5_000_00),
                                            st.one_of(st.none(), st.floats(1, 2000)))),
})
need = st.fixed_dictionaries({
    "enterprise": st.integers(0, 2),
    "posted": st.floats(0, 2 * 365 * 24 - 1),  # hours after 2025-01-01 00:00 UTC
    "visibility": st.sampled_from(("public", "private")),
    "deals": st.lists(deal, max_size=2),
})
program = st.fixed_dictionaries({
    "county": st.booleans(),  # a county program (320505) or the province's
    "year": st.sampled_from(YEARS),
    "budget": st.integers(0, 20_000_00),
    "changes": st.lists(st.tuples(st.integers(-5_000_00, 5_000_00), st.floats(0, 8000)),
                        max_size=2),
})


def hours(h: float) -> timedelta:
    return timedelta(hours=h)


def local_day(moment: datetime) -> date:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(LOCAL).date()


def write(world: World, programs: list[dict], needs: list[dict]) -> None:
    """The history as rows, through the ORM (so the needs' milestones are kept as in use):
    budgets first (never cut below what is spent), then needs and their deals; a claim is
    written only while its program has the money."""
    made, left = [], []
    for spec in programs:
        start, end = spec["year"]
        region = region_by_code("320505" if spec["county"] else "320000")
        row = SubsidyProgram(region_id=region.id, name=f"政策{len(made)}", mode="percent",
                             rate_bp=5000, per_order_cap_fen=10**9, per_enterprise_cap_fen=10**9,
                             starts_on=start, ends_on=end, status="active")
        db.session.add(row)
        db.session.flush()
        opened = datetime(start.year, 1, 1, tzinfo=LOCAL)
        budget = spec["budget"]
        db.session.add(LedgerEntry(program_id=row.id, kind="adjust", amount_fen=budget,
                                   at=opened))
        for delta, after in sorted(spec["changes"], key=lambda c: c[1]):
            delta = max(delta, -budget)
            if delta:
                budget += delta
                db.session.add(LedgerEntry(program_id=row.id, kind="adjust", amount_fen=delta,
                                           at=opened + hours(after)))
        made.append(row)
        left.append(budget)
    references = iter(range(1, 10**6))
    for spec in needs:
        posted = EPOCH + hours(spec["posted"])
        row = Need(enterprise_id=world.enterprises[spec["enterprise"]], title="需求",
                   description="描述" * 10, category_code="device_monitoring",
                   scenario_level_code="workshop", visibility=spec["visibility"],
                   status="open", created_at=posted, updated_at=posted)
        db.session.add(row)
        db.session.flush()
        providers = set()
        for d in spec["deals"]:  # one request per need and package
            if d["provider"] not in providers:
                providers.add(d["provider"])
                write_deal(world, row, d, posted, made, left, references)
    db.session.flush()


def write_deal(world, need_row, d, posted, programs, left, references) -> None:
    provider, package = world.providers[d["provider"]], world.packages[d["provider"]]
    asked = posted + hours(d["asked"])
    request = DealRequest(need_id=need_row.id, package_id=package, provider_id=provider,
                          enterprise_id=need_row.enterprise_id, created_at=asked,
                          status="pending" if d["quoted"] is None else "quoted")
    db.session.add(request)
    db.session.flush()
    if d["quoted"] is None:
        return
    quoted = asked + hours(d["quoted"])
    db.session.add(Quote(request_id=request.id, price_fen=100_000, scope="范围",
                         delivery_days=5, valid_until=date(2027, 1, 1), created_at=quoted))
    taken = db.session.scalar(db.select(Order.id).where(Order.need_id == need_row.id,
                                                        Order.status != "cancelled"))
    if d["ordered"] is None or taken is not None:
        return
    placed = quoted + hours(d["ordered"])
    request.status = "ordered"
    order = Order(need_id=need_row.id, request_id=request.id, package_id=package,
                  provider_id=provider, enterprise_id=need_row.enterprise_id,
                  amount_fen=100_000, scope="范围", delivery_days=5,
                  due_date=local_day(placed) + timedelta(days=5), status=d["state"],
                  created_at=placed, cancelled_at=placed if d["state"] == "cancelled" else None)
    db.session.add(order)
    db.session.flush()
    if d["claim"] is None or d["state"] == "cancelled":
        return
    which, amount, paid_after = d["claim"]
    if which >= len(programs) or amount > left[which]:
        return
    program = programs[which]
    if not program.starts_on <= local_day(placed) <= program.ends_on:
        return
    left[which] -= amount
    paid = placed + hours(paid_after) if paid_after is not None else None
    claim = SubsidyClaim(program_id=program.id, order_id=order.id,
                         enterprise_id=need_row.enterprise_id, year=local_day(placed).year,
                         order_amount_fen=100_000, amount_fen=amount, created_at=placed,
                         status="paid" if paid else "reserved", paid_at=paid,
                         payment_reference=f"REF-{next(references)}" if paid else None)
    db.session.add(claim)
    db.session.flush()
    db.session.add(LedgerEntry(program_id=program.id, claim_id=claim.id, kind="reserve",
                               amount_fen=amount, at=placed))
    if paid:
        db.session.add(LedgerEntry(program_id=program.id, claim_id=claim.id, kind="pay",
                                   amount_fen=amount, at=paid))


# -- the naive recomputation ---------------------------------------------------------------------


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def within(moment: datetime | None, period) -> bool:
    return moment is not None and (period is None
                                   or period[0] <= local_day(moment) <= period[1])


def naive_funnel(counties: set[int], period) -> dict:
    needs = [n for n in db.session.scalars(db.select(Need))
             if n.enterprise.county_id in counties and within(n.created_at, period)]
    facts = []
    for n in needs:
        requests = db.session.scalars(db.select(DealRequest).where(
            DealRequest.need_id == n.id)).all()
        quotes = [aware(r.quote.created_at) for r in requests if r.quote is not None]
        live = [aware(o.created_at) for o in db.session.scalars(db.select(Order).where(
            Order.need_id == n.id, Order.status != "cancelled"))]
        facts.append((aware(n.created_at), min((aware(r.created_at) for r in requests),
                                               default=None),
                      min(quotes, default=None), min(live, default=None), n.status))

    def median_hours(pairs):
        found = [(done - posted).total_seconds() / 3600 for posted, done in pairs]
        return median(found) if found else None

    quoted = [f for f in facts if f[2] is not None]
    return {
        "posted": len(facts), "matched": sum(f[1] is not None for f in facts),
        "converted": sum(f[3] is not None for f in facts),
        "open_unmatched": sum(f[1] is None and f[4] == "open" for f in facts),
        "to_request": median_hours((f[0], f[1]) for f in quoted),
        "to_quote": median_hours((f[0], f[2]) for f in quoted),
        "to_order": median_hours((f[0], f[3]) for f in quoted if f[3] is not None),
    }


def naive_money(counties: set[int], region_ids: set[int], period) -> dict:
    claims = db.session.scalars(db.select(SubsidyClaim)).all()
    held = [c for c in claims if c.status in ("reserved", "approved")
            and within(c.created_at, period)]
    paid = [c for c in claims if c.status == "paid" and within(c.paid_at, period)]
    ours = [c for c in db.session.scalars(db.select(SubsidyProgram))
            if c.region_id in region_ids and (period is None or (
                c.starts_on <= period[1] and c.ends_on >= period[0]))]
    ids = {p.id for p in ours}
    return {
        "programs": sorted(p.id for p in ours),
        "program_held": sum(c.amount_fen for c in held if c.program_id in ids),
        "program_paid": sum(c.amount_fen for c in paid if c.program_id in ids),
        "size_held": sum(c.amount_fen for c in held if c.enterprise.county_id in counties),
        "size_paid": sum(c.amount_fen for c in paid if c.enterprise.county_id in counties),
        "budgets": {p.id: sum(e.amount_fen for e in db.session.scalars(db.select(LedgerEntry)
                    .where(LedgerEntry.program_id == p.id, LedgerEntry.kind == "adjust"))
                    if period is None or local_day(e.at) <= period[1]) for p in ours},
    }


# -- the property --------------------------------------------------------------------------------


def check_dashboard(world: World, official: str, period) -> None:
    actor = db.session.get(User, world.officials[official])
    scope = statistics.scope_for(actor, **({"start": period[0], "end": period[1]}
                                           if period else {}))
    data = statistics.figures(scope)
    counties = {c for c in scope.region_ids}
    expected = naive_funnel(counties, period)
    f = data.funnel
    assert (f.posted, f.matched, f.converted, f.open_unmatched) == (
        expected["posted"], expected["matched"], expected["converted"],
        expected["open_unmatched"])
    for got, want in ((f.median_hours_to_request, expected["to_request"]),
                      (f.median_hours_to_quote, expected["to_quote"]),
                      (f.median_hours_to_order, expected["to_order"])):
        assert (got is None and want is None) or got == pytest.approx(want, abs=1e-3)
    if f.median_hours_to_quote is not None:
        assert f.median_hours_to_request <= f.median_hours_to_quote + 1e-6
    for rate in (f.match_rate, f.conversion_rate, *(r.match_rate for r in data.regions),
                 *(r.conversion_rate for r in data.monthly), *(c.rate for c in data.chains)):
        assert rate is None or 0 <= rate <= 1
    assert sum(r.posted for r in data.monthly) == f.posted
    if data.regions:
        assert sum(r.posted for r in data.regions) == f.posted
    money = naive_money(counties, set(scope.region_ids), period)
    assert sorted(int(p.key) for p in data.programs) == money["programs"]
    assert {int(p.key): p.budget_fen for p in data.programs} == money["budgets"]
    assert sum(p.reserved_fen for p in data.programs) == money["program_held"]
    assert sum(p.paid_fen for p in data.programs) == money["program_paid"]
    assert sum(s.reserved_fen for s in data.sizes) == money["size_held"]
    assert sum(s.paid_fen for s in data.sizes) == money["size_paid"]


def check_ranking() -> None:
    for row in rank_providers(AnonymousUserMixin()).rows:
        assert all(0 <= value <= 1 for _name, value in row.components.items())
        quoted = db.session.scalars(db.select(DealRequest).where(
            DealRequest.provider_id == row.provider_id, DealRequest.quote.has())).all()
        won = [r for r in quoted if db.session.scalar(
            db.select(Order.id).where(Order.request_id == r.id)) is not None]
        assert (row.record.quoted, row.record.won) == (len(quoted), len(won))


def check_ledgers() -> None:
    for program in db.session.scalars(db.select(SubsidyProgram)):
        lines = subsidies.statement(program)
        moments = [aware(line.entry.at) for line in lines]
        assert moments == sorted(moments)
        assert lines[0].entry.kind == "adjust"
        assert all(line.remaining_fen >= 0 for line in lines)
        final = subsidies.balances([program.id])[program.id]
        assert (lines[-1].budget_fen, lines[-1].reserved_fen, lines[-1].paid_fen) == (
            final.budget_fen, final.reserved_fen, final.paid_fen)
        days = [row["day"] for row in subsidies.burn_down(program)]
        assert days == sorted(set(days))


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(programs=st.lists(program, max_size=2), needs=st.lists(need, max_size=6))
def test_every_figure_equals_its_recomputation_from_the_rows(world, ctx, programs, needs):
    try:
        write(world, programs, needs)
        for official in ("320000", "320500"):
            for period in (None, *YEARS):
                check_dashboard(world, official, period)
        check_ranking()
        check_ledgers()
    finally:
        db.session.rollback()
        db.session.info.pop("region_tree", None)
