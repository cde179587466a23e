"""The provider ranking (综合评价): hand-computed scores and order, Bayesian smoothing, missing
data, filters, the shared metric definitions, query count, exports and the page."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from statistics import median
from urllib.parse import unquote

import openpyxl
import pytest
from flask_login import AnonymousUserMixin
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from marketplace.extensions import db
from marketplace.models import (
    DealRequest,
    Need,
    Order,
    OrderStatus,
    Provider,
    Quote,
    RequestStatus,
    Review,
    User,
)
from marketplace.services.deals import LOCAL_TZ
from marketplace.services.provider_stats import ServiceRecord, provider_stats, service_records
from marketplace.services.ranking import (
    DEFAULT_FORMULA,
    Formula,
    RankingFilters,
    Weights,
    rank_providers,
)

ANONYMOUS = AnonymousUserMixin()
ASKED = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
DUE = date(2026, 3, 10)
# China Standard Time is UTC+8: 15:59 UTC on the due date is 23:59 there (on time), 17:00 UTC
# is 01:00 the next day there (late) although the UTC date is still the due date.
ON_TIME = datetime(2026, 3, 10, 15, 59, tzinfo=UTC)
LATE = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)


class Deals:
    """Writes requests, quotes, orders and reviews for a provider straight into the tables."""

    def __init__(self, enterprise_id: int, package_of: dict[int, int]):
        self.enterprise_id, self.package_of = enterprise_id, package_of

    def add(self, provider_id: int, *, answer_hours: float | None = None, quoted=False,
            order: str | None = None, delivered_at: datetime | None = None,
            rating: int | None = None) -> None:
        need = Need(enterprise_id=self.enterprise_id, title="设备联网", description="描述" * 10,
                    category_code="device_monitoring", scenario_level_code="workshop",
                    visibility="public", status="open")
        db.session.add(need)
        db.session.flush()
        request = DealRequest(
            need_id=need.id, package_id=self.package_of[provider_id],
            enterprise_id=self.enterprise_id, provider_id=provider_id, created_at=ASKED,
            status=RequestStatus.ORDERED if order else
            RequestStatus.QUOTED if quoted else
            RequestStatus.PENDING if answer_hours is None else RequestStatus.DECLINED,
            responded_at=None if answer_hours is None else ASKED + timedelta(hours=answer_hours))
        db.session.add(request)
        db.session.flush()
        if quoted:
            db.session.add(Quote(request_id=request.id, price_fen=100_000, scope="范围",
                                 delivery_days=9, valid_until=DUE))
        if order:
            placed = Order(need_id=need.id, request_id=request.id,
                           package_id=request.package_id, enterprise_id=self.enterprise_id,
                           provider_id=provider_id, amount_fen=100_000, scope="范围",
                           delivery_days=9, due_date=DUE, status=order, delivered_at=delivered_at)
            db.session.add(placed)
            db.session.flush()
            if rating:
                db.session.add(Review(order_id=placed.id, provider_id=provider_id,
                                      enterprise_id=self.enterprise_id, rating=rating))
        db.session.flush()


@pytest.fixture
def deals(app, make_enterprise, make_provider, make_package):
    """Providers by letter (made on demand) and a :class:`Deals` writer for them."""
    enterprise = make_enterprise()
    made: dict[str, int] = {}

    def provider(letter: str, **fields) -> int:
        made[letter] = make_provider(name=f"服务商{letter}", **fields).id
        writer.package_of[made[letter]] = make_package(made[letter])
        return made[letter]

    writer = Deals(enterprise.id, {})
    writer.provider, writer.made = provider, made
    return writer


@pytest.fixture
def three(deals, ctx):
    """The worked example of docs/ranking.md.

    A (国家级双跨): one request answered in 2 h, quoted, ordered, delivered on time, 5 stars.
    B (区域级): eight requests, seven answered (1, 2, 3, 5, 7, 30, 50 h), six quoted, one
      declined; five orders: three on time, one late, one cancelled; reviews 5, 4, 4, 3.
    C (省级双跨): nothing yet.
    D (国家级双跨, eliminated) and E (unverified): never ranked for the public.
    """
    a = deals.provider("A", tier="national_cross")
    b = deals.provider("B", tier="regional")
    deals.provider("C", tier="provincial_cross")
    deals.provider("D", tier="national_cross", standing="eliminated")
    deals.provider("E", tier="national_cross", verified=False)
    with ctx.app_context():
        deals.add(a, answer_hours=2, quoted=True, order=OrderStatus.ACCEPTED,
                  delivered_at=ON_TIME, rating=5)
        for hours, delivered, rating in ((1, ON_TIME, 5), (2, ON_TIME, 4), (3, ON_TIME, 4),
                                         (5, LATE, 3)):
            deals.add(b, answer_hours=hours, quoted=True, order=OrderStatus.ACCEPTED,
                      delivered_at=delivered, rating=rating)
        deals.add(b, answer_hours=7, quoted=True, order=OrderStatus.CANCELLED)
        deals.add(b, answer_hours=30, quoted=True)
        deals.add(b, answer_hours=50)  # declined
        deals.add(b)  # not answered yet
        db.session.commit()
    return deals.made


def by_name(ranking) -> dict:
    return {row.name: row for row in ranking.rows}


# -- the worked example ------------------------------------------------------------------------


def test_hand_computed_scores_and_order(three, ctx):
    ranking = rank_providers(ANONYMOUS)
    assert [(r.position, r.name) for r in ranking.rows] == [(1, "服务商A"), (2, "服务商B"),
                                                             (3, "服务商C")]
    assert ranking.mean_stars == pytest.approx(21 / 5)  # 5 + (5 + 4 + 4 + 3) over 5 reviews
    rows = by_name(ranking)
    volume = math.log(2) / math.log(101)
    a = rows["服务商A"].components
    assert a.smoothed_stars == pytest.approx((5 * 4.2 + 5) / 6)
    assert (a.rating, a.on_time, a.win_rate, a.volume, a.response, a.tier) == pytest.approx(
        (((5 * 4.2 + 5) / 6 - 1) / 4, 1, 1, volume, 24 / 26, 1))
    assert rows["服务商A"].score == pytest.approx(
        30 * (26 / 6 - 1) / 4 + 20 + 15 + 15 * volume + 10 * 24 / 26 + 10)
    assert rows["服务商A"].score == pytest.approx(81.4836, abs=1e-4)

    b = rows["服务商B"]
    assert b.record == ServiceRecord(review_count=4, rating_sum=16, median_response_hours=5,
                                     quoted=6, won=5, delivered=4, on_time=3, orders=4)
    assert b.components.smoothed_stars == pytest.approx(37 / 9)
    assert b.components.response == pytest.approx(24 / 29)
    assert b.components.volume == pytest.approx(math.log(5) / math.log(101))
    assert b.score == pytest.approx(
        30 * (37 / 9 - 1) / 4 + 20 * 0.75 + 15 * 5 / 6 + 15 * math.log(5) / math.log(101)
        + 10 * 24 / 29 + 10 * 0.25)
    assert b.score == pytest.approx(66.8402, abs=1e-4)

    c = rows["服务商C"]
    assert c.components.neutral == {"rating", "on_time", "win_rate", "response"}
    assert c.score == pytest.approx(30 * 0.8 + 20 * 0.5 + 15 * 0.5 + 0 + 10 * 0.5 + 10 * 0.5)
    assert c.score == pytest.approx(51.5)


def test_admins_also_see_eliminated_providers_flagged_without_a_position(three, ctx, make_user):
    admin = db.session.get(User, make_user(role="admin").id)
    rows = rank_providers(admin).rows
    assert [(r.position, r.name, r.eliminated) for r in rows] == [
        (1, "服务商A", False), (2, "服务商B", False), (None, "服务商D", True),
        (3, "服务商C", False)]
    # D: no data, the top tier: 30·0.8 + 20·0.5 + 15·0.5 + 0 + 10·0.5 + 10·1
    assert rows[2].score == pytest.approx(56.5)
    assert "服务商E" not in {r.name for r in rows}  # unverified: not ranked at all


def test_provider_page_figures_are_the_rankings(three, ctx, client):
    b = three["B"]
    stats = provider_stats(b)
    assert (stats.rating_avg, stats.rating_count, stats.median_response_hours, stats.win_rate,
            stats.on_time_rate) == (4.0, 4, pytest.approx(5.0), pytest.approx(5 / 6), 0.75)
    assert stats.record == by_name(rank_providers(ANONYMOUS))["服务商B"].record
    assert len(stats.recent_reviews) == 4
    page = client.get(f"/profile/provider/{b}").get_data(as_text=True)
    for shown in ("4.0", "5.0 小时", "83%", "75%"):
        assert shown in page


def test_a_provider_without_any_record(deals, ctx):
    lonely = deals.provider("F")
    assert service_records([lonely]) == {}
    stats = provider_stats(lonely)
    assert (stats.rating_avg, stats.rating_count, stats.median_response_hours, stats.win_rate,
            stats.on_time_rate, stats.recent_reviews) == (None, 0, None, None, None, [])


# -- smoothing and missing data ----------------------------------------------------------------


def test_one_five_star_review_does_not_top_the_list(deals, ctx):
    """X has one 5-star review; Y twenty averaging 4.8; Z ten 3-star ones pull the mean down.
    X's raw average is the best, Y's smoothed one is."""
    x, y, z = (deals.provider(letter, tier="regional") for letter in "XYZ")
    with ctx.app_context():
        deals.add(x, quoted=True, order=OrderStatus.ACCEPTED, delivered_at=ON_TIME, rating=5)
        for stars in [5] * 16 + [4] * 4:
            deals.add(y, quoted=True, order=OrderStatus.ACCEPTED, delivered_at=ON_TIME,
                      rating=stars)
        for _ in range(10):
            deals.add(z, quoted=True, order=OrderStatus.ACCEPTED, delivered_at=ON_TIME,
                      rating=3)
        db.session.commit()
    rows = by_name(rank_providers(ANONYMOUS))
    mean = (5 + 96 + 30) / 31
    assert rows["服务商X"].record.rating_avg > rows["服务商Y"].record.rating_avg
    assert rows["服务商X"].components.smoothed_stars == pytest.approx((5 * mean + 5) / 6)
    assert rows["服务商Y"].components.smoothed_stars == pytest.approx((5 * mean + 96) / 25)
    assert rows["服务商Y"].components.rating > rows["服务商X"].components.rating
    # without smoothing (C = 0) the single review would win
    raw = by_name(rank_providers(ANONYMOUS, formula=Formula(prior_reviews=0)))
    assert raw["服务商X"].components.rating > raw["服务商Y"].components.rating


def test_nobody_reviewed_yet_means_three_stars(deals, ctx):
    deals.provider("A", tier="enterprise")
    ranking = rank_providers(ANONYMOUS)
    assert ranking.mean_stars == 3
    row = ranking.rows[0]
    assert row.components.rating == 0.5 and row.components.tier == 0
    assert row.score == pytest.approx(30 * 0.5 + 20 * 0.5 + 15 * 0.5 + 10 * 0.5)


record_strategy = st.builds(
    lambda reviews, stars, hours, quoted, won, delivered, on_time, orders: ServiceRecord(
        review_count=reviews, rating_sum=min(max(stars, reviews), 5 * reviews),
        median_response_hours=hours, quoted=quoted, won=min(won, quoted),
        delivered=delivered, on_time=min(on_time, delivered), orders=orders),
    st.integers(0, 500), st.integers(0, 2500),
    st.none() | st.floats(0, 10_000, allow_nan=False), st.integers(0, 500), st.integers(0, 500),
    st.integers(0, 500), st.integers(0, 500), st.integers(0, 100_000))


@given(record=record_strategy, mean=st.floats(1, 5), tier=st.sampled_from(
    ["enterprise", "industry", "regional", "provincial_cross", "national_specialized",
     "national_cross", "unknown"]))
def test_components_and_score_stay_in_range(record, mean, tier):
    parts = DEFAULT_FORMULA.components(record, tier, mean)
    for _name, value in parts.items():
        assert 0 <= value <= 1
    assert 0 <= DEFAULT_FORMULA.score(parts) <= 100
    # the smoothed rating lies between the mean and the provider's own average
    own = record.rating_avg if record.rating_avg is not None else mean
    assert min(own, mean) - 1e-9 <= parts.smoothed_stars <= max(own, mean) + 1e-9


@given(record=record_strategy, mean=st.floats(1, 5))
def test_a_better_review_never_lowers_the_score(record, mean):
    def score(r: ServiceRecord) -> float:
        return DEFAULT_FORMULA.score(DEFAULT_FORMULA.components(r, "regional", mean))

    def plus_review(stars: int) -> ServiceRecord:
        return replace(record, review_count=record.review_count + 1,
                       rating_sum=record.rating_sum + stars)

    assert score(plus_review(1)) <= score(record) + 1e-9 <= score(plus_review(5)) + 2e-9


def test_weights_are_the_formulas_only_proportions():
    assert Weights().total == 100
    assert [name for name, _ in Weights().items()] == [
        "rating", "on_time", "win_rate", "volume", "response", "tier"]
    record = ServiceRecord(review_count=3, rating_sum=12, median_response_hours=10, quoted=4,
                           won=1, delivered=1, on_time=1, orders=1)
    halved = Formula(weights=Weights(*(w / 2 for _, w in Weights().items())))
    parts = DEFAULT_FORMULA.components(record, "regional", 4)
    assert halved.score(parts) == pytest.approx(DEFAULT_FORMULA.score(parts))


# -- the shared metric definitions, against Python references ---------------------------------


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hours=st.lists(st.floats(0, 2000, allow_nan=False), min_size=1, max_size=9),
       deliveries=st.lists(st.tuples(st.integers(-3, 3), st.integers(0, 24 * 60 - 1)),
                           min_size=1, max_size=6))
def test_sql_median_and_on_time_match_python(deals, ctx, hours, deliveries):
    """The median response time and "on time" (in China Standard Time) computed in SQL agree
    with statistics.median and with Python's own time-zone conversion."""
    provider = deals.made.get("H") or deals.provider("H")
    try:
        for h in hours:
            deals.add(provider, answer_hours=h)
        expected_on_time = 0
        for day_offset, minute in deliveries:
            delivered = (datetime(2026, 3, 10, tzinfo=UTC) + timedelta(days=day_offset)
                         + timedelta(minutes=minute))
            expected_on_time += delivered.astimezone(LOCAL_TZ).date() <= DUE
            deals.add(provider, quoted=True, order=OrderStatus.DELIVERED, delivered_at=delivered)
        record = service_records([provider])[provider]
        assert record.median_response_hours == pytest.approx(median(hours), abs=1e-4)
        assert (record.delivered, record.on_time) == (len(deliveries), expected_on_time)
    finally:
        db.session.rollback()


