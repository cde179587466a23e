"""Matchmaking events (供需对接活动): organising, registering, the proposed and published meeting
schedule, and what came of each meeting.

- Officials of the event's region or above create, edit, open, cancel and finish an event.
- SMEs of the region (and of its cluster or chain, when it is aimed at one) and verified
  providers that serve the region or a region above it register while registration is open.
  The capacity of each side holds under concurrency: the write lock is taken and the event row
  locked ``FOR UPDATE`` before counting (as the subsidy budget is).
- :func:`propose_schedule` scores each (SME, provider) pair with the recommender — the best
  package of a registered provider for one of the SME's open needs, or for the SME's profile
  when it has none — and hands the pairs to :func:`matching.schedule_meetings`. The official
  moves, removes and adds meetings (each change checked with the same rules,
  :func:`matching.schedule_problems`) and publishes; the participants are notified.
- After the event each side records the outcome of its meetings; an SME's 「已发出对接申请」
  creates the deal request through :func:`deals.request_package`, so it flows into deals and
  statistics.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

import matching

from ..extensions import db
from ..models import (
    Cluster,
    DealRequest,
    Enterprise,
    EventMeeting,
    EventMode,
    EventRegistration,
    EventStatus,
    MatchEvent,
    Need,
    NeedStatus,
    Outcome,
    Package,
    Region,
    User,
)
from ..models._base import utcnow
from ..models.events import as_utc
from . import audit, deals
from .errors import IllegalTransition, NotAllowed, NotFound, ValidationFailed
from .matching import packages_for_enterprise, packages_for_need
from .notify import notify
from .regions import (
    region_by_code,
    region_choices,
    region_ids_for_code,
    region_ids_governed,
)
from .states import apply_step
from .txn import begin_write

TITLE_MIN, TITLE_MAX, DESCRIPTION_MAX = 4, 120, 5000
PLACE_MAX, LINK_MAX, REASON_MAX, NOTE_MAX = 200, 300, 1000, 1000
SLOT_MINUTES = (5, 120)
SLOT_COUNT = (1, 40)
TABLE_COUNT = (1, 100)
CAPACITY_MAX = 10_000
NEEDS_PER_SME = 10  # the newest open needs of an SME that are scored
SUGGESTIONS = 100  # packages asked of the recommender per need; registered providers are few

EVENT_TRANSITIONS = {
    "open": ({EventStatus.DRAFT}, EventStatus.OPEN),
    "publish": ({EventStatus.OPEN}, EventStatus.SCHEDULED),
    "finish": ({EventStatus.SCHEDULED}, EventStatus.FINISHED),
    "cancel": ({EventStatus.DRAFT, EventStatus.OPEN, EventStatus.SCHEDULED},
               EventStatus.CANCELLED),
}
ADJUSTABLE = (EventStatus.OPEN, EventStatus.SCHEDULED)


def now() -> datetime:
    """The present, aware (a seam for tests that need an event to be over)."""
    return utcnow()


# -- events -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventData:
    title: str
    description: str
    region_code: str
    mode: str
    place: str
    link: str
    starts_at: datetime  # aware
    slot_minutes: int
    slot_count: int
    table_count: int
    meetings_per_sme: int
    sme_capacity: int
    provider_capacity: int
    registration_deadline: datetime  # aware
    cluster_code: str = ""
    chain_leader_id: int | None = None


def _between(value: int | None, bounds: tuple[int, int]) -> bool:
    return value is not None and bounds[0] <= value <= bounds[1]


def check_event(actor: User, data: EventData) -> Region:
    """Refuse an event that cannot work, with a message per field; returns its region."""
    errors = {}
    if not TITLE_MIN <= len(data.title.strip()) <= TITLE_MAX:
        errors["title"] = _l("名称需要 %(lo)d 到 %(hi)d 个字。", lo=TITLE_MIN, hi=TITLE_MAX)
    if len(data.description.strip()) > DESCRIPTION_MAX:
        errors["description"] = _l("介绍最多 %(n)d 个字。", n=DESCRIPTION_MAX)
    region = region_by_code(data.region_code)
    if region is None or not actor.governs(region):
        errors["region_code"] = _l("只能为本地区或下辖地区举办活动。")
    if data.mode not in EventMode.ALL:
        errors["mode"] = _l("请选择线上或线下。")
    elif data.mode == EventMode.ONSITE and not 2 <= len(data.place.strip()) <= PLACE_MAX:
        errors["place"] = _l("线下活动请填写地点（最多 %(n)d 个字）。", n=PLACE_MAX)
    elif data.mode == EventMode.ONLINE and not (
            data.link.strip().startswith(("https://", "http://"))
            and len(data.link.strip()) <= LINK_MAX):
        errors["link"] = _l("线上活动请填写以 http:// 或 https:// 开头的会议链接。")
    if as_utc(data.starts_at) <= now():
        errors["starts_at"] = _l("开始时间需在将来。")
    if as_utc(data.registration_deadline) >= as_utc(data.starts_at):
        errors["registration_deadline"] = _l("报名截止时间需早于开始时间。")
    errors.update(_check_numbers(data))
    if data.cluster_code and db.session.get(Cluster, data.cluster_code) is None:
        errors["cluster_code"] = _l("不是有效的选择。")
    if data.chain_leader_id is not None:
        leader = db.session.get(Enterprise, data.chain_leader_id)
        if leader is None or not leader.is_chain_leader:
            errors["chain_leader_id"] = _l("不是有效的选择。")
    if errors:
        raise ValidationFailed(errors)
    return region


def _check_numbers(data: EventData) -> dict:
    errors = {}
    if not _between(data.slot_minutes, SLOT_MINUTES):
        errors["slot_minutes"] = _l("每轮时长需在 %(lo)d 到 %(hi)d 分钟之间。",
                                    lo=SLOT_MINUTES[0], hi=SLOT_MINUTES[1])
    if not _between(data.slot_count, SLOT_COUNT):
        errors["slot_count"] = _l("轮数需在 %(lo)d 到 %(hi)d 之间。",
                                  lo=SLOT_COUNT[0], hi=SLOT_COUNT[1])
    if not _between(data.table_count, TABLE_COUNT):
        errors["table_count"] = _l("洽谈桌数需在 %(lo)d 到 %(hi)d 之间。",
                                   lo=TABLE_COUNT[0], hi=TABLE_COUNT[1])
    most = data.slot_count if "slot_count" not in errors else SLOT_COUNT[1]
    if not _between(data.meetings_per_sme, (1, most)):
        errors["meetings_per_sme"] = _l("每家企业的见面次数需在 1 到轮数之间。")
    for name in ("sme_capacity", "provider_capacity"):
        if not _between(getattr(data, name), (1, CAPACITY_MAX)):
            errors[name] = _l("名额需在 1 到 %(n)d 之间。", n=CAPACITY_MAX)
    return errors


def _fill(event: MatchEvent, data: EventData, region: Region) -> None:
    event.title, event.description = data.title.strip(), data.description.strip()
    event.region_id, event.mode = region.id, data.mode
    event.place = data.place.strip() if data.mode == EventMode.ONSITE else ""
    event.link = data.link.strip() if data.mode == EventMode.ONLINE else ""
    event.starts_at = as_utc(data.starts_at)
    event.registration_deadline = as_utc(data.registration_deadline)
    for name in ("slot_minutes", "slot_count", "table_count", "meetings_per_sme",
                 "sme_capacity", "provider_capacity"):
        setattr(event, name, getattr(data, name))
    event.cluster_code = data.cluster_code or None
    event.chain_leader_id = data.chain_leader_id


def create_event(actor: User, data: EventData) -> MatchEvent:
    """A draft event in the official's region or one below it."""
    if not actor.is_gov or actor.region is None:
        raise NotAllowed(_l("只有地方政府账号可以举办对接活动。"))
    region = check_event(actor, data)
    event = MatchEvent(created_by_id=actor.id, status=EventStatus.DRAFT)
    _fill(event, data, region)
    db.session.add(event)
    db.session.flush()
    audit.record(actor, "create_event", event, region_id=event.region_id, title=event.title)
    return event


