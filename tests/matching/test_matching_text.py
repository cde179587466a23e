"""Text features: the segmenter's public names, vocabulary, n-grams, fast TF-IDF."""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from matching import Segmenter, default_segmenter, normalize, words
from matching.features import (
    CharNgramTfidf,
    ScenarioVocabulary,
    char_ngram_codes,
    decode_ngram,
    passthrough,
    tfidf_rows,
    token_counts,
)


def test_segmenter_public_names_still_work():
    assert normalize("ＭＥＳ") == "mes"
    assert "排产" in words("排产靠Excel")
    segmenter = default_segmenter()
    assert isinstance(segmenter, Segmenter)
    assert all(text for text, _, _ in segmenter.spans("设备联网与数据采集"))


def test_vocabulary_maps_symptoms_and_remedies_to_the_same_concept():
    vocabulary = ScenarioVocabulary()
    assert "predictive_maintenance" in vocabulary.find("机器老是坏，动不动就停机")
    assert "predictive_maintenance" in vocabulary.find("基于振动的预测性维护")
    assert "cat:device_monitoring" in vocabulary.tokens("没人知道哪台机在干活")
    assert vocabulary.find_many(["", "排产靠excel"])[1].keys() >= {"aps_scheduling"}


def test_every_concept_has_a_known_category():
    from matching.codes import CATEGORIES

    vocabulary = ScenarioVocabulary()
    assert {c.category for c in vocabulary.concepts.values()} == set(CATEGORIES)


def test_char_ngrams_do_not_cross_punctuation_or_documents():
    codes, docs = char_ngram_codes(["质检，排产", "ab"], (2, 2))
    grams = {(decode_ngram(int(c)), int(d)) for c, d in zip(codes, docs, strict=True)}
    assert grams == {("质检", 0), ("排产", 0), ("ab", 1)}
    X = CharNgramTfidf((2, 3)).fit_transform(["设备联网", "设备监测"])
    assert np.allclose(np.asarray(X.multiply(X).sum(axis=1)).ravel(), 1.0)


def test_fast_tfidf_equals_scikit_learn():
    docs = [["设备", "联网", "设备"], ["排产", "excel"], ["设备", "排产"]]
    reference = TfidfVectorizer(analyzer=passthrough, sublinear_tf=True).fit(docs)
    ours = tfidf_rows(token_counts(docs, reference.vocabulary_), reference.idf_)
    assert np.allclose(ours.toarray(), reference.transform(docs).toarray(), atol=1e-6)
