"""Subsidies: the 从优、就高、不重复 rule, the claim lifecycle, the ledger, refusals, races."""

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from marketplace.extensions import db
from marketplace.models import (
    AuditEntry,
    ClaimStatus,
    DealRequest,
    Enterprise,
    IdempotencyKey,
    LedgerEntry,
    Notification,
    Order,
    OrderStatus,
    Package,
    Quote,
    ScenarioLevel,
    SubsidyClaim,
    SubsidyProgram,
    User,
)
from marketplace.models.subsidies import AppendOnlyError
from marketplace.services import deals, subsidies
from marketplace.services.errors import (
    IllegalTransition,
    KeyReused,
    NotAllowed,
    ValidationFailed,
)
from marketplace.services.txn import run_once, target_of

TODAY = deals.today()
YUAN = 100


def program_data(**changes) -> subsidies.ProgramData:
    values = dict(name="中小企业数字化改造补贴", policy_basis="苏工信〔2026〕1号", mode="percent",
                  rate_bp=5000, fixed_fen=0, per_order_cap_fen=5_000 * YUAN,
                  per_enterprise_cap_fen=8_000 * YUAN, budget_fen=100_000 * YUAN,
                  starts_on=TODAY - timedelta(days=30), ends_on=TODAY + timedelta(days=300))
    values.update(changes)
    return subsidies.ProgramData(**values)


@pytest.fixture
def officials(make_user):
    return {"county": make_user(role="gov", region_code="320505"),
            "other_county": make_user(role="gov", region_code="320506"),
            "city": make_user(role="gov", region_code="320500"),
            "province": make_user(role="gov", region_code="320000")}


@pytest.fixture
def make_program(app, officials):
    def make(by: str = "county", activate: bool = True, **changes) -> int:
        with app.app_context():
            actor = db.session.get(User, officials[by].id)
            program = subsidies.create_program(actor, program_data(**changes))
            if activate:
                subsidies.change_program_status(actor, program, "activate")
            db.session.commit()
            return program.id

    return make


@pytest.fixture
def make_deal(app, make_user, make_need, make_package):
    """An SME user with a quoted request for a package; returns (sme user id, request id)."""
    provider = make_user(role="provider")
    with app.app_context():
        provider_id = db.session.get(User, provider.id).provider_id
    package_id = make_package(provider_id)

    def make(price_fen: int = 10_000 * YUAN, sme=None, package: int | None = None):
        sme = sme or make_user()
        with app.app_context():
            enterprise_id = db.session.get(User, sme.id).enterprise_id
        need_id = make_need(enterprise_id)
        with app.app_context():
            request = DealRequest(need_id=need_id, package_id=package or package_id,
                                  enterprise_id=enterprise_id, provider_id=provider_id,
                                  status="quoted")
            db.session.add(request)
            db.session.flush()
            db.session.add(Quote(request_id=request.id, price_fen=price_fen, scope="全部实施",
                                 delivery_days=10, valid_until=TODAY + timedelta(days=10)))
            db.session.commit()
            return sme.id, request.id

    make.package_id = package_id
    make.provider_user = provider
    return make


def accept(app, sme_id: int, request_id: int, expected: int | None = None) -> int:
    with app.app_context():
        order = deals.accept_quote(db.session.get(User, sme_id),
                                   db.session.get(DealRequest, request_id), 1, expected)
        db.session.commit()
        return order.id


def balance(program_id: int) -> subsidies.Balance:
    return subsidies.balances([program_id])[program_id]


def claim_of(order_id: int) -> SubsidyClaim | None:
    return db.session.scalar(select(SubsidyClaim).where(SubsidyClaim.order_id == order_id))


def finish_delivery(order_id: int) -> None:
    order = db.session.get(Order, order_id)
    order.status = OrderStatus.ACCEPTED
    db.session.commit()


