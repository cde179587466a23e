"""Enterprise and provider profiles: validation, size class, chain leaders, verification."""

import random

import pytest

from marketplace import creditcode
from marketplace.extensions import db
from marketplace.models import Enterprise, Provider, User

VALID_CODE = creditcode.generate(random.Random(1), "320500")


def enterprise_form(**overrides):
    data = {"name": "苏州恒信精密五金有限公司", "credit_code": VALID_CODE, "employees": "120",
            "revenue_wan": "6500", "county_code": "320505", "industry_code": "C33",
            "cluster_code": "high_end_equipment"}
    data.update(overrides)
    return data


@pytest.fixture
def sme_without_company(make_user, auth):
    user = make_user(company=False)
    auth.login(user)
    return user


def test_sme_saves_enterprise_and_gets_size_class(client, app, sme_without_company):
    response = client.post("/profile/edit", data=enterprise_form())
    assert response.status_code == 302
    with app.app_context():
        user = db.session.get(User, sme_without_company.id)
        assert user.enterprise.size_class_code == "small"
        assert user.enterprise.county.code == "320505"
    assert client.get("/dashboard").status_code == 200


@pytest.mark.parametrize(
    ("employees", "revenue", "size"),
    [(5, 10000, "micro"), (50, 200, "micro"), (20, 300, "small"), (299, 50000, "small"),
     (300, 2000, "medium"), (999, 39999, "medium"), (1000, 40000, "large"),
     (1500, 30000, "medium")],
)
def test_size_class_follows_national_classification(ctx, employees, revenue, size):
    from marketplace.services.profiles import classify_size

    assert classify_size(employees, revenue).code == size


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("credit_code", VALID_CODE[:-1] + ("0" if VALID_CODE[-1] != "0" else "1"), "校验位不正确"),
        ("credit_code", "91320500MA1XYZ12", "应为 18 位"),
        ("credit_code", "91320500MA1OIZSV1X", "不允许的字符"),
        ("employees", "-3", "请填写 0 到 1000000"),
        ("employees", "abc", "不是有效的整数"),
        ("revenue_wan", "", "请填写营业收入"),
        ("county_code", "320500", "不是有效的选择"),
        ("industry_code", "C99", "不是有效的选择"),
        ("name", "", "请填写企业名称"),
    ],
)
def test_enterprise_bad_input(client, app, sme_without_company, field, value, message):
    response = client.post("/profile/edit", data=enterprise_form(**{field: value}))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Enterprise)) == 0


def test_credit_code_taken_by_another_enterprise(client, app, sme_without_company,
                                                 make_enterprise):
    other = make_enterprise()
    with app.app_context():
        code = db.session.get(Enterprise, other.id).credit_code
    response = client.post("/profile/edit", data=enterprise_form(credit_code=code))
    assert "已被另一家单位使用" in response.get_data(as_text=True)


def test_chain_leader_cannot_be_declared(client, app, sme_without_company, make_enterprise):
    """The chain is confirmed by both sides on the chain pages (tests/test_chains.py); a
    chain_leader_id posted with the profile is ignored."""
    leader = make_enterprise(name="常州新能源链主集团", is_chain_leader=True, employees=5000,
                             revenue_wan=900000)
    response = client.post("/profile/edit", data=enterprise_form(chain_leader_id=str(leader.id)))
    assert response.status_code == 302
    with app.app_context():
        user = db.session.get(User, sme_without_company.id)
        assert user.enterprise.chain_leader_id is None


def provider_form(**overrides):
    data = {"name": "江苏智造云科技有限公司", "credit_code": VALID_CODE, "kind": "platform",
            "tier": "provincial_cross", "region_codes": ["320500", "320200"],
            "lead_enterprise_id": "", "description": "面向装备制造的工业互联网平台。",
            "contact_name": "李工", "phone": "0512-66668888"}
    data.update(overrides)
    return data


def test_provider_profile_waits_for_verification(client, app, make_user, auth):
    user = make_user(role="provider", company=False)
    auth.login(user)
    response = client.post("/profile/edit", data=provider_form())
    assert response.status_code == 302
    with app.app_context():
        provider = db.session.get(User, user.id).provider
        assert not provider.verified
        assert sorted(r.code for r in provider.regions_served) == ["320200", "320500"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("tier", "galactic", "不是有效的选择"), ("region_codes", [], "请至少选择一个服务地区"),
     ("phone", "call me", "电话号码格式不正确"), ("kind", "", "请选择单位类型"),
     ("lead_enterprise_id", " ", "不是有效的选择")],  # the last was a 500 (int(" "))
)
def test_provider_bad_input(client, app, make_user, auth, field, value, message):
    auth.login(make_user(role="provider", company=False))
    response = client.post("/profile/edit", data=provider_form(**{field: value}))
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Provider)) == 0


def test_changing_verified_name_needs_new_verification(client, app, make_user, auth):
    user = make_user(role="provider")
    auth.login(user)
    with app.app_context():
        code = db.session.get(User, user.id).provider.credit_code
    client.post("/profile/edit", data=provider_form(credit_code=code, name="新名字科技有限公司"))
    with app.app_context():
        assert not db.session.get(User, user.id).provider.verified


def test_admin_verifies_provider(client, app, make_user, make_provider, auth):
    provider = make_provider(verified=False)
    auth.login(make_user(role="admin"))
    response = client.post(f"/admin/providers/{provider.id}/verify")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Provider, provider.id).verified


def test_enterprise_page_private_to_owner_gov_admin(client, make_user, auth, app):
    owner = make_user()
    with app.app_context():
        enterprise_id = db.session.get(User, owner.id).enterprise_id
    cases = [(owner, 200), (make_user(), 404), (make_user(role="provider"), 404),
             (make_user(role="gov", region_code="320505"), 200),
             (make_user(role="gov", region_code="320500"), 200),
             (make_user(role="gov", region_code="320100"), 404), (make_user(role="admin"), 200)]
    for user, status in cases:
        auth.login(user)
        assert client.get(f"/profile/enterprise/{enterprise_id}").status_code == status
        auth.logout()
