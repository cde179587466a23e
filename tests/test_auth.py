"""Registration, login, logout, sessions, passwords and their reset."""

import logging
import re

import pytest
from flask.testing import FlaskClient
from werkzeug.security import check_password_hash

from marketplace import create_app
from marketplace.extensions import db
from marketplace.models import ApiToken, AuditEntry, User
from marketplace.services import tokens
from marketplace.services.accounts import hash_password
from tests.conftest import PASSWORD, AuthActions

EMAIL_LINE = re.compile(r"email to=(?P<to>\S+) kind=(?P<kind>\S+) subject=(?P<subject>.*) "
                        r"link=(?P<link>\S+)$")


def sent_mail(caplog, to: str | None = None, kind: str | None = None) -> list[dict]:
    """The e-mails the logging backend (the default) wrote, oldest first."""
    found = []
    for record in caplog.records:
        match = EMAIL_LINE.match(record.getMessage()) if record.name == "marketplace.email" \
            else None
        if match and (to is None or match["to"] == to) and (kind is None or match["kind"] == kind):
            found.append(match.groupdict())
    return found


def link_path(mail: dict) -> str:
    """The path of an e-mailed link (absolute in the mail: http://localhost/…)."""
    assert mail["link"].startswith("http://localhost/")
    return mail["link"].removeprefix("http://localhost")


@pytest.fixture(autouse=True)
def _mail_logged(caplog):
    caplog.set_level(logging.INFO, logger="marketplace.email")


def _register(client, **overrides):
    data = {"role": "sme", "display_name": "王芳", "email": "wang@example.com"}
    data.update(overrides)
    return client.post("/auth/register", data=data)


def _register_and_confirm(client, caplog, password="shuzi-zhuanxing-9", **overrides):
    _register(client, **overrides)
    link = link_path(sent_mail(caplog, kind="signup")[-1])
    return client.post(link, data={"password": password, "confirm": password})


def test_register_mails_a_link_that_sets_the_password_logs_in_and_asks_for_profile(
        client, app, caplog):
    response = _register(client, email="Wang@Example.com")
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    with app.app_context():  # nothing is stored until the link is opened
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0
    [mail] = sent_mail(caplog, to="wang@example.com")
    assert mail["kind"] == "signup"
    page = client.get(link_path(mail))
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "王芳" in page.get_data(as_text=True)
    response = client.post(link_path(mail), data={"password": "shuzi-zhuanxing-9",
                                                  "confirm": "shuzi-zhuanxing-9"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/profile/edit")
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "wang@example.com"))
        assert user.role == "sme" and user.display_name == "王芳"
        assert check_password_hash(user.password_hash, "shuzi-zhuanxing-9")
    assert client.get("/dashboard").status_code == 302  # profile still missing
    client.post("/auth/logout")
    again = client.get(link_path(mail))  # the account exists now: the link only says so
    assert again.status_code == 302 and again.headers["Location"] == "/auth/login"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": "not-an-email"}, "邮箱格式不正确"),
        ({"role": "admin"}, "不是有效的选择"),
        ({"display_name": "bad\x00name"}, "控制字符"),
    ],
)
def test_register_refuses_bad_input_and_sends_nothing(client, app, caplog, overrides, message):
    response = _register(client, **overrides)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert sent_mail(caplog) == []


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("short", "short", "密码至少需要 8 个字符"),
        ("password123", "password123", "这个密码太常见"),
        ("x" * 129, "x" * 129, "密码最多 128 个字符"),
        ("shuzi-zhuanxing-9", "different-pass-1", "两次输入的密码不一致"),
    ],
)
def test_the_registration_link_refuses_bad_passwords_and_writes_nothing(
        client, app, caplog, password, confirm, message):
    _register(client)
    link = link_path(sent_mail(caplog, kind="signup")[0])
    response = client.post(link, data={"password": password, "confirm": confirm})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


