"""Plain words: the document builder's labels, concept expansion, the partial-match fallback
and ``python -m search rank``. Expansion and fallback run on both backends (``store``)."""

from __future__ import annotations

import json

import pytest

from search import SearchQuery, package_document
from search.rank import main

CATALOGUE = [
    package_document(
        1,
        "轻量边缘网关",
        description="采集PLC数据，手机查看",
        provider_name="苏州云智科技",
        category="device_monitoring",
        scenario_levels=("line",),
        acl=("public",),
    ),
    package_document(
        2,
        "振动传感器套装",
        description="故障预警，提前安排检修",
        category="device_monitoring",
        acl=("public",),
    ),
    package_document(
        3,
        "扫码出入库",
        description="库位管理，先进先出",
        category="warehouse_logistics",
        industries=("C36",),
        acl=("public",),
    ),
]


@pytest.fixture
def index(store, segmenter):
    with store.open(segmenter, lock_timeout=10) as index:
        index.apply(upserts=CATALOGUE)
        yield index


def ids(index, text, **options):
    results = index.search(SearchQuery("package", text, {"public"}, **options))
    return [hit.id for hit in results.hits], results


def test_documents_carry_category_scenario_industry_and_provider_names(index):
    assert "设备联网与监测" in CATALOGUE[0].text and "产线" in CATALOGUE[0].text
    assert "苏州云智科技" in CATALOGUE[0].text and "汽车制造业" in CATALOGUE[2].text
    assert sorted(ids(index, "设备联网")[0]) == [1, 2]  # neither says 设备联网: the category does
    assert ids(index, "云智")[0] == [1]
    assert ids(index, "汽车 出入库")[0] == [3]


def test_expansion_finds_the_solution_wording_for_the_owners_words(index):
    assert ids(index, "机器老是坏")[0] == []
    found, _ = ids(index, "老是坏", expand=True)
    assert found == [2]  # 坏 in 老是坏 → 故障预警
    assert ids(index, "找不到货", expand=True)[0] == [3]


def test_fallback_ranks_partial_matches_when_all_words_cannot_match(index):
    strict, results = ids(index, "扫码 库位 发票")
    assert strict == [] and not results.relaxed
    found, results = ids(index, "扫码 库位 发票", fallback=True)
    assert found == [3] and results.relaxed and results.total == 1
    # More words matched ranks first.
    found, _ = ids(index, "故障预警 手机 检修", fallback=True)
    assert found == [2, 1]
    # Nothing matches any word: still nothing, and never relaxed.
    found, results = ids(index, "xyzzy 发票", fallback=True)
    assert found == [] and not results.relaxed
    # A query every word of which matches is not relaxed.
    assert not ids(index, "扫码 库位", fallback=True)[1].relaxed


def test_fallback_keeps_filters_exclusions_and_the_suggestion(index):
    found, results = ids(index, "扫码 库位 发票", fallback=True,
                         filters={"category": ["device_monitoring"]})
    assert found == [] and not results.relaxed
    found, results = ids(index, "故障预警 手机 -检修", fallback=True)
    assert found == [1] and results.relaxed
    # Nothing matches any word: the strict search's spelling suggestion stays.
    _, strict = ids(index, "扫马 xyzzy")
    _, relaxed = ids(index, "扫马 xyzzy", fallback=True)
    assert relaxed.suggestion == strict.suggestion and not relaxed.relaxed


def test_expansion_and_fallback_together_highlight_the_expansion_terms(index):
    found, results = ids(index, "机器老是坏 发票", expand=True, fallback=True)
    assert found == [2] and results.relaxed
    assert "<mark>" in str(results.hits[0].snippet_html)
    # A repeated search with other options is not answered with the first one's results.
    assert ids(index, "机器老是坏 发票")[0] == []


def test_rank_cli_uses_the_apps_builder_expansion_and_fallback(tmp_path, capsys):
    packages = tmp_path / "p.jsonl"
    rows = [
        {
            "id": "gw",
            "title": "轻量边缘网关",
            "description": "采集PLC数据",
            "category": "设备联网与监测",
        },
        {
            "id": "pm",
            "title": "振动传感器套装",
            "description": "故障预警",
            "category": "device_monitoring",
            "industries": ["外星工业"],
        },
        {"id": "wms", "title": "扫码出入库", "description": "库位管理", "category": "仓储物流"},
    ]
    packages.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    queries = tmp_path / "q.jsonl"
    lines = [
        {"id": 1, "query": "设备联网"},
        {"id": "b", "query": "机器老是坏 发票"},
        {"id": "c", "query": "xyzzy"},
    ]
    queries.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in lines), "utf-8")
    assert main(["--packages", str(packages), "--queries", str(queries), "--k", "1"]) == 0
    captured = capsys.readouterr()
    out = [json.loads(line) for line in captured.out.splitlines()]
    assert out == [
        {"query": 1, "packages": ["gw"]},
        {"query": "b", "packages": ["pm"]},
        {"query": "c", "packages": []},
    ]
    assert "1 of 3 packages had unrecognised values" in captured.err


def test_rank_cli_refuses_duplicate_ids_and_bad_queries(tmp_path, capsys):
    packages = tmp_path / "p.jsonl"
    packages.write_text('{"id": "a", "title": "x"}\n{"id": "a", "title": "y"}\n', "utf-8")
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": 1, "query": "x"}\n', "utf-8")
    assert main(["--packages", str(packages), "--queries", str(queries)]) == 2
    assert "appears twice" in capsys.readouterr().err
    packages.write_text('{"id": "a", "title": "x"}\n', "utf-8")
    queries.write_text('{"id": 1}\n', "utf-8")
    assert main(["--packages", str(packages), "--queries", str(queries)]) == 2
    assert "query line needs id and query" in capsys.readouterr().err


def test_evaluate_scores_needs_as_queries():
    from search.rank import evaluate, first_clause

    assert first_clause("仓库找不到货，盘点对不上") == "仓库找不到货"
    rows = [
        {"id": "wms", "title": "扫码出入库", "description": "库位管理"},
        {"id": "pm", "title": "振动传感器套装", "description": "故障预警"},
    ]
    needs = [
        {"id": "a", "text": "仓库找不到货，库位乱", "relevant": ["wms"]},
        {"id": "b", "text": "机器老是坏", "relevant": ["pm"]},
        {"id": "c", "text": "发票太多", "relevant": ["wms"]},
    ]
    result = evaluate(rows, needs, short=True)
    assert result["queries"] == 3 and result["empty"] == 1
    assert result["hit@5"] == result["mrr"] == 0.667  # rounded to three places
    assert evaluate(rows, needs, relaxed=False)["empty"] == 3
