"""The PostgreSQL backend's own parts, and both backends giving the same answers.

Needs ``TEST_DATABASE_URL`` (skipped without it, see ``conftest.py``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from search import PackageDoc, SearchIndex, SearchQuery, index_tokens, libpq_dsn, query_words
from search._pgrows import prepare_row, quote, text_query, tsvector_literal
from search._postgres import one_edit_patterns
from tests.search.conftest import ids

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def test_sqlalchemy_urls_become_libpq_strings():
    assert libpq_dsn("postgresql+psycopg://u:p@h:5432/db?sslmode=require") == \
        "postgresql://u:p@h:5432/db?sslmode=require"
    assert libpq_dsn("postgresql://u@h/db") == "postgresql://u@h/db"
    assert libpq_dsn("host=h dbname=db") == "host=h dbname=db"


def _parsed(conn, literal: str) -> dict[str, list[str]]:
    """A tsvector as PostgreSQL stores it: lexeme → ["3A", "9B", …]."""
    rows = conn.execute("SELECT lexeme, positions, weights FROM unnest(%s::tsvector)",
                        (literal,)).fetchall()
    return {lexeme: [f"{p}{w}" for p, w in zip(positions, weights, strict=True)]
            for lexeme, positions, weights in rows}


@FUZZ
@given(title=st.text(alphabet="设备联网监测质量检测工业互联网平台 mes+-.ERP01'\\，", max_size=30),
       text=st.text(alphabet="设备联网监测质量检测工业互联网平台 c++e-commerce1.2'\\", max_size=60))
def test_stored_words_are_exactly_the_analyzers_tokens(postgres_store, segmenter, title, text):
    title_tokens, text_tokens = index_tokens(title, segmenter), index_tokens(text, segmenter)
    expected: dict[str, list[str]] = {}
    for word, pos in title_tokens:
        expected.setdefault(word, []).append(f"{pos + 1}A")
    offset = max((p + 1 for _, p in title_tokens), default=0) + 1
    for word, pos in text_tokens:
        expected.setdefault(word, []).append(f"{offset + pos + 1}B")
    with psycopg.connect(postgres_store.location) as conn:
        stored = _parsed(conn, tsvector_literal(title_tokens, text_tokens))
    assert stored == {w: sorted(set(p), key=lambda s: int(s[:-1])) for w, p in expected.items()}


def test_tokens_postgres_would_split_are_kept_whole(postgres_store, segmenter):
    title = "c++ 与 c# 接口 v1.2"
    row = prepare_row(PackageDoc(1, title, acl=("public",)), segmenter)
    with psycopg.connect(postgres_store.location) as conn:
        stored = _parsed(conn, row.tsv)
        assert set(stored) == {w for w, _ in index_tokens(title, segmenter)}
        assert {"c++", "c#", "v1.2"} <= set(stored)  # PostgreSQL's parser: c, v1.2 (no #, +)
        for word in ("c++", "c#", "v1.2"):
            query = text_query(word, segmenter).match
            assert conn.execute("SELECT %s::tsvector @@ %s::tsquery", (row.tsv, query)
                                ).fetchone()[0], word


def test_quoting_survives_quotes_and_backslashes(postgres_store):
    with psycopg.connect(postgres_store.location) as conn:
        for word in ("it's", "a\\b", "''", "\\"):
            assert conn.execute("SELECT %s::tsquery::text", (quote(word),)).fetchone()[0] == \
                conn.execute("SELECT quote_literal(%s)", (word,)).fetchone()[0].replace(
                    "E'", "'")


def _like(pattern: str, text: str) -> bool:
    regex = "".join("." if c == "_" else re.escape(c[-1])
                    for c in re.findall(r"\\.|.", pattern))
    return re.fullmatch(regex, text, re.DOTALL) is not None


@settings(max_examples=200, deadline=None)
@given(word=st.text(alphabet="质量检测ab_%\\", min_size=1, max_size=6),
       position=st.integers(0, 6), char=st.sampled_from("量x_%\\"),
       edit=st.sampled_from(["insert", "replace", "delete"]))
def test_one_edit_patterns_find_every_string_one_edit_away(word, position, char, edit):
    i = min(position, len(word) - (0 if edit == "insert" else 1))
    other = {"insert": word[:i] + char + word[i:], "replace": word[:i] + char + word[i + 1:],
             "delete": word[:i] + word[i + 1:]}[edit]
    patterns = one_edit_patterns(word)
    if other and other != word:
        assert any(_like(p, other) for p in patterns)
    assert not any(_like(p, word + "xy") for p in patterns)


def test_a_connection_the_server_dropped_is_replaced(postgres_store, segmenter):
    with postgres_store.open(segmenter) as index:
        index.apply(upserts=[PackageDoc(1, "设备联网", acl=("public",))])
        query = SearchQuery("package", "联网", {"public"})
        assert index.search(query).total == 1
        pids = [conn.info.backend_pid for conn in index._pool._idle]
        assert pids
        postgres_store.sql("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid",
                           (pids,))
        assert index.search(query).total == 1


def test_searches_from_several_threads_at_once(postgres_store, segmenter):
    from concurrent.futures import ThreadPoolExecutor

    with postgres_store.open(segmenter) as index:
        index.apply(upserts=[PackageDoc(i, f"设备联网方案{i}", acl=("public",))
                             for i in range(1, 31)])
        query = SearchQuery("package", "设备联网", {"public"}, per_page=5)
        with ThreadPoolExecutor(4) as pool:
            totals = list(pool.map(lambda _: index.search(query).total, range(40)))
        assert totals == [30] * 40


# -- both backends, one answer --------------------------------------------------------------

PHRASES = ("设备联网", "质量检测", "视觉检测", "能耗监测", "预测性维护", "工业互联网平台",
           "MES", "数据采集")
REGIONS = ("320000", "320100", "320102", "320500", "320505", "321000")
ACLS = (("public",), ("provider:1",), ("public", "provider:2"), ("region:320500",), ())
BASE = datetime(2025, 1, 1, tzinfo=UTC)

packages = st.builds(
    lambda pid, words, text_words, category, levels, regions, price, acl, day, subsidy:
    PackageDoc(pid, "".join(words), "，".join(text_words), category=category,
               scenario_levels=levels, regions_served=regions, price_fen=price, acl=acl,
               published=BASE + timedelta(days=day) if day is not None else None,
               subsidy_available=subsidy, provider_id=pid % 3),
    pid=st.integers(1, 10_000),
    words=st.lists(st.sampled_from(PHRASES), min_size=1, max_size=3),
    text_words=st.lists(st.sampled_from(PHRASES), min_size=1, max_size=6),
    category=st.sampled_from(["quality", "energy", "device_monitoring", None]),
    levels=st.lists(st.sampled_from(["device", "line", "factory"]), max_size=2,
                    unique=True).map(tuple),
    regions=st.lists(st.sampled_from(REGIONS), max_size=2, unique=True).map(tuple),
    price=st.one_of(st.none(), st.integers(0, 80_000_000)),
    acl=st.sampled_from(ACLS),
    day=st.one_of(st.none(), st.integers(0, 5)),  # few days: many ties
    subsidy=st.booleans(),
)

TYPOS = ("质两检测", "设备联王", "能耗监侧", "mess", "数据采隻", "质量检测 碳排放")
texts = st.one_of(
    st.just(""),
    st.sampled_from(PHRASES + TYPOS),
    st.lists(st.one_of(st.sampled_from(PHRASES), st.sampled_from(TYPOS),
                       st.sampled_from(PHRASES).map(lambda p: f'"{p}"'),
                       st.sampled_from(PHRASES).map(lambda p: f"-{p}")),
             min_size=1, max_size=3).map(" ".join),
)

filters = st.just({}) | st.fixed_dictionaries({}, optional={
    "category": st.lists(st.sampled_from(["quality", "energy", "device_monitoring",
                                          "nonexistent"]), min_size=1, max_size=2),
    "region": st.lists(st.sampled_from(REGIONS), min_size=1, max_size=2),
    "price_band": st.lists(st.sampled_from(["lt_5k", "20k_50k", "ge_500k"]), min_size=1,
                           max_size=3),
    "subsidy": st.sampled_from([[True], [False]]),
    "scenario_level": st.lists(st.sampled_from(["device", "line"]), min_size=1, max_size=2),
})


@FUZZ
@given(docs=st.lists(packages, min_size=3, max_size=25, unique_by=lambda d: d.id), text=texts,
       filters=filters, sort=st.sampled_from(["newest", "price_asc", "price_desc", "relevance"]),
       page=st.integers(1, 3), per_page=st.sampled_from([3, 100]),
       principals=st.sampled_from([("public",), ("public",), ("provider:1",),
                                   ("public", "provider:2"), ("region:320500", "public"),
                                   ("nobody",)]),
       price=st.sampled_from([(None, None), (None, None), (500_000, None), (None, 2_000_000)]))
def test_both_backends_give_the_same_results(tmp_path_factory, postgres_store, segmenter, docs,
                                             text, filters, sort, page, per_page, principals,
                                             price):
    whoosh = SearchIndex(tmp_path_factory.mktemp("whoosh"), segmenter=segmenter)
    with whoosh, postgres_store.open(segmenter) as postgres:
        for index in (whoosh, postgres):
            index.rebuild("package", docs)
        query = SearchQuery("package", text, principals, filters=filters, sort=sort,
                            page=page, per_page=per_page, price_min_fen=price[0],
                            price_max_fen=price[1])
        a, b = whoosh.search(query), postgres.search(query)
        event(f"found: {a.total > 0}, suggestion: {a.suggestion is not None}")
        assert (a.total, a.pages, a.words) == (b.total, b.pages, b.words)
        assert a.facets == b.facets
        if sort == "relevance" and query.text.strip():  # BM25 and ts_rank_cd rank differently
            everything = SearchQuery("package", text, principals, filters=filters,
                                     per_page=100, price_min_fen=price[0],
                                     price_max_fen=price[1])
            assert sorted(ids(whoosh.search(everything))) == \
                sorted(ids(postgres.search(everything)))
        else:
            assert ids(a) == ids(b)
            assert [(h.record, h.title_html, h.snippet_html) for h in a.hits] == \
                [(h.record, h.title_html, h.snippet_html) for h in b.hits]
        assert (a.suggestion is None) == (b.suggestion is None)
        if a.suggestion is not None:
            assert whoosh.search(SearchQuery("package", b.suggestion, principals)).total > 0


def test_query_words_are_what_the_phrase_positions_expect(segmenter):
    # the phrase "联网监测" is cut in default mode, like the stored main words
    assert query_words("联网监测", segmenter) == ["联网", "监测"]
    assert text_query('"联网监测"', segmenter).match == "'联网' & '监测' & ('联网' <-> '监测')"


def test_suggestions_only_come_from_visible_words(postgres_store, segmenter, package,
                                                  tmp_path):
    """Where the backends differ: Whoosh proposes the indexed word one edit away that most
    documents' text holds (hidden ones too) and gives up when it finds nothing visible;
    PostgreSQL only weighs words of documents the asker may see."""
    docs = [package(1, "qrst 系统")] + [package(i, "草稿", "qrsx 组网", acl=("provider:9",))
                                        for i in range(2, 5)]
    with SearchIndex(tmp_path, segmenter=segmenter) as whoosh, \
            postgres_store.open(segmenter) as postgres:
        for index in (whoosh, postgres):
            index.apply(upserts=docs)
        public = SearchQuery("package", "qrsy", {"public"})
        assert whoosh.search(public).suggestion is None  # "qrsx": only in hidden documents
        assert postgres.search(public).suggestion == "qrst"
        hidden = SearchQuery("package", "qrsy", {"provider:9"})
        assert whoosh.search(hidden).suggestion == postgres.search(hidden).suggestion == "qrsx"


def test_repeated_searches_are_answered_from_memory_until_any_host_writes(postgres_store,
                                                                         segmenter):
    with postgres_store.open(segmenter) as index, postgres_store.open(segmenter) as other:
        index.apply(upserts=[PackageDoc(1, "设备联网", acl=("public",))])
        query = SearchQuery("package", "联网", {"public"})
        first = index.search(query)
        assert index.search(query) is first  # from this process's cache
        assert index.search(SearchQuery("package", "联网", {"public"}, page=2)) is not first
        other.apply(upserts=[PackageDoc(2, "设备联网改造", acl=("public",))])  # another host
        assert index.search(query).total == 2
        other.rebuild("package", [PackageDoc(3, "能耗监测", acl=("public",))])
        assert index.search(query).total == 0
        with pytest.raises(TypeError):
            index.search(query).facets["category"] = ()  # shared: read-only


def test_every_filter_name_has_a_code_number():
    from search import SPECS
    from search._pgrows import CODE_NAMES, code_id

    names = {name for spec in SPECS.values() for name in spec.facet_names}
    assert names <= set(CODE_NAMES)
    ids = {code_id(f"{name}=x") >> 56 for name in names}
    assert len(ids) == len(names)  # one number per name, in the top byte
