"""Fixtures: an app per test on SQLite (always) and PostgreSQL (when TEST_DATABASE_URL is set).

The schema is built once per backend by the Alembic migrations, with reference data; after each
test every other table is emptied, so tests see a clean database with real commits (needed for
concurrency tests) and no test depends on another.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable
from contextlib import contextmanager

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from marketplace import create_app, creditcode
from marketplace.extensions import db
from marketplace.models import (
    Enterprise,
    Need,
    Package,
    PackageStatus,
    Provider,
    Region,
    Role,
    User,
)
from marketplace.services.accounts import hash_password
from marketplace.services.profiles import classify_size
from marketplace.services.refdata import seed_reference_data

REFERENCE_TABLES = {
    "regions", "industries", "clusters", "cluster_industries", "categories",
    "scenario_levels", "size_classes", "alembic_version",
}
# What each backend's reference tables held once seeded (url -> table -> rows), and whether a
# test wrote to them since: the teardown then puts the seeded rows back, so a test that renames
# an industry (the admin page, the form fuzz) leaves no trace for the tests after it.
SEEDED_REFERENCE: dict[str, dict[str, list[dict]]] = {}
_REFERENCE_WRITE = re.compile(
    r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?("
    + "|".join(sorted(REFERENCE_TABLES - {"alembic_version"})) + r")\b",
    re.IGNORECASE)
_reference_touched: set[str] = set()


@event.listens_for(Engine, "before_cursor_execute")
def _note_reference_writes(conn, cursor, statement, parameters, context, executemany):
    if _REFERENCE_WRITE.match(statement):
        _reference_touched.add(str(conn.engine.url))


LEDGER_DELETE_TRIGGER = "subsidy_ledger_append_only_delete"  # migration 0016, SQLite only
PASSWORD = "correct-horse-42"
FAST_HASH = "pbkdf2:sha256:1000"  # tests only; production uses scrypt N=2^17


def test_config(url: str) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "PASSWORD_HASH_METHOD": FAST_HASH,
        "SERVER_NAME": "localhost",
        "SEARCH_REBUILD_WORKERS": 1,
        "CACHE_TYPE": "NullCache",  # figures are checked right after each write
        "CACHE_NO_NULL_WARNING": True,
    }


def _reset_postgres(app) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory) -> str:
    if request.param == "postgresql":
        url = os.environ.get("TEST_DATABASE_URL")
        if not url:
            pytest.skip("PostgreSQL tests need TEST_DATABASE_URL (set by .ci/run)")
    else:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")
    app = create_app(test_config(url))
    with app.app_context():
        if request.param == "postgresql":
            _reset_postgres(app)
        upgrade()
        seed_reference_data()
        db.session.commit()
        SEEDED_REFERENCE[url] = _reference_rows()
        _reference_touched.discard(str(db.engine.url))
        db.engine.dispose()
    return url


def _reference_tables() -> list:
    return [t for t in db.metadata.sorted_tables
            if t.name in REFERENCE_TABLES and t.name != "alembic_version"]


def _reference_rows() -> dict[str, list[dict]]:
    with db.engine.connect() as conn:
        return {t.name: [dict(row._mapping) for row in
                         conn.execute(t.select().order_by(*t.primary_key.columns))]
                for t in _reference_tables()}


def _restore_reference_rows(conn, seeded: dict[str, list[dict]]) -> None:
    """Put the seeded reference rows back (run after every other table was emptied)."""
    tables = _reference_tables()
    for table in reversed(tables):
        conn.execute(table.delete())
    for table in tables:
        if seeded[table.name]:
            conn.execute(table.insert(), seeded[table.name])


@contextmanager
def _sqlite_ledger_deletable(conn):
    """SQLite has no switch for triggers (PostgreSQL's replica role): drop the ledger's DELETE
    trigger inside the cleanup's transaction and put it back before that commits, so no other
    connection ever sees the ledger without it."""
    if conn.dialect.name != "sqlite":
        yield
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE")  # pysqlite would run the DROP outside a transaction
    trigger = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
        (LEDGER_DELETE_TRIGGER,)).scalar()
    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {LEDGER_DELETE_TRIGGER}")
    yield
    if trigger:
        conn.exec_driver_sql(trigger)


class ClosingClient(FlaskClient):
    """Reads every response to its end and closes it, as a server does (account mails leave
    when the response is closed)."""

    def open(self, *args, buffered: bool = True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app({**test_config(database_url), "SEARCH_INDEX_DIR": str(tmp_path / "search"),
                      "MATCHING_DIR": str(tmp_path / "matching"), "MATCHING_SYNC_SECONDS": 0})
    app.test_client_class = ClosingClient
    yield app
    with app.app_context():
        db.session.remove()
        tables = [t for t in reversed(db.metadata.sorted_tables)
                  if t.name not in REFERENCE_TABLES]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # The ledger's trigger refuses DELETE; as replica, this transaction fires no
                # trigger. (TRUNCATE of 35 tables took 0.07 s a test on an idle machine and
                # up to 1 s on a busy one; deleting the few rows a test wrote, 0.05 s.)
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            with _sqlite_ledger_deletable(conn):
                for table in tables:
                    conn.execute(table.delete())
            if str(conn.engine.url) in _reference_touched:
                _restore_reference_rows(conn, SEEDED_REFERENCE[database_url])
                _reference_touched.discard(str(conn.engine.url))
        db.engine.dispose()


@pytest.fixture
def ctx(app):
    """An application context for tests that call services directly."""
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def region(code: str) -> Region:
    return db.session.scalar(db.select(Region).where(Region.code == code))


@pytest.fixture
def make_enterprise(app) -> Callable[..., _Loaded]:
    rng = random.Random(7)

    def make(county: str = "320505", name: str = "苏州测试精密机械有限公司", **fields):
        with app.app_context():
            values = dict(employees=80, revenue_wan=5000, industry_code="C34",
                          cluster_code="high_end_equipment")
            values.update(fields)
            enterprise = Enterprise(
                name=name, credit_code=creditcode.generate(rng, county[:4] + "00"),
                county=region(county),
                size_class=classify_size(values["employees"], values["revenue_wan"]), **values,
            )
            db.session.add(enterprise)
            db.session.commit()
            return _Loaded(Enterprise, enterprise.id)

    return make


@pytest.fixture
def make_provider(app) -> Callable[..., _Loaded]:
    rng = random.Random(11)

    def make(name: str = "江苏测试工业互联网有限公司", verified: bool = True,
             regions: tuple[str, ...] = ("320000",), **fields) -> int:
        with app.app_context():
            values = dict(kind="platform", tier="regional")
            values.update(fields)
            provider = Provider(name=name, credit_code=creditcode.generate(rng, "320100"),
                                verified=verified,
                                regions_served=[region(code) for code in regions], **values)
            db.session.add(provider)
            db.session.commit()
            return provider.id

    def make_and_load(*args, **kwargs) -> _Loaded:
        provider_id = make(*args, **kwargs)
        return _Loaded(Provider, provider_id)

    return make_and_load


class _Loaded:
    """A handle with the id of an object made in another session; ``.id`` is all tests need."""

    def __init__(self, model, object_id: int):
        self.model, self.id = model, object_id


@pytest.fixture
def make_user(app, make_enterprise, make_provider) -> Callable[..., _Loaded]:
    counter = iter(range(1, 10_000))

    def make(role: str = Role.SME, email: str | None = None, *, company=True,
             region_code: str | None = None, enterprise_id=None, provider_id=None,
             **fields) -> _Loaded:
        n = next(counter)
        if role == Role.SME and company and enterprise_id is None:
            enterprise_id = make_enterprise(name=f"测试企业{n}有限公司").id
        if role == Role.PROVIDER and company and provider_id is None:
            provider_id = make_provider(name=f"测试服务商{n}有限公司").id
        with app.app_context():
            user = User(
                email=email or f"{role}{n}@example.com", display_name=f"用户{n}", role=role,
                password_hash=hash_password(PASSWORD), enterprise_id=enterprise_id,
                provider_id=provider_id,
                region=region(region_code) if region_code else None, **fields,
            )
            db.session.add(user)
            db.session.commit()
            return _Loaded(User, user.id)

    return make


@pytest.fixture
def make_need(app):
    def make(enterprise_id: int, title: str = "设备联网采集数据", **fields) -> int:
        with app.app_context():
            values = dict(description="车间二十台注塑机想联网，实时看到开机率和停机原因。",
                          category_code="device_monitoring", scenario_level_code="workshop",
                          visibility="public", status="open")
            values.update(fields)
            need = Need(enterprise_id=enterprise_id, title=title, **values)
            db.session.add(need)
            db.session.commit()
            return need.id

    return make


@pytest.fixture
def make_package(app):
    def make(provider_id: int, title: str = "设备联网快速上云包",
             status: str = PackageStatus.PUBLISHED, **fields) -> int:
        with app.app_context():
            values = dict(summary="三天接入，实时看开机率", category_code="device_monitoring",
                          description="边缘网关接入主流 PLC 与数控系统，云端看板展示稼动率。",
                          deployment="saas", price_fen=1_280_000, price_unit="per_year",
                          delivery_days=7)
            values.update(fields)
            package = Package(provider_id=provider_id, title=title, status=status, **values)
            db.session.add(package)
            db.session.commit()
            return package.id

    return make


class AuthActions:
    def __init__(self, client, app):
        self._client, self._app = client, app

    def login(self, user_or_email, password: str = PASSWORD):
        email = user_or_email if isinstance(user_or_email, str) else self.email_of(user_or_email)
        return self._client.post("/auth/login", data={"email": email, "password": password})

    def email_of(self, user) -> str:
        with self._app.app_context():
            return db.session.get(User, user.id).email

    def logout(self):
        return self._client.post("/auth/logout")


@pytest.fixture
def auth(client, app):
    return AuthActions(client, app)


# The web tests run on SQLite; on PostgreSQL (TEST_DATABASE_URL) only the modules whose SQL,
# locking or concurrency differs between the two databases run again, which keeps the whole run
# within minutes. A module added here runs on both.
POSTGRES_MODULES = {
    "test_audit_trail", "test_backup", "test_bench_seed", "test_chains", "test_changes",
    "test_deals", "test_eligibility", "test_events", "test_free_trials", "test_imports",
    "test_list_filters",
    "test_milestones", "test_multiworker", "test_overview", "test_ownership", "test_ranking",
    "test_recommendations", "test_schema", "test_search_pages", "test_security", "test_stats",
    "test_subsidies", "test_subsidy_model", "test_subsidy_pages",
}


def pytest_collection_modifyitems(config, items):
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("database_url") == "postgresql"
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        (dropped if on_postgres and module not in POSTGRES_MODULES else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
