"""Region statistics against a hand-computed fixture, seen from a county, a city and the
province, with filters, drill-down, exports and the refusals."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from marketplace.extensions import db
from marketplace.models import (
    DealRequest,
    Enterprise,
    LedgerEntry,
    Order,
    Provider,
    Quote,
    SubsidyClaim,
    SubsidyProgram,
    User,
)
from marketplace.services import statistics
from marketplace.services.regions import region_by_code
from tests.conftest import AuthActions


def at(day: str, hours: float = 0) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(hours=hours)


@pytest.fixture
def region_world(app, make_enterprise, make_provider, make_package, make_need, make_user):
    """Five needs (see the module's tests for what each is) and the officials who look."""
    leader = make_enterprise(name="链主集团", county="320505", is_chain_leader=True).id
    a = make_enterprise(name="甲企业", county="320505", chain_leader_id=leader).id
    b = make_enterprise(name="乙企业", county="320506", chain_leader_id=leader,
                        industry_code="C27", cluster_code="biomed").id
    c = make_enterprise(name="丙企业", county="320102").id
    platform = make_provider(name="链主平台", lead_enterprise_id=leader).id
    other = make_provider(name="别家服务商").id
    platform_package = make_package(platform)
    other_package = make_package(other, title="别家的包")
    n1 = make_need(a, title="需求一", created_at=at("2026-03-05"))
    make_need(a, title="需求二", category_code="quality", created_at=at("2026-04-01"))
    n3 = make_need(b, title="需求三", created_at=at("2026-04-02"))
    n4 = make_need(b, title="需求四", category_code="quality", created_at=at("2026-05-01"))
    n5 = make_need(c, title="需求五", category_code="energy", created_at=at("2026-05-02"),
                   status="in_progress")
    with app.app_context():
        def deal(need, enterprise, package, provider, asked, quoted=None, ordered=None,
                 status="placed"):
            request = DealRequest(need_id=need, package_id=package, enterprise_id=enterprise,
                                  provider_id=provider, created_at=asked,
                                  status="ordered" if ordered else "pending")
            db.session.add(request)
            db.session.flush()
            if quoted:
                db.session.add(Quote(request_id=request.id, price_fen=600_000, scope="范围",
                                     delivery_days=5, valid_until=date(2026, 12, 31),
                                     created_at=quoted))
            if ordered:
                order = Order(need_id=need, request_id=request.id, package_id=package,
                              enterprise_id=enterprise, provider_id=provider,
                              amount_fen=600_000, scope="范围", delivery_days=5,
                              due_date=date(2026, 12, 31), created_at=ordered, status=status)
                db.session.add(order)
                db.session.flush()
                return order

        order1 = deal(n1, a, platform_package, platform, at("2026-03-05", 24),
                      at("2026-03-05", 48), at("2026-03-05", 120))
        deal(n3, b, other_package, other, at("2026-04-02", 10))
        deal(n4, b, other_package, other, at("2026-05-01", 30), at("2026-05-01", 40),
             at("2026-05-01", 50), status="cancelled")
        deal(n5, c, other_package, other, at("2026-05-02", 5), at("2026-05-02", 6),
             at("2026-05-02", 7))
        county = region_by_code("320505")
        program = SubsidyProgram(region_id=county.id, name="县补贴", mode="percent", rate_bp=5000,
                                 per_order_cap_fen=3000_00, per_enterprise_cap_fen=3000_00,
                                 starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31),
                                 status="active")
        db.session.add(program)
        db.session.flush()
        db.session.add(LedgerEntry(program_id=program.id, kind="adjust", amount_fen=10000_00))
        claim = SubsidyClaim(program_id=program.id, order_id=order1.id, enterprise_id=a,
                             year=2026, order_amount_fen=600_000, amount_fen=3000_00)
        db.session.add(claim)
        db.session.flush()
        db.session.add(LedgerEntry(program_id=program.id, claim_id=claim.id, kind="reserve",
                                   amount_fen=3000_00))
        db.session.commit()
    return {"county": make_user(role="gov", region_code="320505"),
            "other_county": make_user(role="gov", region_code="320506"),
            "city": make_user(role="gov", region_code="320500"),
            "province": make_user(role="gov", region_code="320000"),
            "sme": make_user(), "admin": make_user(role="admin")}


