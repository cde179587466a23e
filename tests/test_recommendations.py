"""Recommendations on the pages: reasons, the chain leader's platform, freshness, persistence."""

import re
from datetime import date

import pytest

from marketplace import create_app
from marketplace.extensions import db
from marketplace.models import DealRequest, MatchFeedback, Need, Order, Package, User
from marketplace.services import matching as matching_service
from marketplace.services import tokens

NEED_TEXT = "注塑机老是坏，一停机就耽误交货，想知道哪台机器在干活、停了多久。"


@pytest.fixture
def chain(app, make_enterprise, make_provider, make_package, make_user, make_need):
    """An SME in the chain of a leader whose platform and an outside provider both fit."""
    leader = make_enterprise(name="常州链主装备集团", is_chain_leader=True, employees=5000,
                             revenue_wan=800000).id
    sme = make_enterprise(name="武进精密注塑件有限公司", chain_leader_id=leader).id
    platform = make_provider(name="链主工业互联网平台", lead_enterprise_id=leader).id
    outsider = make_provider(name="外部设备联网服务商").id
    ids = {
        "platform_package": make_package(platform, title="链主平台设备联网包",
                                         description="注塑机联网，实时监测停机与开机率。"),
        "outside_package": make_package(outsider, title="设备联网监测包",
                                        description="注塑机联网，实时监测停机与开机率。"),
        "energy_package": make_package(outsider, title="空压机能耗管理", category_code="energy",
                                       description="电表采集，分析空压机用电，降低电费。"),
        "user": make_user(enterprise_id=sme).id,
        "provider_user": make_user(role="provider", provider_id=outsider).id,
    }
    ids["need"] = make_need(sme, title="注塑机停机多", description=NEED_TEXT)
    ids["private_need"] = make_need(sme, title="注塑车间联网（保密）", description=NEED_TEXT,
                                    visibility="private")
    return ids


def _login(app, user_id):
    client = app.test_client()
    with app.app_context():
        email = db.session.get(User, user_id).email
    client.post("/auth/login", data={"email": email, "password": "correct-horse-42"})
    return client


def test_need_page_recommends_chain_platform_first_with_reasons(app, chain):
    page = _login(app, chain["user"]).get(f"/needs/{chain['need']}").get_data(as_text=True)
    assert "为这条需求推荐的方案包" in page
    first, second = page.index("链主平台设备联网包"), page.index("设备联网监测包")
    assert first < second
    assert "链主平台：常州链主装备集团" in page
    assert "共同关键词" in page or "都涉及" in page


def test_recommendations_are_only_for_the_needs_owner(app, chain, make_user):
    page = _login(app, make_user(role="admin").id).get(f"/needs/{chain['need']}")
    assert "为这条需求推荐的方案包" not in page.get_data(as_text=True)


def test_sme_home_and_similar_packages(app, chain):
    client = _login(app, chain["user"])
    home = client.get("/dashboard").get_data(as_text=True)
    assert "为您推荐" in home and "链主平台设备联网包" in home
    detail = client.get(f"/packages/{chain['outside_package']}").get_data(as_text=True)
    assert "相似方案包" in detail and "链主平台设备联网包" in detail


def test_provider_leads_show_public_needs_only(app, chain):
    page = _login(app, chain["provider_user"]).get("/packages/leads").get_data(as_text=True)
    assert "注塑机停机多" in page
    assert "注塑车间联网（保密）" not in page


def test_a_new_package_is_recommended_without_refit(app, chain, make_package, make_provider):
    client = _login(app, chain["user"])
    client.get(f"/needs/{chain['need']}")  # fits the recommender
    make_package(make_provider(name="新来的服务商").id, title="注塑机停机分析云服务",
                 description="注塑机停机原因自动分析，开机率看板。")
    page = client.get(f"/needs/{chain['need']}").get_data(as_text=True)
    assert "注塑机停机分析云服务" in page
    with app.app_context():
        db.session.get(Package, chain["platform_package"]).status = "archived"
        db.session.commit()
    page = client.get(f"/needs/{chain['need']}").get_data(as_text=True)
    assert "链主平台设备联网包" not in page


