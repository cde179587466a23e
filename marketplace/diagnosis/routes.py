"""Self-diagnosis: history, questionnaire, result and plan, posting a suggestion, distribution."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..models import Role
from ..services import diagnosis
from ..views import role_required, submit
from .forms import PostSuggestionForm, answers_of, localized, questionnaire_form

bp = Blueprint("diagnosis", __name__)
bp.add_app_template_global(localized, "localized")


def _needs_profile():
    if current_user.enterprise is None:
        flash(_("请先填写企业信息，再做自评。"), "warning")
        return redirect(url_for("profiles.edit"))
    return None


@bp.route("/")
@role_required(Role.SME)
def index():
    """The enterprise's results over time and the way to a new self-assessment."""
    if (missing := _needs_profile()) is not None:
        return missing
    return render_template("diagnosis/index.html",
                           results=diagnosis.history(current_user.enterprise_id),
                           questionnaire=diagnosis.load_questionnaire())


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.SME)
def start():
    if (missing := _needs_profile()) is not None:
        return missing
    questionnaire = diagnosis.load_questionnaire()
    form = questionnaire_form(questionnaire)
    done = submit(form, lambda: diagnosis.submit_diagnosis(
                      current_user, answers_of(form, questionnaire)),
                  _("自评完成，以下是结果和免费的转型建议。"),
                  lambda result: url_for(".result", result_id=result.id))
    if done:
        return done
    status = 400 if form.is_submitted() else 200
    return render_template("diagnosis/form.html", form=form, questionnaire=questionnaire), status


@bp.route("/results/<int:result_id>")
@role_required(Role.SME, Role.ADMIN)
def result(result_id: int):
    found = diagnosis.get_result(current_user, result_id)
    assessment = diagnosis.assessment_of(found)
    packages, offers = {}, {}
    if assessment is not None:
        packages = diagnosis.plan_packages(found.enterprise, assessment)
        offers = diagnosis.plan_subsidies(found.enterprise, packages)
    db.session.commit()  # an admin's read is audited
    return render_template(
        "diagnosis/result.html", result=found, assessment=assessment, packages=packages,
        offers=offers,
        questionnaire=diagnosis.load_questionnaire(), post_form=PostSuggestionForm(),
        previous=_previous(found))


def _previous(result):
    earlier = [r for r in diagnosis.history(result.enterprise_id) if r.id < result.id]
    return earlier[-1] if earlier else None


@bp.route("/results/<int:result_id>/needs/<code>", methods=["POST"])
@role_required(Role.SME)
def post_suggestion(result_id: int, code: str):
    found = diagnosis.get_result(current_user, result_id)
    if not PostSuggestionForm().validate_on_submit():
        abort(400)
    existing = found.need_for(code)
    if existing is not None:
        flash(_("这条建议已经发布为需求。"), "info")
        return redirect(url_for("needs.detail", need_id=existing.id))
    need = diagnosis.post_suggestion(current_user, found, code)
    db.session.commit()
    flash(_("已发布为需求，可以继续修改，并向推荐的服务商申请对接。"), "success")
    return redirect(url_for("needs.detail", need_id=need.id))


@bp.route("/overview")
@role_required(Role.GOV, Role.ADMIN)
def overview():
    """The distribution of levels in the official's region and the regions beneath it."""
    distribution = diagnosis.level_distribution(current_user,
                                                (request.args.get("region") or "")[:6] or None)
    return render_template("diagnosis/overview.html", distribution=distribution,
                           questionnaire=diagnosis.load_questionnaire())
