"""Landing page, each role's dashboard and the language switch."""

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from ..extensions import db
from ..services import accounts, overview
from ..services.profiles import role_has_profile
from ..views import safe_next

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    return render_template("main/index.html", **overview.landing())


@bp.route("/dashboard")
@login_required
def dashboard():
    user = current_user
    if not role_has_profile(user):
        return redirect(url_for("profiles.edit"))
    if user.is_sme:
        data = overview.sme_overview(user)
    elif user.is_provider:
        data = overview.provider_overview(user)
    elif user.is_gov:
        data = overview.gov_overview(user)
    else:
        data = overview.admin_overview()
    return render_template(f"main/dashboard_{user.role}.html", **data)


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        if current_user.is_authenticated:
            accounts.set_locale(current_user, code)
            db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("main.index"))
