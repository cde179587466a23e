"""Figures kept for a short while (services/figures.py): the landing counts, the public package
list's total and an official's dashboard are computed once per period and shown with their
time; a period of 0 keeps nothing. (The other tests run with NullCache.)"""

import re

import pytest
from sqlalchemy import event

from marketplace.extensions import cache, db
from marketplace.models import User
from marketplace.services import statistics
from tests.conftest import PASSWORD


@pytest.fixture
def kept_figures(app):
    cache.init_app(app, config={"CACHE_TYPE": "SimpleCache"})
    with app.app_context():
        cache.clear()
    yield
    cache.init_app(app, config={"CACHE_TYPE": "NullCache", "CACHE_NO_NULL_WARNING": True})


def _count(page: str, label: str) -> int:
    return int(re.search(label + r"\s*<strong>(\d+)</strong>", page).group(1))


def test_landing_counts_are_kept_for_a_minute(app, client, kept_figures, make_provider,
                                              make_package):
    provider = make_provider().id
    make_package(provider)
    assert _count(client.get("/").get_data(as_text=True), "已发布方案包") == 1
    assert "共 1 条" in client.get("/packages/").get_data(as_text=True)
    make_package(provider, title="第二个包")
    home = client.get("/").get_data(as_text=True)
    assert _count(home, "已发布方案包") == 1  # kept
    assert "第二个包" in home  # the newest packages themselves are never kept
    assert "共 1 条" in client.get("/packages/").get_data(as_text=True)
    assert "共 1 条" not in client.get("/packages/?category_code=quality").get_data(
        as_text=True)  # other filters, another count
    with app.app_context():
        cache.clear()  # what the minute's end does
    assert _count(client.get("/").get_data(as_text=True), "已发布方案包") == 2
    assert "共 2 条" in client.get("/packages/").get_data(as_text=True)


def test_a_dashboard_is_counted_once_per_period(app, kept_figures, make_user):
    official = make_user(role="gov", region_code="320500")
    with app.app_context():
        actor = db.session.get(User, official.id)
        statements = []
        listener = lambda *args: statements.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            first = statistics.dashboard(statistics.scope_for(actor))
            counted = len(statements)
            again = statistics.dashboard(statistics.scope_for(actor))
            assert again.computed_at == first.computed_at and again.funnel == first.funnel
            assert len(statements) - counted < counted / 2  # only the scope was looked up
            narrower = statistics.dashboard(statistics.scope_for(actor, category="quality"))
            assert narrower.computed_at != first.computed_at
            app.config["STATS_CACHE_SECONDS"] = 0
            fresh = statistics.dashboard(statistics.scope_for(actor))
            assert fresh.computed_at > first.computed_at
        finally:
            app.config["STATS_CACHE_SECONDS"] = 60
            event.remove(db.engine, "before_cursor_execute", listener)


def test_the_dashboard_says_when_its_figures_were_computed(app, client, kept_figures,
                                                           make_user):
    official = make_user(role="gov", region_code="320500")
    with app.app_context():
        email = db.session.get(User, official.id).email
    client.post("/auth/login", data={"email": email, "password": PASSWORD})
    page = client.get("/stats/").get_data(as_text=True)
    assert "数据时间" in page and "最多保留 60 秒" in page


def test_every_figure_has_its_definition_in_the_readme():
    """Issue 17: the README names every figure's 口径, and only figures defined once."""
    from pathlib import Path

    from marketplace.services.figures import FIGURES

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### What each figure counts (口径)"):]
    section = section[:section.index("\n## ")]
    for key, figure in FIGURES.items():
        assert figure.label._args[0] in section, key


def test_the_pages_say_what_their_need_counts_count(app, client, make_user):
    """Regression (issue 17): the home page said 企业需求 394 and the province dashboard 需求 501
    with no word on why; each now names what it counts and says its 口径."""
    home = client.get("/").get_data(as_text=True)
    assert "公开的企业需求" in home and "不含仅对接服务商可见的需求" in home
    official = make_user(role="gov", region_code="320000")
    with app.app_context():
        email = db.session.get(User, official.id).email
    client.post("/auth/login", data={"email": email, "password": PASSWORD})
    board = client.get("/dashboard").get_data(as_text=True)
    assert "本地区全部需求" in board and "公开和非公开" in board
    stats = client.get("/stats/").get_data(as_text=True)
    assert "口径：" in stats and "在获得过报价的需求中" in stats
    exported = client.get("/stats/export/funnel.csv").get_data().decode("utf-8-sig")
    assert "# 口径" not in exported.splitlines()[1]  # the filters come first
    assert "在获得过报价的需求中" in exported


def test_providers_serving_the_region_are_counted_alike_everywhere(app, make_provider,
                                                                    make_user):
    """Regression (issue 17): the official's dashboard left out providers serving everywhere
    (no region listed) while 地区统计 counted them; both now use one definition."""
    make_provider(name="全省服务商")
    make_provider(name="不限地区服务商", regions=())
    make_provider(name="南京服务商", regions=("320100",))
    official = make_user(role="gov", region_code="320505")
    with app.app_context():
        actor = db.session.get(User, official.id)
        from marketplace.services.overview import gov_overview

        assert gov_overview(actor)["providers_serving"] == 2
        assert statistics.supply(statistics.scope_for(actor)).providers == 2
