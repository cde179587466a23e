"""Loading the demo content of :mod:`marketplace.demo` into an empty database."""

from __future__ import annotations

import random
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import event, func, select

from ..extensions import db
from ..models import (
    ClaimStatus,
    DealRequest,
    Enterprise,
    EntryKind,
    Industry,
    LedgerEntry,
    Need,
    NeedStatus,
    Order,
    OrderStatus,
    Package,
    PackageCase,
    ProgramStatus,
    Provider,
    Quote,
    Region,
    RequestStatus,
    Review,
    Role,
    ScenarioLevel,
    SubsidyClaim,
    SubsidyProgram,
    User,
    Visibility,
)
from ..models._base import utcnow
from . import subsidies
from .accounts import hash_password
from .diagnosis import load_demo_diagnoses
from .events import load_demo_events
from .packages import public_packages
from .profiles import classify_size
from .subsidies import LOCAL_TZ

DEMO_PASSWORD = "zgsz-demo-2026"
# email -> what the login is, as printed at start and in the README
DEMO_LOGINS = {
    "sme@demo.zgsz.cn": "sme",
    "leader@demo.zgsz.cn": "sme (chain leader, 链主)",
    "provider@demo.zgsz.cn": "provider",
    "province@demo.zgsz.cn": "gov (province)",
    "city@demo.zgsz.cn": "gov (city)",
    "county@demo.zgsz.cn": "gov (county)",
    "admin@demo.zgsz.cn": "admin",
}


def database_is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(User))


def load_demo(content) -> dict[str, str]:
    """Insert ``content`` (a :class:`marketplace.demo.DemoContent`); returns the demo logins."""
    regions = {r.code: r for r in db.session.scalars(select(Region))}
    levels = {s.code: s for s in db.session.scalars(select(ScenarioLevel))}
    industries = {i.code: i for i in db.session.scalars(select(Industry))}
    now = utcnow()

    def enterprise(row):
        # 链主 status and chain membership come later, through the chain flows (_demo_chains)
        return Enterprise(
            name=row["name"], credit_code=row["credit_code"], employees=row["employees"],
            revenue_wan=row["revenue_wan"], county=regions[row["county_code"]],
            size_class=classify_size(row["employees"], row["revenue_wan"]),
            industry_code=row["industry_code"], cluster_code=row.get("cluster_code"),
        )

    leaders = {row["key"]: enterprise(row) for row in content.chain_leaders}
    smes = {row["key"]: enterprise(row) for row in content.smes}
    providers = {}
    for row in content.providers:
        providers[row["key"]] = Provider(
            name=row["name"], credit_code=row["credit_code"], kind=row["kind"],
            tier=row["tier"], description=row["description"],
            contact_name=row["contact_name"], phone=row["phone"],
            lead_enterprise=leaders.get(row.get("lead_key")), verified=row["verified"],
            verified_at=now if row["verified"] else None,
            regions_served=[regions[c] for c in row["regions_served"]],
        )
    db.session.add_all([*leaders.values(), *smes.values(), *providers.values()])
    for position, row in enumerate(content.packages):
        published = row["status"] == "published"
        # spread publication over half a year so "newest" means something in the demo
        published_at = now - timedelta(days=(position * 37) % 180, hours=position % 24)
        db.session.add(Package(
            provider=providers[row["provider_key"]], title=row["title"],
            summary=row["summary"], description=row["description"],
            category_code=row["category"], deployment=row["deployment"],
            price_fen=row["price_fen"], price_unit=row["price_unit"],
            delivery_days=row["delivery_days"], free_trial=row["free_trial"],
            status=row["status"], published_at=published_at if published else None,
            scenario_levels=[levels[c] for c in row["scenario_levels"]],
            industries=[industries[c] for c in row["industries"]],
            cases=[PackageCase(title=c["title"], customer=c["customer"], content=c["content"],
                               sort=i) for i, c in enumerate(row["cases"])],
        ))
    for row in content.needs:
        created = now - timedelta(days=row["created_days_ago"])
        db.session.add(Need(
            enterprise=smes[row["sme_key"]], title=row["title"],
            description=row["description"], category_code=row["category"],
            scenario_level_code=row["scenario_level"], budget_min_fen=row["budget_min_fen"],
            budget_max_fen=row["budget_max_fen"],
            desired_start=date.fromisoformat(row["desired_start"]) if row["desired_start"]
            else None,
            visibility=row["visibility"], status=row["status"],
            closed_at=created if row["status"] == "closed" else None,
            created_at=created, updated_at=created,
        ))
    db.session.flush()
    logins = _demo_users(smes, providers, leaders, content)
    _demo_chains(leaders, smes, content)
    _demo_subsidies()
    _demo_deals()
    _demo_edits()
    load_demo_diagnoses()
    _demo_history()
    load_demo_events()
    return logins


