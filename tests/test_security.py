"""Security hardening: login throttling, cookies and sessions, request-body limits, request
ids, error pages and logs, mass assignment and escaping of stored markup."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import signal
import uuid

import pytest
from flask import request
from hypothesis import given, note, settings
from hypothesis import strategies as st
from sqlalchemy import text
from werkzeug.security import check_password_hash

import tests.conftest as conftest
from marketplace import create_app
from marketplace.extensions import db
from marketplace.models import AuditEntry, Need, Package, User
from marketplace.security import MESSAGE_LIMIT, accepts_upload, redact
from marketplace.services.search import drain_all
from tests.conftest import PASSWORD
from tests.test_auth import sent_mail
from tests.test_fuzz_forms import (
    FORM_POSTS,
    FUZZ,
    build_world,
    client_for,
    filled,
    fuzz_form_post,
    relax_limits,
    snapshot,
    submission,
)

REDIS_URL = "redis://127.0.0.1:6379"
POSTGRES_EXAMPLES = 3  # per form row, in test_every_form_post_survives_odd_values_on_postgresql


@pytest.fixture
def world(app, make_user, make_provider, make_need, make_package):
    return build_world(app, make_user, make_provider, make_need, make_package)


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model))


@pytest.fixture
def other_app(app, database_url, tmp_path):
    """Makes more apps on the test database (the ``app`` fixture empties it afterwards)."""
    made = []

    def make(**config):
        made.append(create_app({**conftest.test_config(database_url),
                                "SEARCH_INDEX_DIR": str(tmp_path / f"search-{len(made)}"),
                                "MATCHING_DIR": str(tmp_path / "matching"), **config}))
        return made[-1]

    yield make
    for other in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def _login(client, email: str, password: str = PASSWORD, address: str = "127.0.0.1"):
    return client.post("/auth/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


# --- login throttling ------------------------------------------------------------------------

def test_failed_logins_of_one_account_are_throttled(app, client, make_user, auth):
    app.config["LOGIN_LIMIT_PER_ACCOUNT"] = "3 per minute"
    user = make_user()
    email = auth.email_of(user)
    for _ in range(3):
        assert _login(client, email, "wrong-password-1").status_code == 200
    audited = _count(app, AuditEntry)

    response = _login(client, email)  # the right password, but too late
    page = response.get_data(as_text=True)
    assert response.status_code == 429
    assert "尝试次数过多，请 1 分钟后再试。" in page
    assert f'value="{email}"' in page and 'name="password"' in page  # the form, again
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert _count(app, AuditEntry) == audited  # nothing was checked or written
    assert client.get("/dashboard").status_code == 302

    # other accounts are not throttled from this address
    assert _login(app.test_client(), auth.email_of(make_user())).status_code == 302


def test_failures_from_one_address_cannot_lock_the_owner_out(app, make_user, auth):
    """The per-account counter is per (address, account): someone failing an official's
    login from their own address uses up only their own attempts; the official, from an
    address not itself throttled, logs in with the right password."""
    app.config["LOGIN_LIMIT_PER_ACCOUNT"] = "3 per minute"
    email = auth.email_of(make_user(role="gov", region_code="320505"))
    for _ in range(6):
        _login(app.test_client(), email, "wrong-password-1", address="203.0.113.7")
    assert _login(app.test_client(), email, address="203.0.113.7").status_code == 429
    owner = app.test_client()
    assert _login(owner, email, address="198.51.100.20").status_code == 302
    assert owner.get("/dashboard").status_code == 200
    # the owner's address has its own count: wrong passwords there are throttled too
    for _ in range(3):
        assert _login(app.test_client(), email, "wrong-password-1",
                      address="198.51.100.20").status_code == 200
    assert _login(app.test_client(), email, address="198.51.100.20").status_code == 429


def test_guessing_one_account_from_many_addresses_guards_it(app, make_user, auth, caplog):
    """Failures of one account from anywhere are counted too: past LOGIN_GUARD_PER_ACCOUNT
    the right password no longer opens it but e-mails a one-time login link, and the page is
    the same for a right and a wrong password (the guesser learns nothing)."""
    from tests.test_auth import link_path, sent_mail

    caplog.set_level(logging.INFO, logger="marketplace.email")
    app.config["LOGIN_GUARD_PER_ACCOUNT"] = "4 per hour"
    email = auth.email_of(make_user(role="gov", region_code="320505"))
    for n in range(4):  # one failure from each of four addresses: no per-address limit fires
        assert _login(app.test_client(), email, "wrong-password-1",
                      address=f"203.0.113.{n + 1}").status_code == 200
    wrong = _login(app.test_client(), email, "wrong-password-2", address="203.0.113.9")
    owner = app.test_client()
    right = _login(owner, email, address="198.51.100.20")
    assert right.status_code == wrong.status_code == 200
    def page(response) -> str:  # each client has its own CSRF token
        return re.sub(r'name="csrf_token"[^>]*>', "", response.get_data(as_text=True))

    assert page(right) == page(wrong)
    assert "一次性登录链接" in right.get_data(as_text=True)
    assert owner.get("/dashboard").status_code == 302  # not logged in
    [mail] = sent_mail(caplog, to=email)  # for the right password only
    assert mail["kind"] == "login_link"
    assert "登录" in owner.get(link_path(mail)).get_data(as_text=True)  # a GET opens nothing
    assert owner.get("/dashboard").status_code == 302
    assert owner.post(link_path(mail)).status_code == 302
    assert owner.get("/dashboard").status_code == 200
    again = app.test_client().post(link_path(mail))  # once only
    assert again.status_code == 302 and again.headers["Location"] == "/auth/login"
    other = make_user()  # other accounts are not guarded
    assert _login(app.test_client(), auth.email_of(other), address="203.0.113.1").status_code \
        == 302


def test_failed_logins_from_one_address_are_throttled(app, make_user, auth):
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "4 per minute"
    client = app.test_client()
    for n in range(4):
        assert _login(client, f"nobody{n}@example.com").status_code == 200
    assert _login(client, "nobody9@example.com").status_code == 429
    assert _login(client, auth.email_of(make_user())).status_code == 429
    assert _login(client, "nobody9@example.com", address="127.0.0.2").status_code == 200


def test_successful_logins_use_up_no_limit(app, make_user, auth):
    app.config.update(LOGIN_LIMIT_PER_ACCOUNT="2 per minute",
                      LOGIN_LIMIT_PER_ADDRESS="2 per minute")
    email = auth.email_of(make_user())
    for _ in range(5):
        assert _login(app.test_client(), email).status_code == 302


def test_registrations_from_one_address_are_throttled(app, caplog):
    app.config["REGISTER_LIMIT_PER_ADDRESS"] = "2 per minute"
    caplog.set_level(logging.INFO, logger="marketplace.email")
    data = {"role": "sme", "display_name": "王芳"}
    for n in range(2):
        response = app.test_client().post("/auth/register",
                                          data={**data, "email": f"wang{n}@example.com"})
        assert response.status_code == 302
    response = app.test_client().post("/auth/register", data={**data, "email": "li@example.com"})
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "尝试次数过多" in page and 'value="li@example.com"' in page
    assert len(sent_mail(caplog)) == 2


def test_reset_requests_from_one_address_are_throttled(app, caplog, make_user):
    app.config["FORGOT_LIMIT_PER_ADDRESS"] = "2 per minute"
    caplog.set_level(logging.INFO, logger="marketplace.email")
    make_user(email="li@example.com")
    for email in ("nobody@example.com", "li@example.com"):
        assert app.test_client().post("/auth/forgot", data={"email": email}).status_code == 302
    response = app.test_client().post("/auth/forgot", data={"email": "li@example.com"})
    assert response.status_code == 429 and "尝试次数过多" in response.get_data(as_text=True)
    assert len(sent_mail(caplog)) == 1


def test_password_guesses_from_one_address_are_throttled(app, client, make_user, auth):
    app.config["PASSWORD_LIMIT_PER_ADDRESS"] = "2 per minute"
    user = make_user()
    auth.login(user)
    change = {"new_password": "a-new-secret-77", "confirm": "a-new-secret-77"}
    for _ in range(2):
        response = client.post("/auth/password", data={**change, "current_password": "guess-1"})
        assert response.status_code == 200
    response = client.post("/auth/password", data={**change, "current_password": PASSWORD})
    assert response.status_code == 429 and "尝试次数过多" in response.get_data(as_text=True)
    with app.app_context():
        assert check_password_hash(db.session.get(User, user.id).password_hash, PASSWORD)


def test_throttling_can_be_switched_off(other_app, make_user, auth):
    relaxed = other_app(RATELIMIT_ENABLED=False,
                         LOGIN_LIMIT_PER_ACCOUNT="1 per minute",
                         LOGIN_LIMIT_PER_ADDRESS="1 per minute")
    email = auth.email_of(make_user())
    client = relaxed.test_client()
    for _ in range(5):
        assert _login(client, email, "wrong-password-1").status_code == 200
    assert _login(client, email).status_code == 302


@pytest.fixture
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis server at {REDIS_URL} ({exc}); the shared store is untested")
    return REDIS_URL


def test_workers_share_the_limits_through_redis(other_app, redis_url, make_user, auth):
    import redis

    prefix = f"zgsz-test-{uuid.uuid4().hex}"
    workers = [other_app(RATELIMIT_STORAGE_URI=redis_url, RATELIMIT_KEY_PREFIX=prefix,
                         LOGIN_LIMIT_PER_ACCOUNT="3 per minute") for _ in range(2)]
    email = auth.email_of(make_user())
    try:
        for n in range(3):  # the failures land on both workers
            assert _login(workers[n % 2].test_client(), email, "wrong-1").status_code == 200
        for worker in workers:
            assert _login(worker.test_client(), email).status_code == 429
    finally:
        store = redis.Redis.from_url(redis_url)
        keys = list(store.scan_iter(f"*{prefix}*"))
        assert keys  # the counts were kept in Redis, not in the workers
        store.delete(*keys)


# --- cookies and sessions --------------------------------------------------------------------

def test_cookies_are_httponly_lax_and_not_secure_on_plain_http(client, make_user, auth):
    cookie = auth.login(make_user()).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_cookies_are_secure_when_served_over_https(other_app, make_user, auth, monkeypatch):
    monkeypatch.setenv("MARKETPLACE_SESSION_COOKIE_SECURE", "true")  # as production sets it
    https = other_app()
    assert https.config["SESSION_COOKIE_SECURE"] is True
    assert https.config["REMEMBER_COOKIE_SECURE"] is True
    response = https.test_client().post(
        "/auth/login", data={"email": auth.email_of(make_user()), "password": PASSWORD},
        base_url="https://localhost")
    cookie = response.headers["Set-Cookie"]
    assert "; Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_login_starts_a_fresh_session(client, make_user, auth):
    with client.session_transaction() as session:
        session["planted"] = "by-someone-else"  # session fixation: a value set before login
        session["lang"] = "en"
    before = client.get_cookie("session").value
    auth.login(make_user())
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["lang"] == "en"  # the one thing kept on purpose
        assert re.fullmatch(r"\d+:[\w-]+", session["_user_id"])  # id and the account's token
    assert client.get_cookie("session").value != before
    client.set_cookie("session", before)  # the cookie from before the login
    assert client.get("/dashboard").status_code == 302


# --- request bodies --------------------------------------------------------------------------

def test_an_oversize_form_gets_the_413_page_and_writes_nothing(app, client):
    response = client.post("/auth/login", data={"email": "a@example.com",
                                                "password": "x" * (3 * 1024 * 1024)})
    assert response.status_code == 413 and "内容太大" in response.get_data(as_text=True)
    assert _count(app, AuditEntry) == 0


def test_upload_views_take_files_up_to_the_upload_limit(app):
    @accepts_upload
    def receive():
        return str(len(request.files["file"].read()))

    app.add_url_rule("/_test/upload", "test_upload", receive, methods=["POST"])
    client = app.test_client()

    def upload(path: str, size: int):
        response = client.post(path, data={"file": (io.BytesIO(b"x" * size), "a.csv")})
        response.request.environ["wsgi.input"].close()  # the test client leaves it open
        return response

    three_mb = 3 * 1024 * 1024
    response = upload("/_test/upload", three_mb)
    assert response.status_code == 200 and response.get_data(as_text=True) == str(three_mb)
    assert upload("/_test/upload", 6 * 1024 * 1024).status_code == 413
    assert upload("/auth/login", three_mb).status_code == 413  # form views: the form limit


@pytest.mark.parametrize("body", [
    lambda: {"json": {"role": "sme", "display_name": {"x": 1}, "email": 5, "password": ["a"],
                      "confirm": None}},
    lambda: {"data": {"role": "sme", "display_name": (io.BytesIO(b"<x>"), "name.txt"),
                      "email": "wang@example.com", "password": "shuzi-zhuanxing-9",
                      "confirm": "shuzi-zhuanxing-9"}},
    lambda: {"data": b"role=sme&email=wang@example.com", "content_type": "text/plain"},
], ids=["json", "file-in-a-text-field", "text-plain"])
def test_form_views_refuse_bodies_that_are_not_forms(app, client, body):
    """Flask-WTF would feed JSON values and uploaded files into text fields (a 500)."""
    response = client.post("/auth/register", **body())
    assert response.status_code == 415
    assert "不支持的提交内容" in response.get_data(as_text=True)
    assert _count(app, User) == 0


def test_nul_characters_are_refused(app, client, make_user, auth):
    """PostgreSQL text cannot hold NUL: in the path or query it is a 400 before any view; in a
    form field the field says so, and nothing is written."""
    assert client.get("/packages/?q=a%00b").status_code == 400
    assert client.get("/admin/reference/industries/C%0034").status_code == 400
    response = client.post("/auth/login", data={"email": "a\x00b@example.com",
                                                "password": "wrong-password-1"})
    assert response.status_code == 200 and "控制字符" in response.get_data(as_text=True)
    assert _count(app, AuditEntry) == 0
    assert auth.login(make_user()).status_code == 302


# --- request ids, error pages, logs ----------------------------------------------------------

def test_every_response_has_a_request_id(client):
    generated = client.get("/").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{16}", generated)
    assert client.get("/").headers["X-Request-ID"] != generated
    assert client.get("/", headers={"X-Request-ID": "lb-3f2a.9_x"}).headers["X-Request-ID"] \
        == "lb-3f2a.9_x"
    for insane in ("two words", "x" * 65, "a\u202eb", "<script>", "-leading-dash"):
        echoed = client.get("/", headers={"X-Request-ID": insane}).headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{16}", echoed), insane


@pytest.fixture
def failing_app(app):
    """Routes that fail the way real code can, registered for these tests only."""
    app.config["PROPAGATE_EXCEPTIONS"] = False  # TESTING re-raises; production does not

    def boom():
        raise RuntimeError("Traceback: password=hunter2-secret token=tok-123 in state")

    def bad_sql():
        db.session.execute(text("SELECT secret_column FROM no_such_table "
                                "WHERE password = 'hunter2-secret'"))

    app.add_url_rule("/_test/boom", "test_boom", boom)
    app.add_url_rule("/_test/sql", "test_sql", bad_sql)
    return app


@pytest.mark.parametrize("path", ["/_test/boom", "/_test/sql"])
def test_errors_show_an_id_and_no_trace_or_sql(failing_app, path, caplog):
    response = failing_app.test_client().get(path, headers={"X-Request-ID": "req-0042"})
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "错误编号" in page and "req-0042" in page
    assert response.headers["X-Request-ID"] == "req-0042"
    for leak in ("Traceback", "hunter2", "tok-123", "no_such_table", "SELECT", "secret_column",
                 "sqlalchemy", "RuntimeError", "File &#34;", 'File "', "line "):
        assert leak not in page, leak
    # the log has what operators need, under the same id, without the secrets
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures and all(r.request_id == "req-0042" for r in failures)
    assert "hunter2" not in caplog.text and "tok-123" not in caplog.text
    assert ("no_such_table" in caplog.text) == (path == "/_test/sql")


def test_every_log_record_carries_the_request_id(app, client, caplog):
    caplog.set_level(logging.INFO)

    @app.before_request
    def say_something():
        logging.getLogger("marketplace.test").info("handling %s", request.path)

    response = client.get("/packages/")
    record = next(r for r in caplog.records if r.name == "marketplace.test")
    assert record.request_id == response.headers["X-Request-ID"]
    outside = logging.getLogger("marketplace.test").makeRecord(
        "marketplace.test", logging.INFO, __file__, 1, "no request", (), None)
    assert outside.request_id == "-"


def test_a_failed_login_logs_no_password(app, client, make_user, auth, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, SQL statements included
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    user = make_user()
    auth.login(user, password="Wrong-But-Secret-8812")
    auth.login("nobody@example.com", password="Unknown-Secret-5519")
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records)  # it was on
    for record in caplog.records:
        text_of_record = record.getMessage() + (record.exc_text or "")
        assert "Secret-8812" not in text_of_record and "Secret-5519" not in text_of_record
    assert "Secret-8812" not in caplog.text and "Secret-5519" not in caplog.text


def test_careless_log_calls_are_redacted(app, caplog):
    log = logging.getLogger("marketplace.test")
    with app.test_request_context("/auth/login?next=/&token=tok-77", method="POST",
                                  data={"email": "a@example.com", "password": "pw-hunter2",
                                        "csrf_token": "csrf-abc"}):
        log.warning("login form: %s", request.form)
        log.warning("fields: %(password)s for %(email)s", {"password": "pw-hunter2",
                                                           "email": "a@example.com"})
        log.warning("query %s", request.url)
        try:
            raise ValueError("bad input password='pw-hunter2'")
        except ValueError:
            log.exception("failed")
    assert "a@example.com" in caplog.text  # what is not secret stays readable
    for secret in ("pw-hunter2", "csrf-abc", "tok-77"):
        assert secret not in caplog.text, secret


@pytest.mark.parametrize(("raw", "expected"), [
    ("password=hunter2&email=a@b.cn", "password=***&email=a@b.cn"),
    ("{'password': 'hunter2', 'email': 'a'}", "{'password': '***', 'email': 'a'}"),
    ('{"new_password": "x y z"}', '{"new_password": "***"}'),
    ("[('csrf_token', 'abc'), ('email', 'a')]", "[('csrf_token', '***'), ('email', 'a')]"),
    ("SECRET_KEY=abc123 LOG_LEVEL=INFO", "SECRET_KEY=*** LOG_LEVEL=INFO"),
    ("session_token: 9f8e7d", "session_token: ***"),
    ("Authorization: Bearer abc.def", "Authorization: ***"),
    ("Cookie: session=abc; lang=en", "Cookie: ***"),
    ("no secrets here: email=a@b.cn", "no secrets here: email=a@b.cn"),
])
def test_redact(raw, expected):
    assert redact(raw) == expected


@contextlib.contextmanager
def deadline(seconds: float):
    """Fails the block if it runs longer than ``seconds`` (a regular expression included:
    ``re`` checks for signals as it goes), instead of waiting out a quadratic one."""

    def late(signum, frame):
        raise AssertionError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, late)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


LONG = 100_000
# What made the old patterns rescan the rest of the text from each position.
HOSTILE_TEXTS = {"letters": "a" * LONG, "value": "x=" + "a" * LONG,
                 "keys": "token" * (LONG // 5), "dots": "a." * (LONG // 2),
                 "spaced keys": ("token" + " " * 999) * (LONG // 1004),
                 "quoted keys": "'token'" * (LONG // 7),
                 "long keys": ("a" * 32 + "token") * (LONG // 37),
                 "chinese": "密码" * (LONG // 2), "quotes": "'a" * (LONG // 2)}


@pytest.mark.parametrize("hostile", HOSTILE_TEXTS.values(), ids=HOSTILE_TEXTS.keys())
def test_redaction_takes_linear_time(hostile):
    with deadline(1.0):  # linear: a few hundredths of a second; quadratic: minutes
        redact(hostile)


def test_a_long_message_is_cut_and_still_redacted(caplog):
    log = logging.getLogger("marketplace.test")
    with deadline(1.0):
        log.warning("password=hunter2&q=%s", "a" * LONG)
    message = caplog.records[-1].getMessage()
    assert message.startswith("password=***&q=aaa") and "hunter2" not in message
    assert len(message) < MESSAGE_LIMIT + 100
    assert message.endswith(f" …[{len('password=hunter2&q=') + LONG - MESSAGE_LIMIT} "
                            "more characters not logged]")


def test_a_request_with_long_headers_and_query_is_logged_quickly(app, caplog):
    """An access log line holds the request line, Referer and User-Agent (gunicorn passes
    them as a dict of atoms); no length of them holds up the worker."""
    caplog.set_level(logging.INFO)

    def access_logged():
        logging.getLogger("gunicorn.access").info(
            '"%(r)s" "%(f)s" "%(a)s"',
            {"r": request.full_path, "f": request.referrer, "a": request.user_agent.string})
        return "ok"

    app.add_url_rule("/_test/logged", "test_logged", access_logged)
    with deadline(1.0):
        response = app.test_client().get(
            "/_test/logged?q=" + "a" * LONG + "&token=tok-991",
            headers={"User-Agent": "token" * (LONG // 5), "Referer": "b." * (LONG // 2)})
    assert response.status_code == 200
    record = next(r for r in caplog.records if r.name == "gunicorn.access")
    assert "more characters not logged" in record.getMessage()


# --- mass assignment -------------------------------------------------------------------------

def _extras(app, make_user, make_provider) -> dict[str, str]:
    """Fields no form offers, with the values an attacker would want."""
    other = make_user()
    with app.app_context():
        other_user = db.session.get(User, other.id)
        region = db.session.scalar(text("SELECT id FROM regions WHERE code = '320506'"))
        return {"role": "admin", "region_id": str(region), "status": "published",
                "amount_fen": "1", "owner_id": str(other.id),
                "enterprise_id": str(other_user.enterprise_id),
                "provider_id": str(make_provider(name="冒名服务商").id), "verified": "y",
                "active": "y", "is_chain_leader": "y", "standing": "preferred",
                "price_fen_override": "1", "author_id": str(other.id)}


def _values(app, query: str, **params) -> list:
    with app.app_context():
        return list(db.session.execute(text(query), params))


@pytest.mark.parametrize("form", FORM_POSTS, ids=[f.id for f in FORM_POSTS])
def test_fields_a_form_does_not_offer_are_ignored(app, form, make_user, make_provider,
                                                  make_need, make_package):
    users, ids = build_world(app, make_user, make_provider, make_need, make_package,
                             form.placeholders)
    extras = _extras(app, make_user, make_provider)
    injected = {name: value for name, value in extras.items() if name not in form.valid}
    client = client_for(app, users, form.role)
    before = snapshot(app)
    verified_before = {row[0] for row in _values(app, "SELECT id FROM providers WHERE verified")}
    leaders_query = "SELECT count(*) FROM enterprises WHERE is_chain_leader = :t"
    leaders_before = _values(app, leaders_query, t=True)[0][0]
    response = client.post(form.path.format(**ids), data=submission(form, ids, injected))
    assert form.accepted(response), response.status_code  # the valid part was accepted
    after = snapshot(app)
    other_enterprise, rival = int(extras["enterprise_id"]), int(extras["provider_id"])

    def count(query: str, **params) -> int:
        return _values(app, query, **params)[0][0]

    assert count("SELECT count(*) FROM users WHERE role = 'admin'") == 1
    for table in ("users", "subsidy_programs", "import_batches", "match_events"):
        assert count(f"SELECT count(*) FROM {table} WHERE region_id = :r",
                     r=int(extras["region_id"])) == 0, table
    for table in ("needs", "deal_requests", "orders", "typical_cases", "subsidy_claims",
                  "diagnosis_results"):
        assert count(f"SELECT count(*) FROM {table} WHERE enterprise_id = :e",
                     e=other_enterprise) == 0, table
    for table in ("packages", "deal_requests", "orders", "users", "typical_cases"):
        assert count(f"SELECT count(*) FROM {table} WHERE provider_id = :p", p=rival) == 0
    for table in ("orders", "subsidy_claims", "subsidy_ledger"):
        assert count(f"SELECT count(*) FROM {table} WHERE amount_fen = 1") == 0, table
    for table in ("needs", "typical_cases", "diagnosis_results"):
        assert count(f"SELECT count(*) FROM {table} WHERE author_id = :u",
                     u=int(extras["owner_id"])) == 0, table
    assert count("SELECT count(*) FROM api_tokens WHERE user_id = :u",
                 u=int(extras["owner_id"])) == 0
    assert count("SELECT count(*) FROM deal_requests WHERE requester_id = :u",
                 u=int(extras["owner_id"])) == 0
    assert count("SELECT count(*) FROM users WHERE active = :f", f=False) == (
        1 if form.endpoint == "admin.set_active" else 0)
    # 链主 status changes only by an official's decision or designation, or an admin's revoking
    assert count(leaders_query, t=True) == leaders_before + {
        "chains.decide": 1, "chains.designate": 1, "chains.revoke": -1}.get(form.endpoint, 0)
    assert count("SELECT count(*) FROM providers WHERE standing = 'preferred'") == (
        1 if form.endpoint == "admin.set_standing" else 0)
    verified = {row[0] for row in _values(app, "SELECT id FROM providers WHERE verified")}
    assert verified == verified_before | (
        {ids["unverified"]} if form.endpoint == "admin.verify_provider" else set())
    statuses = {"needs": "open", "packages": "draft", "deal_requests": "pending",
                "typical_cases": "draft", "subsidy_programs": "draft"}
    for table, first_status in statuses.items():
        new_rows = len(after[table]) - len(before[table])
        if new_rows > 0:
            newest = _values(app, f"SELECT status FROM {table} ORDER BY id DESC LIMIT 1")
            assert newest[0][0] == first_status, table


# --- the form fuzz on PostgreSQL -------------------------------------------------------------

def test_every_form_post_survives_odd_values_on_postgresql(database_url, request):
    """``tests/test_fuzz_forms.py`` fuzzes every form at length on SQLite, and checks that
    what SQLite kept PostgreSQL would take too (lengths, integers, NUL). This is a short pass
    of the same fuzz on PostgreSQL itself: a few examples per row, in one world for every
    row (rows that end an object come after the rows that use it), because there a world
    per row, its commits and the teardown's TRUNCATE cost most of a second."""
    if not database_url.startswith("postgresql"):
        pytest.skip("on SQLite tests/test_fuzz_forms.py fuzzes every form at length")
    app, world = request.getfixturevalue("app"), request.getfixturevalue("world")
    relax_limits(app)
    for form in FORM_POSTS:
        _short_fuzz(app, world, form)()


