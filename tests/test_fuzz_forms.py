"""Every form POST, fed random, oversize, wrong-type, control-character and mixed-script values
(property-based, hypothesis): never a 500; a refused submission writes nothing at all; an
accepted one leaves only whole records, which PostgreSQL would take too (these tests run on
SQLite). ``FORM_POSTS`` lists every POST endpoint with a valid submission to start from; a
new POST endpoint without a row fails ``test_every_form_post_is_fuzzed``
(``tests/test_security.py`` reuses the table for mass assignment and for a short pass of this
fuzz on PostgreSQL)."""

from __future__ import annotations

import functools
import io
import random
import re
import string
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    BigInteger,
    Integer,
    LargeBinary,
    String,
    Table,
    cast,
    func,
    or_,
    select,
    text,
)
from werkzeug.datastructures import MultiDict
from wtforms import Form

from marketplace import creditcode
from marketplace.extensions import db
from marketplace.forms import PercentField, YuanField
from marketplace.models import (
    ChainMembership,
    DealRequest,
    Enterprise,
    ImportBatch,
    ImportedEnterprise,
    LedgerEntry,
    Need,
    Order,
    OwnershipRequest,
    Package,
    Quote,
    Review,
    ScenarioLevel,
    SubsidyClaim,
    User,
)
from marketplace.services import accounts, cases, diagnosis, matching, subsidies, tokens
from marketplace.services.accounts import hash_password
from marketplace.services.diagnosis import load_questionnaire
from tests.conftest import PASSWORD, AuthActions
from tests.test_imports import cell_text, good_row, make_csv

MIXED_SCRIPT = ["设备Ｃ١٢३ᚠ𝔸ℌ", "مرحبا 设备 שלום", "e\u0301\u0301\u0301", "Ω≈ç√∫˜µ", "🏭" * 50,
                "\u200b\u200d\ufeff", "ＤＲＯＰ　ＴＡＢＬＥ", "𠀀𪚥𰻞"]
CONTROL = ["\x00", "\x1b[31m红\x1b[0m", "a\r\nb", "\x7f", "\u202eabc", "\x0b\x0c", "\t"]
ODD = ["", " ", "-1", "0", "NaN", "inf", "-Infinity", "1e309", "12.345", "0x10", "1" * 40,
       "<b>x</b>", "<script>alert(1)</script>", "' OR 1=1 --", "2027-02-30", "C99", "None",
       "null", "[]", "{}", "true", "%00", "../../etc/passwd", "${7*7}", "{{7*7}}"]
WEIRD_TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=50),
    st.sampled_from(ODD + MIXED_SCRIPT + CONTROL),
    st.sampled_from(["长" * 6000, "a" * 200_000, "设备联网" * 3000]),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats().map(str),
)
# Several values for one name is the wrong type for every single-value field.
WEIRD_VALUE = st.one_of(WEIRD_TEXT, st.lists(WEIRD_TEXT, min_size=2, max_size=3))
# Ids and counts: past a database integer, negative, not whole, not ASCII.
NUMBERISH = st.sampled_from(["0", "-1", "2147483648", "9223372036854775808", "1" * 40, "1e3",
                             "1.5", "０", "٣", "+7", " 7 ", "0007"])
NUMERIC_FIELDS = {"revision", "rating", "delivery_days", "employees", "revenue_wan",
                  "subsidy_fen", "claim_ids"}


def weird_value_for(name: str) -> st.SearchStrategy:
    if name.endswith("_id") or name in NUMERIC_FIELDS:
        return st.one_of(NUMBERISH, WEIRD_VALUE)
    return WEIRD_VALUE
FUZZ = settings(max_examples=15, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])
DESCRIPTION = "车间二十台注塑机想联网，实时看到开机率和停机原因，并按班组统计。"


@dataclass(frozen=True)
class FormPost:
    """One form POST: who sends it, to which path (``{placeholders}`` from the world) and a
    valid submission (``{placeholders}`` too).

    ``files`` are the upload fields (name → content and file name), attached afresh to every
    post; the fuzz may replace one with a text value, and ``test_any_upload_is_answered``
    fuzzes the files themselves. An accepted submission redirects, unless ``success`` says
    otherwise; where an accepted and a refused one share a status, ``success_mark`` is what
    only the accepted page shows.
    """

    endpoint: str
    role: str
    path: str
    valid: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    success: int = 302
    success_mark: str = ""

    @property
    def id(self) -> str:
        return f"{self.endpoint}:{self.path}"

    def accepted(self, response) -> bool:
        return response.status_code == self.success and (
            not self.success_mark or self.success_mark in response.get_data(as_text=True))

    @property
    def placeholders(self) -> frozenset[str]:
        texts = [self.path, *self.valid.values()]
        return frozenset(name for text in texts
                         for _, name, _, _ in string.Formatter().parse(text) if name)


EVENT_FORM = {"title": "苏州智改数转供需对接会", "description": "企业与服务商分轮洽谈",
              "region_code": "320505", "mode": "onsite", "place": "姑苏区会议中心", "link": "",
              "starts_at": "{event_start}", "registration_deadline": "{event_deadline}",
              "slot_minutes": "20", "slot_count": "6", "table_count": "4",
              "meetings_per_sme": "3", "sme_capacity": "30", "provider_capacity": "10",
              "cluster_code": "", "chain_leader_id": ""}
CASE_FORM = {"title": "注塑车间二十台设备联网，开机率一目了然",
             "problem": "二十台注塑机的开机和停机全靠班组长巡检记录，停机原因说不清，交期常延误。",
             "solution": "采用注塑机联网看板包，边缘网关接入设备控制器，三周完成部署并培训班组长。",
             "results": "上线三个月，设备利用率明显提高，非计划停机减少，交期答复更有把握。",
             "metrics-0-name": "设备利用率", "metrics-0-unit": "%", "metrics-0-before": "62",
             "metrics-0-after": "85", "quote": "投入不大，见效很快。", "anonymous": "y"}
# A blank idempotency key acts at once; a fixed one would make every later example a repeat.
PROGRAM_FORM = {"name": "虎丘区智改数转券", "policy_basis": "虎工信〔2026〕8号", "mode": "percent",
                "rate_bp": "50", "fixed_fen": "", "per_order_cap_fen": "5000",
                "per_enterprise_cap_fen": "8000", "budget_fen": "100000",
                "starts_on": "{today}", "ends_on": "{in_a_month}", "industries": "C34",
                "min_tier": "", "verified_only": "y", "idempotency_key": ""}