def _demo_users(smes, providers, leaders, content) -> dict[str, str]:
    """One login per role, tied together so the demo tells one story: the SME supplies the
    链主 whose platform the provider runs."""
    need_counts = Counter(row["sme_key"] for row in content.needs)
    declared = {r["key"]: r["chain_leader_key"] for r in content.smes if r.get("chain_leader_key")}
    sme_key = max(declared, key=lambda key: (need_counts[key], key))
    sme, leader = smes[sme_key], leaders[declared[sme_key]]
    platform = next(p for p in providers.values()
                    if p.lead_enterprise is leader and p.verified)
    county = sme.county
    password = hash_password(DEMO_PASSWORD)  # one hash: hashing is slow on purpose
    specs = [
        ("张敏（企业）", Role.SME, {"enterprise": sme}),
        ("王总（链主）", Role.SME, {"enterprise": leader}),
        ("李工（服务商）", Role.PROVIDER, {"provider": platform}),
        ("省工信厅", Role.GOV, {"region": county.parent.parent}),
        (f"{county.parent.name}工信局", Role.GOV, {"region": county.parent}),
        (f"{county.name}工信局", Role.GOV, {"region": county}),
        ("平台管理员", Role.ADMIN, {}),
    ]
    for email, (name, role, links) in zip(DEMO_LOGINS, specs, strict=True):
        db.session.add(User(email=email, display_name=name, role=role,
                            password_hash=password, **links))
    db.session.flush()
    return DEMO_LOGINS


def _demo_deals() -> None:
    """Deals in every state the demo logins should act on: a request to quote, a quote to
    accept (and beside it, for the same need, a free trial if the provider has a package that
    offers one), a delivery to accept."""
    from . import deals

    sme = db.session.scalar(select(User).where(User.email == "sme@demo.zgsz.cn"))
    seller = db.session.scalar(select(User).where(User.email == "provider@demo.zgsz.cn"))
    needs = db.session.scalars(select(Need).where(
        Need.enterprise_id == sme.enterprise_id, Need.status == "open").order_by(Need.id)).all()
    offers = db.session.scalars(select(Package).where(
        Package.provider_id == seller.provider_id, Package.status == "published")
        .order_by(Package.id)).all()
    valid_until = deals.today() + timedelta(days=30)
    quote = deals.QuoteData(price_fen=3_600_000, scope="现场调研、系统部署、三个月驻场培训与运维。",
                            delivery_days=45, valid_until=valid_until)
    free_trial = deals.QuoteData(price_fen=0, scope="试用一个月：接入一条产线，开通看板与手机端。",
                                 delivery_days=7, valid_until=valid_until)
    for step, (need, package) in enumerate(zip(needs[:4], offers, strict=False)):
        request = deals.request_package(sme, need, package, "希望先来厂里看看现场。")
        if step == 0:
            continue  # waits for the provider's quote
        deals.send_quote(seller, request, quote)
        if step == 1:  # beside the quote, a free trial for the same need, if one is offered
            trial = next((p for p in offers if p.free_trial and p is not package), None)
            if trial is not None:
                deals.send_quote(seller, deals.request_package(sme, need, trial, "想先试用。"),
                                 free_trial)
        if step >= 2:  # ordered with the best subsidy reserved
            order = deals.accept_quote(sme, request, revision=1)
            deals.mark_delivered(seller, order)  # step 2 waits for the SME's acceptance
        if step == 3:  # accepted: its subsidy waits for the county's approval
            deals.accept_delivery(sme, order)
    db.session.flush()