def _require_manager(actor: User, event: MatchEvent) -> None:
    if not event.can_manage(actor):
        raise NotAllowed(_l("只有活动所在地区（或上级）的政府账号可以管理这场活动。"))


def _locked(event: MatchEvent) -> MatchEvent:
    """The event row, locked until the transaction ends (write lock on SQLite)."""
    begin_write()
    return db.session.scalar(select(MatchEvent).where(MatchEvent.id == event.id)
                             .with_for_update().execution_options(populate_existing=True))


def update_event(actor: User, event: MatchEvent, data: EventData) -> None:
    """Edit a draft or open event. Once open, its region stays, capacities cannot drop below
    the registrations and the grid must still hold the proposed meetings."""
    _require_manager(actor, event)
    event = _locked(event)
    if event.status not in (EventStatus.DRAFT, EventStatus.OPEN):
        raise IllegalTransition(_l("日程发布后不能再修改活动信息。"))
    region = check_event(actor, data)
    errors = {}
    if event.status == EventStatus.OPEN and region.id != event.region_id:
        errors["region_code"] = _l("活动已开放报名，不能更改地区。")
    counts = registration_counts(event)
    for name, side in (("sme_capacity", "enterprise"), ("provider_capacity", "provider")):
        if getattr(data, name) < counts[side]:
            errors[name] = _l("已有 %(n)d 家报名，名额不能少于报名数。", n=counts[side])
    grid = [_assignment(m) for m in event.meetings]
    for problem in matching.schedule_problems(grid, data.slot_count, data.table_count,
                                              data.meetings_per_sme):
        field = {"slot_out_of_range": "slot_count", "table_out_of_range": "table_count",
                 "sme_over_limit": "meetings_per_sme"}.get(problem.kind, "slot_count")
        errors.setdefault(field, _l("已安排的对接用到了更多的轮次、桌数或见面次数；"
                                    "请先调整日程。"))
    if errors:
        raise ValidationFailed(errors)
    _fill(event, data, region)
    audit.record(actor, "update_event", event, region_id=event.region_id)