def test_register_answers_the_same_for_a_taken_email_and_tells_its_owner(client, app, caplog,
                                                                         make_user):
    owner = make_user(email="wang@example.com")
    with app.app_context():
        before = db.session.get(User, owner.id).password_hash
    taken = _register(client, email="Wang@example.com")
    taken_page = client.get(taken.headers["Location"]).get_data(as_text=True)
    fresh = _register(client, email="li@example.com")
    fresh_page = client.get(fresh.headers["Location"]).get_data(as_text=True)
    assert (taken.status_code, taken.headers["Location"]) == (302, "/auth/login")
    assert (fresh.status_code, fresh.headers["Location"]) == (302, "/auth/login")
    assert "已经注册" not in taken_page and "已有账号，邮件会告诉您如何登录" in taken_page
    assert taken_page.replace("wang@example.com", "li@example.com") == fresh_page
    [mail] = sent_mail(caplog, to="wang@example.com")
    assert mail["kind"] == "signup_existing" and "/auth/reset/" in mail["link"]
    with app.app_context():  # the owner's account is untouched
        assert db.session.get(User, owner.id).password_hash == before
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1
    # the owner can use the link to choose a new password
    response = client.post(link_path(mail), data={"password": "a-new-secret-77",
                                                  "confirm": "a-new-secret-77"})
    assert response.status_code == 302


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "x" * 2000])
def test_forged_registration_links_are_refused(client, app, token):
    response = client.get(f"/auth/register/{token}")
    assert response.status_code == 302 and response.headers["Location"] == "/auth/register"
    assert client.post(f"/auth/register/{token}", data={
        "password": "shuzi-zhuanxing-9", "confirm": "shuzi-zhuanxing-9"}).status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


def test_an_expired_registration_link_is_refused(client, app, caplog):
    _register(client)
    app.config["REGISTER_LINK_MAX_AGE"] = -1  # every link is older than that
    response = _register_and_confirm(client, caplog)
    assert response.headers["Location"] == "/auth/register"


def test_long_password_is_not_truncated(client, app, caplog):
    long = "长密码-" + "a" * 100
    _register_and_confirm(client, caplog, password=long)
    client.post("/auth/logout")
    assert client.post("/auth/login", data={"email": "wang@example.com",
                                            "password": long[:-1]}).status_code == 200
    assert client.post("/auth/login", data={"email": "wang@example.com",
                                            "password": long}).status_code == 302


def test_login_same_message_for_unknown_user_and_wrong_password(client, make_user, auth):
    user = make_user()
    unknown = auth.login("nobody@example.com").get_data(as_text=True)
    wrong = auth.login(user, password="wrong-password").get_data(as_text=True)
    assert "邮箱或密码不正确" in unknown and "邮箱或密码不正确" in wrong


def test_login_redirects_only_to_this_site(client, make_user, auth):
    user = make_user(role="gov", region_code="320500")
    email = auth.email_of(user)
    for target, expected in [("/needs/", "/needs/"), ("https://evil.example/", "/dashboard"),
                             ("//evil.example/", "/dashboard"), ("/\\evil", "/dashboard")]:
        response = client.post(f"/auth/login?next={target}",
                               data={"email": email, "password": PASSWORD})
        assert response.headers["Location"] == expected
        client.post("/auth/logout")


def test_disabled_user_cannot_log_in(make_user, auth, app):
    user = make_user(active=False)
    assert auth.login(user).status_code == 200


def test_logout_ends_old_cookie(client, make_user, auth):
    user = make_user()
    auth.login(user)
    cookie = client.get_cookie("session")
    assert client.get("/dashboard").status_code == 200
    auth.logout()
    client.set_cookie("session", cookie.value)  # replay the cookie from before logout
    assert client.get("/dashboard").status_code == 302


def test_password_change_ends_other_sessions(app, make_user, auth, client):
    user = make_user()
    other = app.test_client()
    auth.login(user)
    other.post("/auth/login", data={"email": auth.email_of(user), "password": PASSWORD})
    assert other.get("/dashboard").status_code == 200
    response = client.post("/auth/password", data={
        "current_password": PASSWORD, "new_password": "a-new-secret-77",
        "confirm": "a-new-secret-77"})
    assert response.status_code == 302
    assert client.get("/dashboard").status_code == 200  # this session was renewed
    assert other.get("/dashboard").status_code == 302


