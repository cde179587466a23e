"""Registration, login, logout, sessions and passwords."""

import pytest
from werkzeug.security import check_password_hash

from marketplace import create_app
from marketplace.extensions import db
from marketplace.models import AuditEntry, User
from marketplace.services.accounts import hash_password
from tests.conftest import PASSWORD


def _register(client, **overrides):
    data = {"role": "sme", "display_name": "王芳", "email": "wang@example.com",
            "password": "shuzi-zhuanxing-9", "confirm": "shuzi-zhuanxing-9"}
    data.update(overrides)
    return client.post("/auth/register", data=data)


def test_register_logs_in_and_asks_for_profile(client, app):
    response = _register(client)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/profile/edit")
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "wang@example.com"))
        assert user.role == "sme" and check_password_hash(user.password_hash, "shuzi-zhuanxing-9")
    assert client.get("/dashboard").status_code == 302  # profile still missing


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"password": "short", "confirm": "short"}, "密码至少需要 8 个字符"),
        ({"password": "password123", "confirm": "password123"}, "这个密码太常见"),
        ({"password": "x" * 129, "confirm": "x" * 129}, "密码最多 128 个字符"),
        ({"confirm": "different-pass-1"}, "两次输入的密码不一致"),
        ({"email": "not-an-email"}, "邮箱格式不正确"),
        ({"role": "admin"}, "不是有效的选择"),
        ({"display_name": "bad\x00name"}, "控制字符"),
    ],
)
def test_register_refuses_bad_input_and_writes_nothing(client, app, overrides, message):
    response = _register(client, **overrides)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


def test_register_refuses_taken_email(client, make_user):
    make_user(email="wang@example.com")
    response = _register(client)
    assert "这个邮箱已经注册" in response.get_data(as_text=True)


def test_long_password_is_not_truncated(client, app):
    long = "长密码-" + "a" * 100
    _register(client, password=long, confirm=long)
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


def test_a_registration_racing_another_gets_a_field_message(client, app, make_user,
                                                            monkeypatch):
    """Both passed the 'e-mail free?' check; the unique index refuses the second one."""
    from marketplace.services import accounts

    make_user(email="wang@example.com")
    monkeypatch.setattr(accounts, "find_user_by_email", lambda email: None)
    response = _register(client)
    assert response.status_code == 200 and "这个邮箱已经注册" in response.get_data(as_text=True)
