"""Queries: words, phrases, filters, visibility, facets, sorting, highlights, pages, suggestions."""

from __future__ import annotations

import pytest

from search import QueryError, SearchQuery
from tests.search.conftest import ids


@pytest.fixture
def catalogue(index, package):
    index.apply(upserts=[
        package(1, "视觉质量检测系统", "基于AI视觉的缺陷检测，适用于汽车零部件产线",
                category="quality", scenario_levels=("line",), industries=("C36",),
                regions_served=("320000",), deployment="saas", price_fen=1_200_000,
                provider_tier="industry", subsidy_available=True),
        package(2, "设备联网与预测性维护", "数控设备联网监测，故障预警",
                category="device_monitoring", scenario_levels=("device", "line"),
                industries=("C34", "C36"), regions_served=("320102",), deployment="private",
                price_fen=300_000, provider_tier="enterprise"),
        package(3, "能耗监测平台", "工厂能耗监测与碳排放管理，设备联网采集电表数据",
                category="energy", scenario_levels=("factory",), regions_served=("320500",),
                deployment="saas", price_fen=8_000_000, provider_tier="national_cross",
                subsidy_available=True),
        package(4, "MES生产管理", "排产、报工、质量追溯，支持ERP集成", category="production_mgmt",
                scenario_levels=("workshop",), deployment="hybrid", price_fen=None,
                provider_tier="industry"),
        package(5, "草稿：质量检测增强版", "未发布的质量检测方案", category="quality",
                acl=("provider:9",)),
    ])
    return index


def test_words_must_all_match(catalogue, find):
    assert ids(find("质量检测")) == [1]
    assert sorted(ids(find("设备联网"))) == [2, 3]
    assert ids(find("设备联网 故障")) == [2]


def test_sub_words_and_english(catalogue, find):
    assert sorted(ids(find("联网"))) == [2, 3]
    assert ids(find("erp")) == [4] == ids(find("ＥＲＰ"))


def test_phrase_matches_only_in_order(catalogue, find):
    assert ids(find('"联网监测"')) == [2]
    assert ids(find('"监测联网"')) == []
    assert sorted(ids(find("监测 联网"))) == [2, 3]  # as words, order does not matter


def test_phrase_across_words_of_a_long_text(catalogue, find):
    assert ids(find("“能耗监测与碳排放”")) == [3]
    assert ids(find("“碳排放与能耗监测”")) == []


def test_excluded_words(catalogue, find):
    assert ids(find("设备联网 -故障")) == [3]


def test_private_document_needs_its_principal(catalogue, find):
    assert 5 not in ids(find("质量检测"))
    assert ids(find("质量检测", principals=("provider:9",))) == [5]
    assert sorted(ids(find("质量检测", principals=("public", "provider:9")))) == [1, 5]
    assert find("质量检测", principals=("provider:8",)).total == 0


def test_no_principals_no_results(catalogue, find):
    results = find("", principals=())
    assert results.total == 0 and results.hits == ()


def test_private_document_never_counted_in_facets(catalogue, find):
    facets = find("质量检测").facets
    assert {f.value: f.count for f in facets["category"]} == {"quality": 1}


def test_principals_must_be_a_collection():
    with pytest.raises(QueryError):
        SearchQuery("package", "", "public")


@pytest.mark.parametrize(("filters", "expected"), [
    ({"category": ["quality"]}, [1]),
    ({"category": ["quality", "energy"]}, [1, 3]),
    ({"scenario_level": ["line"]}, [1, 2]),
    ({"industry": ["C36"]}, [1, 2]),
    ({"deployment": ["saas"]}, [1, 3]),
    ({"provider_tier": ["industry"]}, [1, 4]),
    ({"subsidy": [True]}, [1, 3]),
    ({"subsidy": [False]}, [2, 4]),
    ({"price_band": ["5k_20k"]}, [1]),
    ({"price_band": ["lt_5k", "50k_100k"]}, [2, 3]),
    ({"region": ["320102"]}, [1, 2, 4]),  # the province-wide and the no-region package too
    ({"region": ["320505"]}, [1, 3, 4]),
    ({"category": ["quality", "device_monitoring"], "subsidy": ["true"]}, [1]),
])
def test_filters(catalogue, find, filters, expected):
    assert sorted(ids(find(filters=filters))) == expected


