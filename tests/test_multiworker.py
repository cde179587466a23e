"""Several gunicorn workers on one PostgreSQL database: what one worker writes, the others
serve — pages, search and recommendations within seconds — and rate limits count across them.

Each test starts ``gunicorn marketplace.wsgi:app`` with three workers on a free port against
the test database (:class:`marketplace.bench.serve.Gunicorn`), and tells responses apart by the
``X-Worker-PID`` header the app adds when ``EXPOSE_WORKER_PID`` is set. The login throttle test
needs Redis at 127.0.0.1:6379 (the shared limiter store) and is skipped without it.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from marketplace.bench.serve import WORKER_HEADER, Gunicorn, ServerFailed, redis_reachable
from marketplace.extensions import db
from marketplace.models import Package, Provider
from tests.conftest import FAST_HASH, PASSWORD

httpx = pytest.importorskip("httpx", reason="the multi-worker tests talk HTTP through httpx")

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
WORKERS = 3
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _gunicorn_available() -> bool:
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        return False
    return True


class Server(Gunicorn):
    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0, follow_redirects=False)


@pytest.fixture
def serve(app, tmp_path) -> Iterator[Callable[..., Server]]:
    """Starts gunicorn on the test's PostgreSQL database (with settings) and stops it after."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql"):
        pytest.skip("several workers share the PostgreSQL database (TEST_DATABASE_URL)")
    if not _gunicorn_available():
        pytest.skip("gunicorn is not installed (pip install -e .)")
    started: list[Server] = []

    def start(**settings) -> Server:
        server = Server({"DATABASE_URL": url, "SECRET_KEY": "multi-worker-test-secret",
                         "SEARCH_INDEX_DIR": tmp_path / "search",
                         "MATCHING_DIR": tmp_path / "matching", "MATCHING_SYNC_SECONDS": 1,
                         "EXPOSE_WORKER_PID": "true", "PASSWORD_HASH_METHOD": FAST_HASH,
                         **settings},
                        tmp_path / f"gunicorn-{len(started)}.log", workers=WORKERS,
                        ready_within=90)
        started.append(server)
        try:
            return server.start()
        except ServerFailed as failure:
            pytest.fail(str(failure))

    yield start
    for server in started:
        server.stop()


