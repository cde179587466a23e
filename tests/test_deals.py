"""The deal flow through the pages, every refusal, and one order per need under a race."""

import threading
from datetime import date, timedelta

import pytest

from marketplace.extensions import db
from marketplace.models import (
    DealRequest,
    MatchFeedback,
    Need,
    Notification,
    Order,
    Quote,
    Review,
    User,
)
from marketplace.services import deals
from marketplace.services.errors import IllegalTransition
from tests.conftest import PASSWORD


def _client(app, user_id):
    client = app.test_client()
    with app.app_context():
        email = db.session.get(User, user_id).email
    response = client.post("/auth/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.fixture
def parties(app, make_user, make_enterprise, make_provider, make_package, make_need):
    sme = make_user()
    with app.app_context():
        enterprise_id = db.session.get(User, sme.id).enterprise_id
    provider = make_user(role="provider")
    other_provider = make_user(role="provider")
    with app.app_context():
        provider_id = db.session.get(User, provider.id).provider_id
        other_provider_id = db.session.get(User, other_provider.id).provider_id
    return {
        "sme": _client(app, sme.id), "provider": _client(app, provider.id),
        "other_provider": _client(app, other_provider.id),
        "stranger": _client(app, make_user().id),
        "need": make_need(enterprise_id, visibility="private"),
        "package": make_package(provider_id),
        "other_package": make_package(other_provider_id, title="另一家的联网包"),
    }


def _quote(valid_until=None, price="12800"):
    return {"price_fen": price, "scope": "二十台注塑机联网，含网关与看板。", "delivery_days": "20",
            "valid_until": (valid_until or date.today() + timedelta(days=30)).isoformat()}


def _request(parties, package="package"):
    response = parties["sme"].post("/deals/request", data={
        "need_id": parties["need"], "package_id": parties[package], "message": "请尽快联系"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def test_whole_flow(app, parties):
    # the provider cannot see the private need before it is requested
    assert parties["provider"].get(f"/needs/{parties['need']}").status_code == 404
    request_url = _request(parties)
    assert parties["provider"].get(f"/needs/{parties['need']}").status_code == 200
    assert "收到对接申请" in parties["provider"].get("/deals/notifications").get_data(as_text=True)
    assert parties["provider"].post(request_url + "/quote", data=_quote()).status_code == 302
    page = parties["sme"].get(request_url).get_data(as_text=True)
    assert "¥12,800" in page and "接受报价并下单" in page
    response = parties["sme"].post(request_url + "/accept", data={"revision": 1})
    assert response.status_code == 302
    order_url = response.headers["Location"]
    with app.app_context():
        assert db.session.get(Need, parties["need"]).status == "in_progress"
    assert parties["provider"].post(order_url + "/deliver").status_code == 302
    assert parties["sme"].post(order_url + "/accept_delivery").status_code == 302
    assert parties["sme"].post(order_url + "/review",
                               data={"rating": "5", "text": "很专业"}).status_code == 302
    assert parties["provider"].post(order_url + "/reply", data={"text": "谢谢"}).status_code == 302
    assert parties["provider"].post(order_url + "/reply", data={"text": "再谢"}).status_code == 409
    with app.app_context():
        order = db.session.scalar(db.select(Order))
        assert order.status == "accepted" and order.amount_fen == 1_280_000
        assert order.need.status == "closed" and order.review.reply == "谢谢"
        kinds = {f.kind for f in db.session.scalars(db.select(MatchFeedback))}
        assert kinds == {"request", "order", "accepted"}
    provider_page = parties["stranger"].get(f"/profile/provider/{order.provider_id}")
    text = provider_page.get_data(as_text=True)
    assert "5.0" in text and "很专业" in text and "100%" in text


def test_accepting_closes_the_other_requests(app, parties):
    first = _request(parties)
    second = _request(parties, "other_package")
    parties["provider"].post(first + "/quote", data=_quote())
    parties["other_provider"].post(second + "/quote", data=_quote(price="9000"))
    parties["sme"].post(first + "/accept", data={"revision": 1})
    with app.app_context():
        statuses = {r.package_id: r.status for r in db.session.scalars(db.select(DealRequest))}
        assert statuses == {parties["package"]: "ordered", parties["other_package"]: "closed"}
    assert "申请关闭" in parties["other_provider"].get("/deals/notifications").get_data(
        as_text=True)
    # the closed request can no longer be accepted or quoted; nothing changes
    assert parties["sme"].post(second + "/accept", data={"revision": 1}).status_code == 409
    assert parties["other_provider"].post(second + "/quote", data=_quote()).status_code == 409
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Order)) == 1


def test_refusals_write_nothing(app, parties):
    url = _request(parties)
    # accept before any quote; deliver an order that does not exist
    assert parties["sme"].post(url + "/accept", data={"revision": 1}).status_code == 409
    assert parties["provider"].post("/deals/orders/999/deliver").status_code == 404
    # strangers and the wrong side
    assert parties["stranger"].get(url).status_code == 404
    assert parties["other_provider"].post(url + "/quote", data=_quote()).status_code == 404
    assert parties["sme"].post(url + "/quote", data=_quote()).status_code == 403
    # bad quotes
    for bad in (_quote(price="-1"), _quote(valid_until=date.today() - timedelta(days=1)),
                {**_quote(), "scope": ""}, {**_quote(), "delivery_days": "0"}):
        assert parties["provider"].post(url + "/quote", data=bad).status_code == 400
    # the same package twice for one need
    again = parties["sme"].post("/deals/request", data={
        "need_id": parties["need"], "package_id": parties["package"]})
    assert again.status_code == 409
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Quote)) == 0
        assert db.session.scalar(db.select(db.func.count()).select_from(DealRequest)) == 1


