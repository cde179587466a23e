"""Random, oversize, wrong-type and control-character values never cause a 500 or a partial
record (property-based, hypothesis)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.extensions import db
from marketplace.models import Enterprise, Need, Package, User
from tests.conftest import PASSWORD

WEIRD_TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=0, max_size=50),
    st.sampled_from(["", " ", "-1", "NaN", "1e309", "12.345", "0x10", "<b>x</b>", "' OR 1=1 --",
                     "\x00", "\u202e", "长" * 6000, "1" * 40, "2027-02-30", "C99"]),
)
FUZZ = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model))


def _login(app, user):
    client = app.test_client()
    with app.app_context():
        email = db.session.get(User, user.id).email
    client.post("/auth/login", data={"email": email, "password": PASSWORD})
    return client


@pytest.fixture
def sme_client(app, make_user):
    return _login(app, make_user())


@pytest.fixture
def provider_client(app, make_user):
    return _login(app, make_user(role="provider"))


NEED_FIELDS = ["title", "description", "category_code", "scenario_level_code",
               "budget_min_fen", "budget_max_fen", "desired_start", "visibility"]
PACKAGE_FIELDS = ["title", "summary", "description", "category_code", "scenario_level_codes",
                  "industry_codes", "deployment", "price_fen", "price_unit", "delivery_days",
                  "free_trial", "cases-0-title", "cases-0-content"]
ENTERPRISE_FIELDS = ["name", "credit_code", "employees", "revenue_wan", "county_code",
                     "industry_code", "cluster_code", "chain_leader_id"]


@FUZZ
@given(values=st.fixed_dictionaries({}, optional={f: WEIRD_TEXT for f in NEED_FIELDS}))
def test_need_form(app, sme_client, values):
    before = _count(app, Need)
    response = sme_client.post("/needs/new", data=values)
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert _count(app, Need) == before


@FUZZ
@given(values=st.fixed_dictionaries({}, optional={f: WEIRD_TEXT for f in PACKAGE_FIELDS}))
def test_package_form(app, provider_client, values):
    before = _count(app, Package)
    response = provider_client.post("/packages/new", data=values)
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert _count(app, Package) == before


@FUZZ
@given(values=st.fixed_dictionaries({}, optional={f: WEIRD_TEXT for f in ENTERPRISE_FIELDS}))
def test_enterprise_form(app, make_user, values):
    client = _login(app, make_user(company=False))
    before = _count(app, Enterprise)
    response = client.post("/profile/edit", data=values)
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert _count(app, Enterprise) == before


@FUZZ
@given(query=st.dictionaries(st.sampled_from(["q", "category", "region", "sort", "page",
                                              "price_band", "kind", "subsidy", "industry"]),
                             WEIRD_TEXT, max_size=5))
def test_search_page(app, query):
    assert app.test_client().get("/search/", query_string=query).status_code == 200
