"""Needs: posting, editing, closing and reopening, and who may list which."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, or_, select

from ..extensions import db
from ..models import (
    Category,
    DealRequest,
    Enterprise,
    Need,
    NeedStatus,
    ScenarioLevel,
    User,
    Visibility,
)
from ..models._base import utcnow
from . import audit
from .errors import IllegalTransition, NotAllowed, NotFound, ValidationFailed
from .regions import region_ids_for_code, region_ids_governed
from .states import apply_step
from .textmatch import contains_text

TITLE_MAX = 120
AUDITED_FIELDS = ("title", "description", "category_code", "scenario_level_code",
                  "budget_min_fen", "budget_max_fen", "desired_start", "visibility")
DESCRIPTION_MIN, DESCRIPTION_MAX = 20, 5000

# The allowed steps of a need, in one place: action -> (from states, to state).
TRANSITIONS = {
    "close": ({NeedStatus.OPEN, NeedStatus.IN_PROGRESS}, NeedStatus.CLOSED),
    "reopen": ({NeedStatus.CLOSED}, NeedStatus.OPEN),
}


@dataclass(frozen=True)
class NeedData:
    title: str
    description: str
    category_code: str
    scenario_level_code: str
    budget_min_fen: int | None
    budget_max_fen: int | None
    desired_start: date | None
    visibility: str


def check_need(data: NeedData) -> None:
    """The rules of a need, wherever it comes from (the web form, the API, an import)."""
    errors = {}
    if not data.title.strip() or len(data.title.strip()) > TITLE_MAX:
        errors["title"] = _l("标题需要 1 到 %(n)d 个字。", n=TITLE_MAX)
    length = len(data.description.strip())
    if not DESCRIPTION_MIN <= length <= DESCRIPTION_MAX:
        errors["description"] = _l(
            "需求描述需要 %(lo)d 到 %(hi)d 个字。", lo=DESCRIPTION_MIN, hi=DESCRIPTION_MAX
        )
    if db.session.get(Category, data.category_code) is None:
        errors["category_code"] = _l("请选择解决方案类别。")
    if db.session.get(ScenarioLevel, data.scenario_level_code) is None:
        errors["scenario_level_code"] = _l("请选择场景层级。")
    low, high = data.budget_min_fen, data.budget_max_fen
    if low is not None and high is not None and low > high:
        errors["budget_max_fen"] = _l("预算上限不能低于下限。")
    if data.desired_start is not None and not (
        date(2020, 1, 1) <= data.desired_start <= date(2035, 12, 31)
    ):
        errors["desired_start"] = _l("请填写 2020 年到 2035 年之间的日期。")
    if data.visibility not in Visibility.ALL:
        errors["visibility"] = _l("请选择公开范围。")
    if errors:
        raise ValidationFailed(errors)


def fill_need(need: Need, data: NeedData) -> None:
    need.title = data.title.strip()
    need.description = data.description.strip()
    need.category_code = data.category_code
    need.scenario_level_code = data.scenario_level_code
    need.budget_min_fen = data.budget_min_fen
    need.budget_max_fen = data.budget_max_fen
    need.desired_start = data.desired_start
    need.visibility = data.visibility


def create_need(actor: User, data: NeedData) -> Need:
    if not actor.is_sme or actor.enterprise is None:
        raise NotAllowed(_l("请先以企业用户身份填写企业信息，再发布需求。"))
    check_need(data)
    need = Need(enterprise_id=actor.enterprise_id, author_id=actor.id, status=NeedStatus.OPEN)
    fill_need(need, data)
    db.session.add(need)
    db.session.flush()
    audit.record(actor, "create_need", need, region_id=actor.enterprise.county_id)
    return need


def update_need(actor: User, need: Need, data: NeedData) -> Need:
    if not need.can_edit(actor):
        raise NotAllowed(_l("只能修改本企业的需求。"))
    if need.status == NeedStatus.CLOSED:
        raise IllegalTransition(_l("需求已关闭，请先重新打开再修改。"))
    check_need(data)
    before = audit.values_of(need, AUDITED_FIELDS)
    fill_need(need, data)
    audit.record_edit(actor, "update_need", need, before, audit.values_of(need, AUDITED_FIELDS),
                      region_id=need.enterprise.county_id)
    return need


def change_need_status(actor: User, need: Need, action: str) -> Need:
    """Apply ``close`` or ``reopen``; anything else, or from the wrong state, is refused."""
    if not need.can_edit(actor):
        raise NotAllowed(_l("只能操作本企业的需求。"))
    target = apply_step(TRANSITIONS, need, action, _l("需求当前的状态不允许这个操作。"))
    need.closed_at = utcnow() if target == NeedStatus.CLOSED else None
    audit.record(actor, f"{action}_need", need, region_id=need.enterprise.county_id)
    return need


def get_need(actor: User, need_id: int) -> Need:
    """The need if ``actor`` may see it; 404 otherwise (its existence is private too)."""
    need = db.session.get(Need, need_id)
    if need is None or not need.can_view(actor):
        raise NotFound()
    return need


def view_need(actor: User, need_id: int) -> Need:
    """:func:`get_need` for reading it; an official or admin opening another company's
    private need leaves an audit entry (sensitive data access is audited)."""
    need = get_need(actor, need_id)
    if need.visibility == Visibility.PRIVATE and (actor.is_gov or actor.is_admin):
        audit.record(actor, "view_need", need, region_id=need.enterprise.county_id)
    return need


@dataclass(frozen=True)
class NeedFilters:
    q: str = ""
    category_code: str = ""
    scenario_level_code: str = ""
    status: str = ""
    region_code: str = ""
    mine: bool = False


def visible_needs(actor: User, filters: NeedFilters) -> Select:
    """A query of the needs ``actor`` may see, narrowed by ``filters``, newest first."""
    query = select(Need).join(Need.enterprise)
    if filters.mine or actor.is_sme:
        own = Need.enterprise_id == actor.enterprise_id
        query = query.where(own if filters.mine else or_(own, Need.visibility == Visibility.PUBLIC))
    elif actor.is_gov:
        governed = region_ids_governed(actor)
        query = query.where(
            or_(Need.visibility == Visibility.PUBLIC, Enterprise.county_id.in_(governed))
        )
    elif actor.is_provider:
        engaged = select(DealRequest.need_id).where(DealRequest.provider_id == actor.provider_id)
        query = query.where(or_(Need.visibility == Visibility.PUBLIC, Need.id.in_(engaged)))
    elif not actor.is_admin:
        query = query.where(Need.visibility == Visibility.PUBLIC)
    if filters.q:
        query = query.where(contains_text(filters.q, Need.title, Need.description))
    if filters.category_code:
        query = query.where(Need.category_code == filters.category_code)
    if filters.scenario_level_code:
        query = query.where(Need.scenario_level_code == filters.scenario_level_code)
    if filters.status in NeedStatus.ALL:
        query = query.where(Need.status == filters.status)
    if filters.region_code:
        query = query.where(Enterprise.county_id.in_(region_ids_for_code(filters.region_code)))
    return query.order_by(Need.created_at.desc(), Need.id.desc())

