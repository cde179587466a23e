"""Typical cases (典型案例, 看样学样): drafting after an accepted order, agreement by both
parties, curation by officials and admins, and the public list.

Agreement: either party drafts and edits; one side submits it and the *other* side confirms
(or returns it with a note), so a case reaches the curators only when both agreed to the same
text. Any change afterwards goes back through a draft. Curators are admins and the officials
of the enterprise's region or above; they publish, reject with a reason, and feature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import (
    CaseMetric,
    CaseSide,
    CaseStatus,
    Enterprise,
    Order,
    OrderStatus,
    Package,
    TypicalCase,
    User,
)
from ..models._base import utcnow
from . import audit
from .errors import IllegalTransition, NotAllowed, NotFound, ValidationFailed
from .notify import notify
from .regions import region_ids_for_code, region_ids_governed
from .states import apply_step
from .textmatch import contains_text

TITLE_MAX = 120
TEXT_MIN, TEXT_MAX = 20, 3000
QUOTE_MAX = 300
REASON_MAX = 500
METRIC_NAME_MAX, METRIC_UNIT_MAX = 40, 16
MAX_METRICS = 4
MAX_VALUE = 1e12

# action -> (from states, to state); who may take each step is checked in change_case_status.
TRANSITIONS = {
    "submit": ({CaseStatus.DRAFT}, CaseStatus.PENDING),
    "withdraw": ({CaseStatus.PENDING}, CaseStatus.DRAFT),
    "return": ({CaseStatus.PENDING}, CaseStatus.DRAFT),
    "confirm": ({CaseStatus.PENDING}, CaseStatus.SUBMITTED),
    "publish": ({CaseStatus.SUBMITTED}, CaseStatus.PUBLISHED),
    "reject": ({CaseStatus.SUBMITTED, CaseStatus.PUBLISHED}, CaseStatus.REJECTED),
    "revise": ({CaseStatus.REJECTED}, CaseStatus.DRAFT),
}
PARTY_STEPS = {"submit", "withdraw", "return", "confirm", "revise"}
CURATOR_STEPS = {"publish", "reject"}
NEEDS_REASON = {"return", "reject"}


@dataclass(frozen=True)
class MetricData:
    name: str
    unit: str
    before: float | None
    after: float | None

    @property
    def is_blank(self) -> bool:
        return not self.name.strip() and self.before is None and self.after is None


@dataclass(frozen=True)
class CaseData:
    title: str
    problem: str
    solution: str
    results: str
    quote: str = ""
    anonymous: bool = False
    metrics: tuple[MetricData, ...] = field(default_factory=tuple)


def _text_error(value: str, low: int, high: int):
    size = len(value.strip())
    return None if low <= size <= high else _l("需要 %(lo)d 到 %(hi)d 个字。", lo=low, hi=high)


def _metric_error(metric: MetricData):
    if not metric.name.strip() or len(metric.name.strip()) > METRIC_NAME_MAX:
        return _l("每项数据需要名称（最多 %(n)d 个字）。", n=METRIC_NAME_MAX)
    if len(metric.unit.strip()) > METRIC_UNIT_MAX:
        return _l("单位最多 %(n)d 个字。", n=METRIC_UNIT_MAX)
    for value in (metric.before, metric.after):
        if value is None or not math.isfinite(value) or abs(value) > MAX_VALUE:
            return _l("请填写改造前和改造后的数值。")
    return None


def _check(data: CaseData) -> None:
    errors = {}
    if not data.title.strip() or len(data.title.strip()) > TITLE_MAX:
        errors["title"] = _l("标题需要 1 到 %(n)d 个字。", n=TITLE_MAX)
    for name in ("problem", "solution", "results"):
        problem = _text_error(getattr(data, name), TEXT_MIN, TEXT_MAX)
        if problem:
            errors[name] = problem
    if len(data.quote.strip()) > QUOTE_MAX:
        errors["quote"] = _l("企业感言最多 %(n)d 个字。", n=QUOTE_MAX)
    filled = [m for m in data.metrics if not m.is_blank]
    if len(filled) > MAX_METRICS:
        errors["metrics"] = _l("最多填写 %(n)d 项数据。", n=MAX_METRICS)
    elif not filled:
        errors["metrics"] = _l("请至少填写一项改造前后的对比数据。")
    else:
        problem = next((e for e in map(_metric_error, filled) if e), None)
        if problem:
            errors["metrics"] = problem
    if errors:
        raise ValidationFailed(errors)


def _apply(case: TypicalCase, data: CaseData) -> None:
    case.title = data.title.strip()
    case.problem = data.problem.strip()
    case.solution = data.solution.strip()
    case.results = data.results.strip()
    case.quote = data.quote.strip()
    case.anonymous = data.anonymous
    case.metrics = [
        CaseMetric(name=m.name.strip(), unit=m.unit.strip(), value_before=m.before,
                   value_after=m.after, sort=i)
        for i, m in enumerate(m for m in data.metrics if not m.is_blank)
    ]


def _party(actor: User, case: TypicalCase, message) -> str:
    side = case.side_of(actor)
    if side is None:
        raise NotAllowed(message)
    return side


def _notify_side(side: str, case: TypicalCase, kind: str) -> None:
    if side == CaseSide.SME:
        notify(kind, case.title, f"/cases/{case.id}", enterprise_id=case.enterprise_id)
    else:
        notify(kind, case.title, f"/cases/{case.id}", provider_id=case.provider_id)


def _other(side: str) -> str:
    return CaseSide.PROVIDER if side == CaseSide.SME else CaseSide.SME


# -- writing ------------------------------------------------------------------------------------


def check_can_start(actor: User, order: Order) -> None:
    """Either party of an accepted order without a case may draft one."""
    if not order.is_party(actor):
        raise NotAllowed(_l("只有订单双方可以撰写案例。"))
    if order.status != OrderStatus.ACCEPTED:
        raise IllegalTransition(_l("订单验收后才能撰写案例。"))
    if case_of_order(order.id) is not None:
        raise IllegalTransition(_l("这个订单已经有案例了。"))


def start_case(actor: User, order: Order, data: CaseData) -> TypicalCase:
    """Draft the case of an accepted order (either party; one case per order)."""
    check_can_start(actor, order)
    _check(data)
    case = TypicalCase(order_id=order.id, package_id=order.package_id,
                       enterprise_id=order.enterprise_id, provider_id=order.provider_id,
                       author_id=actor.id, status=CaseStatus.DRAFT)
    _apply(case, data)
    db.session.add(case)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # the other party started one at the same moment
        raise IllegalTransition(_l("这个订单已经有案例了。")) from None
    audit.record(actor, "start_case", case, region_id=order.enterprise.county_id)
    return case


def check_can_edit(actor: User, case: TypicalCase) -> None:
    _party(actor, case, _l("只有订单双方可以修改案例。"))
    if case.status != CaseStatus.DRAFT:
        raise IllegalTransition(_l("只有草稿可以修改；请先撤回或退回。"))


def update_case(actor: User, case: TypicalCase, data: CaseData) -> TypicalCase:
    check_can_edit(actor, case)
    _check(data)
    _apply(case, data)
    audit.record(actor, "update_case", case, region_id=case.enterprise.county_id)
    return case


def change_case_status(actor: User, case: TypicalCase, action: str,
                       reason: str = "") -> TypicalCase:
    """Take one step of the case's life; the wrong actor, state or a missing reason refuses."""
    if action in PARTY_STEPS:
        side = _party(actor, case, _l("只有订单双方可以操作。"))
        _check_party_step(case, action, side)
    elif action in CURATOR_STEPS:
        if not case.can_curate(actor):
            raise NotAllowed(_l("只有本地区政府用户和管理员可以审核案例。"))
    else:
        raise IllegalTransition(_l("不支持的操作。"))
    reason = reason.strip()
    if action in NEEDS_REASON and not 1 <= len(reason) <= REASON_MAX:
        raise ValidationFailed({"reason": _l("请说明原因（最多 %(n)d 个字）。", n=REASON_MAX)})
    was_public = case.status == CaseStatus.PUBLISHED
    apply_step(TRANSITIONS, case, action, _l("案例当前的状态不允许这个操作。"))
    _after_step(actor, case, action, reason, was_public)
    audit.record(actor, f"{action}_case", case, region_id=case.enterprise.county_id,
                 **({"reason": reason} if reason else {}))
    return case