# -- filters -----------------------------------------------------------------------------------


@pytest.fixture
def spread(deals, ctx, make_package):
    """Providers serving different regions, of different kinds and tiers and categories."""
    made = {
        "province": deals.provider("省", regions=("320000",), kind="platform"),
        "suzhou": deals.provider("苏", regions=("320500",), kind="service", tier="industry"),
        "nanjing": deals.provider("宁", regions=("320100",), kind="software"),
    }
    make_package(made["suzhou"], category_code="quality")
    make_package(made["nanjing"], category_code="quality", status="draft")
    with ctx.app_context():
        deals.add(made["suzhou"], answer_hours=3, quoted=True, order=OrderStatus.ACCEPTED,
                  delivered_at=ON_TIME, rating=4)
        db.session.commit()
    return made


def names(filters: RankingFilters) -> set[str]:
    return {row.name for row in rank_providers(ANONYMOUS, filters).rows}


def test_region_filter_takes_providers_serving_the_region_or_above(spread, ctx):
    assert names(RankingFilters(region_code="320505")) == {"服务商省", "服务商苏"}  # 虎丘区
    assert names(RankingFilters(region_code="320500")) == {"服务商省", "服务商苏"}
    assert names(RankingFilters(region_code="320102")) == {"服务商省", "服务商宁"}  # 玄武区
    assert names(RankingFilters(region_code="320000")) == {"服务商省"}
    assert names(RankingFilters(region_code="999999")) == set()


