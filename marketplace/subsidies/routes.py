"""Subsidies: programs (officials), what an SME can get, the claims queue, the ledger."""

from dataclasses import asdict

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import refchoices, trail
from ..extensions import db
from ..forms import apply_errors
from ..models import ProgramStatus, Role
from ..services import profiles, subsidies
from ..services.deals import today
from ..services.errors import ValidationFailed
from ..services.txn import run_once, target_of
from ..views import role_required, submit
from .forms import (
    AdjustForm,
    BulkApproveForm,
    ClaimFilterForm,
    DecisionForm,
    PayForm,
    ProgramForm,
)

bp = Blueprint("subsidies", __name__)


@bp.route("/")
@login_required
def index():
    """Officials: their programs; SMEs: what they can get and their claims; others: programs."""
    available = []
    if current_user.is_sme and current_user.enterprise is not None:
        available = subsidies.available_to(current_user.enterprise, today())
    programs = subsidies.programs_for(current_user)
    return render_template(
        "subsidies/index.html", programs=programs, available=available,
        money=subsidies.balances(p.id for p in programs),
        claims=subsidies.claims_for(current_user, limit=50) if current_user.is_sme else [])


def _program_form(program=None) -> ProgramForm:
    form = ProgramForm(obj=program)
    refchoices.fill_program_form(form)
    if program is not None and request.method == "GET":
        form.budget_fen.data = subsidies.balances([program.id])[program.id].budget_fen
        form.rate_bp.data = program.rate_bp or None
        form.fixed_fen.data = program.fixed_fen or None
    return form


def _program_data(form: ProgramForm) -> subsidies.ProgramData:
    return subsidies.ProgramData(
        name=form.name.data or "", policy_basis=form.policy_basis.data or "",
        mode=form.mode.data, rate_bp=form.rate_bp.data or 0, fixed_fen=form.fixed_fen.data or 0,
        per_order_cap_fen=form.per_order_cap_fen.data,
        per_enterprise_cap_fen=form.per_enterprise_cap_fen.data,
        budget_fen=form.budget_fen.data, starts_on=form.starts_on.data,
        ends_on=form.ends_on.data, size_classes=form.size_classes.data or [],
        industries=form.industries.data or [], clusters=form.clusters.data or [],
        categories=form.categories.data or [], scenario_levels=form.scenario_levels.data or [],
        min_tier=form.min_tier.data or "", verified_only=form.verified_only.data)


@bp.route("/programs/new", methods=["GET", "POST"])
@role_required(Role.GOV)
def create_program():
    form = _program_form()

    def create():
        return run_once(current_user, form.idempotency_key.data, "create_program", lambda: {
            "program_id": subsidies.create_program(current_user, _program_data(form)).id})

    done = submit(form, create, _("补贴政策已保存为草稿。检查无误后请启动实施。"),
                  lambda result: url_for(".program", program_id=result["program_id"]))
    return done or (render_template("subsidies/program_form.html", form=form, program=None),
                    400 if request.method == "POST" else 200)


@bp.route("/programs/<int:program_id>")
@login_required
def program(program_id: int):
    return _program_page(subsidies.get_program(current_user, program_id))


def _program_page(program, adjust_form=None, status: int = 200):
    """A program's page; its ledger and burn-down only for those who manage it (and admins)."""
    manager = program.can_manage(current_user) or current_user.is_admin
    return render_template(
        "subsidies/program.html", program=program,
        balance=subsidies.balances([program.id])[program.id], manager=manager,
        can_manage=program.can_manage(current_user),
        rules=subsidies.rule_names(program),
        statement=subsidies.statement(program) if manager else [],
        burn=subsidies.burn_down(program) if manager else [],
        adjust_form=adjust_form or AdjustForm()), status


@bp.route("/programs/<int:program_id>/edit", methods=["GET", "POST"])
@role_required(Role.GOV)
def edit_program(program_id: int):
    program = subsidies.get_program(current_user, program_id)
    if not program.can_manage(current_user):
        abort(403)
    if program.status != ProgramStatus.DRAFT:
        flash(_("政策实施后不能再修改规则；可以追加或核减预算。"), "warning")
        return redirect(url_for(".program", program_id=program.id))
    form = _program_form(program)
    done = submit(form, lambda: subsidies.update_program(current_user, program,
                                                         _program_data(form)),
                  _("已保存。"), lambda _none: url_for(".program", program_id=program.id))
    return done or (render_template("subsidies/program_form.html", form=form, program=program),
                    400 if request.method == "POST" else 200)


@bp.route("/programs/<int:program_id>/<any(activate, close):action>", methods=["POST"])
@role_required(Role.GOV)
def change_program_status(program_id: int, action: str):
    program = subsidies.get_program(current_user, program_id)
    subsidies.change_program_status(current_user, program, action)
    db.session.commit()
    flash(_("政策已启动实施。") if action == "activate" else _("政策已结束。"), "success")
    return redirect(url_for(".program", program_id=program.id))


@bp.route("/programs/<int:program_id>/adjust", methods=["POST"])
@role_required(Role.GOV)
def adjust(program_id: int):
    program = subsidies.get_program(current_user, program_id)
    if not program.can_manage(current_user):
        abort(403)
    form = AdjustForm()

    def adjust_budget():
        sign = -1 if form.direction.data == "cut" else 1
        return run_once(current_user, form.idempotency_key.data, "adjust_budget", lambda: {
            "entry_id": subsidies.adjust_budget(current_user, program,
                                                sign * form.amount_fen.data, form.note.data).id},
            target=target_of("program", program.id))

    done = submit(form, adjust_budget, _("预算已调整。"),
                  lambda _result: url_for(".program", program_id=program.id))
    return done or _program_page(program, form, 400)


