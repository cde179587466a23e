"""Demand-list imports: the batch history, the upload, a batch's page, its problem report
and the template, for officials (their region and below) and admins."""

from flask import Blueprint, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from .. import exports, refchoices
from ..extensions import db
from ..models import Role
from ..pagination import paginate
from ..security import accepts_upload
from ..services import imports, ownership
from ..views import role_required, submit
from .forms import OwnershipDecisionForm, UploadForm, check_rows

bp = Blueprint("imports", __name__)
OFFICIALS = (Role.GOV, Role.ADMIN)
SHOWN_PROBLEMS = 200


@bp.route("/")
@role_required(*OFFICIALS)
def index():
    page = paginate(imports.visible_batches(current_user))
    return render_template("imports/index.html", page=page)


@bp.route("/new", methods=["GET", "POST"])
@accepts_upload
@role_required(*OFFICIALS)
def upload():
    form = UploadForm()
    form.visibility.choices = refchoices.label_choices("visibility")
    form.default_level.choices = refchoices.level_choices()
    limit = imports.upload_limit()

    def run():
        file = form.file.data
        content = file.read(limit + 1)
        sheet = imports.read_demand_list(file.filename or "", content, limit)
        rows = check_rows(sheet.rows)
        return imports.import_demand_list(current_user, imports.Upload(
            filename=file.filename or "", content=content, file_format=sheet.file_format,
            visibility=form.visibility.data, default_level_code=form.default_level.data,
        ), rows)

    done = submit(form, run, _summary, lambda batch: url_for(".detail", batch_id=batch.id))
    return done or render_template("imports/upload.html", form=form,
                                   max_mb=round(limit / 1024 / 1024, 1),
                                   max_rows=imports.MAX_ROWS, columns=imports.COLUMNS)


def _summary(batch):
    text = _("导入完成：%(ok)d 条需求已导入，%(dup)d 条重复，%(bad)d 条有错误。",
             ok=batch.rows_imported, dup=batch.rows_duplicate, bad=batch.rows_invalid)
    return text, "warning" if batch.rows_invalid else "success"


@bp.route("/<int:batch_id>")
@role_required(*OFFICIALS)
def detail(batch_id: int):
    batch = imports.get_batch(current_user, batch_id)
    return render_template("imports/detail.html", batch=batch,
                           problems=batch.problems[:SHOWN_PROBLEMS], locale=str(get_locale()),
                           needs=imports.batch_needs(batch), columns=imports.COLUMNS)


@bp.route("/<int:batch_id>/report.<any(csv, xlsx):fmt>")
@role_required(*OFFICIALS)
def report(batch_id: int, fmt: str):
    batch = imports.get_batch(current_user, batch_id)
    table = imports.problem_report(current_user, batch, str(get_locale()))
    db.session.commit()  # the audit entry of the download
    return exports.download(table, fmt)


@bp.route("/template.<any(csv, xlsx):fmt>")
@role_required(*OFFICIALS)
def template(fmt: str):
    return exports.download(imports.template_tables(current_user), fmt)


@bp.route("/ownership")
@role_required(*OFFICIALS)
def ownership_requests():
    """Requests to take over enterprises an import created, in the official's region."""
    return render_template("imports/ownership.html",
                           requests=ownership.requests_for(current_user),
                           form=_decision_form(formdata=None))


def _decision_form(**kwargs) -> OwnershipDecisionForm:
    form = OwnershipDecisionForm(**kwargs)
    form.decision.choices = refchoices.options([("approve", _("通过")), ("reject", _("驳回"))])
    return form


@bp.route("/ownership/<int:request_id>", methods=["POST"])
@role_required(*OFFICIALS)
def decide_ownership(request_id: int):
    found = ownership.get_request(current_user, request_id)
    form = _decision_form()
    approve = form.decision.data == "approve"
    message = _("已通过认领，申请人现在可以管理这家企业。") if approve else _("已驳回认领申请。")
    done = submit(form, lambda: ownership.decide(current_user, found, approve,
                                                 form.reason.data or ""),
                  message, lambda _result: url_for(".ownership_requests"))
    if done:
        return done
    return render_template("imports/ownership.html", requests=ownership.requests_for(current_user),
                           form=form, failed_id=found.id), 400
