"""The load benchmark: gunicorn on the seeded database, driven by concurrent logged-in clients.

Each client is a thread with its own ``httpx.Client`` (its own login cookie) playing one role —
an SME (its need pages with recommendations, search, package pages, the API), a provider (its
leads, search, package pages), an official (the statistics dashboard, need search), or a visitor
(public pages and the public API) — and picks a weighted random route after the other, for
``warmup`` seconds unmeasured and then ``duration`` seconds measured. Every response that is not
the expected status, and every failed connection, is an error. The report gives throughput and
p50/p95/p99 latency per route, the errors and which workers answered, and beside them what one
request of each route costs alone (CPU of the app and of its database backend, measured in this
process before the run): with closed-loop clients, throughput is about cores / mean CPU, and
latency about clients / throughput.

The API's own rate limit is raised for the run (it would otherwise answer 429 to a client that
calls it more than 300 times a minute, which is what a benchmark does); logins use the real
password hashing. Rate-limit counts go to Redis when it runs at 127.0.0.1:6379, as in production.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from ..extensions import db
from ..models import (
    Need,
    NeedStatus,
    Package,
    PackageStatus,
    Provider,
    Standing,
    User,
)
from .seed import BENCH_DOMAIN, BENCH_PASSWORD
from .serve import WORKER_HEADER, Gunicorn, redis_reachable
from .timing import percentile, table

TARGET_P95_MS = 300.0
NEVER_KEPT = {"LANDING_CACHE_SECONDS": 0, "STATS_CACHE_SECONDS": 0, "LEADS_CACHE_SECONDS": 0}
SEARCH_WORDS = ("设备联网", "预测性维护", "OEE", "排产", "质量检测", "视觉检测", "能耗监测",
                "仓储", "条码", "数字孪生", "安全生产", "低代码", "供应链", "客户管理",
                "注塑机", "停机", "报工", "追溯", "电费", "点检")
CATEGORIES = ("device_monitoring", "production_mgmt", "quality", "energy",
              "warehouse_logistics", "supply_chain")
# Of 16 clients: 8 SMEs, 3 providers, 3 officials (province, city, county), 2 visitors.
ROLE_CYCLE = ("sme", "sme", "provider", "sme", "gov", "sme", "visitor", "sme", "provider",
              "gov", "sme", "sme", "visitor", "provider", "gov", "sme")


@dataclass(frozen=True)
class Settings:
    database_url: str
    workdir: Path
    workers: int
    threads: int = 1
    clients: int = 16
    duration: float = 60.0
    warmup: float = 15.0
    search_backend: str | None = None
    keep_figures: bool = True  # False: LANDING/STATS/LEADS_CACHE_SECONDS = 0
    secret_key: str = "zgsz-bench-secret"
    seed: int = 2026


# -- what the clients ask for ---------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """A named kind of request; ``target`` marks the search and recommendation routes that
    the p95 ≤ 300 ms target applies to."""

    name: str
    path: Callable[[random.Random, Persona], str]
    target: bool = False


@dataclass
class Persona:
    role: str
    email: str | None
    need_ids: list[int] = field(default_factory=list)
    region_codes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Catalogue:
    """Ids the routes draw from, read once from the database."""

    package_ids: list[int]
    package_pages: int


def _word(rng: random.Random) -> str:
    return rng.choice(SEARCH_WORDS)


def routes(catalogue: Catalogue) -> dict[str, Route]:
    def package(rng, _p):
        return f"/packages/{rng.choice(catalogue.package_ids)}"

    def need(rng, persona):
        return f"/needs/{rng.choice(persona.need_ids)}"

    found = [
        Route("home", lambda rng, p: "/"),
        Route("package list", lambda rng, p: (
            f"/packages/?page={rng.randint(1, catalogue.package_pages)}")),
        Route("package page (similar packages)", package, target=True),
        Route("search page (words + facet)", lambda rng, p: (
            f"/search/?q={_word(rng)}&category={rng.choice(CATEGORIES)}"), target=True),
        Route("search page (needs)", lambda rng, p: f"/search/?kind=need&q={_word(rng)}",
              target=True),
        Route("need page (recommendations)", need, target=True),
        Route("provider leads (recommendations)", lambda rng, p: "/packages/leads", target=True),
        Route("stats dashboard", lambda rng, p: (
            f"/stats/?region_code={rng.choice(p.region_codes)}" if p.region_codes
            else "/stats/")),
        Route("GET /api/v1/packages", lambda rng, p: (
            f"/api/v1/packages?category_code={rng.choice(CATEGORIES)}&limit=20")),
        Route("GET /api/v1/search", lambda rng, p: (
            f"/api/v1/search?q={_word(rng)}&category={rng.choice(CATEGORIES)}"), target=True),
        Route("GET /api/v1/needs/{id}/recommendations", lambda rng, p: (
            f"/api/v1/needs/{rng.choice(p.need_ids)}/recommendations"), target=True),
    ]
    return {route.name: route for route in found}


MIX = {  # role -> route name -> weight
    "sme": {"home": 1, "package list": 1, "package page (similar packages)": 3,
            "search page (words + facet)": 3, "search page (needs)": 1,
            "need page (recommendations)": 3, "GET /api/v1/packages": 1,
            "GET /api/v1/search": 1, "GET /api/v1/needs/{id}/recommendations": 1},
    "provider": {"home": 1, "provider leads (recommendations)": 2,
                 "search page (words + facet)": 2, "search page (needs)": 2,
                 "package page (similar packages)": 2, "GET /api/v1/packages": 1},
    "gov": {"home": 1, "stats dashboard": 1, "search page (needs)": 2,
            "search page (words + facet)": 1},
    "visitor": {"home": 2, "package list": 2, "package page (similar packages)": 3,
                "search page (words + facet)": 3, "GET /api/v1/search": 1,
                "GET /api/v1/packages": 1},
}


def catalogue_and_personas(app, clients: int, seed: int) -> tuple[Catalogue, list[Persona]]:
    rng = random.Random(seed)
    with app.app_context():
        public = select(Package.id).join(Package.provider).where(
            Package.status == PackageStatus.PUBLISHED, Provider.verified.is_(True),
            Provider.standing != Standing.ELIMINATED).order_by(Package.id)
        ids = list(db.session.scalars(public))
        catalogue = Catalogue(rng.sample(ids, min(len(ids), 5000)),
                              max(1, min(50, len(ids) // 20)))
        users = {u.email: u for u in db.session.scalars(
            select(User).where(User.email.like(f"%@{BENCH_DOMAIN}")).order_by(User.id))}
        by_role = defaultdict(list)
        for user in users.values():
            by_role[user.role].append(user)
        personas = []
        for n in range(clients):
            role = ROLE_CYCLE[n % len(ROLE_CYCLE)]
            personas.append(_persona(role, by_role, n))
        db.session.remove()
    return catalogue, personas


def _persona(role: str, by_role: dict, n: int) -> Persona:
    if role == "visitor":
        return Persona("visitor", None)
    pool = by_role[role]
    if role == "gov":  # province, then cities, then counties in turn
        levels = {"province": [], "city": [], "county": []}
        for user in pool:
            levels[user.region.level].append(user)
        order = [levels["province"], levels["city"], levels["county"]]
        group = order[n % 3]
        user = group[(n // 3) % len(group)]
        below = [r.code for r in user.region.children]
        return Persona("gov", user.email, region_codes=below)
    user = pool[n % len(pool)]
    persona = Persona(role, user.email)
    if role == "sme":
        persona.need_ids = list(db.session.scalars(
            select(Need.id).where(Need.enterprise_id == user.enterprise_id,
                                  Need.status == NeedStatus.OPEN).order_by(Need.id)))
        if not persona.need_ids:
            raise SystemExit(f"{user.email} has no open need: seed with this tool")
    return persona


# -- running --------------------------------------------------------------------------------


@dataclass
class Sample:
    route: str
    ms: float
    status: int
    pid: int | None


@dataclass
class Outcome:
    samples: list[Sample]
    errors: list[str]
    seconds: float
    settings: Settings
    workers_seen: set[int]
    target_routes: set[str]
    costs: dict[str, tuple[float, float, int]]  # route -> app CPU ms, database CPU ms, queries


def _login(client, email: str) -> None:
    page = client.get("/auth/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    answer = client.post("/auth/login", data={"email": email, "password": BENCH_PASSWORD,
                                              "csrf_token": token})
    if answer.status_code != 302:
        raise RuntimeError(f"could not log in as {email}: {answer.status_code}")


@dataclass
class Clock:
    """When the clients start (all logged in), start measuring and stop."""

    ready: threading.Barrier
    warmup: float
    duration: float
    measure_from: float = 0.0
    until: float = 0.0

    def start(self) -> None:  # the barrier's action: runs once, when every client is in
        self.measure_from = time.monotonic() + self.warmup
        self.until = self.measure_from + self.duration


def _drive(url: str, persona: Persona, table_: dict[str, Route], clock: Clock, seed: int,
           samples: list[Sample], errors: list[str]) -> None:
    import httpx

    rng = random.Random(seed)
    mix = MIX[persona.role]
    names, weights = list(mix), list(mix.values())
    with httpx.Client(base_url=url, timeout=30.0, follow_redirects=False) as client:
        try:
            if persona.email:
                _login(client, persona.email)
        finally:
            clock.ready.wait()
        while (now := time.monotonic()) < clock.until:
            route = table_[rng.choices(names, weights)[0]]
            path = route.path(rng, persona)
            started, detail = time.perf_counter(), ""
            try:
                response = client.get(path)
                status, pid = response.status_code, response.headers.get(WORKER_HEADER)
            except httpx.HTTPError as failure:
                status, pid = -1, None
                detail = type(failure).__name__
            ms = (time.perf_counter() - started) * 1000
            if now < clock.measure_from:
                continue
            samples.append(Sample(route.name, ms, status, int(pid) if pid else None))
            if status != 200:
                errors.append(f"{route.name} {path}: "
                              f"{detail if status == -1 else status}")


def _all_workers_up(server: Gunicorn, workers: int, within: float = 600.0) -> int:
    """Ask until every worker has answered (each loads its recommender before its first
    request); returns how many did."""
    import httpx

    seen: set[str] = set()
    deadline = time.monotonic() + within
    with httpx.Client(base_url=server.url, timeout=60.0) as client:
        while len(seen) < workers and time.monotonic() < deadline:
            batch = [threading.Thread(target=lambda: seen.add(
                client.get("/auth/login").headers.get(WORKER_HEADER, ""))) for _ in
                range(workers * 2)]
            for thread in batch:
                thread.start()
            for thread in batch:
                thread.join()
    return len(seen - {""})


def _server_settings(settings: Settings) -> dict[str, object]:
    found = {
        "DATABASE_URL": settings.database_url, "SECRET_KEY": settings.secret_key,
        "SEARCH_INDEX_DIR": settings.workdir / "search",
        "MATCHING_DIR": settings.workdir / "matching",
        "API_RATE_LIMIT": "1000000 per minute", "LOG_LEVEL": "WARNING",
    }
    if settings.search_backend:
        found["SEARCH_BACKEND"] = settings.search_backend
    if not settings.keep_figures:
        found.update(NEVER_KEPT)
    if redis_reachable():  # as in production: limits and kept figures shared by the workers
        run = int(time.time())
        found["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:6379"
        found["RATELIMIT_KEY_PREFIX"] = f"zgsz-bench-{run}"
        found.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL="redis://127.0.0.1:6379/1",
                     CACHE_KEY_PREFIX=f"zgsz-bench-{run}:")
    return found


def profile_routes(app, table_: dict[str, Route], personas: list[Persona],
                   seed: int) -> dict[str, tuple[float, float, int]]:
    """Each route once per role, alone, in this process (the Flask test client, after one
    untimed call): CPU ms of the app and of its PostgreSQL backend, and statements sent. What a
    request costs without queueing: the machine's capacity is about cores / mean CPU."""
    from sqlalchemy import event

    from .dashboard import BackendCpu

    backend, statements = BackendCpu(app), [0]
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *_a: statements.__setitem__(
            0, statements[0] + 1))
    found: dict[str, tuple[float, float, int]] = {}
    rng = random.Random(seed)
    for persona in {p.role: p for p in personas}.values():
        client = app.test_client()
        if persona.email:
            with app.app_context():
                user_id = db.session.scalar(select(User).where(
                    User.email == persona.email)).get_id()
            with client.session_transaction() as session:
                session["_user_id"], session["_fresh"] = user_id, True
        for name in MIX[persona.role]:
            if name in found:
                continue
            path = table_[name].path(rng, persona)
            client.get(path)
            statements[0], cpu, served = 0, time.process_time(), backend.now()
            client.get(path)
            db_ms = backend.now() - served if served is not None else float("nan")
            found[name] = ((time.process_time() - cpu) * 1000, db_ms, statements[0])
    return found


