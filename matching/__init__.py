"""The marketplace's recommender: Chinese text, structured signals and supply chains.

A plain library: it takes plain records and returns ranked ids with scores and reasons.
It never imports Flask, SQLAlchemy or ``marketplace``.

Public API::

    from matching import Matcher, PackageRecord, NeedRecord, EnterpriseRecord
    matcher = Matcher().fit(packages, open_needs, chain_adoption=..., subsidised_prices=...)
    matcher.recommend(need_or_enterprise_or_need_id, N=10, filter_items=...)  # need page, 为您推荐
    matcher.recommend_needs(package_or_id, N=10)                            # provider leads
    matcher.similar_packages(package_or_id, N=10)                           # package page
    matcher.upsert_packages([...]); matcher.remove_packages([...])          # no refit
    matcher.save(directory); Matcher.load(directory); read_fingerprint(directory)
    schedule_meetings(candidates, slots, tables, max_per_sme)                # 供需对接活动

Errors: :class:`matching.io.DataError` (bad input files), :class:`matching.learn.
InsufficientFeedback` (too little feedback to retrain), ``KeyError`` (unknown id) and
``sklearn.exceptions.NotFittedError`` (used before :meth:`Matcher.fit`).
"""

from .features import analyze
from .matcher import DEFAULT_WEIGHTS, FEATURE_NAMES, Matcher, fingerprint, read_fingerprint
from .records import (
    EnterpriseRecord,
    NeedRecord,
    PackageRecord,
    Reason,
    Recommendation,
)
from .schedule import Assignment, Candidate, schedule_meetings, schedule_problems
from .text import Segmenter, default_segmenter, normalize, words

__all__ = [
    "Assignment",
    "Candidate",
    "DEFAULT_WEIGHTS",
    "FEATURE_NAMES",
    "EnterpriseRecord",
    "Matcher",
    "NeedRecord",
    "PackageRecord",
    "Reason",
    "Recommendation",
    "Segmenter",
    "analyze",
    "default_segmenter",
    "fingerprint",
    "normalize",
    "read_fingerprint",
    "schedule_meetings",
    "schedule_problems",
    "words",
]
