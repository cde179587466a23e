"""Typical cases: the public list, a party's cases, the curators' queue, draft, edit, the steps
of agreement and curation, featuring."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from .. import refchoices
from ..extensions import db
from ..forms import apply_errors
from ..models import Role
from ..pagination import paginate
from ..services import cases, deals
from ..services.errors import ValidationFailed
from ..views import role_required, submit
from .forms import CaseFilterForm, CaseForm, ReasonForm

bp = Blueprint("cases", __name__)

STEP_MESSAGES = {
    "submit": _l("已提交，等待对方确认。"), "withdraw": _l("已撤回为草稿。"),
    "return": _l("已退回对方修改。"), "confirm": _l("已确认，等待政府部门审核。"),
    "publish": _l("案例已发布。"), "reject": _l("案例已驳回。"),
    "revise": _l("已转为草稿，可以修改。"),
}


@bp.app_template_global()
def published_cases_of(package) -> list:
    """The published cases of a package, for its page."""
    return cases.published_cases_of_package(package.id)


def _data(form: CaseForm) -> cases.CaseData:
    return cases.CaseData(
        title=form.title.data or "", problem=form.problem.data or "",
        solution=form.solution.data or "", results=form.results.data or "",
        quote=form.quote.data or "", anonymous=bool(form.anonymous.data),
        metrics=tuple(cases.MetricData(e.form.name.data or "", e.form.unit.data or "",
                                       e.form.before.data, e.form.after.data)
                      for e in form.metrics.entries))


def _case_form(case=None) -> CaseForm:
    form = CaseForm(obj=case)
    if case is not None and not form.is_submitted():
        for entry, metric in zip(form.metrics.entries, case.metrics, strict=False):
            entry.form.name.data, entry.form.unit.data = metric.name, metric.unit
            entry.form.before.data, entry.form.after.data = metric.value_before, metric.value_after
    return form


@bp.route("/")
def index():
    form = CaseFilterForm(request.args)
    form.category_code.choices = refchoices.category_choices(_("全部类别"))
    form.industry_code.choices = refchoices.industry_choices(_("全部行业"))
    form.region_code.choices = refchoices.region_filter_choices()
    form.validate()
    filters = cases.CaseFilters(
        q=(form.q.data or "")[:100], category_code=form.category_code.data or "",
        industry_code=form.industry_code.data or "", region_code=form.region_code.data or "")
    return render_template("cases/index.html", form=form,
                           page=paginate(cases.published_cases(filters)))


@bp.route("/mine")
@role_required(Role.SME, Role.PROVIDER)
def mine():
    return render_template("cases/mine.html", **cases.my_cases(current_user))


@bp.route("/review")
@role_required(Role.GOV, Role.ADMIN)
def review():
    return render_template("cases/review.html", **cases.review_queue(current_user))


@bp.route("/new/<int:order_id>", methods=["GET", "POST"])
@role_required(Role.SME, Role.PROVIDER)
def create(order_id: int):
    order = deals.get_order(current_user, order_id)
    cases.check_can_start(current_user, order)
    form = _case_form()
    done = submit(form, lambda: cases.start_case(current_user, order, _data(form)),
                  _("案例草稿已保存。检查无误后请提交对方确认。"),
                  lambda case: url_for(".detail", case_id=case.id))
    if done:
        return done
    return render_template("cases/form.html", form=form, order=order, case=None), \
        400 if form.is_submitted() else 200


@bp.route("/<int:case_id>")
def detail(case_id: int):
    return _detail_page(cases.get_case(current_user, case_id))


def _detail_page(case, reason_form=None, status: int = 200):
    return render_template("cases/detail.html", case=case, side=case.side_of(current_user),
                           can_curate=case.can_curate(current_user),
                           reason_form=reason_form or ReasonForm()), status


@bp.route("/<int:case_id>/edit", methods=["GET", "POST"])
@role_required(Role.SME, Role.PROVIDER)
def edit(case_id: int):
    case = cases.get_case(current_user, case_id)
    cases.check_can_edit(current_user, case)
    form = _case_form(case)
    done = submit(form, lambda: cases.update_case(current_user, case, _data(form)),
                  _("案例已保存。"), lambda saved: url_for(".detail", case_id=saved.id))
    if done:
        return done
    return render_template("cases/form.html", form=form, order=case.order, case=case), \
        400 if form.is_submitted() else 200


@bp.route("/<int:case_id>/<any(submit, withdraw, return, confirm, publish, reject, revise):action>",
          methods=["POST"])
@login_required
def step(case_id: int, action: str):
    case = cases.get_case(current_user, case_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        return _detail_page(case, form, 400)
    try:
        cases.change_case_status(current_user, case, action, form.reason.data or "")
    except ValidationFailed as failure:
        db.session.rollback()
        apply_errors(form, failure)
        return _detail_page(case, form, 400)
    db.session.commit()
    flash(str(STEP_MESSAGES[action]), "success")
    return redirect(url_for(".detail", case_id=case.id))


@bp.route("/<int:case_id>/<any(feature, unfeature):action>", methods=["POST"])
@role_required(Role.GOV, Role.ADMIN)
def feature(case_id: int, action: str):
    case = cases.get_case(current_user, case_id)
    if not ReasonForm().validate_on_submit():
        abort(400)
    cases.set_featured(current_user, case, action == "feature")
    db.session.commit()
    flash(_("已设为精选案例。") if action == "feature" else _("已取消精选。"), "success")
    return redirect(url_for(".detail", case_id=case.id))
