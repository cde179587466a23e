"""The JSON API v1: tokens, CSRF for cookie callers, every resource and who may use it,
idempotent ordering, cursor pagination, error objects, and hostile bodies (hypothesis).

The schema-level fuzzing against the OpenAPI document is in ``tests/test_api_schema.py``.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from marketplace import create_app
from marketplace.bench.serve import redis_reachable
from marketplace.extensions import db
from marketplace.models import (
    ApiToken,
    AuditEntry,
    DealRequest,
    LedgerEntry,
    Need,
    Order,
    Package,
    Region,
    ScenarioLevel,
    SubsidyClaim,
    SubsidyProgram,
    User,
)
from marketplace.services import search as search_service
from marketplace.services import tokens
from tests.conftest import PASSWORD, AuthActions
from tests.conftest import test_config as config_for
from tests.test_fuzz_forms import CONTROL, MIXED_SCRIPT, ODD, assert_whole_records, snapshot

DESCRIPTION = "车间二十台注塑机想联网，实时看到开机率和停机原因，并按班组统计。"
REDIS_URL = "redis://127.0.0.1:6379"
NEED = {"title": "注塑机联网", "description": DESCRIPTION, "category_code": "device_monitoring",
        "scenario_level_code": "workshop", "budget_min_fen": 1_000_000,
        "budget_max_fen": 5_000_000, "desired_start": "2027-03-01", "visibility": "public"}


class Api:
    """A test client speaking to /api/v1, with a bearer token or none."""

    def __init__(self, client, secret: str | None = None):
        self.client, self.secret = client, secret

    def _headers(self, headers: dict | None) -> dict:
        headers = dict(headers or {})
        if self.secret:
            headers.setdefault("Authorization", f"Bearer {self.secret}")
        return headers

    def get(self, path: str, **kwargs):
        return self.client.get("/api/v1" + path, headers=self._headers(kwargs.pop("headers", None)),
                               **kwargs)

    def post(self, path: str, json=None, **kwargs):
        return self.client.post("/api/v1" + path, json=json,
                                headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def patch(self, path: str, json=None, **kwargs):
        return self.client.patch("/api/v1" + path, json=json,
                                 headers=self._headers(kwargs.pop("headers", None)), **kwargs)


def make_token(app, user_id: int, name: str = "测试") -> str:
    with app.app_context():
        _token, secret = tokens.create_token(db.session.get(User, user_id), name)
        db.session.commit()
        return secret


@pytest.fixture
def world(app, make_user, make_provider, make_need, make_package):
    users = {
        "sme": make_user(), "sme_other": make_user(),
        "provider": make_user(role="provider"), "provider_other": make_user(role="provider"),
        "gov_county": make_user(role="gov", region_code="320505"),
        "gov_other_county": make_user(role="gov", region_code="320506"),
        "gov_city": make_user(role="gov", region_code="320500"),
        "admin": make_user(role="admin"),
    }
    with app.app_context():
        enterprise = db.session.get(User, users["sme"].id).enterprise_id
        other_enterprise = db.session.get(User, users["sme_other"].id).enterprise_id
        provider = db.session.get(User, users["provider"].id).provider_id
        other_provider = db.session.get(User, users["provider_other"].id).provider_id
    ids = {
        "enterprise": enterprise, "provider": provider, "other_provider": other_provider,
        "public_need": make_need(enterprise),
        "private_need": make_need(enterprise, title="保密的联网需求", visibility="private"),
        "other_private_need": make_need(other_enterprise, title="别家的保密需求",
                                        visibility="private"),
        "published": make_package(provider),
        "draft": make_package(provider, title="草稿方案包", status="draft"),
        "other_package": make_package(other_provider, title="另一家的联网包"),
        "unverified_package": make_package(
            make_provider(name="未认证服务商", verified=False).id, title="未认证的方案包"),
    }
    with app.app_context():  # as the package form makes them: with a scenario level
        workshop = db.session.get(ScenarioLevel, "workshop")
        made = [db.session.get(Package, ids[name])
                for name in ("published", "draft", "other_package", "unverified_package")]
        for package in made:
            package.scenario_levels.append(workshop)
        db.session.commit()
    apis = {role: Api(app.test_client(), make_token(app, user.id))
            for role, user in users.items()}
    apis["anon"] = Api(app.test_client())
    return users, ids, apis


# -- tokens -------------------------------------------------------------------------------------


def test_profile_page_makes_a_token_shown_once_and_stored_hashed(app, make_user):
    user = make_user()
    client = app.test_client()
    AuthActions(client, app).login(user)
    page = client.post("/profile/tokens", data={"name": "ERP 对接"})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    secret = text.split('id="new-token">')[1].split("<")[0]
    assert secret.startswith("zgsz_") and len(secret) > 40
    with app.app_context():
        stored = db.session.scalar(select(ApiToken))
        assert stored.name == "ERP 对接" and stored.prefix == secret[:12]
        assert stored.token_hash == tokens.hash_token(secret) and secret not in repr(
            [stored.token_hash, stored.prefix, stored.name])
    again = client.get("/profile/tokens").get_data(as_text=True)
    assert secret not in again and secret[:12] in again  # listed by its prefix only
    me = Api(app.test_client(), secret).get("/me")
    assert me.status_code == 200 and me.json["auth"] == "token" and me.json["id"] == user.id
    assert "csrf_token" not in me.json


def test_the_token_page_makes_read_tokens_for_90_days_unless_asked(app, make_user):
    client = app.test_client()
    AuthActions(client, app).login(make_user())
    page = client.get("/profile/tokens").get_data(as_text=True)
    assert re.search(r'<input(?=[^>]*\bchecked)(?=[^>]*value="read")', page)
    assert re.search(r'<option(?=[^>]*\bselected)(?=[^>]*value="90")', page)
    client.post("/profile/tokens", data={"name": "看板"})
    client.post("/profile/tokens", data={"name": "ERP", "scope": "write", "lifetime": ""})
    with app.app_context():
        made = {t.name: t for t in db.session.scalars(select(ApiToken))}
        assert made["看板"].scope == "read" and made["ERP"].scope == "write"
        days = (made["看板"].expires_at - made["看板"].created_at).days
        assert days in (89, 90) and made["ERP"].expires_at is None
    listed = client.get("/profile/tokens").get_data(as_text=True)
    assert "只读" in listed and "读写" in listed and "永不过期" in listed


@pytest.mark.parametrize("changes", [{"scope": "admin"}, {"lifetime": "7"},
                                     {"lifetime": "abc"}, {"lifetime": "9" * 40}])
def test_token_scopes_and_lifetimes_are_chosen_from_the_list(app, make_user, changes):
    client = app.test_client()
    AuthActions(client, app).login(make_user())
    page = client.post("/profile/tokens", data={"name": "ERP", **changes})
    assert page.status_code == 200 and 'id="new-token"' not in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_a_read_token_reads_and_its_writes_are_refused(app, make_user):
    user = make_user()
    with app.app_context():
        _token, secret = tokens.create_token(db.session.get(User, user.id), "看板", "read")
        db.session.commit()
    api = Api(app.test_client(), secret)
    assert api.get("/me").status_code == 200 and api.get("/needs").status_code == 200
    refused = api.post("/needs", NEED)
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Need)) == 0
    writer = Api(app.test_client(), make_token(app, user.id, "ERP"))
    assert writer.post("/needs", NEED).status_code == 201


def test_an_expired_token_is_refused_with_an_error_object(app, make_user):
    user = make_user()
    with app.app_context():
        token, secret = tokens.create_token(db.session.get(User, user.id), "ERP", "write", 30)
        db.session.commit()
        token_id = token.id
    api = Api(app.test_client(), secret)
    assert api.get("/me").status_code == 200
    with app.app_context():
        db.session.get(ApiToken, token_id).expires_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    refused = api.get("/me")
    assert refused.status_code == 401 and refused.json["error"]["code"] == "token_expired"
    assert "已过期" in refused.json["error"]["message"]
    assert "invalid_token" in refused.headers["WWW-Authenticate"]
    client = app.test_client()
    AuthActions(client, app).login(user)
    assert "已过期" in client.get("/profile/tokens").get_data(as_text=True)


def test_revoked_token_stops_working_at_once(app, make_user):
    user = make_user()
    client = app.test_client()
    AuthActions(client, app).login(user)
    secret = make_token(app, user.id)
    api = Api(app.test_client(), secret)
    assert api.get("/me").status_code == 200
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    assert client.post(f"/profile/tokens/{token_id}/revoke").status_code == 302
    refused = api.get("/me")
    assert refused.status_code == 401 and refused.json["error"]["code"] == "unauthorized"
    assert "invalid_token" in refused.headers["WWW-Authenticate"]
    assert "已撤销" in client.get("/profile/tokens").get_data(as_text=True)


def test_logout_keeps_tokens_and_a_disabled_users_token_stops(app, make_user):
    user = make_user()
    secret = make_token(app, user.id)
    api = Api(app.test_client(), secret)
    auth = AuthActions(app.test_client(), app)
    auth.login(user)
    auth.logout()
    assert api.get("/me").status_code == 200
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()
    assert api.get("/me").status_code == 401


@pytest.mark.parametrize("keep", [False, True])
def test_a_password_change_revokes_tokens_unless_the_user_keeps_them(app, make_user, keep):
    user = make_user()
    secret = make_token(app, user.id)
    client = app.test_client()
    AuthActions(client, app).login(user)
    change = {"current_password": PASSWORD, "new_password": "a-new-secret-77",
              "confirm": "a-new-secret-77", **({"keep_tokens": "y"} if keep else {})}
    assert client.post("/auth/password", data=change).status_code == 302
    me = Api(app.test_client(), secret).get("/me")
    assert me.status_code == (200 if keep else 401)
    with app.app_context():
        assert (db.session.scalar(select(ApiToken.revoked_at)) is None) is keep


def test_another_users_token_cannot_be_revoked_or_seen(app, make_user):
    owner, other = make_user(), make_user()
    make_token(app, owner.id, "主人的令牌")
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    client = app.test_client()
    AuthActions(client, app).login(other)
    assert client.post(f"/profile/tokens/{token_id}/revoke").status_code == 404
    assert "主人的令牌" not in client.get("/profile/tokens").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is None


@pytest.mark.parametrize("name", ["", "   ", "a" * 65, "坏\x00名字", "\u202e反转"])
def test_bad_token_names_are_refused_and_nothing_written(app, make_user, name):
    user = make_user()
    client = app.test_client()
    AuthActions(client, app).login(user)
    page = client.post("/profile/tokens", data={"name": name})
    assert page.status_code == 200 and 'id="new-token"' not in page.get_data(as_text=True)
    assert "invalid-feedback" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_at_most_twenty_live_tokens(app, make_user):
    user = make_user()
    for n in range(tokens.MAX_ACTIVE_TOKENS):
        make_token(app, user.id, f"令牌{n}")
    client = app.test_client()
    AuthActions(client, app).login(user)
    page = client.post("/profile/tokens", data={"name": "再来一个"}).get_data(as_text=True)
    assert "最多同时保留" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 20


@pytest.mark.parametrize("header", ["Bearer zgsz_not-a-real-token", "Bearer ", "Basic dXNlcjpw",
                                    "zgsz_abc", "Bearer " + "x" * 500])
def test_bad_authorization_headers_are_401_even_with_a_login_cookie(app, make_user, header):
    user = make_user()
    client = app.test_client()
    AuthActions(client, app).login(user)
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"


def test_token_use_is_recorded(app, make_user):
    user = make_user()
    secret = make_token(app, user.id)
    Api(app.test_client(), secret).get("/me")
    with app.app_context():
        assert db.session.scalar(select(ApiToken.last_used_at)) is not None


# -- CSRF ---------------------------------------------------------------------------------------


@pytest.fixture
def csrf_app(app):
    """The app with CSRF protection on, as in production (the suite's app switches it off)."""
    made = create_app({**config_for(app.config["SQLALCHEMY_DATABASE_URI"]),
                       "WTF_CSRF_ENABLED": True, "SEARCH_INDEX_DIR": app.config["SEARCH_INDEX_DIR"],
                       "MATCHING_DIR": app.config["MATCHING_DIR"]})
    yield made
    with made.app_context():
        db.session.remove()
        db.engine.dispose()


def _cookie_client(app, user_id: int):
    client = app.test_client()
    with app.app_context():
        user = db.session.get(User, user_id)
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
    return client


def test_cookie_writes_need_the_csrf_header_and_tokens_do_not(csrf_app, make_user):
    user = make_user()
    client = _cookie_client(csrf_app, user.id)
    me = client.get("/api/v1/me")
    assert me.status_code == 200 and me.json["auth"] == "session"
    refused = client.post("/api/v1/needs", json=NEED)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "csrf_failed"
    wrong = client.post("/api/v1/needs", json=NEED, headers={"X-CSRFToken": "forged"})
    assert wrong.status_code == 403
    with csrf_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Need)) == 0
    made = client.post("/api/v1/needs", json=NEED,
                       headers={"X-CSRFToken": me.json["csrf_token"]})
    assert made.status_code == 201
    by_token = Api(csrf_app.test_client(), make_token(csrf_app, user.id)).post("/needs", NEED)
    assert by_token.status_code == 201
    assert client.get("/api/v1/needs?mine=true").status_code == 200  # reads need no header