DIAGNOSIS_ANSWERS = {question.code: "b" for question in load_questionnaire().questions}
UPLOAD = make_csv([good_row()])
# the supplier list names the chain world's free enterprise (its code: Random(62))
SUPPLIER_SHEET = ("统一社会信用代码,企业名称,留言\n"
                  f"{creditcode.generate(random.Random(62), '320500')},链上企业2,欢迎\n").encode()
FORM_POSTS = [
    FormPost("auth.register", "anon", "/auth/register",
             {"role": "sme", "display_name": "王芳", "email": "wang@example.com"}),
    # e-mailed links: the first (valid) submission uses the link up, so later examples mostly
    # reach the "link used" answer; the password rules have their own tests (test_auth)
    FormPost("auth.complete_registration", "anon", "/auth/register/{fz_signup_token}",
             {"password": "shuzi-zhuanxing-9", "confirm": "shuzi-zhuanxing-9"}),
    FormPost("auth.forgot_password", "anon", "/auth/forgot", {"email": "{sme_email}"}),
    FormPost("auth.reset_password", "anon", "/auth/reset/{fz_reset_token}",
             {"password": "a-new-secret-77", "confirm": "a-new-secret-77", "keep_tokens": "y"}),
    FormPost("auth.login", "anon", "/auth/login", {"email": "{sme_email}", "password": PASSWORD}),
    FormPost("auth.login_by_link", "anon", "/auth/login-link/{fz_login_token}"),
    FormPost("auth.change_password", "sme", "/auth/password",
             {"current_password": PASSWORD, "new_password": "a-new-secret-77",
              "confirm": "a-new-secret-77"}),
    FormPost("auth.logout", "sme", "/auth/logout"),
    FormPost("main.set_language", "anon", "/lang/en", {"next": "/packages/"}),
    FormPost("profiles.edit", "sme_new", "/profile/edit",
             {"name": "苏州新锐精密机械有限公司", "credit_code": "{credit_code}",
              "employees": "80", "revenue_wan": "5000", "county_code": "320505",
              "industry_code": "C34", "cluster_code": ""}),
    FormPost("profiles.edit", "provider_new", "/profile/edit",
             {"name": "江苏新锐工业互联网有限公司", "credit_code": "{credit_code}",
              "kind": "platform", "tier": "regional", "region_codes": "320000",
              "lead_enterprise_id": "", "description": "设备联网与数据采集",
              "contact_name": "李工", "phone": "0512-12345678"}),
    FormPost("needs.create", "sme", "/needs/new",
             {"title": "注塑机联网", "description": DESCRIPTION,
              "category_code": "device_monitoring", "scenario_level_code": "workshop",
              "budget_min_fen": "10000", "budget_max_fen": "50000.50",
              "desired_start": "2027-03-01", "visibility": "public"}),
    FormPost("needs.edit", "sme", "/needs/{need}/edit",
             {"title": "注塑机联网（修改）", "description": DESCRIPTION,
              "category_code": "device_monitoring", "scenario_level_code": "workshop",
              "budget_min_fen": "", "budget_max_fen": "", "desired_start": "",
              "visibility": "private"}),
    FormPost("needs.change_status", "sme", "/needs/{need_to_close}/close"),
    # the need page's beacon: the signed list of the packages it showed (204, no page)
    FormPost("needs.record_impressions", "sme", "/needs/{need}/impressions",
             {"shown": "{fz_impressions}"}, success=204),
    FormPost("packages.create", "provider", "/packages/new",
             {"title": "设备联网快速上云包", "summary": "三天接入", "description": DESCRIPTION,
              "category_code": "device_monitoring", "scenario_level_codes": "workshop",
              "industry_codes": "C34", "deployment": "saas", "price_fen": "12800",
              "price_unit": "per_year", "delivery_days": "7", "free_trial": "y",
              "cases-0-title": "某机械厂", "cases-0-customer": "某机械厂",
              "cases-0-content": "接入 20 台设备"}),
    FormPost("packages.edit", "provider", "/packages/{package}/edit",
             {"title": "设备联网快速上云包（新版）", "summary": "两天接入",
              "description": DESCRIPTION,
              "category_code": "device_monitoring", "scenario_level_codes": "line",
              "deployment": "hybrid", "price_fen": "9900.90", "price_unit": "per_set",
              "delivery_days": "30"}),
    FormPost("packages.change_status", "provider", "/packages/{draft}/publish"),
    FormPost("deals.create_request", "sme", "/deals/request",
             {"need_id": "{free_need}", "package_id": "{package}", "message": "想了解一下"}),
    FormPost("deals.quote", "provider", "/deals/requests/{pending}/quote",
             {"price_fen": "12000", "scope": "二十台设备联网与看板", "delivery_days": "10",
              "valid_until": "{in_a_month}"}),
    FormPost("deals.decline", "provider", "/deals/requests/{pending_too}/decline",
             {"reason": "排期已满"}),
    FormPost("deals.accept", "sme", "/deals/requests/{quoted}/accept",
             {"revision": "1", "subsidy_fen": "0", "idempotency_key": "accept-once-1"}),
    FormPost("deals.withdraw", "sme", "/deals/requests/{withdrawable}/withdraw"),
    FormPost("deals.order_step", "provider", "/deals/orders/{placed}/deliver"),
    FormPost("deals.dispute", "sme", "/deals/orders/{delivered}/dispute",
             {"reason": "少装了两台网关"}),
    FormPost("deals.cancel", "sme", "/deals/orders/{cancellable}/cancel",
             {"cancel-reason": "项目取消"}),
    FormPost("deals.review", "sme", "/deals/orders/{accepted}/review",
             {"rating": "5", "text": "交付及时"}),
    FormPost("deals.reply", "provider", "/deals/orders/{reviewed}/reply", {"text": "感谢"}),
    FormPost("deals.dismiss", "sme", "/deals/dismiss",
             {"need_id": "{need}", "package_id": "{package}", "next": "/needs/"}),
    FormPost("deals.mark_read", "sme", "/deals/notifications/read"),
    FormPost("events.create", "gov", "/events/new", EVENT_FORM),
    FormPost("events.edit", "gov", "/events/{fz_event}/edit",
             {**EVENT_FORM, "title": "苏州智改数转供需对接会（改期）", "sme_capacity": "20"}),
    FormPost("events.change_status", "gov", "/events/{fz_draft_event}/open"),
    FormPost("events.registration", "sme", "/events/{fz_event}/register"),
    FormPost("events.schedule_step", "gov", "/events/{fz_event}/schedule/propose"),
    FormPost("events.add_meeting", "gov", "/events/{fz_event}/meetings",
             {"enterprise_id": "{fz_enterprise}", "provider_id": "{fz_provider}", "slot": "3",
              "table": "1"}),
    FormPost("events.move_meeting", "gov", "/events/meetings/{fz_meeting}/move",
             {"slot": "5", "table": "2"}),
    FormPost("events.remove_meeting", "gov", "/events/meetings/{fz_meeting}/remove"),
    FormPost("events.outcome", "sme", "/events/meetings/{fz_finished_meeting}/outcome",
             {"outcome": "request_sent", "need_id": "{need}", "package_id": "{package}",
              "note": "现场看了演示，想进一步了解"}),
    # after the rows that use the event (the PostgreSQL pass runs every row in one world)
    FormPost("events.cancel", "gov", "/events/{fz_event}/cancel", {"reason": "场地调整，另行通知"}),
    FormPost("admin.create_user", "admin", "/admin/users/new",
             {"role": "gov", "region_code": "320500", "display_name": "苏州市工信局",
              "email": "su@gov.example.cn", "password": "shuzi-zhuanxing-9"}),
    FormPost("admin.rename", "admin", "/admin/reference/industries/C34",
             {"name": "通用设备制造业", "name_en": "General-purpose machinery"}),
    FormPost("admin.verify_provider", "admin", "/admin/providers/{unverified}/verify",
             {"next": "/admin/providers"}),
    FormPost("admin.set_standing", "admin", "/admin/providers/{provider}/standing/preferred",
             {"next": "/admin/providers"}),
    FormPost("admin.set_active", "admin", "/admin/users/{sme_other_user}/disable"),
    FormPost("admin.force_password_reset", "admin", "/admin/users/{sme_other_user}/reset-password"),
    FormPost("cases.create", "sme", "/cases/new/{fz_case_order}", CASE_FORM),
    FormPost("cases.edit", "provider", "/cases/{fz_draft_case}/edit",
             {**CASE_FORM, "title": "注塑车间设备联网（服务商补充）",
              "metrics-1-name": "非计划停机", "metrics-1-unit": "小时/月",
              "metrics-1-before": "40", "metrics-1-after": "12.5"}),
    FormPost("cases.step", "provider", "/cases/{fz_pending_case}/return",
             {"reason": "停机小时数请按财务口径核对"}),
    FormPost("cases.feature", "gov", "/cases/{fz_published_case}/feature"),
    FormPost("diagnosis.start", "sme", "/diagnosis/new", DIAGNOSIS_ANSWERS),
    FormPost("diagnosis.post_suggestion", "sme",
             "/diagnosis/results/{fz_diagnosis}/needs/equipment-monitoring"),
    FormPost("imports.upload", "gov", "/imports/new",
             {"visibility": "public", "default_level": "device"},
             files={"file": (UPLOAD, "需求清单.csv")}),
    # the new token's secret is shown once, on the page itself, not after a redirect
    FormPost("profiles.tokens", "sme", "/profile/tokens",
             {"name": "ERP 对接", "scope": "write", "lifetime": "30"},
             success=200, success_mark='id="new-token"'),
    FormPost("profiles.revoke_token", "sme", "/profile/tokens/{fz_token}/revoke"),
    FormPost("profiles.request_ownership", "sme_new", "/profile/ownership",
             {"ownership-credit_code": "{fz_imported_code}",
              "ownership-note": "我是厂长，电话 0512-1234567"}),
    FormPost("imports.decide_ownership", "gov", "/imports/ownership/{fz_ownership}",
             {"decision": "approve", "reason": ""}),
    FormPost("subsidies.create_program", "gov", "/subsidies/programs/new", PROGRAM_FORM),
    FormPost("subsidies.edit_program", "gov", "/subsidies/programs/{fz_draft_program}/edit",
             {**PROGRAM_FORM, "mode": "fixed", "rate_bp": "", "fixed_fen": "3000",
              "budget_fen": "120000.50", "size_classes": "small", "categories": "quality"}),
    FormPost("subsidies.change_program_status", "gov",
             "/subsidies/programs/{fz_draft_program}/activate"),
    FormPost("subsidies.adjust", "gov", "/subsidies/programs/{fz_program}/adjust",
             {"direction": "add", "amount_fen": "5000.50", "note": "追加年度预算",
              "idempotency_key": ""}),
    FormPost("subsidies.decide", "gov", "/subsidies/claims/{fz_claim}/reject",
             {"reject-reason": "发票与合同金额不符", "reject-idempotency_key": ""}),
    FormPost("subsidies.decide", "gov", "/subsidies/claims/{fz_approved_claim}/pay",
             {"reference": "HQ-2026-0001", "idempotency_key": ""}),
    # the results are shown on the page; a refused selection goes back to the queue
    FormPost("subsidies.bulk_approve", "gov", "/subsidies/claims/approve",
             {"claim_ids": "{fz_bulk_claim}", "idempotency_key": ""},
             success=200, success_mark="批量批准结果"),
    FormPost("chains.apply", "sme", "/chains/apply",
             {"revenue_wan": "900000", "supplier_count": "120", "platform_id": "",
              "evidence": "省内主机厂，配套供应商一百二十家，自建工业互联网平台。"}),
    FormPost("chains.join", "sme", "/chains/join",
             {"leader_id": "{fz_leader}", "note": "我厂为贵集团二级供应商"}),
    FormPost("chains.invite", "sme", "/chains/invite",
             {"credit_code": "{fz_supplier_code}", "note": "欢迎加入本集团产业链"}),
    FormPost("chains.message", "sme", "/chains/message", {"text": "{fz_message_text}"}),
    FormPost("chains.invite_upload", "sme", "/chains/invite/upload", {"note": "{fz_message_text}"},
             files={"file": (SUPPLIER_SHEET, "供应商名单.csv")}),
    FormPost("chains.membership_step", "sme_other", "/chains/memberships/{fz_invitation}/accept",
             {"reason": ""}),
    FormPost("chains.decide", "gov_city", "/chains/applications/{fz_chain_application}/decide",
             {"decision": "approve", "reason": ""}),
    FormPost("chains.revoke", "admin", "/chains/applications/{fz_leader_application}/revoke",
             {"reason": "经核查不再符合链主条件"}),
    FormPost("chains.designate", "gov_city", "/chains/designate",
             {"credit_code": "{fz_supplier_code}", "reason": "省级重点产业链龙头企业"}),
]