# -- the rule -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode, rate_bp, fixed_fen, cap, order, remaining, left, expected", [
    ("percent", 5000, 0, 5_000_00, 10_000_00, 10**9, 10**9, 5_000_00),
    ("percent", 5000, 0, 3_000_00, 10_000_00, 10**9, 10**9, 3_000_00),  # per-order cap
    ("percent", 3333, 0, 10**9, 1_01, 10**9, 10**9, 33),  # 33.6637 fen rounds down
    ("percent", 10000, 0, 10**9, 12_345, 10**9, 10**9, 12_345),
    ("fixed", 0, 2_000_00, 2_000_00, 10_000_00, 10**9, 10**9, 2_000_00),
    ("fixed", 0, 2_000_00, 2_000_00, 1_500_00, 10**9, 10**9, 1_500_00),  # never above the order
    ("procurement", 0, 0, 8_000_00, 6_000_00, 10**9, 10**9, 6_000_00),  # free
    ("procurement", 0, 0, 8_000_00, 9_000_00, 10**9, 10**9, 8_000_00),  # free up to the cap
    ("percent", 5000, 0, 5_000_00, 10_000_00, 1_234, 10**9, 1_234),  # what the budget has left
    ("percent", 5000, 0, 5_000_00, 10_000_00, 10**9, 999, 999),  # what the enterprise has left
    ("percent", 5000, 0, 5_000_00, 10_000_00, 0, 10**9, 0),
    ("percent", 5000, 0, 5_000_00, 10_000_00, 10**9, -5, 0),  # never negative
])
def test_subsidy_amount(mode, rate_bp, fixed_fen, cap, order, remaining, left, expected):
    program = SubsidyProgram(mode=mode, rate_bp=rate_bp, fixed_fen=fixed_fen,
                             per_order_cap_fen=cap)
    assert subsidies.subsidy_amount(program, order, remaining, left) == expected


def test_the_highest_single_program_applies(app, make_program, make_deal):
    county = make_program(name="县级五折", rate_bp=5000, per_order_cap_fen=3_000 * YUAN)
    city = make_program(by="city", name="市级定额", mode="fixed", fixed_fen=4_000 * YUAN,
                        per_order_cap_fen=4_000 * YUAN)
    make_program(by="province", name="省级草稿", activate=False, mode="procurement",
                 per_order_cap_fen=9_000 * YUAN, per_enterprise_cap_fen=9_000 * YUAN)
    sme, request = make_deal(10_000 * YUAN)
    order_id = accept(app, sme, request, expected=4_000 * YUAN)
    with app.app_context():
        claim = claim_of(order_id)
        assert (claim.program_id, claim.amount_fen, claim.status) == (city, 4_000 * YUAN,
                                                                      "reserved")
        assert db.session.scalar(select(func.count()).select_from(SubsidyClaim)) == 1
        assert balance(city).reserved_fen == 4_000 * YUAN
        assert balance(county).reserved_fen == 0


def test_ties_go_to_the_program_that_ends_first_then_the_older(app, make_program, make_deal):
    late = make_program(name="晚结束", ends_on=TODAY + timedelta(days=200))
    early = make_program(by="city", name="早结束", ends_on=TODAY + timedelta(days=100))
    same_end = make_program(by="province", name="同日结束", ends_on=TODAY + timedelta(days=100))
    with app.app_context():
        sme, request = make_deal()
        deal = db.session.get(DealRequest, request)
        offers = subsidies.offers_for(deal.enterprise, deal.package, 10_000 * YUAN, TODAY)
        assert [o.program.id for o in offers] == [early, same_end, late]
        assert {o.amount_fen for o in offers} == {5_000 * YUAN}


def test_eligibility(app, make_program, make_deal, make_user, make_enterprise):
    make_program(name="只补中型", size_classes=["medium"])
    make_program(name="只补质量管控", categories=["quality"])
    make_program(name="只补车间级", scenario_levels=["workshop"])
    make_program(name="只补国家级双跨", min_tier="national_cross")
    make_program(name="只补医药", industries=["C27"], clusters=["biomed"])
    make_program(name="已过期", starts_on=TODAY - timedelta(days=60),
                 ends_on=TODAY - timedelta(days=1))
    make_program(by="other_county", name="别的县")
    with app.app_context():
        sme, request = make_deal()
        deal = db.session.get(DealRequest, request)
        assert subsidies.offers_for(deal.enterprise, deal.package, 10_000 * YUAN, TODAY) == []
        problems = {a.program.name: str(a.problem)
                    for a in subsidies.available_to(deal.enterprise, TODAY)}
        assert problems["只补中型"] == "企业规模不符合"
        assert problems["只补医药"] == "行业或产业集群不符合"
        assert problems["已过期"] == "不在政策有效期内"
        assert "别的县" not in problems  # another county's program is not offered at all
        # the package-side rules: make the package fit and the programs start to pay
        package = db.session.get(Package, deal.package_id)
        package.scenario_levels = [db.session.get(ScenarioLevel, "workshop")]
        db.session.commit()
        names = {o.program.name for o in subsidies.offers_for(
            deal.enterprise, package, 10_000 * YUAN, TODAY)}
        assert names == {"只补车间级"}