def _check_party_step(case: TypicalCase, action: str, side: str) -> None:
    if case.status != CaseStatus.PENDING:
        return  # apply_step refuses a wrong state
    if action == "withdraw" and side != case.submitted_by:
        raise NotAllowed(_l("只有提交方可以撤回。"))
    if action in ("confirm", "return") and side == case.submitted_by:
        raise NotAllowed(_l("需要由另一方确认。"))


def _after_step(actor: User, case: TypicalCase, action: str, reason: str,
                was_public: bool) -> None:
    side = case.side_of(actor)
    if action == "submit":
        case.submitted_by, case.note = side, ""
        _notify_side(_other(side), case, "case_to_confirm")
    elif action in ("withdraw", "return", "revise"):
        case.submitted_by = ""
        if action == "return":
            case.note = reason
            _notify_side(_other(side), case, "case_returned")
    elif action == "confirm":
        _notify_side(_other(side), case, "case_confirmed")
    else:  # a curator's decision
        case.curator_id = actor.id
        case.note = reason
        if action == "publish":
            case.published_at = utcnow()
        if action == "reject":
            case.featured = False
        kind = "case_published" if action == "publish" else "case_rejected"
        for party in CaseSide.ALL:
            _notify_side(party, case, kind)
    if action == "publish" or was_public:
        _touch_package(case)


