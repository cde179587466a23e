"""Evaluate the matcher against the baselines on a labelled set."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from .baselines import BM25Baseline, TfidfBaseline
from .matcher import Matcher
from .metrics import evaluate_rankings
from .records import NeedRecord, PackageRecord

#: Ablation steps: what each part of the matcher adds (see matching/README.md).
ABLATION: dict[str, dict[str, Any]] = {
    "words only": dict(
        use_chars=False, use_concepts=False, use_classifier=False, use_structured=False
    ),
    "+ char n-grams": dict(use_concepts=False, use_classifier=False, use_structured=False),
    "+ vocabulary": dict(use_classifier=False, use_structured=False),
    "+ classifier": dict(use_structured=False),
    "+ structured (full)": {},
}


def matcher_rankings(
    matcher: Matcher, needs: Sequence[NeedRecord], k: int
) -> dict[Hashable, list[Hashable]]:
    results = matcher.recommend_batch(needs, k, reasons=False)
    return {need.id: [r.id for r in recs] for need, recs in zip(needs, results, strict=True)}


def evaluate(
    packages: Sequence[PackageRecord],
    needs: Sequence[NeedRecord],
    labels: Mapping[Hashable, Sequence[Hashable]],
    k: int = 10,
    matcher: Matcher | None = None,
    ablation: bool = False,
) -> dict[str, dict[str, float]]:
    """Metrics per system: ``matcher``, ``tfidf``, ``bm25`` (and the ablation steps).

    The matcher is fitted on the packages only: the labelled needs are queries, never seen
    at fit, as a need posted after the last refit would be.
    """
    matcher = matcher if matcher is not None else Matcher()
    matcher.fit(packages)
    table = {"matcher": evaluate_rankings(matcher_rankings(matcher, needs, k), labels, k)}
    for name, baseline in (("tfidf", TfidfBaseline()), ("bm25", BM25Baseline())):
        ranked = baseline.fit(packages).rank(needs, k)
        rankings = {need.id: ids for need, ids in zip(needs, ranked, strict=True)}
        table[name] = evaluate_rankings(rankings, labels, k)
    if ablation:
        for name, params in ABLATION.items():
            step = Matcher(**params).fit(packages)
            table[name] = evaluate_rankings(matcher_rankings(step, needs, k), labels, k)
    return table
