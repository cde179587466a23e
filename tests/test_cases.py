"""Typical cases: drafting after an accepted order, agreement by both parties, curation by the
region's officials and admins, the public list and package page, matching evidence, the demo."""

from datetime import date

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from marketplace.extensions import db
from marketplace.models import (
    AuditEntry,
    CaseStatus,
    Change,
    DealRequest,
    Need,
    Order,
    Package,
    TypicalCase,
    User,
)
from marketplace.services import cases
from marketplace.services.errors import ServiceError
from tests.conftest import AuthActions


def _login(app, user):
    client = app.test_client()
    assert AuthActions(client, app).login(user).status_code == 302
    return client


def accepted_order(app, enterprise_id, provider_id, package_id, need_id, status="accepted"):
    with app.app_context():
        request = DealRequest(need_id=need_id, package_id=package_id, enterprise_id=enterprise_id,
                              provider_id=provider_id, status="ordered")
        db.session.add(request)
        db.session.flush()
        order = Order(need_id=need_id, request_id=request.id, package_id=package_id,
                      enterprise_id=enterprise_id, provider_id=provider_id, amount_fen=1_280_000,
                      scope="二十台注塑机联网", delivery_days=20, due_date=date(2026, 6, 1),
                      status=status)
        db.session.add(order)
        db.session.commit()
        return order.id


@pytest.fixture
def deal(app, make_user, make_need, make_package):
    """An accepted order of an SME in 苏州 320505 with a provider, and the people around it."""
    sme = make_user()
    provider = make_user(role="provider")
    with app.app_context():
        enterprise_id = db.session.get(User, sme.id).enterprise_id
        provider_id = db.session.get(User, provider.id).provider_id
    package_id = make_package(provider_id, title="注塑机联网看板包")
    order_id = accepted_order(app, enterprise_id, provider_id, package_id,
                              make_need(enterprise_id))
    return {
        "sme": sme, "provider": provider, "order": order_id, "package": package_id,
        "enterprise": enterprise_id, "provider_id": provider_id,
        "county": make_user(role="gov", region_code="320505"),
        "other_county": make_user(role="gov", region_code="320506"),
        "city": make_user(role="gov", region_code="320500"),
        "admin": make_user(role="admin"), "stranger": make_user(),
        "other_provider": make_user(role="provider"),
    }


FORM = {
    "title": "注塑车间二十台设备联网，开机率一目了然",
    "problem": "二十台注塑机的开机和停机全靠班组长巡检记录，停机原因说不清，交期经常延误。",
    "solution": "采用注塑机联网看板包，边缘网关接入设备控制器，三周完成部署并培训班组长使用。",
    "results": "上线三个月，设备利用率明显提高，非计划停机减少，交期答复更有把握。",
    "metrics-0-name": "设备利用率", "metrics-0-unit": "%", "metrics-0-before": "62",
    "metrics-0-after": "85",
    "metrics-1-name": "非计划停机", "metrics-1-unit": "小时/月", "metrics-1-before": "40",
    "metrics-1-after": "12",
    "quote": "投入不大，见效很快。",
}


def _draft(app, deal, who="sme", **changes):
    client = _login(app, deal[who])
    response = client.post(f"/cases/new/{deal['order']}", data={**FORM, **changes})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client, response.headers["Location"]


def _status(app, case_url):
    with app.app_context():
        return db.session.get(TypicalCase, int(case_url.rsplit("/", 1)[1])).status