def dashboard(app, user, **filters):
    with app.app_context():
        actor = db.session.get(User, user.id)
        return statistics.dashboard(statistics.scope_for(actor, **filters))


def test_the_county_sees_its_county(app, region_world):
    data = dashboard(app, region_world["county"])
    f = data.funnel
    assert (f.posted, f.matched, f.converted, f.open_unmatched) == (2, 1, 1, 1)
    assert (f.median_hours_to_request, f.median_hours_to_quote,
            f.median_hours_to_order) == (24, 48, 120)
    assert [(r.key, r.posted, r.matched, r.converted) for r in data.monthly] == [
        ("2026-03", 1, 1, 1), ("2026-04", 1, 0, 0)]
    assert data.regions == []
    assert [(c.leader, c.members, c.adopted) for c in data.chains] == [("链主集团", 1, 1)]
    assert [(p.label, p.budget_fen, p.reserved_fen, p.claims) for p in data.programs] == [
        ("县补贴", 1_000_000, 300_000, 1)]
    assert {s.key: s.reserved_fen for s in data.sizes}["small"] == 300_000


def test_the_city_sees_its_counties(app, region_world):
    data = dashboard(app, region_world["city"])
    f = data.funnel
    assert (f.posted, f.matched, f.converted) == (4, 3, 1)
    # both medians over the needs that got a quote (需求一 and 需求四), one cohort
    assert f.median_hours_to_request == 27  # of 24 and 30 hours
    assert f.median_hours_to_quote == 44  # of 48 and 40
    assert f.match_rate == 0.75 and f.conversion_rate == 0.25
    rows = {r.key: (r.posted, r.matched, r.converted) for r in data.regions}
    assert rows["320505"] == (2, 1, 1) and rows["320506"] == (2, 2, 0)
    assert sum(r.posted for r in data.regions) == 4
    # unmet: open needs without a live order (the cancelled order's need is open again)
    assert [(r.key, r.posted, r.matched) for r in data.unmet] == [
        ("quality", 2, 1), ("device_monitoring", 1, 1)]
    assert [(c.members, c.adopted) for c in data.chains] == [(2, 1)]


def test_the_province_sees_everything(app, region_world):
    data = dashboard(app, region_world["province"])
    assert (data.funnel.posted, data.funnel.matched, data.funnel.converted) == (5, 4, 2)
    rows = {r.key: (r.posted, r.matched, r.converted) for r in data.regions}
    assert rows["320100"] == (1, 1, 1) and rows["320500"] == (4, 3, 1)
    assert len(data.regions) == 13


def test_filters(app, region_world):
    city = region_world["city"]
    device = dashboard(app, city, category="device_monitoring").funnel
    assert (device.posted, device.matched, device.converted) == (2, 2, 1)
    april = dashboard(app, city, start=date(2026, 4, 1), end=date(2026, 4, 30)).funnel
    assert (april.posted, april.matched) == (2, 1)
    biomed = dashboard(app, city, cluster="biomed")
    assert biomed.funnel.posted == 2
    assert [(c.members, c.adopted) for c in biomed.chains] == [(1, 0)]
    assert dashboard(app, city, industry="C27").funnel.posted == 2
    assert dashboard(app, city, level="factory").funnel.posted == 0
    drill = dashboard(app, city, region_code="320505")
    assert drill.funnel.posted == 2 and drill.scope.region.code == "320505"


def test_regions_outside_are_not_found(app, region_world):
    from marketplace.services.errors import NotFound

    with app.app_context():
        for who, code in (("county", "320500"), ("county", "320506"), ("city", "320100")):
            with pytest.raises(NotFound):
                statistics.scope_for(db.session.get(User, region_world[who].id), code)
        with pytest.raises(NotFound):
            statistics.scope_for(db.session.get(User, region_world["sme"].id))


def login(app, user):
    client = app.test_client()
    assert AuthActions(client, app).login(user).status_code == 302
    return client