def run(settings: Settings, log=print) -> Outcome:
    from .database import bench_app

    app = bench_app(settings.database_url, SEARCH_INDEX_DIR=str(settings.workdir / "search"),
                    MATCHING_DIR=str(settings.workdir / "matching"),
                    API_RATE_LIMIT="1000000 per minute",
                    **({} if settings.keep_figures else NEVER_KEPT),
                    SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0,
                                               "pool_pre_ping": True, "hide_parameters": True})
    catalogue, personas = catalogue_and_personas(app, settings.clients, settings.seed)
    table_ = routes(catalogue)
    log("one request of each route, alone, in this process …")
    costs = profile_routes(app, table_, personas, settings.seed)
    server = Gunicorn(_server_settings(settings), settings.workdir / "gunicorn.log",
                      workers=settings.workers, threads=settings.threads, ready_within=900)
    log(f"starting gunicorn ({settings.workers} workers × {settings.threads} threads), "
        f"log {server.log} …")
    with server:
        log(f"serving on {server.url}; {settings.clients} clients, {settings.warmup:.0f} s "
            f"warm-up, {settings.duration:.0f} s measured …")
        booted = _all_workers_up(server, settings.workers)
        log(f"{booted} of {settings.workers} workers answered; logging the clients in …")
        samples: list[Sample] = []
        errors: list[str] = []
        clock = Clock(None, settings.warmup, settings.duration)
        clock.ready = threading.Barrier(len(personas), action=clock.start)
        threads = [threading.Thread(
            target=_drive, args=(server.url, persona, table_, clock, settings.seed + i,
                                 samples, errors), daemon=True)
            for i, persona in enumerate(personas)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=settings.warmup + settings.duration + 300)
        if any(thread.is_alive() for thread in threads):
            errors.append("a client did not finish in time")
    workers_seen = {s.pid for s in samples if s.pid}
    return Outcome(samples, errors, settings.duration, settings, workers_seen,
                   {name for name, route in table_.items() if route.target}, costs)