def test_the_rest_of_the_site_keeps_its_csrf_check(csrf_app, make_user):
    client = _cookie_client(csrf_app, make_user().id)
    assert client.post("/needs/new", data={"title": "x"}).status_code == 400


# -- packages -----------------------------------------------------------------------------------


def test_packages_list_only_public_ones_to_everybody(world):
    _users, ids, apis = world
    for role in ("anon", "sme", "provider_other", "gov_city"):
        listed = {p["id"] for p in apis[role].get("/packages").json["items"]}
        assert listed == {ids["published"], ids["other_package"]}, role
    own = apis["provider"].get(f"/packages?provider_id={ids['provider']}&status=draft")
    assert [p["id"] for p in own.json["items"]] == [ids["draft"]]
    snooping = apis["provider_other"].get(f"/packages?provider_id={ids['provider']}&status=draft")
    assert [p["id"] for p in snooping.json["items"]] == [ids["published"]]


def test_package_detail_follows_the_pages(world):
    _users, ids, apis = world
    assert apis["anon"].get(f"/packages/{ids['published']}").json["title"] == "设备联网快速上云包"
    for role, status in (("anon", 404), ("sme", 404), ("provider_other", 404), ("provider", 200),
                         ("admin", 200)):
        assert apis[role].get(f"/packages/{ids['draft']}").status_code == status, role
    assert apis["sme"].get(f"/packages/{ids['unverified_package']}").status_code == 404
    assert apis["sme"].get("/packages/99999999999").status_code == 404