def change_event_status(actor: User, event: MatchEvent, action: str, reason: str = "") -> None:
    """``open`` registration, ``finish`` after it began, or ``cancel`` with a reason."""
    _require_manager(actor, event)
    if action == "publish":  # publishing has its own checks and notices
        raise IllegalTransition(_l("不支持的操作。"))
    reason = reason.strip()
    if action == "cancel" and not 1 <= len(reason) <= REASON_MAX:
        raise ValidationFailed({"reason": _l("请说明取消原因（最多 %(n)d 个字）。", n=REASON_MAX)})
    event = _locked(event)
    moment = now()
    if action == "open" and as_utc(event.registration_deadline) <= moment:
        raise IllegalTransition(_l("报名截止时间已过，请先修改活动时间。"))
    if action == "finish" and moment < as_utc(event.starts_at):
        raise IllegalTransition(_l("活动开始后才能结束。"))
    was = event.status
    apply_step(EVENT_TRANSITIONS, event, action, _l("活动当前状态不能这样操作。"))
    if action == "cancel":
        event.cancel_reason = reason
        if was != EventStatus.DRAFT:
            _notify_participants(event, "event_cancelled")
    audit.record(actor, f"{action}_event", event, region_id=event.region_id,
                 **({"reason": reason} if reason else {}))


def _notify_participants(event: MatchEvent, kind: str) -> None:
    for registration in event.registrations:
        notify(kind, event.title, f"/events/{event.id}",
               enterprise_id=registration.enterprise_id,
               provider_id=registration.provider_id)


# -- registration -------------------------------------------------------------------------------


def registration_counts(event: MatchEvent) -> Counter:
    """How many enterprises and providers registered (keys ``enterprise``, ``provider``)."""
    rows = db.session.execute(
        select(func.count(EventRegistration.enterprise_id),
               func.count(EventRegistration.provider_id))
        .where(EventRegistration.event_id == event.id)).one()
    return Counter(enterprise=rows[0], provider=rows[1])


def registration_of(actor: User, event: MatchEvent) -> EventRegistration | None:
    column, value = _party_key(actor)
    if column is None:
        return None
    return db.session.scalar(select(EventRegistration).where(
        EventRegistration.event_id == event.id, column == value))


def _party_key(actor: User):
    if actor.is_sme and actor.enterprise_id is not None:
        return EventRegistration.enterprise_id, actor.enterprise_id
    if actor.is_provider and actor.provider_id is not None:
        return EventRegistration.provider_id, actor.provider_id
    return None, None


def registration_problem(actor: User, event: MatchEvent):
    """Why ``actor`` may not register for ``event`` (None if it may); capacity aside."""
    if not event.registration_open(now()):
        return _l("本场活动现在不接受报名。")
    if actor.is_sme and actor.enterprise is not None:
        return _enterprise_problem(actor.enterprise, event)
    if actor.is_provider and actor.provider is not None:
        provider = actor.provider
        if not provider.is_public:
            return _l("只有已认证的服务商可以报名。")
        above = {r.id for r in event.region.ancestors_and_self()}
        if not any(r.id in above for r in provider.regions_served):
            return _l("贵单位的服务地区不包括本场活动所在地区。")
        return None
    return _l("只有企业用户和服务商用户可以报名，请先填写单位信息。")


