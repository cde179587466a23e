"""The statistics officials see for their region: the funnel need → request → quote → order,
chain transformation, subsidies, unmet needs, trends and the region comparison.

Every figure is one aggregate query over the needs in a :class:`Scope` (a region and
everything below it, a period of posting dates, optional industry division, cluster, solution
category and scenario level), so the page stays fast at 100k needs. Months and days are in
China Standard Time. A need counts as *matched* when it has at least one request, *converted*
when it has an order that was not cancelled; rates are of the needs posted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    and_,
    case,
    func,
    inspect,
    literal,
    literal_column,
    null,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import selectinload
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.selectable import CTE

from ..extensions import db
from ..models import (
    CaseStatus,
    Category,
    ClaimStatus,
    Cluster,
    Enterprise,
    EntryKind,
    Industry,
    LedgerEntry,
    Need,
    NeedStatus,
    Order,
    OrderStatus,
    Package,
    PackageStatus,
    Provider,
    Region,
    ScenarioLevel,
    SizeClass,
    Standing,
    SubsidyClaim,
    SubsidyProgram,
    TypicalCase,
    User,
)
from .errors import NotFound
from .figures import kept
from .regions import region_ids_governed

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
TOP_UNMET = 10
STEPS = ("requested", "quoted", "ordered")  # of a need, after it was posted


@dataclass(frozen=True)
class Scope:
    """What the figures are about. ``end`` is inclusive."""

    region: Region
    start: date | None = None
    end: date | None = None
    industry: str = ""
    cluster: str = ""
    category: str = ""
    level: str = ""
    region_ids: frozenset[int] = field(default=frozenset(), compare=False)
    every_region: bool = field(default=False, compare=False)  # region_ids are all there are

    def filters(self) -> list[tuple[str, str]]:
        """(label, value) pairs naming the scope, for headings and exported files."""
        pairs = [(_l("地区"), self.region.full_label)]
        if self.start or self.end:
            pairs.append((_l("时间"), f"{self.start or '…'} – {self.end or '…'}"))
        for label, model, code in ((_l("行业"), Industry, self.industry),
                                   (_l("产业集群"), Cluster, self.cluster),
                                   (_l("方案类别"), Category, self.category),
                                   (_l("场景层级"), ScenarioLevel, self.level)):
            if code:
                row = db.session.get(model, code)
                pairs.append((label, row.label if row is not None else code))
        return pairs


def scope_for(actor: User, region_code: str = "", **filters) -> Scope:
    """The scope an official asked for: their own region, or a region below it (drill-down).
    A region outside theirs is not found; admins may look anywhere."""
    _load_region_tree()
    if actor.is_gov:
        region = actor.region
        allowed = region_ids_governed(actor)
    elif actor.is_admin:
        region = db.session.scalar(select(Region).where(Region.parent_id.is_(None)))
        allowed = None
    else:
        raise NotFound()
    if region_code:
        wanted = db.session.scalar(select(Region).where(Region.code == region_code))
        if wanted is None or (allowed is not None and wanted.id not in allowed):
            raise NotFound()
        region = wanted
    region_ids = frozenset(region.subtree_ids())
    every_region = len(region_ids) == len(db.session.info["region_tree"])
    return Scope(region=region, region_ids=region_ids, every_region=every_region, **filters)


def _load_region_tree() -> None:
    """Every region with its children, in two queries: walking the tree afterwards (subtree
    ids, drill-down choices, the region comparison) then costs no query per region. The
    session keeps them (its identity map alone holds objects only weakly) until it ends."""
    tree = db.session.info.get("region_tree")
    if not tree or inspect(tree[0]).expired:  # a commit expires them: load them afresh
        db.session.info["region_tree"] = db.session.scalars(
            select(Region).options(selectinload(Region.children))).all()


# -- building blocks ----------------------------------------------------------------------------


def _start_of(day: date) -> datetime:
    """The first moment of ``day`` in China Standard Time, in UTC: SQLite keeps times as UTC
    text without their zone, so a parameter in +08:00 would be compared eight hours off."""
    return datetime.combine(day, time.min, LOCAL_TZ).astimezone(UTC)


def _in_period(column, scope: Scope) -> list:
    """Conditions keeping moments of ``column`` inside the scope's days (China Standard Time)."""
    conditions = []
    if scope.start:
        conditions.append(column >= _start_of(scope.start))
    if scope.end:
        conditions.append(column < _start_of(scope.end + timedelta(days=1)))
    return conditions