def _demo_edits() -> None:
    """A few edits through the services, so that the audit trail (操作记录) shows old and new
    values at once: the SME revises a need and its profile (revenue, within its size class:
    its claims are open), the provider revises the quote waiting for the SME and a package."""
    from . import deals, needs, packages, profiles

    sme = db.session.scalar(select(User).where(User.email == "sme@demo.zgsz.cn"))
    seller = db.session.scalar(select(User).where(User.email == "provider@demo.zgsz.cn"))
    need = db.session.scalars(select(Need).where(
        Need.enterprise_id == sme.enterprise_id, Need.status == NeedStatus.OPEN)
        .order_by(Need.id.desc())).first()
    if need is not None:
        needs.update_need(sme, need, needs.NeedData(
            title=need.title, description=need.description + "另外希望接入两台空压机的能耗数据。",
            category_code=need.category_code, scenario_level_code=need.scenario_level_code,
            budget_min_fen=need.budget_min_fen,
            budget_max_fen=(need.budget_max_fen or 5_000_000) + 2_000_000,
            desired_start=need.desired_start, visibility=need.visibility))
    waiting = db.session.scalar(select(DealRequest).where(
        DealRequest.enterprise_id == sme.enterprise_id,
        DealRequest.status == RequestStatus.QUOTED).order_by(DealRequest.id))
    if waiting is not None:
        quote = waiting.quote
        deals.send_quote(seller, waiting, deals.QuoteData(
            price_fen=quote.price_fen, scope=quote.scope + "另含两次上门培训。",
            delivery_days=quote.delivery_days + 5, valid_until=quote.valid_until))
    package = db.session.scalars(select(Package).where(
        Package.provider_id == seller.provider_id, Package.status == "published")
        .order_by(Package.id)).first()
    packages.update_package(seller, package, _package_data(
        package, description=package.description + "2026 年新增：手机端可查看停机原因。"))
    enterprise = sme.enterprise
    revenue = enterprise.revenue_wan + 120
    if profiles.classify_size(enterprise.employees, revenue) is enterprise.size_class:
        profiles.save_enterprise(sme, profiles.EnterpriseData(
            name=enterprise.name, credit_code=enterprise.credit_code,
            employees=enterprise.employees, revenue_wan=revenue,
            county_code=enterprise.county.code, industry_code=enterprise.industry_code,
            cluster_code=enterprise.cluster_code))
    db.session.flush()


def _package_data(package: Package, **changes):
    from .packages import CaseData, PackageData

    values = dict(
        title=package.title, summary=package.summary, description=package.description,
        category_code=package.category_code,
        scenario_level_codes=tuple(level.code for level in package.scenario_levels),
        industry_codes=tuple(industry.code for industry in package.industries),
        deployment=package.deployment, price_fen=package.price_fen,
        price_unit=package.price_unit, delivery_days=package.delivery_days,
        free_trial=package.free_trial,
        cases=tuple(CaseData(c.title, c.customer, c.content) for c in package.cases))
    values.update(changes)
    return PackageData(**values)


