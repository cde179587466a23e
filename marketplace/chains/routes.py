"""链式转型 pages: an enterprise's chain page (apply to be a 链主, invitations, join requests,
history), the 链主's workspace, and the officials' review of applications."""

from flask import Blueprint, abort, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import refchoices
from ..extensions import db
from ..models import LeaderStatus, Provider, Role
from ..security import accepts_upload
from ..services import chains, imports, profiles
from ..views import role_required, submit
from .forms import (
    DecisionForm,
    DesignateForm,
    InviteForm,
    InviteSheetForm,
    JoinForm,
    LeaderApplicationForm,
    MembershipStepForm,
    MessageForm,
    RevokeForm,
)

bp = Blueprint("chains", __name__)
OFFICIALS = (Role.GOV, Role.ADMIN)


def _application_form(**kwargs) -> LeaderApplicationForm:
    form = LeaderApplicationForm(**kwargs)
    platforms = db.session.scalars(select(Provider).where(Provider.verified)
                                   .order_by(Provider.name)).all()
    form.platform_id.choices = refchoices.options(
        [("", _("（无）"))] + [(str(p.id), p.name) for p in platforms if p.is_public])
    return form


def _join_form(**kwargs) -> JoinForm:
    form = JoinForm(**kwargs)
    own = current_user.enterprise_id
    form.leader_id.choices = refchoices.options(
        [("", _("请选择"))] + [(str(e.id), e.name) for e in profiles.chain_leaders()
                              if e.id != own])
    return form


def _index_page(application_form=None, join_form=None, step_form=None, failed_id=None,
                status: int = 200):
    enterprise = current_user.enterprise
    if enterprise is None:
        return render_template("chains/index.html", enterprise=None), status
    latest = chains.latest_application(enterprise)
    may_apply = latest is None or latest.status in (LeaderStatus.REJECTED, LeaderStatus.REVOKED)
    return render_template(
        "chains/index.html", enterprise=enterprise, latest=latest,
        application_form=(application_form or _application_form(formdata=None))
        if may_apply else None,
        join_form=join_form or _join_form(formdata=None),
        memberships=chains.memberships_of(enterprise, as_leader=False),
        step_form=step_form or MembershipStepForm(formdata=None), failed_id=failed_id), status


@bp.route("/")
@role_required(Role.SME)
def index():
    return _index_page()


@bp.route("/apply", methods=["POST"])
@role_required(Role.SME)
def apply():
    form = _application_form()
    done = submit(form, lambda: chains.apply_for_leader(current_user, chains.LeaderEvidence(
        revenue_wan=form.revenue_wan.data, supplier_count=form.supplier_count.data,
        platform_id=int(form.platform_id.data) if form.platform_id.data else None,
        evidence=form.evidence.data)),
        _("链主申请已提交，等待所在设区市或省级主管部门审核。"), lambda _r: url_for(".index"))
    return done or _index_page(application_form=form, status=400)


@bp.route("/join", methods=["POST"])
@role_required(Role.SME)
def join():
    form = _join_form()
    done = submit(form, lambda: chains.request_to_join(
        current_user, int(form.leader_id.data), form.note.data or ""),
        _("加入申请已发送，等待链主确认。"), lambda _r: url_for(".index"))
    return done or _index_page(join_form=form, status=400)


def _workspace_page(invite_form=None, step_form=None, failed_id=None, message_form=None,
                    sheet_form=None, status: int = 200):
    leader, suppliers = chains.workspace(current_user)
    history = chains.memberships_of(leader, as_leader=True)
    return render_template(
        "chains/workspace.html", leader=leader, suppliers=suppliers,
        open_items=[m for m in history if m.status in chains.MembershipStatus.OPEN],
        history=[m for m in history if m.status not in chains.MembershipStatus.OPEN],
        invite_form=invite_form or InviteForm(formdata=None),
        message_form=message_form or MessageForm(formdata=None),
        sheet_form=sheet_form or InviteSheetForm(formdata=None),
        step_form=step_form or MembershipStepForm(formdata=None), failed_id=failed_id), status


@bp.route("/workspace")
@role_required(Role.SME)
def workspace():
    return _workspace_page()


@bp.route("/invite", methods=["POST"])
@role_required(Role.SME)
def invite():
    form = InviteForm()
    done = submit(form, lambda: chains.invite_supplier(current_user, form.credit_code.data,
                                                       form.note.data or ""),
                  _("邀请已发送，等待对方确认。"), lambda _r: url_for(".workspace"))
    return done or _workspace_page(invite_form=form, status=400)


