"""Registration (by e-mailed link), login, logout, password change and reset."""

import math
import time

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db
from ..forms import apply_errors
from ..security import count_login_failure, login_guarded
from ..services import accounts
from ..services.errors import ValidationFailed
from ..views import safe_next, submit
from .forms import (
    ChoosePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    LoginLinkForm,
    PasswordForm,
    RegisterForm,
    ResetPasswordForm,
)

bp = Blueprint("auth", __name__)


def _start_session(user) -> None:
    lang = session.get("lang")
    session.clear()  # a fresh session at login: nothing from before carries over
    if lang:
        session["lang"] = lang
    login_user(user)


GUARDED_LOGIN = _l("这个账号近期登录失败的次数过多。为保护账号，暂时只能通过邮件登录："
                   "如果密码正确，我们已向账号邮箱发送了一次性登录链接（15 分钟内有效）。")


def login_link(token: str) -> str:
    return url_for("auth.login_by_link", token=token, _external=True)


def reset_link(token: str) -> str:
    return url_for("auth.reset_password", token=token, _external=True)


def signup_link(token: str) -> str:
    return url_for("auth.complete_registration", token=token, _external=True)


def _private(page: str):
    """A page opened by an e-mailed link: kept by no cache (the link is in its URL)."""
    response = make_response(page)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/register", methods=["GET", "POST"])
def register():
    """The same answer for a new and a registered address (the e-mail tells them apart)."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = RegisterForm()

    def start():
        accounts.start_registration(accounts.Registration(
            email=form.email.data, display_name=form.display_name.data, role=form.role.data,
        ), signup_link, reset_link)

    def sent(_result):
        return _("我们已向 %(email)s 发送邮件，请按邮件中的链接设置密码、完成注册（%(hours)d 小时内"
                 "有效）。如果这个邮箱已有账号，邮件会告诉您如何登录。",
                 email=accounts.normalize_email(form.email.data),
                 hours=current_app.config["REGISTER_LINK_MAX_AGE"] // 3600), "info"

    done = submit(form, start, sent, lambda _result: url_for(".login"))
    return done or render_template("auth/register.html", form=form)


@bp.route("/register/<token>", methods=["GET", "POST"])
def complete_registration(token: str):
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    registration = accounts.registration_from_token(token)
    if registration is None:
        flash(_("注册链接无效或已过期，请重新注册。"), "warning")
        return redirect(url_for(".register"))
    if accounts.find_user_by_email(registration.email) is not None:
        flash(_("这个邮箱已经注册，请直接登录；忘记密码可以重设。"), "info")
        return redirect(url_for(".login"))
    form = ChoosePasswordForm()
    if form.validate_on_submit():
        try:
            user = accounts.complete_registration(registration, form.password.data)
        except ValidationFailed as failure:
            db.session.rollback()
            apply_errors(form, failure)
        else:
            db.session.commit()
            _start_session(user)
            flash(_("注册成功。请先完善单位信息。"), "success")
            return redirect(url_for("profiles.edit"))
    return _private(render_template("auth/complete_registration.html", form=form,
                                    registration=registration))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        guarded = login_guarded()
        user = accounts.authenticate(form.email.data, form.password.data, guarded=guarded,
                                     login_link=login_link)
        db.session.commit()  # the login, or the failed attempt, is audited either way
        if guarded:  # the same answer whether the password was right: a guess learns nothing
            form.form_errors.append(GUARDED_LOGIN)
        elif user is None:
            count_login_failure()
            form.form_errors.append(_("邮箱或密码不正确。"))
        else:
            _start_session(user)
            return redirect(safe_next(request.args.get("next")) or url_for("main.dashboard"))
    return render_template("auth/login.html", form=form)


@bp.route("/login-link/<token>", methods=["GET", "POST"])
def login_by_link(token: str):
    """A guarded login's e-mailed link: the GET shows a button (a mail scanner that follows
    links opens nothing), the POST opens the account once."""
    user = accounts.user_for_login_token(token)
    if user is None:
        flash(_("登录链接无效、已使用或已过期，请重新登录。"), "warning")
        return redirect(url_for(".login"))
    form = LoginLinkForm()
    if form.validate_on_submit():
        accounts.login_by_link(user)
        db.session.commit()
        _start_session(user)
        flash(_("已通过邮件链接登录，这个账号在其他设备上的登录已失效。"), "success")
        return redirect(url_for("main.dashboard"))
    return _private(render_template("auth/login_link.html", form=form, user=user))


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    accounts.logout_everywhere(current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("您已退出登录。"), "info")
    return redirect(url_for("main.index"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user, form.current_password.data,
                                     form.new_password.data, keep_tokens=form.keep_tokens.data)
        except ValidationFailed as failure:
            db.session.rollback()
            apply_errors(form, failure)
        else:
            user = current_user._get_current_object()
            db.session.commit()
            _start_session(user)
            flash(_("密码已修改，其他设备上的登录已失效。"), "success")
            return redirect(url_for("main.dashboard"))
    return render_template("auth/password.html", form=form)


@bp.route("/forgot", methods=["GET", "POST"])
def forgot_password():
    """The same answer whether the address has an account or not."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data, reset_link)
        db.session.commit()
        flash(_("如果这个邮箱注册过账号，我们已向它发送了重设密码的链接（%(minutes)d 分钟内有效，"
                "只能使用一次）。", minutes=current_app.config["PASSWORD_RESET_MAX_AGE"] // 60),
              "info")
        return redirect(url_for(".login"))
    return render_template("auth/forgot.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    user = accounts.user_for_reset_token(token)
    if user is None:
        flash(_("重设密码的链接无效、已使用或已过期，请重新申请。"), "warning")
        return redirect(url_for(".forgot_password"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(user, form.password.data, keep_tokens=form.keep_tokens.data)
        except ValidationFailed as failure:
            db.session.rollback()
            apply_errors(form, failure)
        else:
            db.session.commit()
            _start_session(user)
            flash(_("密码已重设，其他设备上的登录已失效。"), "success")
            return redirect(url_for("main.dashboard"))
    return _private(render_template("auth/reset.html", form=form, user=user))


# The form pages :mod:`marketplace.security` throttles, shown again when a limit is reached.
THROTTLED_FORMS = {
    "auth.login": (LoginForm, "auth/login.html"),
    "auth.register": (RegisterForm, "auth/register.html"),
    "auth.change_password": (PasswordForm, "auth/password.html"),
    "auth.forgot_password": (ForgotPasswordForm, "auth/forgot.html"),
}


def throttled_page(limit):
    """Instead of the view: the same form with what was typed (never the password), a message
    saying when to try again, status 429. Nothing is checked or written."""
    form_class, template = THROTTLED_FORMS[request.endpoint]
    form = form_class()
    seconds = max(1, math.ceil(limit.window.reset_time - time.time()))
    form.form_errors.append(_("尝试次数过多，请 %(minutes)d 分钟后再试。",
                              minutes=math.ceil(seconds / 60)))
    response = make_response(render_template(template, form=form), 429)
    response.headers["Retry-After"] = str(seconds)
    return response