def _touch_package(case: TypicalCase) -> None:
    """A published case is part of what the package's page shows and what the recommender
    reads (see ``services.matching.package_record``): mark the package changed so the change
    log brings the recommender and the search index up to date."""
    case.package.updated_at = utcnow()


def set_featured(actor: User, case: TypicalCase, featured: bool) -> TypicalCase:
    if not case.can_curate(actor):
        raise NotAllowed(_l("只有本地区政府用户和管理员可以推荐案例。"))
    if case.status != CaseStatus.PUBLISHED:
        raise IllegalTransition(_l("只有已发布的案例可以设为精选。"))
    case.featured = featured
    audit.record(actor, "feature_case" if featured else "unfeature_case", case,
                 region_id=case.enterprise.county_id)
    return case


# -- reading ------------------------------------------------------------------------------------


def get_case(actor: User, case_id: int) -> TypicalCase:
    """The case if ``actor`` may see it; 404 otherwise (drafts are the parties' own)."""
    case = db.session.get(TypicalCase, case_id)
    if case is None or not case.can_view(actor):
        raise NotFound()
    return case


def case_of_order(order_id: int) -> TypicalCase | None:
    return db.session.scalar(select(TypicalCase).where(TypicalCase.order_id == order_id))


def _details():
    return (selectinload(TypicalCase.metrics),
            selectinload(TypicalCase.package).selectinload(Package.category),
            selectinload(TypicalCase.enterprise).selectinload(Enterprise.county),
            selectinload(TypicalCase.provider))


@dataclass(frozen=True)
class CaseFilters:
    q: str = ""
    category_code: str = ""
    industry_code: str = ""
    region_code: str = ""


def published_cases(filters: CaseFilters) -> Select:
    """Published cases, featured first, then newest; narrowed by ``filters``.

    Searching is a database filter on the case's words (not the search index: see README)."""
    query = (select(TypicalCase).join(TypicalCase.package).join(TypicalCase.enterprise)
             .where(TypicalCase.status == CaseStatus.PUBLISHED).options(*_details()))
    if filters.q.strip():
        query = query.where(contains_text(filters.q, TypicalCase.title, TypicalCase.problem,
                                          TypicalCase.solution, TypicalCase.results,
                                          Package.title))
    if filters.category_code:
        query = query.where(Package.category_code == filters.category_code)
    if filters.industry_code:
        query = query.where(Enterprise.industry_code == filters.industry_code)
    if filters.region_code:
        query = query.where(Enterprise.county_id.in_(region_ids_for_code(filters.region_code)))
    return query.order_by(TypicalCase.featured.desc(), TypicalCase.published_at.desc(),
                          TypicalCase.id.desc())


def published_cases_of_package(package_id: int, limit: int = 5) -> list[TypicalCase]:
    return list(db.session.scalars(
        published_cases(CaseFilters()).where(TypicalCase.package_id == package_id).limit(limit)))