def test_saved_recommender_is_loaded_not_refitted(app, chain, monkeypatch):
    _login(app, chain["user"]).get(f"/needs/{chain['need']}")
    again = create_app({**app.config, "MATCHING_SYNC_SECONDS": 0})

    def refit(self):
        raise AssertionError("refitted although a saved model existed")

    monkeypatch.setattr(matching_service.Recommender, "refit", refit)
    with again.app_context():
        found = matching_service.packages_for_need(db.session.get(Need, chain["need"]))
        db.session.remove()
        db.engine.dispose()
    assert found[0].item.title == "链主平台设备联网包"


def test_catch_up_applies_each_change_once(app, chain, make_package, make_provider):
    with app.app_context():
        recommender = matching_service.get_recommender()
        recommender.matcher()
        assert recommender.catch_up() == 0  # the fit already holds the fixture's changes
        before = recommender.state.changed_since_fit
        make_package(make_provider(name="又一家").id, title="空压机节能改造")
        assert recommender.catch_up() == 1
        assert recommender.catch_up() == 0
        assert recommender.state.changed_since_fit == before + 1


def test_change_times_from_any_session_zone_are_read_as_utc():
    from datetime import UTC, datetime, timedelta, timezone

    shanghai = datetime(2026, 11, 29, 18, 0, tzinfo=timezone(timedelta(hours=8)))
    assert matching_service._as_utc(shanghai) == datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    assert matching_service._as_utc(datetime(2026, 11, 29, 10, 0)).tzinfo is UTC


def _impressions(app) -> list[tuple[int, str]]:
    with app.app_context():
        return [(f.package_id, f.kind) for f in db.session.scalars(db.select(MatchFeedback))]


def _receipt(page: str) -> tuple[str, str]:
    """The action and the signed receipt of the page's impressions beacon."""
    form = re.search(r'<form method="post" action="([^"]+)" data-impressions hidden>(.*?)</form>',
                     page, re.S)
    return form[1], re.search(r'name="shown" type="hidden" value="([^"]+)"', form[2])[1]


def test_opening_the_need_page_writes_no_impressions(app, chain):
    """A GET writes nothing (a link on another site can make the browser send one)."""
    client = _login(app, chain["user"])
    page = client.get(f"/needs/{chain['need']}").get_data(as_text=True)
    assert "为这条需求推荐的方案包" in page and "impressions.js" in page
    assert _impressions(app) == []


def test_the_pages_beacon_records_impressions_once(app, chain):
    client = _login(app, chain["user"])
    for _ in range(2):
        action, receipt = _receipt(client.get(f"/needs/{chain['need']}").get_data(as_text=True))
        assert action == f"/needs/{chain['need']}/impressions"
        assert client.post(action, data={"shown": receipt}).status_code == 204
    kinds = [kind for _, kind in _impressions(app)]
    assert kinds and set(kinds) == {"impression"}
    assert len(kinds) == 3  # the three public packages, once each although shown twice


def test_a_receipt_counts_only_for_its_need_its_owner_and_a_day(app, chain, make_user,
                                                                 monkeypatch):
    owner = _login(app, chain["user"])
    _action, receipt = _receipt(owner.get(f"/needs/{chain['need']}").get_data(as_text=True))
    other_need = f"/needs/{chain['private_need']}/impressions"
    assert owner.post(other_need, data={"shown": receipt}).status_code == 400
    assert owner.post(f"/needs/{chain['need']}/impressions",
                      data={"shown": receipt[:-2] + "xx"}).status_code == 400
    stranger = _login(app, make_user().id)
    assert stranger.post(f"/needs/{chain['need']}/impressions",
                         data={"shown": receipt}).status_code == 403
    monkeypatch.setattr(matching_service, "IMPRESSION_RECEIPT_MAX_AGE", -1)  # all too old
    assert owner.post(f"/needs/{chain['need']}/impressions",
                      data={"shown": receipt}).status_code == 400
    assert _impressions(app) == []