# --- the world every row acts on ---------------------------------------------------------------

@pytest.fixture
def world(app, make_user, make_provider, make_need, make_package):
    relax_limits(app)
    return build_world(app, make_user, make_provider, make_need, make_package)


# The parts of the world that only some rows use, and the placeholders each makes. A row's
# world has the users, packages and needs, and only the parts its placeholders name: a whole
# world is most of a row's setup, and most rows use one part or none.
WORLD_PARTS = {
    "deals": {"pending", "pending_too", "withdrawable", "quoted", "placed", "cancellable",
              "delivered", "accepted", "reviewed"},
    "events": {"fz_event", "fz_meeting", "fz_enterprise", "fz_provider", "fz_draft_event",
               "fz_finished_event", "fz_finished_meeting", "event_start", "event_deadline"},
    "cases": {"fz_case_order", "fz_draft_case", "fz_pending_case", "fz_published_case"},
    "subsidies": {"fz_draft_program", "fz_program", "fz_claim", "fz_bulk_claim",
                  "fz_approved_claim"},
    "sme_tools": {"fz_diagnosis", "fz_token"},
    "ownership": {"fz_imported_code", "fz_ownership"},
    "accounts": {"fz_signup_token", "fz_reset_token", "fz_login_token"},
    "impressions": {"fz_impressions"},
    "chains": {"fz_leader", "fz_invitation", "fz_chain_application", "fz_leader_application",
               "fz_supplier_code", "fz_message_text"},
}


