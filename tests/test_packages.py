"""Solution packages: create, validate, publish, withdraw, archive, visibility, browsing."""

import pytest

from marketplace.extensions import db
from marketplace.models import Package, User


def package_form(**overrides):
    data = {"title": "注塑机联网看板包", "summary": "一周接入，手机看开机率",
            "description": "边缘网关采集注塑机信号，云端看板展示开机率、停机原因与产量。",
            "category_code": "device_monitoring", "scenario_level_codes": ["device", "line"],
            "industry_codes": ["C29", "C33"], "deployment": "saas", "price_fen": "19800",
            "price_unit": "per_year", "delivery_days": "7", "free_trial": "y",
            "cases-0-title": "某汽配厂注塑车间", "cases-0-customer": "常州某汽配",
            "cases-0-content": "停机时间下降 30%。"}
    data.update(overrides)
    return data


@pytest.fixture
def provider_user(make_user, auth):
    user = make_user(role="provider")
    auth.login(user)
    return user


def _provider_id(app, user):
    with app.app_context():
        return db.session.get(User, user.id).provider_id


def test_create_publish_withdraw_archive(client, app, provider_user):
    response = client.post("/packages/new", data=package_form())
    assert response.status_code == 302
    with app.app_context():
        package = db.session.scalar(db.select(Package))
        assert package.status == "draft" and package.price_fen == 1_980_000
        assert [s.code for s in package.scenario_levels] == ["device", "line"]
        assert [c.title for c in package.cases] == ["某汽配厂注塑车间"]
        package_id = package.id
    anonymous = app.test_client()
    assert anonymous.get(f"/packages/{package_id}").status_code == 404  # drafts are private
    assert client.post(f"/packages/{package_id}/publish").status_code == 302
    assert anonymous.get(f"/packages/{package_id}").status_code == 200
    assert "注塑机联网看板包" in anonymous.get("/packages/").get_data(as_text=True)
    assert client.post(f"/packages/{package_id}/publish").status_code == 409
    assert client.post(f"/packages/{package_id}/withdraw").status_code == 302
    assert client.post(f"/packages/{package_id}/archive").status_code == 302
    assert client.post(f"/packages/{package_id}/withdraw").status_code == 409
    assert client.post(f"/packages/{package_id}/edit", data=package_form()).status_code == 409
    with app.app_context():
        assert db.session.get(Package, package_id).status == "archived"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "", "请填写名称"),
        ("summary", "长" * 201, "需要 1 到 200 个字"),
        ("scenario_level_codes", [], "请至少选择一个场景层级"),
        ("industry_codes", ["C99"], "不是有效的选择"),
        ("price_fen", "-1", "金额不能为负数"),
        ("price_fen", "", "请填写金额"),
        ("price_fen", "1.001", "最多保留两位小数"),
        ("delivery_days", "0", "交付周期需在 1 到 730 天之间"),
        ("deployment", "cloud9", "不是有效的选择"),
    ],
)
def test_bad_package_is_refused(client, app, provider_user, field, value, message):
    response = client.post("/packages/new", data=package_form(**{field: value}))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Package)) == 0


def test_unverified_provider_packages_are_not_public(client, app, make_user, make_provider,
                                                     make_package, auth):
    provider = make_provider(verified=False)
    package_id = make_package(provider.id, title="未认证单位的方案")
    assert client.get(f"/packages/{package_id}").status_code == 404
    assert "未认证单位的方案" not in client.get("/packages/").get_data(as_text=True)


def test_eliminated_provider_packages_are_not_public(client, make_provider, make_package):
    provider = make_provider(standing="eliminated")
    package_id = make_package(provider.id)
    assert client.get(f"/packages/{package_id}").status_code == 404


def test_browse_filters_and_sort(client, make_provider, make_package):
    provider = make_provider()
    make_package(provider.id, title="便宜的能耗包", category_code="energy", price_fen=500_000)
    make_package(provider.id, title="贵的能耗包", category_code="energy", price_fen=9_000_000)
    make_package(provider.id, title="质检包", category_code="quality", price_fen=100_000)
    page = client.get("/packages/?category_code=energy&sort=price").get_data(as_text=True)
    assert "质检包" not in page
    assert page.index("便宜的能耗包") < page.index("贵的能耗包")
    page = client.get("/packages/?max_price=6000").get_data(as_text=True)
    assert "贵的能耗包" not in page and "便宜的能耗包" in page
    assert "金额不能为负数" in client.get("/packages/?max_price=-1").get_data(as_text=True)


def test_my_packages_lists_drafts(client, app, provider_user, make_package):
    make_package(_provider_id(app, provider_user), title="我的草稿", status="draft")
    assert "我的草稿" in client.get("/packages/mine").get_data(as_text=True)
