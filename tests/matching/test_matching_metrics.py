"""Metrics on hand-computed cases."""

from __future__ import annotations

import math

import pytest

from matching.metrics import evaluate_rankings, hit_at, ndcg_at, recall_at, reciprocal_rank


def test_recall_hit_and_reciprocal_rank():
    ranked = ["a", "b", "c", "d", "e", "f"]
    assert recall_at(ranked, ["b", "f", "z"], 5) == pytest.approx(1 / 3)
    assert recall_at(ranked, ["b", "f", "z"], 10) == pytest.approx(2 / 3)
    assert hit_at(ranked, ["c"], 3) == 1.0 and hit_at(ranked, ["d"], 3) == 0.0
    assert reciprocal_rank(ranked, ["d", "b"]) == 0.5
    assert reciprocal_rank(ranked, ["z"]) == 0.0


def test_graded_ndcg_by_hand():
    # Two relevant, best first: gains 1 and 1/2. Ranked: x, b(0.5), a(1).
    dcg = 0.5 / math.log2(3) + 1.0 / math.log2(4)
    idcg = 1.0 / math.log2(2) + 0.5 / math.log2(3)
    assert ndcg_at(["x", "b", "a"], ["a", "b"], 10) == pytest.approx(dcg / idcg)
    assert ndcg_at(["a", "b"], ["a", "b"], 10) == pytest.approx(1.0)
    assert ndcg_at(["b", "a"], ["a", "b"], 1) == pytest.approx(0.5)


def test_evaluate_rankings_averages_over_labelled_needs():
    table = evaluate_rankings({"n1": ["a"], "n2": ["x", "b"]}, {"n1": ["a"], "n2": ["b"], "n3": []})
    assert table["mrr"] == pytest.approx((1 + 0.5) / 2)
    assert table["hit@3"] == 1.0 and table["recall@5"] == 1.0


def test_first_listed_metrics_only_credit_the_best_package():
    # "b" is relevant but second-listed: mrr and hit@1 credit it, the first-listed ones do not.
    table = evaluate_rankings({"n1": ["b", "a"], "n2": ["c"]}, {"n1": ["a", "b"], "n2": ["c"]})
    assert table["mrr"] == 1.0 and table["hit@1"] == 1.0
    assert table["mrr_first"] == pytest.approx((0.5 + 1) / 2)
    assert table["hit@1_first"] == pytest.approx(0.5)


def test_baselines_see_the_structured_fields_as_text():
    from matching import NeedRecord, PackageRecord
    from matching.baselines import TfidfBaseline, field_labels

    package = PackageRecord("p", "轻量系统", category="quality", industries=("C36",))
    assert "质量检测" in field_labels(package) and "汽车制造业" in field_labels(package)
    other = PackageRecord("q", "轻量系统")
    need = NeedRecord("n", "想找个系统", industry="C36")
    assert TfidfBaseline().fit([other, package]).rank([need])[0][0] == "p"
