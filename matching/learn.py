"""Learn scoring weights from deal feedback, and report before/after metrics.

Feedback lines (JSONL): ``{"need": id, "package": id, "event": e}`` with ``e`` one of
``impression``, ``request``, ``order``, ``accepted`` (positive: the SME wanted it),
``dismissed`` (negative). A shown package the SME neither requested nor dismissed counts as a
weak negative. Pairs are turned into the matcher's own terms (:meth:`Matcher.pair_features`)
and a logistic regression learns how much each term should weigh; a ranking only depends on
the weights' ratios, so the learned weights are rescaled to keep the text weights' sum.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupShuffleSplit

from .io import read_jsonl, read_needs, read_packages
from .matcher import DEFAULT_WEIGHTS, FEATURE_NAMES, TEXT_FEATURES, Matcher
from .metrics import reciprocal_rank
from .records import NeedRecord, PackageRecord

POSITIVE = frozenset(("request", "order", "accepted"))
NEGATIVE = frozenset(("dismissed", "impression"))


class InsufficientFeedback(ValueError):
    """Too few positive or negative pairs to learn anything trustworthy."""


@dataclass
class RetrainResult:
    """Learned weights with metrics on held-out needs, before (defaults) and after."""

    weights: dict[str, float]
    before: dict[str, float]
    after: dict[str, float]
    n_pairs: int
    n_positive: int
    coefficients: dict[str, float] = field(default_factory=dict)

    def report(self) -> dict:
        return {
            "pairs": self.n_pairs,
            "positive": self.n_positive,
            "before": self.before,
            "after": self.after,
            "weights": self.weights,
        }


def label_pairs(events: Sequence[dict]) -> dict[tuple[Hashable, Hashable], int]:
    """One label per (need, package): 1 if any positive event, else 0 if shown or dismissed."""
    labels: dict[tuple[Hashable, Hashable], int] = {}
    for event in events:
        key = (event["need"], event["package"])
        kind = event.get("event")
        if kind in POSITIVE:
            labels[key] = 1
        elif kind in NEGATIVE:
            labels.setdefault(key, 0)
    return labels


def _ranking_metrics(groups, scores, labels) -> dict[str, float]:
    """AUC over all held-out pairs and MRR of the first positive within each need's shown set."""
    rr = []
    for need in np.unique(groups):
        at = groups == need
        if labels[at].any():
            order = np.argsort(-scores[at], kind="stable")
            ranked = list(np.arange(at.sum())[order])
            rr.append(reciprocal_rank(ranked, list(np.flatnonzero(labels[at]))))
    auc = roc_auc_score(labels, scores) if 0 < labels.sum() < len(labels) else float("nan")
    return {"auc": round(float(auc), 4), "mrr": round(float(np.mean(rr)) if rr else 0.0, 4)}


def learn_weights(
    matcher: Matcher,
    needs: Sequence[NeedRecord],
    events: Sequence[dict],
    min_events: int = 50,
    seed: int = 0,
) -> RetrainResult:
    """Fit weights on 75% of the needs' feedback and compare on the other 25%.

    Parameters
    ----------
    matcher : Matcher
        Fitted on the packages the feedback refers to.
    needs : sequence of NeedRecord
        The needs the feedback refers to.
    events : sequence of dict
        Feedback events (see the module docstring).
    min_events : int
        Refuse with :class:`InsufficientFeedback` below this many positives or negatives.
    seed : int
        Random state of the need-wise split.
    """
    by_id = {n.id: n for n in needs}
    labels = label_pairs(events)
    labels = {k: v for k, v in labels.items() if k[0] in by_id and k[1] in matcher._package_slot}
    n_pos = sum(labels.values())
    if n_pos < min_events or len(labels) - n_pos < min_events:
        raise InsufficientFeedback(
            f"{n_pos} positive and {len(labels) - n_pos} negative pairs; need {min_events} of each"
        )
    per_need: dict[Hashable, list[Hashable]] = {}
    for need_id, package_id in labels:
        per_need.setdefault(need_id, []).append(package_id)
    rows, y, groups = [], [], []
    for g, (need_id, packages) in enumerate(per_need.items()):
        rows.append(matcher.pair_features(by_id[need_id], packages))
        y += [labels[(need_id, p)] for p in packages]
        groups += [g] * len(packages)
    X, y, groups = np.vstack(rows), np.asarray(y), np.asarray(groups)
    split = GroupShuffleSplit(n_splits=1, test_size=0.25, random_state=seed)
    train, test = next(split.split(X, y, groups))
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
    model.fit(X[train], y[train])
    coef = dict(zip(FEATURE_NAMES, model.coef_[0].tolist(), strict=True))
    default = np.array([matcher.weights_[f] for f in FEATURE_NAMES])
    text_sum = sum(DEFAULT_WEIGHTS[f] for f in TEXT_FEATURES)
    learned_text = sum(coef[f] for f in TEXT_FEATURES)
    scale = text_sum / learned_text if learned_text > 0 else 1.0 / max(abs(model.coef_).max(), 1e-9)
    weights = {f: round(coef[f] * scale, 4) for f in FEATURE_NAMES}
    learned = np.array([weights[f] for f in FEATURE_NAMES])
    return RetrainResult(
        weights=weights,
        before=_ranking_metrics(groups[test], X[test] @ default, y[test]),
        after=_ranking_metrics(groups[test], X[test] @ learned, y[test]),
        n_pairs=len(y),
        n_positive=int(y.sum()),
        coefficients=coef,
    )


def retrain_from_files(
    packages: str | Path,
    needs: str | Path,
    feedback: str | Path,
    min_events: int = 50,
    seed: int = 0,
) -> RetrainResult:
    """The ``retrain`` command: read the files, fit a default matcher, learn weights."""
    package_records: list[PackageRecord] = read_packages(packages)
    need_records, _ = read_needs(needs)
    matcher = Matcher().fit(package_records)
    return learn_weights(matcher, need_records, list(read_jsonl(feedback)), min_events, seed)