def test_revised_quote_must_be_seen_before_accepting(app, parties):
    url = _request(parties)
    parties["provider"].post(url + "/quote", data=_quote())
    parties["provider"].post(url + "/quote", data=_quote(price="15000"))
    assert parties["sme"].post(url + "/accept", data={"revision": 1}).status_code == 409
    assert parties["sme"].post(url + "/accept", data={"revision": 2}).status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(Order.amount_fen)) == 1_500_000


def test_expired_quote_cannot_be_accepted(app, parties):
    url = _request(parties)
    parties["provider"].post(url + "/quote", data=_quote())
    with app.app_context():
        db.session.scalar(db.select(Quote)).valid_until = date.today() - timedelta(days=1)
        db.session.commit()
    assert parties["sme"].post(url + "/accept", data={"revision": 1}).status_code == 409


def test_dispute_goes_back_to_the_provider_and_officials_see_it(app, parties, make_user):
    url = _request(parties)
    parties["provider"].post(url + "/quote", data=_quote())
    order_url = parties["sme"].post(url + "/accept", data={"revision": 1}).headers["Location"]
    assert parties["sme"].post(order_url + "/dispute", data={"reason": "x"}).status_code == 409
    parties["provider"].post(order_url + "/deliver")
    assert parties["sme"].post(order_url + "/dispute", data={"reason": ""}).status_code == 400
    assert parties["sme"].post(order_url + "/dispute",
                               data={"reason": "看板数据不准"}).status_code == 302
    official = _client(app, make_user(role="gov", region_code="320500").id)
    assert "看板数据不准" in official.get(order_url).get_data(as_text=True)
    assert "有异议" in official.get("/deals/").get_data(as_text=True)
    elsewhere = _client(app, make_user(role="gov", region_code="320100").id)
    assert elsewhere.get(order_url).status_code == 404
    assert parties["provider"].post(order_url + "/deliver").status_code == 302  # redelivered


def test_review_rules(app, parties):
    url = _request(parties)
    parties["provider"].post(url + "/quote", data=_quote())
    order_url = parties["sme"].post(url + "/accept", data={"revision": 1}).headers["Location"]
    assert parties["sme"].post(order_url + "/review", data={"rating": "5"}).status_code == 409
    parties["provider"].post(order_url + "/deliver")
    parties["sme"].post(order_url + "/accept_delivery")
    assert parties["sme"].post(order_url + "/review", data={"rating": "9"}).status_code == 400
    assert parties["sme"].post(order_url + "/review", data={"rating": "4"}).status_code == 302
    assert parties["sme"].post(order_url + "/review", data={"rating": "1"}).status_code == 409
    with app.app_context():
        assert [r.rating for r in db.session.scalars(db.select(Review))] == [4]


def test_dismissed_package_is_not_recommended_again(app, parties):
    need_url = f"/needs/{parties['need']}"
    assert "设备联网快速上云包" in parties["sme"].get(need_url).get_data(as_text=True)
    parties["sme"].post("/deals/dismiss", data={"need_id": parties["need"],
                                                "package_id": parties["package"]})
    page = parties["sme"].get(need_url).get_data(as_text=True)
    assert "设备联网快速上云包" not in page.split("为这条需求推荐的方案包")[1]


def test_unread_count_in_the_navigation(app, parties):
    _request(parties)
    assert 'text-bg-danger">1<' in parties["provider"].get("/dashboard").get_data(as_text=True)
    assert parties["provider"].post("/deals/notifications/read").status_code == 302
    assert 'text-bg-danger">1<' not in parties["provider"].get("/dashboard").get_data(
        as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Notification)) == 1


def test_reading_notifications_marks_nothing_read(app, parties):
    """A GET writes nothing (a link on another site can make the browser send one): the list
    offers a POST button instead."""
    _request(parties)
    page = parties["provider"].get("/deals/notifications").get_data(as_text=True)
    assert "收到对接申请" in page and 'action="/deals/notifications/read"' in page
    with app.app_context():
        assert db.session.scalar(db.select(Notification.read_at)) is None
    assert 'text-bg-danger">1<' in parties["provider"].get("/dashboard").get_data(as_text=True)
    parties["provider"].post("/deals/notifications/read")
    page = parties["provider"].get("/deals/notifications").get_data(as_text=True)
    assert 'action="/deals/notifications/read"' not in page  # nothing left to mark
    with app.app_context():
        assert db.session.scalar(db.select(Notification.read_at)) is not None