def _demo_subsidies() -> None:
    """A program at each level of the demo officials' regions, and a draft."""
    today = date.today()
    year_end = date(today.year, 12, 31) if today.month < 12 else date(today.year + 1, 12, 31)
    officials = {u.email: u for u in db.session.scalars(select(User).where(User.role == Role.GOV))}
    specs = [
        ("province@demo.zgsz.cn", True, subsidies.ProgramData(
            name="江苏省中小企业数字化转型券", policy_basis="苏工信中小〔2026〕1号（示例）",
            mode="percent", rate_bp=3000, fixed_fen=0, per_order_cap_fen=50_000_00,
            per_enterprise_cap_fen=100_000_00, budget_fen=20_000_000_00,
            starts_on=date(today.year, 1, 1), ends_on=year_end,
            size_classes=["small", "micro", "medium"])),
        ("city@demo.zgsz.cn", True, subsidies.ProgramData(
            name="智改数转普惠补贴（市级）", policy_basis="市工信局〔2026〕5号（示例）",
            mode="percent", rate_bp=5000, fixed_fen=0, per_order_cap_fen=30_000_00,
            per_enterprise_cap_fen=60_000_00, budget_fen=5_000_000_00,
            starts_on=date(today.year, 1, 1), ends_on=year_end + timedelta(days=180),
            size_classes=["small", "micro"])),
        ("county@demo.zgsz.cn", True, subsidies.ProgramData(
            name="设备上云政府采购包（县级）", policy_basis="区工信局〔2026〕2号（示例）",
            mode="procurement", rate_bp=0, fixed_fen=0, per_order_cap_fen=10_000_00,
            per_enterprise_cap_fen=10_000_00, budget_fen=1_000_000_00,
            starts_on=date(today.year, 1, 1), ends_on=year_end,
            categories=["device_monitoring"])),
        ("county@demo.zgsz.cn", False, subsidies.ProgramData(
            name="质量管控专项（草稿）", policy_basis="", mode="fixed", rate_bp=0,
            fixed_fen=20_000_00, per_order_cap_fen=20_000_00, per_enterprise_cap_fen=20_000_00,
            budget_fen=400_000_00, starts_on=today, ends_on=year_end,
            categories=["quality"])),
    ]
    for email, activate, data in specs:
        # funded from its first day, before the history below reserves anything against it
        with _ledger_dated(_start_moment(data)):
            program = subsidies.create_program(officials[email], data)
        program.created_at = _start_moment(data)
        if activate:
            subsidies.change_program_status(officials[email], program, "activate")
    db.session.flush()


