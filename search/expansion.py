"""Query expansion with the recommender's scenario vocabulary (``matching/data/concepts.txt``).

A query word that is part of a concept trigger ("坏" in "老是坏") may also be matched by the
concept's solution wording: its label ("预测性维护") and its one-word triggers ("故障预警",
"停机" …), so owners' words find providers' words. Multi-word triggers are left out: their
words alone ("坏", "修") would match anything.
"""

from __future__ import annotations

import functools

from matching.features import ScenarioVocabulary
from matching.text import Segmenter, default_segmenter

from .analysis import normalize, query_words

#: Alternatives per concept; the longest one-word triggers first (the most specific).
MAX_TERMS_PER_CONCEPT = 10


@functools.lru_cache(maxsize=1)
def _vocabulary() -> ScenarioVocabulary:
    return ScenarioVocabulary()


@functools.lru_cache(maxsize=4)
def concept_terms(segmenter: Segmenter) -> dict[str, tuple[str, ...]]:
    """Per concept id, the index words that stand for it (label and one-word triggers)."""
    out = {}
    for concept in _vocabulary().concepts.values():
        terms: list[str] = []
        for phrase in (concept.label_zh, *sorted(concept.triggers, key=len, reverse=True)):
            words = query_words(phrase, segmenter)
            if len(words) == 1 and len(words[0]) >= 2 and words[0] not in terms:
                terms.append(words[0])
        out[concept.id] = tuple(terms[:MAX_TERMS_PER_CONCEPT])
    return out


def expansions(text: str, segmenter: Segmenter | None = None) -> dict[str, tuple[str, ...]]:
    """For each query word inside a concept trigger, the concept's terms (not the word itself).

    Triggers count only on the query's word boundaries, as in the recommender.
    """
    segmenter = segmenter or default_segmenter()
    words = query_words(text, segmenter)
    found = _vocabulary().find(normalize(text), words)
    terms = concept_terms(segmenter)
    out: dict[str, list[str]] = {}
    for cid, triggers in found.items():
        for trigger in triggers:
            for word in query_words(trigger, segmenter):
                extra = out.setdefault(word, [])
                extra += [t for t in terms[cid] if t != word and t not in extra]
    return {word: tuple(extra) for word, extra in out.items() if extra}