def _enterprise_problem(enterprise: Enterprise, event: MatchEvent):
    if not event.region.contains(enterprise.county):
        return _l("本场活动面向 %(region)s 的企业。", region=event.region.full_label)
    aimed = [(event.cluster_code, enterprise.cluster_code),
             (event.chain_leader_id, enterprise.chain_leader_id)]
    if any(wanted is not None for wanted, _ in aimed) and not any(
            wanted is not None and wanted == own for wanted, own in aimed):
        return _l("本场活动面向指定产业集群或产业链的企业。")
    return None


def register(actor: User, event: MatchEvent) -> EventRegistration:
    """Register the actor's enterprise or provider, within its side's capacity."""
    problem = registration_problem(actor, event)
    if problem is not None:
        raise NotAllowed(problem)
    event = _locked(event)  # concurrent registrations count one after another from here
    if not event.registration_open(now()):
        raise IllegalTransition(_l("本场活动现在不接受报名。"))
    if registration_of(actor, event) is not None:
        raise IllegalTransition(_l("您已经报名了。"))
    side = "enterprise" if actor.is_sme else "provider"
    capacity = event.sme_capacity if actor.is_sme else event.provider_capacity
    if registration_counts(event)[side] >= capacity:
        raise IllegalTransition(_l("名额已满。"))
    registration = EventRegistration(
        event_id=event.id, registered_by_id=actor.id,
        enterprise_id=actor.enterprise_id if actor.is_sme else None,
        provider_id=actor.provider_id if actor.is_provider else None)
    db.session.add(registration)
    db.session.flush()
    audit.record(actor, "register_event", registration, region_id=event.region_id,
                 event_id=event.id)
    return registration


def unregister(actor: User, event: MatchEvent) -> None:
    """Withdraw before the deadline; the party's proposed meetings go too."""
    event = _locked(event)
    if not event.registration_open(now()):
        raise IllegalTransition(_l("报名已截止，不能再取消报名；请联系主办方。"))
    registration = registration_of(actor, event)
    if registration is None:
        raise IllegalTransition(_l("您没有报名这场活动。"))
    for meeting in list(event.meetings):
        if meeting.side_of(actor) is not None:
            event.meetings.remove(meeting)
    audit.record(actor, "unregister_event", registration, region_id=event.region_id,
                 event_id=event.id)
    event.registrations.remove(registration)
    db.session.flush()


# -- the schedule -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairFit:
    """Why a pair is proposed: the recommender's best package of the provider for the SME."""

    score: float
    need_id: int | None
    package_id: int


def pair_fits(event: MatchEvent) -> dict[tuple[int, int], PairFit]:
    """The best fit of every (enterprise id, provider id) pair of registered parties."""
    providers = {r.provider_id for r in event.registrations if r.provider_id}
    fits: dict[tuple[int, int], PairFit] = {}
    for registration in event.registrations:
        enterprise = registration.enterprise
        if enterprise is None:
            continue
        for need, suggestion in _suggestions(enterprise):
            package = suggestion.item
            key = (enterprise.id, package.provider_id)
            if package.provider_id in providers and (
                    key not in fits or suggestion.score > fits[key].score):
                fits[key] = PairFit(suggestion.score, need.id if need else None, package.id)
    return fits


def _suggestions(enterprise: Enterprise):
    needs = db.session.scalars(
        select(Need).where(Need.enterprise_id == enterprise.id, Need.status == NeedStatus.OPEN)
        .order_by(Need.created_at.desc(), Need.id.desc()).limit(NEEDS_PER_SME)).all()
    if not needs:
        return [(None, s) for s in packages_for_enterprise(enterprise, n=SUGGESTIONS)]
    return [(need, s) for need in needs for s in packages_for_need(need, n=SUGGESTIONS)]


def propose_schedule(actor: User, event: MatchEvent) -> list[EventMeeting]:
    """Replace the proposal with a new one from the recommender and the scheduler."""
    _require_manager(actor, event)
    event = _locked(event)
    if event.status != EventStatus.OPEN:
        raise IllegalTransition(_l("只有报名中的活动可以生成日程；已发布的日程请逐条调整。"))
    fits = pair_fits(event)
    candidates = [matching.Candidate(e, p, fit.score) for (e, p), fit in fits.items()]
    assignments = matching.schedule_meetings(candidates, event.slot_count, event.table_count,
                                             event.meetings_per_sme)
    event.meetings.clear()
    db.session.flush()  # the old proposal leaves before the new one takes its tables
    for a in assignments:
        fit = fits[(a.sme, a.provider)]
        event.meetings.append(EventMeeting(
            slot_index=a.slot, table_index=a.table, enterprise_id=a.sme, provider_id=a.provider,
            need_id=fit.need_id, package_id=fit.package_id, score=fit.score))
    db.session.flush()
    audit.record(actor, "propose_schedule", event, region_id=event.region_id,
                 pairs=len(candidates), meetings=len(assignments))
    return list(event.meetings)


