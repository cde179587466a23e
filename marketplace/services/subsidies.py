"""Subsidy programs, the best-program rule (从优、就高、不重复), claims and the budget ledger.

Money is integer fen everywhere. A program's budget, reserved, paid and remaining amounts are
derived from its ledger entries (:func:`balances`); nothing here updates or deletes an entry.

The rule, for an order of amount A placed on day D by enterprise E for package P:

1. Candidates are the *active* programs of E's county, its city and the province whose
   validity contains D and whose eligibility E, P and P's provider meet.
2. Each candidate would pay ``min(raw, A, per-order cap, remaining budget, what E may still
   receive from it this calendar year)``, where raw is ``floor(A × rate)`` (percentage),
   the fixed amount (fixed), or A (government procurement: free up to the cap).
3. Only the highest amount is applied, never two programs for one order (one claim per order).
   Ties go to the program whose validity ends first (money that expires soonest is used
   first), then to the older program (smaller id).
4. A free order (A = 0: a package's free trial) is subsidised by no program; no claim is made.

Concurrency: every path that reads a balance and writes against it first takes the write lock
(:func:`txn.begin_write`; SQLite) and locks the program rows ``FOR UPDATE`` in id order
(PostgreSQL), so two claims cannot both spend the last yuan and no enterprise passes its cap.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..changes import log_changes
from ..extensions import db
from ..models import (
    Category,
    ClaimStatus,
    Cluster,
    Enterprise,
    EntryKind,
    Industry,
    LedgerEntry,
    Order,
    OrderStatus,
    Package,
    ProgramMode,
    ProgramStatus,
    Region,
    ScenarioLevel,
    SizeClass,
    Standing,
    SubsidyClaim,
    SubsidyProgram,
    Tier,
    User,
)
from ..models._base import utcnow
from ..models.subsidies import EntryNote
from . import audit
from .errors import IllegalTransition, NotAllowed, NotFound, ValidationFailed
from .notify import notify
from .profiles import lock_enterprise
from .regions import region_by_code, region_ids_governed
from .states import apply_step
from .txn import begin_write

NAME_MIN, NAME_MAX, BASIS_MAX, REASON_MAX = 2, 120, 2000, 1000
MAX_BUDGET_FEN = 100_000_000_000_00  # 1000 亿元: far above any real program, far below int64
FULL_RATE_BP = 10_000
LOCAL_TZ = ZoneInfo("Asia/Shanghai")  # the zone programs, claims and ledgers are read in
REFERENCE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_/.-]{2,63}$")

PROGRAM_TRANSITIONS = {
    "activate": ({ProgramStatus.DRAFT}, ProgramStatus.ACTIVE),
    "close": ({ProgramStatus.ACTIVE}, ProgramStatus.CLOSED),
}
CLAIM_TRANSITIONS = {
    "approve": ({ClaimStatus.RESERVED}, ClaimStatus.APPROVED),
    "reject": ({ClaimStatus.RESERVED, ClaimStatus.APPROVED}, ClaimStatus.REJECTED),
    "pay": ({ClaimStatus.APPROVED}, ClaimStatus.PAID),
    "release": ({ClaimStatus.RESERVED, ClaimStatus.APPROVED}, ClaimStatus.RELEASED),
}


# -- the rule -----------------------------------------------------------------------------------


def subsidy_amount(program: SubsidyProgram, order_fen: int, remaining_fen: int,
                   enterprise_left_fen: int) -> int:
    """What ``program`` would pay on an order of ``order_fen`` (never negative)."""
    if program.mode == ProgramMode.PERCENT:
        raw = order_fen * program.rate_bp // FULL_RATE_BP  # rounded down to the fen
    elif program.mode == ProgramMode.FIXED:
        raw = program.fixed_fen
    else:
        raw = order_fen
    return max(0, min(raw, order_fen, program.per_order_cap_fen, remaining_fen,
                      enterprise_left_fen))


@dataclass(frozen=True)
class Offer:
    """What one program would pay on one order."""

    program: SubsidyProgram
    order_fen: int
    amount_fen: int

    @property
    def net_fen(self) -> int:
        return self.order_fen - self.amount_fen

    def sort_key(self) -> tuple:
        return (-self.amount_fen, self.program.ends_on, self.program.id)


@dataclass
class Balance:
    budget_fen: int = 0
    reserved_fen: int = 0
    paid_fen: int = 0

    @property
    def remaining_fen(self) -> int:
        return self.budget_fen - self.reserved_fen - self.paid_fen

    def add(self, kind: str, amount_fen: int) -> None:
        """Apply one ledger movement (or the sum of one kind of them)."""
        if kind == EntryKind.ADJUST:
            self.budget_fen += amount_fen
        elif kind == EntryKind.RESERVE:
            self.reserved_fen += amount_fen
        elif kind == EntryKind.RELEASE:
            self.reserved_fen -= amount_fen
        elif kind == EntryKind.PAY:
            self.reserved_fen -= amount_fen
            self.paid_fen += amount_fen

    @property
    def used_share(self) -> float:
        return (self.reserved_fen + self.paid_fen) / self.budget_fen if self.budget_fen else 0.0


def balances(program_ids) -> dict[int, Balance]:
    """Each program's balance, summed from its ledger."""
    ids = list(program_ids)
    result = {pid: Balance() for pid in ids}
    if not ids:
        return result
    rows = db.session.execute(
        select(LedgerEntry.program_id, LedgerEntry.kind, func.sum(LedgerEntry.amount_fen))
        .where(LedgerEntry.program_id.in_(ids))
        .group_by(LedgerEntry.program_id, LedgerEntry.kind))
    for program_id, kind, total in rows:
        result[program_id].add(kind, int(total or 0))
    return result


