"""Needs: list, post, view, edit, close and reopen."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import refchoices
from ..extensions import db
from ..models import NeedStatus, Role
from ..pagination import paginate
from ..services import matching, needs
from ..views import role_required, submit
from .forms import ImpressionsForm, NeedFilterForm, NeedForm

bp = Blueprint("needs", __name__)


def _need_form(need=None) -> NeedForm:
    form = NeedForm(obj=need)
    form.category_code.choices = refchoices.category_choices(_("请选择"))
    form.scenario_level_code.choices = refchoices.level_choices(_("请选择"))
    form.visibility.choices = refchoices.label_choices("visibility")
    return form


def _data(form: NeedForm) -> needs.NeedData:
    return needs.NeedData(
        title=form.title.data, description=form.description.data,
        category_code=form.category_code.data,
        scenario_level_code=form.scenario_level_code.data,
        budget_min_fen=form.budget_min_fen.data, budget_max_fen=form.budget_max_fen.data,
        desired_start=form.desired_start.data, visibility=form.visibility.data,
    )


@bp.route("/")
@login_required
def index():
    form = NeedFilterForm(request.args)
    form.category_code.choices = refchoices.category_choices(_("全部类别"))
    form.scenario_level_code.choices = refchoices.level_choices(_("全部层级"))
    form.status.choices = refchoices.status_choices("need_status")
    form.region_code.choices = refchoices.region_filter_choices()
    mine = request.args.get("mine") == "1"
    filters = needs.NeedFilters(
        q=(form.q.data or "")[:100], category_code=form.category_code.data or "",
        scenario_level_code=form.scenario_level_code.data or "",
        status=form.status.data or "", region_code=form.region_code.data or "", mine=mine,
    )
    page = paginate(needs.visible_needs(current_user, filters))
    return render_template("needs/index.html", form=form, page=page, mine=mine)


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.SME)
def create():
    if current_user.enterprise is None:
        flash(_("请先填写企业信息，再发布需求。"), "warning")
        return redirect(url_for("profiles.edit"))
    form = _need_form()
    done = submit(form, lambda: needs.create_need(current_user, _data(form)), _("需求已发布。"),
                  lambda need: url_for(".detail", need_id=need.id))
    return done or render_template("needs/form.html", form=form, need=None)


@bp.route("/<int:need_id>")
@login_required
def detail(need_id: int):
    """The need; for its owner, the requests and the recommendations. What was recommended
    is recorded by the page's POST back (:func:`record_impressions`), never by this GET."""
    need = needs.view_need(current_user, need_id)
    suggestions, requests, impressions = None, [], None
    if need.can_edit(current_user):
        requests = need.requests
        if need.status == NeedStatus.OPEN:
            suggestions = matching.packages_for_need(need)
            receipt = matching.impression_receipt(need, [s.item.id for s in suggestions])
            impressions = ImpressionsForm(shown=receipt) if suggestions else None
    page = render_template("needs/detail.html", need=need, suggestions=suggestions,
                           requests=requests, impressions=impressions)
    db.session.commit()  # an audited read; after rendering, as a commit expires every
    return page  # loaded object and the page would load each again


@bp.route("/<int:need_id>/impressions", methods=["POST"])
@login_required
def record_impressions(need_id: int):
    """The need page's beacon (static/impressions.js): the signed list of the packages it
    showed its owner, with the CSRF token. 204, or 400 for a receipt not made for this need."""
    need = needs.get_need(current_user, need_id)
    if not need.can_edit(current_user):
        abort(403)
    form = ImpressionsForm()
    if not form.validate_on_submit() or not matching.record_impression_receipt(
            current_user, need, form.shown.data):
        abort(400)
    db.session.commit()
    return "", 204


@bp.route("/<int:need_id>/edit", methods=["GET", "POST"])
@login_required
def edit(need_id: int):
    need = needs.get_need(current_user, need_id)
    if not need.can_edit(current_user):
        abort(403)
    form = _need_form(need)
    done = submit(form, lambda: needs.update_need(current_user, need, _data(form)),
                  _("需求已更新。"), lambda saved: url_for(".detail", need_id=saved.id))
    return done or render_template("needs/form.html", form=form, need=need)


@bp.route("/<int:need_id>/<any(close, reopen):action>", methods=["POST"])
@login_required
def change_status(need_id: int, action: str):
    need = needs.get_need(current_user, need_id)
    needs.change_need_status(current_user, need, action)
    db.session.commit()
    flash(_("需求已关闭。") if action == "close" else _("需求已重新打开。"), "success")
    return redirect(url_for(".detail", need_id=need.id))