def _assignment(meeting: EventMeeting) -> matching.Assignment:
    return matching.Assignment(meeting.slot_index, meeting.table_index, meeting.enterprise_id,
                               meeting.provider_id)


PROBLEM_FIELDS = {
    "slot_out_of_range": ("slot", _l("轮次需在 1 到轮数之间。")),
    "table_out_of_range": ("table", _l("桌号需在 1 到桌数之间。")),
    "table_taken": ("table", _l("这一轮的这张桌已有安排。")),
    "sme_busy": ("slot", _l("这家企业在这一轮已有安排。")),
    "provider_busy": ("slot", _l("这家服务商在这一轮已有安排。")),
    "pair_repeated": ("provider_id", _l("这家企业和这家服务商已经安排过见面。")),
    "sme_over_limit": ("enterprise_id", _l("这家企业的见面次数已达上限。")),
}


def _check_change(event: MatchEvent, changed: EventMeeting | None,
                  proposed: matching.Assignment) -> None:
    """Refuse a moved or added meeting that breaks a rule of the schedule (the same rules as
    the scheduler's), with the message beside the field it concerns."""
    others = [_assignment(m) for m in event.meetings if m is not changed]
    errors = {}
    for problem in matching.schedule_problems([*others, proposed], event.slot_count,
                                              event.table_count, event.meetings_per_sme):
        if problem.assignment is proposed:
            field, message = PROBLEM_FIELDS[problem.kind]
            errors.setdefault(field, message)
    if errors:
        raise ValidationFailed(errors)


def _adjustable(actor: User, event: MatchEvent) -> MatchEvent:
    _require_manager(actor, event)
    event = _locked(event)
    if event.status not in ADJUSTABLE:
        raise IllegalTransition(_l("活动当前状态不能调整日程。"))
    return event


def _tell_parties(event: MatchEvent, meeting: EventMeeting) -> None:
    """After publication every change is news to the two parties."""
    if event.status == EventStatus.SCHEDULED:
        for key in ({"enterprise_id": meeting.enterprise_id},
                    {"provider_id": meeting.provider_id}):
            notify("event_changed", event.title, f"/events/{event.id}", **key)


def move_meeting(actor: User, meeting: EventMeeting, slot_index: int, table_index: int) -> None:
    event = _adjustable(actor, meeting.event)
    _check_change(event, meeting, matching.Assignment(
        slot_index, table_index, meeting.enterprise_id, meeting.provider_id))
    before = (meeting.slot_index, meeting.table_index)
    meeting.slot_index, meeting.table_index = slot_index, table_index
    db.session.flush()
    _tell_parties(event, meeting)
    audit.record(actor, "move_meeting", meeting, region_id=event.region_id,
                 before=list(before), after=[slot_index, table_index])


def remove_meeting(actor: User, meeting: EventMeeting) -> None:
    event = _adjustable(actor, meeting.event)
    _tell_parties(event, meeting)
    audit.record(actor, "remove_meeting", meeting, region_id=event.region_id,
                 enterprise_id=meeting.enterprise_id, provider_id=meeting.provider_id)
    event.meetings.remove(meeting)
    db.session.flush()


def add_meeting(actor: User, event: MatchEvent, enterprise_id: int, provider_id: int,
                slot_index: int, table_index: int) -> EventMeeting:
    """A meeting the official adds by hand between two registered parties."""
    event = _adjustable(actor, event)
    registered = {(r.enterprise_id, r.provider_id) for r in event.registrations}
    errors = {}
    if (enterprise_id, None) not in registered:
        errors["enterprise_id"] = _l("这家企业没有报名本场活动。")
    if (None, provider_id) not in registered:
        errors["provider_id"] = _l("这家服务商没有报名本场活动。")
    if errors:
        raise ValidationFailed(errors)
    _check_change(event, None, matching.Assignment(slot_index, table_index, enterprise_id,
                                                   provider_id))
    meeting = EventMeeting(slot_index=slot_index, table_index=table_index,
                           enterprise_id=enterprise_id, provider_id=provider_id)
    event.meetings.append(meeting)
    db.session.flush()
    _tell_parties(event, meeting)
    audit.record(actor, "add_meeting", meeting, region_id=event.region_id,
                 enterprise_id=enterprise_id, provider_id=provider_id)
    return meeting