def test_pages_and_exports(app, region_world):
    city = login(app, region_world["city"])
    page = city.get("/stats/").get_data(as_text=True)
    assert "苏州市" in page and 'data-chart="' in page and "chart.umd.min.js" in page
    assert city.get("/stats/?region_code=320505").status_code == 200
    outside = city.get("/stats/?region_code=320100")  # not offered: refused beside the field
    assert outside.status_code == 400 and "南京市" not in outside.get_data(as_text=True)
    bad = city.get("/stats/?start=2026-05-01&end=2026-04-01")
    assert bad.status_code == 400 and "结束日期不能早于开始日期" in bad.get_data(as_text=True)

    response = city.get("/stats/export/regions.csv?category=device_monitoring")
    assert response.status_code == 200
    text = response.get_data().decode("utf-8-sig")
    # the filter is named in the file and its name, by its label (issue 17: codes were shown)
    assert "设备联网与监测" in text and "device_monitoring" not in text
    disposition = unquote(response.headers["Content-Disposition"])
    assert "设备联网与监测" in disposition and "device_monitoring" not in disposition
    page = city.get("/stats/?cluster=biomed&level=workshop").get_data(as_text=True)
    assert "产业集群：生物医药" in page and "场景层级：车间" in page and "：biomed" not in page
    rows = [r for r in csv.reader(io.StringIO(text)) if r and not r[0].startswith("#")]
    assert rows[0][:4] == ["地区", "发布需求", "已对接", "已成交"]
    assert ["虎丘区", "1", "1", "1", "100.0%", "100.0%"] in rows
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]

    book = load_workbook(io.BytesIO(city.get("/stats/export/all.xlsx").data))
    assert len(book.sheetnames) == 8
    cells = [c for row in book[book.sheetnames[0]].iter_rows(values_only=True) for c in row]
    assert "苏州市" in " ".join(str(c) for c in cells if c)
    assert 4 in cells  # needs posted
    assert city.get("/stats/export/all.csv").status_code == 404

    report = city.get("/stats/report?year=2026").get_data(as_text=True)
    assert "2026 年中小企业数字化转型供需对接年度报告" in report and "链主平台" in report
    assert login(app, region_world["sme"]).get("/stats/").status_code == 403
    assert login(app, region_world["admin"]).get("/stats/?region_code=320102").status_code == 200


def test_an_enterprise_in_a_county_of_another_city_is_not_counted(app, region_world):
    with app.app_context():
        moved = db.session.scalar(db.select(Enterprise).where(Enterprise.name == "乙企业"))
        moved.county = region_by_code("320102")
        db.session.commit()
        assert db.session.scalar(db.select(Provider.id).where(Provider.name == "链主平台"))
    assert dashboard(app, region_world["city"]).funnel.posted == 2


# Names a link sets itself (name, fmt), url_for's own (endpoint, _anchor …) and a view's.
CLASHING_QUERIES = ["name=x", "fmt=csv", "fmt=x", "name=regions&fmt=xlsx", "endpoint=x",
                    "_anchor=x", "_external=1", "_method=POST", "region_code=320505&name=all",
                    "year=2026&fmt=x&name=x"]


def test_query_arguments_named_like_url_for_arguments_are_harmless(app, region_world):
    city = login(app, region_world["city"])
    for path in ("/stats/", "/stats/report"):
        for query in CLASHING_QUERIES:
            response = city.get(f"{path}?{query}")
            assert response.status_code in (200, 400), (path, query)
            page = response.get_data(as_text=True)
            assert "/stats/export/x." not in page and "#x" not in page, (path, query)
    page = city.get("/stats/?category=device_monitoring&name=x&fmt=x").get_data(as_text=True)
    assert "/stats/export/regions.csv?category=device_monitoring" in page  # the filter kept
    assert "/stats/export/all.xlsx?category=device_monitoring" in page


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(query=st.dictionaries(st.text(st.characters(codec="utf-8", exclude_characters="\x00"),
                                     min_size=1, max_size=12)
                             | st.sampled_from(["name", "fmt", "endpoint", "_anchor", "year"]),
                             st.text(st.characters(codec="utf-8", exclude_characters="\x00"),
                                     max_size=12), max_size=4))