def test_both_parties_agree_then_the_region_publishes(app, deal):
    sme, case_url = _draft(app, deal)
    provider = _login(app, deal["provider"])
    page = provider.get(case_url).get_data(as_text=True)
    assert "设备利用率：62 → <strong>85</strong> %" in page and "+37%" in page
    # a draft is the parties' own: curators and strangers do not know it exists
    for who in ("county", "admin", "stranger"):
        assert _login(app, deal[who]).get(case_url).status_code == 404
    assert app.test_client().get(case_url).status_code == 404

    assert sme.post(case_url + "/submit").status_code == 302
    assert _status(app, case_url) == "pending"
    assert sme.post(case_url + "/confirm").status_code == 403  # the other side confirms
    assert "典型案例待您确认" in provider.get("/deals/notifications").get_data(as_text=True)
    response = provider.post(case_url + "/return", data={"reason": ""})
    assert response.status_code == 400 and "请说明原因" in response.get_data(as_text=True)
    assert _status(app, case_url) == "pending"
    assert provider.post(case_url + "/return",
                         data={"reason": "停机小时数请按财务口径核对"}).status_code == 302
    assert _status(app, case_url) == "draft"
    assert "停机小时数请按财务口径核对" in sme.get(case_url).get_data(as_text=True)
    edited = {**FORM, "metrics-1-before": "38"}
    assert sme.post(case_url + "/edit", data=edited).status_code == 302
    sme.post(case_url + "/submit")
    assert provider.post(case_url + "/confirm").status_code == 302
    assert _status(app, case_url) == "submitted"

    county, other_county = _login(app, deal["county"]), _login(app, deal["other_county"])
    assert other_county.get(case_url).status_code == 404
    assert other_county.post(case_url + "/publish").status_code == 404
    assert provider.post(case_url + "/publish").status_code == 403
    assert FORM["title"] in county.get("/cases/review").get_data(as_text=True)
    assert FORM["title"] not in other_county.get("/cases/review").get_data(as_text=True)
    assert county.post(case_url + "/publish").status_code == 302
    assert _status(app, case_url) == "published"
    anonymous = app.test_client()
    assert anonymous.get(case_url).status_code == 200
    assert FORM["title"] in anonymous.get("/cases/").get_data(as_text=True)
    package_page = anonymous.get(f"/packages/{deal['package']}").get_data(as_text=True)
    assert FORM["title"] in package_page and "非计划停机：38 → <strong>12</strong>" in package_page
    assert "典型案例已发布" in sme.get("/deals/notifications").get_data(as_text=True)
    with app.app_context():
        actions = set(db.session.scalars(db.select(AuditEntry.action)))
        assert {"start_case", "submit_case", "return_case", "update_case", "confirm_case",
                "publish_case"} <= actions


def test_curators_feature_and_take_down(app, deal, make_need):
    _, case_url = _draft(app, deal)
    with app.app_context():
        case = db.session.get(TypicalCase, int(case_url.rsplit("/", 1)[1]))
        case.status = CaseStatus.SUBMITTED
        db.session.commit()
        case_id = case.id
    city = _login(app, deal["city"])
    assert city.post(case_url + "/feature").status_code == 409  # not published yet
    city.post(case_url + "/publish")
    assert city.post(case_url + "/feature").status_code == 302
    assert "精选" in app.test_client().get("/cases/").get_data(as_text=True)
    assert _login(app, deal["sme"]).post(case_url + "/feature").status_code == 403
    assert city.post(case_url + "/reject", data={"reason": "数据口径有误"}).status_code == 302
    with app.app_context():
        case = db.session.get(TypicalCase, case_id)
        assert (case.status, case.featured, case.note) == ("rejected", False, "数据口径有误")
    assert app.test_client().get(case_url).status_code == 404
    assert FORM["title"] not in app.test_client().get(
        f"/packages/{deal['package']}").get_data(as_text=True)
    sme = _login(app, deal["sme"])
    assert "数据口径有误" in sme.get(case_url).get_data(as_text=True)
    assert sme.post(case_url + "/revise").status_code == 302
    assert _status(app, case_url) == "draft"