def publish_schedule(actor: User, event: MatchEvent) -> None:
    """Publish the schedule (registration closes) and tell every participant."""
    _require_manager(actor, event)
    event = _locked(event)
    if event.status == EventStatus.OPEN and not event.meetings:
        raise IllegalTransition(_l("日程还是空的：请先生成或添加对接安排。"))
    apply_step(EVENT_TRANSITIONS, event, "publish", _l("只有报名中的活动可以发布日程。"))
    event.published_at = now()
    _notify_participants(event, "event_scheduled")
    audit.record(actor, "publish_schedule", event, region_id=event.region_id,
                 meetings=len(event.meetings))


# -- outcomes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutcomeData:
    outcome: str
    note: str = ""
    need_id: int | None = None  # with ``request_sent``: the need and package of the request
    package_id: int | None = None


def record_outcome(actor: User, meeting: EventMeeting, data: OutcomeData) -> None:
    """One side says what came of its meeting; an SME's ``request_sent`` sends the request."""
    side = meeting.side_of(actor)
    if side is None:
        raise NotAllowed(_l("只有见面的双方可以记录结果。"))
    event = meeting.event
    if not event.outcomes_open(now()):
        raise IllegalTransition(_l("活动结束后才能记录对接结果。"))
    allowed = Outcome.ALL if side == "sme" else Outcome.PROVIDER
    errors = {}
    if data.outcome not in allowed:
        errors["outcome"] = _l("不是有效的选择。")
    if len(data.note.strip()) > NOTE_MAX:
        errors["note"] = _l("备注最多 %(n)d 个字。", n=NOTE_MAX)
    if side == "sme" and meeting.deal_request_id and data.outcome != Outcome.REQUEST_SENT:
        errors["outcome"] = _l("已经发出对接申请，结果不能再改。")
    if errors:
        raise ValidationFailed(errors)
    if side == "sme" and data.outcome == Outcome.REQUEST_SENT and not meeting.deal_request_id:
        _send_request(actor, meeting, data)
    setattr(meeting, f"{side}_outcome", data.outcome)
    setattr(meeting, f"{side}_note", data.note.strip())
    audit.record(actor, "record_outcome", meeting, region_id=event.region_id, side=side,
                 outcome=data.outcome)


def _send_request(actor: User, meeting: EventMeeting, data: OutcomeData) -> None:
    need = db.session.get(Need, data.need_id) if data.need_id else None
    package = db.session.get(Package, data.package_id) if data.package_id else None
    errors = {}
    if need is None or need.enterprise_id != meeting.enterprise_id \
            or need.status != NeedStatus.OPEN:
        errors["need_id"] = _l("请选择本企业一条征集中的需求。")
    if package is None or package.provider_id != meeting.provider_id or not package.is_public:
        errors["package_id"] = _l("请选择这家服务商已发布的方案包。")
    elif need is not None and db.session.scalar(select(DealRequest.id).where(
            DealRequest.need_id == need.id, DealRequest.package_id == package.id)):
        errors["package_id"] = _l("这条需求已经申请过这个方案包，请到“对接与订单”查看。")
    if errors:
        raise ValidationFailed(errors)
    message = data.note.strip() or str(_l("在“%(title)s”对接活动中洽谈后申请。",
                                          title=meeting.event.title))
    request = deals.request_package(actor, need, package, message[:deals.MESSAGE_MAX])
    meeting.deal_request_id, meeting.need_id, meeting.package_id = request.id, need.id, package.id


# -- lookups ------------------------------------------------------------------------------------


def get_event(actor: User, event_id: int) -> MatchEvent:
    event = db.session.get(MatchEvent, event_id)
    if event is None or not event.can_view(actor):
        raise NotFound()
    return event


def get_meeting(actor: User, meeting_id: int) -> EventMeeting:
    """A meeting its parties (once published) and the organisers may see."""
    meeting = db.session.get(EventMeeting, meeting_id)
    if meeting is None or not meeting.event.can_view(actor):
        raise NotFound()
    published = meeting.event.status in (EventStatus.SCHEDULED, EventStatus.FINISHED)
    if meeting.event.can_see_participants(actor) or (published and meeting.side_of(actor)):
        return meeting
    raise NotFound()


@dataclass(frozen=True)
class EventFilter:
    region_code: str = ""
    cluster_code: str = ""
    past: bool = False