def test_category_kind_and_tier_filters(spread, ctx):
    assert names(RankingFilters(category_code="quality")) == {"服务商苏"}  # 宁's is a draft
    assert names(RankingFilters(category_code="device_monitoring")) == {
        "服务商省", "服务商苏", "服务商宁"}
    assert names(RankingFilters(kind="software")) == {"服务商宁"}
    assert names(RankingFilters(tier="industry")) == {"服务商苏"}
    assert names(RankingFilters(kind="service", tier="regional")) == set()


def test_filters_never_change_a_score(spread, ctx):
    everyone = {r.name: r.score for r in rank_providers(ANONYMOUS).rows}
    narrowed = rank_providers(ANONYMOUS, RankingFilters(region_code="320505")).rows
    assert [r.position for r in narrowed] == [1, 2]
    assert {r.name: r.score for r in narrowed} == {
        name: score for name, score in everyone.items() if name in {"服务商省", "服务商苏"}}


# -- speed -------------------------------------------------------------------------------------


class QueryCounter:
    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, *args):
        self.count += 1


def queries_for(filters: RankingFilters) -> int:
    db.session.expire_all()
    with QueryCounter(db.engine) as counter:
        rank_providers(ANONYMOUS, filters)
    return counter.count


@pytest.mark.parametrize("filters", [RankingFilters(), RankingFilters(
    region_code="320505", category_code="device_monitoring", kind="platform", tier="regional")])
