"""The statistics dashboard of an official's region, its exports and the annual report."""

from datetime import date

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from .. import exports, refchoices
from ..models import Role
from ..models._base import utcnow
from ..services import ranking, statistics
from ..services.deals import today
from ..services.regions import region_choices
from ..templating import url_with
from ..views import role_required
from . import tables
from .forms import ReportForm, StatsFilterForm

bp = Blueprint("stats", __name__)


def _region_choices():
    """The official's region and the regions below it (admins: all), in tree order."""
    allowed = statistics.scope_for(current_user).region_ids
    indent = {"province": "", "city": "　", "county": "　　"}
    return refchoices.options((r.code, indent[r.level] + r.label) for r in region_choices()
                              if r.id in allowed)


def _filtered_scope():
    form = StatsFilterForm(request.args)
    form.region_code.choices = _region_choices()
    form.industry.choices = refchoices.industry_choices(_("全部行业"))
    form.cluster.choices = refchoices.cluster_options(_("全部集群"))
    form.category.choices = refchoices.category_choices(_("全部类别"))
    form.level.choices = refchoices.level_choices(_("全部层级"))
    form.validate()

    def ok(field):
        return field.data if field.data and not field.errors else None

    scope = statistics.scope_for(
        current_user, ok(form.region_code) or "", start=ok(form.start),
        end=ok(form.end), industry=ok(form.industry) or "",
        cluster=ok(form.cluster) or "", category=ok(form.category) or "",
        level=ok(form.level) or "")
    return form, scope


@bp.route("/")
@role_required(Role.GOV, Role.ADMIN)
def index():
    form, scope = _filtered_scope()
    data = statistics.dashboard(scope)
    region_links = [url_with(region_code=row.key) for row in data.regions]
    return render_template("stats/dashboard.html", form=form, data=data,
                           tables=tables.build(data), charts=tables.charts(data),
                           region_links=region_links,
                           allowed_ids=statistics.scope_for(current_user).region_ids,
                           ), 400 if form.errors else 200


@bp.route("/export/<any(" + ", ".join((*tables.TABLES, "all")) + "):name>.<any(csv, xlsx):fmt>")
@role_required(Role.GOV, Role.ADMIN)
def export(name: str, fmt: str):
    if name == "all" and fmt != "xlsx":
        abort(404)  # a CSV file holds one table
    _form, scope = _filtered_scope()
    built = tables.build(statistics.dashboard(scope))
    if name != "all":
        return exports.download(built[name], fmt)
    cover = exports.Table(_("地区统计"), [], [], built["funnel"].filters)
    return exports.download(list(built.values()), fmt, exports.file_name(cover, fmt, today()))


@bp.route("/report")
@role_required(Role.GOV, Role.ADMIN)
def report():
    form = ReportForm(request.args)
    form.region_code.choices = _region_choices()
    form.validate()
    year = form.year.data if form.year.data and not form.year.errors else today().year
    scope = statistics.scope_for(
        current_user, form.region_code.data if not form.region_code.errors else "",
        start=date(year, 1, 1), end=date(year, 12, 31))
    data = statistics.dashboard(scope)
    return render_template("stats/report.html", form=form, year=year, data=data,
                           tables=tables.build(data), charts=tables.charts(data),
                           extras=statistics.report_extras(scope), now=utcnow(),
                           ranked=[r for r in ranking.rank_providers(
                               current_user, ranking.RankingFilters(
                                   region_code=scope.region.code)).rows
                               if r.position is not None][:10])