def received_this_year(enterprise_id: int, program_ids, year: int) -> dict[int, int]:
    """What the enterprise holds or has been paid from each program in ``year``."""
    rows = db.session.execute(
        select(SubsidyClaim.program_id, func.sum(SubsidyClaim.amount_fen))
        .where(SubsidyClaim.enterprise_id == enterprise_id,
               SubsidyClaim.program_id.in_(list(program_ids)), SubsidyClaim.year == year,
               SubsidyClaim.status.in_(ClaimStatus.HOLDING))
        .group_by(SubsidyClaim.program_id))
    return defaultdict(int, {pid: int(total or 0) for pid, total in rows})


@dataclass(frozen=True)
class Eligibility:
    """The facts a program's rules read about one order: the enterprise's county, size class,
    industry and cluster, the package's category and scenario levels, its provider's tier,
    verification and standing. Kept on the claim when the order is placed (the snapshot), so
    that approval judges what made it eligible and officials see it."""

    county_code: str
    size_class_code: str
    employees: int
    revenue_wan: int
    industry_code: str
    cluster_code: str  # "" when none
    category_code: str
    scenario_level_codes: tuple[str, ...]
    provider_tier: str
    provider_verified: bool
    provider_standing: str

    ENTERPRISE_FIELDS = ("county_code", "size_class_code", "industry_code", "cluster_code")

    @classmethod
    def of(cls, enterprise: Enterprise, package: Package) -> Eligibility:
        provider = package.provider
        return cls(
            county_code=enterprise.county.code, size_class_code=enterprise.size_class_code,
            employees=enterprise.employees, revenue_wan=enterprise.revenue_wan,
            industry_code=enterprise.industry_code, cluster_code=enterprise.cluster_code or "",
            category_code=package.category_code,
            scenario_level_codes=tuple(sorted(level.code for level in package.scenario_levels)),
            provider_tier=provider.tier, provider_verified=provider.verified,
            provider_standing=provider.standing)

    @classmethod
    def from_json(cls, data: dict | None) -> Eligibility | None:
        """The snapshot stored on a claim (None if it has none)."""
        if not data:
            return None
        return cls(**{**data, "scenario_level_codes": tuple(data["scenario_level_codes"])})

    def to_json(self) -> dict:
        data = asdict(self)
        data["scenario_level_codes"] = list(self.scenario_level_codes)
        return data

    def changed_enterprise_fields(self, now: Eligibility) -> list[str]:
        """The enterprise facts (county, size, industry, cluster) that differ in ``now``."""
        return [name for name in self.ENTERPRISE_FIELDS
                if getattr(self, name) != getattr(now, name)]


def _enterprise_rules(program: SubsidyProgram, county: Region | None, size_class_code: str,
                      industry_code: str, cluster_code: str | None):
    """Why an enterprise with these facts is outside ``program`` (None if it is not)."""
    if not program.region.contains(county):
        return _l("企业不在政策地区内")
    if program.size_classes and size_class_code not in program.size_classes:
        return _l("企业规模不符合")
    wants_sector = program.industries or program.clusters
    if wants_sector and not (industry_code in program.industries
                             or (cluster_code or "") in program.clusters):
        return _l("行业或产业集群不符合")
    return None


def _package_rules(program: SubsidyProgram, category_code: str, level_codes, verified: bool,
                   standing: str, tier: str):
    """Why a package with these facts (and its provider's) is outside ``program``."""
    if program.categories and category_code not in program.categories:
        return _l("方案类别不在支持范围")
    if program.scenario_levels and not set(level_codes) & set(program.scenario_levels):
        return _l("场景层级不在支持范围")
    if program.verified_only and not verified:
        return _l("服务商未通过认证")
    if standing == Standing.ELIMINATED:
        return _l("服务商已被淘汰")
    if program.min_tier and Tier.RANK.get(tier, 0) < Tier.RANK[program.min_tier]:
        return _l("服务商等级不够")
    return None


def enterprise_problem(program: SubsidyProgram, enterprise: Enterprise, on: date):
    """Why ``enterprise`` cannot use ``program`` on day ``on`` (None if it can)."""
    if program.status != ProgramStatus.ACTIVE:
        return _l("政策未在实施中")
    if not program.starts_on <= on <= program.ends_on:
        return _l("不在政策有效期内")
    return _enterprise_rules(program, enterprise.county, enterprise.size_class_code,
                             enterprise.industry_code, enterprise.cluster_code)