def _scoped_needs(scope: Scope, *columns) -> Select:
    query = (select(*columns).select_from(Need)
             .join(Enterprise, Enterprise.id == Need.enterprise_id))
    if not scope.every_region:
        query = query.where(Enterprise.county_id.in_(scope.region_ids))
    query = query.where(*_in_period(Need.created_at, scope))
    if scope.industry:
        query = query.where(Enterprise.industry_code == scope.industry)
    if scope.cluster:
        query = query.where(Enterprise.cluster_code == scope.cluster)
    if scope.category:
        query = query.where(Need.category_code == scope.category)
    if scope.level:
        query = query.where(Need.scenario_level_code == scope.level)
    return query


def _facts(scope: Scope) -> CTE:
    """The scoped needs, one row each, with what every figure below is counted from: the
    milestones kept on each need (:mod:`marketplace.milestones`), so the deal tables are not
    read at all."""
    return _scoped_needs(scope, Need.id, Need.created_at,
                         (Need.status == NeedStatus.OPEN).label("open"),
                         Need.category_code.label("category"),
                         Enterprise.county_id.label("county"),
                         _month_bucket(Need.created_at).label("month"),
                         Need.first_request_at.label("requested"),
                         Need.first_quote_at.label("quoted"),
                         Need.ordered_at.label("ordered")).cte("facts")


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _month_bucket(column) -> ColumnElement:
    """The month of a timestamp in China Standard Time, as something to group by (PostgreSQL:
    the month's first moment, formatted only once per group by :func:`_month_label`)."""
    if _postgres():
        return func.date_trunc("month", func.timezone("Asia/Shanghai", column))
    return func.strftime("%Y-%m", column, "+8 hours")


def _month_label(bucket) -> ColumnElement:
    """``YYYY-MM`` of a :func:`_month_bucket`."""
    return func.to_char(bucket, "YYYY-MM") if _postgres() else bucket


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# -- the funnel ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Funnel:
    posted: int
    matched: int
    converted: int
    open_unmatched: int
    median_hours_to_request: float | None
    median_hours_to_quote: float | None
    median_hours_to_order: float | None

    @property
    def match_rate(self) -> float | None:
        return _ratio(self.matched, self.posted)

    @property
    def conversion_rate(self) -> float | None:
        return _ratio(self.converted, self.posted)


# GROUPING() of (month, category, county): which breakdown a row of need_counts belongs to.
GROUPING_SETS = {3: "month", 5: "category", 6: "county", 7: "total"}


@dataclass(frozen=True)
class NeedCounts:
    """Everything counted over the scoped needs, from one statement (see :func:`need_counts`).

    ``groups[breakdown][key]`` is (posted, matched, converted) per month, category and county;
    ``unmet[category]`` is (open needs without a live order, how many of them were requested).
    """

    total: tuple[int, int, int, int]  # posted, matched, converted, open and unmatched
    medians: tuple[float | None, float | None, float | None]  # hours to each of STEPS
    groups: dict[str, dict[str, tuple[int, int, int]]]
    unmet: dict[str, tuple[int, int]]


def _counted(f) -> list:
    """posted, matched, converted, open and unmatched, unmet, unmet but requested."""
    unmet = and_(f.open, f.ordered.is_(None))
    return [func.count(), func.count(f.requested), func.count(f.ordered),
            func.count(case((and_(f.open, f.requested.is_(None)), 1))),
            func.count(case((unmet, 1))), func.count(case((unmet, f.requested)))]


def _breakdowns(facts: CTE):
    """The counts per month, per category, per county and in total, in one statement:
    PostgreSQL groups the rows once by ``GROUPING SETS`` (its medians are computed once, as
    uncorrelated scalar subqueries); SQLite, without grouping sets, unions four GROUP BYs."""
    f = facts.c
    keys = (_month_label(f.month), f.category, f.county)
    if _postgres():
        medians = [select(func.percentile_cont(0.5).within_group(f[step] - f.created_at))
                   .where(*_cohort(f, step)).scalar_subquery() for step in STEPS]
        return (select(func.grouping(f.month, f.category, f.county), *keys, *_counted(f),
                       *medians)
                .group_by(func.grouping_sets(f.month, f.category, f.county, tuple_())))
    branches = []
    for mask, grouped in ((3, f.month), (5, f.category), (6, f.county), (7, None)):
        shown = [key if (mask >> (2 - i)) & 1 == 0 else null() for i, key in enumerate(keys)]
        branch = select(literal_column(str(mask)), *shown, *_counted(f),
                        *(null() for _step in STEPS)).select_from(facts)
        branches.append(branch.group_by(grouped) if grouped is not None else branch)
    return union_all(*branches)


