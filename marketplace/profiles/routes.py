"""The SME's enterprise profile and the provider's profile."""

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import refchoices as choices
from ..api.forms import TokenForm
from ..extensions import db
from ..forms import apply_errors
from ..models import Role
from ..models._base import utcnow
from ..services import chains, ownership, profiles
from ..services import tokens as api_tokens
from ..services.errors import ValidationFailed
from ..services.packages import PackageFilters, visible_packages
from ..services.provider_stats import provider_stats
from ..views import role_required, submit
from .forms import EnterpriseForm, OwnershipForm, ProviderForm

bp = Blueprint("profiles", __name__)
OWNERSHIP_PREFIX = "ownership"  # its fields beside the enterprise form's, with their own ids


@bp.route("/")
@login_required
def mine():
    if current_user.is_sme and current_user.enterprise:
        return redirect(url_for(".enterprise", enterprise_id=current_user.enterprise_id))
    if current_user.is_provider and current_user.provider:
        return redirect(url_for(".provider", provider_id=current_user.provider_id))
    if current_user.is_sme or current_user.is_provider:
        return redirect(url_for(".edit"))
    return render_template("profiles/account.html")


@bp.route("/edit", methods=["GET", "POST"])
@login_required
def edit():
    if current_user.is_sme:
        return _edit_enterprise()
    if current_user.is_provider:
        return _edit_provider()
    abort(403)


def _enterprise_data(form: EnterpriseForm) -> profiles.EnterpriseData:
    return profiles.EnterpriseData(
        name=form.name.data, credit_code=form.credit_code.data,
        employees=form.employees.data, revenue_wan=form.revenue_wan.data,
        county_code=form.county_code.data, industry_code=form.industry_code.data,
        cluster_code=form.cluster_code.data or None,
    )


def _edit_enterprise():
    enterprise = current_user.enterprise
    form = EnterpriseForm(obj=enterprise)
    if enterprise is not None and not form.is_submitted():
        form.county_code.data = enterprise.county.code
    choices.fill_enterprise_form(form, exclude_id=getattr(enterprise, "id", None))
    done = submit(form, lambda: profiles.save_enterprise(current_user, _enterprise_data(form)),
                  lambda saved: _("企业信息已保存，规模类型：%(size)s。",
                                  size=saved.size_class.label),
                  lambda _saved: url_for("main.dashboard"))
    return done or _enterprise_page(form, enterprise)


def _enterprise_page(form: EnterpriseForm, enterprise, ownership_form=None, status=200):
    """The enterprise form; without an enterprise yet, also the request to take over one an
    import created (with the user's latest request)."""
    if enterprise is None and ownership_form is None:
        ownership_form = OwnershipForm(formdata=None, prefix=OWNERSHIP_PREFIX)
        if form.credit_code.data and ownership.claimable(form.credit_code.data):
            ownership_form.credit_code.data = form.credit_code.data
    return render_template("profiles/edit_enterprise.html", form=form, enterprise=enterprise,
                           ownership_form=ownership_form,
                           ownership_request=(ownership.latest_request(current_user)
                                              if enterprise is None else None)), status


@bp.route("/ownership", methods=["POST"])
@role_required(Role.SME)
def request_ownership():
    if current_user.enterprise_id is not None:
        abort(403)  # already an enterprise's user
    form = OwnershipForm(prefix=OWNERSHIP_PREFIX)
    done = submit(form, lambda: ownership.request_ownership(
        current_user, form.credit_code.data, form.note.data or ""),
        _("认领申请已提交，主管部门审核后您就可以管理这家企业。"),
        lambda _saved: url_for(".edit"))
    if done:
        return done
    enterprise_form = EnterpriseForm(formdata=None)
    choices.fill_enterprise_form(enterprise_form)
    return _enterprise_page(enterprise_form, current_user.enterprise, form, status=400)


def _provider_data(form: ProviderForm) -> profiles.ProviderData:
    return profiles.ProviderData(
        name=form.name.data, credit_code=form.credit_code.data, kind=form.kind.data,
        tier=form.tier.data, description=form.description.data or "",
        contact_name=form.contact_name.data or "", phone=form.phone.data or "",
        region_codes=tuple(form.region_codes.data),
        lead_enterprise_id=(int(form.lead_enterprise_id.data)
                            if form.lead_enterprise_id.data else None),
    )


def _provider_saved(saved) -> tuple:
    if saved.verified:
        return _("服务商信息已保存。"), "success"
    return _("服务商信息已保存，等待管理员认证；认证通过前方案包不会公开。"), "info"


def _edit_provider():
    provider = current_user.provider
    form = ProviderForm(obj=provider)
    if provider is not None and not form.is_submitted():
        form.region_codes.data = [r.code for r in provider.regions_served]
        form.lead_enterprise_id.data = str(provider.lead_enterprise_id or "")
    choices.fill_provider_form(form)
    done = submit(form, lambda: profiles.save_provider(current_user, _provider_data(form)),
                  _provider_saved, lambda _saved: url_for("main.dashboard"))
    return done or render_template("profiles/edit_provider.html", form=form, provider=provider)


@bp.route("/enterprise/<int:enterprise_id>")
@login_required
def enterprise(enterprise_id: int):
    found = profiles.get_enterprise(current_user, enterprise_id)
    db.session.commit()  # the audit entry of the read
    overseer = current_user.is_gov or current_user.is_admin
    return render_template("profiles/enterprise.html", enterprise=found,
                           leader_application=chains.latest_application(found),
                           mismatch=profiles.region_mismatch(found) if overseer else None)


@bp.route("/provider/<int:provider_id>")
def provider(provider_id: int):
    found = profiles.get_provider(current_user, provider_id)
    packages = db.session.scalars(
        visible_packages(current_user, PackageFilters(provider_id=provider_id))
    ).all()
    return render_template("profiles/provider.html", provider=found, packages=packages,
                           stats=provider_stats(found.id))


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    """Personal API tokens: make one (its secret is shown on this response only, never
    stored or flashed), see when each was last used, revoke."""
    form, secret = TokenForm(), None
    if form.validate_on_submit():
        try:
            _token, secret = api_tokens.create_token(current_user, form.name.data,
                                                     form.scope.data, form.lifetime.data)
        except ValidationFailed as failure:
            db.session.rollback()
            apply_errors(form, failure)
        else:
            db.session.commit()
            form = TokenForm(formdata=None)
    response = make_response(render_template(
        "api/tokens.html", form=form, secret=secret, tokens=api_tokens.tokens_of(current_user),
        now=utcnow()))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    api_tokens.revoke_token(current_user, token_id)
    db.session.commit()
    flash(_("令牌已撤销，使用它的调用将立即失败。"), "info")
    return redirect(url_for(".tokens"))