def my_cases(actor: User) -> dict:
    """A party's cases, and its accepted orders that have no case yet."""
    if actor.enterprise_id is not None:
        mine = TypicalCase.enterprise_id == actor.enterprise_id
        own_orders = Order.enterprise_id == actor.enterprise_id
    elif actor.provider_id is not None:
        mine = TypicalCase.provider_id == actor.provider_id
        own_orders = Order.provider_id == actor.provider_id
    else:
        return {"cases": [], "orders": []}
    cases = db.session.scalars(select(TypicalCase).where(mine).options(*_details())
                               .order_by(TypicalCase.updated_at.desc())).all()
    orders = db.session.scalars(
        select(Order).where(own_orders, Order.status == OrderStatus.ACCEPTED,
                            ~select(TypicalCase.id).where(TypicalCase.order_id == Order.id)
                            .exists())
        .order_by(Order.accepted_at.desc()).limit(50)).all()
    return {"cases": cases, "orders": orders}


def review_queue(actor: User) -> dict:
    """What a curator works on: cases waiting for a decision and the published ones, in the
    official's region (everything for an admin)."""
    if not (actor.is_admin or actor.is_gov):
        raise NotAllowed(_l("只有政府用户和管理员可以审核案例。"))
    query = select(TypicalCase).join(TypicalCase.enterprise).options(*_details())
    if actor.is_gov:
        query = query.where(Enterprise.county_id.in_(region_ids_governed(actor)))
    waiting = db.session.scalars(query.where(TypicalCase.status == CaseStatus.SUBMITTED)
                                 .order_by(TypicalCase.updated_at)).all()
    published = db.session.scalars(
        query.where(TypicalCase.status == CaseStatus.PUBLISHED)
        .order_by(TypicalCase.featured.desc(), TypicalCase.published_at.desc()).limit(100)).all()
    return {"waiting": waiting, "published": published}


# -- demo ---------------------------------------------------------------------------------------

# category -> (metric name, unit, before, after, second metric …): what each kind of project moves
DEMO_METRICS = {
    "device_monitoring": (("设备综合效率（OEE）", "%", 58, 76), ("非计划停机", "小时/月", 42, 15)),
    "production_mgmt": (("订单准时交付率", "%", 78, 95), ("生产计划编制时间", "小时/周", 12, 2)),
    "quality": (("产品不良率", "%", 3.2, 0.9), ("质检人员", "人", 12, 5)),
    "energy": (("单位产值能耗", "吨标煤/万元", 0.21, 0.17), ("电费支出", "万元/年", 360, 305)),
    "warehouse_logistics": (("库存准确率", "%", 86, 99.5), ("拣货差错", "次/月", 35, 3)),
    "business_mgmt": (("月末结账时间", "天", 7, 2), ("库存资金占用", "万元", 1800, 1350)),
    "marketing_crm": (("报价响应时间", "小时", 48, 6), ("老客户复购率", "%", 41, 58)),
    "supply_chain": (("来料准时率", "%", 82, 96), ("对账时间", "小时/周", 16, 3)),
    "rnd_design": (("新品设计周期", "天", 45, 28), ("图纸版本差错", "次/季度", 9, 1)),
    "safety": (("隐患整改闭环率", "%", 64, 98), ("安全事故", "起/年", 3, 0)),
    "lowcode_integration": (("重复录入工作量", "小时/周", 25, 4), ("报表出具时间", "天", 3, 0.5)),
    "digital_twin": (("异常响应时间", "分钟", 45, 10), ("产线平衡率", "%", 71, 86)),
    "data_security": (("数据恢复时间", "小时", 48, 2), ("弱口令账号", "个", 37, 0)),
}
GENERIC_METRICS = (("相关工作耗时", "小时/周", 20, 8),)


def _demo_pairs(home: Enterprise, own_provider_id: int, wanted: list[bool]) -> list:
    """A (need, package) pair for each entry of ``wanted`` (True: a package of the demo
    provider; False: another provider's), or None where none fits. Needs of the demo SME's city
    come first; never the demo SME's own needs (its deals tell another story)."""
    from ..models import Need, NeedStatus, Visibility
    from .packages import public_packages

    packages = db.session.scalars(public_packages().order_by(Package.id)).all()
    needs = db.session.scalars(
        select(Need).join(Need.enterprise)
        .where(Need.status == NeedStatus.OPEN, Need.visibility == Visibility.PUBLIC,
               Need.enterprise_id != home.id)
        .order_by(Need.id)).all()
    city = home.county.parent_id
    needs = sorted(needs, key=lambda n: (n.enterprise.county.parent_id != city, n.id))
    pairs, used = [], {home.id}
    for own in wanted:
        found = None
        for package in (p for p in packages if (p.provider_id == own_provider_id) == own):
            need = next((n for n in needs if n.category_code == package.category_code
                         and n.enterprise_id not in used), None)
            if need is not None:
                found = (need, package)
                used.add(need.enterprise_id)
                packages.remove(package)
                break
        pairs.append(found)
    return pairs