def test_password_change_wrong_current_password(make_user, auth, client, app):
    user = make_user()
    auth.login(user)
    response = client.post("/auth/password", data={
        "current_password": "nope-nope-nope", "new_password": "a-new-secret-77",
        "confirm": "a-new-secret-77"})
    assert "当前密码不正确" in response.get_data(as_text=True)
    with app.app_context():
        assert check_password_hash(db.session.get(User, user.id).password_hash, PASSWORD)


def test_login_is_audited(make_user, auth, app):
    user = make_user()
    auth.login(user)
    with app.app_context():
        entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "login"))
        assert entry.actor_id == user.id and entry.origin == "127.0.0.1"


def test_production_hash_is_scrypt_n_2_17(database_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x"})
    with app.app_context():
        assert hash_password("any-password-1").startswith("scrypt:131072:8:1$")


def test_csrf_is_enforced_by_default(database_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x",
                      "TESTING": True})
    response = app.test_client().post("/auth/login", data={"email": "a@b.cn", "password": "x"})
    assert response.status_code == 400


def test_session_cookie_flags(client, make_user, auth):
    response = auth.login(make_user())
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_language_switch(client):
    client.post("/lang/en", data={"next": "/packages/"})
    page = client.get("/packages/").get_data(as_text=True)
    assert "Solution packages" in page or "solution packages" in page.lower()


def test_security_headers(client):
    headers = client.get("/").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_failed_logins_are_audited(make_user, auth, app):
    user = make_user()
    auth.login(user, password="wrong-password-1")
    auth.login("nobody@example.com")
    with app.app_context():
        failed = db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.action == "login_failed")).all()
        assert [e.actor_id for e in failed] == [user.id, None]
        assert failed[1].details == {"email": "nobody@example.com"}


def test_a_registration_racing_another_gets_a_message(client, app, make_user, caplog,
                                                      monkeypatch):
    """Both passed the 'e-mail free?' check; the unique index refuses the second one."""
    from marketplace.services import accounts

    _register(client)
    link = link_path(sent_mail(caplog, kind="signup")[0])
    make_user(email="wang@example.com")
    monkeypatch.setattr(accounts, "find_user_by_email", lambda email: None)
    response = client.post(link, data={"password": "shuzi-zhuanxing-9",
                                       "confirm": "shuzi-zhuanxing-9"})
    assert response.status_code == 200 and "这个邮箱已经注册" in response.get_data(as_text=True)


# -- password reset -------------------------------------------------------------------------------


def _forgot(client, email: str):
    return client.post("/auth/forgot", data={"email": email})


def _reset(client, path: str, password: str = "a-new-secret-77", **extra):
    return client.post(path, data={"password": password, "confirm": password, **extra})


def test_the_login_page_offers_a_reset(client):
    page = client.get("/auth/login").get_data(as_text=True)
    assert 'href="/auth/forgot"' in page and "忘记密码" in page


