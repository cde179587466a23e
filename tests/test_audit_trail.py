"""The audit trail of edits: needs, quote revisions, package texts and enterprise profiles keep
who changed what, when, from what to what; officials read their region's trail and admins all,
on one page with filters, in words rather than codes."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import AuditEntry, DealRequest, Enterprise, User
from marketplace.services.deals import today
from tests.conftest import PASSWORD
from tests.test_needs import need_form
from tests.test_packages import package_form

ROW = 'class="audit-action">'


def login(app, user):
    client = app.test_client()
    with app.app_context():
        email = db.session.get(User, user.id).email
    assert client.post("/auth/login", data={"email": email,
                                            "password": PASSWORD}).status_code == 302
    return client


def entries(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        found = db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                   .order_by(AuditEntry.id)).all()
        for entry in found:
            db.session.expunge(entry)
        return found


@pytest.fixture
def people(app, make_user, make_enterprise):
    """An SME of 姑苏区 (320508), one of 吴中区 (320506), a provider, the officials of both
    counties and of 苏州市, and an admin."""
    return {"sme": make_user(enterprise_id=make_enterprise(county="320508", name="姑苏精密").id),
            "sme_wuzhong": make_user(
                enterprise_id=make_enterprise(county="320506", name="吴中模具").id),
            "provider": make_user(role="provider"),
            "gusu": make_user(role="gov", region_code="320508"),
            "wuzhong": make_user(role="gov", region_code="320506"),
            "city": make_user(role="gov", region_code="320500"),
            "admin": make_user(role="admin")}


def test_a_need_edit_keeps_the_old_values(app, people, make_need):
    with app.app_context():
        enterprise_id = db.session.get(User, people["sme"].id).enterprise_id
    need_id = make_need(enterprise_id, title="旧标题", description=need_form()["description"],
                        budget_min_fen=2_000_000, budget_max_fen=8_000_050,
                        desired_start=None)
    sme = login(app, people["sme"])
    assert sme.post(f"/needs/{need_id}/edit", data=need_form(
        title="新标题", desired_start="")).status_code == 302
    [entry] = entries(app, "update_need")
    assert entry.actor_id == people["sme"].id and entry.object_id == need_id
    assert entry.details["changes"] == {"title": ["旧标题", "新标题"]}
    # the same form again changes nothing and leaves no entry
    sme.post(f"/needs/{need_id}/edit", data=need_form(title="新标题", desired_start=""))
    assert len(entries(app, "update_need")) == 1
    page = login(app, people["gusu"]).get("/admin/audit").get_data(as_text=True)
    assert f"{ROW}修改需求<" in page and "update_need<" not in page
    assert "标题" in page and "旧标题" in page and "新标题" in page


def test_a_quote_revision_keeps_the_old_terms(app, people, make_need, make_package):
    with app.app_context():
        enterprise_id = db.session.get(User, people["sme"].id).enterprise_id
        provider_id = db.session.get(User, people["provider"].id).provider_id
    request = DealRequest(need_id=make_need(enterprise_id), package_id=make_package(provider_id),
                          enterprise_id=enterprise_id, provider_id=provider_id)
    with app.app_context():
        db.session.add(request)
        db.session.commit()
        request_id = request.id
    provider = login(app, people["provider"])
    terms = {"price_fen": "12000", "scope": "二十台设备联网与看板", "delivery_days": "10",
             "valid_until": (today() + timedelta(days=20)).isoformat()}
    url = f"/deals/requests/{request_id}/quote"
    assert provider.post(url, data=terms).status_code == 302
    assert provider.post(url, data={**terms, "price_fen": "9800.50",
                                    "scope": "二十台设备联网、看板与培训"}).status_code == 302
    [revision] = entries(app, "revise_quote")
    assert revision.details["revision"] == 2
    assert revision.details["changes"] == {
        "price_fen": [1_200_000, 980_050],
        "scope": ["二十台设备联网与看板", "二十台设备联网、看板与培训"]}
    with app.app_context():  # the buyer's county oversees the deal
        assert revision.region_id == db.session.get(Enterprise, enterprise_id).county_id
    page = login(app, people["gusu"]).get("/admin/audit?object_group=quote").get_data(
        as_text=True)
    assert f"{ROW}修改报价<" in page and "¥12,000" in page and "¥9,800.50" in page
    assert "服务范围" in page and "价格" in page


def test_a_package_edit_keeps_the_old_texts_for_the_admins(app, people):
    provider = login(app, people["provider"])
    assert provider.post("/packages/new", data=package_form()).status_code == 302
    with app.app_context():
        package_id = db.session.scalar(select(AuditEntry.object_id).where(
            AuditEntry.action == "create_package"))
    changed = package_form(description="边缘网关采集注塑机与空压机信号，云端看板展示开机率与能耗。",
                           scenario_level_codes=["device"], price_fen="21800")
    assert provider.post(f"/packages/{package_id}/edit", data=changed).status_code == 302
    [entry] = entries(app, "update_package")
    assert entry.details["changes"] == {
        "description": [package_form()["description"], changed["description"]],
        "scenario_level_codes": [["device", "line"], ["device"]],
        "price_fen": [1_980_000, 2_180_000]}
    admin_page = login(app, people["admin"]).get("/admin/audit").get_data(as_text=True)
    assert f"{ROW}修改方案包<" in admin_page and "设备、产线" in admin_page
    assert "¥19,800" in admin_page and "¥21,800" in admin_page
    # a package is no region's: the officials' trail does not show it
    assert f"{ROW}修改方案包<" not in login(app, people["city"]).get(
        "/admin/audit").get_data(as_text=True)


def test_a_profile_edit_shows_names_not_codes(app, people):
    sme = login(app, people["sme"])
    with app.app_context():
        found = db.session.get(User, people["sme"].id).enterprise
        form = {"name": found.name, "credit_code": found.credit_code, "employees": "600",
                "revenue_wan": str(found.revenue_wan), "county_code": "320505",
                "industry_code": found.industry_code, "cluster_code": "",
                "chain_leader_id": ""}
    assert sme.post("/profile/edit", data=form).status_code == 302
    [entry] = entries(app, "update_enterprise")
    assert entry.details["changes"]["county_code"] == ["320508", "320505"]
    page = login(app, people["city"]).get("/admin/audit?object_group=enterprise").get_data(
        as_text=True)
    for text in ("修改企业信息", "所在县（市、区）", "苏州市 / 姑苏区", "苏州市 / 虎丘区",
                 "规模类型", "小型", "中型", "产业集群", "高端装备"):
        assert text in page, text
    assert "county_code" not in page.split("<tbody>", 1)[1]


def test_officials_read_their_region_and_admins_everything(app, people, make_need):
    ids = {}
    with app.app_context():
        for key in ("sme", "sme_wuzhong"):
            ids[key] = db.session.get(User, people[key].id).enterprise_id
    for key, title in (("sme", "姑苏的需求"), ("sme_wuzhong", "吴中的需求")):
        need_id = make_need(ids[key], title=title)
        login(app, people[key]).post(f"/needs/{need_id}/edit",
                                     data=need_form(title=title + "（改）"))
    seen = {who: login(app, people[who]).get("/admin/audit").get_data(as_text=True)
            for who in ("gusu", "wuzhong", "city", "admin")}
    assert "姑苏的需求（改）" in seen["gusu"] and "吴中的需求（改）" not in seen["gusu"]
    assert "吴中的需求（改）" in seen["wuzhong"] and "姑苏的需求（改）" not in seen["wuzhong"]
    for who in ("city", "admin"):
        assert "姑苏的需求（改）" in seen[who] and "吴中的需求（改）" in seen[who]
    for who in ("sme", "provider"):
        assert login(app, people[who]).get("/admin/audit").status_code == 403


def test_the_filters(app, people, make_need):
    with app.app_context():
        enterprise_id = db.session.get(User, people["sme"].id).enterprise_id
        author = db.session.get(User, people["sme"].id)
        author_email, author_name = author.email, author.display_name
    need_id = make_need(enterprise_id, title="筛选用的需求")
    sme = login(app, people["sme"])
    sme.post(f"/needs/{need_id}/edit", data=need_form(title="筛选用的需求（改）"))
    sme.post(f"/needs/{need_id}/close")
    admin = login(app, people["admin"])

    def rows(query: str) -> list[str]:
        page = admin.get("/admin/audit" + query).get_data(as_text=True)
        return [cell.split("<", 1)[0] for cell in page.split(ROW)[1:]]

    assert set(rows("")) >= {"修改需求", "关闭需求", "登录"}
    assert rows("?action=update_need") == ["修改需求"]
    assert set(rows("?object_group=need")) == {"修改需求", "关闭需求"}
    assert "登录" in rows("?object_group=account")
    by_actor = rows(f"?actor={author_email.upper()}")
    assert set(by_actor) == {"修改需求", "关闭需求", "登录"}
    assert set(rows(f"?actor={author_name[1:]}")) == set(by_actor)
    assert rows("?actor=%25") == []  # a LIKE wildcard is a plain character here
    day = today()
    assert "修改需求" in rows(f"?since={day.isoformat()}&until={day.isoformat()}")
    assert rows(f"?since={(day + timedelta(days=1)).isoformat()}") == []
    assert rows(f"?until={(day - timedelta(days=1)).isoformat()}") == []
    # a malformed filter is ignored, with its message beside the field
    page = admin.get("/admin/audit?since=2026-02-30&action=nothing").get_data(as_text=True)
    assert page.count(ROW) >= 3 and "不是有效的选择" in page


def test_the_demo_shows_a_snapshot_and_audited_edits(app):
    from marketplace import trail as trail_labels
    from marketplace.demo import build_demo
    from marketplace.models import SubsidyClaim
    from marketplace.services.demo import DEMO_PASSWORD, load_demo

    with app.app_context():
        load_demo(build_demo())
        db.session.commit()
        entries = db.session.scalars(select(AuditEntry)).all()
        actions = {e.action for e in entries if e.details.get("changes")}
        # every action, kind of object and logged field reads as words (issue 17)
        assert {e.action for e in entries} <= set(trail_labels.ACTION_LABELS)
        assert {e.object_type for e in entries} <= set(trail_labels.OBJECT_LABELS)
        assert {name for e in entries for name in e.details} - {"changes"} <= set(
            trail_labels.FIELD_LABELS)
        assert {"update_need", "revise_quote", "update_package", "update_enterprise"} <= actions
        sme = db.session.scalar(select(User).where(User.email == "sme@demo.zgsz.cn"))
        claims = db.session.scalars(select(SubsidyClaim)).all()
        assert claims and all(claim.eligibility for claim in claims)
        waiting = next(c for c in claims if c.enterprise_id == sme.enterprise_id
                       and c.order.status == "accepted")
        level = waiting.program.region.level

    def official(email: str):
        client = app.test_client()
        client.post("/auth/login", data={"email": email, "password": DEMO_PASSWORD})
        return client

    deciding = official(f"{level}@demo.zgsz.cn")  # the program's officials
    page = deciding.get(f"/subsidies/claims/{waiting.id}").get_data(as_text=True)
    assert 'id="eligibility"' in page and "小型" in page
    trail = official("city@demo.zgsz.cn").get("/admin/audit").get_data(as_text=True)
    for action in ("修改需求", "修改报价", "修改企业信息"):
        assert f"{ROW}{action}<" in trail, action
    # the object by its name, linked (issue 17: lines read "subsidyprogram #2")
    assert "智改数转普惠补贴（市级）</a>" in trail
    admin_trail = official("admin@demo.zgsz.cn").get("/admin/audit").get_data(as_text=True)
    assert f"{ROW}修改方案包<" in admin_trail


@pytest.mark.parametrize("query", ["since=0001-01-01", "until=9999-12-31",
                                   "since=1999-12-31&until=2100-01-01"])
def test_dates_outside_the_trail_are_refused_beside_the_field(app, people, query):
    """They overflowed the time arithmetic (a 500); now they are ignored with a message."""
    page = login(app, people["admin"]).get("/admin/audit?" + query)
    assert page.status_code == 200
    assert "请填写 2000 年到 2099 年之间的日期。" in page.get_data(as_text=True)


def test_token_entries_read_in_words(app, people):
    """A token's scope is no quote's 服务范围, and every detail has a label."""
    from marketplace.services import tokens

    with app.app_context():
        tokens.create_token(db.session.get(User, people["sme"].id), "对接系统", "read", 30)
        db.session.commit()
    page = login(app, people["admin"]).get("/admin/audit?action=create_api_token")
    text = page.get_data(as_text=True)
    assert "令牌权限" in text and "只读" in text and "有效期（天）" in text
    assert "服务范围" not in text and "lifetime_days" not in text and "read<" not in text