# -- claims -------------------------------------------------------------------------------------


def _int_or_none(value):
    try:
        return int(value) if value else None
    except (TypeError, ValueError):
        return None


@bp.route("/claims")
@role_required(Role.SME, Role.GOV, Role.ADMIN)
def claims():
    form = ClaimFilterForm(request.args)
    programs = subsidies.programs_for(current_user)
    form.status.choices = refchoices.status_choices("claim_status")
    form.program_id.choices = refchoices.options(
        [("", _("全部政策"))] + [(str(p.id), p.name) for p in programs])
    form.region_code.choices = refchoices.region_filter_choices()
    form.validate()
    filters = subsidies.ClaimFilter(
        status=form.status.data if not form.status.errors else "",
        program_id=_int_or_none(form.program_id.data) if not form.program_id.errors else None,
        region_code=form.region_code.data if not form.region_code.errors else "",
        ready_only=bool(form.ready.data))
    rows = subsidies.claims_for(current_user, filters)
    return render_template("subsidies/claims.html", form=form, claims=rows,
                           bulk_form=BulkApproveForm(), results=None)


@bp.route("/claims/approve", methods=["POST"])
@role_required(Role.GOV)
def bulk_approve():
    form = BulkApproveForm()
    form.claim_ids.choices = refchoices.options(
        (c.id, str(c.id)) for c in subsidies.claims_for(current_user, limit=1000))
    result = None
    if form.validate_on_submit():
        try:
            result = run_once(current_user, form.idempotency_key.data, "approve_claims", lambda: {
                "results": [asdict(r) for r in subsidies.approve_claims(current_user,
                                                                         form.claim_ids.data)]},
                target=target_of("claims", *form.claim_ids.data))
        except ValidationFailed as failure:  # a broken or reused submission key
            db.session.rollback()
            apply_errors(form, failure)
    if result is None:
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "danger")
        return redirect(url_for(".claims"))
    db.session.commit()
    results = [subsidies.BulkResult(**r) for r in result["results"]]
    approved = sum(r.ok for r in results)
    flash(_("已批准 %(ok)d 笔，未通过 %(bad)d 笔。", ok=approved, bad=len(results) - approved),
          "success" if approved == len(results) else "warning")
    return render_template("subsidies/claims.html", form=None, claims=[], bulk_form=None,
                           results=results)


@bp.route("/claims/<int:claim_id>")
@login_required
def claim(claim_id: int):
    claim = subsidies.get_claim(current_user, claim_id)
    return _claim_page(claim)


def _claim_page(claim, status: int = 200, **forms):
    forms = {"approve_form": DecisionForm(prefix="approve"),
             "reject_form": DecisionForm(prefix="reject"), "pay_form": PayForm(), **forms}
    entries = [e for e in subsidies.ledger_of(claim.program) if e.claim_id == claim.id]
    review = subsidies.review_eligibility(claim)
    overseer = current_user.is_gov or current_user.is_admin  # sees what to weigh, too
    return render_template(
        "subsidies/claim.html", claim=claim, entries=entries, review=review,
        then=subsidies.eligibility_names(review.snapshot),
        now=subsidies.eligibility_names(review.current),
        mismatch=profiles.region_mismatch(claim.enterprise) if overseer else None,
        profile_changes=profiles.eligibility_changes(claim.enterprise) if overseer else [],
        trail=trail, can_decide=current_user.governs(claim.program.region), **forms), status


@bp.route("/claims/<int:claim_id>/<any(approve, reject, pay):action>", methods=["POST"])
@role_required(Role.GOV)
def decide(claim_id: int, action: str):
    claim = subsidies.get_claim(current_user, claim_id)
    form = PayForm() if action == "pay" else DecisionForm(prefix=action)
    if not form.validate_on_submit():
        return _claim_page(claim, 400, **{f"{action}_form": form})

    def act() -> dict:
        if action == "approve":
            subsidies.approve_claim(current_user, claim, form.reason.data or "")
        elif action == "reject":
            subsidies.reject_claim(current_user, claim, form.reason.data or "")
        else:
            subsidies.pay_claim(current_user, claim, form.reference.data or "")
        return {"claim_id": claim.id}

    try:
        run_once(current_user, form.idempotency_key.data, f"{action}_claim", act,
                 target=target_of("claim", claim.id))
    except ValidationFailed as failure:
        db.session.rollback()
        apply_errors(form, failure)
        return _claim_page(db.session.get(type(claim), claim_id), 400,
                           **{f"{action}_form": form})
    db.session.commit()
    flash({"approve": _("已批准。"), "reject": _("已驳回，预留的资金已释放。"),
           "pay": _("已标记拨付。")}[action], "success")
    return redirect(url_for(".claim", claim_id=claim_id))


@bp.route("/audit")
@role_required(Role.GOV, Role.ADMIN)
def audit_log():
    """The subsidy actions now live on the audit trail, filtered to subsidies."""
    return redirect(url_for("admin.audit_log", object_group="subsidy"))
