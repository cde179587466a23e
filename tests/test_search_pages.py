"""Search through the pages: kept in step with writes, visibility, facets, highlights.

Every test runs with both search backends: Whoosh, and PostgreSQL when the app's database is
PostgreSQL (the backend lives in the app's own database).
"""

import threading

import psycopg
import pytest

import search
from marketplace import create_app
from marketplace.extensions import db
from marketplace.models import Change, Need, User
from marketplace.services import search as search_service
from tests.conftest import test_config as app_config


@pytest.fixture(autouse=True, params=search.BACKENDS)
def search_backend(request, app):
    if request.param == "postgresql" and not app.config["SQLALCHEMY_DATABASE_URI"].startswith(
            "postgresql"):
        pytest.skip("the PostgreSQL search backend needs the app's database on PostgreSQL")
    app.config["SEARCH_BACKEND"] = request.param
    yield request.param
    index = app.extensions.pop("search_index", None)
    if index is not None:
        index.close()


def _search(client, **args):
    """The result page's text, with the highlight marks taken out."""
    page = client.get("/search/", query_string=args).get_data(as_text=True)
    return page.replace("<mark>", "").replace("</mark>", "")


@pytest.fixture
def provider_user(make_user, auth):
    user = make_user(role="provider")
    auth.login(user)
    return user


def _package_form(title="视觉缺陷检测一体机"):
    return {"title": title, "summary": "表面划痕自动识别", "category_code": "quality",
            "description": "工业相机加深度学习模型，在线识别冲压件表面划痕与凹坑，替代人工目检。",
            "scenario_level_codes": ["cell"], "deployment": "private", "price_fen": "68000",
            "price_unit": "per_set", "delivery_days": "30"}


def test_published_package_is_found_with_highlight_and_facets(client, app, provider_user):
    response = client.post("/packages/new", data=_package_form())
    package_url = response.headers["Location"]
    anonymous = app.test_client()
    assert "视觉缺陷检测一体机" not in _search(anonymous, q="缺陷检测")  # a draft
    assert "视觉缺陷检测一体机" in _search(client, q="缺陷检测")  # its provider sees it
    client.post(package_url + "/publish")
    page = anonymous.get("/search/", query_string={"q": "划痕"}).get_data(as_text=True)
    # The title's 缺陷检测 is marked too: the concept wording 划痕 expands to.
    assert "视觉<mark>缺陷检测</mark>一体机" in page and "<mark>划痕</mark>" in page
    assert "质量检测" in page and "(1)" in page  # the category facet with its count
    client.post(package_url + "/archive")
    assert "视觉缺陷检测一体机" not in _search(anonymous, q="划痕")


def test_edit_is_searchable_right_after_the_commit(client, provider_user):
    location = client.post("/packages/new", data=_package_form()).headers["Location"]
    client.post(location + "/edit", data=_package_form(title="注塑件尺寸在线测量"))
    page = _search(client, q="尺寸测量")
    assert "注塑件尺寸在线测量" in page


def test_markup_in_titles_is_escaped(client, provider_user):
    location = client.post("/packages/new",
                           data=_package_form(title="<b>粗体</b>检测方案")).headers["Location"]
    client.post(location + "/publish")
    page = _search(client, q="检测方案")
    assert "<b>粗体</b>" not in page and "&lt;b&gt;" in page


def test_needs_respect_visibility(app, make_user, make_enterprise, make_need, auth):
    suzhou = make_enterprise(county="320505", name="苏州某厂").id
    make_need(suzhou, title="注塑机老停机想联网", visibility="private")
    make_need(suzhou, title="仓库找不到货想上条码", category_code="warehouse_logistics")
    with app.app_context():
        search_service.drain_all()
    viewers = {
        "owner": (make_user(enterprise_id=suzhou), True),
        "other_sme": (make_user(), False),
        "provider": (make_user(role="provider"), False),
        "city": (make_user(role="gov", region_code="320500"), True),
        "other_city": (make_user(role="gov", region_code="320100"), False),
        "admin": (make_user(role="admin"), True),
    }
    for name, (user, sees_private) in viewers.items():
        client = app.test_client()
        client.post("/auth/login", data={"email": auth.email_of(user),
                                         "password": "correct-horse-42"})
        page = _search(client, kind="need", q="")
        assert ("注塑机老停机想联网" in page) is sees_private, name
        assert "仓库找不到货想上条码" in page, name
    anonymous = _search(app.test_client(), kind="need", q="")
    assert "仓库找不到货想上条码" not in anonymous  # needs are for logged-in users