def package_problem(program: SubsidyProgram, package: Package):
    """Why orders of ``package`` cannot be subsidised by ``program`` (None if they can)."""
    provider = package.provider
    return _package_rules(program, package.category_code,
                          [level.code for level in package.scenario_levels], provider.verified,
                          provider.standing, provider.tier)


def eligibility_problem(program: SubsidyProgram, facts: Eligibility):
    """Why an order with these facts is outside ``program``'s rules (None if it is inside);
    the status and validity dates are not rules of eligibility and are not checked here."""
    county = region_by_code(facts.county_code)
    return (_enterprise_rules(program, county, facts.size_class_code, facts.industry_code,
                              facts.cluster_code)
            or _package_rules(program, facts.category_code, facts.scenario_level_codes,
                              facts.provider_verified, facts.provider_standing,
                              facts.provider_tier))


def candidate_programs(enterprise: Enterprise, lock: bool = False) -> list[SubsidyProgram]:
    """Active programs of the enterprise's county, city and province, by id."""
    region_ids = [r.id for r in enterprise.county.ancestors_and_self()]
    query = (select(SubsidyProgram)
             .where(SubsidyProgram.region_id.in_(region_ids),
                    SubsidyProgram.status == ProgramStatus.ACTIVE)
             .order_by(SubsidyProgram.id))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return list(db.session.scalars(query))


class OfferBook:
    """The programs one enterprise may use on one day, with their balances, loaded once; asks
    what each package would get (the rule above). With ``lock`` the programs stay locked until
    the transaction ends."""

    def __init__(self, enterprise: Enterprise, on: date, lock: bool = False):
        if lock:
            begin_write()
        self.enterprise, self.on = enterprise, on
        self.programs = [p for p in candidate_programs(enterprise, lock)
                         if enterprise_problem(p, enterprise, on) is None]
        ids = [p.id for p in self.programs]
        self.money = balances(ids)
        self.received = received_this_year(enterprise.id, ids, on.year) if ids else {}

    def offers(self, package: Package, order_fen: int) -> list[Offer]:
        if order_fen <= 0:  # a free order (a package's free trial): no program applies
            return []
        offers = []
        for program in self.programs:
            if package_problem(program, package) is not None:
                continue
            left = program.per_enterprise_cap_fen - self.received[program.id]
            amount = subsidy_amount(program, order_fen, self.money[program.id].remaining_fen,
                                    left)
            if amount > 0:
                offers.append(Offer(program, order_fen, amount))
        return sorted(offers, key=Offer.sort_key)

    def best(self, package: Package, order_fen: int) -> Offer | None:
        offers = self.offers(package, order_fen)
        return offers[0] if offers else None


def offers_for(enterprise: Enterprise, package: Package, order_fen: int, on: date,
               lock: bool = False) -> list[Offer]:
    """Every program that would pay something on this order, best first."""
    return OfferBook(enterprise, on, lock).offers(package, order_fen)


def best_offer(enterprise: Enterprise, package: Package, order_fen: int, on: date,
               lock: bool = False) -> Offer | None:
    return OfferBook(enterprise, on, lock).best(package, order_fen)


# -- the search page's 可享补贴 facet -------------------------------------------------------------


def open_programs(on: date) -> list[SubsidyProgram]:
    """Active programs valid on ``on`` with budget left: those 可享补贴 counts, by id."""
    programs = list(db.session.scalars(
        select(SubsidyProgram)
        .where(SubsidyProgram.status == ProgramStatus.ACTIVE, SubsidyProgram.starts_on <= on,
               SubsidyProgram.ends_on >= on)
        .order_by(SubsidyProgram.id)))
    money = balances(p.id for p in programs)
    return [p for p in programs if money[p.id].remaining_fen > 0]


def may_subsidise(program: SubsidyProgram, package: Package) -> bool:
    """Whether some SME could have an order of ``package`` subsidised by ``program``: the
    package rules admit it, it is not free, and its provider serves somewhere in the program's
    region (or everywhere). The enterprise rules (size, industry, cluster, per-enterprise cap)
    are the SME's own; the logged-in SME sees its own best offer beside the price."""
    if package.price_fen == 0 or package_problem(program, package) is not None:
        return False
    served = package.provider.regions_served
    return not served or any(r.contains(program.region) or program.region.contains(r)
                             for r in served)


def _is_open(program: SubsidyProgram, remaining_fen: int) -> bool:
    from .deals import today  # deals uses this module

    return (program.status == ProgramStatus.ACTIVE
            and program.starts_on <= today() <= program.ends_on and remaining_fen > 0)


