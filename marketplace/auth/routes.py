"""Registration, login, logout and password change."""

import math
import time

from flask import (
    Blueprint,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db
from ..forms import apply_errors
from ..services import accounts
from ..services.errors import ValidationFailed
from ..views import safe_next
from .forms import LoginForm, PasswordForm, RegisterForm

bp = Blueprint("auth", __name__)


def _start_session(user) -> None:
    lang = session.get("lang")
    session.clear()  # a fresh session at login: nothing from before carries over
    if lang:
        session["lang"] = lang
    login_user(user)


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = RegisterForm()
    if form.validate_on_submit():
        data = accounts.NewAccount(
            email=form.email.data, password=form.password.data,
            display_name=form.display_name.data, role=form.role.data,
        )
        try:
            user = accounts.register_user(data)
        except ValidationFailed as failure:
            db.session.rollback()
            apply_errors(form, failure)
        else:
            db.session.commit()
            _start_session(user)
            flash(_("注册成功。请先完善单位信息。"), "success")
            return redirect(url_for("profiles.edit"))
    return render_template("auth/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        db.session.commit()  # the login, or the failed attempt, is audited either way
        if user is None:
            form.form_errors.append(_("邮箱或密码不正确。"))
        else:
            _start_session(user)
            return redirect(safe_next(request.args.get("next")) or url_for("main.dashboard"))
    return render_template("auth/login.html", form=form)


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
                                     form.new_password.data)
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


# The form pages :mod:`marketplace.security` throttles, shown again when a limit is reached.
THROTTLED_FORMS = {
    "auth.login": (LoginForm, "auth/login.html"),
    "auth.register": (RegisterForm, "auth/register.html"),
    "auth.change_password": (PasswordForm, "auth/password.html"),
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
