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
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.sql import ColumnElement, Select

from ..extensions import db
from ..models import (
    CaseStatus,
    Category,
    ClaimStatus,
    DealRequest,
    Enterprise,
    Need,
    NeedStatus,
    Order,
    OrderStatus,
    Package,
    PackageStatus,
    Provider,
    Quote,
    Region,
    SizeClass,
    Standing,
    SubsidyClaim,
    SubsidyProgram,
    TypicalCase,
    User,
)
from .errors import NotFound
from .regions import region_ids_governed
from .subsidies import balances

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
TOP_UNMET = 10


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

    def filters(self) -> list[tuple[str, str]]:
        """(label, value) pairs naming the scope, for headings and exported files."""
        pairs = [(_l("地区"), self.region.full_label)]
        if self.start or self.end:
            pairs.append((_l("时间"), f"{self.start or '…'} – {self.end or '…'}"))
        for label, value in ((_l("行业"), self.industry), (_l("产业集群"), self.cluster),
                             (_l("方案类别"), self.category), (_l("场景层级"), self.level)):
            if value:
                pairs.append((label, value))
        return pairs


def scope_for(actor: User, region_code: str = "", **filters) -> Scope:
    """The scope an official asked for: their own region, or a region below it (drill-down).
    A region outside theirs is not found; admins may look anywhere."""
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
    return Scope(region=region, region_ids=frozenset(region.subtree_ids()), **filters)


# -- building blocks ----------------------------------------------------------------------------


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, LOCAL_TZ)


def _scoped_needs(scope: Scope, *columns) -> Select:
    query = (select(*columns).select_from(Need)
             .join(Enterprise, Enterprise.id == Need.enterprise_id)
             .where(Enterprise.county_id.in_(scope.region_ids)))
    if scope.start:
        query = query.where(Need.created_at >= _start_of(scope.start))
    if scope.end:
        query = query.where(Need.created_at < _start_of(scope.end + timedelta(days=1)))
    if scope.industry:
        query = query.where(Enterprise.industry_code == scope.industry)
    if scope.cluster:
        query = query.where(Enterprise.cluster_code == scope.cluster)
    if scope.category:
        query = query.where(Need.category_code == scope.category)
    if scope.level:
        query = query.where(Need.scenario_level_code == scope.level)
    return query


def _first_request():
    return (select(DealRequest.need_id, func.min(DealRequest.created_at).label("at"))
            .group_by(DealRequest.need_id).subquery("first_request"))


def _first_quote():
    return (select(DealRequest.need_id, func.min(Quote.created_at).label("at"))
            .join(Quote, Quote.request_id == DealRequest.id)
            .group_by(DealRequest.need_id).subquery("first_quote"))


def _live_order():
    return (select(Order.need_id, func.min(Order.created_at).label("at"))
            .where(Order.status != OrderStatus.CANCELLED)
            .group_by(Order.need_id).subquery("live_order"))


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _month(column) -> ColumnElement:
    """``YYYY-MM`` of a timestamp, in China Standard Time."""
    if _postgres():
        return func.to_char(func.timezone("Asia/Shanghai", column), "YYYY-MM")
    return func.strftime("%Y-%m", column, "+8 hours")


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


def funnel(scope: Scope) -> Funnel:
    request, quote, order = _first_request(), _first_quote(), _live_order()
    counts = db.session.execute(
        _scoped_needs(scope, func.count(Need.id), func.count(request.c.at),
                      func.count(order.c.at),
                      func.count(case((and_(Need.status == NeedStatus.OPEN,
                                            request.c.at.is_(None)), Need.id))))
        .outerjoin(request, request.c.need_id == Need.id)
        .outerjoin(order, order.c.need_id == Need.id)).one()
    return Funnel(*(int(n or 0) for n in counts),
                  median_hours_to_request=_median_hours(scope, request),
                  median_hours_to_quote=_median_hours(scope, quote),
                  median_hours_to_order=_median_hours(scope, order))


def _median_hours(scope: Scope, first) -> float | None:
    """Median hours from posting to ``first`` (a subquery of need_id, at) over the needs that
    got there."""
    if _postgres():
        seconds = func.extract("epoch", first.c.at - Need.created_at)
        value = db.session.scalar(
            _scoped_needs(scope, func.percentile_cont(0.5).within_group(seconds))
            .join(first, first.c.need_id == Need.id))
        return float(value) / 3600 if value is not None else None
    rows = db.session.execute(_scoped_needs(scope, Need.created_at, first.c.at)
                              .join(first, first.c.need_id == Need.id)).all()
    hours = [(_aware(at) - _aware(posted)).total_seconds() / 3600 for posted, at in rows]
    return median(hours) if hours else None


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


def _grouped(scope: Scope, key, extra_join=None) -> list[tuple[str, int, int, int]]:
    request, order = _first_request(), _live_order()
    query = (_scoped_needs(scope, key.label("key"), func.count(Need.id),
                           func.count(request.c.at), func.count(order.c.at))
             .outerjoin(request, request.c.need_id == Need.id)
             .outerjoin(order, order.c.need_id == Need.id))
    if extra_join is not None:
        query = extra_join(query)
    return [(k, int(p), int(m), int(c))
            for k, p, m, c in db.session.execute(query.group_by(key).order_by(key))]


def monthly(scope: Scope) -> list[Row]:
    """Needs posted per month (and how many of them were matched and converted)."""
    return [Row(k, k, p, m, c) for k, p, m, c in _grouped(scope, _month(Need.created_at))]