def test_forgotten_password_mails_a_link_and_answers_the_same_for_unknown_addresses(
        client, app, caplog, make_user, auth):
    user = make_user(email="li@example.com")
    known = _forgot(client, "Li@Example.com")
    unknown = _forgot(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"] == "/auth/login"
    [mail] = sent_mail(caplog)  # the unknown address gets nothing
    assert (mail["to"], mail["kind"]) == ("li@example.com", "password_reset")
    assert "如果这个邮箱注册过账号" in client.get("/auth/login").get_data(as_text=True)

    page = client.get(link_path(mail))
    assert page.status_code == 200 and "li@example.com" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    response = _reset(client, link_path(mail))
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200  # logged in with the new password
    with app.app_context():
        assert check_password_hash(db.session.get(User, user.id).password_hash,
                                   "a-new-secret-77")
        assert db.session.scalar(db.select(AuditEntry).where(
            AuditEntry.action == "reset_password")).actor_id == user.id
    client.post("/auth/logout")
    assert auth.login(user).status_code == 200  # the old password is gone
    assert auth.login(user, "a-new-secret-77").status_code == 302


def test_a_reset_link_works_once(client, caplog, make_user, auth):
    make_user(email="li@example.com")
    _forgot(client, "li@example.com")
    path = link_path(sent_mail(caplog)[0])
    assert _reset(client, path).status_code == 302
    client.post("/auth/logout")
    again = _reset(client, path, "another-secret-88")
    assert again.status_code == 302 and again.headers["Location"] == "/auth/forgot"
    assert "链接无效、已使用或已过期" in client.get("/auth/forgot").get_data(as_text=True)
    assert auth.login("li@example.com", "another-secret-88").status_code == 200


def test_a_reset_link_expires(client, app, caplog, make_user):
    make_user(email="li@example.com")
    _forgot(client, "li@example.com")
    app.config["PASSWORD_RESET_MAX_AGE"] = -1  # every link is older than that
    response = _reset(client, link_path(sent_mail(caplog)[0]))
    assert response.headers["Location"] == "/auth/forgot"


def test_changing_the_password_kills_outstanding_reset_links(client, caplog, make_user, auth):
    user = make_user(email="li@example.com")
    _forgot(client, "li@example.com")
    path = link_path(sent_mail(caplog)[0])
    auth.login(user)
    assert client.post("/auth/password", data={
        "current_password": PASSWORD, "new_password": "a-new-secret-77",
        "confirm": "a-new-secret-77"}).status_code == 302
    auth.logout()
    assert client.get(path).headers["Location"] == "/auth/forgot"


@pytest.mark.parametrize("token", ["garbage", "eyJ1c2VyIjoxfQ.AAAA.BBBB", "x" * 2000])
def test_forged_reset_links_are_refused(client, app, make_user, token):
    user = make_user()
    assert client.get(f"/auth/reset/{token}").headers["Location"] == "/auth/forgot"
    assert _reset(client, f"/auth/reset/{token}").headers["Location"] == "/auth/forgot"
    with app.app_context():
        assert check_password_hash(db.session.get(User, user.id).password_hash, PASSWORD)


def test_a_reset_refuses_weak_passwords_and_keeps_the_link(client, caplog, make_user, app):
    user = make_user(email="li@example.com")
    _forgot(client, "li@example.com")
    path = link_path(sent_mail(caplog)[0])
    refused = _reset(client, path, "password123")
    assert refused.status_code == 200 and "这个密码太常见" in refused.get_data(as_text=True)
    with app.app_context():
        assert check_password_hash(db.session.get(User, user.id).password_hash, PASSWORD)
    assert _reset(client, path).status_code == 302


def test_a_reset_ends_every_other_session(app, client, caplog, make_user):
    user = make_user(email="li@example.com")
    elsewhere = app.test_client()
    AuthActions(elsewhere, app).login(user)
    assert elsewhere.get("/dashboard").status_code == 200
    _forgot(client, "li@example.com")
    _reset(client, link_path(sent_mail(caplog)[0]))
    assert elsewhere.get("/dashboard").status_code == 302


def test_disabled_accounts_get_no_reset_link(client, caplog, make_user):
    make_user(email="li@example.com", active=False)
    assert _forgot(client, "li@example.com").status_code == 302
    assert sent_mail(caplog) == []


def test_an_admin_forces_a_reset(app, client, caplog, make_user, auth):
    user = make_user(email="li@example.com")
    victim = app.test_client()
    AuthActions(victim, app).login(user)
    with app.app_context():
        tokens.create_token(db.session.get(User, user.id), "ERP")
        db.session.commit()
    admin = make_user(role="admin")
    auth.login(admin)
    users_page = client.get("/admin/users").get_data(as_text=True)
    assert f'action="/admin/users/{user.id}/reset-password"' in users_page
    assert f'action="/admin/users/{admin.id}/reset-password"' not in users_page  # not oneself
    response = client.post(f"/admin/users/{user.id}/reset-password")
    assert response.status_code == 302
    assert "已强制重设 li@example.com 的密码" in client.get("/admin/users").get_data(as_text=True)
    assert victim.get("/dashboard").status_code == 302  # the session died at once
    assert AuthActions(app.test_client(), app).login(user).status_code == 200  # so did PASSWORD
    [mail] = sent_mail(caplog, to="li@example.com")
    assert mail["kind"] == "password_reset_forced"
    owner = app.test_client()
    assert _reset(owner, link_path(mail)).status_code == 302
    assert owner.get("/dashboard").status_code == 200
    with app.app_context():
        entry = db.session.scalar(db.select(AuditEntry).where(
            AuditEntry.action == "force_password_reset"))
        assert (entry.actor_id, entry.object_id) == (admin.id, user.id)
        assert db.session.scalar(db.select(ApiToken.revoked_at)) is not None


def test_an_admin_cannot_force_their_own_reset(app, client, make_user, auth):
    admin = make_user(role="admin")
    auth.login(admin)
    response = client.post(f"/admin/users/{admin.id}/reset-password")
    assert response.status_code == 302
    assert "不能强制重设自己的密码" in client.get("/admin/users").get_data(as_text=True)
    with app.app_context():
        assert check_password_hash(db.session.get(User, admin.id).password_hash, PASSWORD)


# -- HTTPS and CSRF lifetimes ---------------------------------------------------------------------


@pytest.mark.parametrize(("config", "sent"), [
    ({}, False),
    ({"SESSION_COOKIE_SECURE": True}, True),
    ({"PREFERRED_URL_SCHEME": "https"}, True),
    ({"SESSION_COOKIE_SECURE": True, "HSTS_MAX_AGE": 0}, False),
])
def test_hsts_when_https_is_configured(database_url, config, sent):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x", **config})
    header = app.test_client().get("/auth/login").headers.get("Strict-Transport-Security")
    assert header == ("max-age=31536000" if sent else None)


def test_csrf_tokens_expire(app):
    """Flask-WTF's tokens carry their time: 8 hours by default, then the form is refused with
    the "page expired" message (here with a limit every token has passed). ``app`` empties
    the database afterwards."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                      "SECRET_KEY": "x", "TESTING": True})
    assert app.config["WTF_CSRF_TIME_LIMIT"] == 8 * 60 * 60
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]
    login = {"email": "nobody@example.com", "password": "x", "csrf_token": token}
    assert client.post("/auth/login", data=login).status_code == 200  # a fresh token passes
    app.config["WTF_CSRF_TIME_LIMIT"] = -1
    refused = client.post("/auth/login", data=login)
    assert refused.status_code == 400 and "页面已过期" in refused.get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()


def test_a_reset_mail_leaves_after_the_response_and_unknown_addresses_cost_the_same(
        app, caplog, make_user):
    """How long /auth/forgot takes must not tell whether an address has an account: the mail
    goes when the response is closed (a server always closes it), and an unknown address
    writes the same audit row a known one does."""
    make_user(email="li@example.com")
    client = FlaskClient(app)  # the plain client: a response stays open until closed
    known = client.post("/auth/forgot", data={"email": "li@example.com"})
    assert known.status_code == 302 and sent_mail(caplog) == []
    known.close()
    assert [mail["kind"] for mail in sent_mail(caplog)] == ["password_reset"]
    client.post("/auth/forgot", data={"email": "nobody@example.com"}).close()
    assert len(sent_mail(caplog)) == 1
    with app.app_context():
        actions = db.session.scalars(db.select(AuditEntry.action)).all()
    assert actions.count("request_password_reset") == 2


def test_account_links_are_kept_out_of_a_production_log(app, caplog):
    """Outside tests, debug and the one-command start, the logging backend hides the links
    that open an account; other links still show."""
    from marketplace.services import notify

    with app.app_context():
        app.testing = False
        try:
            notify.send_email("li@example.com", "password_reset", "重设密码",
                              "http://localhost/auth/reset/secret-token")
            notify.send_email("li@example.com", "quote", "新报价", "http://localhost/deals/1")
        finally:
            app.testing = True
    links = [mail["link"] for mail in sent_mail(caplog)]
    assert links[1] == "http://localhost/deals/1" and "secret-token" not in links[0]
    assert "secret-token" not in caplog.text