def build_world(app, make_user, make_provider, make_need, make_package,
                wanted: frozenset[str] | None = None) -> tuple[dict, dict]:
    """Users of every role that posts, and objects in the state each POST expects (with
    ``wanted`` placeholders: only the parts of ``WORLD_PARTS`` that make them)."""
    users = {"sme": make_user(), "sme_other": make_user(), "sme_new": make_user(company=False),
             "provider": make_user(role="provider"),
             "provider_new": make_user(role="provider", company=False),
             "admin": make_user(role="admin")}
    with app.app_context():
        enterprise = db.session.get(User, users["sme"].id).enterprise_id
        provider = db.session.get(User, users["provider"].id).provider_id
        sme_email = db.session.get(User, users["sme"].id).email
    package, draft = make_package(provider), make_package(provider, status="draft")
    with app.app_context():  # as the form makes them: with a scenario level
        workshop = db.session.get(ScenarioLevel, "workshop")
        for made in [db.session.get(Package, package_id) for package_id in (package, draft)]:
            made.scenario_levels.append(workshop)
        db.session.commit()
    ids = {"need": make_need(enterprise), "need_to_close": make_need(enterprise),
           "free_need": make_need(enterprise), "package": package, "draft": draft,
           "provider": provider,
           "unverified": make_provider(name="待认证服务商", verified=False).id,
           "sme_other_user": users["sme_other"].id, "sme_email": sme_email,
           "credit_code": creditcode.generate(random.Random(3), "320500"),
           "today": date.today().isoformat(),
           "in_a_month": (date.today() + timedelta(days=30)).isoformat()}

    def deal(status: str, order_status: str | None = None, reviewed: bool = False) -> tuple:
        """A deal on a need of its own (made here, as ``make_need`` would: one commit)."""
        with app.app_context():
            need = Need(enterprise_id=enterprise, title="设备联网采集数据", description=DESCRIPTION,
                        category_code="device_monitoring", scenario_level_code="workshop",
                        visibility="public", status="open")
            db.session.add(need)
            db.session.flush()
            request = DealRequest(need_id=need.id, package_id=package,
                                  enterprise_id=enterprise, provider_id=provider, status=status)
            db.session.add(request)
            db.session.flush()
            if status in ("quoted", "ordered"):
                db.session.add(Quote(request_id=request.id, price_fen=1_000_000, scope="设备联网",
                                     delivery_days=10,
                                     valid_until=date.today() + timedelta(days=30)))
            order = None
            if order_status:
                order = Order(need_id=request.need_id, request_id=request.id, package_id=package,
                              enterprise_id=enterprise, provider_id=provider,
                              amount_fen=1_000_000, scope="设备联网", delivery_days=10,
                              due_date=date.today() + timedelta(days=10), status=order_status)
                db.session.add(order)
                db.session.flush()
                if reviewed:
                    db.session.add(Review(order_id=order.id, provider_id=provider,
                                          enterprise_id=enterprise, rating=4, text="不错"))
            db.session.commit()
            return request.id, order.id if order else None

    users["gov"] = make_user(role="gov", region_code="320505")
    parts = {
        "deals": lambda: dict(
            pending=deal("pending")[0], pending_too=deal("pending")[0],
            withdrawable=deal("pending")[0], quoted=deal("quoted")[0],
            placed=deal("ordered", "placed")[1], cancellable=deal("ordered", "placed")[1],
            delivered=deal("ordered", "delivered")[1], accepted=deal("ordered", "accepted")[1],
            reviewed=deal("ordered", "accepted", reviewed=True)[1]),
        "events": lambda: matchmaking_world(app, users, make_provider),
        "cases": lambda: case_world(app, users,
                                    [deal("ordered", "accepted")[1] for _ in range(4)]),
        "subsidies": lambda: subsidy_world(app, users,
                                           [deal("ordered", "accepted")[1] for _ in range(3)]),
        "sme_tools": lambda: sme_tools_world(app, users),
        "ownership": lambda: ownership_world(app, users, make_user),
        "accounts": lambda: account_links(app, users),
        "impressions": lambda: impression_receipt(app, ids["need"], package),
        "chains": lambda: chain_world(app, users, make_user),
    }
    for name, make in parts.items():
        if wanted is None or wanted & WORLD_PARTS[name]:
            made = make()
            assert set(made) == WORLD_PARTS[name], name  # WORLD_PARTS says what each makes
            ids.update(made)
    return users, ids


def case_world(app, users: dict, orders: list[int]) -> dict:
    """Typical cases of the SME's accepted orders: one order without a case, a draft, one the
    SME submitted (the provider confirms or returns it) and a published one."""
    with app.app_context():
        sme, provider, gov = (db.session.get(User, users[k].id)
                              for k in ("sme", "provider", "gov"))
        data = cases.CaseData(title="注塑机联网", problem=CASE_FORM["problem"],
                              solution=CASE_FORM["solution"], results=CASE_FORM["results"],
                              metrics=(cases.MetricData("设备利用率", "%", 62.0, 85.0),))
        draft, pending, published = (cases.start_case(sme, db.session.get(Order, order), data)
                                     for order in orders[1:])
        for case, steps in ((pending, [(sme, "submit")]),
                            (published, [(sme, "submit"), (provider, "confirm"),
                                         (gov, "publish")])):
            for actor, action in steps:
                cases.change_case_status(actor, case, action)
        db.session.commit()
        return {"fz_case_order": orders[0], "fz_draft_case": draft.id,
                "fz_pending_case": pending.id, "fz_published_case": published.id}


