"""The volume seeder of the benchmarks: exact counts, rows the services would have made (one
live order per need, statuses that follow the orders, one claim per order within budgets and
caps, balances from the ledger), every county covered, valid credit codes, working logins, the
same rows for the same seed, and a refusal to touch a database that holds data."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from marketplace import creditcode
from marketplace.bench.seed import (
    BENCH_DOMAIN,
    BENCH_PASSWORD,
    SeedRefused,
    Volume,
    build_plan,
    seed_volume,
)
from marketplace.extensions import db
from marketplace.models import (
    ChainLeaderApplication,
    ChainMembership,
    ClaimStatus,
    DealRequest,
    Enterprise,
    LedgerEntry,
    Need,
    Order,
    Package,
    Region,
    Review,
    SubsidyClaim,
    SubsidyProgram,
    User,
)
from marketplace.services import statistics
from marketplace.services.subsidies import balances

NOW = datetime(2026, 6, 30, 8, 0, tzinfo=UTC)
SMALL = Volume(packages=60, needs=300, deals=150, seed=7, users_per_role=3)
LIVE_NEED_STATUS = {"placed": "in_progress", "delivered": "in_progress",
                    "disputed": "in_progress", "accepted": "closed"}


def check_plan(plan, volume: Volume) -> None:
    """What every plan must satisfy, whatever the volume."""
    t = plan.tables
    assert len(t["packages"]) == volume.packages and len(t["needs"]) == volume.needs
    assert len(t["deal_requests"]) <= volume.deals
    pairs = [(r["need_id"], r["package_id"]) for r in t["deal_requests"]]
    assert len(pairs) == len(set(pairs))
    orders_of = defaultdict(list)
    for order in t["orders"]:
        orders_of[order["need_id"]].append(order)
    needs = {n["id"]: n for n in t["needs"]}
    for need_id, orders in orders_of.items():
        live = [o for o in orders if o["status"] != "cancelled"]
        assert len(live) <= 1  # what the partial unique index refuses
        if live:
            assert needs[need_id]["status"] == LIVE_NEED_STATUS[live[0]["status"]]
        else:
            assert needs[need_id]["status"] in ("open", "closed")
    reviewed = {r["order_id"] for r in t["reviews"]}
    assert reviewed <= {o["id"] for o in t["orders"] if o["status"] == "accepted"}
    _check_money(plan)


def _check_money(plan) -> None:
    t = plan.tables
    programs = {p["id"]: p for p in t["subsidy_programs"]}
    orders = {o["id"]: o for o in t["orders"]}
    assert len({c["order_id"] for c in t["subsidy_claims"]}) == len(t["subsidy_claims"])
    held = defaultdict(int)
    for claim in t["subsidy_claims"]:
        program, order = programs[claim["program_id"]], orders[claim["order_id"]]
        assert 0 < claim["amount_fen"] <= min(order["amount_fen"], program["per_order_cap_fen"])
        assert (order["status"] == "cancelled") == (claim["status"] == "released")
        if claim["status"] in ClaimStatus.HOLDING:
            held[(program["id"], claim["enterprise_id"], claim["year"])] += claim["amount_fen"]
    for (program_id, _enterprise, _year), total in held.items():
        assert total <= programs[program_id]["per_enterprise_cap_fen"]
    kinds = Counter((e["claim_id"], e["kind"]) for e in t["subsidy_ledger"] if e["claim_id"])
    assert max(kinds.values(), default=1) == 1  # one reserve, release, payment per claim


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_seed_fills_an_empty_database_consistently(ctx, client):
    report = seed_volume(SMALL, now=NOW, log=lambda _message: None)
    assert (count(Package), count(Need), count(DealRequest)) == (60, 300, 150)
    assert report.counts["orders"] == count(Order) > 0

    counties = db.session.scalars(select(Region.id).where(Region.level == "county")).all()
    covered = set(db.session.scalars(select(Enterprise.county_id).where(
        Enterprise.is_chain_leader.is_(False))))
    assert covered == set(counties) and len(counties) == 95
    codes = db.session.scalars(select(Enterprise.credit_code)).all()
    assert all(creditcode.is_valid(code) for code in codes) and len(set(codes)) == len(codes)
    # 链式转型 as its flows leave it: every leader approved, every chain member confirmed
    assert set(db.session.scalars(select(ChainLeaderApplication.enterprise_id).where(
        ChainLeaderApplication.status == "approved"))) == set(db.session.scalars(
            select(Enterprise.id).where(Enterprise.is_chain_leader)))
    assert set(db.session.execute(select(ChainMembership.supplier_id, ChainMembership.leader_id)
                                  .where(ChainMembership.status == "confirmed"))) == set(
        db.session.execute(select(Enterprise.id, Enterprise.chain_leader_id)
                           .where(Enterprise.chain_leader_id.is_not(None))))

    statuses = set(db.session.scalars(select(Order.status)))
    assert statuses == {"placed", "delivered", "disputed", "accepted", "cancelled"}
    for order in db.session.scalars(select(Order)):
        assert order.request.status == "ordered" and order.request.quote is not None
    assert all(r.order.status == "accepted" for r in db.session.scalars(select(Review)))

    programs = db.session.scalars(select(SubsidyProgram)).all()
    money = balances(p.id for p in programs)
    for program in programs:
        claims = db.session.scalars(select(SubsidyClaim).where(
            SubsidyClaim.program_id == program.id)).all()
        held = sum(c.amount_fen for c in claims if c.status in ("reserved", "approved"))
        paid = sum(c.amount_fen for c in claims if c.status == "paid")
        assert (money[program.id].reserved_fen, money[program.id].paid_fen) == (held, paid)
        assert money[program.id].remaining_fen >= 0
    assert count(LedgerEntry) > len(programs)

    # the sequences follow the copied ids: the app can add rows afterwards
    need = Need(enterprise_id=1, title="新需求", description="种子之后再发布的需求，编号不能冲突。",
                category_code="quality", scenario_level_code="line")
    db.session.add(need)
    db.session.commit()
    assert need.id == 301

    roles = Counter(db.session.scalars(select(User.role).where(
        User.email.like(f"%@{BENCH_DOMAIN}"))))
    assert roles["sme"] == roles["provider"] == 3 and roles["gov"] == 27 and roles["admin"] == 2
    answer = client.post("/auth/login", data={"email": f"sme-01@{BENCH_DOMAIN}",
                                              "password": BENCH_PASSWORD})
    assert answer.status_code == 302
    province = db.session.scalar(select(User).where(User.email == f"gov-320000@{BENCH_DOMAIN}"))
    assert statistics.dashboard(statistics.scope_for(province)).funnel.posted == 301


def test_seeding_refuses_a_database_that_is_not_empty(ctx, make_enterprise):
    make_enterprise()
    with pytest.raises(SeedRefused, match="not empty"):
        seed_volume(SMALL, now=NOW, log=lambda _message: None)
    assert count(Need) == 0


def test_the_same_seed_plans_the_same_rows(ctx):
    first, again = build_plan(SMALL, NOW), build_plan(SMALL, NOW)
    assert first.tables == again.tables and first.logins == again.logins
    check_plan(first, SMALL)
    other = build_plan(Volume(packages=60, needs=300, deals=150, seed=8, users_per_role=3), NOW)
    assert other.tables["needs"] != first.tables["needs"]


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(packages=st.integers(0, 40), needs=st.integers(0, 150), deals=st.integers(0, 120),
       seed=st.integers(0, 2**32 - 1))
def test_any_small_volume_plans_consistent_rows(ctx, packages, needs, deals, seed):
    volume = Volume(packages=packages, needs=needs, deals=deals, seed=seed, users_per_role=2)
    check_plan(build_plan(volume, NOW), volume)