def test_price_range_is_inclusive_and_skips_price_on_request(catalogue, find):
    assert sorted(ids(find(price_min_fen=300_000, price_max_fen=1_200_000))) == [1, 2]
    assert sorted(ids(find(price_max_fen=299_999))) == []


def test_unknown_filter_and_sort_are_refused():
    with pytest.raises(QueryError):
        SearchQuery("package", "", {"public"}, filters={"colour": ["red"]})
    with pytest.raises(QueryError):
        SearchQuery("package", "", {"public"}, sort="random")
    with pytest.raises(QueryError):
        SearchQuery("need", "", {"public"}, filters={"deployment": ["saas"]})


def test_facet_counts(catalogue, find):
    facets = {name: {f.value: f.count for f in values}
              for name, values in find("").facets.items()}
    assert facets["category"] == {"quality": 1, "device_monitoring": 1, "energy": 1,
                                  "production_mgmt": 1}
    assert facets["scenario_level"] == {"line": 2, "device": 1, "factory": 1, "workshop": 1}
    assert facets["deployment"] == {"saas": 2, "private": 1, "hybrid": 1}
    assert facets["subsidy"] == {"true": 2, "false": 2}
    assert facets["price_band"] == {"lt_5k": 1, "5k_20k": 1, "50k_100k": 1}
    assert facets["provider_tier"] == {"industry": 2, "enterprise": 1, "national_cross": 1}
    # packages serving each region: its own, the province-wide one and the "anywhere" one
    assert facets["region"] == {"320102": 3, "320500": 3, "320000": 2}


def test_a_facet_ignores_its_own_filter(catalogue, find):
    results = find(filters={"category": ["quality"], "deployment": ["saas"]})
    category = {f.value: (f.count, f.selected) for f in results.facets["category"]}
    assert category == {"quality": (1, True), "energy": (1, False)}
    deployment = {f.value: f.count for f in results.facets["deployment"]}
    assert deployment == {"saas": 1}


def test_sorting(catalogue, find):
    assert ids(find(sort="price_asc")) == [2, 1, 3, 4]  # price on request last
    assert ids(find(sort="price_desc")) == [3, 1, 2, 4]
    assert ids(find(sort="newest")) == [4, 3, 2, 1]
    assert ids(find("")) == [4, 3, 2, 1]  # relevance without words: newest first


def test_relevance_prefers_title_matches(index, package, find):
    index.apply(upserts=[
        package(1, "仓储管理", "仓储物流与质量检测一体化方案"),
        package(2, "质量检测", "适用于仓储物流场景"),
    ])
    results = find("质量检测")
    assert ids(results) == [2, 1]
    assert results.hits[0].score > results.hits[1].score > 0


def test_highlights_are_escaped_except_marks(index, package, find):
    text = "前言" * 100 + "支持 a&b <b>质量检测</b> 报表" + "结尾" * 100
    index.apply(upserts=[package(1, "<script>质量检测</script>", text)])
    hit = find("质量检测").hits[0]
    assert hit.title_html == "&lt;script&gt;<mark>质量检测</mark>&lt;/script&gt;"
    assert "a&amp;b &lt;b&gt;<mark>质量检测</mark>&lt;/b&gt;" in hit.snippet_html
    assert hit.snippet_html.startswith("…") and hit.snippet_html.endswith("…")
    assert hit.title_html.__html__() == hit.title_html


def test_pagination(index, package, find):
    index.apply(upserts=[package(i, f"质量检测方案{i}") for i in range(1, 26)])
    first = find("质量检测", per_page=10, sort="newest")
    third = find("质量检测", per_page=10, sort="newest", page=3)
    assert (first.total, first.pages, first.has_next, first.has_prev) == (25, 3, True, False)
    assert ids(first) == list(range(25, 15, -1))
    assert ids(third) == [5, 4, 3, 2, 1] and not third.has_next
    assert find("质量检测", per_page=10, page=9).hits == ()