def test_enterprise_cap_counts_the_whole_year(app, make_program, make_deal, make_user):
    program = make_program(per_order_cap_fen=5_000 * YUAN, per_enterprise_cap_fen=8_000 * YUAN)
    sme = make_user()
    first = accept(app, *make_deal(10_000 * YUAN, sme=sme))
    second = accept(app, *make_deal(10_000 * YUAN, sme=sme))
    third = accept(app, *make_deal(10_000 * YUAN, sme=sme))
    with app.app_context():
        assert [claim_of(o).amount_fen if claim_of(o) else 0 for o in (first, second, third)] \
            == [5_000 * YUAN, 3_000 * YUAN, 0]
        assert balance(program).reserved_fen == 8_000 * YUAN


def test_changed_subsidy_is_refused_before_ordering(app, make_program, make_deal):
    make_program(budget_fen=6_000 * YUAN, per_enterprise_cap_fen=6_000 * YUAN)
    first = make_deal(10_000 * YUAN)
    second = make_deal(10_000 * YUAN)
    accept(app, *first, expected=5_000 * YUAN)
    with pytest.raises(IllegalTransition, match="补贴刚刚发生了变化"):
        accept(app, *second, expected=5_000 * YUAN)  # only 1,000 left now
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Order)) == 1
    accept(app, *second, expected=1_000 * YUAN)


# -- the lifecycle ------------------------------------------------------------------------------


def test_claim_lifecycle(app, make_program, make_deal, officials):
    program = make_program()
    order_id = accept(app, *make_deal(10_000 * YUAN))
    with app.app_context():
        county = db.session.get(User, officials["county"].id)
        claim = claim_of(order_id)
        with pytest.raises(IllegalTransition, match="验收"):
            subsidies.approve_claim(county, claim)
        db.session.rollback()
        finish_delivery(order_id)
        claim = claim_of(order_id)
        with pytest.raises(IllegalTransition):
            subsidies.pay_claim(county, claim, "PAY-2026-0001")  # not approved yet
        db.session.rollback()
        subsidies.approve_claim(db.session.get(User, officials["city"].id), claim_of(order_id))
        db.session.commit()
        subsidies.pay_claim(county, claim_of(order_id), "PAY-2026-0001")
        db.session.commit()
        with pytest.raises(IllegalTransition):
            subsidies.pay_claim(county, claim_of(order_id), "PAY-2026-0002")
        db.session.rollback()
        money = balance(program)
        assert (money.budget_fen, money.reserved_fen, money.paid_fen) == (
            100_000 * YUAN, 0, 5_000 * YUAN)
        kinds = db.session.scalars(select(LedgerEntry.kind).where(
            LedgerEntry.program_id == program).order_by(LedgerEntry.id)).all()
        assert kinds == ["adjust", "reserve", "pay"]
        actions = set(db.session.scalars(select(AuditEntry.action)))
        assert {"create_program", "activate_program", "reserve_claim", "approve_claim",
                "pay_claim", "ledger_reserve", "ledger_pay"} <= actions


