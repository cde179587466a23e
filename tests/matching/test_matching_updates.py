"""Incremental updates: no refit, seen at once, compaction keeps results."""

from __future__ import annotations

from matching import Matcher, NeedRecord
from tests.matching.matching_helpers import make_package


def ids(recs):
    return [r.id for r in recs]


def test_added_package_is_recommended_without_refit(fitted, broken_machines):
    vocabulary = fitted.word_vectorizer_.vocabulary_
    fitted.upsert_packages(
        [
            make_package(
                "new",
                "轴承健康监测",
                "振动分析，剩余寿命预测，提前安排检修",
                category="device_monitoring",
                industries=("C34",),
            )
        ]
    )
    assert "new" in ids(fitted.recommend(broken_machines, N=3))
    assert fitted.word_vectorizer_.vocabulary_ is vocabulary


def test_updated_package_replaces_the_old_version(fitted):
    need = NeedRecord(id="e", text="仓库找不到货，账对不上")
    assert "aps" not in ids(fitted.recommend(need, N=1))
    fitted.upsert_packages([make_package("aps", "扫码仓储管理", "库位管理，出入库扫码，盘点")])
    recs = fitted.recommend(need, N=10)
    assert recs[0].id == "aps"
    assert ids(recs).count("aps") == 1


def test_removed_package_disappears(fitted, broken_machines):
    fitted.remove_packages(["pm", "unknown-id"])
    assert "pm" not in ids(fitted.recommend(broken_machines, N=10))


def test_needs_can_be_added_and_removed_for_leads(fitted):
    fitted.upsert_needs([NeedRecord(id="n2", text="设备三天两头出故障", industry="C34")])
    assert set(ids(fitted.recommend_needs("pm"))) >= {"n1", "n2"}
    fitted.remove_needs(["n1"])
    assert ids(fitted.recommend_needs("pm")) == ["n2"]


def test_compaction_keeps_results(catalogue, broken_machines):
    matcher = Matcher().fit(catalogue)
    extra = [
        make_package(f"x{i}", f"通用方案{i}", "数据采集与报表", category="lowcode_integration")
        for i in range(300)
    ]
    matcher.upsert_packages(extra[:200])
    before = matcher.recommend(broken_machines, N=5)
    assert matcher._package_rows.n_delta == 200
    matcher.upsert_packages(extra[200:])  # past the threshold: merged into the main rows
    matcher.remove_packages([p.id for p in extra[200:]])
    matcher._maybe_compact(force=True)
    assert matcher._package_rows.n_delta == 0
    after = matcher.recommend(broken_machines, N=5)
    assert ids(after) == ids(before)
    assert len(matcher.package_ids_) == len(catalogue) + 200