def subsidy_world(app, users: dict, orders: list[int]) -> dict:
    """Programs of the official's county (a draft and an active one) and claims against the
    active one on the SME's accepted orders: two reserved (one to reject, one to approve in
    bulk) and one approved, to pay."""
    with app.app_context():
        gov = db.session.get(User, users["gov"].id)
        data = subsidies.ProgramData(
            name="虎丘区智改数转券", policy_basis="", mode="percent", rate_bp=5000, fixed_fen=0,
            per_order_cap_fen=500_000, per_enterprise_cap_fen=2_000_000, budget_fen=10_000_000,
            starts_on=date.today() - timedelta(days=30), ends_on=date.today() + timedelta(days=90),
            categories=["quality"])  # not the world's package: its deals go unsubsidised
        draft, active = (subsidies.create_program(gov, data) for _ in range(2))
        subsidies.change_program_status(gov, active, "activate")
        claims = []
        for order_id, status in zip(orders, ("reserved", "reserved", "approved"), strict=True):
            order = db.session.get(Order, order_id)
            claim = SubsidyClaim(program_id=active.id, order_id=order.id, status=status,
                                 enterprise_id=order.enterprise_id, year=date.today().year,
                                 order_amount_fen=order.amount_fen, amount_fen=300_000)
            db.session.add(claim)
            db.session.flush()
            db.session.add(LedgerEntry(program_id=active.id, claim_id=claim.id, kind="reserve",
                                       amount_fen=claim.amount_fen))
            claims.append(claim.id)
        db.session.commit()
        return {"fz_draft_program": draft.id, "fz_program": active.id, "fz_claim": claims[0],
                "fz_bulk_claim": claims[1], "fz_approved_claim": claims[2]}


def ownership_world(app, users: dict, make_user) -> dict:
    """Two enterprises an import created in the official's county: one for ``sme_new`` to
    ask for, one another user without a company already asked for."""
    claimant = make_user(company=False).id
    with app.app_context():
        county = db.session.get(User, users["gov"].id).region_id
        batch = ImportBatch(region_id=county, uploaded_by_id=users["gov"].id,
                            filename="需求清单.csv", file_format="csv", sha256="f" * 64,
                            visibility="public")
        db.session.add(batch)
        made = []
        for n in range(2):
            enterprise = Enterprise(
                name=f"导入的模具厂{n}", credit_code=creditcode.generate(random.Random(40 + n),
                                                                    "320500"),
                employees=0, revenue_wan=0, size_class_code="micro", county_id=county,
                industry_code="C35")
            db.session.add(enterprise)
            db.session.flush()
            db.session.add(ImportedEnterprise(enterprise_id=enterprise.id, batch_id=batch.id))
            made.append(enterprise)
        request = OwnershipRequest(enterprise_id=made[1].id, user_id=claimant)
        db.session.add(request)
        db.session.commit()
        return {"fz_imported_code": made[0].credit_code, "fz_ownership": request.id}


def chain_world(app, users: dict, make_user) -> dict:
    """链式转型 in the SMEs' county: the SME's enterprise an approved 链主 (by the city official,
    added here) that invited the other SME; another 链主 to ask to join; a pending application
    of a third enterprise; a fourth enterprise in no chain, to invite or designate; a fifth, a
    confirmed supplier of the SME's chain (to message)."""
    from marketplace.services import chains

    users["gov_city"] = make_user(role="gov", region_code="320500")
    with app.app_context():
        sme, other, city = (db.session.get(User, users[k].id)
                            for k in ("sme", "sme_other", "gov_city"))
        evidence = chains.LeaderEvidence(revenue_wan=900_000, supplier_count=80,
                                         platform_id=None, evidence="省内主机厂，配套企业八十家。")
        approved = chains.apply_for_leader(sme, evidence)
        chains.decide_application(city, approved, True, "")
        invitation = chains.invite_supplier(sme, other.enterprise.credit_code, "")
        made = []
        for n in range(4):  # n = 2: the code SUPPLIER_SHEET names
            enterprise = Enterprise(
                name=f"链上企业{n}", credit_code=creditcode.generate(random.Random(60 + n),
                                                                  "320500"),
                employees=3000, revenue_wan=500_000, size_class_code="large",
                county_id=sme.enterprise.county_id, industry_code="C34")
            db.session.add(enterprise)
            made.append(enterprise)
        db.session.flush()
        leader = chains.designate_leader(city, made[0].credit_code, "龙头企业").enterprise
        applicant = User(email="applicant@example.com", display_name="申请人", role="sme",
                         password_hash="x", enterprise=made[1])
        db.session.add(applicant)
        pending = chains.apply_for_leader(applicant, evidence)
        db.session.add(ChainMembership(leader=sme.enterprise, supplier=made[3],
                                       status="confirmed"))
        made[3].chain_leader = sme.enterprise
        db.session.commit()
        return {"fz_leader": leader.id, "fz_invitation": invitation.id,
                "fz_chain_application": pending.id, "fz_leader_application": approved.id,
                "fz_supplier_code": made[2].credit_code,
                "fz_message_text": "请各供应商本周完成数字化自评"}


def account_links(app, users: dict) -> dict:
    """What the e-mails carry: a registration link of a new address, and a reset link of the
    other SME user's password."""
    with app.app_context():
        signup = accounts.registration_token(accounts.Registration("li@example.com", "李明", "sme"))
        other = db.session.get(User, users["sme_other"].id)
        return {"fz_signup_token": signup, "fz_reset_token": accounts.password_reset_token(other),
                "fz_login_token": accounts.login_token(other)}


def impression_receipt(app, need_id: int, package_id: int) -> dict:
    """What the need's page posts back: the signed list of the packages it showed."""
    with app.app_context():
        return {"fz_impressions": matching.impression_receipt(db.session.get(Need, need_id),
                                                              [package_id])}


def sme_tools_world(app, users: dict) -> dict:
    """The SME's self-assessment (weak on equipment, so its plan suggests equipment
    monitoring) and an API token."""
    with app.app_context():
        sme = db.session.get(User, users["sme"].id)
        result = diagnosis.submit_diagnosis(sme, {**DIAGNOSIS_ANSWERS, "equipment": "a"})
        token, _secret = tokens.create_token(sme, "旧的对接令牌")
        db.session.commit()
        return {"fz_diagnosis": result.id, "fz_token": token.id}