def need_counts(scope: Scope) -> NeedCounts:
    """The funnel, its medians and its breakdowns with one pass over the scoped needs: the
    rows of :func:`_facts` are built once and grouped by :func:`_breakdowns`."""
    facts = _facts(scope)
    groups: dict[str, dict[str, tuple[int, int, int]]] = {"month": {}, "category": {},
                                                          "county": {}}
    unmet, total, medians = {}, (0, 0, 0, 0), (None, None, None)
    for mask, month, category, county, *numbers in db.session.execute(_breakdowns(facts)):
        posted, matched, converted, open_unmatched, unmet_posted, unmet_matched = (
            int(n or 0) for n in numbers[:6])
        breakdown = GROUPING_SETS[int(mask)]
        if breakdown == "total":
            total = (posted, matched, converted, open_unmatched)
            medians = tuple(v.total_seconds() / 3600 if v is not None else None
                            for v in numbers[6:])
        else:
            key = {"month": month, "category": category, "county": county}[breakdown]
            groups[breakdown][str(key)] = (posted, matched, converted)
        if breakdown == "category" and unmet_posted:
            unmet[category] = (unmet_posted, unmet_matched)
    if not _postgres():
        medians = _python_medians(facts)
    return NeedCounts(total, medians, groups, unmet)


def _cohort(f, step: str) -> list:
    """The needs a median of ``step`` is taken over: the times to a first request and to a
    first quote are both measured on the needs that got a quote (one cohort, so the first
    cannot exceed the second: a need's first request comes before its first quote); the time
    to an order on the needs that got a quote and an order."""
    return [f.quoted.is_not(None)] + ([f.ordered.is_not(None)] if step == "ordered" else [])


def _python_medians(facts: CTE) -> tuple[float | None, ...]:
    f = facts.c
    medians = []
    for step in STEPS:
        rows = db.session.execute(select(f.created_at, f[step]).where(*_cohort(f, step))).all()
        hours = [(_aware(done) - _aware(posted)).total_seconds() / 3600
                 for posted, done in rows]
        medians.append(median(hours) if hours else None)
    return tuple(medians)


def funnel(scope: Scope, counts: NeedCounts | None = None) -> Funnel:
    counts = counts or need_counts(scope)
    return Funnel(*counts.total, *counts.medians)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))


# -- tables -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of a grouped funnel: needs posted, matched and converted for ``key``."""

    key: str
    label: str
    posted: int
    matched: int
    converted: int

    @property
    def match_rate(self) -> float | None:
        return _ratio(self.matched, self.posted)

    @property
    def conversion_rate(self) -> float | None:
        return _ratio(self.converted, self.posted)


def _category_labels() -> dict[str, str]:
    return {c.code: c.label for c in db.session.scalars(select(Category))}


def monthly(scope: Scope, counts: NeedCounts | None = None) -> list[Row]:
    """Needs posted per month (and how many of them were matched and converted)."""
    counts = counts or need_counts(scope)
    return [Row(k, k, *counts.groups["month"][k]) for k in sorted(counts.groups["month"])]


def by_category(scope: Scope, counts: NeedCounts | None = None) -> list[Row]:
    counts, labels = counts or need_counts(scope), _category_labels()
    rows = [Row(k, labels.get(k, k), *n) for k, n in counts.groups["category"].items()]
    return sorted(rows, key=lambda r: (-r.posted, r.key))


def by_region(scope: Scope, counts: NeedCounts | None = None) -> list[Row]:
    """The regions directly below the scope's region (cities of a province, counties of a
    city), each with everything below it; a county compares nothing."""
    children = list(scope.region.children)
    if not children:
        return []
    counts = counts or need_counts(scope)
    county_to_child = {}
    for child in children:
        for county_id in child.subtree_ids():
            county_to_child[county_id] = child
    totals = defaultdict(lambda: [0, 0, 0])
    for county_id, found in counts.groups["county"].items():
        child = county_to_child.get(int(county_id))
        if child is not None:
            for i, n in enumerate(found):
                totals[child.id][i] += n
    return [Row(child.code, child.label, *totals[child.id]) for child in children]


def unmet_categories(scope: Scope, limit: int = TOP_UNMET,
                     counts: NeedCounts | None = None) -> list[Row]:
    """Categories with the most open needs that have no order yet (matched = requested)."""
    counts, labels = counts or need_counts(scope), _category_labels()
    found = sorted(counts.unmet.items(), key=lambda item: (-item[1][0], item[0]))
    return [Row(k, labels.get(k, k), posted, matched, 0) for k, (posted, matched) in found[:limit]]


# -- supply, chains, subsidies ------------------------------------------------------------------


@dataclass(frozen=True)
class Supply:
    providers: int
    packages: int