def test_the_api_records_impressions_for_write_token_callers_only(app, chain):
    from tests.test_api import Api, make_token

    cookie = _login(app, chain["user"])
    assert cookie.get(f"/api/v1/needs/{chain['need']}/recommendations").status_code == 200
    assert _impressions(app) == []
    with app.app_context():  # a read-only token writes nothing, not even through a GET
        _token, secret = tokens.create_token(db.session.get(User, chain["user"]), "只读", "read")
        db.session.commit()
    read_only = Api(app.test_client(), secret)
    assert read_only.get(f"/needs/{chain['need']}/recommendations").status_code == 200
    assert _impressions(app) == []
    token = Api(app.test_client(), make_token(app, chain["user"]))
    assert token.get(f"/needs/{chain['need']}/recommendations").status_code == 200
    assert len(_impressions(app)) == 3


def test_retrain_learns_weights_from_feedback(app, runner, make_enterprise, make_provider,
                                              make_package, make_need):
    provider = make_provider().id
    topics = [("设备联网停机监测", "device_monitoring", "注塑机停机报警，开机率看板。"),
              ("空压机能耗管理", "energy", "电表采集，分析用电，降低电费。"),
              ("仓库条码管理", "warehouse_logistics", "扫码出入库，找货不再靠人记。"),
              ("视觉缺陷检测", "quality", "相机识别划痕，替代人工目检。")]
    packages = [make_package(provider, title=t, category_code=c, description=d)
                for t, c, d in topics]
    enterprise = make_enterprise().id
    with app.app_context():
        for i in range(12):
            title, category, text = topics[i % 4]
            need = make_need(enterprise, title=f"{title}需求{i}", category_code=category,
                             description=text * 2)
            for j, package in enumerate(packages):
                kind = "request" if j == i % 4 else "impression"
                db.session.add(MatchFeedback(need_id=need, package_id=package, kind=kind))
        db.session.commit()
    result = runner.invoke(args=["matching", "retrain"])
    assert result.exit_code != 0 and "not retrained" in result.output
    result = runner.invoke(args=["matching", "retrain", "--min-events", "5"])
    assert result.exit_code == 0, result.output
    assert "before" in result.output and "after" in result.output
    with app.app_context():
        weights = matching_service.get_recommender().learned_weights()
    assert weights and "text_words" in weights


def test_providers_the_chain_already_uses_are_boosted(app, chain, make_enterprise, make_user,
                                                      make_need):
    """A chain peer ordered from the outside provider: its package now says so."""
    with app.app_context():
        leader = db.session.get(User, chain["user"]).enterprise.chain_leader_id
        peer = make_enterprise(name="同链另一家配套厂", chain_leader_id=leader).id
        peer_need = make_need(peer, title="同链企业的联网需求", description=NEED_TEXT)
        package = db.session.get(Package, chain["outside_package"])
        request = DealRequest(need_id=peer_need, package_id=package.id, enterprise_id=peer,
                              provider_id=package.provider_id, status="ordered")
        db.session.add(request)
        db.session.flush()
        db.session.add(Order(need_id=peer_need, request_id=request.id, package_id=package.id,
                             enterprise_id=peer, provider_id=package.provider_id,
                             amount_fen=100, scope="联网", delivery_days=5,
                             due_date=date(2027, 1, 1)))
        db.session.get(Need, peer_need).status = "in_progress"
        db.session.commit()
        assert matching_service.chain_adoption() == {leader: {package.provider_id: 1}}
    page = _login(app, chain["user"]).get(f"/needs/{chain['need']}").get_data(as_text=True)
    assert "同链 1 家企业在用" in page


