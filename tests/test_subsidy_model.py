"""The ledger against an auditor's model: a Hypothesis state machine drives programs, orders,
approvals, payments, rejections, cancellations and budget adjustments through the services and
keeps its own books (like TigerBeetle's auditor). After every step the database's derived
balances must equal the model's, budget = reserved + paid + remaining with nothing negative,
and no enterprise may hold more than a program's annual cap.
"""

from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import (
    ClaimStatus,
    DealRequest,
    Enterprise,
    Need,
    Order,
    OrderStatus,
    Package,
    ProgramMode,
    SubsidyClaim,
    SubsidyProgram,
    User,
)
from marketplace.services import subsidies
from marketplace.services.deals import today
from marketplace.services.errors import IllegalTransition, ValidationFailed

YUAN = 100
ENTERPRISES = 3


def model_amount(params: dict, order_fen: int, remaining: int, left: int) -> int:
    """The rule, written again independently of the service."""
    if params["mode"] == ProgramMode.PERCENT:
        raw = order_fen * params["rate_bp"] // 10_000
    elif params["mode"] == ProgramMode.FIXED:
        raw = params["fixed_fen"]
    else:
        raw = order_fen
    return max(0, min(raw, order_fen, params["cap"], remaining, left))


class Ledger(RuleBasedStateMachine):
    programs = Bundle("programs")
    orders = Bundle("orders")

    def __init__(self, app, official_id, enterprise_ids, package_id):
        super().__init__()
        self.context = app.app_context()
        self.context.push()
        self.official = db.session.get(User, official_id)
        self.enterprise_ids, self.package_id = enterprise_ids, package_id
        self.params, self.budget, self.reserved, self.paid = {}, {}, {}, {}
        self.claims = {}  # order id -> [program id, enterprise index, amount, status]
        self.order_enterprise = {}
        self.references = 0

    def teardown(self):
        db.session.rollback()
        for program in db.session.scalars(select(SubsidyProgram).where(
                SubsidyProgram.id.in_(list(self.params)))):
            program.status = "closed"  # later examples start with no open programs
        db.session.commit()
        self.context.pop()

    # -- rules ----------------------------------------------------------------------------------

    @rule(target=programs, mode=st.sampled_from(ProgramMode.ALL),
          rate_bp=st.integers(1, 10_000), cap=st.integers(1, 5_000),
          enterprise_cap=st.integers(0, 8_000), budget=st.integers(0, 20_000))
    def create_program(self, mode, rate_bp, cap, enterprise_cap, budget):
        cap *= YUAN
        enterprise_cap = cap + enterprise_cap * YUAN
        budget = enterprise_cap + budget * YUAN
        data = subsidies.ProgramData(
            name="模型政策", policy_basis="", mode=mode, rate_bp=rate_bp,
            fixed_fen=cap if mode == ProgramMode.FIXED else 0, per_order_cap_fen=cap,
            per_enterprise_cap_fen=enterprise_cap, budget_fen=budget,
            starts_on=today() - timedelta(days=1), ends_on=today() + timedelta(days=30))
        program = subsidies.create_program(self.official, data)
        subsidies.change_program_status(self.official, program, "activate")
        db.session.commit()
        self.params[program.id] = {"mode": mode, "rate_bp": rate_bp, "fixed_fen": cap,
                                   "cap": cap, "enterprise_cap": enterprise_cap}
        self.budget[program.id], self.reserved[program.id], self.paid[program.id] = budget, 0, 0
        return program.id

    @rule(target=orders, who=st.integers(0, ENTERPRISES - 1), amount=st.integers(1, 20_000))
    def place_order(self, who, amount):
        amount *= YUAN
        expected = self._model_best(who, amount)
        enterprise = db.session.get(Enterprise, self.enterprise_ids[who])
        package = db.session.get(Package, self.package_id)
        offer = subsidies.secure_offer(enterprise, package, amount, today(), None)
        order = self._order(enterprise, package, amount)
        claim = subsidies.reserve(self.official, order, offer, today())
        db.session.commit()
        got = (claim.program_id, claim.amount_fen) if claim else None
        assert got == expected, (got, expected)
        self.order_enterprise[order.id] = who
        if claim:
            self.claims[order.id] = [claim.program_id, who, claim.amount_fen, "reserved"]
            self.reserved[claim.program_id] += claim.amount_fen
        return order.id

    @rule(order_id=orders)
    def approve(self, order_id):
        model = self.claims.get(order_id)
        claim = self._claim(order_id)
        if model is None:
            return
        order = db.session.get(Order, order_id)
        if order.status == OrderStatus.PLACED:
            order.status = OrderStatus.ACCEPTED  # the delivery was accepted
            db.session.commit()
        if order.status != OrderStatus.ACCEPTED or model[3] != "reserved":
            self._refused(lambda: subsidies.approve_claim(self.official, claim))
            return
        subsidies.approve_claim(self.official, claim)
        db.session.commit()
        model[3] = "approved"

    @rule(order_id=orders)
    def pay(self, order_id):
        model = self.claims.get(order_id)
        if model is None:
            return
        self.references += 1
        reference = f"REF-{order_id}-{self.references}"
        claim = self._claim(order_id)
        if model[3] != "approved":
            self._refused(lambda: subsidies.pay_claim(self.official, claim, reference))
            return
        subsidies.pay_claim(self.official, claim, reference)
        db.session.commit()
        model[3] = "paid"
        self.reserved[model[0]] -= model[2]
        self.paid[model[0]] += model[2]

    @rule(order_id=orders)
    def reject(self, order_id):
        model = self.claims.get(order_id)
        if model is None:
            return
        claim = self._claim(order_id)
        if model[3] not in ("reserved", "approved"):
            self._refused(lambda: subsidies.reject_claim(self.official, claim, "材料不全"))
            return
        subsidies.reject_claim(self.official, claim, "材料不全")
        db.session.commit()
        model[3] = "rejected"
        self.reserved[model[0]] -= model[2]

    @rule(order_id=orders)
    def cancel_order(self, order_id):
        order = db.session.get(Order, order_id)
        if order.status != OrderStatus.PLACED:
            return
        order.status = OrderStatus.CANCELLED
        subsidies.release_for_order(self.official, order)
        db.session.commit()
        model = self.claims.get(order_id)
        if model and model[3] in ("reserved", "approved"):
            model[3] = "released"
            self.reserved[model[0]] -= model[2]

    @rule(program_id=programs, delta=st.integers(-30_000, 30_000).filter(bool))
    def adjust(self, program_id, delta):
        delta *= YUAN
        remaining = self.budget[program_id] - self.reserved[program_id] - self.paid[program_id]
        program = db.session.get(SubsidyProgram, program_id)
        if remaining + delta < 0:
            try:
                subsidies.adjust_budget(self.official, program, delta, "调整")
            except ValidationFailed:
                db.session.rollback()
            else:
                raise AssertionError("a cut below what is spent was accepted")
            return
        subsidies.adjust_budget(self.official, program, delta, "调整")
        db.session.commit()
        self.budget[program_id] += delta

    # -- invariants -----------------------------------------------------------------------------

    @invariant()
    def books_agree(self):
        money = subsidies.balances(self.params)
        for program_id, balance in money.items():
            assert (balance.budget_fen, balance.reserved_fen, balance.paid_fen) == (
                self.budget[program_id], self.reserved[program_id], self.paid[program_id])
            assert balance.reserved_fen >= 0 and balance.paid_fen >= 0
            assert balance.remaining_fen >= 0
            assert balance.budget_fen == (balance.reserved_fen + balance.paid_fen
                                          + balance.remaining_fen)

    @invariant()
    def claims_agree_with_the_ledger(self):
        if not self.params:
            return
        rows = db.session.execute(
            select(SubsidyClaim.program_id, SubsidyClaim.status, func.sum(SubsidyClaim.amount_fen))
            .where(SubsidyClaim.program_id.in_(list(self.params)))
            .group_by(SubsidyClaim.program_id, SubsidyClaim.status))
        held = {pid: 0 for pid in self.params}
        paid = {pid: 0 for pid in self.params}
        for program_id, status, total in rows:
            if status in (ClaimStatus.RESERVED, ClaimStatus.APPROVED):
                held[program_id] += int(total)
            elif status == ClaimStatus.PAID:
                paid[program_id] += int(total)
        assert held == self.reserved and paid == self.paid

    @invariant()
    def no_enterprise_over_its_cap(self):
        holdings = {}
        for program_id, who, amount, status in self.claims.values():
            if status in ("reserved", "approved", "paid"):
                holdings[program_id, who] = holdings.get((program_id, who), 0) + amount
        for (program_id, _who), total in holdings.items():
            assert total <= self.params[program_id]["enterprise_cap"]

    # -- helpers --------------------------------------------------------------------------------

    def _model_best(self, who: int, amount: int):
        best = None
        for program_id, params in sorted(self.params.items()):
            remaining = (self.budget[program_id] - self.reserved[program_id]
                         - self.paid[program_id])
            used = sum(a for pid, w, a, s in self.claims.values()
                       if pid == program_id and w == who and s in ("reserved", "approved",
                                                                   "paid"))
            value = model_amount(params, amount, remaining, params["enterprise_cap"] - used)
            if value > 0 and (best is None or value > best[1]):
                best = (program_id, value)
        return best

    def _order(self, enterprise, package, amount) -> Order:
        need = Need(enterprise_id=enterprise.id, title="模型需求", description="模型需求描述",
                    category_code=package.category_code, scenario_level_code="workshop",
                    visibility="public", status="in_progress")
        db.session.add(need)
        db.session.flush()
        request = DealRequest(need_id=need.id, package_id=package.id,
                              enterprise_id=enterprise.id, provider_id=package.provider_id,
                              status="ordered")
        db.session.add(request)
        db.session.flush()
        order = Order(need_id=need.id, request_id=request.id, package_id=package.id,
                      enterprise_id=enterprise.id, provider_id=package.provider_id,
                      amount_fen=amount, scope="模型", delivery_days=5, due_date=today())
        db.session.add(order)
        db.session.flush()
        return order

    def _claim(self, order_id) -> SubsidyClaim | None:
        return db.session.scalar(select(SubsidyClaim).where(SubsidyClaim.order_id == order_id))

    @staticmethod
    def _refused(action):
        try:
            action()
        except IllegalTransition:
            db.session.rollback()
        else:
            raise AssertionError("an illegal step was accepted")


def test_ledger_against_the_model(app, make_user, make_package):
    official = make_user(role="gov", region_code="320505")
    enterprises = []
    for _ in range(ENTERPRISES):
        with app.app_context():
            enterprises.append(db.session.get(User, make_user().id).enterprise_id)
    provider = make_user(role="provider")
    with app.app_context():
        provider_id = db.session.get(User, provider.id).provider_id
    package_id = make_package(provider_id)
    run_state_machine_as_test(
        lambda: Ledger(app, official.id, enterprises, package_id),
        settings=settings(max_examples=25, stateful_step_count=30, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow]))
