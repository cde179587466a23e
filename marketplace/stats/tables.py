"""The dashboard's tables as exportable :class:`marketplace.exports.Table` objects and as the
charts drawn beside them: one definition of each table's columns serves the page, the files
and the charts."""

from __future__ import annotations

import json

from flask_babel import gettext as _

from ..exports import Table
from ..services.figures import FIGURES, figure_note
from ..services.statistics import Dashboard, Row

TABLES = ("funnel", "monthly", "categories", "regions", "unmet", "chains", "programs", "sizes")


def _rate(value: float | None) -> str:
    return f"{value * 100:.1f}%" if value is not None else "—"


def _hours(value: float | None) -> str:
    if value is None:
        return "—"
    return _("%(n).1f 天", n=value / 24) if value >= 48 else _("%(n).1f 小时", n=value)


def _yuan(fen: int) -> float:
    return round(fen / 100, 2)


def _funnel_rows(rows: list[Row]) -> list[list]:
    return [[r.label, r.posted, r.matched, r.converted, _rate(r.match_rate),
             _rate(r.conversion_rate)] for r in rows]


def _funnel_columns(first: str) -> list[str]:
    return [first, _("发布需求"), _("已对接"), _("已成交"), _("对接率"), _("成交率")]


def build(data: Dashboard) -> dict[str, Table]:
    """Every table of the dashboard, titled and carrying the scope's filters."""
    f, filters = data.funnel, [(str(k), v) for k, v in data.scope.filters()]

    def table(title, columns, rows, *counted):
        return Table(title=title, columns=columns, rows=rows, filters=filters,
                     definitions=[(_("口径"), figure_note(*counted))] if counted else [])

    def line(key, value):
        return [str(FIGURES[key].label), value, str(FIGURES[key].definition)]

    return {
        "funnel": table(_("供需对接概况"), [_("指标"), _("数值"), _("口径")], [
            line("posted", f.posted), line("matched", f.matched),
            line("converted", f.converted), line("match_rate", _rate(f.match_rate)),
            line("conversion_rate", _rate(f.conversion_rate)),
            line("open_unmatched", f.open_unmatched),
            line("median_to_request", _hours(f.median_hours_to_request)),
            line("median_to_quote", _hours(f.median_hours_to_quote)),
            line("median_to_order", _hours(f.median_hours_to_order)),
            line("providers_serving", data.supply.providers),
            [_("其已发布的方案包"), data.supply.packages, _("上述服务商已发布的方案包。")],
        ]),
        "monthly": table(_("按月趋势"), _funnel_columns(_("月份")), _funnel_rows(data.monthly),
                         "posted", "matched", "converted"),
        "categories": table(_("按方案类别"), _funnel_columns(_("类别")),
                            _funnel_rows(data.categories), "posted", "matched", "converted"),
        "regions": table(_("下辖地区对比"), _funnel_columns(_("地区")),
                         _funnel_rows(data.regions), "posted", "matched", "converted"),
        "unmet": table(_("未满足需求最多的类别"),
                       [_("类别"), _("征集中、未成交"), _("其中已有申请")],
                       [[r.label, r.posted, r.matched] for r in data.unmet], "unmet"),
        "chains": table(_("链式转型"), [_("链主企业"), _("本地区链上企业"), _("采用链主平台"),
                                      _("采用率")],
                        [[c.leader, c.members, c.adopted, _rate(c.rate)] for c in data.chains],
                        "chain_adoption"),
        "programs": table(_("补贴政策资金（本地区及下辖地区设立的政策）"),
                          [_("政策"), _("总预算（元）"), _("已预留（元）"), _("已拨付（元）"),
                           _("补贴笔数")],
                          [[p.label, _yuan(p.budget_fen), _yuan(p.reserved_fen),
                            _yuan(p.paid_fen), p.claims] for p in data.programs],
                          "subsidy_budget", "subsidy_reserved", "subsidy_paid"),
        "sizes": table(_("按企业规模的补贴（本地区企业，含上级政策）"),
                       [_("企业规模"), _("已预留（元）"), _("已拨付（元）"), _("补贴笔数")],
                       [[s.label, _yuan(s.reserved_fen), _yuan(s.paid_fen), s.claims]
                        for s in data.sizes], "subsidy_reserved", "subsidy_paid"),
    }


def charts(data: Dashboard) -> dict[str, str]:
    """Chart.js specs (as JSON for a data attribute) for the tables people would rather see."""
    def spec(kind, rows, series):
        return json.dumps({"type": kind, "labels": [r.label for r in rows],
                           "datasets": [{"label": label, "data": [getattr(r, attr) for r in rows]}
                                        for label, attr in series]}, ensure_ascii=False)

    funnel_series = [(_("发布需求"), "posted"), (_("已对接"), "matched"),
                     (_("已成交"), "converted")]
    return {
        "monthly": spec("line", data.monthly, funnel_series),
        "categories": spec("doughnut", data.categories, [(_("发布需求"), "posted")]),
        "regions": spec("bar", data.regions, funnel_series),
    }