def test_bad_input_shows_beside_the_field_and_writes_nothing(app, deal):
    client = _login(app, deal["sme"])
    url = f"/cases/new/{deal['order']}"
    no_metrics = {k: v for k, v in FORM.items() if not k.startswith("metrics")}
    response = client.post(url, data=no_metrics)
    assert response.status_code == 400
    assert "请至少填写一项改造前后的对比数据。" in response.get_data(as_text=True)
    response = client.post(url, data={**FORM, "metrics-0-before": "很多"})
    assert response.status_code == 400 and "请填写数字" in response.get_data(as_text=True)
    response = client.post(url, data={**FORM, "problem": "太短"})
    assert response.status_code == 400
    assert "需要 20 到 3000 个字。" in response.get_data(as_text=True)
    response = client.post(url, data={**FORM, "metrics-0-after": ""})
    assert response.status_code == 400
    assert "请填写改造前和改造后的数值。" in response.get_data(as_text=True)
    response = client.post(url, data={**FORM, "metrics-0-before": "inf"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(TypicalCase)) == 0


def test_only_an_accepted_order_and_only_once(app, deal, make_need):
    with app.app_context():
        placed = accepted_order(app, deal["enterprise"], deal["provider_id"], deal["package"],
                                make_need(deal["enterprise"], title="另一条需求"),
                                status="delivered")
    sme = _login(app, deal["sme"])
    assert sme.get(f"/cases/new/{placed}").status_code == 409
    assert _login(app, deal["stranger"]).get(f"/cases/new/{deal['order']}").status_code == 404
    assert _login(app, deal["other_provider"]).get(
        f"/cases/new/{deal['order']}").status_code == 404
    assert _login(app, deal["county"]).get(f"/cases/new/{deal['order']}").status_code == 403
    page = sme.get("/cases/mine").get_data(as_text=True)
    assert f"/cases/new/{deal['order']}" in page and f"/cases/new/{placed}" not in page
    _draft(app, deal, who="provider")
    assert sme.get(f"/cases/new/{deal['order']}").status_code == 409
    assert sme.post(f"/cases/new/{deal['order']}", data=FORM).status_code == 409
    assert f"/cases/new/{deal['order']}" not in sme.get("/cases/mine").get_data(as_text=True)


def test_filters_narrow_the_public_list(app, deal, make_user, make_enterprise, make_need,
                                        make_provider, make_package):
    _, first_url = _draft(app, deal)
    # a second published case: 南京 玄武区, industry C39, a quality package
    other = make_enterprise(county="320102", name="南京电子有限公司", industry_code="C39")
    provider = make_provider(name="视觉检测服务商有限公司")
    package = make_package(provider.id, title="视觉质检包", category_code="quality")
    order = accepted_order(app, other.id, provider.id, package,
                           make_need(other.id, category_code="quality"))
    with app.app_context():
        order = db.session.get(Order, order)
        case = cases.start_case(db.session.get(User, make_user(
            enterprise_id=other.id).id), order, cases.CaseData(
            title="视觉检测替代人工目检", problem="人工目检漏检多，客户投诉不断，质检人员招不到。",
            solution="部署两套视觉检测工位，与产线联动自动剔除不良品，两周上线。",
            results="漏检率大幅下降，质检人员从十二人减到五人，客户投诉明显减少。",
            metrics=(cases.MetricData("产品不良率", "%", 3.2, 0.9),)))
        for step in (case, db.session.get(TypicalCase, int(first_url.rsplit("/", 1)[1]))):
            step.status, step.published_at = CaseStatus.PUBLISHED, db.func.now()
        db.session.commit()
    client = app.test_client()

    def titles(query):
        page = client.get("/cases/?" + query).get_data(as_text=True)
        return {t for t in (FORM["title"], "视觉检测替代人工目检") if t in page}

    assert titles("") == {FORM["title"], "视觉检测替代人工目检"}
    assert titles("category_code=quality") == {"视觉检测替代人工目检"}
    assert titles("industry_code=C34") == {FORM["title"]}
    assert titles("region_code=320500") == {FORM["title"]}
    assert titles("region_code=320100") == {"视觉检测替代人工目检"}
    assert titles("q=目检") == {"视觉检测替代人工目检"}
    assert titles("q=开机率") == {FORM["title"]}
    assert client.get("/cases/?region_code=<script>&category_code=x&page=99999").status_code \
        == 200


def test_an_anonymous_case_hides_the_company_name(app, deal):
    client, case_url = _draft(app, deal, anonymous="y")
    with app.app_context():
        case = db.session.get(TypicalCase, int(case_url.rsplit("/", 1)[1]))
        case.status = CaseStatus.PUBLISHED
        name = case.enterprise.name
        db.session.commit()
    page = app.test_client().get(case_url).get_data(as_text=True)
    assert name not in page and "苏州市某通用设备制造业企业" in page


def test_a_published_case_is_evidence_for_the_recommender(app, deal):
    from marketplace.services.matching import package_record

    problem = "注塑机停机原因说不清，模具温度异常没人发现，废品堆积。"
    _, case_url = _draft(app, deal, problem=problem)
    with app.app_context():
        case = db.session.get(TypicalCase, int(case_url.rsplit("/", 1)[1]))
        assert "模具温度异常" not in package_record(db.session.get(Package, deal["package"])).text
        case.status = CaseStatus.SUBMITTED
        db.session.commit()
        since = db.session.scalar(db.select(db.func.max(Change.id))) or 0
        cases.change_case_status(db.session.get(User, deal["county"].id), case, "publish")
        db.session.commit()
        assert "模具温度异常" in package_record(db.session.get(Package, deal["package"])).text
        logged = db.session.scalars(db.select(Change.object_id).where(
            Change.id > since, Change.kind == "package")).all()
        assert deal["package"] in logged  # the recommender and the index catch up


# -- every sequence of steps keeps the agreement rule -------------------------------------------

ACTIONS = sorted(cases.TRANSITIONS)
STEPS = st.one_of(  # mostly plausible steps, so that long agreements happen; any step at all
    st.tuples(st.sampled_from(["sme", "provider"]), st.sampled_from(sorted(cases.PARTY_STEPS))),
    st.tuples(st.just("county"), st.sampled_from(sorted(cases.CURATOR_STEPS))),
    st.tuples(st.sampled_from(["sme", "provider", "county", "stranger"]),
              st.sampled_from(ACTIONS)),
)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(STEPS, max_size=15))
def test_no_sequence_of_steps_skips_the_other_sides_agreement(app, deal, steps):
    with app.app_context():
        order = db.session.get(Order, deal["order"])
        case = cases.case_of_order(order.id) or cases.start_case(
            db.session.get(User, deal["sme"].id), order, cases.CaseData(
                FORM["title"], FORM["problem"], FORM["solution"], FORM["results"],
                metrics=(cases.MetricData("设备利用率", "%", 62, 85),)))
        case.status, case.submitted_by = CaseStatus.DRAFT, ""
        db.session.commit()
        submitter = None
        for who, action in steps:
            actor = db.session.get(User, deal[who].id)
            before = (case.status, case.submitted_by)
            try:
                cases.change_case_status(actor, case, action, reason="理由")
            except ServiceError:
                db.session.rollback()
                case = db.session.get(TypicalCase, case.id)
                assert (case.status, case.submitted_by) == before  # refused: nothing changed
                continue
            side = case.side_of(actor)
            assert (action in cases.CURATOR_STEPS) == (who == "county")
            assert who != "stranger"
            if action == "submit":
                submitter = side
            if case.status == CaseStatus.SUBMITTED:
                assert action == "confirm" and side != submitter
            event(f"reached {case.status}")
            db.session.commit()
        db.session.rollback()


