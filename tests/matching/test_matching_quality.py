"""The matcher against plain baselines on the labelled set in tests/data."""

from __future__ import annotations

from matching.evaluation import evaluate


def test_matcher_beats_both_baselines_by_a_clear_margin(labelled):
    packages, needs, labels = labelled
    assert len(packages) >= 60 and len(needs) >= 100
    table = evaluate(packages, needs, labels, k=10)
    for baseline in ("tfidf", "bm25"):
        for metric in ("recall@5", "ndcg@10", "mrr", "hit@3"):
            assert table["matcher"][metric] >= table[baseline][metric] + 0.15, (baseline, metric)


def test_labelled_set_covers_every_category_and_cluster(labelled):
    from matching.codes import CATEGORIES, CLUSTERS

    packages, needs, _ = labelled
    assert {p.category for p in packages} == set(CATEGORIES)
    assert {c for p in packages for c in p.clusters} == set(CLUSTERS)
    assert {n.cluster for n in needs if n.cluster} == set(CLUSTERS)
