"""Loading the demo content of :mod:`marketplace.demo` into an empty database."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from sqlalchemy import func, select

from ..extensions import db
from ..models import (
    Enterprise,
    Industry,
    Need,
    Package,
    PackageCase,
    Provider,
    Region,
    Role,
    ScenarioLevel,
    User,
)
from ..models._base import utcnow
from .accounts import hash_password
from .diagnosis import load_demo_diagnoses
from .profiles import classify_size

DEMO_PASSWORD = "zgsz-demo-2026"
# email -> what the login is, as printed at start and in the README
DEMO_LOGINS = {
    "sme@demo.zgsz.cn": "sme",
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

    def enterprise(row, leader=False):
        return Enterprise(
            name=row["name"], credit_code=row["credit_code"], employees=row["employees"],
            revenue_wan=row["revenue_wan"], county=regions[row["county_code"]],
            size_class=classify_size(row["employees"], row["revenue_wan"]),
            industry_code=row["industry_code"], cluster_code=row.get("cluster_code"),
            is_chain_leader=leader,
        )

    leaders = {row["key"]: enterprise(row, leader=True) for row in content.chain_leaders}
    smes = {}
    for row in content.smes:
        smes[row["key"]] = enterprise(row)
        smes[row["key"]].chain_leader = leaders.get(row.get("chain_leader_key"))
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
    logins = _demo_users(smes, providers, content)
    _demo_subsidies()
    _demo_deals()
    load_demo_diagnoses()
    return logins


def _demo_users(smes, providers, content) -> dict[str, str]:
    """One login per role, tied together so the demo tells one story."""
    need_counts = Counter(row["sme_key"] for row in content.needs)
    in_chain = [r["key"] for r in content.smes if r.get("chain_leader_key")]
    sme = smes[max(in_chain, key=lambda key: (need_counts[key], key))]
    platform = next(p for p in providers.values()
                    if p.lead_enterprise is sme.chain_leader and p.verified)
    county = sme.county
    password = hash_password(DEMO_PASSWORD)  # one hash: hashing is slow on purpose
    specs = [
        ("张敏（企业）", Role.SME, {"enterprise": sme}),
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
    accept, a delivery to accept."""
    from . import deals

    sme = db.session.scalar(select(User).where(User.email == "sme@demo.zgsz.cn"))
    seller = db.session.scalar(select(User).where(User.email == "provider@demo.zgsz.cn"))
    needs = db.session.scalars(select(Need).where(
        Need.enterprise_id == sme.enterprise_id, Need.status == "open").order_by(Need.id)).all()
    offers = db.session.scalars(select(Package).where(
        Package.provider_id == seller.provider_id, Package.status == "published")
        .order_by(Package.id)).all()
    quote = deals.QuoteData(price_fen=3_600_000, scope="现场调研、系统部署、三个月驻场培训与运维。",
                            delivery_days=45, valid_until=deals.today() + timedelta(days=30))
    for step, (need, package) in enumerate(zip(needs[:4], offers, strict=False)):
        request = deals.request_package(sme, need, package, "希望先来厂里看看现场。")
        if step == 0:
            continue  # waits for the provider's quote
        deals.send_quote(seller, request, quote)
        if step >= 2:  # ordered with the best subsidy reserved
            order = deals.accept_quote(sme, request, revision=1)
            deals.mark_delivered(seller, order)  # step 2 waits for the SME's acceptance
        if step == 3:  # accepted: its subsidy waits for the county's approval
            deals.accept_delivery(sme, order)
    db.session.flush()


def _demo_subsidies() -> None:
    """A program at each level of the demo officials' regions, and a draft."""
    from . import subsidies

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
        program = subsidies.create_program(officials[email], data)
        if activate:
            subsidies.change_program_status(officials[email], program, "activate")
    db.session.flush()
