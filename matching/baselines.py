"""Plain baselines the evaluation compares the matcher with: word TF-IDF and BM25.

Both see the same fields as the recommender: the jieba words (domain dictionary and stop words
included) of the text and of the structured fields' labels (category, scenario levels,
industries, clusters: "质量检测", "汽车制造业"), so a baseline is not handicapped by lacking
what the matcher scores as structure. They get no character n-grams and no scenario vocabulary.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from .codes import label_of
from .features import analyze, passthrough
from .records import NeedRecord, PackageRecord


def field_labels(record: PackageRecord | NeedRecord) -> str:
    """The labels of a record's structured fields as text, e.g. "质量检测 设备 汽车制造业"."""
    if isinstance(record, PackageRecord):
        fields = [("category", record.category)]
        fields += [("scenario_level", c) for c in record.scenario_levels]
        fields += [("industry", c) for c in record.industries]
        fields += [("cluster", c) for c in record.clusters]
    else:
        fields = [
            ("category", record.category),
            ("scenario_level", record.scenario_level),
            ("industry", record.industry),
            ("cluster", record.cluster),
        ]
    return " ".join(filter(None, (label_of(kind, code) for kind, code in fields)))


def _words(record: PackageRecord | NeedRecord) -> Sequence[str]:
    words = record.tokens if record.tokens is not None else analyze(record.full_text)
    return [*words, *analyze(field_labels(record))]


def _top_ids(scores: np.ndarray, ids: list[Hashable], k: int) -> list[list[Hashable]]:
    out = []
    for row in scores:
        order = np.argsort(-row, kind="stable")[:k]
        out.append([ids[i] for i in order if row[i] > 0])
    return out


class TfidfBaseline:
    """Cosine similarity of word TF-IDF vectors (scikit-learn defaults, l2 norm)."""

    def fit(self, packages: Sequence[PackageRecord]) -> TfidfBaseline:
        self.ids_ = [p.id for p in packages]
        self.vectorizer_ = TfidfVectorizer(analyzer=passthrough)
        self.X_ = self.vectorizer_.fit_transform([_words(p) for p in packages])
        return self

    def rank(self, needs: Sequence[NeedRecord], k: int = 10) -> list[list[Hashable]]:
        Q = self.vectorizer_.transform([_words(n) for n in needs])
        return _top_ids((Q @ self.X_.T).toarray(), self.ids_, k)


class BM25Baseline:
    """Okapi BM25 over words.

    Parameters
    ----------
    k1, b : float
        The usual saturation and length-normalisation constants.
    """

    def __init__(self, k1: float = 1.5, b: float = 0.75):
        self.k1 = k1
        self.b = b

    def fit(self, packages: Sequence[PackageRecord]) -> BM25Baseline:
        self.ids_ = [p.id for p in packages]
        self.vectorizer_ = CountVectorizer(analyzer=passthrough)
        tf = self.vectorizer_.fit_transform([_words(p) for p in packages]).tocsr().astype(float)
        n_docs = tf.shape[0]
        df = np.bincount(tf.indices, minlength=tf.shape[1])
        self.idf_ = np.log(1 + (n_docs - df + 0.5) / (df + 0.5))
        lengths = np.asarray(tf.sum(axis=1)).ravel()
        norm = self.k1 * (1 - self.b + self.b * lengths / max(lengths.mean(), 1e-9))
        rows = np.repeat(np.arange(n_docs), np.diff(tf.indptr))
        tf.data = tf.data * (self.k1 + 1) / (tf.data + norm[rows]) * self.idf_[tf.indices]
        self.W_ = tf
        return self

    def rank(self, needs: Sequence[NeedRecord], k: int = 10) -> list[list[Hashable]]:
        Q = self.vectorizer_.transform([_words(n) for n in needs])
        Q = sp.csr_matrix((Q > 0).astype(float))
        return _top_ids((Q @ self.W_.T).toarray(), self.ids_, k)