def report(outcome: Outcome) -> str:
    by_route: dict[str, list[Sample]] = defaultdict(list)
    for sample in outcome.samples:
        by_route[sample.route].append(sample)
    rows = []
    for name in sorted(by_route, key=lambda n: -len(by_route[n])):
        found = by_route[name]
        ms = [s.ms for s in found]
        errors = sum(1 for s in found if s.status != 200)
        target = ""
        if name in outcome.target_routes:
            target = "✓" if percentile(ms, 95) <= TARGET_P95_MS else "✗"
        app_ms, db_ms, queries = outcome.costs.get(name, (float("nan"),) * 2 + (0,))
        rows.append((name, len(found), len(found) / outcome.seconds, percentile(ms, 50),
                     percentile(ms, 95), percentile(ms, 99), max(ms), errors, target,
                     app_ms + db_ms, queries))
    every = [s.ms for s in outcome.samples]
    rows.append(("all", len(every), len(every) / outcome.seconds, percentile(every, 50),
                 percentile(every, 95), percentile(every, 99), max(every, default=0.0),
                 len(outcome.errors), "", float("nan"), ""))
    settings = outcome.settings
    head = (f"{settings.clients} clients, {settings.workers} gunicorn workers × "
            f"{settings.threads} threads, figures "
            f"{'kept 60 s' if settings.keep_figures else 'never kept'}, "
            f"{settings.duration:.0f} s measured after "
            f"{settings.warmup:.0f} s warm-up; {len(outcome.workers_seen)} workers answered; "
            f"{len(outcome.errors)} errors")
    text = table(("route", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms",
                  "errors", f"p95 ≤ {TARGET_P95_MS:.0f} ms", "alone: CPU ms", "queries"), rows)
    shown = "\n".join(f"  {e}" for e in outcome.errors[:20])
    return f"{head}\n\n{text}" + (f"\n\nfirst errors:\n{shown}" if shown else "")