def test_rejection_and_cancellation_release_the_reservation(app, make_program, make_deal,
                                                            officials):
    program = make_program()
    rejected = accept(app, *make_deal(10_000 * YUAN))
    sme, request = make_deal(10_000 * YUAN)
    cancelled = accept(app, sme, request)
    with app.app_context():
        county = db.session.get(User, officials["county"].id)
        with pytest.raises(ValidationFailed):
            subsidies.reject_claim(county, claim_of(rejected), "  ")
        subsidies.reject_claim(county, claim_of(rejected), "发票与合同不符")
        deals.cancel_order(db.session.get(User, sme), db.session.get(Order, cancelled), "改期")
        db.session.commit()
        assert claim_of(rejected).status == ClaimStatus.REJECTED
        assert claim_of(cancelled).status == ClaimStatus.RELEASED
        assert balance(program).reserved_fen == 0
        assert balance(program).remaining_fen == 100_000 * YUAN
        order = db.session.get(Order, cancelled)
        assert order.status == "cancelled" and order.need.status == "open"
    # the need is free for another order now (one live order per need, not one ever)
    with app.app_context():
        order = db.session.get(Order, cancelled)
        other_package = Package(provider_id=order.provider_id, title="另一个包", summary="s",
                                description="d" * 20, category_code="device_monitoring",
                                deployment="saas", price_fen=1, price_unit="per_year",
                                delivery_days=3, status="published")
        db.session.add(other_package)
        db.session.flush()
        second = DealRequest(need_id=order.need_id, package_id=other_package.id,
                             enterprise_id=order.enterprise_id, provider_id=order.provider_id,
                             status="quoted")
        db.session.add(second)
        db.session.flush()
        db.session.add(Quote(request_id=second.id, price_fen=100 * YUAN, scope="重新实施",
                             delivery_days=5, valid_until=TODAY + timedelta(days=5)))
        db.session.commit()
        second_id = second.id
    assert accept(app, sme, second_id) != cancelled


def test_officials_outside_the_region_cannot_act(app, make_program, make_deal, officials):
    program_id = make_program()
    order_id = accept(app, *make_deal(10_000 * YUAN))
    with app.app_context():
        finish_delivery(order_id)
        stranger = db.session.get(User, officials["other_county"].id)
        program = db.session.get(SubsidyProgram, program_id)
        before = db.session.scalar(select(func.count()).select_from(LedgerEntry))
        for act in (lambda: subsidies.approve_claim(stranger, claim_of(order_id)),
                    lambda: subsidies.reject_claim(stranger, claim_of(order_id), "不行"),
                    lambda: subsidies.adjust_budget(stranger, program, 100, "追加"),
                    lambda: subsidies.change_program_status(stranger, program, "close")):
            with pytest.raises(NotAllowed):
                act()
            db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == before
        assert claim_of(order_id).status == "reserved"


@pytest.mark.parametrize("changes, field", [
    ({"per_order_cap_fen": 200_000 * YUAN}, "per_order_cap_fen"),  # cap above the budget
    ({"per_enterprise_cap_fen": 200_000 * YUAN}, "per_enterprise_cap_fen"),
    ({"rate_bp": 10_001}, "rate_bp"),  # over 100 %
    ({"rate_bp": 0}, "rate_bp"),
    ({"ends_on": TODAY - timedelta(days=31)}, "ends_on"),  # before the start
    ({"budget_fen": 0}, "budget_fen"),
    ({"mode": "lottery"}, "mode"),
    ({"mode": "fixed", "fixed_fen": 6_000 * YUAN}, "fixed_fen"),  # above the per-order cap
    ({"size_classes": ["giant"]}, "size_classes"),
    ({"min_tier": "galactic"}, "min_tier"),
    ({"name": "x"}, "name"),
])
def test_bad_programs_are_refused_and_write_nothing(app, officials, changes, field):
    with app.app_context():
        actor = db.session.get(User, officials["county"].id)
        with pytest.raises(ValidationFailed) as refusal:
            subsidies.create_program(actor, program_data(**changes))
        assert field in refusal.value.errors
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(SubsidyProgram)) == 0
        assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_only_officials_run_programs(app, make_user):
    with app.app_context():
        for role in ("sme", "provider", "admin"):
            with pytest.raises(NotAllowed):
                subsidies.create_program(db.session.get(User, make_user(role=role).id),
                                         program_data())