def queue_date_boundaries(on: date, days: int = 1) -> int:
    """Queue for the search index the packages of active programs that started or ended in
    the ``days`` days up to ``on`` (a date passing writes nothing, so 可享补贴 needs this once a
    day: ``flask search subsidies``). Returns how many programs it concerned."""
    first = on - timedelta(days=days - 1)
    programs = list(db.session.scalars(select(SubsidyProgram).where(
        SubsidyProgram.status == ProgramStatus.ACTIVE,
        (SubsidyProgram.starts_on.between(first, on))
        | (SubsidyProgram.ends_on.between(first - timedelta(days=1), on - timedelta(days=1))))))
    for program in programs:
        _reindex_packages_of(program)
    return len(programs)


def _reindex_packages_of(program: SubsidyProgram) -> None:
    """The program opened or closed for 可享补贴: queue the packages its category rule admits
    for the search index (the drain recomputes each flag from every open program)."""
    query = select(Package.id)
    if program.categories:
        query = query.where(Package.category_code.in_(program.categories))
    log_changes(db.session, {("package", i) for i in db.session.scalars(query)})


# -- programs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgramData:
    name: str
    policy_basis: str
    mode: str
    rate_bp: int
    fixed_fen: int
    per_order_cap_fen: int
    per_enterprise_cap_fen: int
    budget_fen: int
    starts_on: date
    ends_on: date
    size_classes: list[str] = field(default_factory=list)
    industries: list[str] = field(default_factory=list)
    clusters: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    scenario_levels: list[str] = field(default_factory=list)
    min_tier: str = ""
    verified_only: bool = True


def _unknown_codes(model, codes: list[str]) -> set[str]:
    if not codes:
        return set()
    known = set(db.session.scalars(select(model.code).where(model.code.in_(codes))))
    return set(codes) - known


def check_program(data: ProgramData) -> None:
    """Refuse a program whose figures cannot work, with a message per field."""
    errors = {}
    if not NAME_MIN <= len(data.name.strip()) <= NAME_MAX:
        errors["name"] = _l("名称需要 %(lo)d 到 %(hi)d 个字。", lo=NAME_MIN, hi=NAME_MAX)
    if len(data.policy_basis.strip()) > BASIS_MAX:
        errors["policy_basis"] = _l("政策依据最多 %(n)d 个字。", n=BASIS_MAX)
    if data.mode not in ProgramMode.ALL:
        errors["mode"] = _l("请选择补贴方式。")
    elif data.mode == ProgramMode.PERCENT and not 1 <= data.rate_bp <= FULL_RATE_BP:
        errors["rate_bp"] = _l("补贴比例需在 0.01% 到 100% 之间。")
    elif data.mode == ProgramMode.FIXED and not 1 <= data.fixed_fen <= data.per_order_cap_fen:
        errors["fixed_fen"] = _l("定额补贴需大于 0，且不超过单笔上限。")
    if not 1 <= data.budget_fen <= MAX_BUDGET_FEN:
        errors["budget_fen"] = _l("总预算需大于 0。")
    if not 1 <= data.per_order_cap_fen <= max(data.budget_fen, 1):
        errors["per_order_cap_fen"] = _l("单笔上限需大于 0，且不超过总预算。")
    elif not data.per_order_cap_fen <= data.per_enterprise_cap_fen <= data.budget_fen:
        errors["per_enterprise_cap_fen"] = _l("每家企业年度上限需不低于单笔上限，且不超过总预算。")
    if data.ends_on < data.starts_on:
        errors["ends_on"] = _l("结束日期不能早于开始日期。")
    if data.min_tier and data.min_tier not in Tier.ALL:
        errors["min_tier"] = _l("不是有效的选择。")
    for name, model in (("size_classes", SizeClass), ("industries", Industry),
                        ("clusters", Cluster), ("categories", Category),
                        ("scenario_levels", ScenarioLevel)):
        if _unknown_codes(model, getattr(data, name)):
            errors[name] = _l("不是有效的选择。")
    if errors:
        raise ValidationFailed(errors)


def _fill(program: SubsidyProgram, data: ProgramData) -> None:
    program.name, program.policy_basis = data.name.strip(), data.policy_basis.strip()
    program.mode = data.mode
    program.rate_bp = data.rate_bp if data.mode == ProgramMode.PERCENT else 0
    program.fixed_fen = data.fixed_fen if data.mode == ProgramMode.FIXED else 0
    program.per_order_cap_fen = data.per_order_cap_fen
    program.per_enterprise_cap_fen = data.per_enterprise_cap_fen
    program.starts_on, program.ends_on = data.starts_on, data.ends_on
    for name in ("size_classes", "industries", "clusters", "categories", "scenario_levels"):
        setattr(program, name, sorted(set(getattr(data, name))))
    program.min_tier, program.verified_only = data.min_tier, data.verified_only