def events_for(actor: User, filters: EventFilter = EventFilter(), limit: int = 200):
    """Upcoming events (or past ones), soonest first; officials also see their drafts."""
    visible = MatchEvent.status.in_(EventStatus.PUBLIC)
    if actor.is_gov:
        visible = visible | MatchEvent.region_id.in_(region_ids_governed(actor))
    elif actor.is_admin:
        visible = MatchEvent.id.is_not(None)
    moment = now()
    query = select(MatchEvent).where(visible)
    if filters.past:
        query = query.where(MatchEvent.starts_at < moment - timedelta(hours=12)).order_by(
            MatchEvent.starts_at.desc(), MatchEvent.id.desc())
    else:  # an event of the day stays "upcoming" until the evening
        query = query.where(MatchEvent.starts_at >= moment - timedelta(hours=12),
                            MatchEvent.status != EventStatus.CANCELLED).order_by(
            MatchEvent.starts_at, MatchEvent.id)
    if filters.region_code:
        query = query.where(MatchEvent.region_id.in_(region_ids_for_code(filters.region_code)))
    if filters.cluster_code:
        query = query.where(MatchEvent.cluster_code == filters.cluster_code)
    return list(db.session.scalars(query.limit(limit)))


def my_meetings(actor: User, event: MatchEvent) -> list[EventMeeting]:
    """The actor's meetings once the schedule is published (a proposal is the organisers')."""
    if event.status not in (EventStatus.SCHEDULED, EventStatus.FINISHED):
        return []
    return [m for m in event.meetings if m.side_of(actor)]


def schedule_grid(event: MatchEvent) -> list[list[EventMeeting | None]]:
    """The meetings as rows of slots with a cell per table."""
    grid: list[list[EventMeeting | None]] = [[None] * event.table_count
                                             for _ in range(event.slot_count)]
    for meeting in event.meetings:
        if meeting.slot_index < event.slot_count and meeting.table_index < event.table_count:
            grid[meeting.slot_index][meeting.table_index] = meeting
    return grid


def outcome_summary(event: MatchEvent) -> dict:
    """What came of the meetings, for the organisers: outcomes per side and requests sent."""
    return {
        "meetings": len(event.meetings),
        "sme": Counter(m.sme_outcome for m in event.meetings),
        "provider": Counter(m.provider_outcome for m in event.meetings),
        "requests": sum(1 for m in event.meetings if m.deal_request_id),
    }


def open_needs_for(meeting: EventMeeting) -> list[Need]:
    return list(db.session.scalars(select(Need).where(
        Need.enterprise_id == meeting.enterprise_id, Need.status == NeedStatus.OPEN)
        .order_by(Need.created_at.desc(), Need.id.desc())))


def packages_of(meeting: EventMeeting) -> list[Package]:
    """The provider's packages anyone may see (what an SME may request)."""
    return [p for p in db.session.scalars(select(Package).where(
        Package.provider_id == meeting.provider_id).order_by(Package.id)) if p.is_public]


def governed_regions(actor: User) -> list[Region]:
    """The regions an official may hold an event in, in tree order."""
    ids = region_ids_governed(actor)
    return [r for r in region_choices() if r.id in ids]


# -- demo ---------------------------------------------------------------------------------------


def load_demo_events() -> None:
    """Demo events in the demo SME's city, run by the city official: an upcoming one open for
    registration with the demo SME, the demo provider and other SMEs and providers of the city
    registered and a proposed (unpublished) schedule; and one finished last month whose
    meetings have outcomes — the demo SME's meeting with the demo provider led to the request
    that now waits for the provider's quote."""
    users = {u.email: u for u in db.session.scalars(select(User).where(User.email.in_(
        ("sme@demo.zgsz.cn", "provider@demo.zgsz.cn", "city@demo.zgsz.cn"))))}
    if len(users) < 3 or users["sme@demo.zgsz.cn"].enterprise is None:
        return
    sme, seller, official = (users["sme@demo.zgsz.cn"], users["provider@demo.zgsz.cn"],
                             users["city@demo.zgsz.cn"])
    city = official.region
    smes, providers = _demo_parties(city, sme.enterprise_id, seller.provider_id)
    day = (now() + timedelta(days=10)).astimezone(deals.LOCAL_TZ).replace(
        hour=14, minute=0, second=0, microsecond=0)
    upcoming = create_event(official, EventData(
        title=f"{city.name}中小企业智改数转供需对接会", region_code=city.code,
        description="围绕设备联网、生产管理和质量检测，企业与服务商分轮面对面洽谈，每轮 20 分钟。",
        mode=EventMode.ONSITE, place=f"{city.name}工业和信息化局三楼会议中心（示例）", link="",
        starts_at=day, slot_minutes=20, slot_count=6, table_count=8, meetings_per_sme=3,
        sme_capacity=40, provider_capacity=12, registration_deadline=day - timedelta(days=2)))
    change_event_status(official, upcoming, "open")
    register(sme, upcoming)
    register(seller, upcoming)
    _demo_register(upcoming, smes, providers)
    propose_schedule(official, upcoming)
    _demo_finished_event(official, city, sme, seller, smes[:6], providers[:4])