def test_budget_adjustments(app, make_program, make_deal, officials):
    program_id = make_program(budget_fen=10_000 * YUAN, per_enterprise_cap_fen=10_000 * YUAN)
    accept(app, *make_deal(10_000 * YUAN))  # reserves 5,000
    with app.app_context():
        actor = db.session.get(User, officials["county"].id)
        program = db.session.get(SubsidyProgram, program_id)
        with pytest.raises(ValidationFailed, match="amount_fen"):
            subsidies.adjust_budget(actor, program, -6_000 * YUAN, "核减")
        db.session.rollback()
        subsidies.adjust_budget(actor, program, -5_000 * YUAN, "核减到刚好用完")
        db.session.commit()
        assert balance(program_id).remaining_fen == 0
        subsidies.adjust_budget(actor, program, 2_000 * YUAN, "追加")
        db.session.commit()
        assert balance(program_id).budget_fen == 7_000 * YUAN


# -- the ledger ---------------------------------------------------------------------------------


def test_ledger_rows_cannot_be_changed(app, make_program):
    program_id = make_program()
    with app.app_context():
        entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.program_id == program_id))
        entry.amount_fen = 1
        with pytest.raises(AppendOnlyError):
            db.session.flush()
        db.session.rollback()
        with pytest.raises(AppendOnlyError):
            db.session.delete(db.session.get(LedgerEntry, entry.id))
            db.session.flush()
        db.session.rollback()
        # the database refuses it too, whatever code tries
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text("UPDATE subsidy_ledger SET amount_fen = 1"))
        db.session.rollback()
        assert balance(program_id).budget_fen == 100_000 * YUAN


def test_the_database_refuses_deleting_ledger_rows(app, make_program):
    """Past the ORM's guard, on SQLite as on PostgreSQL (the test teardown lifts the guard only
    inside its own cleanup)."""
    program_id = make_program()
    with app.app_context():
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text("DELETE FROM subsidy_ledger"))
        db.session.rollback()
        assert balance(program_id).budget_fen == 100_000 * YUAN


def test_one_payment_per_claim_even_past_the_state_check(app, make_program, make_deal,
                                                         officials):
    """The unique (claim, kind) is the last line: a second pay entry cannot be written."""
    program_id = make_program()
    order_id = accept(app, *make_deal(10_000 * YUAN))
    with app.app_context():
        finish_delivery(order_id)
        county = db.session.get(User, officials["county"].id)
        subsidies.approve_claim(county, claim_of(order_id))
        subsidies.pay_claim(county, claim_of(order_id), "PAY-1")
        db.session.commit()
        db.session.add(LedgerEntry(program_id=program_id, claim_id=claim_of(order_id).id,
                                   kind="pay", amount_fen=1, note="twice"))
        with pytest.raises(Exception, match="(?i)unique"):
            db.session.flush()
        db.session.rollback()


def test_payment_references_are_unique(app, make_program, make_deal, officials):
    make_program()
    orders = [accept(app, *make_deal(10_000 * YUAN)) for _ in range(2)]
    with app.app_context():
        county = db.session.get(User, officials["county"].id)
        for order_id in orders:
            finish_delivery(order_id)
            subsidies.approve_claim(county, claim_of(order_id))
        subsidies.pay_claim(county, claim_of(orders[0]), "PAY-SAME")
        db.session.commit()
        with pytest.raises(ValidationFailed, match="reference"):
            subsidies.pay_claim(county, claim_of(orders[1]), "PAY-SAME")
        db.session.rollback()
        with pytest.raises(ValidationFailed):
            subsidies.pay_claim(county, claim_of(orders[1]), "=cmd|' /C calc'!A0")
        db.session.rollback()
        assert claim_of(orders[1]).status == "approved"


def test_repeated_submission_with_the_same_key_acts_once(app, make_program, officials):
    program_id = make_program(budget_fen=10_000 * YUAN, per_order_cap_fen=5_000 * YUAN,
                              per_enterprise_cap_fen=5_000 * YUAN)
    with app.app_context():
        actor = db.session.get(User, officials["county"].id)
        program = db.session.get(SubsidyProgram, program_id)
        results = []
        for _ in range(3):
            results.append(run_once(actor, "key-0123456789", "adjust_budget", lambda: {
                "entry_id": subsidies.adjust_budget(actor, program, 1_000 * YUAN, "追加").id}))
            db.session.commit()
        assert results[0] == results[1] == results[2]
        assert balance(program_id).budget_fen == 11_000 * YUAN
        with pytest.raises(ValidationFailed):
            run_once(actor, "bad key!", "adjust_budget", dict)


