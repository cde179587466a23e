"""The dashboard benchmark: how long officials wait for their region's statistics.

Times :func:`marketplace.services.statistics.dashboard` for the province, a city and a county,
each unfiltered and with a period and category filter, ``repeat`` times after ``warmup``
untimed calls, and the whole ``/stats/`` page through the Flask test client logged in as the
official of that region. Every call runs in a fresh session, as a request would.

Besides the wall time it reports the CPU time each call used — this process plus the
PostgreSQL backend that served it (``/proc/<pid>/schedstat``, when the server runs on this
host) — which is what the wall time would be on an otherwise idle machine: on a shared one,
other processes' work inflates the wall time but not the CPU time. (The app's pool is one
connection for the run, so one backend serves every query; parallel query workers, if the
planner starts any, are not counted.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import select, text

from ..extensions import db
from ..models import Region, User
from ..services import statistics
from .seed import BENCH_DOMAIN
from .timing import percentile, table

TARGET_MS = 500.0
CITY, CATEGORY = "320500", "quality"  # Suzhou: the most needs; a common category


@dataclass(frozen=True)
class Case:
    name: str
    official: str  # region code of the official who looks
    filters: dict


@dataclass(frozen=True)
class Result:
    case: str
    samples_ms: list[float]
    cpu_ms: list[float]  # empty when the database's backend cannot be observed

    @property
    def p50(self) -> float:
        return percentile(self.samples_ms, 50)

    @property
    def p95(self) -> float:
        return percentile(self.samples_ms, 95)

    @property
    def cpu_p50(self) -> float:
        return percentile(self.cpu_ms, 50)


class BackendCpu:
    """CPU milliseconds used by the PostgreSQL backend of the app's single pooled connection
    (None when the server is not on this host or /proc is not readable)."""

    def __init__(self, app: Flask):
        with app.app_context():
            pid = db.session.scalar(text("SELECT pg_backend_pid()"))
            db.session.remove()
        self.path = Path(f"/proc/{pid}/schedstat")

    def now(self) -> float | None:
        try:
            return int(self.path.read_text().split()[0]) / 1e6
        except (OSError, ValueError):
            return None


def cases(app: Flask) -> list[Case]:
    """Province, the city with most needs and its first county; plain and filtered."""
    with app.app_context():
        county = db.session.scalar(
            select(Region.code).join(User, User.region_id == Region.id)
            .where(Region.level == "county", Region.code.like(CITY[:4] + "%"),
                   User.email.like(f"%@{BENCH_DOMAIN}")).order_by(Region.code))
    today = date.today()
    period = {"start": today - timedelta(days=365), "end": today, "category": CATEGORY}
    found = []
    for label, code in (("province", "320000"), ("city", CITY), ("county", county)):
        found.append(Case(f"{label} {code}", code, {}))
        found.append(Case(f"{label} {code}, last 12 months, {CATEGORY}", code, period))
    return found


def _official(code: str) -> User:
    user = db.session.scalar(select(User).where(User.email == f"gov-{code}@{BENCH_DOMAIN}"))
    if user is None:
        raise SystemExit(f"no seeded official for {code}: seed the database with this tool")
    return user


def _timed(app: Flask, call: Callable[[], object], repeat: int,
           warmup: int) -> tuple[list[float], list[float]]:
    backend = BackendCpu(app)
    samples, cpu = [], []
    for i in range(warmup + repeat):
        with app.app_context():
            started, used, served = time.perf_counter(), time.process_time(), backend.now()
            call()
            elapsed = (time.perf_counter() - started) * 1000
            used = (time.process_time() - used) * 1000
            served = backend.now() - served if served is not None else None
            db.session.remove()
        if i >= warmup:
            samples.append(elapsed)
            if served is not None:
                cpu.append(used + served)
    return samples, cpu


def time_service(app: Flask, case: Case, repeat: int, warmup: int) -> Result:
    def call():
        actor = _official(case.official)
        return statistics.dashboard(statistics.scope_for(actor, **case.filters))

    return Result(f"dashboard() {case.name}", *_timed(app, call, repeat, warmup))


def time_page(app: Flask, case: Case, repeat: int, warmup: int) -> Result:
    """The whole page: routing, the form, the figures, tables, charts and the template."""
    client = app.test_client()
    with app.app_context():
        user_id = _official(case.official).get_id()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = user_id, True
    query = "&".join(f"{k}={v}" for k, v in case.filters.items())

    def call():
        response = client.get(f"/stats/?{query}")
        if response.status_code != 200:
            raise RuntimeError(f"/stats/?{query} answered {response.status_code}")

    return Result(f"GET /stats/ {case.name}", *_timed(app, call, repeat, warmup))


def run(app: Flask, repeat: int = 20, warmup: int = 3, log=print) -> list[Result]:
    results = []
    for case in cases(app):
        for timer in (time_service, time_page):
            result = timer(app, case, repeat, warmup)
            log(f"  {result.case}: p50 {result.p50:.0f} ms, p95 {result.p95:.0f} ms, "
                f"CPU p50 {result.cpu_p50:.0f} ms")
            results.append(result)
    return results


def report(results: list[Result]) -> str:
    rows = [(r.case, len(r.samples_ms), r.p50, r.p95, max(r.samples_ms), r.cpu_p50,
             "✓" if r.p95 <= TARGET_MS else "✗") for r in results]
    return table(("case", "n", "p50 ms", "p95 ms", "max ms", "CPU p50 ms",
                  f"p95 ≤ {TARGET_MS:.0f} ms"), rows)