def test_package_filters(world, make_package):
    _users, ids, apis = world
    cheap = make_package(ids["other_provider"], title="便宜的能耗包", category_code="energy",
                         price_fen=100_000, free_trial=True)
    found = apis["anon"].get("/packages?category_code=energy&max_price_fen=200000&free_trial=true")
    assert [p["id"] for p in found.json["items"]] == [cheap]
    assert apis["anon"].get("/packages?q=能耗").json["items"][0]["id"] == cheap
    bad = apis["anon"].get("/packages?max_price_fen=ten&free_trial=yes&deployment=cloud")
    assert bad.status_code == 400
    assert set(bad.json["error"]["fields"]) == {"max_price_fen", "free_trial", "deployment"}


def test_cursor_pagination_walks_every_item_once_in_id_order(world, make_package):
    _users, ids, apis = world
    made = [make_package(ids["provider"], title=f"方案包{n}") for n in range(7)]
    expected = sorted([*made, ids["published"], ids["other_package"]], reverse=True)
    seen, cursor, pages = [], None, 0
    while True:
        response = apis["anon"].get("/packages?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200
        seen += [p["id"] for p in response.json["items"]]
        pages += 1
        cursor = response.json["next_cursor"]
        if cursor is None:
            break
    assert seen == expected and pages == 5
    for bad in ("abc", "djE6LTE", "v1:5"):
        response = apis["anon"].get(f"/packages?cursor={bad}")
        assert response.status_code == 400 and "cursor" in response.json["error"]["fields"]
    # a NUL in the query is refused for every route before any view reads it
    response = apis["anon"].get("/packages?cursor=%00")
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_request"
    assert apis["anon"].get("/packages?limit=0").status_code == 400
    assert apis["anon"].get("/packages?limit=101").status_code == 400


# -- needs --------------------------------------------------------------------------------------


def _need_ids(api, query: str = "") -> set[int]:
    response = api.get("/needs" + query)
    assert response.status_code == 200
    return {n["id"] for n in response.json["items"]}


def test_needs_list_follows_who_may_see_what(world):
    _users, ids, apis = world
    public, private, other = ids["public_need"], ids["private_need"], ids["other_private_need"]
    assert _need_ids(apis["sme"]) == {public, private}
    assert _need_ids(apis["sme_other"]) == {public, other}
    assert _need_ids(apis["provider"]) == {public}
    assert _need_ids(apis["gov_county"]) == {public, private, other}  # both in 320505
    assert _need_ids(apis["gov_other_county"]) == {public}
    assert _need_ids(apis["gov_city"]) == {public, private, other}
    assert _need_ids(apis["admin"]) == {public, private, other}
    assert apis["anon"].get("/needs").status_code == 401
    assert _need_ids(apis["sme"], "?mine=true&status=open") == {public, private}


def test_need_detail_is_404_for_private_needs_of_others(world):
    _users, ids, apis = world
    path = f"/needs/{ids['private_need']}"
    for role, status in (("sme", 200), ("sme_other", 404), ("provider", 404),
                         ("gov_county", 200), ("gov_other_county", 404), ("gov_city", 200),
                         ("admin", 200), ("anon", 401)):
        assert apis[role].get(path).status_code == status, role
    body = apis["sme"].get(path).json
    assert body["editable"] is True and body["enterprise"]["county"]["code"] == "320505"
    assert apis["gov_city"].get(path).json["editable"] is False


def test_an_officials_read_of_a_private_need_is_audited(app, world):
    _users, ids, apis = world
    apis["gov_city"].get(f"/needs/{ids['private_need']}")
    with app.app_context():
        assert db.session.scalar(select(AuditEntry.action).where(
            AuditEntry.object_type == "need", AuditEntry.object_id == ids["private_need"])
        ) == "view_need"


def test_post_a_need_ignores_fields_it_does_not_declare(app, world):
    users, ids, apis = world
    response = apis["sme"].post("/needs", {**NEED, "status": "closed", "enterprise_id": 1,
                                           "author_id": users["admin"].id, "id": 5})
    assert response.status_code == 201, response.json
    body = response.json
    assert response.headers["Location"].endswith(f"/api/v1/needs/{body['id']}")
    assert body["status"] == "open" and body["enterprise"]["id"] == ids["enterprise"]
    assert body["budget_max_fen"] == 5_000_000 and body["desired_start"] == "2027-03-01"
    with app.app_context():
        need = db.session.get(Need, body["id"])
        assert need.author_id == users["sme"].id and need.status == "open"


@pytest.mark.parametrize(("changes", "fields"), [
    ({"title": 12}, {"title"}),
    ({"budget_min_fen": 10.5, "budget_max_fen": "100"}, {"budget_min_fen", "budget_max_fen"}),
    ({"budget_min_fen": -1}, {"budget_min_fen"}),
    ({"budget_max_fen": 10**20}, {"budget_max_fen"}),
    ({"budget_min_fen": True}, {"budget_min_fen"}),
    ({"desired_start": "2027-02-30"}, {"desired_start"}),
    ({"desired_start": "20270301"}, {"desired_start"}),
    ({"visibility": "secret"}, {"visibility"}),
    ({"description": "太短"}, {"description"}),
    ({"category_code": "nope"}, {"category_code"}),
    ({"budget_min_fen": 900, "budget_max_fen": 100}, {"budget_max_fen"}),
    ({"title": "坏\x00标题"}, {"title"}),
    ({"title": "\ud800"}, {"title"}),
])
def test_bad_need_bodies_are_422_beside_the_field_and_write_nothing(app, world, changes, fields):
    _users, _ids, apis = world
    apis["sme"].get("/me")  # the token's last use is recorded now, not during the refusal
    before = snapshot(app)
    response = apis["sme"].post("/needs", {**NEED, **changes})
    assert response.status_code == 422, response.json
    error = response.json["error"]
    assert error["code"] == "validation_failed" and set(error["fields"]) == fields
    assert snapshot(app) == before


def test_missing_fields_are_listed(world):
    _users, _ids, apis = world
    response = apis["sme"].post("/needs", {"title": "只有标题"})
    assert set(response.json["error"]["fields"]) == {"description", "category_code",
                                                     "scenario_level_code"}
    assert response.json["error"]["fields"]["description"] == "必填。"


def test_only_smes_with_a_profile_post_needs(world, make_user, app):
    _users, _ids, apis = world
    for role in ("provider", "gov_county", "admin"):
        assert apis[role].post("/needs", NEED).status_code == 403, role
    bare = Api(app.test_client(), make_token(app, make_user(company=False).id))
    assert bare.post("/needs", NEED).status_code == 403
    assert apis["anon"].post("/needs", NEED).status_code == 401


def test_patch_changes_only_the_fields_sent(world):
    _users, ids, apis = world
    path = f"/needs/{ids['public_need']}"
    response = apis["sme"].patch(path, {"title": "改过的标题", "budget_max_fen": None})
    assert response.status_code == 200, response.json
    assert response.json["title"] == "改过的标题"
    assert response.json["description"].startswith("车间二十台注塑机")
    assert apis["sme_other"].patch(path, {"title": "别人改"}).status_code == 403
    assert apis["sme_other"].patch(f"/needs/{ids['private_need']}", {"title": "x"}
                                   ).status_code == 404
    assert apis["gov_city"].patch(path, {"title": "官员改"}).status_code == 403
    assert apis["sme"].get(path).json["title"] == "改过的标题"


def test_close_and_reopen_follow_the_state_machine(world):
    _users, ids, apis = world
    path = f"/needs/{ids['public_need']}"
    assert apis["sme"].post(path + "/reopen").status_code == 409
    closed = apis["sme"].post(path + "/close")
    assert closed.status_code == 200 and closed.json["status"] == "closed"
    again = apis["sme"].post(path + "/close")
    assert again.status_code == 409 and again.json["error"]["code"] == "conflict"
    assert apis["sme"].patch(path, {"title": "关闭后修改"}).status_code == 409
    assert apis["sme_other"].post(path + "/reopen").status_code == 403
    assert apis["sme"].post(path + "/reopen").json["status"] == "open"


# -- recommendations ----------------------------------------------------------------------------


def test_recommendations_with_reasons_for_the_owner_only(app, world):
    _users, ids, apis = world
    response = apis["sme"].get(f"/needs/{ids['public_need']}/recommendations")
    assert response.status_code == 200
    items = response.json["items"]
    assert {i["package"]["id"] for i in items} <= {ids["published"], ids["other_package"]}
    assert items and all(i["reasons"] and i["reasons"][0]["text"] for i in items)
    assert ids["draft"] not in {i["package"]["id"] for i in items}
    for role, status in (("sme_other", 403), ("admin", 403), ("provider", 403),
                         ("anon", 401)):
        got = apis[role].get(f"/needs/{ids['public_need']}/recommendations").status_code
        assert got == status, role
    assert apis["sme_other"].get(f"/needs/{ids['private_need']}/recommendations"
                                 ).status_code == 404
    with app.app_context():  # shown is remembered, as on the need page
        assert db.session.scalar(select(func.count()).select_from(
            db.metadata.tables["match_feedback"])) == len(items)


# -- search -------------------------------------------------------------------------------------


def _index(app) -> None:
    """Rows made by the fixtures reach the index as a request's writes would."""
    with app.app_context():
        search_service.drain_all()


def test_search_packages_with_facets_and_needs_by_visibility(app, world):
    _users, ids, apis = world
    _index(app)
    found = apis["anon"].get("/search?q=联网")
    assert found.status_code == 200
    assert {h["id"] for h in found.json["items"]} == {ids["published"], ids["other_package"]}
    assert found.json["facets"]["category"][0] == {"value": "device_monitoring", "count": 2,
                                                   "selected": False}
    assert "<mark>" in found.json["items"][0]["title_html"]
    filtered = apis["anon"].get(f"/search?q=联网&provider={ids['provider']}")
    assert [h["id"] for h in filtered.json["items"]] == [ids["published"]]
    assert apis["anon"].get("/search?kind=need").status_code == 401
    mine = {h["id"] for h in apis["sme"].get("/search?kind=need").json["items"]}
    assert ids["private_need"] in mine and ids["other_private_need"] not in mine
    county = {h["id"] for h in apis["gov_other_county"].get("/search?kind=need").json["items"]}
    assert county == {ids["public_need"]}


def test_search_refuses_filters_the_kind_has_not(world):
    _users, _ids, apis = world
    response = apis["anon"].get("/search?kind=package&status=open&price_band=huge")
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == {"price_band"}
    response = apis["anon"].get("/search?kind=package&status=open")
    assert response.status_code == 400 and set(response.json["error"]["fields"]) == {"status"}


def test_search_cursor_walks_pages(app, world, make_package):
    _users, ids, apis = world
    for n in range(5):
        make_package(ids["provider"], title=f"联网包{n}")
    _index(app)
    first = apis["anon"].get("/search?q=联网&limit=3")
    second = apis["anon"].get(f"/search?q=联网&limit=3&cursor={first.json['next_cursor']}")
    ids_seen = [h["id"] for h in first.json["items"] + second.json["items"]]
    assert len(ids_seen) == len(set(ids_seen)) == 6 and first.json["total"] == 7


# -- deals --------------------------------------------------------------------------------------


@pytest.fixture
def program(app):
    """An active 30 % program of the SME's county with a budget."""
    with app.app_context():
        county = db.session.scalar(select(Region).where(Region.code == "320505"))
        made = SubsidyProgram(region_id=county.id, name="吴中区数字化转型券", mode="percent",
                              rate_bp=3000, per_order_cap_fen=5_000_000,
                              per_enterprise_cap_fen=10_000_000,
                              starts_on=date.today() - timedelta(days=30),
                              ends_on=date.today() + timedelta(days=365), status="active")
        db.session.add(made)
        db.session.flush()
        db.session.add(LedgerEntry(program_id=made.id, kind="adjust", amount_fen=100_000_000))
        db.session.commit()
        return made.id


QUOTE = {"price_fen": 3_600_000, "scope": "二十台注塑机联网，含网关与看板。",
         "delivery_days": 20, "valid_until": (date.today() + timedelta(days=30)).isoformat()}


def _request_and_quote(world) -> int:
    _users, ids, apis = world
    made = apis["sme"].post("/deals/requests", {"need_id": ids["public_need"],
                                                "package_id": ids["published"],
                                                "message": "请尽快联系"})
    assert made.status_code == 201, made.json
    deal = made.json["id"]
    quoted = apis["provider"].post(f"/deals/requests/{deal}/quote", QUOTE)
    assert quoted.status_code == 200, quoted.json
    return deal


def test_the_whole_deal_through_the_api(app, world, program):
    _users, ids, apis = world
    deal = _request_and_quote(world)
    seen = apis["sme"].get(f"/deals/requests/{deal}").json
    assert seen["quote"]["revision"] == 1 and seen["status"] == "quoted"
    assert seen["subsidy_offer"]["amount_fen"] == 1_080_000  # 30 % of ¥36,000
    assert apis["provider"].get(f"/deals/requests/{deal}").json["subsidy_offer"] is None
    accept = {"revision": 1, "expected_subsidy_fen": 1_080_000}
    order = apis["sme"].post(f"/deals/requests/{deal}/accept", accept,
                             headers={"Idempotency-Key": "accept-once-123"})
    assert order.status_code == 201, order.json
    order_id = order.json["id"]
    assert order.json["subsidy"]["amount_fen"] == 1_080_000
    assert order.json["subsidy"]["status"] == "reserved"
    assert apis["sme"].get(f"/deals/requests/{deal}").json["order_id"] == order_id
    steps = [("provider", "deliver", None), ("sme", "accept", None),
             ("sme", "review", {"rating": 5, "text": "交付及时"}),
             ("provider", "reply", {"text": "谢谢"})]
    for role, step, body in steps:
        response = apis[role].post(f"/deals/orders/{order_id}/{step}", body)
        assert response.status_code in (200, 201), (step, response.json)
    final = apis["sme"].get(f"/deals/orders/{order_id}").json
    assert final["status"] == "accepted" and final["review"]["reply"] == "谢谢"
    assert apis["sme"].get(f"/needs/{ids['public_need']}").json["status"] == "closed"
    assert [o["id"] for o in apis["provider"].get("/deals/orders").json["items"]] == [order_id]
    assert apis["sme_other"].get("/deals/orders").json["items"] == []


def test_accepting_twice_with_one_key_makes_one_order(app, world, program):
    _users, _ids, apis = world
    deal = _request_and_quote(world)
    headers = {"Idempotency-Key": "same-key-0001"}
    first = apis["sme"].post(f"/deals/requests/{deal}/accept", {"revision": 1}, headers=headers)
    second = apis["sme"].post(f"/deals/requests/{deal}/accept", {"revision": 1}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json["id"] == second.json["id"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Order)) == 1
        assert db.session.scalar(select(func.count()).select_from(SubsidyClaim)) == 1
    without_key = apis["sme"].post(f"/deals/requests/{deal}/accept", {"revision": 1})
    assert without_key.status_code == 409  # already ordered
    bad_key = apis["sme"].post(f"/deals/requests/{deal}/accept", {"revision": 1},
                               headers={"Idempotency-Key": "短"})
    assert bad_key.status_code == 422 and "Idempotency-Key" in bad_key.json["error"]["fields"]


def test_a_changed_subsidy_or_revision_refuses_the_order(app, world, program):
    _users, _ids, apis = world
    deal = _request_and_quote(world)
    stale = apis["sme"].post(f"/deals/requests/{deal}/accept",
                             {"revision": 1, "expected_subsidy_fen": 999})
    assert stale.status_code == 409 and "补贴" in stale.json["error"]["message"]
    apis["provider"].post(f"/deals/requests/{deal}/quote", {**QUOTE, "price_fen": 3_000_000})
    old = apis["sme"].post(f"/deals/requests/{deal}/accept", {"revision": 1})
    assert old.status_code == 409
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_deal_steps_by_the_wrong_party_or_state(world):
    _users, ids, apis = world
    deal = _request_and_quote(world)
    path = f"/deals/requests/{deal}"
    assert apis["sme_other"].get(path).status_code == 404
    assert apis["provider_other"].get(path).status_code == 404
    assert apis["gov_county"].get(path).status_code == 404
    assert apis["provider_other"].post(path + "/quote", QUOTE).status_code == 404
    assert apis["sme"].post(path + "/quote", QUOTE).status_code == 403
    assert apis["provider"].post(path + "/accept", {"revision": 1}).status_code == 403
    assert apis["sme_other"].post(path + "/withdraw").status_code == 404
    assert apis["provider"].post(path + "/decline", {"reason": ""}).status_code == 422
    assert apis["sme"].post(path + "/withdraw").json["status"] == "withdrawn"
    assert apis["sme"].post(path + "/withdraw").status_code == 409
    assert apis["provider"].post(path + "/decline", {"reason": "太忙"}).status_code == 409
    again = apis["sme"].post("/deals/requests", {"need_id": ids["public_need"],
                                                 "package_id": ids["published"]})
    assert again.status_code == 409  # one request per need and package
    for package in ("draft", "unverified_package"):
        response = apis["sme"].post("/deals/requests", {"need_id": ids["public_need"],
                                                        "package_id": ids[package]})
        assert response.status_code == 404, package
    theirs = apis["sme_other"].post("/deals/requests", {"need_id": ids["public_need"],
                                                        "package_id": ids["other_package"]})
    assert theirs.status_code == 403
    huge = apis["sme"].post("/deals/requests", {"need_id": 2**31, "package_id": 2**40})
    assert huge.status_code == 422


def test_orders_dispute_cancel_and_official_view(app, world):
    _users, ids, apis = world
    deal = _request_and_quote(world)
    order = apis["sme"].post(f"/deals/requests/{deal}/accept", {"revision": 1}).json["id"]
    path = f"/deals/orders/{order}"
    assert apis["sme"].post(path + "/deliver").status_code == 403
    assert apis["provider"].post(path + "/accept").status_code == 403
    assert apis["sme"].post(path + "/dispute", {"reason": "未交付"}).status_code == 409
    assert apis["provider"].post(path + "/deliver").json["status"] == "delivered"
    disputed = apis["sme"].post(path + "/dispute", {"reason": "看板打不开"})
    assert disputed.json["status"] == "disputed"
    assert [o["id"] for o in apis["gov_county"].get("/deals/orders").json["items"]] == [order]
    assert apis["gov_other_county"].get("/deals/orders").json["items"] == []
    assert apis["gov_county"].get(path).status_code == 200
    assert apis["gov_other_county"].get(path).status_code == 404
    assert apis["gov_county"].post(path + "/cancel", {"reason": "x"}).status_code == 403
    assert apis["sme"].post(path + "/review", {"rating": 5}).status_code == 409
    assert apis["sme"].post(path + "/review", {"rating": 6}).status_code == 422
    cancelled = apis["provider"].post(path + "/cancel", {"reason": "双方协商取消"})
    assert cancelled.json["status"] == "cancelled"
    assert apis["sme"].get(f"/needs/{ids['public_need']}").json["status"] == "open"
    with app.app_context():
        assert db.session.get(DealRequest, deal).status == "ordered"


def test_deal_lists_filter_and_page(world, make_need):
    users, ids, apis = world
    for n in range(3):
        need = make_need(ids["enterprise"], title=f"需求{n}")
        assert apis["sme"].post("/deals/requests", {"need_id": need,
                                                    "package_id": ids["published"]}
                                ).status_code == 201
    page = apis["provider"].get("/deals/requests?limit=2")
    assert len(page.json["items"]) == 2 and page.json["next_cursor"]
    rest = apis["provider"].get(f"/deals/requests?limit=2&cursor={page.json['next_cursor']}")
    assert len(rest.json["items"]) == 1 and rest.json["next_cursor"] is None
    assert apis["provider"].get("/deals/requests?status=quoted").json["items"] == []
    assert apis["provider_other"].get("/deals/requests").json["items"] == []
    assert apis["gov_city"].get("/deals/requests").json["items"] == []


# -- subsidy quotes and statistics --------------------------------------------------------------


def test_subsidy_quote_for_the_callers_enterprise(world, program):
    _users, ids, apis = world
    response = apis["sme"].get(f"/packages/{ids['published']}/subsidy?amount_fen=3600000")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["best"]["amount_fen"] == 1_080_000 and body["best"]["net_fen"] == 2_520_000
    assert body["best"]["program"]["id"] == program and len(body["offers"]) == 1
    default = apis["sme"].get(f"/packages/{ids['published']}/subsidy").json
    assert default["amount_fen"] == 1_280_000 and default["best"]["amount_fen"] == 384_000
    elsewhere = apis["sme_other"].get(f"/packages/{ids['published']}/subsidy").json
    assert elsewhere["best"]["amount_fen"] == 384_000  # same county in the fixtures
    assert apis["provider"].get(f"/packages/{ids['published']}/subsidy").status_code == 403
    assert apis["gov_county"].get(f"/packages/{ids['published']}/subsidy").status_code == 403
    assert apis["sme"].get(f"/packages/{ids['draft']}/subsidy").status_code == 404
    assert apis["sme"].get(f"/packages/{ids['published']}/subsidy?amount_fen=-5"
                           ).status_code == 400


def test_region_statistics_for_officials_of_the_region(world):
    _users, _ids, apis = world
    county = apis["gov_county"].get("/stats/region").json
    assert county["region"]["code"] == "320505"
    assert county["enterprises"] == 2 and county["needs"] == 3
    assert set(county["definitions"]) == {"needs", "open_needs", "providers_serving"}
    assert "公开和非公开" in county["definitions"]["needs"]  # what it counts (issue 17)
    other = apis["gov_other_county"].get("/stats/region").json
    assert other["enterprises"] == 0 and other["needs"] == 0
    assert apis["gov_city"].get("/stats/region").json["needs"] == 3
    for role in ("sme", "provider", "admin"):
        assert apis[role].get("/stats/region").status_code == 403, role
    assert apis["anon"].get("/stats/region").status_code == 401


# -- error objects ------------------------------------------------------------------------------


def test_errors_are_json_objects_with_machine_codes(app, world):
    _users, _ids, apis = world
    api = apis["sme"]
    cases = [
        (api.get("/no/such/thing"), 404, "not_found"),
        (api.client.delete("/api/v1/needs", headers=api._headers(None)), 405,
         "method_not_allowed"),
        (api.client.post("/api/v1/needs", data={"title": "x"}, headers=api._headers(None)), 415,
         "unsupported_media_type"),
        (api.client.post("/api/v1/needs", data="{broken", content_type="application/json",
                         headers=api._headers(None)), 400, "bad_request"),
        (api.post("/needs", ["a", "list"]), 400, "bad_request"),
        (api.client.post("/api/v1/needs", data="x" * (3 * 1024 * 1024),
                         content_type="application/json", headers=api._headers(None)), 413,
         "payload_too_large"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, (code, response.get_data(as_text=True)[:200])
        assert response.mimetype == "application/json"
        assert response.json["error"]["code"] == code and response.json["error"]["message"]
        assert response.json["error"]["request_id"] == response.headers["X-Request-ID"]
    assert "GET" in cases[1][0].headers["Allow"] and "POST" in cases[1][0].headers["Allow"]


def test_messages_follow_the_users_language(app, world):
    users, ids, apis = world
    with app.app_context():
        db.session.get(User, users["sme_other"].id).locale = "en"
        db.session.commit()
    refused = apis["sme_other"].patch(f"/needs/{ids['public_need']}", {"title": "x"})
    assert refused.status_code == 403
    assert refused.json["error"]["message"].isascii()


def test_rate_limit_per_token_answers_429(app, make_user):
    app.config["API_RATE_LIMIT"] = "3 per minute"
    first = Api(app.test_client(), make_token(app, make_user().id))
    second = Api(app.test_client(), make_token(app, make_user().id))
    assert [first.get("/me").status_code for _ in range(3)] == [200] * 3
    limited = first.get("/me")
    assert limited.status_code == 429 and limited.json["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    assert second.get("/me").status_code == 200  # counted per token


def test_rate_limit_counts_apart_per_key_prefix(app):
    """Two deployments on one Redis (their own RATELIMIT_KEY_PREFIX) keep their own counts;
    two workers of one deployment (the same prefix) share theirs."""
    if not redis_reachable():
        pytest.skip("needs Redis at 127.0.0.1:6379 (a store two deployments share)")
    import redis

    run = uuid.uuid4().hex

    apps = [create_app({**config_for(app.config["SQLALCHEMY_DATABASE_URI"]),
                        "SEARCH_INDEX_DIR": app.config["SEARCH_INDEX_DIR"],
                        "MATCHING_DIR": app.config["MATCHING_DIR"],
                        "RATELIMIT_STORAGE_URI": REDIS_URL,
                        "RATELIMIT_KEY_PREFIX": f"zgsz-test-{run}-{name}",
                        "API_RATE_LIMIT": "2 per minute"}) for name in ("a", "a", "b")]
    first, first_too, second = (made.test_client() for made in apps)
    try:
        assert [first.get("/api/v1/me").status_code for _ in range(2)] == [401, 401]
        assert first_too.get("/api/v1/me").status_code == 429  # one deployment: shared
        assert second.get("/api/v1/me").status_code == 401  # another: its own count
    finally:
        for made in apps:
            with made.app_context():
                db.engine.dispose()
        store = redis.Redis.from_url(REDIS_URL)
        keys = list(store.scan_iter(f"*zgsz-test-{run}-*"))
        assert {k.decode().split(f"zgsz-test-{run}-")[1][0] for k in keys} == {"a", "b"}
        store.delete(*keys)


def test_server_errors_are_json_with_the_request_id(app, world, monkeypatch):
    _users, _ids, apis = world
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def explode(*_args, **_kwargs):
        raise RuntimeError("boom with SELECT secret")

    monkeypatch.setattr("marketplace.api.routes.gov_overview", explode)
    response = apis["gov_county"].get("/stats/region")
    assert response.status_code == 500 and response.json["error"]["code"] == "server_error"
    assert "SELECT" not in response.get_data(as_text=True)
    assert response.json["error"]["request_id"] in response.json["error"]["message"]


# -- hostile bodies -----------------------------------------------------------------------------

JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=200),
    st.sampled_from(ODD + MIXED_SCRIPT + CONTROL + ["长" * 6000, "\ud800x"]),
)
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=3)),
    max_leaves=6)