def _demo_parties(city: Region, home_id: int, seller_id: int):
    """Other SMEs of the city with open needs, and verified providers serving it."""
    from .packages import public_packages

    city_ids = city.subtree_ids()
    smes = db.session.scalars(
        select(Enterprise).where(Enterprise.county_id.in_(city_ids), ~Enterprise.is_chain_leader,
                                 Enterprise.id != home_id,
                                 Enterprise.id.in_(select(Need.enterprise_id).where(
                                     Need.status == NeedStatus.OPEN)))
        .order_by(Enterprise.id).limit(11)).all()
    above = {r.id for r in city.ancestors_and_self()}
    counts = Counter(p.provider_id for p in db.session.scalars(public_packages()))
    providers = [p for p in {p.provider for p in db.session.scalars(public_packages())}
                 if p.id != seller_id and any(r.id in above for r in p.regions_served)]
    providers.sort(key=lambda p: (-counts[p.id], p.id))
    return list(smes), providers[:7]


def _demo_register(event: MatchEvent, smes, providers) -> None:
    at = min(now(), as_utc(event.registration_deadline) - timedelta(days=1))
    for enterprise in smes:
        event.registrations.append(EventRegistration(enterprise_id=enterprise.id, created_at=at))
    for provider in providers:
        event.registrations.append(EventRegistration(provider_id=provider.id, created_at=at))
    db.session.flush()


def _demo_finished_event(official: User, city: Region, sme: User, seller: User, smes,
                         providers) -> None:
    started = as_utc((now() - timedelta(days=30)).astimezone(deals.LOCAL_TZ).replace(
        hour=9, minute=30, second=0, microsecond=0))  # stored in UTC, as _fill does
    event = MatchEvent(
        region_id=city.id, created_by_id=official.id, title=f"{city.name}高端装备产业链对接专场",
        description="链主企业与配套中小企业、平台服务商面对面。", mode=EventMode.ONSITE,
        place=f"{city.name}高新区创新中心（示例）", starts_at=started, slot_minutes=20,
        slot_count=4, table_count=6, meetings_per_sme=2, sme_capacity=20, provider_capacity=8,
        registration_deadline=started - timedelta(days=3), status=EventStatus.FINISHED,
        published_at=started - timedelta(days=2))
    db.session.add(event)
    db.session.flush()
    _demo_register(event, [sme.enterprise, *smes], [seller.provider, *providers])
    fits = pair_fits(event)
    request = db.session.scalar(select(DealRequest).where(
        DealRequest.enterprise_id == sme.enterprise_id,
        DealRequest.provider_id == seller.provider_id, DealRequest.status == "pending"))
    home_pair = (sme.enterprise_id, seller.provider_id)
    candidates = [matching.Candidate(e, p, fit.score) for (e, p), fit in fits.items()
                  if (e, p) != home_pair]
    candidates.append(matching.Candidate(*home_pair, 1.0))  # the demo's story: they met
    outcomes = [(Outcome.FOLLOW_UP, Outcome.FOLLOW_UP), (Outcome.NO_FIT, Outcome.NO_FIT),
                (Outcome.FOLLOW_UP, Outcome.NONE)]
    for i, a in enumerate(matching.schedule_meetings(candidates, event.slot_count,
                                                     event.table_count,
                                                     event.meetings_per_sme)):
        fit = fits.get((a.sme, a.provider))
        meeting = EventMeeting(slot_index=a.slot, table_index=a.table, enterprise_id=a.sme,
                               provider_id=a.provider, score=fit.score if fit else None,
                               need_id=fit.need_id if fit else None,
                               package_id=fit.package_id if fit else None)
        meeting.sme_outcome, meeting.provider_outcome = outcomes[i % len(outcomes)]
        if (a.sme, a.provider) == home_pair and request is not None:
            meeting.need_id, meeting.package_id = request.need_id, request.package_id
            meeting.deal_request_id = request.id
            meeting.sme_outcome, meeting.provider_outcome = Outcome.REQUEST_SENT, Outcome.FOLLOW_UP
            meeting.sme_note = "现场看了演示，回来后发出了对接申请。"
        event.meetings.append(meeting)
    db.session.flush()