def supply(scope: Scope) -> Supply:
    """Verified, not eliminated providers serving the region (or a region above it, or
    everywhere), and their published packages."""
    above = {r.id for r in scope.region.ancestors_and_self()}
    serving = Provider.regions_served.any(Region.id.in_(scope.region_ids | above))
    everywhere = ~Provider.regions_served.any()
    providers = list(db.session.scalars(
        select(Provider.id).where(Provider.verified, Provider.standing != Standing.ELIMINATED)
        .where(serving | everywhere)))
    # Counted over the ids found (PostgreSQL otherwise probes the providers' regions once per
    # package: 170 ms instead of 40 at 100k packages).
    package_count = db.session.scalar(
        select(func.count(Package.id)).where(Package.status == PackageStatus.PUBLISHED,
                                             Package.provider_id.in_(providers)))
    return Supply(len(providers), int(package_count or 0))


@dataclass(frozen=True)
class ChainRow:
    leader_id: int
    leader: str
    members: int  # SMEs of the chain in the region
    adopted: int  # of them, with a live order (placed in the period) for the leader's platform

    @property
    def rate(self) -> float | None:
        return _ratio(self.adopted, self.members)


def chains(scope: Scope) -> list[ChainRow]:
    """链式转型: per chain leader, its SMEs in the region and how many adopted its platform."""
    leader = Enterprise.__table__.alias("leader")
    in_scope = [Enterprise.county_id.in_(scope.region_ids)]
    if scope.industry:
        in_scope.append(Enterprise.industry_code == scope.industry)
    if scope.cluster:
        in_scope.append(Enterprise.cluster_code == scope.cluster)
    members = db.session.execute(
        select(Enterprise.chain_leader_id, leader.c.name, func.count(Enterprise.id))
        .join(leader, leader.c.id == Enterprise.chain_leader_id).where(*in_scope)
        .group_by(Enterprise.chain_leader_id, leader.c.name)).all()
    adopted = dict(db.session.execute(
        select(Enterprise.chain_leader_id, func.count(func.distinct(Order.enterprise_id)))
        .join(Order, Order.enterprise_id == Enterprise.id)
        .join(Package, Package.id == Order.package_id)
        .join(Provider, Provider.id == Package.provider_id)
        .where(*in_scope, Order.status != OrderStatus.CANCELLED,
               Provider.lead_enterprise_id == Enterprise.chain_leader_id,
               *_in_period(Order.created_at, scope))
        .group_by(Enterprise.chain_leader_id)).all())
    rows = [ChainRow(int(i), name, int(n), int(adopted.get(i, 0))) for i, name, n in members]
    return sorted(rows, key=lambda r: (-r.members, r.leader))


@dataclass(frozen=True)
class MoneyRow:
    key: str
    label: str
    budget_fen: int
    reserved_fen: int
    paid_fen: int
    claims: int = 0


HELD = (ClaimStatus.RESERVED, ClaimStatus.APPROVED)


def _claim_money(scope: Scope) -> list:
    """held (reserved in the period, not paid yet), paid (paid in the period) and how many
    claims either counts: one definition for the program and the size tables, so both add up
    to the same totals. Without a period they equal the ledgers' reserved and paid."""
    reserved_in = and_(SubsidyClaim.status.in_(HELD),
                       *_in_period(SubsidyClaim.created_at, scope))
    paid_in = and_(SubsidyClaim.status == ClaimStatus.PAID,
                   *_in_period(SubsidyClaim.paid_at, scope))
    return [func.sum(case((reserved_in, SubsidyClaim.amount_fen), else_=literal(0))),
            func.sum(case((paid_in, SubsidyClaim.amount_fen), else_=literal(0))),
            func.count(case((or_(reserved_in, paid_in), 1)))]


def _money(rows) -> dict:
    return {key: (int(h or 0), int(p or 0), int(n or 0)) for key, h, p, n in rows}


def subsidy_programs(scope: Scope) -> list[MoneyRow]:
    """The programs set up by the region or the regions below it that run during the period,
    each with its budget at the period's end and the money of :func:`_claim_money`."""
    query = select(SubsidyProgram).where(SubsidyProgram.region_id.in_(scope.region_ids))
    if scope.start:
        query = query.where(SubsidyProgram.ends_on >= scope.start)
    if scope.end:
        query = query.where(SubsidyProgram.starts_on <= scope.end)
    programs = db.session.scalars(query.order_by(SubsidyProgram.id)).all()
    ids = [p.id for p in programs]
    before_end = [LedgerEntry.at < _start_of(scope.end + timedelta(days=1))] if scope.end else []
    budgets = dict(db.session.execute(
        select(LedgerEntry.program_id, func.sum(LedgerEntry.amount_fen))
        .where(LedgerEntry.program_id.in_(ids), LedgerEntry.kind == EntryKind.ADJUST,
               *before_end).group_by(LedgerEntry.program_id)).all())
    money = _money(db.session.execute(
        select(SubsidyClaim.program_id, *_claim_money(scope))
        .where(SubsidyClaim.program_id.in_(ids)).group_by(SubsidyClaim.program_id)))
    return [MoneyRow(str(p.id), p.name, int(budgets.get(p.id) or 0),
                     *money.get(p.id, (0, 0, 0))) for p in programs]