def test_index_failure_never_blocks_the_write(client, app, provider_user, monkeypatch):
    with app.app_context():
        index = search_service.get_index()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(index, "apply", broken)
    response = client.post("/packages/new", data=_package_form())
    assert response.status_code == 302  # saved despite the index failure
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Change)
                                 .where(Change.indexed_at.is_(None))) == 1
    monkeypatch.undo()
    with app.app_context():
        assert search_service.drain_all() == 1
    assert "视觉缺陷检测一体机" in _search(client, q="缺陷检测")


def test_rebuild_command(runner, app, make_provider, make_package):
    provider = make_provider()
    make_package(provider.id, title="能耗在线监测", category_code="energy")
    result = runner.invoke(args=["search", "rebuild"])
    assert result.exit_code == 0 and "package: 1" in result.output
    with app.app_context():
        user_results = search_service.get_index()
        assert user_results.count("package") == 1


def test_bad_search_arguments_do_not_break_the_page(client):
    for args in ({"sort": "evil"}, {"page": "-4"}, {"kind": "users"}, {"category": "x" * 500},
                 {"q": "\x01 '\" OR 1=1 -- 质两检测"}, {"price_band": "nonsense"},
                 {"category": "'; DROP TABLE search_documents; --"}):
        assert client.get("/search/", query_string=args).status_code == 200
    # NUL characters in a query string are refused before the page (marketplace/security.py)
    assert client.get("/search/", query_string={"q": "\x00\x01"}).status_code == 400


def test_a_slow_drainer_cannot_overwrite_a_newer_version(app, make_enterprise, make_need,
                                                         make_user, monkeypatch):
    """Drainer A read a public need; meanwhile it turns private and drainer B runs. B must not
    mark the change done before A has written, or A's stale document would stay searchable."""
    need_id = make_need(make_enterprise().id, title="冲压线设备联网")
    provider = make_user(role="provider")
    monkeypatch.setattr(search_service, "DRAIN_LOCK_TIMEOUT", 0.3)
    with app.app_context():
        index = search_service.get_index()
    original, calls = index.apply, []

    def make_private_and_drain():
        with app.app_context():
            db.session.get(Need, need_id).visibility = "private"
            db.session.commit()
            calls.append(("B drained", search_service.drain(timeout=0.3)))
            db.session.remove()

    def apply(*args, **kwargs):
        if not calls:
            calls.append("A applying")
            worker = threading.Thread(target=make_private_and_drain)
            worker.start()
            worker.join()
        return original(*args, **kwargs)

    monkeypatch.setattr(index, "apply", apply)
    with app.app_context():
        search_service.drain()
        assert calls == ["A applying", ("B drained", 0)]
        search_service.drain_all()  # the queued change is indexed by the next drain
        viewer = db.session.get(User, provider.id)
        found = search_service.run_search(viewer, {"kind": "need", "text": "冲压线"})
        assert found.total == 0


def test_eliminated_providers_leave_search_and_recommendations(app, make_user, make_provider,
                                                               make_package, auth, client):
    provider = make_provider(name="将被淘汰的服务商")
    package_id = make_package(provider.id, title="注塑机联网看板")
    with app.app_context():
        search_service.drain_all()
    assert "注塑机联网看板" in _search(client, q="联网看板")
    admin = make_user(role="admin")
    auth.login(admin)
    assert client.post(f"/admin/providers/{provider.id}/standing/eliminated").status_code == 302
    assert "注塑机联网看板" not in _search(app.test_client(), q="联网看板")
    assert app.test_client().get(f"/packages/{package_id}").status_code == 404


@pytest.fixture
def postgres_only(search_backend):
    if search_backend != "postgresql":
        pytest.skip("about the PostgreSQL search backend")


def _search_tables(conn, schema: str) -> dict:
    columns = conn.execute(
        "SELECT table_name, column_name, udt_name, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_schema = %s "
        "AND table_name LIKE 'search%%' ORDER BY table_name, ordinal_position", (schema,)
    ).fetchall()
    indexes = conn.execute(
        "SELECT indexname, replace(indexdef, %s, '') FROM pg_indexes WHERE schemaname = %s "
        "AND tablename LIKE 'search%%' ORDER BY indexname", (schema + ".", schema)
    ).fetchall()
    storage = conn.execute(
        "SELECT c.relname, a.attname, a.attstorage FROM pg_attribute AS a "
        "JOIN pg_class AS c ON c.oid = a.attrelid JOIN pg_namespace AS n "
        "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname LIKE 'search%%' "
        "AND c.relkind = 'r' AND a.attnum > 0 ORDER BY 1, 2", (schema,)
    ).fetchall()
    return {"columns": columns, "indexes": indexes, "storage": storage}


