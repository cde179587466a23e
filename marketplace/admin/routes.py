"""Administration: provider verification, accounts, reference data, and the audit trail
(which officials read too, for their region)."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import refchoices, trail
from ..auth.routes import reset_link
from ..extensions import db
from ..models import Provider, Role, User
from ..pagination import paginate
from ..services import accounts, audit, profiles, refdata
from ..services.errors import NotFound, ValidationFailed
from ..templating import label
from ..views import role_required, safe_next, submit
from .forms import AccountForm, RenameForm, TrailFilterForm

bp = Blueprint("admin", __name__)

REFERENCE_KINDS = tuple(refdata.KINDS)


@bp.route("/providers")
@role_required(Role.ADMIN)
def providers():
    pending = request.args.get("pending") == "1"
    return render_template("admin/providers.html", page=paginate(profiles.provider_list(pending)),
                           pending=pending)


@bp.route("/providers/<int:provider_id>/<any(verify, unverify):action>", methods=["POST"])
@role_required(Role.ADMIN)
def verify_provider(provider_id: int, action: str):
    provider = db.session.get(Provider, provider_id)
    if provider is None:
        raise NotFound()
    profiles.verify_provider(current_user, provider, action == "verify")
    db.session.commit()
    flash(_("已认证 %(name)s。", name=provider.name) if action == "verify"
          else _("已取消 %(name)s 的认证。", name=provider.name), "success")
    return redirect(safe_next(request.form.get("next")) or url_for(".providers"))


@bp.route("/providers/<int:provider_id>/standing/<any(normal, preferred, eliminated):standing>",
          methods=["POST"])
@role_required(Role.ADMIN)
def set_standing(provider_id: int, standing: str):
    provider = profiles.get_provider(current_user, provider_id)
    profiles.set_standing(current_user, provider, standing)
    db.session.commit()
    flash(_("已将 %(name)s 标记为：%(mark)s。", name=provider.name,
            mark=label(standing, "standing")), "success")
    return redirect(safe_next(request.form.get("next")) or url_for(".providers"))


@bp.route("/users")
@role_required(Role.ADMIN)
def users():
    role = request.args.get("role", "")
    return render_template("admin/users.html", page=paginate(accounts.user_list(role)), role=role)


@bp.route("/users/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def create_user():
    form = AccountForm()
    form.region_code.choices = refchoices.region_filter_choices()
    def create():
        return accounts.create_account(current_user, accounts.NewAccount(
            email=form.email.data, password=form.password.data,
            display_name=form.display_name.data, role=form.role.data,
            region_code=form.region_code.data or None,
        ))

    done = submit(form, create, _("账号已创建。"), lambda user: url_for(".users"))
    return done or render_template("admin/user_form.html", form=form)


@bp.route("/users/<int:user_id>/<any(enable, disable):action>", methods=["POST"])
@role_required(Role.ADMIN)
def set_active(user_id: int, action: str):
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    try:
        accounts.set_user_active(current_user, user, action == "enable")
    except ValidationFailed as failure:
        db.session.rollback()
        for message in failure.errors.values():
            flash(str(message), "danger")
    else:
        db.session.commit()
        flash(_("账号已启用。") if action == "enable" else _("账号已停用。"), "success")
    return redirect(url_for(".users"))


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@role_required(Role.ADMIN)
def force_password_reset(user_id: int):
    """The password stops working now; the owner chooses a new one through the e-mailed
    link (see :func:`accounts.force_password_reset`)."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    try:
        accounts.force_password_reset(current_user, user, reset_link)
    except ValidationFailed as failure:
        db.session.rollback()
        for message in failure.errors.values():
            flash(str(message), "danger")
    else:
        db.session.commit()
        flash(_("已强制重设 %(email)s 的密码：其登录和 API 令牌已全部失效，"
                "重设链接已发到这个邮箱。", email=user.email), "success")
    return redirect(url_for(".users"))


@bp.route("/reference/")
@bp.route("/reference/<kind>")
@role_required(Role.ADMIN)
def reference(kind: str = "categories"):
    rows = refdata.list_kind(kind)
    return render_template("admin/reference.html", kinds=REFERENCE_KINDS, kind=kind, rows=rows)


@bp.route("/reference/<kind>/<code>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def rename(kind: str, code: str):
    row = next((r for r in refdata.list_kind(kind) if r.code == code), None)
    if row is None:
        raise NotFound()
    form = RenameForm(obj=row)
    edit = refdata.NameEdit(form.name.data or "", form.name_en.data or "")
    done = submit(form, lambda: refdata.rename(current_user, kind, code, edit), _("已保存。"),
                  lambda _row: url_for(".reference", kind=kind))
    return done or render_template("admin/rename.html", form=form, kind=kind, row=row)


# -- the audit trail ----------------------------------------------------------------------------


@bp.route("/audit")
@role_required(Role.GOV, Role.ADMIN)
def audit_log():
    """Who changed what, when, from what to what: officials the entries of their region and
    below, admins all; filtered by object, action, actor and dates (bad values are ignored)."""
    form = TrailFilterForm(request.args)
    form.object_group.choices = refchoices.options(
        [("", _("全部对象"))] + [(k, str(v)) for k, v in trail.OBJECT_GROUP_LABELS.items()])
    form.action.choices = refchoices.options(
        [("", _("全部操作"))] + sorted(((k, str(v)) for k, v in trail.ACTION_LABELS.items()),
                                      key=lambda choice: choice[1]))
    form.validate()

    def kept(field):
        return field.data if field.data and not field.errors else None

    filters = audit.TrailFilter(object_group=kept(form.object_group) or "",
                                action=kept(form.action) or "", actor=kept(form.actor) or "",
                                since=kept(form.since), until=kept(form.until))
    return render_template("admin/audit.html", form=form, trail=trail,
                           page=paginate(audit.trail(current_user, filters)))