def _entry(actor: User | None, program: SubsidyProgram, kind: str, amount_fen: int,
           claim: SubsidyClaim | None = None, note: str = "", note_code: str = "") -> LedgerEntry:
    """One ledger row: ``note`` is what a person wrote, ``note_code`` an :class:`EntryNote`
    the system writes (rendered in the reader's language, never stored as a sentence)."""
    entry = LedgerEntry(program_id=program.id, claim_id=claim.id if claim else None, kind=kind,
                        amount_fen=amount_fen, actor_id=getattr(actor, "id", None), note=note,
                        note_code=note_code)
    db.session.add(entry)
    db.session.flush()  # the unique (claim, kind) refuses a second reserve/release/payment
    effect = {EntryKind.ADJUST: amount_fen, EntryKind.RESERVE: -amount_fen,
              EntryKind.RELEASE: amount_fen}.get(kind, 0)
    if effect:
        after = balances([program.id])[program.id].remaining_fen
        if _is_open(program, after) != _is_open(program, after - effect):
            _reindex_packages_of(program)
    audit.record(actor, f"ledger_{kind}", entry, region_id=program.region_id,
                 program_id=program.id, claim_id=entry.claim_id, amount_fen=amount_fen)
    return entry


def create_program(actor: User, data: ProgramData) -> SubsidyProgram:
    """A draft program of the official's own region, funded by a first ledger entry."""
    if not actor.is_gov or actor.region is None:
        raise NotAllowed(_l("只有地方政府账号可以设立补贴政策。"))
    check_program(data)
    program = SubsidyProgram(region_id=actor.region_id, created_by_id=actor.id,
                             status=ProgramStatus.DRAFT)
    _fill(program, data)
    db.session.add(program)
    db.session.flush()
    audit.record(actor, "create_program", program, region_id=program.region_id, name=program.name)
    _entry(actor, program, EntryKind.ADJUST, data.budget_fen,
           note_code=EntryNote.INITIAL_BUDGET)
    return program


def _locked(program: SubsidyProgram) -> SubsidyProgram:
    begin_write()
    return db.session.scalar(select(SubsidyProgram).where(SubsidyProgram.id == program.id)
                             .with_for_update().execution_options(populate_existing=True))


def _require_manager(actor: User, program: SubsidyProgram) -> None:
    if not program.can_manage(actor):
        raise NotAllowed(_l("只有政策所在地区（或上级）的政府账号可以管理这项政策。"))


def update_program(actor: User, program: SubsidyProgram, data: ProgramData) -> None:
    """Edit a draft; a changed budget is a new ledger entry for the difference."""
    _require_manager(actor, program)
    program = _locked(program)
    if program.status != ProgramStatus.DRAFT:
        raise IllegalTransition(_l("政策实施后不能再修改规则；可以追加或核减预算。"))
    check_program(data)
    _fill(program, data)
    delta = data.budget_fen - balances([program.id])[program.id].budget_fen
    audit.record(actor, "update_program", program, region_id=program.region_id)
    if delta:
        _entry(actor, program, EntryKind.ADJUST, delta, note_code=EntryNote.BUDGET_EDIT)


def change_program_status(actor: User, program: SubsidyProgram, action: str) -> None:
    _require_manager(actor, program)
    remaining = balances([program.id])[program.id].remaining_fen
    was_open = _is_open(program, remaining)
    apply_step(PROGRAM_TRANSITIONS, program, action, _l("政策当前状态不能这样操作。"))
    if _is_open(program, remaining) != was_open:
        _reindex_packages_of(program)
    audit.record(actor, f"{action}_program", program, region_id=program.region_id)


def adjust_budget(actor: User, program: SubsidyProgram, delta_fen: int, note: str) -> LedgerEntry:
    """Add to (positive) or withdraw from (negative) the budget; never below what is spent."""
    _require_manager(actor, program)
    errors = {}
    if not note.strip() or len(note.strip()) > REASON_MAX:
        errors["note"] = _l("请说明调整原因（最多 %(n)d 个字）。", n=REASON_MAX)
    if delta_fen == 0 or abs(delta_fen) > MAX_BUDGET_FEN:
        errors["amount_fen"] = _l("调整金额需大于 0。")
    if errors:
        raise ValidationFailed(errors)
    program = _locked(program)
    if program.status == ProgramStatus.CLOSED:
        raise IllegalTransition(_l("政策已结束，不能调整预算。"))
    balance = balances([program.id])[program.id]
    if balance.remaining_fen + delta_fen < 0:
        raise ValidationFailed({"amount_fen": _l(
            "核减后余额会小于零：当前可用余额为 %(yuan)s 元。",
            yuan=f"{balance.remaining_fen / 100:.2f}")})
    if balance.budget_fen + delta_fen > MAX_BUDGET_FEN:
        raise ValidationFailed({"amount_fen": _l("预算过大。")})
    return _entry(actor, program, EntryKind.ADJUST, delta_fen, note=note.strip())


# -- claims -------------------------------------------------------------------------------------


def secure_offer(enterprise: Enterprise, package: Package, order_fen: int, on: date,
                 expected_fen: int | None) -> Offer | None:
    """The best offer, locked until the order commits. ``expected_fen`` is the subsidy the SME
    saw when it clicked; if the budget moved since, refuse rather than surprise it. The
    enterprise row is locked first, so its county and size cannot change (``/profile/edit``)
    between this choice and the commit of the claim's snapshot."""
    begin_write()
    enterprise = lock_enterprise(enterprise)
    offer = best_offer(enterprise, package, order_fen, on, lock=True)
    if expected_fen is not None and (offer.amount_fen if offer else 0) != expected_fen:
        raise IllegalTransition(_l("可用补贴刚刚发生了变化，请查看新的补贴金额后再确认下单。"))
    return offer


