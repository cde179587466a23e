"""Volume seeding for the benchmarks: a whole marketplace, fast and the same every time.

:func:`seed_volume` fills an *empty, migrated* database (reference data present, no accounts,
companies, packages or needs; anything else is refused) with N packages, N needs and N deals
and everything they hang on: enterprises in all 95 counties (about one per seven needs, valid
credit codes, chain leaders and their SMEs), providers (mostly verified, every tier, regions
served, chain-leader platforms), deals in every state with quotes, orders, reviews and the
recommender's feedback, subsidy programs at province, city and county level with their claims
and ledger, and a few logins per role with :data:`BENCH_PASSWORD`.

Rows are planned in memory from one ``random.Random(seed)`` and a fixed ``now`` (the same seed
and ``now`` give the same rows, see :func:`build_plan`), then written with PostgreSQL ``COPY``
(SQLite: one executemany per table) in one transaction. The rows obey what the services would
have made: one live order per need, need statuses that follow their orders, one claim per order
from the best program (:func:`marketplace.services.subsidies.subsidy_amount`, 从优、就高、不重复),
budgets and per-enterprise caps never exceeded, balances only from ledger entries.

No change-log rows are written: after seeding, :func:`index_and_fit` rebuilds the search index
from the database and fits and saves the recommender, which is what a starting process (and
every gunicorn worker) then loads.
"""

from __future__ import annotations

import json
import time
from bisect import bisect
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from random import Random
from types import SimpleNamespace

from sqlalchemy import JSON, func, inspect, select, text

from matching.codes import TIER_RANK

from .. import creditcode, milestones
from ..demo.content import (
    NEED_BANKS,
    PACKAGE_BANKS,
    SME_CITY_COUNTS,
    SME_INDUSTRY_WEIGHTS,
    size_class_of,
)
from ..extensions import db
from ..models import Enterprise, Need, Package, Provider, Region, User
from ..models._base import utcnow
from ..services import audit
from ..services.accounts import hash_password
from ..services.subsidies import subsidy_amount
from . import words

BENCH_PASSWORD = "zgsz-bench-2026"
BENCH_DOMAIN = "bench.zgsz.cn"
HISTORY_DAYS = 730  # needs and packages spread over 24 months
CATEGORY_WEIGHTS = {
    "device_monitoring": 14, "production_mgmt": 14, "quality": 13, "energy": 9,
    "warehouse_logistics": 9, "business_mgmt": 7, "marketing_crm": 5, "supply_chain": 7,
    "rnd_design": 5, "safety": 6, "lowcode_integration": 4, "digital_twin": 4,
    "data_security": 3,
}  # fmt: skip
TIER_WEIGHTS = {"enterprise": 30, "industry": 20, "regional": 25, "provincial_cross": 14,
                "national_specialized": 6, "national_cross": 5}
ORDER_WEIGHTS = {"placed": 18, "delivered": 12, "disputed": 5, "accepted": 50, "cancelled": 15}
OPEN_REQUEST_WEIGHTS = {"pending": 35, "quoted": 35, "declined": 18, "withdrawn": 12}
CLAIM_WEIGHTS_ACCEPTED = {"paid": 50, "approved": 25, "reserved": 18, "rejected": 7}
HOLDING = ("reserved", "approved", "paid")
# The insert order: every table after those it points to.
TABLES = (
    "enterprises", "chain_leader_applications", "chain_memberships", "providers",
    "provider_regions", "users", "packages",
    "package_scenario_levels", "package_industries", "needs", "deal_requests", "quotes",
    "orders", "reviews", "match_feedback", "subsidy_programs", "subsidy_claims",
    "subsidy_ledger",
)
BUSINESS_MODELS = (User, Enterprise, Provider, Package, Need)


class SeedRefused(RuntimeError):
    """The database is not an empty, migrated one."""


@dataclass(frozen=True)
class Volume:
    """How much to seed. ``users_per_role`` SME and provider logins (officials: the province,
    every city and one county per city; two admins)."""

    packages: int = 20_000
    needs: int = 100_000
    deals: int = 50_000
    seed: int = 2026
    users_per_role: int = 16


@dataclass
class Plan:
    """The planned rows, by table (each row a dict with the same keys), and the logins."""

    tables: dict[str, list[dict]] = field(default_factory=lambda: {t: [] for t in TABLES})
    logins: dict[str, str] = field(default_factory=dict)  # e-mail -> role

    def add(self, table: str, **row) -> dict:
        self.tables[table].append(row)
        return row

    def next_id(self, table: str) -> int:
        return len(self.tables[table]) + 1


@dataclass(frozen=True)
class SeedReport:
    counts: dict[str, int]
    logins: dict[str, str]
    seconds: float


# -- reference data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Refs:
    """The reference data the plan points at, read once from the database."""

    region_ids: dict[str, int]  # code -> id
    parents: dict[str, str]  # code -> parent code
    names: dict[str, str]  # code -> name
    counties: tuple[str, ...]
    cities: tuple[str, ...]
    province: str
    cluster_industries: dict[str, tuple[str, ...]]

    def chain(self, county: str) -> tuple[str, ...]:
        """County, city, province codes."""
        codes = [county]
        while codes[-1] in self.parents:
            codes.append(self.parents[codes[-1]])
        return tuple(codes)