@bp.route("/invite/upload", methods=["POST"])
@accepts_upload
@role_required(Role.SME)
def invite_upload():
    form = InviteSheetForm()
    limit = imports.upload_limit()

    def run():
        file = form.file.data
        sheet = imports.read_sheet(file.filename or "", file.read(limit + 1),
                                   chains.SUPPLIER_COLUMNS, limit)
        return chains.invite_from_sheet(current_user, sheet.rows, form.note.data or "")

    done = submit(form, run, _sheet_summary, lambda _r: url_for(".workspace"))
    return done or _workspace_page(sheet_form=form, status=400)


def _sheet_summary(result: chains.SheetInvitations):
    text = _("已向 %(n)d 家企业发出邀请。", n=result.invited)
    if not result.problems:
        return text, "success"
    return text + _("%(m)d 行未邀请：%(rows)s", m=len(result.problems),
                    rows=chains.row_problems_text(result.problems)), "warning"


@bp.route("/message", methods=["POST"])
@role_required(Role.SME)
def message():
    form = MessageForm()
    done = submit(form, lambda: chains.message_suppliers(current_user, form.text.data),
                  lambda n: _("消息已发送给 %(n)d 家供应商。", n=n),
                  lambda _r: url_for(".workspace"))
    return done or _workspace_page(message_form=form, status=400)


@bp.route("/platform")
@role_required(Role.PROVIDER)
def platform():
    """The chains whose 链主 named this provider as its platform, each with its suppliers."""
    return render_template("chains/platform.html", chains=[
        chains.platform_workspace(current_user, leader.id)
        for leader in chains.platform_chains(current_user)])


@bp.route("/memberships/<int:membership_id>/<step>", methods=["POST"])
@role_required(Role.SME)
def membership_step(membership_id: int, step: str):
    found = chains.get_membership(current_user, membership_id)
    if step not in chains.MEMBERSHIP_STEPS:
        abort(404)
    form = MembershipStepForm()
    back = url_for(".workspace" if found.leader_id == current_user.enterprise_id else ".index")
    messages = {"accept": _("已确认，成员关系生效。"), "decline": _("已拒绝。"),
                "withdraw": _("已撤回。"), "end": _("已退出产业链，原因已记录。")}
    done = submit(form, lambda: chains.change_membership(current_user, found, step,
                                                         form.reason.data or ""),
                  messages.get(step, ""), lambda _r: back)
    if done:
        return done
    if found.leader_id == current_user.enterprise_id:
        return _workspace_page(step_form=form, failed_id=found.id, status=400)
    return _index_page(step_form=form, failed_id=found.id, status=400)


# --- officials -----------------------------------------------------------------------------------

def _decision_form(**kwargs) -> DecisionForm:
    form = DecisionForm(**kwargs)
    form.decision.choices = refchoices.options([("approve", _("通过")), ("reject", _("驳回"))])
    return form


def _applications_page(failed_id=None, decision_form=None, revoke_form=None,
                       designate_form=None, status: int = 200):
    return render_template(
        "chains/applications.html", applications=chains.applications_for(current_user),
        decision_form=decision_form or _decision_form(formdata=None),
        revoke_form=revoke_form or RevokeForm(formdata=None),
        designate_form=designate_form or DesignateForm(formdata=None),
        blank_decision_form=_decision_form(formdata=None),
        blank_revoke_form=RevokeForm(formdata=None), failed_id=failed_id), status


@bp.route("/applications")
@role_required(*OFFICIALS)
def applications():
    return _applications_page()


@bp.route("/applications/<int:application_id>/decide", methods=["POST"])
@role_required(Role.GOV)
def decide(application_id: int):
    found = chains.get_application(current_user, application_id)
    if not found.can_decide(current_user):
        abort(403)  # county officials see their enterprises' applications; cities decide
    form = _decision_form()
    approve = form.decision.data == "approve"
    done = submit(form, lambda: chains.decide_application(current_user, found, approve,
                                                          form.reason.data or ""),
                  _("已认定为链主。") if approve else _("已驳回链主申请。"),
                  lambda _r: url_for(".applications"))
    return done or _applications_page(failed_id=found.id, decision_form=form, status=400)


@bp.route("/applications/<int:application_id>/revoke", methods=["POST"])
@role_required(Role.ADMIN)
def revoke(application_id: int):
    found = chains.get_application(current_user, application_id)
    form = RevokeForm()
    done = submit(form, lambda: chains.revoke_leader(current_user, found, form.reason.data),
                  _("链主资格已撤销，其产业链成员关系已结束。"),
                  lambda _r: url_for(".applications"))
    return done or _applications_page(failed_id=found.id, revoke_form=form, status=400)


@bp.route("/designate", methods=["POST"])
@role_required(Role.GOV)
def designate():
    form = DesignateForm()
    done = submit(form, lambda: chains.designate_leader(current_user, form.credit_code.data,
                                                        form.reason.data),
                  _("已直接认定为链主，操作已记录。"), lambda _r: url_for(".applications"))
    return done or _applications_page(designate_form=form, status=400)