def test_marking_read_needs_the_csrf_token(app, make_user):
    import re

    from marketplace import create_app
    from tests.conftest import test_config

    csrf_app = create_app({**test_config(app.config["SQLALCHEMY_DATABASE_URI"]),
                           "WTF_CSRF_ENABLED": True})
    user = make_user()
    client = csrf_app.test_client()
    with csrf_app.app_context():
        db.session.add(Notification(user_id=user.id, kind="request_received", subject="需求"))
        db.session.commit()
        with client.session_transaction() as session:
            session["_user_id"] = db.session.get(User, user.id).get_id()
            session["_fresh"] = True
        assert client.post("/deals/notifications/read").status_code == 400
        assert db.session.scalar(db.select(Notification.read_at)) is None
        page = client.get("/deals/notifications").get_data(as_text=True)
        form = page.split('action="/deals/notifications/read"')[1]
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)[1]
        response = client.post("/deals/notifications/read", data={"csrf_token": token})
        assert response.status_code == 302
        assert db.session.scalar(db.select(Notification.read_at)) is not None
        db.session.remove()
        db.engine.dispose()


def test_two_quick_accepts_make_one_order(app, parties, database_url):
    """Two requests for one need accepted at the same moment: the database keeps one order."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a real race needs PostgreSQL (SQLite serialises writers anyway)")
    first, second = _request(parties), _request(parties, "other_package")
    parties["provider"].post(first + "/quote", data=_quote())
    parties["other_provider"].post(second + "/quote", data=_quote())
    with app.app_context():
        request_ids = [r.id for r in db.session.scalars(db.select(DealRequest))]
        actor_id = db.session.scalar(db.select(DealRequest.requester_id))
    barrier, outcomes = threading.Barrier(len(request_ids)), []

    def accept(request_id):
        with app.app_context():
            actor = db.session.get(User, actor_id)
            request = db.session.get(DealRequest, request_id)
            barrier.wait()
            try:
                deals.accept_quote(actor, request, 1)
                db.session.commit()
                outcomes.append("ok")
            except IllegalTransition:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=accept, args=(i,)) for i in request_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "refused"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Order)) == 1


def test_decline_and_withdraw(app, parties):
    url = _request(parties)
    assert parties["provider"].post(url + "/decline", data={"reason": ""}).status_code == 400
    assert parties["provider"].post(url + "/decline",
                                    data={"reason": "不做这个行业"}).status_code == 302
    assert "不做这个行业" in parties["sme"].get(url).get_data(as_text=True)
    assert parties["sme"].post(url + "/withdraw").status_code == 409  # already declined
    assert parties["provider"].post(url + "/quote", data=_quote()).status_code == 409
    other = _request(parties, "other_package")
    assert parties["sme"].post(other + "/withdraw").status_code == 302
    assert parties["other_provider"].post(other + "/quote", data=_quote()).status_code == 409
    with app.app_context():
        statuses = sorted(r.status for r in db.session.scalars(db.select(DealRequest)))
        assert statuses == ["declined", "withdrawn"]
        assert db.session.scalar(db.select(db.func.count()).select_from(Quote)) == 0


def test_quoting_a_closed_need_is_refused(app, parties):
    url = _request(parties)
    parties["sme"].post(f"/needs/{parties['need']}/close")
    assert parties["provider"].post(url + "/quote", data=_quote()).status_code == 409
    # a closed need is not among the needs one may request for: refused, nothing written
    parties["sme"].post("/deals/request", data={
        "need_id": parties["need"], "package_id": parties["other_package"]})
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(DealRequest)) == 1


def test_a_key_used_to_accept_one_request_is_refused_for_another(app, parties, make_need):
    """The accept form's key, sent again to accept another request, used to land on the first
    order with "已下单" and leave the second request unordered: now it says why."""
    with app.app_context():
        other_need = make_need(db.session.get(Need, parties["need"]).enterprise_id)
    first = _request(parties)
    second = parties["sme"].post("/deals/request", data={
        "need_id": other_need, "package_id": parties["package"]}).headers["Location"]
    for url in (first, second):
        assert parties["provider"].post(url + "/quote", data=_quote()).status_code == 302
    key = {"revision": 1, "idempotency_key": "accept-key-0001"}
    order_url = parties["sme"].post(first + "/accept", data=key).headers["Location"]
    refused = parties["sme"].post(second + "/accept", data=key)
    assert refused.status_code == 400
    assert "这个提交编号已用于另一个对象" in refused.get_data(as_text=True)
    assert parties["sme"].post(first + "/accept", data=key).headers["Location"] == order_url
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Order)) == 1
    assert parties["sme"].post(second + "/accept", data={
        **key, "idempotency_key": "accept-key-0002"}).status_code == 302