def _demo_history(seed: int = 2026) -> None:
    """Past deals across the province, so that dashboards, rankings and provider pages have a
    history: about a third of the other SMEs' open public needs got requests to fitting
    packages at the time they were posted; most were quoted, about half of those ordered, and
    the orders went on to every later state, with reviews and province subsidies (reserved at
    the order, paid after acceptance). Written directly with past dates, not through the
    services, which stamp everything with the present; every date is in the past, and the
    programs' budgets are dated from the day they start, before anything is reserved."""
    rng = random.Random(seed)
    now = utcnow()
    home = db.session.scalar(select(User.enterprise_id).where(User.email == "sme@demo.zgsz.cn"))
    busy = select(DealRequest.need_id)
    needs = db.session.scalars(
        select(Need).where(Need.status == NeedStatus.OPEN, Need.visibility == Visibility.PUBLIC,
                           Need.enterprise_id != home, Need.id.not_in(busy),
                           Need.created_at < now - timedelta(days=21))
        .order_by(Need.id)).all()
    by_category: dict[str, list[Package]] = {}
    for package in db.session.scalars(public_packages().order_by(Package.id)):
        by_category.setdefault(package.category_code, []).append(package)
    program = db.session.scalar(select(SubsidyProgram).join(SubsidyProgram.region).where(
        Region.parent_id.is_(None), SubsidyProgram.status == ProgramStatus.ACTIVE))
    opens = _start_moment(program) if program is not None else None
    subsidised: set[int] = set()
    for need in rng.sample(needs, len(needs) // 3):
        offers = by_category.get(need.category_code)
        if offers:
            quotes = _history_requests(rng, need, rng.sample(offers, min(len(offers), 3)))
            if quotes and rng.random() < 0.55:
                order = _history_order(rng, need, min(quotes, key=lambda q: q.price_fen), now)
                if (program is not None and order.status == OrderStatus.ACCEPTED
                        and _aware(order.created_at) >= opens
                        and need.enterprise_id not in subsidised
                        and need.enterprise.size_class_code in program.size_classes):
                    subsidised.add(need.enterprise_id)
                    _history_claim(rng, program, order, now)
    db.session.flush()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _start_moment(program: SubsidyProgram | subsidies.ProgramData) -> datetime:
    """Midnight China Standard Time of the program's first day."""
    return datetime.combine(program.starts_on, time(), LOCAL_TZ).astimezone(UTC)


@contextmanager
def _ledger_dated(moment: datetime):
    """Ledger rows written inside carry ``moment`` instead of the present (the ledger is
    append-only, so the demo dates its programs' initial budgets as they are written)."""
    def stamp(_mapper, _connection, entry: LedgerEntry) -> None:
        entry.at = moment

    event.listen(LedgerEntry, "before_insert", stamp)
    try:
        yield
    finally:
        event.remove(LedgerEntry, "before_insert", stamp)


def _history_requests(rng: random.Random, need: Need, packages: list[Package]) -> list[Quote]:
    quotes = []
    posted = need.created_at  # SQLite hands back naive UTC times
    asked = (posted if posted.tzinfo else posted.replace(tzinfo=UTC)) + timedelta(
        hours=rng.uniform(3, 96))
    for position, package in enumerate(packages[:rng.choice((1, 2, 2, 3))]):
        request = DealRequest(need=need, package=package, enterprise_id=need.enterprise_id,
                              provider_id=package.provider_id, message="想了解一下方案和报价。",
                              created_at=asked + timedelta(hours=position), updated_at=asked)
        db.session.add(request)
        roll = rng.random()
        if roll < 0.15:
            continue  # still waiting for an answer
        answered = request.created_at + timedelta(hours=rng.lognormvariate(3, 0.8))
        request.responded_at = answered
        if roll < 0.27:
            request.status, request.decline_reason = RequestStatus.DECLINED, "档期已满。"
            continue
        request.status = RequestStatus.QUOTED
        quote = Quote(request=request, price_fen=int(package.price_fen * rng.uniform(0.8, 1.1)),
                      scope="按方案包标准范围实施，含培训。", delivery_days=package.delivery_days,
                      valid_until=(answered + timedelta(days=30)).date(), created_at=answered,
                      updated_at=answered)
        db.session.add(quote)
        quotes.append(quote)
    return quotes


def _history_order(rng: random.Random, need: Need, quote: Quote, now) -> Order:
    chosen = quote.request
    placed = quote.created_at + timedelta(days=rng.uniform(1, 6))
    for other in need.requests:
        if other is not chosen and other.status in RequestStatus.ACTIVE:
            other.status = RequestStatus.CLOSED
    chosen.status = RequestStatus.ORDERED
    order = Order(need=need, request=chosen, package_id=chosen.package_id,
                  enterprise_id=need.enterprise_id, provider_id=chosen.provider_id,
                  amount_fen=quote.price_fen, scope=quote.scope,
                  delivery_days=quote.delivery_days,
                  due_date=(placed + timedelta(days=quote.delivery_days)).date(),
                  created_at=placed, updated_at=placed)
    db.session.add(order)
    need.status = NeedStatus.IN_PROGRESS
    roll = rng.random()
    delivered = placed + timedelta(days=quote.delivery_days * rng.uniform(0.6, 1.3))
    if roll < 0.05:
        order.status, order.cancel_reason, order.cancelled_at = (
            OrderStatus.CANCELLED, "企业预算调整，双方协商取消。",
            min(placed + timedelta(days=2), now))
        need.status = NeedStatus.OPEN
    elif roll < 0.25 or delivered > now:
        order.status = OrderStatus.PLACED
    else:
        order.delivered_at = delivered
        order.status = OrderStatus.ACCEPTED
        if roll < 0.32:
            order.status, order.dispute_reason = OrderStatus.DISPUTED, "看板数据与现场不一致。"
        elif roll < 0.40:
            order.status = OrderStatus.DELIVERED
        else:
            order.accepted_at = min(delivered + timedelta(days=rng.uniform(1, 7)), now)
            need.status, need.closed_at = NeedStatus.CLOSED, order.accepted_at
            if rng.random() < 0.7:
                db.session.add(Review(order=order, provider_id=order.provider_id,
                                      enterprise_id=order.enterprise_id,
                                      rating=rng.choice((5, 5, 5, 4, 4, 4, 3, 2)),
                                      text=rng.choice(HISTORY_REVIEWS),
                                      created_at=order.accepted_at))
    return order


HISTORY_REVIEWS = (
    "上线很快，车间主任也学得会。", "数据准了，报表省了不少人工。",
    "服务响应及时，后续还要再合作。", "功能够用，个别报表还需要定制。", "实施周期比预期长了一些。",
)


def _history_claim(rng: random.Random, program: SubsidyProgram, order: Order, now) -> None:
    """A province claim for an accepted order: reserved when it was placed, most of them
    approved and paid some days after the acceptance (unless that day is still to come)."""
    from .subsidies import Eligibility, subsidy_amount

    amount = subsidy_amount(program, order.amount_fen, 10**15, program.per_enterprise_cap_fen)
    claim = SubsidyClaim(program=program, order=order, enterprise_id=order.enterprise_id,
                         year=order.created_at.year, order_amount_fen=order.amount_fen,
                         amount_fen=amount, created_at=order.created_at,
                         eligibility=Eligibility.of(order.need.enterprise,
                                                    order.request.package).to_json())
    db.session.add(claim)
    db.session.flush()
    db.session.add(LedgerEntry(program_id=program.id, claim_id=claim.id, kind=EntryKind.RESERVE,
                               amount_fen=amount, at=order.created_at))
    paid = order.accepted_at + timedelta(days=rng.uniform(3, 20))
    if rng.random() < 0.7 and paid <= now:
        claim.status, claim.decided_at, claim.paid_at = ClaimStatus.PAID, paid, paid
        claim.payment_reference = f"JS-{paid:%Y%m%d}-{order.id:05d}"
        db.session.add(LedgerEntry(program_id=program.id, claim_id=claim.id, kind=EntryKind.PAY,
                                   amount_fen=amount, at=paid,
                                   note=claim.payment_reference))


def _demo_chains(leaders: dict, smes: dict, content) -> None:
    """链式转型 in every state: the demo 链主 applied and the province approved it (through the
    services), as did the other leaders but one, whose application waits; an SME's application
    was rejected. Declared suppliers of approved leaders are confirmed members; in the demo
    chain, the demo SME was invited and confirmed, one supplier left (with its reason), one
    invitation and one join request wait."""
    from ..models import ChainLeaderApplication, ChainMembership, LeaderStatus, MembershipStatus
    from . import chains

    users = {u.email: u for u in db.session.scalars(
        select(User).where(User.email.in_(list(DEMO_LOGINS))))}
    lead_user, sme_user = users["leader@demo.zgsz.cn"], users["sme@demo.zgsz.cn"]
    province, city = users["province@demo.zgsz.cn"], users["city@demo.zgsz.cn"]
    home, now = lead_user.enterprise, utcnow()
    declared: dict[str, list[Enterprise]] = {key: [] for key in leaders}
    for row in content.smes:
        if row.get("chain_leader_key"):
            declared[row["chain_leader_key"]].append(smes[row["key"]])
    home_key = next(k for k, e in leaders.items() if e is home)
    waiting_key = min((k for k in leaders if k != home_key), key=lambda k: (len(declared[k]), k))
    platform = db.session.scalar(select(Provider).where(Provider.lead_enterprise_id == home.id,
                                                        Provider.verified))
    application = chains.apply_for_leader(lead_user, chains.LeaderEvidence(
        revenue_wan=home.revenue_wan, supplier_count=len(declared[home_key]) + 40,
        platform_id=platform.id if platform else None,
        evidence="本集团为省内主机厂，年采购额超十亿元，配套供应商遍布苏南；自建工业互联网平台，"
                 "已带动二十余家配套企业上平台。"))
    chains.decide_application(province, application, True,
                              "营业收入、配套企业数量和平台建设情况符合链主条件。")
    for key, leader in leaders.items():
        if key == home_key:
            continue
        waiting = key == waiting_key
        db.session.add(ChainLeaderApplication(
            enterprise=leader, revenue_wan=leader.revenue_wan,
            supplier_count=len(declared[key]) + 30,
            evidence="龙头企业，带动本地配套企业数字化转型，使用省级双跨平台。",
            status=LeaderStatus.PENDING if waiting else LeaderStatus.APPROVED,
            decided_by=None if waiting else province, decided_at=None if waiting else now,
            reason="" if waiting else "材料齐全，符合链主条件。"))
        leader.is_chain_leader = not waiting
        for supplier in [] if waiting else declared[key]:
            _confirmed(ChainMembership, leader, supplier, now - timedelta(days=60))
    in_city = city.region_id  # the rejection is the demo city's; the rest anywhere
    unchained = sorted((e for e in smes.values() if all(e not in v for v in declared.values())),
                       key=lambda e: (e.county.parent_id == in_city, e.id))
    rejected = unchained.pop()
    db.session.add(ChainLeaderApplication(
        enterprise=rejected, revenue_wan=rejected.revenue_wan, supplier_count=3,
        evidence="我们有三家长期合作的外协加工厂。", status=LeaderStatus.REJECTED,
        decided_by=city, decided_at=now,
        reason="配套供应商数量和营业收入未达到链主标准，可补充材料后重新申请。"))
    db.session.flush()
    members = [s for s in declared[home_key] if s is not sme_user.enterprise]
    leaver = members.pop()
    for supplier in members:
        _confirmed(ChainMembership, home, supplier, now - timedelta(days=45), lead_user)
    left = _confirmed(ChainMembership, home, leaver, now - timedelta(days=120), lead_user)
    left.status, left.ended_at, left.end_reason = (MembershipStatus.ENDED,
                                                    now - timedelta(days=10),
                                                    "主要产品转为其他主机厂配套，双方协商退出。")
    leaver.chain_leader = None
    db.session.flush()
    invited = chains.invite_supplier(lead_user, sme_user.enterprise.credit_code,
                                     "欢迎加入本集团产业链，共用集团工业互联网平台。")
    chains.change_membership(sme_user, invited, "accept")
    chains.invite_supplier(lead_user, unchained.pop().credit_code,
                           "我们正在组织配套企业上平台，欢迎加入。")
    db.session.add(ChainMembership(leader=home, supplier=unchained.pop(),
                                   status=MembershipStatus.REQUESTED,
                                   note="我厂为贵集团二级供应商，申请加入产业链。"))
    db.session.flush()


def _confirmed(model, leader: Enterprise, supplier: Enterprise, joined, asked_by=None):
    """A confirmed membership as the flow leaves it (the demo's suppliers have no logins)."""
    membership = model(leader=leader, supplier=supplier, status="confirmed", asked_by=asked_by,
                       note="", answered_at=joined, joined_at=joined)
    supplier.chain_leader = leader
    db.session.add(membership)
    return membership