def test_suggestion_fixes_a_typo(catalogue, find):
    results = find("质两检测")
    assert results.total == 0
    assert results.suggestion == "质量检测"
    assert find(results.suggestion).total == 1


def test_suggestion_drops_the_word_that_empties_the_result(catalogue, find):
    assert find("能耗监测 报工").suggestion in {"能耗监测", "报工"}


def test_suggestion_never_points_at_private_documents(catalogue, find):
    assert find("增强版").total == 0
    assert find("增强版").suggestion is None


def test_no_suggestion_when_something_was_found(catalogue, find):
    assert find("质量检测").suggestion is None


def test_needs_have_their_own_filters(index, need, find):
    index.apply(upserts=[
        need(1, "需要设备联网", category="device_monitoring", regions=("320102",),
             budget_max_fen=500_000, status="open"),
        need(2, "质量检测需求", category="quality", regions=("320205",), status="closed",
             acl=("enterprise:3", "region:320205")),
    ])
    assert ids(find("设备联网", kind="need")) == [1]
    # a need in a county is found by its city and province
    assert ids(find(kind="need", filters={"region": ["320100"]})) == [1]
    assert ids(find(kind="need", principals=("region:320205",),
                    filters={"region": ["320000"], "status": ["closed"]})) == [2]
    assert ids(find(kind="need", principals=("enterprise:4",))) == []
    regions = {f.value: f.count for f in find(kind="need").facets["region"]}
    assert regions == {"320102": 1, "320100": 1, "320000": 1}


def test_updates_and_deletes(index, package, find):
    index.apply(upserts=[package(1, "质量检测"), package(2, "设备联网")])
    index.apply(upserts=[package(1, "能耗监测")], deletes=[("package", 2)])
    assert find("质量检测").total == 0
    assert ids(find("能耗监测")) == [1]
    assert index.count("package") == 1


def test_search_before_anything_was_indexed(find):
    results = find("质量检测")
    assert results.total == 0 and results.hits == () and results.suggestion is None


def test_suggestions_reveal_nothing_about_hidden_documents(index, package):
    index.apply(upserts=[package(1, "MES 生产管理"),
                         package(2, "mesz 草稿", acl=("provider:9",))])
    public = SearchQuery("package", "mesz", principals={"public"})
    assert index.search(public).total == 0
    assert index.search(public).suggestion == "mes"


def test_a_phrase_never_spans_the_title_and_the_text(index, package, find):
    index.apply(upserts=[package(1, "设备联网", "监测平台")])
    assert ids(find('"联网监测"')) == []
    assert ids(find("联网 监测")) == [1]


def test_hits_carry_the_record_as_indexed(index, package, find):
    from datetime import UTC, datetime

    doc = package(1, "视觉检测", "缺陷", category="quality", scenario_levels=("line", "cell"),
                  regions_served=("320102",), price_fen=0, provider_id=3,
                  provider_name="某公司", subsidy_available=True,
                  created=datetime(2025, 3, 1, 8, 30, tzinfo=UTC),
                  published=datetime(2025, 3, 2, 9, 0, 0, 123000))
    index.apply(upserts=[doc])
    assert find("视觉").hits[0].record == doc


def test_control_characters_and_markup_survive(index, package, find):
    doc = package(1, "设备\x00联网", "a\x00b <b>检测</b> ' \" \\ 监测\x1f", provider_name="x\x00y")
    index.apply(upserts=[doc])
    found = find("联网")
    assert found.hits[0].record == doc
    assert find("检测\x00 质两\x00检测").total == 0


def test_filter_values_of_any_text_are_harmless(catalogue, find):
    found = find("质量", filters={"category": ["quality\x00", "'; DROP TABLE x; --"]})
    assert found.total == 0
    assert find("质量", filters={"category": ["quality", "\x00"]}).total == 1