def load_refs() -> Refs:
    from ..models import Cluster

    regions = db.session.scalars(select(Region).order_by(Region.sort, Region.code)).all()
    by_id = {r.id: r for r in regions}
    parents = {r.code: by_id[r.parent_id].code for r in regions if r.parent_id}
    clusters = {c.code: tuple(sorted(i.code for i in c.industries))
                for c in db.session.scalars(select(Cluster))}
    return Refs(region_ids={r.code: r.id for r in regions}, parents=parents,
                names={r.code: r.name for r in regions},
                counties=tuple(r.code for r in regions if r.level == "county"),
                cities=tuple(r.code for r in regions if r.level == "city"),
                province=next(r.code for r in regions if r.level == "province"),
                cluster_industries=clusters)


def check_empty() -> None:
    """Refuse anything but an empty database with the schema and reference data."""
    inspector = inspect(db.engine)
    if not inspector.has_table("alembic_version") or not inspector.has_table("needs"):
        raise SeedRefused("the database has no schema: run `flask --app marketplace db upgrade`")
    if db.session.scalar(select(func.count()).select_from(Region)) == 0:
        raise SeedRefused("no reference data: run `flask --app marketplace seed refdata`")
    for model in BUSINESS_MODELS:
        if db.session.scalar(select(func.count()).select_from(model)):
            raise SeedRefused(f"the database is not empty ({model.__tablename__} has rows); "
                              "seed a fresh database")


# -- planning ---------------------------------------------------------------------------------