def reserve(actor: User, order: Order, offer: Offer | None, on: date) -> SubsidyClaim | None:
    """Create the order's claim and reserve its amount (called in the order's transaction)."""
    if offer is None:
        return None
    program = offer.program
    facts = Eligibility.of(order.enterprise, order.package)
    claim = SubsidyClaim(program_id=program.id, order_id=order.id,
                         enterprise_id=order.enterprise_id, year=on.year,
                         order_amount_fen=order.amount_fen, amount_fen=offer.amount_fen,
                         eligibility=facts.to_json())
    db.session.add(claim)
    db.session.flush()
    _entry(actor, program, EntryKind.RESERVE, offer.amount_fen, claim)
    audit.record(actor, "reserve_claim", claim, region_id=program.region_id,
                 order_id=order.id, amount_fen=offer.amount_fen, eligibility=facts.to_json())
    return claim


def _locked_claim(claim: SubsidyClaim) -> SubsidyClaim:
    begin_write()
    return db.session.scalar(select(SubsidyClaim).where(SubsidyClaim.id == claim.id)
                             .with_for_update().execution_options(populate_existing=True))


def _require_official(actor: User, claim: SubsidyClaim) -> None:
    if not actor.governs(claim.program.region):
        raise NotAllowed(_l("只有政策所在地区（或上级）的政府账号可以审批。"))


ENTERPRISE_FACT_LABELS = {"county_code": _l("所在地区"), "size_class_code": _l("规模类型"),
                          "industry_code": _l("行业"), "cluster_code": _l("产业集群")}


@dataclass(frozen=True)
class EligibilityReview:
    """A claim's snapshot judged again: against its program's rules, and the enterprise's
    facts as they are now against the snapshot's."""

    snapshot: Eligibility
    current: Eligibility
    snapshot_problem: str | None  # the program's rules no longer admit the snapshot
    current_problem: str | None  # the enterprise as it is now is outside the rules
    changed: tuple[str, ...]  # enterprise facts that differ from the snapshot

    @property
    def refusal(self):
        """Why the claim cannot be approved (None if it can)."""
        if self.snapshot_problem:
            return _l("申请时的条件已不符合这项政策的规则（%(why)s），不能批准。",
                      why=self.snapshot_problem)
        if self.current_problem:
            fields = str(_l("、")).join(str(ENTERPRISE_FACT_LABELS[name])
                                        for name in self.changed)
            return _l("企业在申请后修改了%(fields)s，按现在的信息已不符合政策条件（%(why)s），"
                      "不能批准；请核实后驳回。", fields=fields, why=self.current_problem)
        return None


def review_eligibility(claim: SubsidyClaim) -> EligibilityReview:
    """Judge the claim's snapshot (a claim without one, made before snapshots were kept, is
    judged on the facts as they are now). A change of the enterprise's county, size class,
    industry or cluster since the claim blocks approval only when it takes the enterprise out
    of the program's rules; officials see every change either way."""
    current = Eligibility.of(claim.enterprise, claim.order.package)
    snapshot = Eligibility.from_json(claim.eligibility) or current
    changed = tuple(snapshot.changed_enterprise_fields(current))
    current_problem = None
    if changed:
        current_problem = _enterprise_rules(claim.program, claim.enterprise.county,
                                            current.size_class_code, current.industry_code,
                                            current.cluster_code)
    return EligibilityReview(snapshot, current, eligibility_problem(claim.program, snapshot),
                             current_problem, changed)


def eligibility_names(facts: Eligibility) -> dict:
    """The reference rows a snapshot's codes name, for showing it with names."""
    levels = db.session.scalars(select(ScenarioLevel).where(
        ScenarioLevel.code.in_(facts.scenario_level_codes)).order_by(ScenarioLevel.rank))
    return {"county": region_by_code(facts.county_code),
            "size_class": db.session.get(SizeClass, facts.size_class_code),
            "industry": db.session.get(Industry, facts.industry_code),
            "cluster": db.session.get(Cluster, facts.cluster_code) if facts.cluster_code
            else None,
            "category": db.session.get(Category, facts.category_code),
            "levels": list(levels)}


RULE_MODELS = {"size_classes": SizeClass, "industries": Industry, "clusters": Cluster,
               "categories": Category, "scenario_levels": ScenarioLevel}


def rule_names(program: SubsidyProgram) -> dict[str, list[str]]:
    """The names (in the reader's language) of the codes a program's rules list."""
    names = {}
    for attribute, model in RULE_MODELS.items():
        rows = (db.session.get(model, code) for code in getattr(program, attribute))
        names[attribute] = [row.label if row is not None else code
                            for row, code in zip(rows, getattr(program, attribute), strict=True)]
    return names