FUZZ = settings(max_examples=20, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
WRITES = [  # (role, path, a valid body)
    ("sme", "/needs", NEED),
    ("sme", "/needs/{public_need}", NEED),
    ("sme", "/deals/requests", {"need_id": "{public_need}", "package_id": "{published}"}),
    ("provider", "/deals/requests/{deal}/quote", QUOTE),
    ("provider", "/deals/requests/{deal}/decline", {"reason": "暂不承接"}),
    ("sme", "/deals/requests/{deal}/accept", {"revision": 1}),
    ("sme", "/deals/orders/{order}/dispute", {"reason": "看板打不开"}),
    ("sme", "/deals/orders/{order}/cancel", {"reason": "不需要了"}),
    ("sme", "/deals/orders/{order}/review", {"rating": 4, "text": "好"}),
    ("provider", "/deals/orders/{order}/reply", {"text": "谢谢"}),
]


@pytest.fixture
def fuzz_world(app, world, monkeypatch):
    users, ids, apis = world
    # Indexing after each accepted write is tested with the search pages; here it would only
    # spend the time budget on Whoosh commits instead of on inputs.
    monkeypatch.setattr(search_service, "drain", lambda *args, **kwargs: 0)
    deal = _request_and_quote(world)
    other_need = apis["sme"].post("/needs", NEED).json["id"]
    quoted = apis["sme"].post("/deals/requests", {"need_id": other_need,
                                                  "package_id": ids["other_package"]}).json["id"]
    apis["provider_other"].post(f"/deals/requests/{quoted}/quote", QUOTE)
    order = apis["sme"].post(f"/deals/requests/{quoted}/accept", {"revision": 1}).json["id"]
    apis["provider_other"].post(f"/deals/orders/{order}/deliver")
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    return users, {**ids, "deal": deal, "order": order}, apis


def _filled(value, ids):
    if isinstance(value, str) and value.startswith("{"):
        return ids[value.strip("{}")]
    return value


@pytest.mark.parametrize(("role", "path", "valid"), WRITES, ids=[w[1] for w in WRITES])
@FUZZ
@given(data=st.data())
def test_hostile_json_never_breaks_the_api_or_writes_half(app, fuzz_world, role, path, valid,
                                                          data):
    _users, ids, apis = fuzz_world
    valid = {name: _filled(value, ids) for name, value in valid.items()}
    names = sorted(valid) + ["status", "id", "enterprise_id", "amount_fen"]
    changed = data.draw(st.dictionaries(st.sampled_from(names), JSON_VALUES, max_size=4),
                        label="changed fields")
    body = data.draw(st.one_of(st.just({**valid, **changed}), JSON_VALUES), label="body")
    api = apis[role if "orders" not in path or "reply" in path else "sme"]
    if "reply" in path:
        api = apis["provider_other"]
    api.get("/me")
    before = snapshot(app, frozenset({"api_tokens"}))
    url = path.format(**ids)
    response = api.patch(url, body) if url.startswith("/needs/") else api.post(url, body)
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    if response.status_code >= 400:
        assert snapshot(app, frozenset({"api_tokens"})) == before, response.status_code
    assert_whole_records(app)


def test_the_valid_bodies_of_the_fuzzed_writes_are_accepted(app, fuzz_world):
    """The fuzzing starts from real successes, so it reaches the services."""
    _users, ids, apis = fuzz_world
    ordered = [w for w in WRITES if "orders" not in w[1]]  # the order is walked below
    for role, path, valid in ordered:
        if path.endswith("/decline"):
            continue  # the deal is accepted below; declining first would close it
        body = {name: _filled(value, ids) for name, value in valid.items()}
        url = path.format(**ids)
        if url.startswith("/deals/requests") and not url.endswith(("quote", "accept")):
            body["need_id"] = apis["sme"].post("/needs", NEED).json["id"]
        if url.endswith("accept"):  # the quote above was a revision
            body["revision"] = apis["sme"].get(url[:-7]).json["quote"]["revision"]
        api = apis[role]
        response = api.patch(url, body) if url.startswith("/needs/") else api.post(url, body)
        assert response.status_code in (200, 201), (path, response.json)
    order = f"/deals/orders/{ids['order']}"
    assert apis["sme"].post(order + "/accept").status_code == 200
    assert apis["sme"].post(order + "/review", {"rating": 4}).status_code == 201
    assert apis["provider_other"].post(order + "/reply", {"text": "谢谢"}).status_code == 200


@FUZZ
@given(query=st.dictionaries(
    st.sampled_from(["q", "limit", "cursor", "status", "mine", "region_code", "kind", "sort",
                     "category", "price_band", "price_min_fen", "max_price_fen", "free_trial",
                     "provider_id", "amount_fen"]),
    st.one_of(st.text(max_size=50), st.sampled_from(ODD + MIXED_SCRIPT + CONTROL)), max_size=5))
def test_list_and_search_take_any_query(app, fuzz_world, query):
    _users, ids, apis = fuzz_world
    for path in ("/packages", "/needs", "/search", "/deals/requests", "/deals/orders",
                 f"/packages/{ids['published']}/subsidy"):
        response = apis["sme"].get(path, query_string=query)
        assert response.status_code in (200, 400), (path, response.get_data(as_text=True)[:300])


def _nested(depth: int) -> str:
    return '{"title": ' + "[" * depth + "]" * depth + ', "a": ' + '{"b": ' * depth + "1" \
        + "}" * depth + "}"


@pytest.mark.parametrize(("role", "path", "valid"), WRITES, ids=[w[1] for w in WRITES])
def test_deeply_nested_json_is_answered_as_broken_json(app, fuzz_world, role, path, valid):
    """Python's JSON parser gives up on deep nesting with RecursionError (not the ValueError
    Flask turns into a 400): the answer is the one broken JSON gets, 400 where the view reads
    the body (the reply, to an order not yet reviewed, is 404 before that)."""
    _users, ids, apis = fuzz_world
    api = apis["provider_other" if "reply" in path else "sme" if "orders" in path else role]
    api.get("/me")
    before = snapshot(app, frozenset({"api_tokens"}))
    url = "/api/v1" + path.format(**ids)
    send = api.client.patch if url.startswith("/api/v1/needs/") else api.client.post

    def answer(body: str):
        response = send(url, data=body, content_type="application/json",
                        headers=api._headers(None))
        return response.status_code, response.json["error"]["code"]

    broken = answer("{broken")
    assert broken == ((404, "not_found") if "reply" in path else (400, "bad_request"))
    for depth in (5_000, 100_000):
        assert answer(_nested(depth)) == broken, depth
    assert snapshot(app, frozenset({"api_tokens"})) == before


def test_a_key_used_to_accept_one_request_is_refused_for_another(app, world):
    _users, ids, apis = world
    first = _request_and_quote(world)
    other_need = apis["sme"].post("/needs", NEED).json["id"]
    second = apis["sme"].post("/deals/requests", {"need_id": other_need,
                                                  "package_id": ids["published"]}).json["id"]
    apis["provider"].post(f"/deals/requests/{second}/quote", QUOTE)
    headers = {"Idempotency-Key": "same-key-0002"}
    order = apis["sme"].post(f"/deals/requests/{first}/accept", {"revision": 1},
                             headers=headers).json["id"]
    refused = apis["sme"].post(f"/deals/requests/{second}/accept", {"revision": 1},
                               headers=headers)
    assert refused.status_code == 422
    assert "已用于另一个对象" in refused.json["error"]["fields"]["Idempotency-Key"]
    assert apis["sme"].get(f"/deals/requests/{second}").json["status"] == "quoted"
    assert apis["sme"].post(f"/deals/requests/{first}/accept", {"revision": 1},
                            headers=headers).json["id"] == order