def test_a_key_used_for_one_action_is_refused_for_another(app, make_program, officials):
    """Its stored result has another shape (the views read it): a refusal, not a repeat."""
    program_id = make_program()
    with app.app_context():
        actor = db.session.get(User, officials["county"].id)
        program = db.session.get(SubsidyProgram, program_id)
        run_once(actor, "key-0123456789", "adjust_budget", lambda: {
            "entry_id": subsidies.adjust_budget(actor, program, 1_000 * YUAN, "追加").id})
        db.session.commit()
        with pytest.raises(ValidationFailed) as refused:
            run_once(actor, "key-0123456789", "approve_claims", lambda: {"results": []})
        assert "提交编号无效" in str(refused.value.errors["form"])


def test_a_key_is_a_repeat_only_on_the_same_target(app, make_program, officials):
    """Sent again for another object, a key used to be answered with the first object's
    result (a success message, and nothing done): it is refused and changes nothing."""
    first, second = make_program(), make_program()
    with app.app_context():
        actor = db.session.get(User, officials["county"].id)

        def adjust(program_id: int, key: str = "key-0123456789") -> dict:
            program = db.session.get(SubsidyProgram, program_id)
            return run_once(actor, key, "adjust_budget", lambda: {
                "entry_id": subsidies.adjust_budget(actor, program, 1_000 * YUAN, "追加").id},
                target=target_of("program", program_id))

        done = adjust(first)
        db.session.commit()
        with pytest.raises(KeyReused) as refused:
            adjust(second)
        db.session.rollback()
        assert "已用于另一个对象" in str(refused.value.errors["form"])
        assert adjust(first) == done  # the same target: a repeat
        assert balance(first).budget_fen == balance(second).budget_fen + 1_000 * YUAN
        # a key stored before targets were (empty) is no repeat of an action on an object
        db.session.add(IdempotencyKey(user_id=actor.id, key="old-key-0001",
                                      action="adjust_budget", result=done))
        db.session.commit()
        with pytest.raises(KeyReused):
            adjust(first, "old-key-0001")
        db.session.rollback()


def test_a_long_target_is_kept_as_a_digest(app, officials):
    assert target_of("claims", 29, 2) == target_of("claims", 2, 29) == "claims:2,29"
    with app.app_context():
        actor = db.session.get(User, officials["county"].id)
        many = target_of("claims", *range(1, 1000))
        assert run_once(actor, "key-bulk-0001", "approve_claims", lambda: {"n": 1},
                        target=many) == {"n": 1}
        db.session.commit()
        assert run_once(actor, "key-bulk-0001", "approve_claims", dict, target=many) == {"n": 1}
        with pytest.raises(KeyReused):
            run_once(actor, "key-bulk-0001", "approve_claims", dict,
                     target=target_of("claims", *range(1, 999)))


def test_the_claim_pages_refuse_a_key_used_on_another_claim(app, client, auth, make_program,
                                                             make_deal, officials):
    """Approving claim B with the key that approved claim A flashed "已批准" and left B as it
    was; the claim page and the bulk approval now say so and leave B for a fresh submission."""
    make_program()
    claims = []
    for _ in range(2):
        order_id = accept(app, *make_deal())
        with app.app_context():
            finish_delivery(order_id)
            claims.append(claim_of(order_id).id)
    first, second = claims
    auth.login(officials["county"])

    def approve(claim_id: int, key: str):
        return client.post(f"/subsidies/claims/{claim_id}/approve",
                           data={"approve-reason": "", "approve-idempotency_key": key})

    def bulk(claim_ids: list[int], key: str):
        return client.post("/subsidies/claims/approve",
                           data={"claim_ids": claim_ids, "idempotency_key": key},
                           follow_redirects=True)

    def status(claim_id: int) -> str:
        with app.app_context():
            return db.session.get(SubsidyClaim, claim_id).status

    assert approve(first, "approve-key-0001").status_code == 302
    refused = approve(second, "approve-key-0001")
    assert refused.status_code == 400
    assert "这个提交编号已用于另一个对象" in refused.get_data(as_text=True)
    assert status(second) == ClaimStatus.RESERVED
    assert approve(first, "approve-key-0001").status_code == 302  # a repeat, as before

    assert "已批准 0 笔" in bulk([first], "bulk-key-0001").get_data(as_text=True)
    page = bulk([first, second], "bulk-key-0001").get_data(as_text=True)
    assert "这个提交编号已用于另一个对象" in page and status(second) == ClaimStatus.RESERVED
    assert "已批准 1 笔" in bulk([second, first], "bulk-key-0002").get_data(as_text=True)
    assert status(second) == ClaimStatus.APPROVED


