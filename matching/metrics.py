"""Ranking metrics for the evaluation CLI.

Labels list every relevant package best first. nDCG uses graded gains from that order: with
``R`` relevant packages the one at label position ``i`` (0-based) gains ``(R - i) / R``, so the
best package is worth 1 and the last 1/R; the ideal DCG puts them in label order. MRR is the
reciprocal rank of the first relevant package anywhere in the ranking (0 if none is ranked) and
Hit@1 whether the top package is relevant; ``mrr_first`` and ``hit@1_first`` ask the same of the
*first-listed* (best) relevant package only, which is the one an owner actually needs: a ranking
that puts a second-best package first scores well on ``mrr`` but not on ``mrr_first``.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence

METRICS = ("recall@5", "recall@10", "ndcg@10", "mrr", "hit@1", "hit@3", "mrr_first", "hit@1_first")


def recall_at(ranked: Sequence[Hashable], relevant: Sequence[Hashable], k: int) -> float:
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & set(relevant)) / len(set(relevant))


def hit_at(ranked: Sequence[Hashable], relevant: Sequence[Hashable], k: int) -> float:
    return float(bool(set(ranked[:k]) & set(relevant)))


def reciprocal_rank(ranked: Sequence[Hashable], relevant: Sequence[Hashable]) -> float:
    wanted = set(relevant)
    for rank, item in enumerate(ranked, 1):
        if item in wanted:
            return 1.0 / rank
    return 0.0


def ndcg_at(ranked: Sequence[Hashable], relevant: Sequence[Hashable], k: int) -> float:
    """Graded nDCG@k with gains from the label order (see the module docstring)."""
    if not relevant:
        return 0.0
    n = len(relevant)
    gain = {item: (n - i) / n for i, item in enumerate(relevant)}
    dcg = sum(gain.get(item, 0.0) / math.log2(rank + 1) for rank, item in enumerate(ranked[:k], 1))
    ideal = sorted(gain.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(rank + 1) for rank, g in enumerate(ideal, 1))
    return dcg / idcg


def evaluate_rankings(
    rankings: Mapping[Hashable, Sequence[Hashable]],
    labels: Mapping[Hashable, Sequence[Hashable]],
    k: int = 10,
) -> dict[str, float]:
    """Mean of every metric over the labelled needs that have at least one relevant package.

    ``k`` is the cut-off of the nDCG and the longer recall; the short ones stay at 5 and 3.
    """
    needs = [n for n, rel in labels.items() if rel]
    if not needs:
        return {m: 0.0 for m in METRICS}
    sums = dict.fromkeys(METRICS, 0.0)
    for need in needs:
        ranked, rel = list(rankings.get(need, [])), labels[need]
        sums["recall@5"] += recall_at(ranked, rel, 5)
        sums["recall@10"] += recall_at(ranked, rel, k)
        sums["ndcg@10"] += ndcg_at(ranked, rel, k)
        sums["mrr"] += reciprocal_rank(ranked, rel)
        sums["hit@1"] += hit_at(ranked, rel, 1)
        sums["hit@3"] += hit_at(ranked, rel, 3)
        sums["mrr_first"] += reciprocal_rank(ranked, rel[:1])
        sums["hit@1_first"] += hit_at(ranked, rel[:1], 1)
    return {m: sums[m] / len(needs) for m in METRICS}