def test_the_migration_creates_the_tables_the_library_expects(app, postgres_only):
    dsn = search.libpq_dsn(app.config["SQLALCHEMY_DATABASE_URI"])
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS search_ddl_check CASCADE")
        conn.execute("CREATE SCHEMA search_ddl_check")
        try:
            search.create_postgres_tables(
                psycopg.conninfo.make_conninfo(dsn, options="-c search_path=search_ddl_check"))
            migrated = _search_tables(conn, "public")
            assert migrated["columns"] and len(migrated["indexes"]) == 6
            assert ("search_documents", "tsv", "m") in migrated["storage"]
            assert _search_tables(conn, "search_ddl_check") == migrated
        finally:
            conn.execute("DROP SCHEMA search_ddl_check CASCADE")


def test_another_host_sees_a_write_at_once(app, client, auth, provider_user, postgres_only):
    """Two app servers (own processes' state, one database): a package published through one
    is found through the other, and the other's edit is found through the first."""
    other_host = create_app({**app_config(app.config["SQLALCHEMY_DATABASE_URI"]),
                             "SEARCH_BACKEND": "postgresql",
                             "SEARCH_INDEX_DIR": app.config["SEARCH_INDEX_DIR"] + "-other"})
    try:
        location = client.post("/packages/new", data=_package_form()).headers["Location"]
        client.post(location + "/publish")
        assert "视觉缺陷检测一体机" in _search(other_host.test_client(), q="缺陷检测")
        other = other_host.test_client()
        other.post("/auth/login", data={"email": auth.email_of(provider_user),
                                        "password": "correct-horse-42"})
        other.post(location + "/edit", data=_package_form(title="注塑件尺寸在线测量"))
        assert "注塑件尺寸在线测量" in _search(client, q="尺寸测量")
        assert "视觉缺陷检测一体机" not in _search(client, q="缺陷检测")
    finally:
        with other_host.app_context():
            other_host.extensions.pop("search_index").close()
            db.engine.dispose()


def test_the_postgresql_backend_refuses_an_sqlite_database(app, search_backend):
    if search_backend != "whoosh" or not app.config["SQLALCHEMY_DATABASE_URI"].startswith(
            "sqlite"):
        pytest.skip("about SEARCH_BACKEND 'postgresql' on SQLite")
    app.config["SEARCH_BACKEND"] = "postgresql"
    with app.app_context(), pytest.raises(RuntimeError, match="needs the app's database"):
        search_service.get_index()


def test_plain_words_find_partial_matches_and_the_page_says_so(client, app, make_provider,
                                                               make_package):
    provider = make_provider()
    make_package(provider.id, title="振动传感器套装", description="故障预警，提前安排检修")
    make_package(provider.id, title="扫码出入库", description="库位管理，先进先出")
    with app.app_context():
        search_service.drain_all()
    # 老是坏 is the owner's wording for 故障预警 (expansion), 发票 is in no package (fallback).
    page = _search(client, q="机器老是坏 发票")
    assert "振动传感器套装" in page and "扫码出入库" not in page
    assert "没有同时包含所有词的结果，以下为部分匹配" in page
    page = _search(client, q="扫码 库位")  # every word matches: no notice
    assert "扫码出入库" in page and "部分匹配" not in page
    page = _search(client, q="xyzzy 发票")
    assert "没有找到结果" in page and "部分匹配" not in page


# -- 可享补贴 and the after-subsidy price ---------------------------------------------------------


def _program(app, official, **rules) -> int:
    """An active program of the official's region: 50 % up to 500 yuan, budget 1000 yuan."""
    from datetime import timedelta

    from marketplace.services import deals, subsidies

    today = deals.today()
    data = subsidies.ProgramData(
        name="数字化改造补贴", policy_basis="苏工信〔2026〕1号", mode="percent", rate_bp=5000,
        fixed_fen=0, per_order_cap_fen=50_000, per_enterprise_cap_fen=80_000,
        budget_fen=100_000, starts_on=today - timedelta(days=1),
        ends_on=today + timedelta(days=30), **rules)
    with app.app_context():
        actor = db.session.get(User, official.id)
        program = subsidies.create_program(actor, data)
        subsidies.change_program_status(actor, program, "activate")
        db.session.commit()
        return program.id


