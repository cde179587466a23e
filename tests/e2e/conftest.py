"""Fixtures for the browser journeys: a seeded database, a real server, Chromium, actors.

- ``world``: a fresh SQLite database in a temporary directory, migrated and seeded the way
  ``python -m marketplace`` does it (:func:`marketplace.__main__.prepare`, without the demo),
  plus what a journey may not create through the pages: an admin, a county official and a
  verified provider with published packages, all made through the services.
- ``live_server``: ``gunicorn marketplace.wsgi:app`` (the production entry point; one worker,
  four threads) on 127.0.0.1 and a port the kernel picks, against that database.
- ``chromium``: Debian's Chromium (``/usr/bin/chromium``, or ``E2E_CHROMIUM``) driven by
  Playwright, headless. Playwright never downloads a browser here; without the package or
  without Chromium every browser test is skipped with the reason.
- ``journey``: makes actors, each a browser context of its own (its own cookies) with one page;
  every console error and uncaught page error (CSP violations included) is recorded, and each
  screenshot step fails the test if any was. Screenshots go to
  ``test-artifacts/e2e/<test name>/`` at the repository root (or ``E2E_ARTIFACTS_DIR``).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from marketplace import create_app
from marketplace.extensions import db
from tests.conftest import FAST_HASH

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS_DIR", ROOT / "test-artifacts" / "e2e"))
PASSWORD = "journey-pass-2026"
TIMEOUT_MS = 15_000
SERVER_START_SECONDS = 90


@dataclass(frozen=True)
class World:
    """What exists before a journey starts (created through the services, not the pages)."""

    county_code: str = "320505"
    county_label: str = "虎丘区"
    admin_email: str = "admin@e2e.example"
    official_email: str = "official@e2e.example"
    official_name: str = "虎丘区工信局"
    provider_email: str = "seller@e2e.example"
    provider_name: str = "苏州智联工业互联网有限公司"
    package_title: str = "注塑机联网监测快速上云包"
    other_package_title: str = "空压站能耗管理系统"
    package_price_fen: int = 1_280_000
    password: str = PASSWORD

    @staticmethod
    def today() -> date:
        """Today as the app counts it (China Standard Time)."""
        return datetime.now(ZoneInfo("Asia/Shanghai")).date()

    def days_from_today(self, days: int) -> str:
        return (self.today() + timedelta(days=days)).isoformat()


# -- the database -------------------------------------------------------------------------------


def _settings(workdir: Path) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(workdir / "marketplace.db"),
        "SECRET_KEY": "e2e-journey-secret",
        "SEARCH_INDEX_DIR": str(workdir / "search"),
        "MATCHING_DIR": str(workdir / "matching"),
        "MATCHING_SYNC_SECONDS": 0,  # a need posted a moment ago is recommended for at once
        "PASSWORD_HASH_METHOD": FAST_HASH,
        "EMAIL_LOG_LINKS": "true",  # the journeys follow the mailed links from the server log
    }


def _seed(world: World) -> None:
    """An admin, the county's official, and a verified provider with two published packages."""
    from marketplace.services import accounts, packages, profiles
    from marketplace.services.accounts import NewAccount

    def account(email, name, role, region=None):
        return accounts.create_account(None, NewAccount(email, world.password, name, role, region))

    admin = account(world.admin_email, "省工信厅平台管理员", "admin")
    account(world.official_email, world.official_name, "gov", world.county_code)
    seller = account(world.provider_email, "王工", "provider")
    provider = profiles.save_provider(seller, profiles.ProviderData(
        name=world.provider_name, credit_code=_credit_code("320500", seed=5),
        kind="platform", tier="regional", description="面向苏州注塑、机加工企业的设备联网平台。",
        contact_name="王工", phone="0512-66668888", region_codes=("320000",),
        lead_enterprise_id=None))
    profiles.verify_provider(admin, provider, True)
    offers = [
        (world.package_title, "三天接入注塑机，实时看开机率和停机原因", "device_monitoring",
         ("device", "workshop"), world.package_price_fen,
         "边缘网关接入注塑机、数控机床的 PLC，云端看板实时显示开机率、停机时长和停机原因，"
         "停机超时自动推送到班组长手机。"),
        (world.other_package_title, "空压机用电分析，降低电费", "energy", ("workshop",),
         2_600_000, "电表和流量计采集空压站数据，分析加卸载和泄漏，给出节能改造建议。"),
    ]
    for title, summary, category, levels, price, description in offers:
        package = packages.create_package(seller, packages.PackageData(
            title=title, summary=summary, description=description, category_code=category,
            scenario_level_codes=levels, industry_codes=(), deployment="saas",
            price_fen=price, price_unit="per_year", delivery_days=10, free_trial=False))
        packages.change_package_status(seller, package, "publish")


def _credit_code(region_code: str, seed: int) -> str:
    import random

    from marketplace import creditcode

    return creditcode.generate(random.Random(seed), region_code)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[World, Path]:
    """The seeded database of one test module and its working directory."""
    from flask_migrate import upgrade

    from marketplace.__main__ import prepare
    from marketplace.services.refdata import seed_reference_data

    workdir = tmp_path_factory.mktemp("e2e")
    app = create_app(_settings(workdir))
    seeded = World()
    with app.app_context():
        upgrade()
        seed_reference_data()
        _seed(seeded)
        db.session.commit()
    prepare(app, demo=False)  # as the app starts: search index built, recommender saved
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return seeded, workdir