def approve_claim(actor: User, claim: SubsidyClaim, note: str = "") -> None:
    """Approve a claim whose delivery was accepted and whose snapshot still passes its
    program's rules (:func:`review_eligibility`)."""
    _require_official(actor, claim)
    claim = _locked_claim(claim)
    if claim.status == ClaimStatus.RESERVED and claim.order.status != OrderStatus.ACCEPTED:
        raise IllegalTransition(_l("企业验收交付后才能审批补贴。"))
    if claim.status == ClaimStatus.RESERVED:
        refusal = review_eligibility(claim).refusal
        if refusal:
            raise IllegalTransition(refusal)
    apply_step(CLAIM_TRANSITIONS, claim, "approve", _l("这笔补贴已经审批过。"))
    claim.decided_by_id, claim.decided_at = actor.id, utcnow()
    claim.decision_reason = note.strip()[:REASON_MAX]
    notify("claim_approved", claim.program.name, f"/subsidies/claims/{claim.id}",
           enterprise_id=claim.enterprise_id)
    audit.record(actor, "approve_claim", claim, region_id=claim.program.region_id)


def reject_claim(actor: User, claim: SubsidyClaim, reason: str) -> None:
    _require_official(actor, claim)
    if not reason.strip() or len(reason.strip()) > REASON_MAX:
        raise ValidationFailed({"reason": _l("请说明原因（最多 %(n)d 个字）。", n=REASON_MAX)})
    claim = _locked_claim(claim)
    apply_step(CLAIM_TRANSITIONS, claim, "reject", _l("这笔补贴已经不能驳回。"))
    claim.decided_by_id, claim.decided_at = actor.id, utcnow()
    claim.decision_reason = reason.strip()
    _entry(actor, claim.program, EntryKind.RELEASE, claim.amount_fen, claim, reason.strip())
    notify("claim_rejected", claim.program.name, f"/subsidies/claims/{claim.id}",
           enterprise_id=claim.enterprise_id)
    audit.record(actor, "reject_claim", claim, region_id=claim.program.region_id,
                 reason=reason.strip())


def pay_claim(actor: User, claim: SubsidyClaim, reference: str) -> None:
    """Mark an approved claim paid with the payment's reference (exactly once)."""
    _require_official(actor, claim)
    reference = reference.strip()
    if not REFERENCE_PATTERN.match(reference):
        raise ValidationFailed({"reference": _l(
            "请填写支付凭证号（3 到 64 位字母、数字或 - _ / .）。")})
    claim = _locked_claim(claim)
    apply_step(CLAIM_TRANSITIONS, claim, "pay", _l("这笔补贴还未审批或已经支付。"))
    claim.paid_by_id, claim.paid_at, claim.payment_reference = actor.id, utcnow(), reference
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise ValidationFailed({"reference": _l("这个支付凭证号已经用过。")}) from None
    _entry(actor, claim.program, EntryKind.PAY, claim.amount_fen, claim, reference)
    notify("claim_paid", claim.program.name, f"/subsidies/claims/{claim.id}",
           enterprise_id=claim.enterprise_id)
    audit.record(actor, "pay_claim", claim, region_id=claim.program.region_id,
                 reference=reference)


def release_for_order(actor: User, order: Order) -> None:
    """The order was cancelled: release its reservation, if it has one not yet paid."""
    claim = db.session.scalar(select(SubsidyClaim).where(SubsidyClaim.order_id == order.id))
    if claim is None:
        return
    claim = _locked_claim(claim)
    if claim.status not in CLAIM_TRANSITIONS["release"][0]:
        return
    apply_step(CLAIM_TRANSITIONS, claim, "release", _l("这笔补贴已经不能释放。"))
    _entry(actor, claim.program, EntryKind.RELEASE, claim.amount_fen, claim,
           note_code=EntryNote.ORDER_CANCELLED)
    audit.record(actor, "release_claim", claim, region_id=claim.program.region_id)


@dataclass(frozen=True)
class BulkResult:
    claim_id: int
    ok: bool
    message: str


def approve_claims(actor: User, claim_ids: list[int], note: str = "") -> list[BulkResult]:
    """Approve several claims; each succeeds or fails on its own."""
    begin_write()
    results = []
    for claim_id in claim_ids:
        claim = db.session.get(SubsidyClaim, claim_id)
        if claim is None or not claim.can_view(actor):
            results.append(BulkResult(claim_id, False, str(_l("找不到这笔补贴。"))))
            continue
        try:
            with db.session.begin_nested():
                approve_claim(actor, claim, note)
        except (IllegalTransition, NotAllowed) as refusal:
            results.append(BulkResult(claim_id, False, str(refusal.message)))
        else:
            results.append(BulkResult(claim_id, True, str(_l("已批准"))))
    return results


# -- lookups ------------------------------------------------------------------------------------


def get_program(actor: User, program_id: int) -> SubsidyProgram:
    program = db.session.get(SubsidyProgram, program_id)
    if program is None or not program.can_view(actor):
        raise NotFound()
    return program