def test_the_number_of_queries_does_not_grow_with_providers(deals, ctx, filters):
    def add_providers(first: int, count: int) -> None:
        for n in range(first, first + count):
            provider = deals.provider(f"P{n}", regions=("320500",))
            with ctx.app_context():
                deals.add(provider, answer_hours=n, quoted=True, order=OrderStatus.ACCEPTED,
                          delivered_at=ON_TIME, rating=1 + n % 5)
                db.session.commit()

    add_providers(0, 3)
    few = queries_for(filters)
    add_providers(3, 27)
    assert len(rank_providers(ANONYMOUS, filters).rows) == 30
    assert queries_for(filters) == few
    assert few <= 10


# -- page and exports --------------------------------------------------------------------------


def test_anonymous_visitors_see_the_table_and_the_formula(three, client):
    page = client.get("/ranking/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert text.index("服务商A") < text.index("服务商B") < text.index("服务商C")
    assert "服务商D" not in text and "服务商E" not in text
    for shown in ("81.5", "66.8", "51.5", "计算方法", "30%", "C = 5", "无数据，取中性值",
                  "m = 全平台所有评价的平均分 4.20", "服务商排名"):
        assert shown in text
    assert "/standing/" not in text  # no 优选/淘汰 buttons


def test_admins_mark_providers_from_the_ranking(three, client, make_user, auth):
    auth.login(make_user(role="admin"))
    page = client.get("/ranking/?kind=platform").get_data(as_text=True)
    assert "服务商D" in page and f"/admin/providers/{three['B']}/standing/preferred" in page
    response = client.post(f"/admin/providers/{three['B']}/standing/preferred",
                           data={"next": "/ranking/?kind=platform"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/ranking/?kind=platform")
    page = client.get("/ranking/").get_data(as_text=True)
    row = page[page.index("服务商B"):page.index("服务商D")]
    assert "badge text-bg-success" in row  # 优选 badge
    with client.application.app_context():
        assert db.session.get(Provider, three["B"]).standing == "preferred"


def test_bad_filters_are_refused_beside_the_field(three, client):
    page = client.get("/ranking/?region_code=nowhere&kind=platform")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "is-invalid" in text and "服务商A" in text  # the bad filter is not applied
    assert client.get("/ranking/export.csv?region_code=nowhere").status_code == 400


def test_xlsx_export_names_its_filters(three, client):
    response = client.get("/ranking/export.xlsx?region_code=320505&kind=platform")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert "服务商综合评价排名_苏州市_虎丘区_平台企业_" in unquote(disposition)
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    sheet = book.worksheets[0]
    rows = [tuple(c.value for c in row) for row in sheet.iter_rows()]
    assert rows[0][0] == "服务商综合评价排名"
    assert rows[1][:2] == ("服务地区", "苏州市 / 虎丘区")
    assert rows[2][:2] == ("类型", "平台企业")
    headings = rows[4]
    assert headings[:5] == ("排名", "服务商", "类型", "等级", "综合得分")
    data = [dict(zip(headings, row, strict=False)) for row in rows[5:]]
    assert [(d["排名"], d["服务商"], d["综合得分"]) for d in data] == [
        (1, "服务商A", 81.48), (2, "服务商B", 66.84), (3, "服务商C", 51.5)]
    assert data[1]["按期交付率"] == 0.75 and data[1]["订单量"] == 4
    assert data[2]["首次响应中位数（小时）"] is None
    assert "优选/淘汰" not in headings
    assert book.worksheets[1].title == "计算方法"


def test_csv_export_and_the_admins_version(three, client, make_user, auth):
    text = client.get("/ranking/export.csv").get_data().decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == ["# 服务商综合评价排名"] and lines[1] == ["# 筛选条件", "全部服务商"]
    assert [line[1] for line in lines[4:]] == ["服务商A", "服务商B", "服务商C"]
    auth.login(make_user(role="admin"))
    book = openpyxl.load_workbook(io.BytesIO(client.get("/ranking/export.xlsx").get_data()))
    rows = [tuple(c.value for c in row) for row in book.worksheets[0].iter_rows()]
    assert rows[3][-1] == "优选/淘汰"
    assert [(r[0], r[1], r[-1]) for r in rows[4:]] == [
        (1, "服务商A", "正常"), (2, "服务商B", "正常"), (None, "服务商D", "淘汰"),
        (3, "服务商C", "正常")]


def test_orders_without_a_quote_do_not_push_the_win_rate_above_one(deals, ctx):
    """Regression (issue 17): orders placed without a quote (typical-case records) were
    counted as won quotes, so a provider read "报价成交 200% (4/2)"."""
    g = deals.provider("G")
    with ctx.app_context():
        deals.add(g, answer_hours=1, quoted=True, order=OrderStatus.ACCEPTED,
                  delivered_at=ON_TIME)
        deals.add(g, answer_hours=1, quoted=True)
        deals.add(g, order=OrderStatus.ACCEPTED, delivered_at=ON_TIME)
        deals.add(g, order=OrderStatus.PLACED)
        db.session.commit()
        record = service_records([g])[g]
        assert (record.won, record.quoted, record.win_rate) == (1, 2, 0.5)
        assert record.orders == 3
        row = by_name(rank_providers(ANONYMOUS))["服务商G"]
        assert all(0 <= value <= 1 for _name, value in row.components.items())
