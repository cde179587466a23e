"""Solution packages: browse, the provider's own list, create, view, edit, change status."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import refchoices
from ..deals.forms import RequestForm
from ..extensions import db
from ..models import Role
from ..pagination import paginate
from ..services import deals, matching, packages
from ..views import role_required, submit
from .forms import MAX_CASES, PackageFilterForm, PackageForm

bp = Blueprint("packages", __name__)

STATUS_MESSAGES = {
    "publish": _l("方案包已发布。"),
    "withdraw": _l("方案包已撤回为草稿。"),
    "archive": _l("方案包已归档。"),
}


def _package_form(package=None) -> PackageForm:
    form = PackageForm(obj=package)
    if package is not None and not form.is_submitted():
        form.scenario_level_codes.data = [s.code for s in package.scenario_levels]
        form.industry_codes.data = [i.code for i in package.industries]
        for entry, case in zip(form.cases.entries, package.cases, strict=False):
            entry.form.process(obj=case)
    form.category_code.choices = refchoices.category_choices(_("请选择"))
    form.scenario_level_codes.choices = refchoices.level_choices()
    form.industry_codes.choices = refchoices.industry_choices()
    form.deployment.choices = refchoices.label_choices("deployment")
    form.price_unit.choices = refchoices.label_choices("price_unit")
    return form


def _data(form: PackageForm) -> packages.PackageData:
    return packages.PackageData(
        title=form.title.data, summary=form.summary.data, description=form.description.data,
        category_code=form.category_code.data,
        scenario_level_codes=tuple(form.scenario_level_codes.data),
        industry_codes=tuple(form.industry_codes.data or ()),
        deployment=form.deployment.data, price_fen=form.price_fen.data,
        price_unit=form.price_unit.data, delivery_days=form.delivery_days.data,
        free_trial=bool(form.free_trial.data),
        cases=tuple(
            packages.CaseData(e.form.title.data or "", e.form.customer.data or "",
                              e.form.content.data or "")
            for e in form.cases.entries[:MAX_CASES]
        ),
    )


@bp.route("/")
def index():
    form = PackageFilterForm(request.args)
    form.category_code.choices = refchoices.category_choices(_("全部类别"))
    form.scenario_level_code.choices = refchoices.level_choices(_("全部层级"))
    form.industry_code.choices = refchoices.industry_choices(_("全部行业"))
    form.deployment.choices = refchoices.label_choices("deployment", _("全部"))
    form.validate()
    filters = packages.PackageFilters(
        q=(form.q.data or "")[:100], category_code=form.category_code.data or "",
        scenario_level_code=form.scenario_level_code.data or "",
        industry_code=form.industry_code.data or "", deployment=form.deployment.data or "",
        max_price_fen=None if form.max_price.errors else form.max_price.data,
        free_trial=bool(form.free_trial.data), sort=form.sort.data or "newest",
    )
    page = paginate(packages.visible_packages(current_user, filters), shared_total=True)
    return render_template("packages/index.html", form=form, page=page)


@bp.route("/mine")
@role_required(Role.PROVIDER)
def mine():
    if current_user.provider is None:
        return redirect(url_for("profiles.edit"))
    status = request.args.get("status", "")
    filters = packages.PackageFilters(provider_id=current_user.provider_id, status=status)
    page = paginate(packages.visible_packages(current_user, filters))
    return render_template("packages/mine.html", page=page, status=status)


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.PROVIDER)
def create():
    if current_user.provider is None:
        flash(_("请先填写服务商信息，再发布方案包。"), "warning")
        return redirect(url_for("profiles.edit"))
    form = _package_form()
    done = submit(form, lambda: packages.create_package(current_user, _data(form)),
                  _("方案包已保存为草稿，检查无误后请点击“发布”。"),
                  lambda package: url_for(".detail", package_id=package.id))
    return done or render_template("packages/form.html", form=form, package=None)


@bp.route("/<int:package_id>")
def detail(package_id: int):
    package = packages.get_package(current_user, package_id)
    request_form = None
    if package.is_public and current_user.is_authenticated and current_user.is_sme:
        open_needs = deals.open_needs_of(current_user)
        if open_needs:
            request_form = RequestForm(package_id=package.id)
            request_form.need_id.choices = refchoices.options(
                (str(n.id), n.title) for n in open_needs)
    return render_template("packages/detail.html", package=package, request_form=request_form,
                           similar=matching.similar_packages(package))


@bp.route("/<int:package_id>/edit", methods=["GET", "POST"])
@role_required(Role.PROVIDER)
def edit(package_id: int):
    package = packages.get_package(current_user, package_id)
    if not package.can_edit(current_user):
        abort(403)
    form = _package_form(package)
    done = submit(form, lambda: packages.update_package(current_user, package, _data(form)),
                  _("方案包已更新。"), lambda saved: url_for(".detail", package_id=saved.id))
    return done or render_template("packages/form.html", form=form, package=package)


@bp.route("/<int:package_id>/<any(publish, withdraw, archive):action>", methods=["POST"])
@role_required(Role.PROVIDER)
def change_status(package_id: int, action: str):
    package = packages.get_package(current_user, package_id)
    packages.change_package_status(current_user, package, action)
    db.session.commit()
    flash(str(STATUS_MESSAGES[action]), "success")
    return redirect(url_for(".detail", package_id=package.id))


@bp.route("/leads")
@role_required(Role.PROVIDER)
def leads():
    """Open needs that fit this provider's published packages (商机)."""
    if current_user.provider is None:
        return redirect(url_for("profiles.edit"))
    return render_template("packages/leads.html", leads=matching.leads_for_provider(current_user))