# -- the demo -----------------------------------------------------------------------------------


def test_demo_has_cases_and_diagnoses(app, client):
    from marketplace.demo import build_demo
    from marketplace.services import diagnosis
    from marketplace.services.demo import load_demo

    with app.app_context():
        load_demo(build_demo())
        db.session.commit()
        statuses = sorted(db.session.scalars(db.select(TypicalCase.status)))
        assert statuses == ["pending", "published", "published", "published", "submitted"]
        featured = db.session.scalar(db.select(TypicalCase).where(TypicalCase.featured))
        assert featured.status == "published"
        seller = db.session.scalar(db.select(User).where(User.email == "provider@demo.zgsz.cn"))
        pending = db.session.scalar(db.select(TypicalCase).where(TypicalCase.status == "pending"))
        assert pending.provider_id == seller.provider_id and pending.submitted_by == "sme"
        city = db.session.scalar(db.select(User).where(User.email == "city@demo.zgsz.cn"))
        assert cases.review_queue(city)["waiting"]
        sme = db.session.scalar(db.select(User).where(User.email == "sme@demo.zgsz.cn"))
        own = diagnosis.history(sme.enterprise_id)
        assert len(own) == 2 and own[0].score < own[1].score
        assert diagnosis.level_distribution(city).totals.total > 10
        assert all(o.status == "accepted" for o in db.session.scalars(
            db.select(Order).where(Order.id.in_(db.select(TypicalCase.order_id)))))
        assert db.session.scalar(db.select(Need.status).where(
            Need.id == featured.order.need_id)) == "closed"
        package_id, featured_title = featured.package_id, featured.title
    page = client.get("/cases/").get_data(as_text=True)
    assert page.count('href="/cases/') >= 3 and featured_title in page
    assert featured_title in client.get(f"/packages/{package_id}").get_data(as_text=True)


# -- hostile input ------------------------------------------------------------------------------

HOSTILE = st.one_of(
    st.text(max_size=200), st.sampled_from(["", " ", "NaN", "inf", "-1e309", "1e400", "0x10",
                                            "１２", "\x00", "\u202eabc", "长" * 4000,
                                            "<script>alert(1)</script>", "{{7*7}}"]),
    st.floats().map(str), st.integers(min_value=-(10**30), max_value=10**30).map(str))


def _rows(app) -> list:
    with app.app_context():
        return [repr(row) for row in db.session.execute(db.select(TypicalCase))] + [
            repr(row) for row in db.session.execute(db.text("SELECT * FROM case_metrics"))]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(sorted(FORM) + ["anonymous", "metrics-3-before"]),
                       HOSTILE, max_size=4))
def test_hostile_values_never_break_the_case_form(app, deal, changes):
    client = _login(app, deal["sme"])
    before = _rows(app)
    response = client.post(f"/cases/new/{deal['order']}", data={**FORM, **changes})
    assert response.status_code in (302, 400, 409), response.status_code
    if response.status_code != 302:
        assert _rows(app) == before
    with app.app_context():
        for case in db.session.scalars(db.select(TypicalCase)):
            assert case.title.strip() and len(case.problem.strip()) >= cases.TEXT_MIN
            assert case.metrics and all(abs(m.value_before) <= cases.MAX_VALUE
                                        for m in case.metrics)
            db.session.delete(case)  # start the next example from an order without a case
        db.session.commit()
