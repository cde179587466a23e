"""Matchmaking events: the list, an event's page (register, my schedule, outcomes) and the
organisers' pages (the form, registrations, the schedule grid with its adjustments)."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from .. import refchoices
from ..extensions import db
from ..models import EventMeeting, EventMode, EventStatus, Outcome, Role
from ..models.events import as_utc
from ..services import events
from ..services.deals import LOCAL_TZ
from ..views import role_required, submit
from .forms import (
    AddMeetingForm,
    CancelForm,
    EventFilterForm,
    EventForm,
    MoveForm,
    OutcomeForm,
)

bp = Blueprint("events", __name__)

STATUS_LABELS = {"draft": _l("草稿"), "open": _l("报名中"), "scheduled": _l("日程已发布"),
                 "finished": _l("已结束"), "cancelled": _l("已取消")}
OUTCOME_LABELS = {"none": _l("未填写"), "follow_up": _l("继续洽谈"),
                  "request_sent": _l("已发出对接申请"), "no_fit": _l("不合适")}


@bp.context_processor
def labels():
    """Status and outcome names in the reader's language; a slot's clock time."""
    return {"event_status": lambda code: str(STATUS_LABELS.get(code, code)),
            "outcome_label": lambda code: str(OUTCOME_LABELS.get(code, code)),
            "clock": lambda moment: format_datetime(moment, "HH:mm")}


@bp.route("/")
@login_required
def index():
    form = EventFilterForm(request.args)
    form.region_code.choices = refchoices.region_filter_choices()
    form.cluster_code.choices = refchoices.cluster_options(_("全部集群"))
    form.validate()
    filters = events.EventFilter(
        region_code=form.region_code.data if not form.region_code.errors else "",
        cluster_code=form.cluster_code.data if not form.cluster_code.errors else "",
        past=bool(form.past.data))
    found = events.events_for(current_user, filters)
    mine = {e.id for e in found if events.registration_of(current_user, e) is not None}
    return render_template("events/index.html", form=form, events=found, mine=mine)


# -- organising ---------------------------------------------------------------------------------


def _event_form(event=None) -> EventForm:
    form = EventForm(obj=event)
    form.region_code.choices = refchoices.options(
        (r.code, r.full_label) for r in events.governed_regions(current_user))
    form.cluster_code.choices = refchoices.cluster_options(_("不限"))
    form.chain_leader_id.choices = refchoices.leader_choices()
    if event is not None and request.method == "GET":
        form.region_code.data = event.region.code
        form.starts_at.data = _local_naive(event.starts_at)
        form.registration_deadline.data = _local_naive(event.registration_deadline)
        form.cluster_code.data = event.cluster_code or ""
        form.chain_leader_id.data = str(event.chain_leader_id or "")
    return form


def _local_naive(moment):
    return as_utc(moment).astimezone(LOCAL_TZ).replace(tzinfo=None)


def _event_data(form: EventForm) -> events.EventData:
    return events.EventData(
        title=form.title.data or "", description=form.description.data or "",
        region_code=form.region_code.data, mode=form.mode.data or EventMode.ONSITE,
        place=form.place.data or "", link=form.link.data or "",
        starts_at=form.starts_at.data.replace(tzinfo=LOCAL_TZ),
        registration_deadline=form.registration_deadline.data.replace(tzinfo=LOCAL_TZ),
        slot_minutes=form.slot_minutes.data, slot_count=form.slot_count.data,
        table_count=form.table_count.data, meetings_per_sme=form.meetings_per_sme.data,
        sme_capacity=form.sme_capacity.data, provider_capacity=form.provider_capacity.data,
        cluster_code=form.cluster_code.data or "",
        chain_leader_id=int(form.chain_leader_id.data) if form.chain_leader_id.data else None)


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.GOV)
def create():
    form = _event_form()
    if request.method == "GET":
        form.slot_minutes.data, form.slot_count.data, form.table_count.data = 20, 6, 10
        form.meetings_per_sme.data, form.sme_capacity.data = 3, 30
        form.provider_capacity.data = 10
        form.region_code.data = current_user.region.code
    done = submit(form, lambda: events.create_event(current_user, _event_data(form)),
                  _("活动已保存为草稿。检查无误后请开放报名。"),
                  lambda event: url_for(".detail", event_id=event.id))
    return done or (render_template("events/form.html", form=form, event=None),
                    400 if request.method == "POST" else 200)


def _managed(event_id: int):
    """The event, if the official manages it: 404 when it may not be seen, else 403."""
    event = events.get_event(current_user, event_id)
    if not event.can_manage(current_user):
        abort(403)
    return event


@bp.route("/<int:event_id>/edit", methods=["GET", "POST"])
@role_required(Role.GOV)
def edit(event_id: int):
    event = _managed(event_id)
    if event.status not in (EventStatus.DRAFT, EventStatus.OPEN):
        flash(_("日程发布后不能再修改活动信息。"), "warning")
        return redirect(url_for(".detail", event_id=event.id))
    form = _event_form(event)
    done = submit(form, lambda: events.update_event(current_user, event, _event_data(form)),
                  _("已保存。"), lambda _none: url_for(".detail", event_id=event.id))
    return done or (render_template("events/form.html", form=form, event=event),
                    400 if request.method == "POST" else 200)


@bp.route("/<int:event_id>/<any(open, finish):action>", methods=["POST"])
@role_required(Role.GOV)
def change_status(event_id: int, action: str):
    event = _managed(event_id)
    events.change_event_status(current_user, event, action)
    db.session.commit()
    flash(_("已开放报名。") if action == "open" else _("活动已结束，参加者现在可以记录对接结果。"),
          "success")
    return redirect(url_for(".detail", event_id=event.id))


@bp.route("/<int:event_id>/cancel", methods=["POST"])
@role_required(Role.GOV)
def cancel(event_id: int):
    event = _managed(event_id)
    form = CancelForm()
    done = submit(form, lambda: events.change_event_status(current_user, event, "cancel",
                                                           form.reason.data or ""),
                  (_("活动已取消。"), "info"),
                  lambda _none: url_for(".detail", event_id=event.id))
    return done or _detail_page(event, 400, cancel_form=form)


@bp.route("/<int:event_id>/registrations")
@role_required(Role.GOV, Role.ADMIN)
def registrations(event_id: int):
    event = events.get_event(current_user, event_id)
    if not event.can_see_participants(current_user):
        abort(403)
    met = {}
    for meeting in event.meetings:
        for key in (("e", meeting.enterprise_id), ("p", meeting.provider_id)):
            met[key] = met.get(key, 0) + 1
    return render_template("events/registrations.html", event=event, met=met,
                           counts=events.registration_counts(event))


# -- the schedule -------------------------------------------------------------------------------


@bp.route("/<int:event_id>/schedule")
@role_required(Role.GOV, Role.ADMIN)
def schedule(event_id: int):
    event = events.get_event(current_user, event_id)
    if not event.can_see_participants(current_user):
        abort(403)
    return _schedule_page(event)


def _schedule_page(event, status: int = 200, add_form=None, move_form=None,
                   moved_id: int | None = None):
    add_form = add_form or _add_form(event)
    scheduled = {m.enterprise_id for m in event.meetings}
    return render_template(
        "events/schedule.html", event=event, grid=events.schedule_grid(event),
        add_form=add_form, move_form=move_form, moved_id=moved_id,
        can_adjust=event.can_manage(current_user) and event.status in events.ADJUSTABLE,
        unscheduled=[r.enterprise for r in event.registrations
                     if r.enterprise_id and r.enterprise_id not in scheduled],
        summary=events.outcome_summary(event)), status


def _add_form(event) -> AddMeetingForm:
    form = AddMeetingForm()
    form.enterprise_id.choices = refchoices.options(
        [("", "—")] + [(str(r.enterprise_id), r.enterprise.name)
                       for r in event.registrations if r.enterprise_id])
    form.provider_id.choices = refchoices.options(
        [("", "—")] + [(str(r.provider_id), r.provider.name)
                       for r in event.registrations if r.provider_id])
    return form


@bp.route("/<int:event_id>/schedule/<any(propose, publish):action>", methods=["POST"])
@role_required(Role.GOV)
def schedule_step(event_id: int, action: str):
    event = _managed(event_id)
    if action == "propose":
        made = events.propose_schedule(current_user, event)
        message = _("已按推荐生成建议日程：%(n)d 场见面。请检查调整后发布。", n=len(made))
    else:
        events.publish_schedule(current_user, event)
        message = _("日程已发布，已通知所有报名者。")
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(".schedule", event_id=event.id))


@bp.route("/<int:event_id>/meetings", methods=["POST"])
@role_required(Role.GOV)
def add_meeting(event_id: int):
    event = _managed(event_id)
    form = _add_form(event)
    done = submit(form, lambda: events.add_meeting(
        current_user, event, int(form.enterprise_id.data), int(form.provider_id.data),
        form.slot.data - 1, form.table.data - 1),
        _("已添加。"), lambda _meeting: url_for(".schedule", event_id=event.id))
    return done or _schedule_page(event, 400, add_form=form)


def _managed_meeting(meeting_id: int) -> EventMeeting:
    meeting = events.get_meeting(current_user, meeting_id)
    if not meeting.event.can_manage(current_user):
        abort(403)
    return meeting


@bp.route("/meetings/<int:meeting_id>/move", methods=["POST"])
@role_required(Role.GOV)
def move_meeting(meeting_id: int):
    meeting = _managed_meeting(meeting_id)
    event = meeting.event
    form = MoveForm()
    done = submit(form, lambda: events.move_meeting(current_user, meeting, form.slot.data - 1,
                                                    form.table.data - 1),
                  _("已调整。"), lambda _none: url_for(".schedule", event_id=event.id))
    return done or _schedule_page(db.session.get(type(event), event.id), 400,
                                  move_form=form, moved_id=meeting_id)


@bp.route("/meetings/<int:meeting_id>/remove", methods=["POST"])
@role_required(Role.GOV)
def remove_meeting(meeting_id: int):
    meeting = _managed_meeting(meeting_id)
    event_id = meeting.event_id
    events.remove_meeting(current_user, meeting)
    db.session.commit()
    flash(_("已删除这场见面。"), "info")
    return redirect(url_for(".schedule", event_id=event_id))


# -- participants -------------------------------------------------------------------------------


@bp.route("/<int:event_id>")
@login_required
def detail(event_id: int):
    return _detail_page(events.get_event(current_user, event_id))


def _detail_page(event, status: int = 200, cancel_form=None, outcome_form=None,
                 outcome_meeting_id: int | None = None):
    meetings = events.my_meetings(current_user, event)
    forms = {}
    if event.outcomes_open(events.now()):
        for meeting in meetings:
            failed = outcome_form if meeting.id == outcome_meeting_id else None
            forms[meeting.id] = failed or _outcome_form(meeting)
    registration = events.registration_of(current_user, event)
    return render_template(
        "events/detail.html", event=event, registration=registration,
        problem=None if registration else events.registration_problem(current_user, event),
        counts=events.registration_counts(event), meetings=meetings, outcome_forms=forms,
        cancel_form=cancel_form or CancelForm(), can_manage=event.can_manage(current_user),
        sees_link=bool(registration) or event.can_see_participants(current_user),
        summary=events.outcome_summary(event)
        if event.can_see_participants(current_user) else None), status


def _outcome_form(meeting: EventMeeting) -> OutcomeForm:
    side = meeting.side_of(current_user)
    form = OutcomeForm(obj=None if request.method == "POST" else _outcome_defaults(meeting,
                                                                                    side))
    allowed = Outcome.ALL if side == "sme" else Outcome.PROVIDER
    form.outcome.choices = refchoices.options((code, str(OUTCOME_LABELS[code]))
                                              for code in allowed)
    form.need_id.choices = refchoices.options(
        [("", "—")] + [(str(n.id), n.title) for n in events.open_needs_for(meeting)]
        if side == "sme" else [("", "—")])
    form.package_id.choices = refchoices.options(
        [("", "—")] + [(str(p.id), p.title) for p in events.packages_of(meeting)]
        if side == "sme" else [("", "—")])
    return form


def _outcome_defaults(meeting: EventMeeting, side: str):
    class Defaults:
        outcome = getattr(meeting, f"{side}_outcome")
        note = getattr(meeting, f"{side}_note")
        need_id = str(meeting.need_id or "")
        package_id = str(meeting.package_id or "")

    return Defaults


@bp.route("/<int:event_id>/<any(register, unregister):action>", methods=["POST"])
@role_required(Role.SME, Role.PROVIDER)
def registration(event_id: int, action: str):
    event = events.get_event(current_user, event_id)
    if action == "register":
        events.register(current_user, event)
        message = _("报名成功。日程发布后会通知您。")
    else:
        events.unregister(current_user, event)
        message = _("已取消报名。")
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(".detail", event_id=event.id))


@bp.route("/meetings/<int:meeting_id>/outcome", methods=["POST"])
@role_required(Role.SME, Role.PROVIDER)
def outcome(meeting_id: int):
    meeting = events.get_meeting(current_user, meeting_id)
    if meeting.side_of(current_user) is None:
        abort(403)
    event = meeting.event
    form = _outcome_form(meeting)

    def record():
        return events.record_outcome(current_user, meeting, events.OutcomeData(
            outcome=form.outcome.data, note=form.note.data or "",
            need_id=int(form.need_id.data) if form.need_id.data else None,
            package_id=int(form.package_id.data) if form.package_id.data else None))

    def saved(_none):
        if meeting.sme_outcome == Outcome.REQUEST_SENT and meeting.deal_request_id:
            return _("已记录，并已向服务商发出对接申请。")
        return _("已记录对接结果。")

    done = submit(form, record, saved, lambda _none: url_for(".detail", event_id=event.id))
    return done or _detail_page(db.session.get(type(event), event.id), 400,
                                outcome_form=form, outcome_meeting_id=meeting_id)