def login(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    token = CSRF.search(client.get("/auth/login").text).group(1)
    return client.post("/auth/login", data={"email": email, "password": password,
                                            "csrf_token": token})


def csrf(client: httpx.Client, page: str) -> str:
    return CSRF.search(client.get(page).text).group(1)


def served_by(server: Server, email: str, path: str, found: Callable[[str], bool],
              wait: float = 10.0) -> dict[int, bool]:
    """GET ``path`` many times at once, as ``email``, until every worker has answered and
    shown ``found`` (or ``wait`` seconds pass); returns, per worker pid, whether it did."""
    clients = [server.client() for _ in range(WORKERS * 2)]
    for client in clients:
        assert login(client, email).status_code == 302
    seen: dict[int, bool] = {}
    deadline = time.monotonic() + wait
    with ThreadPoolExecutor(len(clients)) as pool:
        while True:
            for response in pool.map(lambda c: c.get(path), clients):
                assert response.status_code == 200, (
                    f"{path}: {response.status_code}\n{server.log_tail()}")
                pid = int(response.headers[WORKER_HEADER])
                seen[pid] = seen.get(pid, False) or found(response.text)
            if (len(seen) == WORKERS and all(seen.values())) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    for client in clients:
        client.close()
    return seen


@pytest.fixture
def marketplace_world(app, make_user, make_provider, make_package):
    """An SME, a verified provider with one published package, and its user."""
    provider = make_provider(name="多进程测试服务商有限公司")
    make_package(provider.id, title="仓储条码管理轻应用", category_code="warehouse_logistics",
                 summary="扫码出入库", description="条码扫码出入库，库存实时可查，手机盘点。")
    sme = make_user(email="sme@multi.example")
    seller = make_user(role="provider", email="seller@multi.example", provider_id=provider.id)
    return {"sme": sme, "seller": seller, "provider": provider}


def test_a_write_through_one_worker_is_served_by_all(serve, app, marketplace_world):
    server = serve()
    word = f"量子{uuid.uuid4().hex[:6]}"  # a word no other test data has
    with server.client() as seller:
        assert login(seller, "seller@multi.example").status_code == 302
        created = seller.post("/packages/new", data={
            "csrf_token": csrf(seller, "/packages/new"),
            "title": f"注塑机{word}预测性维护包", "summary": "振动温度监测，提前预警停机",
            "description": f"给注塑机加装振动和温度传感器（{word}），AI模型提前发现轴承故障，"
                           "停机前推送维修工单，非计划停机下降三成。",
            "category_code": "device_monitoring", "scenario_level_codes": ["device", "line"],
            "deployment": "saas", "price_fen": "12800", "price_unit": "per_year",
            "delivery_days": "10"})
        assert created.status_code == 302, created.text[:2000]
        package_id = int(created.headers["location"].rstrip("/").split("/")[-1])
        published = seller.post(f"/packages/{package_id}/publish",
                                data={"csrf_token": csrf(seller, f"/packages/{package_id}")})
        assert published.status_code == 302
    with server.client() as sme:
        assert login(sme, "sme@multi.example").status_code == 302
        posted = sme.post("/needs/new", data={
            "csrf_token": csrf(sme, "/needs/new"), "title": "注塑机老是坏，想提前知道",
            "description": "车间二十台注塑机，轴承坏了才修，停机一次损失几万，想做预测性维护。",
            "category_code": "device_monitoring", "scenario_level_code": "device",
            "visibility": "public"})
        assert posted.status_code == 302, posted.text[:2000]
        need_path = posted.headers["location"]

    pages = {
        "package page": (f"/packages/{package_id}", lambda text: word in text),
        "need page with recommendations": (need_path, lambda text: word in text),
        "package search": (f"/search/?q={word}", lambda text: f"/packages/{package_id}" in text),
        "need search": ("/search/?kind=need&q=注塑机老是坏",
                        lambda text: need_path in text),
    }
    for what, (path, found) in pages.items():
        seen = served_by(server, "sme@multi.example", path, found)
        assert len(seen) >= 2, f"{what}: only one worker answered ({seen})"
        assert all(seen.values()), f"{what}: workers that did not show it: {seen}"
    with app.app_context():
        package = db.session.get(Package, package_id)
        assert package.status == "published" and package.provider_id == (
            marketplace_world["provider"].id)
        assert db.session.get(Provider, package.provider_id).verified


def test_login_throttle_counts_across_workers(serve, marketplace_world):
    """Failed logins of one account, answered by different workers, add up in Redis: with
    memory storage each worker would allow the limit on its own."""
    if not redis_reachable():
        pytest.skip("the shared rate-limit store needs Redis at 127.0.0.1:6379")
    import redis

    prefix = f"zgsz-test-{uuid.uuid4().hex[:8]}"
    server = serve(RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379", RATELIMIT_KEY_PREFIX=prefix,
                   LOGIN_LIMIT_PER_ACCOUNT="6 per minute")
    answers = []
    try:
        for _attempt in range(8):  # one after another, each on a new connection
            with server.client() as client:
                response = login(client, "sme@multi.example", "not-the-password")
                answers.append((response.status_code, int(response.headers[WORKER_HEADER])))
        with server.client() as client:
            too_late = login(client, "sme@multi.example")  # the right password, too late
    finally:
        store = redis.Redis.from_url("redis://127.0.0.1:6379")
        keys = list(store.scan_iter(f"*{prefix}*"))
        if keys:
            store.delete(*keys)
    assert [status for status, _pid in answers] == [200] * 6 + [429] * 2, answers
    assert len({pid for status, pid in answers if status == 200}) >= 2, answers
    assert too_late.status_code == 429
    assert keys  # the counts were kept in Redis, not in the workers