def by_category(scope: Scope) -> list[Row]:
    labels = {c.code: c.label for c in db.session.scalars(select(Category))}
    rows = [Row(k, labels.get(k, k), p, m, c) for k, p, m, c in
            _grouped(scope, Need.category_code)]
    return sorted(rows, key=lambda r: (-r.posted, r.key))


def by_region(scope: Scope) -> list[Row]:
    """The regions directly below the scope's region (cities of a province, counties of a
    city), each with everything below it; a county compares nothing."""
    children = list(scope.region.children)
    if not children:
        return []
    county_to_child = {}
    for child in children:
        for county_id in child.subtree_ids():
            county_to_child[county_id] = child
    totals = defaultdict(lambda: [0, 0, 0])
    for county_id, posted, matched, converted in _grouped(scope, Enterprise.county_id):
        child = county_to_child.get(int(county_id))
        if child is not None:
            for i, n in enumerate((posted, matched, converted)):
                totals[child.id][i] += n
    return [Row(child.code, child.label, *totals[child.id]) for child in children]


def unmet_categories(scope: Scope, limit: int = TOP_UNMET) -> list[Row]:
    """Categories with the most open needs that have no order yet (matched = requested)."""
    request, order = _first_request(), _live_order()
    labels = {c.code: c.label for c in db.session.scalars(select(Category))}
    rows = db.session.execute(
        _scoped_needs(scope, Need.category_code, func.count(Need.id), func.count(request.c.at))
        .outerjoin(request, request.c.need_id == Need.id)
        .outerjoin(order, order.c.need_id == Need.id)
        .where(Need.status == NeedStatus.OPEN, order.c.at.is_(None))
        .group_by(Need.category_code)
        .order_by(func.count(Need.id).desc(), Need.category_code).limit(limit))
    return [Row(k, labels.get(k, k), int(p), int(m), 0) for k, p, m in rows]


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
    providers = (select(Provider.id).where(Provider.verified,
                                           Provider.standing != Standing.ELIMINATED)
                 .where(serving | everywhere))
    provider_count = db.session.scalar(select(func.count()).select_from(providers.subquery()))
    package_count = db.session.scalar(
        select(func.count(Package.id)).where(Package.status == PackageStatus.PUBLISHED,
                                             Package.provider_id.in_(providers)))
    return Supply(int(provider_count or 0), int(package_count or 0))


@dataclass(frozen=True)
class ChainRow:
    leader_id: int
    leader: str
    members: int  # SMEs of the chain in the region
    adopted: int  # of them, with a live order for a package of the leader's platform

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
               Provider.lead_enterprise_id == Enterprise.chain_leader_id)
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


def subsidy_programs(scope: Scope) -> list[MoneyRow]:
    """The programs of the region and the regions below it, with their ledger balances."""
    programs = db.session.scalars(select(SubsidyProgram).where(
        SubsidyProgram.region_id.in_(scope.region_ids)).order_by(SubsidyProgram.id)).all()
    money = balances(p.id for p in programs)
    counts = dict(db.session.execute(
        select(SubsidyClaim.program_id, func.count(SubsidyClaim.id))
        .where(SubsidyClaim.program_id.in_([p.id for p in programs]),
               SubsidyClaim.status.in_(ClaimStatus.HOLDING))
        .group_by(SubsidyClaim.program_id)).all())
    return [MoneyRow(str(p.id), p.name, money[p.id].budget_fen, money[p.id].reserved_fen,
                     money[p.id].paid_fen, int(counts.get(p.id, 0))) for p in programs]


def subsidies_by_size(scope: Scope) -> list[MoneyRow]:
    """Subsidies held (reserved or approved) and paid to the region's enterprises, by size."""
    held = func.sum(case((SubsidyClaim.status.in_((ClaimStatus.RESERVED, ClaimStatus.APPROVED)),
                          SubsidyClaim.amount_fen), else_=literal(0)))
    paid = func.sum(case((SubsidyClaim.status == ClaimStatus.PAID, SubsidyClaim.amount_fen),
                         else_=literal(0)))
    query = (select(Enterprise.size_class_code, held, paid, func.count(SubsidyClaim.id))
             .join(Enterprise, Enterprise.id == SubsidyClaim.enterprise_id)
             .where(Enterprise.county_id.in_(scope.region_ids),
                    SubsidyClaim.status.in_(ClaimStatus.HOLDING))
             .group_by(Enterprise.size_class_code))
    if scope.start:
        query = query.where(SubsidyClaim.created_at >= _start_of(scope.start))
    if scope.end:
        query = query.where(SubsidyClaim.created_at < _start_of(scope.end + timedelta(days=1)))
    found = {code: (int(h or 0), int(p or 0), int(n)) for code, h, p, n in
             db.session.execute(query)}
    sizes = db.session.scalars(select(SizeClass).order_by(SizeClass.sort)).all()
    return [MoneyRow(s.code, s.label, 0, *found.get(s.code, (0, 0, 0))) for s in sizes]


# -- everything at once -------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    scope: Scope
    funnel: Funnel
    supply: Supply
    monthly: list[Row]
    categories: list[Row]
    regions: list[Row]
    unmet: list[Row]
    chains: list[ChainRow]
    programs: list[MoneyRow]
    sizes: list[MoneyRow]


def dashboard(scope: Scope) -> Dashboard:
    return Dashboard(scope, funnel(scope), supply(scope), monthly(scope), by_category(scope),
                     by_region(scope), unmet_categories(scope), chains(scope),
                     subsidy_programs(scope), subsidies_by_size(scope))


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