def test_stats_pages_take_any_query_argument_names(app, region_world, query):
    city = login(app, region_world["city"])
    for path in ("/stats/", "/stats/report"):
        assert city.get(path, query_string=query).status_code in (200, 400), (path, query)


def test_request_and_quote_medians_cannot_contradict(app, region_world, make_need):
    """Regression (issue 17): /stats/ read "posting → first request" 10.0 days but "posting →
    first quote" 4.2 days, the medians being taken over different needs. Five more needs of 甲企业
    get a late request and no quote: the request median no longer jumps past the quote's."""
    with app.app_context():
        enterprise = db.session.scalar(db.select(Enterprise).where(Enterprise.name == "甲企业"))
        package = db.session.scalar(db.select(DealRequest.package_id))
        provider = db.session.scalar(db.select(DealRequest.provider_id))
        ids = [make_need(enterprise.id, title=f"晚到的申请{i}", created_at=at("2026-06-01"))
               for i in range(5)]
        for need in ids:
            db.session.add(DealRequest(need_id=need, package_id=package, provider_id=provider,
                                       enterprise_id=enterprise.id, status="pending",
                                       created_at=at("2026-06-01", 500)))
        db.session.commit()
    f = dashboard(app, region_world["city"]).funnel
    assert f.matched == 8
    assert f.median_hours_to_request == 27 <= f.median_hours_to_quote == 44
    assert f.median_hours_to_quote <= f.median_hours_to_order


def test_a_years_figures_hold_only_that_year(app, region_world, client):
    """Regression (issue 17): the 2025 report showed 2026's reserved money, programs and chain
    adoption, and the 2026 report's 已拨付 (from the programs) disagreed with its size table."""
    with app.app_context():
        claim = db.session.scalar(db.select(SubsidyClaim))
        claim.created_at, claim.status, claim.paid_at = at("2026-03-10"), "paid", at("2026-03-20")
        claim.payment_reference = "PAY-2026-1"
        db.session.add(LedgerEntry(program_id=claim.program_id, claim_id=claim.id, kind="pay",
                                   amount_fen=claim.amount_fen, at=at("2026-03-20")))
        db.session.commit()
    province = region_world["province"]
    last_year = dashboard(app, province, start=date(2025, 1, 1), end=date(2025, 12, 31))
    assert last_year.funnel.posted == 0 and last_year.programs == []
    assert all((s.reserved_fen, s.paid_fen, s.claims) == (0, 0, 0) for s in last_year.sizes)
    assert all(c.adopted == 0 for c in last_year.chains)
    year = dashboard(app, province, start=date(2026, 1, 1), end=date(2026, 12, 31))
    assert sum(p.paid_fen for p in year.programs) == sum(s.paid_fen for s in year.sizes) == 300_000
    assert sum(p.reserved_fen for p in year.programs) == 0
    AuthActions(client, app).login(province)
    page = client.get("/stats/report?year=2025").get_data(as_text=True)
    assert "县补贴" not in page and "¥3,000" not in page
    page = client.get("/stats/report?year=2026").get_data(as_text=True)
    assert "已拨付 ¥3,000" in page


def test_a_period_starts_at_midnight_china_time_on_sqlite_too(app, region_world, make_need):
    """Regression (issue 17): SQLite keeps UTC text without a zone, and the period's first
    moment was passed in +08:00, so 01:00 on New Year's Day in China (17:00 UTC the day
    before) fell into the previous year."""
    with app.app_context():
        enterprise = db.session.scalar(db.select(Enterprise).where(Enterprise.name == "丙企业"))
    make_need(enterprise.id, title="元旦凌晨", created_at=at("2025-12-31", 17))
    province = region_world["province"]
    assert dashboard(app, province, start=date(2025, 1, 1),
                     end=date(2025, 12, 31)).funnel.posted == 0
    assert dashboard(app, province, start=date(2026, 1, 1),
                     end=date(2026, 12, 31)).funnel.posted == 6