def _demo_order(need, package, days_ago: int) -> Order:
    from datetime import timedelta

    from ..models import DealRequest, NeedStatus, RequestStatus

    now = utcnow()
    request = DealRequest(need=need, package=package, enterprise_id=need.enterprise_id,
                          provider_id=package.provider_id, message="希望先来厂里看看现场。",
                          status=RequestStatus.ORDERED)
    need.status, need.closed_at = NeedStatus.CLOSED, now - timedelta(days=days_ago)
    return Order(need=need, request=request, package=package, enterprise_id=need.enterprise_id,
                 provider_id=package.provider_id, amount_fen=package.price_fen,
                 scope=package.summary, delivery_days=package.delivery_days,
                 due_date=(now - timedelta(days=days_ago + 5)).date(),
                 status=OrderStatus.ACCEPTED, delivered_at=now - timedelta(days=days_ago + 7),
                 accepted_at=now - timedelta(days=days_ago))


def _demo_case(order: Order, status: str, **fields) -> TypicalCase:
    need, package = order.need, order.package
    metrics = DEMO_METRICS.get(package.category_code, GENERIC_METRICS)
    first = metrics[0]
    case = TypicalCase(
        order=order, package=package, enterprise_id=order.enterprise_id,
        provider_id=order.provider_id, status=status,
        title=f"{need.enterprise.industry.name}企业：{package.title}",
        problem=need.description[:TEXT_MAX],
        solution=(f"选用{package.provider.name}的“{package.title}”：{package.summary}。"
                  f"服务商现场调研后{package.delivery_days}天内完成部署、调试和操作培训，"
                  "由企业生产负责人牵头，先在一条产线试点，再推广到全车间。"),
        results=(f"上线三个月，{first[0]}从 {first[2]:g}{first[1]} 变为 {first[3]:g}{first[1]}。"
                 "现场人员每天在手机和看板上查看数据，问题发现和处理都比原来快得多。"),
        quote="没想到投入不大，几周就见效，现在同行来厂里参观都要看这块看板。",
        metrics=[CaseMetric(name=m[0], unit=m[1], value_before=m[2], value_after=m[3], sort=i)
                 for i, m in enumerate(metrics)],
        **fields)
    return case


def load_demo_cases() -> None:
    """Demo cases on accepted orders of other SMEs: published ones (one featured, one
    anonymous) shown on their packages' pages, one waiting for the officials of the demo
    SME's region, one waiting for the demo provider's confirmation."""
    from datetime import timedelta

    users = {u.email: u for u in db.session.scalars(select(User).where(User.email.in_(
        ("sme@demo.zgsz.cn", "provider@demo.zgsz.cn", "admin@demo.zgsz.cn"))))}
    if len(users) < 3:
        return
    admin, seller = users["admin@demo.zgsz.cn"], users["provider@demo.zgsz.cn"]
    plans = [  # (a package of the demo provider?, the case)
        (True, dict(status=CaseStatus.PUBLISHED, featured=True, submitted_by=CaseSide.PROVIDER)),
        (False, dict(status=CaseStatus.PUBLISHED, submitted_by=CaseSide.SME)),
        (False, dict(status=CaseStatus.PUBLISHED, anonymous=True,
                     submitted_by=CaseSide.PROVIDER)),
        (False, dict(status=CaseStatus.SUBMITTED, submitted_by=CaseSide.PROVIDER)),
        (True, dict(status=CaseStatus.PENDING, submitted_by=CaseSide.SME)),
    ]
    pairs = _demo_pairs(users["sme@demo.zgsz.cn"].enterprise, seller.provider_id,
                        [own for own, _ in plans])
    now = utcnow()
    for position, (pair, (_own, plan)) in enumerate(zip(pairs, plans, strict=True)):
        if pair is None:
            continue
        need, package = pair
        order = _demo_order(need, package, days_ago=90 - position * 15)
        published = plan["status"] == CaseStatus.PUBLISHED
        db.session.add(_demo_case(
            order, **plan, curator=admin if published else None,
            published_at=now - timedelta(days=60 - position * 10) if published else None))
    db.session.flush()