def get_claim(actor: User, claim_id: int) -> SubsidyClaim:
    claim = db.session.get(SubsidyClaim, claim_id)
    if claim is None or not claim.can_view(actor):
        raise NotFound()
    return claim


def claim_for_order(order: Order) -> SubsidyClaim | None:
    return db.session.scalar(select(SubsidyClaim).where(SubsidyClaim.order_id == order.id))


def programs_for(actor: User) -> list[SubsidyProgram]:
    """Programs a user may see: officials their region's and below (any status), admins all,
    everyone else the active and closed ones."""
    query = select(SubsidyProgram).order_by(SubsidyProgram.status, SubsidyProgram.ends_on.desc(),
                                            SubsidyProgram.id.desc())
    if actor.is_gov:
        query = query.where(SubsidyProgram.region_id.in_(region_ids_governed(actor)))
    elif not actor.is_admin:
        query = query.where(SubsidyProgram.status != ProgramStatus.DRAFT)
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class Availability:
    program: SubsidyProgram
    balance: Balance
    received_fen: int
    problem: str | None  # why the enterprise cannot use it now (None: it can)

    @property
    def left_fen(self) -> int:
        return max(0, min(self.program.per_enterprise_cap_fen - self.received_fen,
                          self.balance.remaining_fen))


def available_to(enterprise: Enterprise, on: date) -> list[Availability]:
    """The active programs of the enterprise's region: what it can still receive from each."""
    programs = candidate_programs(enterprise)
    money = balances(p.id for p in programs)
    received = received_this_year(enterprise.id, (p.id for p in programs), on.year)
    rows = [Availability(p, money[p.id], received[p.id], enterprise_problem(p, enterprise, on))
            for p in programs]
    return sorted(rows, key=lambda a: (a.problem is not None, -a.left_fen, a.program.id))


@dataclass(frozen=True)
class ClaimFilter:
    status: str = ""
    program_id: int | None = None
    region_code: str = ""
    ready_only: bool = False  # delivery accepted, waiting for approval


def claims_for(actor: User, filters: ClaimFilter = ClaimFilter(), limit: int = 200):
    """Claims an official may act on (their region and below), an admin all, an SME its own."""
    query = (select(SubsidyClaim).join(SubsidyClaim.program).join(SubsidyClaim.order)
             .order_by(SubsidyClaim.created_at.desc(), SubsidyClaim.id.desc()).limit(limit))
    if actor.is_gov:
        query = query.where(SubsidyProgram.region_id.in_(region_ids_governed(actor)))
    elif actor.enterprise_id:
        query = query.where(SubsidyClaim.enterprise_id == actor.enterprise_id)
    elif not actor.is_admin:
        return []
    if filters.status:
        query = query.where(SubsidyClaim.status == filters.status)
    if filters.program_id:
        query = query.where(SubsidyClaim.program_id == filters.program_id)
    if filters.region_code:
        region = db.session.scalar(select(Region).where(Region.code == filters.region_code))
        ids = region.subtree_ids() if region else set()
        query = query.join(SubsidyClaim.enterprise).where(Enterprise.county_id.in_(ids))
    if filters.ready_only:
        query = query.where(SubsidyClaim.status == ClaimStatus.RESERVED,
                            Order.status == OrderStatus.ACCEPTED)
    return list(db.session.scalars(query))


def ledger_of(program: SubsidyProgram) -> list[LedgerEntry]:
    """The program's movements in the order they happened (time, then id)."""
    return list(db.session.scalars(select(LedgerEntry).where(LedgerEntry.program_id == program.id)
                                   .order_by(LedgerEntry.at, LedgerEntry.id)))


@dataclass(frozen=True)
class StatementLine:
    """One ledger movement and the program's balance right after it, like a bank statement."""

    entry: LedgerEntry
    budget_fen: int
    reserved_fen: int
    paid_fen: int
    remaining_fen: int


def statement(program: SubsidyProgram) -> list[StatementLine]:
    """Every movement in time order with the running balance after it."""
    balance, lines = Balance(), []
    for entry in ledger_of(program):
        balance.add(entry.kind, entry.amount_fen)
        lines.append(StatementLine(entry, balance.budget_fen, balance.reserved_fen,
                                   balance.paid_fen, balance.remaining_fen))
    return lines


def local_day(moment: datetime) -> date:
    """The calendar day of a stored moment in China Standard Time (SQLite hands back naive
    UTC times)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL_TZ).date()


def burn_down(program: SubsidyProgram) -> list[dict]:
    """Per day with movements (China Standard Time): budget, reserved, paid and remaining at
    the end of the day."""
    days: list[dict] = []
    for line in statement(program):
        row = {"day": local_day(line.entry.at), "budget_fen": line.budget_fen,
               "reserved_fen": line.reserved_fen, "paid_fen": line.paid_fen,
               "remaining_fen": line.remaining_fen}
        if days and days[-1]["day"] == row["day"]:
            days[-1] = row
        else:
            days.append(row)
    return days
