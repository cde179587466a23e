"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask, current_app, request
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import lazy_gettext as _l

# Labels of the fixed codes (reference data tables carry their own names).
LABELS = {
    "role": {"sme": _l("企业用户"), "provider": _l("服务商用户"), "gov": _l("政府用户"),
             "admin": _l("管理员")},
    "token_scope": {"read": _l("只读"), "write": _l("读写")},
    "tier": {"enterprise": _l("企业级"), "industry": _l("行业级"), "regional": _l("区域级"),
             "provincial_cross": _l("省级双跨"), "national_specialized": _l("国家级特色专业型"),
             "national_cross": _l("国家级双跨")},
    "kind": {"platform": _l("平台企业"), "service": _l("服务商"), "software": _l("软件企业")},
    "deployment": {"saas": _l("SaaS 云服务"), "private": _l("私有化部署"),
                   "hybrid": _l("混合部署")},
    "price_unit": {"per_year": _l("元/年"), "per_month": _l("元/月"), "per_set": _l("元/套"),
                   "per_device": _l("元/台"), "per_project": _l("元/项目")},
    "need_status": {"open": _l("征集中"), "in_progress": _l("实施中"), "closed": _l("已关闭")},
    "package_status": {"draft": _l("草稿"), "published": _l("已发布"), "archived": _l("已归档")},
    "visibility": {"public": _l("公开"), "private": _l("仅对接的服务商可见")},
    "standing": {"normal": _l("正常"), "preferred": _l("优选"), "eliminated": _l("淘汰")},
    "request_status": {"pending": _l("待回复"), "quoted": _l("已报价"), "declined": _l("已拒绝"),
                       "withdrawn": _l("已撤回"), "closed": _l("已关闭"), "ordered": _l("已下单")},
    "order_status": {"placed": _l("待交付"), "delivered": _l("待验收"), "disputed": _l("有异议"),
                     "accepted": _l("已验收"), "cancelled": _l("已取消")},
    "notice": {"request_received": _l("收到对接申请"), "request_withdrawn": _l("对接申请已撤回"),
               "request_declined": _l("服务商拒绝了对接申请"), "quote_received": _l("收到报价"),
               "quote_accepted": _l("报价被接受，已下单"),
               "request_closed": _l("需求已选定其他方案，申请关闭"),
               "order_delivered": _l("服务商已交付，请验收"), "delivery_accepted": _l("企业已验收"),
               "order_disputed": _l("企业对交付提出异议"), "review_received": _l("收到评价"),
               "order_cancelled": _l("订单已取消"), "claim_approved": _l("补贴已批准"),
               "claim_ready": _l("企业已验收，补贴待审批"),
               "claim_rejected": _l("补贴被驳回"), "claim_paid": _l("补贴已拨付"),
               "case_to_confirm": _l("典型案例待您确认"), "case_returned": _l("典型案例被退回修改"),
               "case_confirmed": _l("对方已确认典型案例，等待审核"),
               "case_published": _l("典型案例已发布"), "case_rejected": _l("典型案例未通过审核"),
               "event_scheduled": _l("对接活动日程已发布"), "event_changed": _l("对接安排有变动"),
               "event_cancelled": _l("对接活动已取消"),
               "ownership_requested": _l("有企业认领申请待审核"),
               "ownership_approved": _l("企业认领已通过"),
               "chain_leader_applied": _l("有链主申请待审核"),
               "chain_leader_approved": _l("链主申请已通过"),
               "chain_leader_rejected": _l("链主申请未通过"),
               "chain_invited": _l("链主邀请您加入产业链"),
               "chain_join_requested": _l("有企业申请加入您的产业链"),
               "chain_message": _l("链主消息")},
    "ownership_status": {"pending": _l("待审核"), "approved": _l("已通过"),
                         "rejected": _l("已驳回")},
    "case_status": {"draft": _l("草稿"), "pending": _l("待对方确认"), "submitted": _l("待审核"),
                    "published": _l("已发布"), "rejected": _l("未通过")},
    "program_mode": {"percent": _l("按比例补贴"), "fixed": _l("定额补贴"),
                     "procurement": _l("政府采购（企业免费）")},
    "program_status": {"draft": _l("草稿"), "active": _l("实施中"), "closed": _l("已结束")},
    "claim_status": {"reserved": _l("已预留"), "approved": _l("已批准"), "paid": _l("已拨付"),
                     "rejected": _l("已驳回"), "released": _l("已释放")},
    "entry_kind": {"adjust": _l("预算调整"), "reserve": _l("预留"), "release": _l("释放"),
                   "pay": _l("拨付")},
    "entry_note": {"initial_budget": _l("初始预算"), "budget_edit": _l("修改预算"),
                   "order_cancelled": _l("订单取消")},
    "region_level": {"province": _l("省"), "city": _l("设区市"), "county": _l("县（市、区）")},
}


