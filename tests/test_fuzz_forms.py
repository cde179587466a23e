"""Every form POST, fed random, oversize, wrong-type, control-character and mixed-script values
(property-based, hypothesis): never a 500; a refused submission writes nothing at all; an
accepted one leaves only whole records. ``FORM_POSTS`` lists every POST endpoint with a valid
submission to start from; a new POST endpoint without a row fails
``test_every_form_post_is_fuzzed`` (``tests/test_security.py`` reuses the table for mass
assignment)."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from werkzeug.datastructures import MultiDict
from wtforms import Form

from marketplace import creditcode
from marketplace.extensions import db
from marketplace.forms import YuanField
from marketplace.models import (
    DealRequest,
    Order,
    Package,
    Quote,
    Review,
    ScenarioLevel,
    User,
)
from marketplace.services.accounts import hash_password
from tests.conftest import PASSWORD, AuthActions

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
                  "subsidy_fen"}


def weird_value_for(name: str) -> st.SearchStrategy:
    if name.endswith("_id") or name in NUMERIC_FIELDS:
        return st.one_of(NUMBERISH, WEIRD_VALUE)
    return WEIRD_VALUE
FUZZ = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])
DESCRIPTION = "车间二十台注塑机想联网，实时看到开机率和停机原因，并按班组统计。"


@dataclass(frozen=True)
class FormPost:
    """One form POST: who sends it, to which path (``{placeholders}`` from the world) and a
    valid submission (``{placeholders}`` too)."""

    endpoint: str
    role: str
    path: str
    valid: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.endpoint}:{self.path}"


EVENT_FORM = {"title": "苏州智改数转供需对接会", "description": "企业与服务商分轮洽谈",
              "region_code": "320505", "mode": "onsite", "place": "姑苏区会议中心", "link": "",
              "starts_at": "{event_start}", "registration_deadline": "{event_deadline}",
              "slot_minutes": "20", "slot_count": "6", "table_count": "4",
              "meetings_per_sme": "3", "sme_capacity": "30", "provider_capacity": "10",
              "cluster_code": "", "chain_leader_id": ""}
FORM_POSTS = [
    FormPost("auth.register", "anon", "/auth/register",
             {"role": "sme", "display_name": "王芳", "email": "wang@example.com",
              "password": "shuzi-zhuanxing-9", "confirm": "shuzi-zhuanxing-9"}),
    FormPost("auth.login", "anon", "/auth/login", {"email": "{sme_email}", "password": PASSWORD}),
    FormPost("auth.change_password", "sme", "/auth/password",
             {"current_password": PASSWORD, "new_password": "a-new-secret-77",
              "confirm": "a-new-secret-77"}),
    FormPost("auth.logout", "sme", "/auth/logout"),
    FormPost("main.set_language", "anon", "/lang/en", {"next": "/packages/"}),
    FormPost("profiles.edit", "sme_new", "/profile/edit",
             {"name": "苏州新锐精密机械有限公司", "credit_code": "{credit_code}",
              "employees": "80", "revenue_wan": "5000", "county_code": "320505",
              "industry_code": "C34", "cluster_code": "", "chain_leader_id": ""}),
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
    FormPost("events.create", "gov", "/events/new", EVENT_FORM),
    FormPost("events.edit", "gov", "/events/{fz_event}/edit",
             {**EVENT_FORM, "title": "苏州智改数转供需对接会（改期）", "sme_capacity": "20"}),
    FormPost("events.change_status", "gov", "/events/{fz_draft_event}/open"),
    FormPost("events.cancel", "gov", "/events/{fz_event}/cancel", {"reason": "场地调整，另行通知"}),
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
]


# --- the world every row acts on ---------------------------------------------------------------

@pytest.fixture
def world(app, make_user, make_provider, make_need, make_package):
    relax_limits(app)
    return build_world(app, make_user, make_provider, make_need, make_package)


def build_world(app, make_user, make_provider, make_need, make_package) -> tuple[dict, dict]:
    """Users of every role that posts, and objects in the state each POST expects."""
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
           "in_a_month": (date.today() + timedelta(days=30)).isoformat()}

    def deal(status: str, order_status: str | None = None, reviewed: bool = False) -> tuple:
        with app.app_context():
            request = DealRequest(need_id=make_need(enterprise), package_id=package,
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

    ids.update(pending=deal("pending")[0], pending_too=deal("pending")[0],
               withdrawable=deal("pending")[0], quoted=deal("quoted")[0],
               placed=deal("ordered", "placed")[1], cancellable=deal("ordered", "placed")[1],
               delivered=deal("ordered", "delivered")[1],
               accepted=deal("ordered", "accepted")[1],
               reviewed=deal("ordered", "accepted", reviewed=True)[1])
    users["gov"] = make_user(role="gov", region_code="320505")
    ids.update(matchmaking_world(app, users, make_provider))
    return users, ids


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
    """A new client, logged in as ``role`` (the password is reset: a fuzzed password change
    may have succeeded before)."""
    client = app.test_client()
    if role != "anon":
        with app.app_context():
            db.session.get(User, users[role].id).password_hash = hash_password(PASSWORD)
            db.session.commit()
        assert AuthActions(client, app).login(users[role]).status_code == 302
    return client


def filled(values: dict[str, str], ids: dict) -> dict[str, str]:
    return {name: value.format(**ids) for name, value in values.items()}


def relax_limits(app) -> None:
    """Fuzzing logs in and fails thousands of times; throttling has its own tests."""
    for setting in ("LOGIN_LIMIT_PER_ACCOUNT", "LOGIN_LIMIT_PER_ADDRESS",
                    "REGISTER_LIMIT_PER_ADDRESS", "PASSWORD_LIMIT_PER_ADDRESS"):
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
]


def assert_whole_records(app) -> None:
    with app.app_context():
        for query in WHOLE_RECORDS:
            assert db.session.scalar(text(query)) == 0, query


def post_and_check(app, client, path: str, data: dict) -> None:
    # A refused login is audited by design; nothing else may be written by a refusal.
    skip = frozenset({"audit_log"}) if path == "/auth/login" else frozenset()
    before = snapshot(app, skip)
    response = client.post(path, data=data)
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code != 302:
        assert snapshot(app, skip) == before, f"a refused POST ({response.status_code}) wrote"
    assert_whole_records(app)


# --- the properties --------------------------------------------------------------------------

@pytest.mark.parametrize("form", FORM_POSTS, ids=[f.id for f in FORM_POSTS])
@FUZZ
@given(data=st.data())
def test_form_post_survives_any_values(app, world, form, data):
    users, ids = world
    valid = filled(form.valid, ids)
    names = sorted(valid) + ["next", "role", "status", "id", "csrf_token"]
    changed = data.draw(st.lists(st.sampled_from(names), unique=True, max_size=4).flatmap(
        lambda chosen: st.fixed_dictionaries({n: weird_value_for(n) for n in chosen})),
        label="changed fields")
    client = client_for(app, users, form.role)
    post_and_check(app, client, form.path.format(**ids), {**valid, **changed})


@pytest.mark.parametrize("form", FORM_POSTS, ids=[f.id for f in FORM_POSTS])
def test_valid_submission_is_accepted(app, world, form):
    """The starting point of each row is a real success, so the fuzzing reaches the services."""
    users, ids = world
    response = client_for(app, users, form.role).post(form.path.format(**ids),
                                                      data=filled(form.valid, ids))
    assert response.status_code == 302
    assert_whole_records(app)


@pytest.mark.parametrize("path", ["/deals/request", "/deals/dismiss"])
def test_ids_past_a_database_integer_are_not_found(app, world, path):
    users, ids = world
    client = client_for(app, users, "sme")
    for huge in ("2147483648", "9223372036854775808"):
        response = client.post(path, data={"need_id": str(ids["free_need"]),
                                           "package_id": huge})
        assert response.status_code == 404, huge


# Form POSTs built in parallel with this table (subsidies, typical cases, diagnosis, imports,
# API tokens): each needs a FormPost row and its objects in the world, then leaves this set.
NOT_YET_FUZZED = {
    "cases.create", "cases.edit", "cases.feature", "cases.step",
    "diagnosis.post_suggestion", "diagnosis.start", "imports.upload", "profiles.revoke_token",
    "profiles.tokens", "subsidies.adjust", "subsidies.bulk_approve",
    "subsidies.change_program_status", "subsidies.create_program", "subsidies.decide",
    "subsidies.edit_program",
}


def test_every_form_post_is_fuzzed(app):
    """JSON endpoints (``security.accepts_json``) check their own bodies and are not forms."""
    posts = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods
             and not getattr(app.view_functions[rule.endpoint], "accepts_json", False)}
    assert posts - NOT_YET_FUZZED == {form.endpoint for form in FORM_POSTS}


# --- money -----------------------------------------------------------------------------------

BAD_AMOUNTS = [("-1", "金额不能为负数"), ("-0.01", "金额不能为负数"),
               ("NaN", "请填写数字金额"), ("sNaN", "请填写数字金额"), ("inf", "请填写数字金额"),
               ("-Infinity", "请填写数字金额"),
               ("1e309", "金额不能超过 1 亿元"), ("100000000.01", "金额不能超过 1 亿元"),
               ("9" * 40, "金额不能超过 1 亿元"), ("12.345", "金额最多保留两位小数"),
               ("0.001", "金额最多保留两位小数"), ("12元", "请填写数字金额"),
               ("0x10", "请填写数字金额")]
MONEY_FIELDS = [("needs.create", "budget_min_fen"), ("needs.create", "budget_max_fen"),
                ("packages.create", "price_fen"), ("packages.edit", "price_fen"),
                ("deals.quote", "price_fen")]


@pytest.mark.parametrize(("endpoint", "name"), MONEY_FIELDS)
def test_bad_amounts_are_refused_beside_the_field(app, world, endpoint, name):
    users, ids = world
    form = next(f for f in FORM_POSTS if f.endpoint == endpoint)
    client = client_for(app, users, form.role)
    before = snapshot(app)
    for value, message in BAD_AMOUNTS:
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