# -- the server ---------------------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log: Path

    def log_tail(self, chars: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def tracebacks(self) -> list[str]:
        """Exceptions the app logged (a 500, a failed drain …) since the server started."""
        return re.findall(r"Traceback \(most recent call last\):\n(?:[ \t].*\n)*.*",
                          self.log.read_text(errors="replace"))


def _gunicorn_command() -> list[str]:
    command = [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", "--workers", "1",
               "--threads", "4", "--timeout", "120", "--graceful-timeout", "5",
               "--log-level", "info"]
    from gunicorn.config import KNOWN_SETTINGS

    if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS):
        command.append("--no-control-socket")  # gunicorn ≥ 25: no socket in ~/.gunicorn
    return [*command, "marketplace.wsgi:app"]


def _wait_until_serving(process: subprocess.Popen, log: Path) -> str:
    deadline = time.monotonic() + SERVER_START_SECONDS
    url = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n"
                        f"{log.read_text(errors='replace')[-6000:]}")
        if url is None:
            found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)",
                              log.read_text(errors="replace"))
            url = found.group(1) if found else None
        if url is not None:
            try:
                with urllib.request.urlopen(url + "/auth/login", timeout=5) as response:
                    if response.status == 200:
                        return url
            except OSError:
                pass
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not serve within {SERVER_START_SECONDS} s:\n"
                f"{log.read_text(errors='replace')[-6000:]}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def live_server(world) -> Iterator[LiveServer]:
    pytest.importorskip("gunicorn", reason="the journeys are served by gunicorn (pip install -e .)")
    _world, workdir = world
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETPLACE_")}
    for key, value in _settings(workdir).items():
        name = "DATABASE_URL" if key == "SQLALCHEMY_DATABASE_URI" else key
        env[f"MARKETPLACE_{name}"] = str(value)
    log = workdir / "gunicorn.log"
    with log.open("wb") as output:
        process = subprocess.Popen(_gunicorn_command(), cwd=ROOT, env=env, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        server = LiveServer(_wait_until_serving(process, log), process, log)
        yield server
    finally:
        _stop(process)


# -- the browser --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser journeys need the playwright package: pip install -e '.[test]'")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"browser journeys need Chromium at {CHROMIUM} "
                    "(Debian: apt-get install chromium fonts-noto-cjk; .ci/run does this)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


class Actor:
    """One person at one browser: a context of their own (cookies) and a page whose console
    errors and uncaught errors are recorded."""

    def __init__(self, name: str, context, journey: Journey):
        self.name, self.context, self.journey = name, context, journey
        self.problems: list[str] = []
        context.on("page", self._watch)
        self.page = context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)

    def _watch(self, page) -> None:
        def console(message) -> None:
            if message.type == "error":
                where = message.location.get("url") or page.url
                self.problems.append(f"console error on {where}: {message.text}")

        page.on("console", console)
        page.on("pageerror", lambda error: self.problems.append(
            f"uncaught error on {page.url}: {error}"))

    def shot(self, step: str) -> Path:
        """Screenshot the page as the next step, then fail if any page showed an error."""
        path = self.journey.next_path(self.name, step)
        self.page.screenshot(path=str(path), full_page=True)
        self.assert_no_page_errors()
        return path

    def assert_no_page_errors(self) -> None:
        assert not self.problems, (
            f"{self.name}'s browser reported errors:\n" + "\n".join(self.problems))


class Journey:
    """The actors of one test and where their screenshots go."""

    def __init__(self, browser, base_url: str, directory: Path):
        self.browser, self.base_url, self.directory = browser, base_url, directory
        self.actors: list[Actor] = []
        self._step = 0

    def actor(self, name: str) -> Actor:
        context = self.browser.new_context(base_url=self.base_url, locale="zh-CN",
                                           viewport={"width": 1280, "height": 900})
        actor = Actor(name, context, self)
        self.actors.append(actor)
        return actor

    def next_path(self, actor: str, step: str) -> Path:
        self._step += 1
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", step).strip("-") or "step"
        return self.directory / f"{self._step:02d}-{actor}-{slug}.png"

    def close(self) -> None:
        for actor in self.actors:
            actor.context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.e2e_failed = report.failed
    return report


@pytest.fixture
def journey(request, chromium, live_server) -> Iterator[Journey]:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    directory = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    trip = Journey(chromium, live_server.url, directory)
    yield trip
    if getattr(request.node, "e2e_failed", False):
        for actor in trip.actors:
            if not actor.page.is_closed():
                actor.page.screenshot(path=str(directory / f"failed-{actor.name}.png"),
                                      full_page=True)
        print(f"\nserver log ({live_server.log}):\n{live_server.log_tail()}")
    trip.close()
    print(f"\nscreenshots: {directory}")
    request.config.stash.setdefault(_SHOT_DIRS, []).append(directory)


_SHOT_DIRS = pytest.StashKey[list]()


def pytest_terminal_summary(terminalreporter, config):
    for directory in config.stash.get(_SHOT_DIRS, []):
        terminalreporter.write_line(f"e2e screenshots: {directory}")
