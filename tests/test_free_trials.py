"""A quote of 0 yuan is refused unless the package offers a free trial; a free trial says so on
the quote and the order, and no subsidy program's money is reserved for it."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from marketplace.extensions import db
from marketplace.models import LedgerEntry, Order, Package, Quote, SubsidyClaim, User
from marketplace.services import subsidies
from tests.conftest import AuthActions
from tests.test_api import Api, make_token
from tests.test_subsidies import program_data

FREE_TRIAL = re.compile(r'<span class="badge [^"]*">免费试用</span>')
NO_SUBSIDY = "免费试用不享受补贴"


def _login(app, user):
    client = app.test_client()
    assert AuthActions(client, app).login(user).status_code == 302
    return client


def _quote(price: str = "0") -> dict:
    return {"price_fen": price, "scope": "试用期三十天：接入五台设备，看板开通。",
            "delivery_days": "3", "valid_until": (date.today() + timedelta(days=30)).isoformat()}


@pytest.fixture
def trial(app, make_user, make_need, make_package):
    """An SME's request for a package that offers a free trial, one for a package that does
    not, and a county program that would pay a fixed sum on any order."""
    sme, provider = make_user(), make_user(role="provider")
    with app.app_context():
        enterprise_id = db.session.get(User, sme.id).enterprise_id
        provider_id = db.session.get(User, provider.id).provider_id
    county = make_user(role="gov", region_code="320505")
    with app.app_context():
        program = subsidies.create_program(db.session.get(User, county.id), program_data(
            mode="fixed", rate_bp=0, fixed_fen=3_990_00, per_order_cap_fen=3_990_00))
        subsidies.change_program_status(db.session.get(User, county.id), program, "activate")
        db.session.commit()
    clients = {"sme": _login(app, sme), "provider": _login(app, provider)}
    urls = {}
    for name, free_trial in (("trial", True), ("paid", False)):
        package_id = make_package(provider_id, title=f"设备联网包（{name}）", free_trial=free_trial)
        response = clients["sme"].post("/deals/request", data={
            "need_id": make_need(enterprise_id), "package_id": package_id, "message": ""})
        assert response.status_code == 302
        urls[name] = response.headers["Location"]
    return {**clients, **urls, "sme_user": sme, "provider_user": provider,
            "provider_id": provider_id}


def _counts(app) -> tuple[int, int, int, int]:
    with app.app_context():
        return tuple(db.session.scalar(db.select(db.func.count()).select_from(model))
                     for model in (Quote, Order, SubsidyClaim, LedgerEntry))


def test_a_zero_quote_is_refused_beside_the_price(app, trial):
    before = _counts(app)
    for price in ("0", "0.00", "０"):
        response = trial["provider"].post(trial["paid"] + "/quote", data=_quote(price))
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert re.search(r'name="price_fen"[^>]*>\s*<div class="invalid-feedback[^"]*">\s*'
                         r"报价不能为 0 元", page), price
    assert _counts(app) == before
    # any other price is a quote as before
    assert trial["provider"].post(trial["paid"] + "/quote",
                                  data=_quote("0.01")).status_code == 302


def test_a_zero_quote_is_refused_by_the_api(app, trial):
    api = Api(app.test_client(), make_token(app, trial["provider_user"].id))
    request_id = int(trial["paid"].rsplit("/", 1)[1])
    body = {"price_fen": 0, "scope": "试用期三十天", "delivery_days": 3,
            "valid_until": (date.today() + timedelta(days=30)).isoformat()}
    refused = api.post(f"/deals/requests/{request_id}/quote", body)
    assert refused.status_code == 422 and "price_fen" in refused.json["error"]["fields"]
    trial_id = int(trial["trial"].rsplit("/", 1)[1])
    shown = api.post(f"/deals/requests/{trial_id}/quote", body)
    assert shown.status_code == 200 and shown.json["quote"]["free_trial"] is True


def test_a_free_trial_says_so_and_reserves_no_subsidy(app, trial):
    package_page = trial["sme"].get("/packages/").get_data(as_text=True)
    assert "可试用" in package_page
    assert trial["provider"].post(trial["trial"] + "/quote", data=_quote()).status_code == 302
    page = trial["sme"].get(trial["trial"]).get_data(as_text=True)
    assert FREE_TRIAL.search(page) and NO_SUBSIDY in page and "接受报价并下单" in page
    _quote_count, orders, claims, entries = _counts(app)
    response = trial["sme"].post(trial["trial"] + "/accept",
                                 data={"revision": "1", "subsidy_fen": "0"})
    assert response.status_code == 302
    order_page = trial["sme"].get(response.headers["Location"]).get_data(as_text=True)
    assert FREE_TRIAL.search(order_page) and NO_SUBSIDY in order_page
    assert _counts(app)[1:] == (orders + 1, claims, entries)  # an order, no claim, no entry
    with app.app_context():
        order = db.session.scalar(db.select(Order))
        assert order.free_trial and order.amount_fen == 0
    assert FREE_TRIAL.search(trial["sme"].get("/deals/").get_data(as_text=True))


def test_a_free_order_gets_no_offer_from_any_program(app, trial):
    with app.app_context():
        enterprise = db.session.get(User, trial["sme_user"].id).enterprise
        package = db.session.scalar(db.select(Package).where(Package.free_trial.is_(True)))
        today = date.today()
        assert subsidies.offers_for(enterprise, package, 0, today) == []
        assert subsidies.best_offer(enterprise, package, 1_000_00, today) is not None


def test_a_trial_taken_back_cannot_be_ordered_at_zero(app, trial):
    assert trial["provider"].post(trial["trial"] + "/quote", data=_quote()).status_code == 302
    with app.app_context():
        for package in db.session.scalars(db.select(Package)):
            package.free_trial = False
        db.session.commit()
    page = trial["sme"].get(trial["trial"]).get_data(as_text=True)
    assert not FREE_TRIAL.search(page)
    before = _counts(app)
    response = trial["sme"].post(trial["trial"] + "/accept", data={"revision": "1"})
    assert response.status_code == 409
    assert "不提供免费试用" in response.get_data(as_text=True)
    assert _counts(app) == before


def test_a_paid_quote_for_a_trial_package_is_an_ordinary_order(app, trial):
    assert trial["provider"].post(trial["trial"] + "/quote",
                                  data=_quote("12800")).status_code == 302
    page = trial["sme"].get(trial["trial"]).get_data(as_text=True)
    assert NO_SUBSIDY not in page
    response = trial["sme"].post(trial["trial"] + "/accept",
                                 data={"revision": "1", "subsidy_fen": str(3_990_00)})
    assert response.status_code == 302
    with app.app_context():
        order = db.session.scalar(db.select(Order))
        assert not order.free_trial and order.amount_fen == 1_280_000
        assert db.session.scalar(db.select(SubsidyClaim)).amount_fen == 3_990_00
