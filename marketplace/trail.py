"""How the audit trail names what it shows — actions, kinds of object, fields, and the old
and new values of an edit (codes as the names of reference rows, fen as money) — on its page
(admin.audit_log) and where a claim's page lists the enterprise's profile changes.

The log keeps codes (``services.audit``); names are looked up when the page is shown, so a
renamed county reads with its present name. An action or field without a label here shows its
code rather than nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .extensions import db
from .models import (
    AuditEntry,
    Category,
    Cluster,
    Enterprise,
    Industry,
    MatchEvent,
    Need,
    Order,
    Package,
    Provider,
    ScenarioLevel,
    SizeClass,
    SubsidyClaim,
    SubsidyProgram,
)
from .services.regions import region_by_code
from .templating import label, money

ACTION_LABELS = {
    # accounts
    "register": _l("注册"), "login": _l("登录"), "login_failed": _l("登录失败"),
    "change_password": _l("修改密码"), "create_account": _l("创建账号"),
    "enable_user": _l("启用账号"), "disable_user": _l("停用账号"),
    "create_api_token": _l("创建 API 令牌"), "revoke_api_token": _l("撤销 API 令牌"),
    "revoke_api_tokens": _l("撤销全部 API 令牌"),
    "request_password_reset": _l("申请重置密码"), "reset_password": _l("重置密码"),
    "force_password_reset": _l("强制重置密码"),
    "login_link_sent": _l("发送登录链接（登录受保护）"), "login_by_link": _l("通过邮件链接登录"),
    # profiles
    "create_enterprise": _l("填写企业信息"), "update_enterprise": _l("修改企业信息"),
    "save_enterprise": _l("保存企业信息"), "view_enterprise": _l("查看企业信息"),
    "save_provider": _l("保存服务商信息"), "verify_provider": _l("认证服务商"),
    "unverify_provider": _l("取消服务商认证"), "set_standing": _l("标记优选/淘汰"),
    "request_ownership": _l("申请认领企业"), "approve_ownership": _l("通过企业认领"),
    "reject_ownership": _l("驳回企业认领"),
    # 链式转型
    "apply_chain_leader": _l("申请成为链主"), "approve_chain_leader": _l("通过链主申请"),
    "reject_chain_leader": _l("驳回链主申请"), "designate_chain_leader": _l("直接认定链主"),
    "revoke_chain_leader": _l("撤销链主资格"), "invite_supplier": _l("邀请供应商加入产业链"),
    "request_join_chain": _l("申请加入产业链"), "accept_chain_membership": _l("确认加入产业链"),
    "decline_chain_membership": _l("拒绝加入产业链"),
    "withdraw_chain_membership": _l("撤回产业链邀请或申请"),
    "end_chain_membership": _l("退出产业链"), "message_suppliers": _l("向产业链供应商发送消息"),
    # needs and packages
    "create_need": _l("发布需求"), "update_need": _l("修改需求"), "close_need": _l("关闭需求"),
    "reopen_need": _l("重新打开需求"), "view_need": _l("查看非公开需求"),
    "post_diagnosis_need": _l("按自评建议发布需求"),
    "create_package": _l("新建方案包"), "update_package": _l("修改方案包"),
    "publish_package": _l("发布方案包"), "withdraw_package": _l("撤回方案包"),
    "archive_package": _l("归档方案包"), "dismiss_recommendation": _l("标记推荐不合适"),
    # deals
    "request_package": _l("申请对接"), "withdraw_request": _l("撤回对接申请"),
    "decline_request": _l("拒绝对接申请"), "send_quote": _l("报价"),
    "revise_quote": _l("修改报价"), "accept_quote": _l("接受报价并下单"),
    "deliver_order": _l("标记交付"), "accept_delivery": _l("验收交付"),
    "dispute_order": _l("对交付提出异议"), "cancel_order": _l("取消订单"),
    "review_order": _l("评价订单"), "reply_review": _l("回复评价"),
    # subsidies
    "create_program": _l("设立补贴政策"), "update_program": _l("修改补贴政策"),
    "activate_program": _l("启动补贴政策"), "close_program": _l("结束补贴政策"),
    "reserve_claim": _l("预留补贴"), "approve_claim": _l("批准补贴"),
    "reject_claim": _l("驳回补贴"), "pay_claim": _l("拨付补贴"),
    "release_claim": _l("释放补贴预留"), "ledger_adjust": _l("资金：预算调整"),
    "ledger_reserve": _l("资金：预留"), "ledger_release": _l("资金：释放"),
    "ledger_pay": _l("资金：拨付"),
    # cases, diagnosis, events, imports, reference data, operations
    "start_case": _l("撰写典型案例"), "update_case": _l("修改典型案例"),
    "submit_case": _l("提交典型案例"), "withdraw_case": _l("撤回典型案例"),
    "return_case": _l("退回典型案例"), "confirm_case": _l("确认典型案例"),
    "publish_case": _l("发布典型案例"), "reject_case": _l("不通过典型案例"),
    "revise_case": _l("重新修改典型案例"), "feature_case": _l("推荐典型案例"),
    "unfeature_case": _l("取消推荐典型案例"),
    "submit_diagnosis": _l("提交数字化自评"), "view_diagnosis": _l("查看自评结果"),
    "create_event": _l("创建对接活动"), "update_event": _l("修改对接活动"),
    "open_event": _l("开放活动报名"), "publish_event": _l("发布活动日程"),
    "finish_event": _l("结束对接活动"), "cancel_event": _l("取消对接活动"),
    "register_event": _l("报名对接活动"), "unregister_event": _l("取消活动报名"),
    "propose_schedule": _l("生成对接日程"), "publish_schedule": _l("发布对接日程"),
    "add_meeting": _l("添加对接洽谈"), "move_meeting": _l("调整对接洽谈"),
    "remove_meeting": _l("取消对接洽谈"), "record_outcome": _l("记录洽谈结果"),
    "import_demand_list": _l("导入需求清单"), "download_import_report": _l("下载导入问题报告"),
    "rename_reference": _l("修改基础数据名称"), "restore_backup": _l("恢复备份"),
    "bench_seed": _l("生成压测数据"),
}

OBJECT_GROUP_LABELS = {
    "need": _l("需求"), "quote": _l("报价"), "package": _l("方案包"),
    "enterprise": _l("企业信息"), "provider": _l("服务商信息"), "deal": _l("对接与订单"),
    "subsidy": _l("补贴（政策、补贴、资金）"), "case": _l("典型案例"), "event": _l("对接活动"),
    "import": _l("需求清单导入与认领"), "diagnosis": _l("数字化自评"), "account": _l("账号"),
    "chain": _l("链主与产业链"),
}

OBJECT_LABELS = {
    "need": _l("需求"), "quote": _l("报价"), "package": _l("方案包"), "enterprise": _l("企业"),
    "provider": _l("服务商"), "dealrequest": _l("对接申请"), "order": _l("订单"),
    "review": _l("评价"), "subsidyprogram": _l("补贴政策"), "subsidyclaim": _l("补贴"),
    "ledgerentry": _l("资金记录"), "typicalcase": _l("典型案例"), "matchevent": _l("对接活动"),
    "eventmeeting": _l("对接洽谈"), "eventregistration": _l("活动报名"),
    "importbatch": _l("需求清单导入"), "ownershiprequest": _l("认领申请"),
    "diagnosisresult": _l("自评结果"), "user": _l("账号"), "apitoken": _l("API 令牌"),
    "chainleaderapplication": _l("链主申请"), "chainmembership": _l("产业链成员关系"),
}

FIELD_LABELS = {
    "title": _l("标题"), "summary": _l("简介"), "description": _l("描述"),
    "category_code": _l("解决方案类别"), "scenario_level_code": _l("场景层级"),
    "scenario_level_codes": _l("场景层级"), "industry_codes": _l("适用行业"),
    "budget_min_fen": _l("预算下限"), "budget_max_fen": _l("预算上限"),
    "desired_start": _l("期望开始日期"), "visibility": _l("公开范围"),
    "price_fen": _l("价格"), "price_unit": _l("计价单位"), "scope": _l("服务范围"),
    "delivery_days": _l("交付周期（天）"), "valid_until": _l("报价有效期至"),
    "deployment": _l("部署方式"), "free_trial": _l("可免费试用"), "cases": _l("应用案例"),
    "name": _l("名称"), "credit_code": _l("统一社会信用代码"), "employees": _l("从业人员（人）"),
    "revenue_wan": _l("营业收入（万元）"), "size_class_code": _l("规模类型"),
    "county_code": _l("所在县（市、区）"), "industry_code": _l("行业"),
    "cluster_code": _l("产业集群"), "chain_leader_id": _l("链主企业"),
    "provider_tier": _l("服务商等级"), "provider_verified": _l("服务商已认证"),
    "provider_standing": _l("服务商优选/淘汰标记"), "amount_fen": _l("金额"),
    "revision": _l("报价版本"), "reason": _l("原因"), "reference": _l("支付凭证号"),
    "order_id": _l("订单"), "claim_id": _l("补贴"), "program_id": _l("政策"),
    "request_id": _l("对接申请"), "package_id": _l("方案包"), "rating": _l("评分"),
    "before": _l("原值"), "after": _l("新值"), "eligibility": _l("申请时的条件"),
    "role": _l("角色"), "event_id": _l("对接活动"), "pairs": _l("候选配对数"),
    "token_scope": _l("令牌权限"), "lifetime_days": _l("有效期（天）"),
    "kept_api_tokens": _l("保留 API 令牌"), "count": _l("数量"), "email": _l("邮箱"),
    "meetings": _l("洽谈场次"), "suppliers": _l("供应商数"),
}
# Values shown through the fixed labels of templating.LABELS.
LABEL_KINDS = {"visibility": "visibility", "deployment": "deployment",
               "price_unit": "price_unit", "provider_tier": "tier",
               "provider_standing": "standing", "role": "role", "token_scope": "token_scope"}
NOTHING = "—"


@dataclass(frozen=True)
class Change:
    field: str
    old: str
    new: str


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def object_label(entry: AuditEntry) -> str:
    """The kind of object, its id and, where it has one, its name (as it is now)."""
    kind = str(OBJECT_LABELS.get(entry.object_type, entry.object_type))
    if not entry.object_id:
        return kind
    name = object_name(entry.object_type, entry.object_id)
    return f"{kind} #{entry.object_id}" + (f" {name}" if name else "")


NAMED = {"need": (Need, "title"), "package": (Package, "title"),
         "enterprise": (Enterprise, "name"), "provider": (Provider, "name"),
         "subsidyprogram": (SubsidyProgram, "name"), "matchevent": (MatchEvent, "title")}


def object_name(object_type: str, object_id: int) -> str:
    """What a person calls the object: a need's title, a program's name, a claim's enterprise
    and program, an order's need; "" for objects without a name or no longer there."""
    if object_type in NAMED:
        model, attribute = NAMED[object_type]
        found = db.session.get(model, object_id)
        return getattr(found, attribute) if found is not None else ""
    if object_type == "subsidyclaim":
        claim = db.session.get(SubsidyClaim, object_id)
        return f"{claim.enterprise.name} · {claim.program.name}" if claim is not None else ""
    if object_type == "order":
        order = db.session.get(Order, object_id)
        return order.need.title if order is not None else ""
    return ""