def _weighted(rng: Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class _Picker:
    """Fast weighted choice among many items (cumulative weights, bisect)."""

    def __init__(self, items: list, weights: list[float]):
        self.items, self.cumulative = items, list(accumulate(weights))

    def pick(self, rng: Random):
        return self.items[bisect(self.cumulative, rng.random() * self.cumulative[-1])]


class Planner:
    """Plans every row of a volume; ``plan()`` returns the :class:`Plan`."""

    def __init__(self, volume: Volume, refs: Refs, now: datetime, password_hash: str):
        self.volume, self.refs, self.now = volume, refs, now
        self.rng = Random(volume.seed)
        self.password_hash = password_hash
        self.out = Plan()
        self.codes: set[str] = set()
        self.enterprises: list[dict] = []  # planned rows, index = id - 1
        self.providers: list[dict] = []
        self.packages: list[dict] = []
        self.needs: list[dict] = []
        self.served: dict[int, tuple[str, ...]] = {}  # provider id -> region codes
        self.package_levels: dict[int, tuple[str, ...]] = {}
        self.officials: dict[str, int] = {}  # region code -> user id
        self.sme_users: dict[int, int] = {}  # enterprise id -> user id
        self.keep_open: set[int] = set()  # need ids the load test's SMEs keep open

    def plan(self) -> Plan:
        self.plan_enterprises()
        self.plan_chains()
        self.plan_providers()
        self.plan_packages()
        self.plan_users()
        self.plan_needs()
        deals = DealPlanner(self)
        deals.plan()
        SubsidyPlanner(self, deals.orders).plan()
        return self.out

    def ago(self, max_days: float, min_days: float = 0.0) -> datetime:
        """A moment in the past, more often recent (the marketplace grows)."""
        age = min_days + (max_days - min_days) * self.rng.random() ** 1.4
        return self.now - timedelta(days=age, seconds=self.rng.randrange(3600))

    def credit_code(self, region: str) -> str:
        while True:
            code = creditcode.generate(self.rng, region[:4] + "00")
            if code not in self.codes:
                self.codes.add(code)
                return code

    # -- companies ----------------------------------------------------------------------------

    def plan_enterprises(self) -> None:
        rng, refs = self.rng, self.refs
        n_smes = max(len(refs.counties), round(self.volume.needs / 7))
        n_leaders = self.n_leaders = max(3, min(30, n_smes // 500))
        counties = list(refs.counties)
        rng.shuffle(counties)
        city_picker = _Picker(list(SME_CITY_COUNTS), list(SME_CITY_COUNTS.values()))
        by_city = {c: [k for k in refs.counties if refs.parents[k] == c] for c in refs.cities}
        for i in range(n_leaders):
            self._enterprise(rng.choice(counties), leader=True, index=i)
        for i in range(n_smes):
            county = counties[i] if i < len(counties) else rng.choice(
                by_city[city_picker.pick(rng)])
            self._enterprise(county, leader=False, index=i)

    def _enterprise(self, county: str, leader: bool, index: int) -> None:
        rng = self.rng
        industry = _weighted(rng, SME_INDUSTRY_WEIGHTS)
        clusters = [c for c, inds in self.refs.cluster_industries.items() if industry in inds]
        cluster = rng.choice(clusters) if clusters and (leader or rng.random() < 0.4) else None
        if leader:
            employees, revenue = rng.randrange(1200, 12000, 10), rng.randrange(60000, 900000, 100)
        else:
            employees, revenue = _sme_size(rng)
        chain_leader = None
        if not leader and rng.random() < 0.25:
            chain_leader = rng.randrange(1, self.n_leaders + 1)
        self.enterprises.append(self.out.add(
            "enterprises", id=len(self.enterprises) + 1,
            name=words.enterprise_name(rng, self.refs.names[county], industry),
            credit_code=self.credit_code(county), employees=employees, revenue_wan=revenue,
            size_class_code=size_class_of(employees, revenue),
            county_id=self.refs.region_ids[county], industry_code=industry,
            cluster_code=cluster, chain_leader_id=chain_leader, is_chain_leader=leader,
            created_at=self.ago(HISTORY_DAYS + 30, HISTORY_DAYS - 60), updated_at=self.now,
            _county=county))

    def plan_chains(self) -> None:
        """链式转型 as its flows leave it (services.chains): each leader with an approved
        application, each SME of a chain with a confirmed membership."""
        suppliers = Counter(e["chain_leader_id"] for e in self.enterprises)
        for e in self.enterprises:
            decided = min(self.now, e["created_at"] + timedelta(days=30))
            if e["is_chain_leader"]:
                self.out.add(
                    "chain_leader_applications", id=self.out.next_id("chain_leader_applications"),
                    enterprise_id=e["id"], status="approved", revenue_wan=e["revenue_wan"],
                    supplier_count=suppliers[e["id"]], platform_id=None, evidence="",
                    designated=False, submitted_by_id=None, decided_by_id=None,
                    decided_at=decided, reason="", revoked_by_id=None, revoked_at=None,
                    revoke_reason="", created_at=e["created_at"], updated_at=decided)
            elif e["chain_leader_id"]:
                self.out.add(
                    "chain_memberships", id=self.out.next_id("chain_memberships"),
                    leader_id=e["chain_leader_id"], supplier_id=e["id"], status="confirmed",
                    note="", asked_by_id=None, answered_by_id=None, answered_at=decided,
                    answer_reason="", joined_at=decided, ended_by_id=None, ended_at=None,
                    end_reason="", created_at=e["created_at"], updated_at=decided)

    def plan_providers(self) -> None:
        rng = self.rng
        leaders = [e for e in self.enterprises if e["is_chain_leader"]]
        n_providers = max(len(leaders) + 10, self.volume.packages // 25)
        for i in range(n_providers):
            leader = leaders[i] if i < len(leaders) else None
            city = self.refs.parents[leader["_county"]] if leader else rng.choice(self.refs.cities)
            name, brand = words.provider_name(rng, self.refs.names[city])
            verified = leader is not None or rng.random() < 0.9
            standing = "normal" if leader else _weighted(
                rng, {"normal": 92, "preferred": 5, "eliminated": 3})
            tier = (rng.choice(("industry", "provincial_cross", "national_cross")) if leader
                    else _weighted(rng, TIER_WEIGHTS))
            created = self.ago(HISTORY_DAYS + 60, HISTORY_DAYS - 30)
            self.providers.append(self.out.add(
                "providers", id=i + 1, name=name, credit_code=self.credit_code(city),
                kind="platform" if leader else rng.choice(("platform", "service", "software")),
                tier=tier, description=f"{name}专注中小制造企业“智改数转”，坚持小快轻准。",
                contact_name=rng.choice("王李张刘陈杨") + rng.choice("伟芳敏静强磊"),
                phone="1" + "".join(rng.choice("0123456789") for _ in range(10)),
                lead_enterprise_id=leader["id"] if leader else None, verified=verified,
                verified_at=created + timedelta(days=3) if verified else None,
                standing=standing, created_at=created, updated_at=self.now,
                _brand=brand, _city=city, _focus=rng.sample(list(CATEGORY_WEIGHTS), 3)))
            self._regions_served(i + 1, city)

    def _regions_served(self, provider_id: int, city: str) -> None:
        rng, refs = self.rng, self.refs
        shape = rng.random()
        if shape < 0.2:
            codes: tuple[str, ...] = ()  # everywhere
        elif shape < 0.35:
            codes = (refs.province,)
        elif shape < 0.85:
            others = [c for c in refs.cities if c != city]
            codes = (city, *rng.sample(others, rng.randint(0, 2)))
        else:
            mine = [k for k in refs.counties if refs.parents[k] == city]
            codes = tuple(rng.sample(mine, min(len(mine), rng.randint(1, 3))))
        self.served[provider_id] = codes
        for code in codes:
            self.out.add("provider_regions", provider_id=provider_id,
                         region_id=refs.region_ids[code])

    def plan_packages(self) -> None:
        rng = self.rng
        weights = [rng.lognormvariate(0, 1) for _ in self.providers]
        picker = _Picker(self.providers, weights)
        for i in range(self.volume.packages):
            provider = self.providers[i] if i < len(self.providers) else picker.pick(rng)
            category = (rng.choice(provider["_focus"]) if rng.random() < 0.8
                        else _weighted(rng, CATEGORY_WEIGHTS))
            self._package(i + 1, provider, category)

    def _package(self, package_id: int, provider: dict, category: str) -> None:
        rng = self.rng
        offer = rng.choice(PACKAGE_BANKS[category]["offerings"])
        deployment, unit = rng.choice(offer["deploy"]), offer["unit"]
        price_fen = words.nice_yuan(rng.uniform(*offer["price"])) * 100
        days = rng.randint(*offer["days"])
        title, summary, description = words.package_text(
            rng, category, offer, provider["_brand"], deployment, days, price_fen, unit,
            self.refs.names[provider["_city"]])
        status = _weighted(rng, {"published": 85, "draft": 10, "archived": 5})
        created = self.ago(HISTORY_DAYS)
        published = created + timedelta(hours=rng.randint(1, 72)) if status != "draft" else None
        self.packages.append(self.out.add(
            "packages", id=package_id, provider_id=provider["id"], title=title, summary=summary,
            description=description, category_code=category, deployment=deployment,
            price_fen=price_fen, price_unit=unit, delivery_days=days,
            free_trial=rng.random() < 0.3, status=status, published_at=published,
            created_at=created, updated_at=published or created))
        levels = offer["levels"]
        start = rng.randrange(len(levels))
        chosen = levels[start:start + rng.randint(1, 3)]
        self.package_levels[package_id] = tuple(chosen)
        for level in chosen:
            self.out.add("package_scenario_levels", package_id=package_id,
                         scenario_level_code=level)
        industries = offer["industries"] or (
            () if rng.random() < 0.6 else tuple(rng.sample(list(SME_INDUSTRY_WEIGHTS), 2)))
        for industry in sorted(set(industries)):
            self.out.add("package_industries", package_id=package_id, industry_code=industry)

    def is_public(self, package: dict) -> bool:
        provider = self.providers[package["provider_id"] - 1]
        return (package["status"] == "published" and provider["verified"]
                and provider["standing"] != "eliminated")

    # -- logins -------------------------------------------------------------------------------

    def plan_users(self) -> None:
        k = self.volume.users_per_role
        smes = [e for e in self.enterprises if not e["is_chain_leader"]]
        for n, enterprise in enumerate(smes[:k], 1):
            user = self._user(f"sme-{n:02d}", "sme", f"企业用户{n}", enterprise_id=enterprise["id"])
            self.sme_users[enterprise["id"]] = user
        with_packages = {p["provider_id"] for p in self.packages if self.is_public(p)}
        sellers = [p for p in self.providers if p["id"] in with_packages]
        sellers.sort(key=lambda p: (p["lead_enterprise_id"] is None, p["id"]))
        for n, provider in enumerate(sellers[:k], 1):
            self._user(f"provider-{n:02d}", "provider", f"服务商用户{n}",
                       provider_id=provider["id"])
        regions = [self.refs.province, *self.refs.cities]
        regions += [next(c for c in self.refs.counties if self.refs.parents[c] == city)
                    for city in self.refs.cities]
        for code in regions:
            self.officials[code] = self._user(f"gov-{code}", "gov",
                                              f"{self.refs.names[code]}工信部门",
                                              region_id=self.refs.region_ids[code])
        for n in (1, 2):
            self._user(f"admin-{n:02d}", "admin", f"平台管理员{n}")

    def _user(self, name: str, role: str, display: str, **links) -> int:
        user_id = self.out.next_id("users")
        email = f"{name}@{BENCH_DOMAIN}"
        self.out.add("users", id=user_id, email=email, password_hash=self.password_hash,
                     display_name=display, role=role, enterprise_id=links.get("enterprise_id"),
                     provider_id=links.get("provider_id"), region_id=links.get("region_id"),
                     active=True, session_token=f"{self.rng.getrandbits(128):032x}",
                     created_at=self.now,
                     updated_at=self.now)
        self.out.logins[email] = role
        return user_id

    # -- needs --------------------------------------------------------------------------------

    def plan_needs(self) -> None:
        rng = self.rng
        smes = [e for e in self.enterprises if not e["is_chain_leader"]]
        picker = _Picker(smes, [rng.paretovariate(1.5) for _ in smes])
        bench = [e for e in smes if e["id"] in self.sme_users]
        leaders = {e["id"]: e["name"][:4] for e in self.enterprises if e["is_chain_leader"]}
        for i in range(self.volume.needs):
            if i < 3 * len(bench):  # the load test's SMEs: three needs each, two kept open
                enterprise = bench[i % len(bench)]
            elif i - 3 * len(bench) < len(smes):
                enterprise = smes[i - 3 * len(bench)]
            else:
                enterprise = picker.pick(rng)
            self._need(i + 1, enterprise, leaders.get(enterprise["chain_leader_id"], ""))
            if i < 2 * len(bench):
                self.keep_open.add(i + 1)

    def _need(self, need_id: int, enterprise: dict, leader: str) -> None:
        rng = self.rng
        category = ("supply_chain" if enterprise["chain_leader_id"] and rng.random() < 0.2
                    else _weighted(rng, CATEGORY_WEIGHTS))
        level = _weighted(rng, NEED_BANKS[category]["levels"])
        low, high = _budget(rng, level)
        ctx = words.need_context(rng, enterprise["industry_code"],
                                 self.refs.names[enterprise["_county"]], leader)
        title, description = words.need_text(rng, category, level, ctx, high)
        created = self.ago(HISTORY_DAYS)
        self.needs.append(self.out.add(
            "needs", id=need_id, enterprise_id=enterprise["id"],
            author_id=self.sme_users.get(enterprise["id"]), title=title,
            description=description, category_code=category, scenario_level_code=level,
            budget_min_fen=low, budget_max_fen=high,
            desired_start=(created + timedelta(days=rng.randint(30, 300))).date(),
            visibility="public" if rng.random() < 0.85 else "private", status="open",
            closed_at=None, created_at=created, updated_at=created))


def _sme_size(rng: Random) -> tuple[int, int]:
    target = _weighted(rng, {"medium": 18, "small": 47, "micro": 33, "large": 2})
    if target == "large":
        return rng.randint(1000, 3000), rng.randrange(40000, 90000, 100)
    if target == "medium":
        return rng.randint(300, 950), rng.randrange(2500, 38000, 100)
    if target == "small":
        return rng.randint(20, 290), rng.randrange(300, 9000, 50)
    return rng.randint(3, 19), rng.randrange(50, 1500, 10)


BUDGET_STEPS = (5000, 8000, 10000, 20000, 30000, 50000, 80000, 100000, 150000, 200000,
                300000, 500000)
LEVEL_SCALE = {"device": 0, "cell": 1, "line": 2, "workshop": 3, "factory": 3}


def _budget(rng: Random, level: str) -> tuple[int | None, int | None]:
    scale = LEVEL_SCALE[level]
    lo = rng.randint(max(0, scale * 2 - 2), min(len(BUDGET_STEPS) - 3, scale * 2 + 3))
    hi = rng.randint(lo + 1, min(len(BUDGET_STEPS) - 1, lo + 3))
    shape = rng.random()
    low, high = BUDGET_STEPS[lo] * 100, BUDGET_STEPS[hi] * 100
    return (None, None) if shape < 0.15 else (None, high) if shape < 0.3 else (low, high)


# -- deals --------------------------------------------------------------------------------------


class DealPlanner:
    """Requests, quotes, orders, reviews and feedback, as the deal services would leave them."""

    def __init__(self, planner: Planner):
        self.p = planner
        self.rng = planner.rng
        self.orders: list[dict] = []
        self.public_by_category: dict[str, list[dict]] = {}
        for package in planner.packages:
            if planner.is_public(package):
                self.public_by_category.setdefault(package["category_code"], []).append(package)

    def plan(self) -> None:
        per_need = self._requests_per_need(self.p.volume.deals)
        for need in self.p.needs:
            if need["id"] in per_need:
                self._need_deals(need, per_need[need["id"]])
        self.by_need: dict[int, list[dict]] = {}
        for request in self.p.out.tables["deal_requests"]:
            self.by_need.setdefault(request["need_id"], []).append(request)
        for need in self.p.needs:
            if need["status"] == "open" and need["id"] not in self.p.keep_open \
                    and self.rng.random() < 0.08:
                self._close_need(need)

    def _requests_per_need(self, wanted: int) -> dict[int, int]:
        """How many requests each requested need gets: about 1.4 on average, at most 5."""
        candidates = [n for n in self.p.needs if n["id"] not in self.p.keep_open
                      and self.public_by_category.get(n["category_code"])]
        if not wanted or not candidates:
            return {}
        chosen = self.rng.sample(candidates, min(len(candidates), max(1, round(wanted / 1.4))))
        room = {n["id"]: min(5, len(self.public_by_category[n["category_code"]])) - 1
                for n in chosen}
        per_need = {n["id"]: 1 for n in chosen}
        spare = min(wanted - len(chosen), sum(room.values()))
        ids = sorted(per_need)
        while spare > 0:
            need_id = self.rng.choice(ids)
            if room[need_id]:
                room[need_id] -= 1
                per_need[need_id] += 1
                spare -= 1
        return per_need

    def at(self, moment: datetime, stage: int) -> datetime:
        """``moment``, but never in the future; later stages stay later (``stage`` 0–5)."""
        return min(moment, self.p.now - timedelta(minutes=10 * (6 - stage)))

    def _need_deals(self, need: dict, count: int) -> None:
        rng = self.rng
        packages = rng.sample(self.public_by_category[need["category_code"]], count)
        requests = [self._request(need, package) for package in packages]
        if rng.random() < 0.45:
            order = self._order(need, requests[0], _weighted(rng, ORDER_WEIGHTS))
            if order["status"] == "cancelled" and len(requests) > 1 and rng.random() < 0.4:
                live = {k: v for k, v in ORDER_WEIGHTS.items() if k != "cancelled"}
                order = self._order(need, requests[1], _weighted(rng, live))
            live_order = order if order["status"] != "cancelled" else None
        else:
            live_order = None
        for request in requests:
            if request["status"] != "ordered":
                self._settle_request(request, live_order)
        if live_order is not None:
            self._follow_order(need, live_order)

    def _request(self, need: dict, package: dict) -> dict:
        rng = self.rng
        created = self.at(need["created_at"] + timedelta(hours=rng.uniform(2, 360)), 0)
        request = self.p.out.add(
            "deal_requests", id=self.p.out.next_id("deal_requests"), need_id=need["id"],
            package_id=package["id"], enterprise_id=need["enterprise_id"],
            provider_id=package["provider_id"], requester_id=need["author_id"],
            message=rng.choice(("希望先来厂里看看现场。", "请尽快联系。", "")),
            status="pending", responded_at=None, decline_reason="", created_at=created,
            updated_at=created, _package=package)
        self.p.out.add("match_feedback", id=self.p.out.next_id("match_feedback"),
                       need_id=need["id"], package_id=package["id"], kind="request",
                       created_at=created)
        return request

    def _quote(self, request: dict) -> dict:
        rng = self.rng
        package = request["_package"]
        created = self.at(request["created_at"] + timedelta(hours=rng.uniform(1, 96)), 1)
        request["responded_at"] = request["updated_at"] = created
        price = words.nice_yuan(package["price_fen"] / 100 * rng.uniform(0.8, 1.6)) * 100
        return self.p.out.add(
            "quotes", id=self.p.out.next_id("quotes"), request_id=request["id"],
            price_fen=price, scope="现场调研、系统部署与培训，上线后一年运维。",
            delivery_days=package["delivery_days"],
            valid_until=(created + timedelta(days=30)).date(), revision=rng.choice((1, 1, 2)),
            created_at=created, updated_at=created)

    def _order(self, need: dict, request: dict, status: str) -> dict:
        rng = self.rng
        quote = self._quote(request)
        request["status"] = "ordered"
        created = self.at(quote["created_at"] + timedelta(hours=rng.uniform(1, 144)), 2)
        days = quote["delivery_days"]
        order = self.p.out.add(
            "orders", id=self.p.out.next_id("orders"), need_id=need["id"],
            request_id=request["id"], package_id=request["package_id"],
            enterprise_id=request["enterprise_id"], provider_id=request["provider_id"],
            amount_fen=quote["price_fen"], scope=quote["scope"], delivery_days=days,
            due_date=(created + timedelta(days=days)).date(), status=status, delivered_at=None,
            accepted_at=None, dispute_reason="", cancel_reason="", cancelled_at=None,
            free_trial=quote["price_fen"] == 0, created_at=created, updated_at=created,
            _package=request["_package"])
        self.p.out.add("match_feedback", id=self.p.out.next_id("match_feedback"),
                       need_id=need["id"], package_id=request["package_id"], kind="order",
                       created_at=created)
        self._order_steps(order)
        self.orders.append(order)
        return order

    def _order_steps(self, order: dict) -> None:
        rng, status = self.rng, order["status"]
        start = order["created_at"]
        if status == "cancelled":
            order["cancelled_at"] = self.at(start + timedelta(days=rng.uniform(1, 20)), 3)
            order["cancel_reason"] = "需求调整，暂缓实施。"
            order["updated_at"] = order["cancelled_at"]
            return
        if status == "placed":
            return
        days = order["delivery_days"] * rng.uniform(0.6, 1.3)
        order["delivered_at"] = self.at(start + timedelta(days=days), 3)
        order["updated_at"] = order["delivered_at"]
        if status == "disputed":
            order["dispute_reason"] = "部分功能与报价范围不符。"
        elif status == "accepted":
            order["accepted_at"] = self.at(
                order["delivered_at"] + timedelta(days=rng.uniform(1, 10)), 4)
            order["updated_at"] = order["accepted_at"]
            self.p.out.add("match_feedback", id=self.p.out.next_id("match_feedback"),
                           need_id=order["need_id"], package_id=order["package_id"],
                           kind="accepted", created_at=order["accepted_at"])
            if rng.random() < 0.6:
                self._review(order)

    def _review(self, order: dict) -> None:
        rng = self.rng
        created = self.at(order["accepted_at"] + timedelta(hours=rng.uniform(1, 120)), 5)
        replied = rng.random() < 0.3
        self.p.out.add(
            "reviews", id=self.p.out.next_id("reviews"), order_id=order["id"],
            provider_id=order["provider_id"], enterprise_id=order["enterprise_id"],
            rating=int(_weighted(rng, {"5": 45, "4": 35, "3": 12, "2": 5, "1": 3})),
            text=rng.choice(words.REVIEW_TEXTS),
            reply=rng.choice(words.REVIEW_REPLIES) if replied else "",
            replied_at=created + timedelta(hours=6) if replied else None, created_at=created)

    def _settle_request(self, request: dict, live_order: dict | None) -> None:
        rng = self.rng
        if live_order is not None:
            status = _weighted(rng, {"closed": 70, "declined": 20, "withdrawn": 10})
            if status == "closed" and rng.random() < 0.5:
                self._quote(request)
        else:
            status = _weighted(rng, OPEN_REQUEST_WEIGHTS)
            if status == "quoted":
                self._quote(request)
            elif status == "declined":
                request["decline_reason"] = "暂时无法覆盖该地区。"
                request["responded_at"] = self.at(
                    request["created_at"] + timedelta(hours=rng.uniform(1, 72)), 1)
        request["status"] = status

    def _follow_order(self, need: dict, order: dict) -> None:
        if order["status"] == "accepted":
            need["status"], need["closed_at"] = "closed", order["accepted_at"]
        else:
            need["status"] = "in_progress"
        need["updated_at"] = order["updated_at"]

    def _close_need(self, need: dict) -> None:
        """An owner closed the need without an order: its open requests close with it."""
        need["status"] = "closed"
        need["closed_at"] = self.at(need["created_at"] + timedelta(days=self.rng.uniform(10, 120)),
                                    4)
        need["updated_at"] = need["closed_at"]
        for request in self.by_need.get(need["id"], ()):
            if request["status"] in ("pending", "quoted"):
                request["status"] = "closed"


# -- subsidies ----------------------------------------------------------------------------------


class SubsidyPlanner:
    """Programs at every level, one claim per order from the best program, and the ledger."""

    def __init__(self, planner: Planner, orders: list[dict]):
        self.p, self.rng, self.orders = planner, planner.rng, orders
        self.programs: list[dict] = []
        self.used: dict[int, int] = {}  # program id -> reserved + paid by holding claims
        self.budget: dict[int, int] = {}  # program id -> sum of its adjustments
        self.received: dict[tuple[int, int, int], int] = {}  # (program, enterprise, year)

    def plan(self) -> None:
        self._programs()
        for order in sorted(self.orders, key=lambda o: (o["created_at"], o["id"])):
            self._claim(order)
        for program in self.programs:
            self._top_up(program)

    def _program(self, region: str, name: str, mode: str, status: str = "active", **rules):
        now, refs = self.p.now, self.p.refs
        starts = (now - timedelta(days=HISTORY_DAYS + 10)).date()
        ends = rules.pop("ends_on", max(date(2026, 12, 31), (now + timedelta(days=180)).date()))
        budget = rules.pop("budget_fen")
        program = self.p.out.add(
            "subsidy_programs", id=self.p.out.next_id("subsidy_programs"),
            region_id=refs.region_ids[region], created_by_id=self.p.officials.get(region),
            name=name, policy_basis="智改数转专项政策（基准测试数据）", mode=mode,
            rate_bp=rules.pop("rate_bp", 0), fixed_fen=rules.pop("fixed_fen", 0),
            per_order_cap_fen=rules.pop("cap"), per_enterprise_cap_fen=rules.pop("enterprise_cap"),
            starts_on=starts, ends_on=ends, size_classes=rules.pop("size_classes", []),
            industries=[], clusters=rules.pop("clusters", []),
            categories=rules.pop("categories", []), scenario_levels=[],
            min_tier=rules.pop("min_tier", ""), verified_only=True, status=status,
            created_at=datetime.combine(starts, datetime.min.time(), UTC),
            updated_at=datetime.combine(starts, datetime.min.time(), UTC), _region=region)
        assert not rules, rules
        self.programs.append(program)
        self.used[program["id"]] = 0
        self._ledger(program, "adjust", budget, program["created_at"], note="初始预算")

    def _programs(self) -> None:
        refs = self.p.refs
        self._program(refs.province, "江苏省中小企业数字化转型券", "percent", rate_bp=3000,
                      cap=50_000_00, enterprise_cap=100_000_00, budget_fen=500_000_000_00,
                      size_classes=["medium", "small", "micro"])
        self._program(refs.province, "江苏省设备上云专项", "fixed", fixed_fen=20_000_00,
                      cap=20_000_00, enterprise_cap=40_000_00, budget_fen=100_000_000_00,
                      categories=["device_monitoring", "energy"], min_tier="regional")
        self._program(refs.province, "省级智改数转试点（已结束）", "percent", status="closed",
                      rate_bp=2000, cap=40_000_00, enterprise_cap=40_000_00,
                      budget_fen=50_000_000_00, clusters=["high_end_equipment", "ic"],
                      ends_on=(self.p.now - timedelta(days=200)).date())
        for city in refs.cities:
            self._program(city, f"{refs.names[city]}智改数转普惠补贴", "percent", rate_bp=5000,
                          cap=30_000_00, enterprise_cap=60_000_00, budget_fen=30_000_000_00,
                          size_classes=["small", "micro"])
        for county in refs.counties[::3]:
            self._program(county, f"{refs.names[county]}设备上云政府采购包", "procurement",
                          cap=10_000_00, enterprise_cap=10_000_00, budget_fen=5_000_000_00,
                          categories=["device_monitoring"])
        self._program(refs.cities[0], "质量管控专项（草稿）", "fixed", status="draft",
                      fixed_fen=20_000_00, cap=20_000_00, enterprise_cap=20_000_00,
                      budget_fen=4_000_000_00, categories=["quality"])

    def _eligible(self, program: dict, order: dict, enterprise: dict, day: date) -> bool:
        if program["status"] == "draft" or not program["starts_on"] <= day <= program["ends_on"]:
            return False
        if program["_region"] not in self.p.refs.chain(enterprise["_county"]):
            return False
        if program["size_classes"] and enterprise["size_class_code"] not in program["size_classes"]:
            return False
        if program["clusters"] and enterprise["cluster_code"] not in program["clusters"]:
            return False
        package = order["_package"]
        if program["categories"] and package["category_code"] not in program["categories"]:
            return False
        provider = self.p.providers[package["provider_id"] - 1]
        return not program["min_tier"] or (
            TIER_RANK[provider["tier"]] >= TIER_RANK[program["min_tier"]])

    def _claim(self, order: dict) -> None:
        enterprise = self.p.enterprises[order["enterprise_id"] - 1]
        day, year = order["created_at"].date(), order["created_at"].year
        offers = []
        for program in self.programs:
            if not self._eligible(program, order, enterprise, day):
                continue
            budget = self.budget[program["id"]]
            left = program["per_enterprise_cap_fen"] - self.received.get(
                (program["id"], enterprise["id"], year), 0)
            amount = subsidy_amount(SimpleNamespace(**program), order["amount_fen"],
                                    budget - self.used[program["id"]], left)
            if amount > 0:
                offers.append((-amount, program["ends_on"], program["id"], program))
        if offers:
            best = min(offers, key=lambda offer: offer[:3])
            self._write_claim(order, best[3], -best[0], year)

    def _write_claim(self, order: dict, program: dict, amount: int, year: int) -> None:
        status = {"cancelled": "released", "accepted": None}.get(order["status"], "reserved")
        status = status or _weighted(self.rng, CLAIM_WEIGHTS_ACCEPTED)
        claim = self.p.out.add(
            "subsidy_claims", id=self.p.out.next_id("subsidy_claims"), program_id=program["id"],
            order_id=order["id"], enterprise_id=order["enterprise_id"], year=year,
            order_amount_fen=order["amount_fen"], amount_fen=amount, status=status,
            decided_by_id=None, decided_at=None, decision_reason="", paid_by_id=None,
            paid_at=None, payment_reference=None, created_at=order["created_at"],
            updated_at=order["updated_at"])
        self._ledger(program, "reserve", amount, order["created_at"], claim)
        official = self.p.officials.get(program["_region"], self.p.officials[self.p.refs.province])
        decided = order["accepted_at"] or order["updated_at"]
        if status in ("approved", "paid", "rejected"):
            claim.update(decided_by_id=official, decided_at=self._later(decided, 1))
        if status == "rejected":
            claim["decision_reason"] = "材料不全。"
            self._ledger(program, "release", amount, claim["decided_at"], claim, "材料不全。")
        elif status == "released":
            self._ledger(program, "release", amount, order["cancelled_at"], claim, "订单取消")
        elif status == "paid":
            claim.update(paid_by_id=official, paid_at=self._later(claim["decided_at"], 2),
                         payment_reference=f"BENCH-{claim['id']:08d}")
            self._ledger(program, "pay", amount, claim["paid_at"], claim,
                         claim["payment_reference"])
        if status in HOLDING:
            self.used[program["id"]] += amount
            key = (program["id"], order["enterprise_id"], year)
            self.received[key] = self.received.get(key, 0) + amount

    def _later(self, moment: datetime, stage: int) -> datetime:
        later = moment + timedelta(days=self.rng.uniform(1, 15))
        return min(later, self.p.now - timedelta(minutes=5 * (3 - stage)))

    def _ledger(self, program: dict, kind: str, amount: int, at: datetime,
                claim: dict | None = None, note: str = "") -> None:
        if kind == "adjust":
            self.budget[program["id"]] = self.budget.get(program["id"], 0) + amount
        self.p.out.add("subsidy_ledger", id=self.p.out.next_id("subsidy_ledger"),
                       program_id=program["id"], claim_id=claim["id"] if claim else None,
                       kind=kind, amount_fen=amount, actor_id=program["created_by_id"],
                       note=note, at=at)

    def _top_up(self, program: dict) -> None:
        """Some budgets were topped up or partly withdrawn later (never below what is spent)."""
        roll = self.rng.random()
        at = program["created_at"] + timedelta(days=self.rng.randint(90, 400))
        at = min(at, self.p.now - timedelta(days=1))
        budget = self.budget[program["id"]]
        if roll < 0.2:
            self._ledger(program, "adjust", budget // 4, at, note="追加预算")
        elif roll < 0.3:
            spare = budget - self.used[program["id"]]
            if spare > 100:
                self._ledger(program, "adjust", -(spare // 10), at, note="核减预算")


# -- writing ------------------------------------------------------------------------------------


def build_plan(volume: Volume, now: datetime, password_hash: str = "") -> Plan:
    """Every row of ``volume`` (needs an app context for the reference data)."""
    return Planner(volume, load_refs(), now, password_hash).plan()


def _columns(table, row: dict) -> list[str]:
    columns = [c for c in row if not c.startswith("_")]
    missing = [c.name for c in table.columns if not c.nullable and c.server_default is None
               and c.name not in columns]
    if missing:
        raise ValueError(f"{table.name}: no value for NOT NULL columns {missing}")
    return columns


def _copy(connection, table, columns: list[str], rows: list[dict]) -> None:
    """PostgreSQL COPY, the fastest way in; JSON values go as text."""
    from psycopg import sql

    as_json = {c.name for c in table.columns if isinstance(c.type, JSON)}
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns)))
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([json.dumps(row[c], ensure_ascii=False) if c in as_json else row[c]
                            for c in columns])


def write_plan(plan: Plan) -> None:
    """Insert every planned row in the session's transaction."""
    connection = db.session.connection()
    postgres = connection.dialect.name == "postgresql"
    for name in TABLES:
        rows = plan.tables[name]
        if not rows:
            continue
        table = db.metadata.tables[name]
        columns = _columns(table, rows[0])
        if postgres:
            _copy(connection, table, columns, rows)
        else:
            connection.execute(table.insert(), [{c: row[c] for c in columns} for row in rows])
        if postgres and "id" in table.c:
            connection.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) FROM {name}"))


def seed_volume(volume: Volume, now: datetime | None = None, log=print) -> SeedReport:
    """Plan and write ``volume`` into the app's (empty, migrated) database and commit."""
    started = time.perf_counter()
    check_empty()
    now = now or utcnow().replace(microsecond=0)
    plan = build_plan(volume, now, hash_password(BENCH_PASSWORD))
    log(f"planned {sum(map(len, plan.tables.values())):,} rows "
        f"in {time.perf_counter() - started:.1f} s")
    write_plan(plan)
    milestones.refresh(db.session.connection())  # the rows were copied around the ORM
    audit.record(None, "bench_seed", None, packages=volume.packages, needs=volume.needs,
                 deals=volume.deals, seed=volume.seed)
    db.session.commit()
    if db.engine.url.get_backend_name() == "postgresql":
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    seconds = time.perf_counter() - started
    log(f"written and committed: {seconds:.1f} s in all")
    return SeedReport({t: len(rows) for t, rows in plan.tables.items()}, plan.logins, seconds)


def index_and_fit(log=print) -> dict[str, float]:
    """What a starting process needs beside the rows: the search index rebuilt from the
    database and the recommender fitted and saved (workers load it instead of fitting)."""
    from ..services import search
    from ..services.matching import get_recommender

    timings = {}
    started = time.perf_counter()
    counts = search.rebuild()
    timings["search_rebuild_s"] = time.perf_counter() - started
    log(f"search index rebuilt ({counts}) in {timings['search_rebuild_s']:.1f} s")
    started = time.perf_counter()
    get_recommender().refit()
    timings["recommender_fit_s"] = time.perf_counter() - started
    log(f"recommender fitted and saved in {timings['recommender_fit_s']:.1f} s")
    return timings