def _program_step(app, official, program_id, step):
    from marketplace.models import SubsidyProgram
    from marketplace.services import subsidies

    with app.app_context():
        actor = db.session.get(User, official.id)
        program = db.session.get(SubsidyProgram, program_id)
        step(subsidies, actor, program)
        db.session.commit()
        search_service.drain_all()


def _subsidised(client, q="联网看板"):
    return _search(client, q=q, subsidy="true")


def test_the_subsidy_facet_follows_the_programs(app, client, make_user, make_provider,
                                                make_package):
    official = make_user(role="gov", region_code="320500")
    provider = make_provider(regions=("320500",))
    far = make_provider(name="只服务南京的服务商", regions=("320100",))
    make_package(provider.id, title="注塑机联网看板")
    make_package(far.id, title="南京联网看板")
    make_package(provider.id, title="免费联网看板", price_fen=0)
    with app.app_context():
        search_service.drain_all()
    assert "注塑机联网看板" not in _subsidised(client)  # no program yet: 暂无补贴
    program_id = _program(app, official)
    with app.app_context():
        search_service.drain_all()
    page = _subsidised(client)
    # Served in the program's city and not free: 可享补贴; the Nanjing-only and the free one not.
    assert "注塑机联网看板" in page
    assert "南京联网看板" not in page and "免费联网看板" not in page
    # The budget withdrawn to nothing, then back: the flag follows.
    _program_step(app, official, program_id,
                  lambda s, actor, p: s.adjust_budget(actor, p, -100_000, "预算收回"))
    assert "注塑机联网看板" not in _subsidised(client)
    _program_step(app, official, program_id,
                  lambda s, actor, p: s.adjust_budget(actor, p, 50_000, "追加预算"))
    assert "注塑机联网看板" in _subsidised(client)
    _program_step(app, official, program_id,
                  lambda s, actor, p: s.change_program_status(actor, p, "close"))
    assert "注塑机联网看板" not in _subsidised(client)


def test_a_category_rule_limits_the_facet_and_the_rebuild_keeps_it(app, client, make_user,
                                                                   make_provider, make_package):
    official = make_user(role="gov", region_code="320000")
    provider = make_provider()
    make_package(provider.id, title="注塑机联网看板")
    make_package(provider.id, title="视觉联网看板质检", category_code="quality")
    _program(app, official, categories=["quality"])
    with app.app_context():
        search_service.drain_all()
        search_service.rebuild()
    page = _subsidised(client)
    assert "视觉联网看板质检" in page and "注塑机联网看板" not in page


def test_smes_see_their_price_after_subsidy_with_the_unit(app, client, auth, make_user,
                                                          make_provider, make_package,
                                                          make_enterprise):
    official = make_user(role="gov", region_code="320505")  # the SMEs' county
    provider = make_provider()
    make_package(provider.id, title="注塑机联网看板", price_fen=60_000, price_unit="per_month")
    _program(app, official)
    with app.app_context():
        search_service.drain_all()
    anonymous = _search(client, q="联网看板")
    assert "¥600 元/月" in anonymous and "补贴后" not in anonymous
    auth.login(make_user())  # an SME in 320505: 50 % of 600, capped at 500 → 300
    page = _search(client, q="联网看板")
    assert "¥600 元/月" in page and "补贴后 ¥300 元/月" in page
    listing = client.get("/packages/").get_data(as_text=True)
    assert "补贴后 ¥300 元/月" in listing
    # Outside the program's county: the list price only.
    auth.logout()
    auth.login(make_user(enterprise_id=make_enterprise(county="320102", name="南京某厂").id))
    assert "补贴后" not in _search(client, q="联网看板")


def test_the_daily_command_follows_a_programs_end_date(app, client, runner, make_user,
                                                       make_provider, make_package):
    from datetime import timedelta

    from marketplace.models import SubsidyProgram
    from marketplace.services import deals

    official = make_user(role="gov", region_code="320000")
    make_package(make_provider().id, title="注塑机联网看板")
    program_id = _program(app, official)
    with app.app_context():
        search_service.drain_all()
        # The program ended yesterday: a date passing writes nothing the drain would see.
        db.session.get(SubsidyProgram, program_id).ends_on = deals.today() - timedelta(days=1)
        db.session.commit()
        search_service.drain_all()
    assert "注塑机联网看板" in _subsidised(client)
    result = runner.invoke(args=["search", "subsidies"])
    assert "1 programs started or ended" in result.output
    with app.app_context():
        search_service.drain_all()
    assert "注塑机联网看板" not in _subsidised(client)