def _short_fuzz(app, world, form):
    # No example database: one test function serves every row.
    @settings(FUZZ, max_examples=POSTGRES_EXAMPLES, database=None)
    @given(data=st.data())
    def fuzz(data):
        note(f"form {form.id}")
        fuzz_form_post(app, world, form, data, min_changed=1)

    return fuzz


# --- stored markup is shown escaped ----------------------------------------------------------

MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_stored_markup_is_always_shown_escaped(app, world, make_need, make_package):
    users, ids = world
    with app.app_context():
        sme = db.session.get(User, users["sme"].id)
        provider = db.session.get(User, users["provider"].id)
        sme.display_name = provider.display_name = "名" + MARKUP
        sme.enterprise.name = "企业" + MARKUP
        provider.provider.name = "服务商" + MARKUP
        provider.provider.description = MARKUP
        enterprise_id, provider_id = sme.enterprise_id, provider.provider_id
        db.session.commit()
    need = make_need(enterprise_id, title="设备联网" + MARKUP, description="描述" + MARKUP * 3)
    package = make_package(provider_id, title="设备联网" + MARKUP, summary=MARKUP,
                           description="介绍" + MARKUP * 3)
    with app.app_context():
        drain_all()  # the search index shows them too
    client = client_for(app, users, "sme")
    need_form = next(form for form in FORM_POSTS if form.endpoint == "needs.create")
    posted = client.post("/needs/new", data={**filled(need_form.valid, ids),
                                             "title": "注塑" + MARKUP})
    assert posted.status_code == 302
    pages = [f"/needs/{need}", "/needs/", f"/packages/{package}", "/packages/",
             "/search/?q=设备联网", "/search/?kind=need&q=设备联网", "/dashboard",
             f"/profile/enterprise/{enterprise_id}", f"/profile/provider/{provider_id}",
             posted.headers["Location"]]
    for path in pages:
        page = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in page and "<img src=x" not in page, path
    assert "&lt;script&gt;alert" in client.get(f"/needs/{need}").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Need, need).title.endswith(MARKUP)  # stored as typed
        assert db.session.get(Package, package).summary == MARKUP


def test_error_pages_escape_what_was_asked_for(client):
    page = client.get("/needs/%3Cscript%3Ealert(1)%3C/script%3E").get_data(as_text=True)
    assert "<script>alert(1)" not in page


def test_no_template_has_inline_styles_or_handlers():
    """The CSP refuses inline styles and event handlers, so a page that has one breaks in the
    browser (only the browser journeys would see it); the templates must have none."""
    from pathlib import Path

    inline = re.compile(r"""<[^>]*\s(?:style|on[a-z]+)\s*=\s*["']""", re.IGNORECASE)
    templates = Path(__file__).parent.parent / "marketplace" / "templates"
    found = [f"{path.relative_to(templates)}: {match.group(0)[:60]}"
             for path in sorted(templates.rglob("*.html"))
             for match in inline.finditer(path.read_text(encoding="utf-8"))]
    assert not found