def label(value: str | None, kind: str) -> str:
    return str(LABELS[kind].get(value, value or ""))


def money(fen: int | None) -> str:
    """``123456`` fen → ``¥1,234.56``; whole yuan shown without decimals."""
    if fen is None:
        return ""
    yuan, cents = divmod(abs(fen), 100)
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{yuan:,}" + (f".{cents:02d}" if cents else "")


def percent(basis_points: int | None) -> str:
    """``1250`` basis points → ``12.5%``."""
    if basis_points is None:
        return ""
    whole, rest = divmod(basis_points, 100)
    return f"{whole}%" if not rest else f"{whole}.{rest:02d}".rstrip("0") + "%"


def budget(low: int | None, high: int | None) -> str:
    if low is None and high is None:
        return str(_l("面议"))
    if low is None:
        return str(_l("不超过 %(v)s", v=money(high)))
    if high is None:
        return str(_l("%(v)s 以上", v=money(low)))
    return f"{money(low)} – {money(high)}"


def when(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_datetime(value, "yyyy-MM-dd HH:mm")
    return format_date(value, "yyyy-MM-dd")


def query_args(**values) -> dict:
    """The query string as ``url_for`` arguments, with ``values`` set over it: pass on the
    query as ``url_for(endpoint, **query_args(name=name))``, never ``**request.args``, whose
    names can clash with ``url_for``'s own (``endpoint``, ``_anchor``, ``_external`` …, which a
    visitor must not be able to pass through) or with the arguments the link sets (a 500)."""
    args = {k: v for k, v in request.args.to_dict(flat=False).items()
            if not k.startswith("_") and k != "endpoint"}
    return {**args, **values}


def url_with(**changes) -> str:
    """The current URL with some query arguments replaced (for pagination and filters)."""
    from flask import url_for

    changed = {k: [v] for k, v in changes.items() if v is not None}
    return url_for(request.endpoint, **query_args(**{**(request.view_args or {}), **changed}))


def list_price_offer(package):
    """The best subsidy the logged-in SME would get on ``package`` at its list price (one
    :class:`OfferBook` per request), or None."""
    from flask import g
    from flask_login import current_user

    from .services.deals import today
    from .services.subsidies import OfferBook

    if not (current_user.is_authenticated and current_user.enterprise is not None):
        return None
    if "offer_book" not in g:
        g.offer_book = OfferBook(current_user.enterprise, today())
    return g.offer_book.best(package, package.price_fen)


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(money=money, when=when, percent=percent)
    from .reasons import reason_texts
    from .services.figures import FIGURES

    app.jinja_env.globals["figure"] = FIGURES.__getitem__  # a figure's label and 口径
    app.jinja_env.globals.update(label=label, budget=budget, url_with=url_with,
                                 query_args=query_args,
                                 reason_texts=reason_texts, list_price_offer=list_price_offer)

    @app.context_processor
    def inject_unread():
        from flask_login import current_user

        from .services.notify import unread_count

        if current_user and current_user.is_authenticated:
            return {"unread_notifications": unread_count(current_user)}
        return {"unread_notifications": 0}

    @app.context_processor
    def inject_locale():
        locale = get_locale()
        return {
            "current_locale": str(locale) if locale else "zh_CN",
            "languages": current_app.config["LANGUAGES"],
        }
