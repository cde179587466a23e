"""Needs: posting, validation, editing, closing and reopening, visibility."""

import pytest

from marketplace.extensions import db
from marketplace.models import Need, User


def need_form(**overrides):
    data = {"title": "注塑车间设备联网", "category_code": "device_monitoring",
            "description": "二十台注塑机老是突然停机，想知道哪台机器在干活、停了多久、为什么停。",
            "scenario_level_code": "workshop", "budget_min_fen": "20000",
            "budget_max_fen": "80000.50", "desired_start": "2027-01-15", "visibility": "public"}
    data.update(overrides)
    return data


@pytest.fixture
def sme(make_user, auth):
    user = make_user()
    auth.login(user)
    return user


def test_post_need(client, app, sme):
    response = client.post("/needs/new", data=need_form())
    assert response.status_code == 302
    with app.app_context():
        need = db.session.scalar(db.select(Need))
        assert need.budget_min_fen == 2_000_000 and need.budget_max_fen == 8_000_050
        assert need.status == "open" and need.author_id == sme.id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "注塑车间设备联网" in page and "¥20,000" in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "", "请填写标题"),
        ("title", "长" * 121, "需要 1 到 120 个字"),
        ("description", "太短了", "需要 20 到 5000 个字"),
        ("category_code", "magic", "不是有效的选择"),
        ("budget_min_fen", "-5", "金额不能为负数"),
        ("budget_min_fen", "NaN", "请填写数字金额"),
        ("budget_min_fen", "12.345", "最多保留两位小数"),
        ("budget_min_fen", "1,000,000,000,000", "不能超过 1 亿元"),
        ("budget_min_fen", "1,5", "千位分隔符（逗号）需每三位一个"),
        ("budget_min_fen", "١٠٠", "请用数字 0-9 填写金额"),
        ("budget_min_fen", "abc", "请填写数字金额"),
        ("budget_max_fen", "100", "预算上限不能低于下限"),
        ("desired_start", "2027-13-45", "不是有效的日期值"),
        ("visibility", "everyone", "不是有效的选择"),
        ("desired_start", "0001-01-01", "2020 年到 2035 年"),
        ("description", "\u200b" * 30, "需要 20 到 5000 个字"),
        ("title", "正常标题\u202e反转", "控制字符"),
    ],
)
def test_bad_need_is_refused_and_nothing_written(client, app, sme, field, value, message):
    response = client.post("/needs/new", data=need_form(**{field: value}))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Need)) == 0


def test_markup_is_escaped(client, sme):
    response = client.post("/needs/new", data=need_form(title="<script>alert(1)</script>"))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_edit_close_reopen(client, app, sme, make_need):
    with app.app_context():
        enterprise_id = db.session.get(User, sme.id).enterprise_id
    need_id = make_need(enterprise_id)
    assert client.post(f"/needs/{need_id}/edit", data=need_form(title="新标题")).status_code == 302
    assert client.post(f"/needs/{need_id}/close").status_code == 302
    # a closed need cannot be edited or closed again; the refusal changes nothing
    assert client.post(f"/needs/{need_id}/edit", data=need_form(title="再改")).status_code == 409
    assert client.post(f"/needs/{need_id}/close").status_code == 409
    with app.app_context():
        need = db.session.get(Need, need_id)
        assert (need.title, need.status) == ("新标题", "closed")
    assert client.post(f"/needs/{need_id}/reopen").status_code == 302
    with app.app_context():
        assert db.session.get(Need, need_id).status == "open"


def test_unknown_action_is_404(client, app, sme, make_need):
    with app.app_context():
        enterprise_id = db.session.get(User, sme.id).enterprise_id
    need_id = make_need(enterprise_id)
    assert client.post(f"/needs/{need_id}/delete").status_code == 404


def test_provider_cannot_post_need(client, make_user, auth):
    auth.login(make_user(role="provider"))
    assert client.post("/needs/new", data=need_form()).status_code == 403


def test_list_shows_public_and_own_private_only(client, app, make_user, make_need, auth,
                                                make_enterprise):
    me = make_user()
    with app.app_context():
        mine = db.session.get(User, me.id).enterprise_id
    other = make_enterprise(name="别家企业有限公司").id
    make_need(mine, title="我的私密需求", visibility="private")
    make_need(other, title="别家的公开需求")
    make_need(other, title="别家的私密需求", visibility="private")
    auth.login(me)
    page = client.get("/needs/").get_data(as_text=True)
    assert "我的私密需求" in page and "别家的公开需求" in page
    assert "别家的私密需求" not in page
    mine_page = client.get("/needs/?mine=1").get_data(as_text=True)
    assert "别家的公开需求" not in mine_page


def test_gov_sees_private_needs_of_its_region_only(client, app, make_user, make_need, auth,
                                                   make_enterprise):
    suzhou = make_enterprise(county="320505", name="苏州企业有限公司").id
    nanjing = make_enterprise(county="320102", name="南京企业有限公司").id
    make_need(suzhou, title="苏州私密需求", visibility="private")
    make_need(nanjing, title="南京私密需求", visibility="private")
    auth.login(make_user(role="gov", region_code="320500"))
    page = client.get("/needs/").get_data(as_text=True)
    assert "苏州私密需求" in page and "南京私密需求" not in page


def test_filters(client, app, sme, make_need):
    with app.app_context():
        enterprise_id = db.session.get(User, sme.id).enterprise_id
    make_need(enterprise_id, title="能耗监测需求", category_code="energy")
    make_need(enterprise_id, title="质量检测需求", category_code="quality")
    page = client.get("/needs/?category_code=energy").get_data(as_text=True)
    assert "能耗监测需求" in page and "质量检测需求" not in page
    page = client.get("/needs/?q=质量").get_data(as_text=True)
    assert "质量检测需求" in page and "能耗监测需求" not in page


def test_officials_reading_private_needs_is_audited(client, app, make_user, make_need, auth,
                                                    make_enterprise):
    from marketplace.models import AuditEntry

    enterprise = make_enterprise().id
    private = make_need(enterprise, visibility="private")
    public = make_need(enterprise)
    official = make_user(role="gov", region_code="320500")
    auth.login(official)
    client.get(f"/needs/{private}")
    client.get(f"/needs/{public}")
    client.get(f"/profile/enterprise/{enterprise}")
    with app.app_context():
        reads = [(e.action, e.object_id) for e in db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.actor_id == official.id,
                                        AuditEntry.action.like("view_%")))]
    assert reads == [("view_need", private), ("view_enterprise", enterprise)]
