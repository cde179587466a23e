"""The ranking page and its export: everyone sees the table and the formula; admins also see
eliminated providers and the 优选/淘汰 buttons (which post to ``admin.set_standing``)."""

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_sqlalchemy.pagination import Pagination

from .. import exports
from ..models import Tier
from ..pagination import MAX_PAGE
from ..services import ranking
from ..services.regions import region_by_code
from ..templating import label
from .forms import RankingFilterForm

bp = Blueprint("ranking", __name__)
PER_PAGE = 50

COMPONENT_LABELS = {
    "rating": _l("评分"), "on_time": _l("按期交付"), "win_rate": _l("报价成交"),
    "volume": _l("订单量"), "response": _l("首次响应"), "tier": _l("平台等级"),
}


class _ListPage(Pagination):
    """One page of a list already in memory, for the ``pager`` macro."""

    def _query_items(self) -> list:
        start = (self.page - 1) * self.per_page
        return self._query_args["items"][start:start + self.per_page]

    def _query_count(self) -> int:
        return len(self._query_args["items"])


def _filter_form() -> tuple[RankingFilterForm, ranking.RankingFilters]:
    form = RankingFilterForm(request.args)
    form.fill_choices()
    form.validate()
    return form, ranking.RankingFilters(
        region_code=form.chosen(form.region_code), category_code=form.chosen(form.category_code),
        kind=form.chosen(form.kind), tier=form.chosen(form.tier))


def _is_admin() -> bool:
    return current_user.is_authenticated and current_user.is_admin


@bp.route("/")
def index():
    form, filters = _filter_form()
    result = ranking.rank_providers(current_user, filters)
    page_number = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    page = _ListPage(page=page_number, per_page=PER_PAGE, error_out=False, items=result.rows)
    export_args = {f.name: f.data for f in form.filter_fields() if f.data and not f.errors}
    return render_template("ranking/index.html", form=form, ranking=result, page=page,
                           components=formula_rows(result), labels=COMPONENT_LABELS,
                           export_args=export_args, is_admin=_is_admin())


@bp.route("/export.<any(csv, xlsx):fmt>")
def export(fmt: str):
    form, filters = _filter_form()
    if form.errors:  # a file must not claim a filter it did not apply
        abort(400)
    result = ranking.rank_providers(current_user, filters)
    return exports.download([ranking_table(result, _named_filters(form), _is_admin()),
                             formula_table(result)], fmt)


def _named_filters(form: RankingFilterForm) -> list[tuple[str, str]]:
    """``(label, chosen value)`` of each filter set, for the file and its name."""
    named = []
    for field in form.filter_fields():
        if field.data:
            text = {c.value: c.label for c in field.choices}[field.data].strip()
            if field is form.region_code:
                region = region_by_code(field.data)
                text = region.full_label or region.label
            named.append((str(field.label.text), text))
    return named or [(_("筛选条件"), _("全部服务商"))]


def formula_rows(result: ranking.Ranking) -> list[dict]:
    """Each component's label, weight, how it is computed and its value without data."""
    formula = result.formula
    neutral = f"{formula.neutral:g}"
    how = {
        "rating": _("(S − 1) / 4，S = (C × m + 评分之和) / (C + 评价数)：C = %(c)s，"
                    "m = 全平台所有评价的平均分 %(m).2f 星", c=f"{formula.prior_reviews:g}",
                    m=result.mean_stars),
        "on_time": _("按期交付的订单 / 已交付的订单（交付日不晚于约定交付日，按北京时间）"),
        "win_rate": _("报价后下单的申请 / 已报价的申请（含之后取消的订单；未经报价的订单不计）"),
        "volume": _("ln(1 + 订单数) / ln(1 + %(n)d)，%(n)d 单及以上为 1（不含已取消的订单）",
                    n=formula.volume_full_at),
        "response": _("%(h)s / (%(h)s + 首次响应时间中位数，小时)：立即响应为 1，"
                      "%(h)s 小时为 0.5", h=f"{formula.response_half_hours:g}"),
        "tier": _("按平台等级：%(tiers)s", tiers="，".join(
            f"{label(tier, 'tier')} {formula.tier_value(tier):g}" for tier in Tier.ALL)),
    }
    missing = {
        "rating": _("无评价时 S = m"), "on_time": _("无已交付订单时取 %(v)s", v=neutral),
        "win_rate": _("无报价时取 %(v)s", v=neutral), "volume": _("无订单为 0"),
        "response": _("无已回复的申请时取 %(v)s", v=neutral),
        "tier": _("未知等级取 %(v)s", v=neutral),
    }
    return [{"name": name, "label": str(COMPONENT_LABELS[name]), "weight": weight,
             "share": formula.weights.share(name), "how": how[name], "missing": missing[name]}
            for name, weight in formula.weights.items()]


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


RANKING_COLUMNS = (
    _l("排名"), _l("服务商"), _l("类型"), _l("等级"), _l("综合得分"),
    _l("评价数"), _l("平均评分"), _l("平滑评分 S"), _l("评分分项"),
    _l("已交付订单"), _l("按期交付率"), _l("按期交付分项"),
    _l("报价数"), _l("报价成交率"), _l("报价成交分项"),
    _l("订单量"), _l("订单量分项"), _l("首次响应中位数（小时）"), _l("首次响应分项"),
    _l("平台等级分项"),
)


def ranking_table(result: ranking.Ranking, filters: list, admin: bool) -> exports.Table:
    """The ranking as a spreadsheet table; admins get the 优选/淘汰 mark too."""
    columns = [str(c) for c in RANKING_COLUMNS] + ([_("优选/淘汰")] if admin else [])
    rows = []
    for row in result.rows:
        record, parts = row.record, row.components
        cells = [
            row.position, row.name, label(row.kind, "kind"), label(row.tier, "tier"),
            round(row.score, 2), record.review_count, _rounded(record.rating_avg, 2),
            round(parts.smoothed_stars, 2), round(parts.rating, 4),
            record.delivered, _rounded(record.on_time_rate, 4), round(parts.on_time, 4),
            record.quoted, _rounded(record.win_rate, 4), round(parts.win_rate, 4),
            record.orders, round(parts.volume, 4),
            _rounded(record.median_response_hours, 2), round(parts.response, 4),
            round(parts.tier, 4),
        ]
        rows.append(cells + ([label(row.standing, "standing")] if admin else []))
    return exports.Table(title=_("服务商综合评价排名"), columns=columns, rows=rows,
                         filters=filters, sheet_name=_("排名"))


def formula_table(result: ranking.Ranking) -> exports.Table:
    rows = [(c["label"], round(c["share"], 4), c["how"], c["missing"])
            for c in formula_rows(result)]
    return exports.Table(title=_("综合得分 = 100 × Σ 权重 × 分项 / Σ 权重"),
                         columns=[_("分项"), _("权重"), _("计算方法"), _("无数据时")],
                         rows=rows, sheet_name=_("计算方法"))