# -- races --------------------------------------------------------------------------------------


def _race(app, jobs) -> list:
    """Run every job at once (each in its own app context and session); their results."""
    results = [None] * len(jobs)
    barrier = threading.Barrier(len(jobs))

    def run(index, job):
        with app.app_context():
            barrier.wait()
            try:
                results[index] = job()
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - the test counts refusals
                db.session.rollback()
                results[index] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_concurrent_claims_never_overspend_the_budget(app, make_program, make_deal):
    """24 SMEs order at the same moment; the budget covers 10.5 of their subsidies."""
    program_id = make_program(budget_fen=52_500 * YUAN, per_order_cap_fen=5_000 * YUAN,
                              per_enterprise_cap_fen=5_000 * YUAN)
    deals_ = [make_deal(10_000 * YUAN) for _ in range(24)]

    def job(sme, request):
        return lambda: deals.accept_quote(db.session.get(User, sme),
                                          db.session.get(DealRequest, request), 1).id

    results = _race(app, [job(*d) for d in deals_])
    assert all(isinstance(r, int) for r in results), results  # every order is placed
    with app.app_context():
        amounts = sorted((c.amount_fen for c in db.session.scalars(select(SubsidyClaim))),
                         reverse=True)
        assert amounts == [5_000 * YUAN] * 10 + [2_500 * YUAN]
        money = balance(program_id)
        assert money.reserved_fen == 52_500 * YUAN and money.remaining_fen == 0
        ledger_sum = db.session.scalar(select(func.sum(LedgerEntry.amount_fen)).where(
            LedgerEntry.kind == "reserve"))
        assert ledger_sum == sum(amounts)


def test_concurrent_claims_respect_the_enterprise_cap(app, make_program, make_deal, make_user):
    program_id = make_program(per_order_cap_fen=3_000 * YUAN, per_enterprise_cap_fen=7_000 * YUAN)
    sme = make_user()
    deals_ = [make_deal(10_000 * YUAN, sme=sme) for _ in range(20)]

    def job(sme_id, request):
        return lambda: deals.accept_quote(db.session.get(User, sme_id),
                                          db.session.get(DealRequest, request), 1).id

    results = _race(app, [job(*d) for d in deals_])
    assert all(isinstance(r, int) for r in results), results
    with app.app_context():
        amounts = sorted(c.amount_fen for c in db.session.scalars(select(SubsidyClaim)))
        assert amounts == [1_000 * YUAN, 3_000 * YUAN, 3_000 * YUAN]
        assert balance(program_id).reserved_fen == 7_000 * YUAN


def test_two_officials_approving_and_paying_at_once_pay_once(app, make_program, make_deal,
                                                             officials):
    program_id = make_program()
    order_id = accept(app, *make_deal(10_000 * YUAN))
    with app.app_context():
        finish_delivery(order_id)
        claim_id = claim_of(order_id).id

    def approve_and_pay(official, reference):
        def job():
            actor = db.session.get(User, officials[official].id)
            claim = db.session.get(SubsidyClaim, claim_id)
            if claim.status == "reserved":
                subsidies.approve_claim(actor, claim)
            subsidies.pay_claim(actor, db.session.get(SubsidyClaim, claim_id), reference)
            return reference
        return job

    jobs = [approve_and_pay(o, f"PAY-{i}") for i, o in
            enumerate(["county", "city", "province"] * 7)]
    results = _race(app, jobs)
    assert sum(isinstance(r, str) for r in results) == 1, results
    with app.app_context():
        assert balance(program_id).paid_fen == 5_000 * YUAN
        assert db.session.scalar(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.kind == "pay")) == 1