def test_provider_leads_are_ranked_once_a_minute_but_read_fresh(app, chain, make_need,
                                                                make_package):
    """The ranking is kept (LEADS_CACHE_SECONDS); a need closed meanwhile disappears at once,
    and a change to the provider's packages ranks afresh."""
    from marketplace.extensions import cache

    cache.init_app(app, config={"CACHE_TYPE": "SimpleCache"})
    try:
        client = _login(app, chain["provider_user"])
        assert "注塑机停机多" in client.get("/packages/leads").get_data(as_text=True)
        with app.app_context():
            sme = db.session.get(Need, chain["need"]).enterprise_id
        make_need(sme, title="注塑机开机率看板", description=NEED_TEXT)
        page = client.get("/packages/leads").get_data(as_text=True)
        assert "注塑机开机率看板" not in page  # the kept ranking
        with app.app_context():
            db.session.get(Need, chain["need"]).status = "closed"
            db.session.commit()
        assert "注塑机停机多" not in client.get("/packages/leads").get_data(as_text=True)
        with app.app_context():
            provider_id = db.session.get(User, chain["provider_user"]).provider_id
        make_package(provider_id, title="注塑机开机率分析")  # its packages changed
        assert "注塑机开机率看板" in client.get("/packages/leads").get_data(as_text=True)
    finally:
        cache.init_app(app, config={"CACHE_TYPE": "NullCache", "CACHE_NO_NULL_WARNING": True})


def _reasons_of(app, need_id: int) -> dict[int, dict[str, dict]]:
    """Per recommended package, its reasons' parameters by code."""
    with app.app_context():
        need = db.session.get(Need, need_id)
        return {s.item.id: {r.code: dict(r.params) for r in s.reasons}
                for s in matching_service.packages_for_need(need)}


def test_concept_labels_follow_the_page_language(app, chain):
    concepts = _reasons_of(app, chain["need"])[chain["outside_package"]]["shared_concepts"]
    client = _login(app, chain["user"])
    page = client.get(f"/needs/{chain['need']}").get_data(as_text=True)
    assert "都涉及：" + "、".join(concepts["labels"]) in page
    client.post("/lang/en", data={"next": "/"})
    page = client.get(f"/needs/{chain['need']}").get_data(as_text=True)
    assert "Both about: " + ", ".join(concepts["labels_en"]) in page
    assert concepts["labels"][0] not in page.split("Both about: ", 1)[1].split("<", 1)[0]


@pytest.mark.parametrize(("unit", "price_fen", "shown"), [
    ("per_project", 1_000_000, "预算内"),
    ("per_month", 100_000, "按 12 个月估算 ¥12,000，在预算内"),  # 12 × 1000 ≤ 20000
    ("per_year", 1_000_000, "按 12 个月估算 ¥10,000，在预算内"),
    ("per_month", 1_000_000, None),  # 12 × 10000 yuan is over the budget: no claim
    ("per_device", 100_000, None),  # how many devices? no claim
])
def test_within_budget_is_claimed_only_as_the_price_unit_allows(
        app, make_enterprise, make_provider, make_package, make_user, make_need, unit,
        price_fen, shown):
    sme = make_enterprise()
    make_package(make_provider().id, title="注塑机联网监测", price_fen=price_fen,
                 price_unit=unit, description="注塑机联网，实时监测停机与开机率。")
    need = make_need(sme.id, description=NEED_TEXT, budget_max_fen=2_000_000)
    page = _login(app, make_user(enterprise_id=sme.id).id).get(f"/needs/{need}")
    text = page.get_data(as_text=True)
    assert "注塑机联网监测" in text
    if shown is None:
        assert "预算内" not in text
    else:
        assert shown in text
        assert ("按 12 个月估算" in text) == (unit != "per_project")


def test_same_industry_needs_an_industry(app):
    from marketplace.reasons import reason_texts
    from matching import Reason

    with app.test_request_context():
        assert reason_texts([Reason("same_industry", {})]) == []
        assert reason_texts([Reason("same_industry", {"industry": "C29"})])[0]["text"].startswith(
            "同行业")