def field_label(name: str) -> str:
    return str(FIELD_LABELS.get(name, name))


def object_url(entry: AuditEntry) -> str | None:
    """Where the object can be opened (the page itself checks who may see it)."""
    pages = {"need": ("needs.detail", "need_id"), "package": ("packages.detail", "package_id"),
             "enterprise": ("profiles.enterprise", "enterprise_id"),
             "order": ("deals.order_detail", "order_id"),
             "subsidyclaim": ("subsidies.claim", "claim_id"),
             "subsidyprogram": ("subsidies.program", "program_id")}
    if entry.object_type not in pages or not entry.object_id:
        return None
    endpoint, argument = pages[entry.object_type]
    return url_for(endpoint, **{argument: entry.object_id})


def _names(model, codes) -> str:
    rows = db.session.scalars(select(model).where(model.code.in_(list(codes)))).all()
    found = {row.code: row.label for row in rows}
    return str(_l("、")).join(found.get(code, code) for code in codes) or NOTHING


def value_text(name: str, value) -> str:
    """A logged value as a person reads it."""
    if value is None or value == "" or value == []:
        return NOTHING
    if isinstance(value, bool):
        return str(_l("是") if value else _l("否"))
    if name.endswith("_fen") and isinstance(value, int):
        return money(value)
    if name in LABEL_KINDS:
        return label(value, LABEL_KINDS[name])
    if name == "county_code":
        region = region_by_code(value)
        return region.full_label if region else value
    if name == "chain_leader_id":
        leader = db.session.get(Enterprise, value)
        return leader.name if leader else f"#{value}"
    if name.endswith("_id") and isinstance(value, int):
        return f"#{value}"
    if name == "industry_code":
        industry = db.session.get(Industry, value)
        return f"{value} {industry.label}" if industry else value
    lookups = {"size_class_code": SizeClass, "cluster_code": Cluster,
               "category_code": Category, "scenario_level_code": ScenarioLevel}
    if name in lookups:
        return _names(lookups[name], [value])
    if name in ("scenario_level_codes", "industry_codes"):
        return _names(ScenarioLevel if name == "scenario_level_codes" else Industry, value)
    if isinstance(value, dict):
        return "；".join(f"{field_label(k)}：{value_text(k, v)}" for k, v in value.items())
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value)


def changes(entry: AuditEntry) -> list[Change]:
    """The fields an edit changed, old → new, in the order they were logged."""
    return [Change(field_label(name), value_text(name, old), value_text(name, new))
            for name, (old, new) in (entry.details or {}).get("changes", {}).items()]


def other_details(entry: AuditEntry) -> list[tuple[str, str]]:
    """The entry's other details (amounts, reasons, references …), labelled."""
    return [(field_label(name), value_text(name, value))
            for name, value in sorted((entry.details or {}).items()) if name != "changes"]