def test_seen_enterprise_rows_are_not_needed_for_the_rule(app, make_program, make_deal):
    """offers_for reads what it needs itself (no stale ORM state): a second session's change of
    the enterprise's size class shows at once."""
    make_program(size_classes=["small"])
    with app.app_context():
        sme, request = make_deal()
        deal = db.session.get(DealRequest, request)
        enterprise = db.session.get(Enterprise, deal.enterprise_id)
        assert enterprise.size_class_code == "small"
        assert subsidies.best_offer(enterprise, deal.package, 10_000 * YUAN, TODAY)
        enterprise.size_class_code = "medium"
        assert subsidies.best_offer(enterprise, deal.package, 10_000 * YUAN, TODAY) is None
        db.session.rollback()


def test_today_is_used_for_validity(app, make_program, make_deal):
    make_program(starts_on=TODAY + timedelta(days=1), ends_on=TODAY + timedelta(days=5))
    with app.app_context():
        sme, request = make_deal()
        deal = db.session.get(DealRequest, request)
        assert subsidies.best_offer(deal.enterprise, deal.package, 100 * YUAN, TODAY) is None
        assert subsidies.best_offer(deal.enterprise, deal.package, 100 * YUAN,
                                    TODAY + timedelta(days=1)) is not None
        assert date.today() - TODAY <= timedelta(days=1)


def test_the_readme_worked_example(app, make_program, make_deal, officials):
    make_program(by="province", name="省数字化转型券", rate_bp=3000,
                 per_order_cap_fen=50_000 * YUAN, per_enterprise_cap_fen=100_000 * YUAN,
                 budget_fen=20_000_000 * YUAN)
    city = make_program(by="city", name="市普惠补贴", rate_bp=5000,
                        per_order_cap_fen=30_000 * YUAN, per_enterprise_cap_fen=60_000 * YUAN,
                        budget_fen=5_000_000 * YUAN, size_classes=["small", "micro"])
    make_program(name="县设备上云采购包", mode="procurement", per_order_cap_fen=10_000 * YUAN,
                 per_enterprise_cap_fen=10_000 * YUAN, budget_fen=1_000_000 * YUAN,
                 categories=["device_monitoring"])
    with app.app_context():
        sme, request = make_deal(36_000 * YUAN)
        deal = db.session.get(DealRequest, request)
        offers = subsidies.offers_for(deal.enterprise, deal.package, 36_000 * YUAN, TODAY)
        assert [(o.program.name, o.amount_fen) for o in offers] == [
            ("市普惠补贴", 18_000 * YUAN), ("省数字化转型券", 10_800 * YUAN),
            ("县设备上云采购包", 10_000 * YUAN)]
        # with only 5,000 left in the city's budget the province's 10,800 wins
        subsidies.adjust_budget(db.session.get(User, officials["city"].id),
                                db.session.get(SubsidyProgram, city),
                                -(5_000_000 - 5_000) * YUAN, "核减")
        db.session.commit()
        best = subsidies.best_offer(deal.enterprise, deal.package, 36_000 * YUAN, TODAY)
        assert (best.program.name, best.amount_fen, best.net_fen) == (
            "省数字化转型券", 10_800 * YUAN, 25_200 * YUAN)


def test_the_programs_officials_hear_when_a_claim_can_be_approved(app, make_program, make_deal,
                                                                  officials, make_user):
    """Accepting the delivery makes the reserved claim approvable: the officials of the
    program's region are told, nobody else."""
    program = make_program()  # the county's
    sme, request_id = make_deal(10_000 * YUAN)
    order_id = accept(app, sme, request_id)
    with app.app_context():
        deals.mark_delivered(db.session.get(User, make_deal.provider_user.id),
                             db.session.get(Order, order_id))
        db.session.commit()
        assert not db.session.scalars(select(Notification).where(
            Notification.kind == "claim_ready")).all()  # delivered is not yet accepted
        deals.accept_delivery(db.session.get(User, sme), db.session.get(Order, order_id))
        db.session.commit()
        told = db.session.scalars(select(Notification).where(
            Notification.kind == "claim_ready")).all()
        claim = claim_of(order_id)
        assert [n.user_id for n in told] == [officials["county"].id]
        assert told[0].link == f"/subsidies/claims/{claim.id}"
        assert claim.program_id == program
