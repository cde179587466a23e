"""The list pages' word filters take typed text literally: ``%`` and ``_`` are characters to
find, not LIKE wildcards (needs, packages and typical cases share one helper)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.extensions import db
from marketplace.models import CaseStatus, Order, TypicalCase, User
from marketplace.services import cases, needs, packages
from marketplace.services.textmatch import LIKE_ESCAPE, like_literal
from tests.test_cases import accepted_order

# (what is typed, a title that contains it, a title only the unescaped wildcard would match)
LITERALLY = [
    ("100%达标", "良品率100%达标", "良品率100项指标达标"),
    ("A_B", "产线A_B联网", "产线AxB联网"),
    ("C:\\MES", "对接C:\\MES系统", "对接C:/MES系统"),
]


@pytest.fixture
def admin(make_user):
    return make_user(role="admin")


def _needs(app, make_enterprise, make_need, admin, titles, q):
    enterprise = make_enterprise()
    for title in titles:
        make_need(enterprise.id, title=title)
    with app.app_context():
        query = needs.visible_needs(db.session.get(User, admin.id), needs.NeedFilters(q=q))
        return {need.title for need in db.session.scalars(query)}


def _packages(app, make_provider, make_package, admin, titles, q):
    provider = make_provider()
    for title in titles:
        make_package(provider.id, title=title)
    with app.app_context():
        query = packages.visible_packages(db.session.get(User, admin.id),
                                          packages.PackageFilters(q=q))
        return {package.title for package in db.session.scalars(query)}


def _cases(app, make_enterprise, make_provider, make_need, make_package, titles, q):
    enterprise, provider = make_enterprise(), make_provider()
    package_id = make_package(provider.id, title="注塑机联网看板包")
    for title in titles:
        order_id = accepted_order(app, enterprise.id, provider.id, package_id,
                                  make_need(enterprise.id))
        with app.app_context():
            order = db.session.get(Order, order_id)
            db.session.add(TypicalCase(
                order_id=order.id, package_id=package_id, enterprise_id=enterprise.id,
                provider_id=provider.id, title=title, problem="人工巡检记录停机，原因说不清。",
                solution="边缘网关接入设备控制器，三周部署。", results="非计划停机减少。",
                status=CaseStatus.PUBLISHED, published_at=db.func.now()))
            db.session.commit()
    with app.app_context():
        query = cases.published_cases(cases.CaseFilters(q=q))
        return {case.title for case in db.session.scalars(query)}


@pytest.mark.parametrize(("typed", "contains", "decoy"), LITERALLY,
                         ids=["percent", "underscore", "backslash"])
def test_need_filter_matches_wildcards_literally(app, make_enterprise, make_need, admin,
                                                 typed, contains, decoy):
    assert _needs(app, make_enterprise, make_need, admin, (contains, decoy), typed) \
        == {contains}


@pytest.mark.parametrize(("typed", "contains", "decoy"), LITERALLY,
                         ids=["percent", "underscore", "backslash"])
def test_package_filter_matches_wildcards_literally(app, make_provider, make_package, admin,
                                                    typed, contains, decoy):
    assert _packages(app, make_provider, make_package, admin, (contains, decoy), typed) \
        == {contains}


@pytest.mark.parametrize(("typed", "contains", "decoy"), LITERALLY,
                         ids=["percent", "underscore", "backslash"])
def test_case_filter_matches_wildcards_literally(app, make_enterprise, make_provider, make_need,
                                                 make_package, typed, contains, decoy):
    assert _cases(app, make_enterprise, make_provider, make_need, make_package,
                  (contains, decoy), typed) == {contains}


def test_the_package_list_page_filters_literally(app, client, make_provider, make_package):
    provider = make_provider()
    make_package(provider.id, title="良品率100%达标包")
    make_package(provider.id, title="良品率100项指标达标包")
    page = client.get("/packages/?q=100%25达标").get_data(as_text=True)
    assert "良品率100%达标包" in page and "良品率100项指标达标包" not in page


@given(st.text(alphabet="%_\\ab", max_size=12))
def test_escaped_text_has_no_bare_wildcard(text):
    escaped = like_literal(text)
    # reading the pattern back: every wildcard and escape character is preceded by the escape
    chars, unescaped = iter(escaped), []
    for char in chars:
        if char == LIKE_ESCAPE:
            char = next(chars)
            assert char in "%_\\"
        else:
            assert char not in "%_"
        unescaped.append(char)
    assert "".join(unescaped) == text