def subsidies_by_size(scope: Scope) -> list[MoneyRow]:
    """The money of :func:`_claim_money` of the region's enterprises (from any program, the
    province's included), by enterprise size."""
    found = _money(db.session.execute(
        select(Enterprise.size_class_code, *_claim_money(scope))
        .join(Enterprise, Enterprise.id == SubsidyClaim.enterprise_id)
        .where(Enterprise.county_id.in_(scope.region_ids))
        .group_by(Enterprise.size_class_code)))
    sizes = db.session.scalars(select(SizeClass).order_by(SizeClass.sort)).all()
    return [MoneyRow(s.code, s.label, 0, *found.get(s.code, (0, 0, 0))) for s in sizes]


# -- everything at once -------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """Everything on the dashboard for one scope: plain data, kept for a short while."""

    funnel: Funnel
    supply: Supply
    monthly: list[Row]
    categories: list[Row]
    regions: list[Row]
    unmet: list[Row]
    chains: list[ChainRow]
    programs: list[MoneyRow]
    sizes: list[MoneyRow]


@dataclass(frozen=True)
class Dashboard(Figures):
    scope: Scope = None  # type: ignore[assignment]
    computed_at: datetime | None = None


def figures(scope: Scope) -> Figures:
    counts = need_counts(scope)
    return Figures(funnel(scope, counts), supply(scope), monthly(scope, counts),
                   by_category(scope, counts), by_region(scope, counts),
                   unmet_categories(scope, counts=counts), chains(scope),
                   subsidy_programs(scope), subsidies_by_size(scope))


def dashboard(scope: Scope) -> Dashboard:
    """The figures of ``scope``, computed at most ``STATS_CACHE_SECONDS`` ago (the same scope
    and filters asked again within that time, by anyone allowed to see them, are not
    recounted)."""
    key = "stats:" + ":".join(str(v) for v in (
        scope.region.id, scope.start, scope.end, scope.industry, scope.cluster,
        scope.category, scope.level))
    found, computed_at = kept(key, "STATS_CACHE_SECONDS", lambda: figures(scope))
    return Dashboard(**{f.name: getattr(found, f.name) for f in fields(Figures)},
                     scope=scope, computed_at=computed_at)


@dataclass(frozen=True)
class ReportExtras:
    """What only the annual report shows: the year's typical cases and its busiest providers."""

    cases: list
    providers: list[tuple[str, int, int]]  # name, orders, amount in fen


def report_extras(scope: Scope, limit: int = 10) -> ReportExtras:
    year_start = _start_of(scope.start) if scope.start else None
    year_end = _start_of(scope.end + timedelta(days=1)) if scope.end else None
    cases = (select(TypicalCase).join(Enterprise, Enterprise.id == TypicalCase.enterprise_id)
             .where(Enterprise.county_id.in_(scope.region_ids),
                    TypicalCase.status == CaseStatus.PUBLISHED)
             .order_by(TypicalCase.featured.desc(), TypicalCase.published_at.desc())
             .limit(limit))
    orders = (select(Provider.name, func.count(Order.id), func.sum(Order.amount_fen))
              .join(Order, Order.provider_id == Provider.id)
              .join(Enterprise, Enterprise.id == Order.enterprise_id)
              .where(Enterprise.county_id.in_(scope.region_ids),
                     Order.status != OrderStatus.CANCELLED)
              .group_by(Provider.id, Provider.name)
              .order_by(func.count(Order.id).desc(), Provider.name).limit(limit))
    if year_start is not None:
        cases = cases.where(TypicalCase.published_at >= year_start)
        orders = orders.where(Order.created_at >= year_start)
    if year_end is not None:
        cases = cases.where(TypicalCase.published_at < year_end)
        orders = orders.where(Order.created_at < year_end)
    return ReportExtras(list(db.session.scalars(cases)),
                        [(name, int(n), int(total or 0)) for name, n, total in
                         db.session.execute(orders)])