def matchmaking_world(app, users: dict, make_provider) -> dict:
    """Events of the SMEs' county: one open (the other SME, the provider and a second provider
    registered; one proposed meeting), a draft, and a finished one where the SME met the
    provider."""
    from datetime import UTC, datetime

    from marketplace.models import EventMeeting, EventRegistration, MatchEvent, Region

    second = make_provider(name="对接活动服务商").id
    with app.app_context():
        county = db.session.scalar(db.select(Region).where(Region.code == "320505"))
        sme, other, seller = (db.session.get(User, users[k].id)
                              for k in ("sme", "sme_other", "provider"))
        soon = datetime.now(UTC) + timedelta(days=14)

        def event(status, start, parties=(), meeting=None) -> MatchEvent:
            made = MatchEvent(region_id=county.id, created_by_id=users["gov"].id,
                              title="对接会", mode="onsite", place="会议中心", starts_at=start,
                              slot_minutes=20, slot_count=6, table_count=4, meetings_per_sme=3,
                              sme_capacity=30, provider_capacity=10, status=status,
                              registration_deadline=start - timedelta(days=4))
            made.registrations = [EventRegistration(**party) for party in parties]
            made.meetings = [EventMeeting(slot_index=0, table_index=0, **meeting)] if meeting \
                else []
            db.session.add(made)
            db.session.flush()
            return made

        open_event = event("open", soon, [{"enterprise_id": other.enterprise_id},
                                          {"provider_id": seller.provider_id},
                                          {"provider_id": second}],
                           {"enterprise_id": other.enterprise_id,
                            "provider_id": seller.provider_id})
        draft = event("draft", soon)
        finished = event("finished", soon - timedelta(days=40),
                         [{"enterprise_id": sme.enterprise_id},
                          {"provider_id": seller.provider_id}],
                         {"enterprise_id": sme.enterprise_id, "provider_id": seller.provider_id})
        db.session.commit()
        local = datetime.now()
        return {"fz_event": open_event.id, "fz_meeting": open_event.meetings[0].id,
                "fz_enterprise": other.enterprise_id, "fz_provider": second,
                "fz_draft_event": draft.id, "fz_finished_event": finished.id,
                "fz_finished_meeting": finished.meetings[0].id,
                "event_start": (local + timedelta(days=14)).strftime("%Y-%m-%dT%H:%M"),
                "event_deadline": (local + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")}


def client_for(app, users: dict, role: str):
    """A new client, logged in as ``role`` (the password is reset and the account enabled: in
    the PostgreSQL pass's one world an earlier row may have changed or disabled them)."""
    client = app.test_client()
    if role != "anon":
        with app.app_context():
            user = db.session.get(User, users[role].id)
            user.password_hash, user.active = hash_password(PASSWORD), True
            db.session.commit()
        assert AuthActions(client, app).login(users[role]).status_code == 302
    return client


def filled(values: dict[str, str], ids: dict) -> dict[str, str]:
    return {name: value.format(**ids) for name, value in values.items()}


def submission(form: FormPost, ids: dict, changed: dict | None = None) -> dict:
    """The valid submission with ``changed`` over it, and fresh file objects (a post reads
    them to the end)."""
    files = {name: (io.BytesIO(content), filename)
             for name, (content, filename) in form.files.items()}
    return {**filled(form.valid, ids), **files, **(changed or {})}


def relax_limits(app) -> None:
    """Fuzzing logs in and fails thousands of times; throttling has its own tests."""
    for setting in ("LOGIN_LIMIT_PER_ACCOUNT", "LOGIN_LIMIT_PER_ADDRESS",
                    "REGISTER_LIMIT_PER_ADDRESS", "PASSWORD_LIMIT_PER_ADDRESS",
                    "FORGOT_LIMIT_PER_ADDRESS"):
        app.config[setting] = "100000 per minute"


# --- what "nothing written" and "whole records" mean -----------------------------------------

def snapshot(app, skip: frozenset[str] = frozenset()) -> dict[str, list[str]]:
    """Every row of every table, as text (reference data too: an admin can rename it)."""
    with app.app_context():
        with db.engine.connect() as conn:
            return {table.name: sorted(map(repr, conn.execute(table.select())))
                    for table in db.metadata.sorted_tables if table.name not in skip}


WHOLE_RECORDS = [  # each query counts rows that a half-done write would leave behind
    "SELECT count(*) FROM needs WHERE trim(title) = '' OR trim(description) = '' "
    "OR budget_min_fen < 0 OR budget_max_fen < budget_min_fen",
    "SELECT count(*) FROM packages p WHERE trim(p.title) = '' OR p.price_fen < 0 "
    "OR p.delivery_days < 1 OR NOT EXISTS "
    "(SELECT 1 FROM package_scenario_levels l WHERE l.package_id = p.id)",
    "SELECT count(*) FROM providers p WHERE NOT EXISTS "
    "(SELECT 1 FROM provider_regions r WHERE r.provider_id = p.id)",
    "SELECT count(*) FROM quotes WHERE price_fen < 0 OR delivery_days < 1 OR trim(scope) = ''",
    "SELECT count(*) FROM users WHERE trim(display_name) = '' OR trim(email) = '' "
    "OR (role = 'gov' AND region_id IS NULL)",
    "SELECT count(*) FROM enterprises WHERE trim(name) = '' OR employees < 0",
    "SELECT count(*) FROM deal_requests WHERE status = 'ordered' AND NOT EXISTS "
    "(SELECT 1 FROM orders o WHERE o.request_id = deal_requests.id)",
    "SELECT count(*) FROM typical_cases c WHERE trim(c.title) = '' OR NOT EXISTS "
    "(SELECT 1 FROM case_metrics m WHERE m.case_id = c.id)",
    "SELECT count(*) FROM subsidy_programs p WHERE p.per_order_cap_fen < 1 OR NOT EXISTS "
    "(SELECT 1 FROM subsidy_ledger l WHERE l.program_id = p.id AND l.kind = 'adjust')",
    # every claim holds its reservation, a rejected one released it, a paid one was paid
    "SELECT count(*) FROM subsidy_claims c WHERE NOT EXISTS (SELECT 1 FROM subsidy_ledger l "
    "WHERE l.claim_id = c.id AND l.kind = 'reserve') OR (c.status IN ('rejected', 'released') "
    "AND NOT EXISTS (SELECT 1 FROM subsidy_ledger l WHERE l.claim_id = c.id "
    "AND l.kind = 'release')) OR (c.status = 'paid' AND (c.payment_reference IS NULL OR NOT "
    "EXISTS (SELECT 1 FROM subsidy_ledger l WHERE l.claim_id = c.id AND l.kind = 'pay')))",
    # no program spends more than its budget
    "SELECT count(*) FROM (SELECT program_id, sum(CASE kind WHEN 'adjust' THEN amount_fen "
    "WHEN 'release' THEN amount_fen ELSE -amount_fen END) AS remaining FROM subsidy_ledger "
    "WHERE kind != 'pay' GROUP BY program_id) AS balance WHERE remaining < 0",
    "SELECT count(*) FROM import_batches WHERE rows_imported + rows_duplicate + rows_invalid "
    "!= rows_total",
    "SELECT count(*) FROM api_tokens WHERE trim(name) = ''",
]


def assert_whole_records(app) -> None:
    with app.app_context():
        for query in WHOLE_RECORDS:
            assert db.session.scalar(text(query)) == 0, query


INT4 = 2**31 - 1


@functools.cache
def _postgresql_misfits(table: Table) -> list:
    """Conditions true of a row SQLite keeps but PostgreSQL refuses (a 500 there): text
    longer than its column, an integer past ``INTEGER``, a NUL character."""
    misfits = []
    for column in table.columns:
        kind = column.type
        if isinstance(kind, String) and kind.length:
            misfits.append(func.length(column) > kind.length)
        if isinstance(kind, String):
            misfits.append(func.instr(cast(column, LargeBinary), b"\x00") > 0)
        if isinstance(kind, Integer) and not isinstance(kind, BigInteger):
            misfits.append(~column.between(-INT4 - 1, INT4))
    return misfits


def assert_fits_postgresql(app, tables: set[str] | None = None) -> None:
    """SQLite keeps what PostgreSQL refuses, so the SQLite fuzz checks the rows of ``tables``
    (all when None) for it."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            return  # PostgreSQL refuses such rows itself
        for table in db.metadata.sorted_tables:
            if tables is not None and table.name not in tables:
                continue
            misfits = _postgresql_misfits(table)
            if misfits:
                found = db.session.scalar(select(func.count()).select_from(table)
                                          .where(or_(*misfits)))
                assert found == 0, f"{table.name}: a value PostgreSQL would refuse"


@pytest.mark.parametrize(("table", "column", "value", "refused"), [
    ("needs", "title", "长" * 120, False), ("needs", "title", "长" * 121, True),
    ("needs", "description", "a\x00b", True), ("needs", "budget_max_fen", 2**31, False),
    ("enterprises", "employees", 2**31, True)])
def test_the_postgresql_check_sees_what_postgresql_refuses(app, make_enterprise, make_need,
                                                           table, column, value, refused):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("PostgreSQL refuses these rows itself")
    make_need(make_enterprise().id)
    with app.app_context():
        db.session.execute(text(f"UPDATE {table} SET {column} = :value"), {"value": value})
        db.session.commit()
    if refused:
        with pytest.raises(AssertionError, match=f"{table}: a value PostgreSQL would refuse"):
            assert_fits_postgresql(app, {table})
    else:
        assert_fits_postgresql(app, {table})


def post_and_check(app, client, form: FormPost, path: str, data: dict) -> None:
    # A refused login is audited by design; nothing else may be written by a refusal.
    skip = frozenset({"audit_log"}) if path == "/auth/login" else frozenset()
    before = snapshot(app, skip)
    response = client.post(path, data=data)
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    after = snapshot(app, skip)
    if not form.accepted(response):
        assert after == before, f"a refused POST ({response.status_code}) wrote"
    assert_whole_records(app)
    assert_fits_postgresql(app, {name for name, rows in after.items() if rows != before[name]})


# --- the properties --------------------------------------------------------------------------

@pytest.fixture
def valid_submission_accepted(app, make_user, make_provider, make_need, make_package, form):
    """The row's world after ``form``'s valid submission, which must be accepted: the
    starting point of each row is a real success, so the fuzz reaches the services. (The
    fuzz's own first example is this submission again; a world per check would double the
    setup.)"""
    relax_limits(app)
    users, ids = world = build_world(app, make_user, make_provider, make_need, make_package,
                                     form.placeholders)
    response = client_for(app, users, form.role).post(form.path.format(**ids),
                                                      data=submission(form, ids))
    assert form.accepted(response), f"{form.id}: the valid submission got {response.status_code}"
    assert_whole_records(app)
    assert_fits_postgresql(app)
    return world


@pytest.mark.parametrize("form", FORM_POSTS, ids=[f.id for f in FORM_POSTS])
@FUZZ
@given(data=st.data())
def test_form_post_survives_any_values(app, valid_submission_accepted, form, data):
    fuzz_form_post(app, valid_submission_accepted, form, data)


def fuzz_form_post(app, world, form: FormPost, data, min_changed: int = 0) -> None:
    """Post ``form``'s valid submission with up to four fields (of its own, or ones an
    attacker adds) changed to odd values, and check what the response and the database show."""
    users, ids = world
    names = sorted(form.valid) + sorted(form.files) + ["next", "role", "status", "id",
                                                       "csrf_token"]
    changed = data.draw(st.lists(st.sampled_from(names), unique=True, min_size=min_changed,
                                 max_size=4).flatmap(
        lambda chosen: st.fixed_dictionaries({n: weird_value_for(n) for n in chosen})),
        label="changed fields")
    client = client_for(app, users, form.role)
    post_and_check(app, client, form, form.path.format(**ids), submission(form, ids, changed))


@pytest.mark.parametrize("path", ["/deals/request", "/deals/dismiss"])
def test_ids_past_a_database_integer_are_not_found(app, world, path):
    users, ids = world
    client = client_for(app, users, "sme")
    for huge in ("2147483648", "9223372036854775808"):
        response = client.post(path, data={"need_id": str(ids["free_need"]),
                                           "package_id": huge})
        assert response.status_code == 404, huge


def test_every_form_post_is_fuzzed(app):
    """JSON endpoints (``security.accepts_json``) check their own bodies and are not forms."""
    posts = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods
             and not getattr(app.view_functions[rule.endpoint], "accepts_json", False)}
    assert posts == {form.endpoint for form in FORM_POSTS}


# --- money -----------------------------------------------------------------------------------

BAD_AMOUNTS = [("-1", "金额不能为负数"), ("-0.01", "金额不能为负数"),
               ("NaN", "请填写数字金额"), ("sNaN", "请填写数字金额"), ("inf", "请填写数字金额"),
               ("-Infinity", "请填写数字金额"),
               ("1e309", "请填写数字金额"), ("100000000.01", "金额不能超过 1 亿元"),
               ("9" * 40, "金额不能超过 1 亿元"), ("12.345", "金额最多保留两位小数"),
               ("0.001", "金额最多保留两位小数"), ("12元", "请填写数字金额"),
               ("0x10", "请填写数字金额"), ("1_000", "请填写数字金额"),
               ("1,5", "千位分隔符"), ("12,34", "千位分隔符"), ("1234,567", "千位分隔符"),
               ("١٢", "请用数字 0-9 填写金额"), ("१२", "请用数字 0-9 填写金额")]
BAD_RATES = [("-1", "比例不能为负数"), ("-0.01", "比例不能为负数"), ("NaN", "请填写数字比例"),
             ("inf", "请填写数字比例"), ("100.01", "比例不能超过 100%"),
             ("1e2", "请填写数字比例"), ("12.345", "比例最多保留两位小数"),
             ("50元", "请填写数字比例"), ("0x10", "请填写数字比例"), ("1,5", "逗号的位置不对"),
             ("٥٠", "请用数字 0-9 填写比例")]
MONEY_FIELDS = [("needs.create", "budget_min_fen"), ("needs.create", "budget_max_fen"),
                ("packages.create", "price_fen"), ("packages.edit", "price_fen"),
                ("deals.quote", "price_fen"),
                *(("subsidies.create_program", name) for name in (
                    "budget_fen", "per_order_cap_fen", "per_enterprise_cap_fen", "fixed_fen")),
                ("subsidies.edit_program", "budget_fen"), ("subsidies.edit_program", "fixed_fen"),
                ("subsidies.adjust", "amount_fen")]
RATE_FIELDS = [("subsidies.create_program", "rate_bp")]


@pytest.mark.parametrize(("endpoint", "name", "bad_values"),
                         [(*money, BAD_AMOUNTS) for money in MONEY_FIELDS]
                         + [(*rate, BAD_RATES) for rate in RATE_FIELDS],
                         ids=[f"{e}-{n}" for e, n in MONEY_FIELDS + RATE_FIELDS])
def test_bad_amounts_are_refused_beside_the_field(app, world, endpoint, name, bad_values):
    users, ids = world
    form = next(f for f in FORM_POSTS if f.endpoint == endpoint)
    client = client_for(app, users, form.role)
    before = snapshot(app)
    for value, message in bad_values:
        response = client.post(form.path.format(**ids),
                               data={**filled(form.valid, ids), name: value})
        page = response.get_data(as_text=True)
        assert response.status_code in (200, 400), value
        # the message sits in the field's feedback block, next to the field
        assert re.search(rf'name="{name}"[^>]*>\s*<div class="invalid-feedback[^"]*">\s*'
                         rf"{re.escape(message)}", page), (value, message)
    assert snapshot(app) == before


class AmountForm(Form):
    amount = YuanField()


@given(st.one_of(WEIRD_TEXT, st.decimals(allow_nan=True, allow_infinity=True).map(str),
                 st.decimals(places=2, min_value=0, max_value=100_000_000).map(str)))
def test_yuan_field_parses_exactly_or_refuses(value):
    field = AmountForm(MultiDict({"amount": value})).amount
    if field.process_errors:
        assert field.data is None
        return
    assert isinstance(field.data, int) and 0 <= field.data <= 100_000_000_00
    typed = value.strip().replace(",", "").replace("，", "")
    assert Decimal(typed) * 100 == field.data  # exactly what was typed, in fen


class RateForm(Form):
    rate = PercentField()


@given(st.one_of(WEIRD_TEXT, st.decimals(allow_nan=True, allow_infinity=True).map(str),
                 st.decimals(places=2, min_value=0, max_value=100).map(str),
                 st.decimals(places=2, min_value=0, max_value=100).map(lambda d: f" {d} %")))
def test_percent_field_parses_exactly_or_refuses(value):
    field = RateForm(MultiDict({"rate": value})).rate
    if field.process_errors:
        assert field.data is None
        return
    assert isinstance(field.data, int) and 0 <= field.data <= 100_00
    typed = value.strip().replace(",", "").replace("，", "").removesuffix("%")
    assert Decimal(typed) * 100 == field.data  # exactly what was typed, in basis points


# --- uploads -----------------------------------------------------------------------------------

UPLOAD_LIMIT = 64 * 1024  # small, so the fuzz can cross it cheaply
BLANK_ROW = b",,,,,,,,\r\n"
upload_bodies = st.one_of(
    st.binary(max_size=600),
    st.lists(st.lists(cell_text, min_size=9, max_size=9), max_size=4).map(make_csv),
    st.lists(st.lists(cell_text, min_size=9, max_size=9), max_size=4).map(
        lambda rows: make_csv([good_row(), *rows], encoding="utf-16", delimiter="\t")),
    st.builds(lambda head, tail: head + tail, st.sampled_from([UPLOAD, b"PK\x03\x04"]),
              st.binary(max_size=60)),
    # around the size limit (file and form together): blank rows after a good one
    st.integers(-90, 10).map(
        lambda n: UPLOAD + BLANK_ROW * ((UPLOAD_LIMIT - len(UPLOAD)) // len(BLANK_ROW) + n)),
)
upload_names = st.one_of(
    st.sampled_from(["清单.csv", "清单.CSV", "清单.xlsx", "清单.xls", "清单.txt", "清单", ".csv",
                     "清单.csv.exe", "../../etc/passwd.csv", "a\x00.csv", "C:\\清单.csv",
                     "长" * 300 + ".csv", ""]),
    st.text(max_size=40))


@FUZZ
@given(content=upload_bodies, filename=upload_names, data=st.data())
def test_any_upload_is_answered_never_a_crash(app, world, content, filename, data):
    """The file of ``imports.upload`` is bytes and a name, which the generic fuzz does not
    draw: here random bytes, random CSV rows, other encodings, wrong extensions and bodies
    around the size limit. Never a 500; a refused upload writes nothing; an accepted one
    leaves whole records (and a batch whose rows add up)."""
    users, ids = world
    app.config["UPLOAD_MAX_BYTES"] = UPLOAD_LIMIT
    form = next(f for f in FORM_POSTS if f.endpoint == "imports.upload")
    fields = data.draw(st.fixed_dictionaries({}, optional={
        "visibility": weird_value_for("visibility"),
        "default_level": weird_value_for("default_level")}), label="fields")
    body = {**filled(form.valid, ids), **fields, "file": (io.BytesIO(content), filename)}
    post_and_check(app, client_for(app, users, "gov"), form, form.path, body)


@FUZZ
@given(query=st.dictionaries(st.sampled_from(["q", "category", "region", "sort", "page",
                                              "price_band", "kind", "subsidy", "industry",
                                              "max_price", "scenario_level_code"]),
                             WEIRD_VALUE, max_size=5))
def test_search_and_list_pages_take_any_query(app, query):
    """A NUL character is refused before any view (PostgreSQL text cannot hold one)."""
    values = [v for value in query.values() for v in (value if isinstance(value, list)
                                                      else [value])]
    expected = 400 if any("\x00" in value for value in values) else 200
    client = app.test_client()
    for path in ("/search/", "/packages/"):
        assert client.get(path, query_string=query).status_code == expected
