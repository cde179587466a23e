"""The recommender estimator: text similarity, structured fit and 链式转型, with reasons.

Scoring of one (need, package) pair, all terms documented in :data:`DEFAULT_WEIGHTS`::

    score = W * T / max(T)                          text, scaled so the best match has W
          + sum(w_f * f  for ungated f)             category fit, region and budget penalties
          + g * sum(w_f * f  for gated f)           level, industry, region, budget, chain,
                                                    provider quality
    T = w_words * cos_words + w_chars * cos_chars + w_concepts * cos_concepts,  W = sum of those w
    g = clip((T / max(T) - gate[0]) / (gate[1] - gate[0]), 0, 1)

The gate ``g`` is what keeps a chain leader's platform or a preferred provider from jumping
ahead when its package does not fit the need: boosts only count for packages whose text is
close to the best match for this query.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.naive_bayes import ComplementNB
from sklearn.utils.validation import check_is_fitted

from . import codes
from .features import (
    CONCEPTS_FILE,
    CharNgramTfidf,
    ScenarioVocabulary,
    TextBatch,
    analyze,
    chip_word,
    has_text,
)
from .features import passthrough as _passthrough
from .records import (
    EnterpriseRecord,
    ItemId,
    NeedRecord,
    PackageRecord,
    Reason,
    Recommendation,
)
from .text import STOPWORDS_FILE, USER_DICT

FORMAT_VERSION = 1

#: Default weights of every scoring term (see the module docstring for how they combine).
DEFAULT_WEIGHTS: dict[str, float] = {
    # Text: cosine similarities of three TF-IDF blocks.
    "text_words": 0.45,  # jieba words with the domain dictionary
    "text_chars": 0.2,  # character n-grams: words jieba never saw, typos, variants
    # Scenario vocabulary: everyday wording ↔ solution wording. 0.35 before mentions were
    # counted; 0.15–0.25 is a plateau on tests/data (matching/README.md).
    "text_concepts": 0.2,
    # Relevance that does not depend on the text gate.
    "same_category": 0.3,  # the poster chose this category
    "likely_category": 0.2,  # times P(category | need text) from the classifier
    "region_not_served": -0.5,  # provider does not serve the enterprise's region
    "over_budget": -0.15,  # times the relative overshoot, capped at 1
    "other_industry": -0.3,  # package is made for other industries only
    # Gated fit and quality.
    "same_level": 0.06,
    "adjacent_level": 0.03,
    "same_industry": 0.12,
    "same_cluster": 0.06,
    "serves_region": 0.03,  # provider explicitly serves the enterprise's county or city
    "within_budget": 0.05,  # effective price (after the best subsidy) within the budget
    "subsidy": 0.03,  # a subsidy lowers the price
    "chain_leader_platform": 0.4,  # package of the platform run by the SME's chain leader
    "chain_adopted": 0.2,  # provider already adopted in the same chain (log-scaled count)
    "preferred_provider": 0.08,  # 优选
    "verified_provider": 0.03,
    "rating": 0.05,  # (rating - 3) / 2
    "tier": 0.05,  # tier rank / 5
}
TEXT_FEATURES = ("text_words", "text_chars", "text_concepts")
UNGATED = frozenset(
    TEXT_FEATURES
    + ("same_category", "likely_category", "region_not_served", "over_budget", "other_industry")
)
STRUCTURED = tuple(f for f in DEFAULT_WEIGHTS if f not in TEXT_FEATURES)
FEATURE_NAMES = tuple(DEFAULT_WEIGHTS)
_BLOCKS = ("words", "chars", "concepts")
# Reasons worth showing follow the features they explain; these never make a reason alone.
_SILENT = frozenset(
    ("region_not_served", "over_budget", "other_industry", "likely_category", "tier", "rating")
)


def _int_id(mapping: dict, key: Any) -> int:
    """Index of ``key`` in a growing encoder; ``None`` is -1."""
    if key is None:
        return -1
    return mapping.setdefault(key, len(mapping))


def _region_int(code: str | None) -> int:
    return int(code) if code and str(code).isdigit() else 0


def _record_hash(record: PackageRecord | NeedRecord) -> str:
    fields = [getattr(record, f) for f in record.__slots__ if f != "tokens"]
    return hashlib.blake2b(repr(fields).encode(), digest_size=16).hexdigest()


def _data_hash() -> str:
    digest = hashlib.blake2b(digest_size=16)
    for path in (USER_DICT, STOPWORDS_FILE, CONCEPTS_FILE):
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def _params_key(params: Mapping[str, Any]) -> str:
    return json.dumps({k: repr(v) for k, v in sorted(params.items())}, sort_keys=True)


def _combine_hashes(params: Mapping[str, Any], items: Mapping[str, Mapping[Any, str]]) -> str:
    digest = hashlib.sha256()
    digest.update(f"v{FORMAT_VERSION}|{_data_hash()}|{_params_key(params)}".encode())
    for kind in sorted(items):
        for line in sorted(f"{kind}|{item!r}|{h}" for item, h in items[kind].items()):
            digest.update(line.encode())
    return digest.hexdigest()


def fingerprint(
    packages: Iterable[PackageRecord],
    needs: Iterable[NeedRecord] = (),
    params: Mapping[str, Any] | None = None,
) -> str:
    """Fingerprint of records and hyperparameters, equal to a matcher's ``fingerprint_``
    when it holds exactly these records (incremental updates included).

    Parameters
    ----------
    packages, needs : iterables of records
    params : mapping, optional
        ``Matcher.get_params()``; defaults to a default ``Matcher``'s.
    """
    params = Matcher().get_params() if params is None else params
    items = {
        "package": {p.id: _record_hash(p) for p in packages},
        "need": {n.id: _record_hash(n) for n in needs},
    }
    return _combine_hashes(params, items)


def read_fingerprint(directory: str | Path) -> str | None:
    """The fingerprint of the matcher saved under ``directory``, or ``None`` if there is none."""
    try:
        meta = json.loads((Path(directory) / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta.get("fingerprint") if meta.get("format") == FORMAT_VERSION else None


class Matcher(BaseEstimator):
    """Recommend packages for needs and enterprises, needs for packages, similar packages.

    Parameters
    ----------
    weights : mapping of str to float, optional
        Overrides of :data:`DEFAULT_WEIGHTS`; unknown names raise ``ValueError`` at fit.
    use_words, use_chars, use_concepts : bool
        Which text blocks to build (for ablation; all on by default).
    use_classifier : bool
        Predict a need's category from its text (ComplementNB fitted on the packages) when the
        poster did not choose one.
    use_structured : bool
        Use the structured terms at all; off means text only.
    char_ngram_range : (int, int)
        Character n-gram sizes.
    char_max_df : float
        Character n-grams in more than this share of documents are dropped.
    gate : (float, float)
        Relative text similarity below ``gate[0]`` earns no boost, above ``gate[1]`` all of it.
    strict_region : bool
        Exclude packages whose provider does not serve the enterprise's region, instead of
        only penalising them.
    max_terms : int
        Shared terms listed in a ``shared_terms`` reason.
    concept_counts : bool
        Count every mention of a concept (dampened by sublinear TF) instead of its presence, so
        a concept a text is mostly about outweighs one mentioned in passing.
    concept_boundaries : bool
        A trigger counts only where it starts and ends on a word boundary of the segmenter.
    concept_pivot : float
        Quantile (0–1) of the packages' concept-vector norms below which a package's concept
        vector is divided by that norm instead of its own: a package with one or two concepts
        no longer scores 1.0 on a need sharing one generic concept. 0 is plain l2.
    """

    def __init__(
        self,
        weights: Mapping[str, float] | None = None,
        use_words: bool = True,
        use_chars: bool = True,
        use_concepts: bool = True,
        use_classifier: bool = True,
        use_structured: bool = True,
        char_ngram_range: tuple[int, int] = (2, 2),
        char_max_df: float = 0.5,
        gate: tuple[float, float] = (0.2, 0.6),
        strict_region: bool = False,
        max_terms: int = 3,
        concept_counts: bool = True,
        concept_boundaries: bool = True,
        concept_pivot: float = 0.5,
    ):
        self.weights = weights
        self.use_words = use_words
        self.use_chars = use_chars
        self.use_concepts = use_concepts
        self.use_classifier = use_classifier
        self.use_structured = use_structured
        self.char_ngram_range = char_ngram_range
        self.char_max_df = char_max_df
        self.gate = gate
        self.strict_region = strict_region
        self.max_terms = max_terms
        self.concept_counts = concept_counts
        self.concept_boundaries = concept_boundaries
        self.concept_pivot = concept_pivot

    # ------------------------------------------------------------------ fitting

    def fit(
        self,
        packages: Sequence[PackageRecord],
        needs: Sequence[NeedRecord] = (),
        *,
        chain_adoption: Mapping[ItemId, Any] | None = None,
        subsidised_prices: Mapping[ItemId, int] | None = None,
    ) -> Matcher:
        """Fit the vocabularies on packages and needs and index both.

        Parameters
        ----------
        packages : sequence of PackageRecord
        needs : sequence of NeedRecord
            Open needs, indexed for :meth:`recommend_needs` (provider leads).
        chain_adoption : mapping, optional
            See :meth:`set_chain_adoption`.
        subsidised_prices : mapping, optional
            See :meth:`set_subsidised_prices`.

        Returns
        -------
        self
        """
        packages, needs = list(packages), list(needs)
        if not packages:
            raise ValueError("cannot fit a matcher without packages")
        _refuse_duplicate_ids(packages, "package")
        _refuse_duplicate_ids(needs, "need")
        self.weights_ = self._resolve_weights()
        self.vocabulary_ = ScenarioVocabulary()
        records = packages + needs
        batch = TextBatch([r.full_text for r in records])
        words = [self._tokens(r) for r in records]
        blocks = self._fit_blocks(words, batch, len(packages))
        self._fit_classifier(blocks, packages, needs)
        X, probs = self._stack(blocks)
        self._probs_pending = probs[len(packages) :]
        self._providers: dict[ItemId, int] = {}
        self._chains: dict[ItemId, int] = {}
        self._init_stores(packages, X[: len(packages)], needs, X[len(packages) :])
        self._adoption: dict[int, dict[int, int]] = {}
        self._subsidised: dict[ItemId, int] = {}
        self._lock = threading.RLock()
        self.set_chain_adoption(chain_adoption or {})
        self.set_subsidised_prices(subsidised_prices or {})
        return self

    def _resolve_weights(self) -> dict[str, float]:
        unknown = set(self.weights or {}) - set(DEFAULT_WEIGHTS)
        if unknown:
            raise ValueError(f"unknown weights: {sorted(unknown)}")
        weights = {**DEFAULT_WEIGHTS, **(self.weights or {})}
        switches = {
            "text_words": self.use_words,
            "text_chars": self.use_chars,
            "text_concepts": self.use_concepts,
            "likely_category": self.use_classifier,
        }
        for name in STRUCTURED:
            switches.setdefault(name, self.use_structured)
        return {k: (v if switches[k] else 0.0) for k, v in weights.items()}

    @staticmethod
    def _tokens(record: PackageRecord | NeedRecord) -> Sequence[str]:
        return record.tokens if record.tokens is not None else analyze(record.full_text)

    def _concept_tokens(self, batch: TextBatch, words: Sequence[Sequence[str]] | None):
        return self.vocabulary_.tokens_many(
            batch, words if self.concept_boundaries else None, counts=self.concept_counts
        )

    def _fit_blocks(
        self, words: list[Sequence[str]], batch: TextBatch, n_packages: int
    ) -> sp.csr_matrix:
        n = batch.n
        empty = sp.csr_matrix((n, 0), dtype=np.float32)
        self.word_vectorizer_ = TfidfVectorizer(
            analyzer=_passthrough, sublinear_tf=True, dtype=np.float32
        )
        blocks = {"words": empty, "chars": empty, "concepts": empty}
        if self.use_words:
            blocks["words"] = self.word_vectorizer_.fit_transform(words)
        self.char_vectorizer_ = CharNgramTfidf(self.char_ngram_range, max_df=self.char_max_df)
        if self.use_chars:
            blocks["chars"] = self.char_vectorizer_.fit_transform(batch)
        self.concept_vectorizer_ = TfidfVectorizer(
            analyzer=_passthrough,
            vocabulary={t: i for i, t in enumerate(self.vocabulary_.feature_names())},
            sublinear_tf=True,
            norm=None,
            dtype=np.float32,
        )
        self.concept_pivot_ = 0.0
        if self.use_concepts:
            raw = self.concept_vectorizer_.fit_transform(self._concept_tokens(batch, words))
            norms = np.sqrt(np.asarray(raw.multiply(raw).sum(axis=1)).ravel())
            if self.concept_pivot > 0 and n_packages:
                package_norms = norms[:n_packages]
                self.concept_pivot_ = float(
                    np.quantile(package_norms[package_norms > 0], self.concept_pivot)
                    if (package_norms > 0).any()
                    else 0.0
                )
            divide = np.where(norms > 0, norms, 1.0)
            divide[:n_packages] = np.maximum(divide[:n_packages], self.concept_pivot_)
            blocks["concepts"] = sp.csr_matrix(sp.diags(1.0 / divide) @ raw, dtype=np.float32)
        widths = [blocks[b].shape[1] for b in _BLOCKS]
        bounds = np.concatenate([[0], np.cumsum(widths)])
        self.blocks_ = {b: (int(bounds[i]), int(bounds[i + 1])) for i, b in enumerate(_BLOCKS)}
        self.word_names_ = (
            self.word_vectorizer_.get_feature_names_out() if self.use_words else np.array([])
        )
        self.concept_names_ = np.array(self.vocabulary_.feature_names())
        # Plain dicts and arrays for the per-query path: scikit-learn's transform validates
        # its input on every call, which costs more than the whole sparse product.
        self._word_index = dict(self.word_vectorizer_.vocabulary_) if self.use_words else {}
        self._word_idf = self.word_vectorizer_.idf_.astype(np.float32) if self.use_words else None
        self._concept_index = dict(self.concept_vectorizer_.vocabulary) if self.use_concepts else {}
        self._concept_idf = (
            self.concept_vectorizer_.idf_.astype(np.float32) if self.use_concepts else None
        )
        weights = np.zeros(int(bounds[-1]), dtype=np.float32)
        for block, name in zip(_BLOCKS, TEXT_FEATURES, strict=True):
            start, stop = self.blocks_[block]
            weights[start:stop] = self.weights_[name]
        self._column_weights = weights
        return blocks

    def _transform(self, records: Sequence[PackageRecord | NeedRecord], indexed: bool = False):
        """Rows and category probabilities for new records, with the fitted vocabularies.

        Built from (row, column, value) triplets with numpy and turned into one CSR matrix at
        the end: a query pays for one scipy constructor, not one per block.
        """
        batch = TextBatch([r.full_text for r in records])
        n = batch.n
        parts = []
        has_words = self.blocks_["words"][1] > self.blocks_["words"][0]
        has_concepts = self.blocks_["concepts"][1] > self.blocks_["concepts"][0]
        docs = None
        if has_words or (has_concepts and getattr(self, "concept_boundaries", False)):
            docs = [self._tokens(r) for r in records]
        if has_words:
            parts.append(("words", *_token_triplets(docs, self._word_index)))
        if self.blocks_["chars"][1] > self.blocks_["chars"][0]:
            parts.append(("chars", *self.char_vectorizer_.triplets(batch)))
        if has_concepts:
            concepts = self._concept_tokens(batch, docs)
            parts.append(("concepts", *_token_triplets(concepts, self._concept_index)))
        idf = {"words": self._word_idf, "concepts": self._concept_idf}
        rows_all, cols_all, vals_all = [], [], []
        jll = np.zeros((n, len(codes.CATEGORIES)), dtype=np.float32)
        for block, rows, cols in parts:
            block_idf = self.char_vectorizer_.idf_ if block == "chars" else idf[block]
            # Indexed packages' concept rows are divided by at least the fitted pivot.
            pivot = getattr(self, "concept_pivot_", 0.0) if indexed and block == "concepts" else 0
            rows, cols, vals = _tfidf_triplets(rows, cols, n, block_idf, pivot)
            if self.classifier_ is not None and block != "chars":
                weights = self._clf_words if block == "words" else self._clf_concepts
                np.add.at(jll, rows, vals[:, None] * weights[cols])
            rows_all.append(rows)
            cols_all.append(cols + self.blocks_[block][0])
            vals_all.append(vals)
        X = _csr_from_triplets(rows_all, cols_all, vals_all, n, self.blocks_["concepts"][1])
        return X, self._probs_from_jll(jll, X)

    def _probs_from_jll(self, jll: np.ndarray, X: sp.csr_matrix) -> np.ndarray:
        probs = np.zeros((X.shape[0], len(codes.CATEGORIES) + 1), dtype=np.float32)
        if self.classifier_ is None:
            return probs
        w_start, w_stop = self.blocks_["words"]
        c_start, _ = self.blocks_["concepts"]
        is_text = (X.indices < w_stop) | (X.indices >= c_start)
        rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        has_text = np.bincount(rows[is_text], minlength=X.shape[0]) > 0
        jll = np.where(self._class_of_seen, jll, -np.inf)
        jll -= jll.max(axis=1, keepdims=True)
        p = np.exp(jll)
        p /= p.sum(axis=1, keepdims=True)
        # Categories below 1% change a score by under 0.002: dropping them lets a query
        # add the term at a few categories' slots instead of over every package.
        p[p < 0.01] = 0.0
        probs[:, :-1] = np.where(has_text[:, None], p, 0.0)
        return probs

    def _stack(self, blocks: Mapping[str, sp.csr_matrix]):
        """One row per record across the blocks, and P(category | text) from the same blocks."""
        X = sp.hstack([blocks[b] for b in _BLOCKS], format="csr", dtype=np.float32)
        jll = np.zeros((X.shape[0], len(codes.CATEGORIES)), dtype=np.float32)
        if self.classifier_ is not None:
            jll = blocks["words"] @ self._clf_words + blocks["concepts"] @ self._clf_concepts
        return X, self._probs_from_jll(np.asarray(jll, dtype=np.float32), X)

    def _fit_classifier(self, blocks, packages, needs) -> None:
        """ComplementNB on words and concepts: robust on short, skewed text, and fits in O(nnz).

        Trained on the packages' own categories (and needs that chose one), so it learns the
        catalogue's vocabulary per category without any labelled needs.
        """
        self.classifier_ = None
        labelled = [i for i, p in enumerate(packages) if p.category in codes.CATEGORIES]
        labelled += [
            len(packages) + i for i, n in enumerate(needs) if n.category in codes.CATEGORIES
        ]
        records = list(packages) + list(needs)
        y = [records[i].category for i in labelled]
        width = blocks["words"].shape[1] + blocks["concepts"].shape[1]
        if not self.use_classifier or len(set(y)) < 2 or width == 0:
            return
        X = sp.hstack([blocks["words"], blocks["concepts"]], format="csr")[labelled]
        self.classifier_ = ComplementNB(alpha=0.3).fit(X, y)
        # Weights laid out in codes.CATEGORIES order, one matrix per block, so a query needs
        # two small products and no scikit-learn call.
        classes = list(self.classifier_.classes_)
        flp = np.zeros((width, len(codes.CATEGORIES)), dtype=np.float32)
        seen = np.zeros(len(codes.CATEGORIES), dtype=bool)
        for j, category in enumerate(codes.CATEGORIES):
            if category in classes:
                flp[:, j] = self.classifier_.feature_log_prob_[classes.index(category)]
                seen[j] = True
        n_words = blocks["words"].shape[1]
        self._clf_words, self._clf_concepts = flp[:n_words], flp[n_words:]
        self._class_of_seen = seen

    # ------------------------------------------------------------------ stores

    def _init_stores(self, packages, Xp, needs, Xn) -> None:
        from .store import SparseRows

        self.package_ids_: list[ItemId] = []
        self._package_slot: dict[ItemId, int] = {}
        self._package_cols: dict[str, np.ndarray] = {}
        self._package_hash: dict[ItemId, str] = {}
        self._region_slots: dict[str, list[int]] = {}
        self._package_rows = SparseRows(sp.csr_matrix((0, Xp.shape[1]), dtype=np.float32))
        self.need_ids_: list[ItemId] = []
        self._need_slot: dict[ItemId, int] = {}
        self._need_cols: dict[str, np.ndarray] = {}
        self._need_meta: list[NeedRecord] = []
        self._need_hash: dict[ItemId, str] = {}
        self._need_rows = SparseRows(sp.csr_matrix((0, Xp.shape[1]), dtype=np.float32))
        self._add_packages(packages, Xp)
        self._add_needs(needs, Xn, self._probs_pending)
        del self._probs_pending
        self._package_rows.compact(np.arange(len(packages)))
        self._need_rows.compact(np.arange(len(needs)))

    def _package_columns(self, records: Sequence[PackageRecord]) -> dict[str, np.ndarray]:
        def col(values, dtype):
            return np.fromiter(values, dtype=dtype, count=len(records))

        ratings = [r.provider_rating for r in records]
        return {
            "active": col((True for _ in records), bool),
            "eliminated": col((r.provider_status == "eliminated" for r in records), bool),
            "cat": col((codes.category_index(r.category) for r in records), np.int64),
            # Small unsigned bit masks: the per-query bit tests are memory-bound passes.
            "level": col((codes.level_mask(r.scenario_levels) for r in records), np.uint8),
            "ind": col((codes.industry_mask(r.industries) for r in records), np.uint32),
            "clu": col((codes.cluster_mask(r.clusters) for r in records), np.uint8),
            "serves_all": col((not r.regions_served for r in records), bool),
            "price": col((np.nan if r.price_fen is None else r.price_fen for r in records), float),
            "subsidised": np.full(len(records), np.nan),
            "provider": col((_int_id(self._providers, r.provider_id) for r in records), np.int64),
            "chain": col((_int_id(self._chains, r.chain_leader_id) for r in records), np.int64),
            "preferred": col((r.provider_status == "preferred" for r in records), np.float32),
            "verified": col((r.provider_verified for r in records), np.float32),
            "rating_raw": col((np.nan if x is None else x for x in ratings), np.float32),
            "rating": col(((0.0 if x is None else (x - 3) / 2) for x in ratings), np.float32),
            "tier": col((codes.TIER_RANK.get(r.provider_tier, 0) / 5 for r in records), np.float32),
        }

    def _need_columns(self, records: Sequence[NeedRecord], X, probs) -> dict[str, np.ndarray]:
        def col(values, dtype):
            return np.fromiter(values, dtype=dtype, count=len(records))

        regions = np.zeros((len(records), 3), dtype=np.int64)
        for i, r in enumerate(records):
            for j, code in enumerate(r.regions[:3]):
                regions[i, j] = _region_int(code)
        return {
            "active": col((True for _ in records), bool),
            "cat": col((codes.category_index(r.category) for r in records), np.int64),
            "catprob": probs,
            "level": col((codes.level_mask([r.scenario_level]) for r in records), np.int64),
            "ind": col((codes.industry_mask([r.industry]) for r in records), np.int64),
            "clu": col((codes.cluster_mask([r.cluster]) for r in records), np.int64),
            "regions": regions,
            "budget": col(
                (np.nan if r.budget_max_fen is None else r.budget_max_fen for r in records), float
            ),
            "chain": col((_int_id(self._chains, r.chain_leader_id) for r in records), np.int64),
            "has_text": np.asarray(X.getnnz(axis=1) > 0),
        }

    @staticmethod
    def _append_cols(cols: dict[str, np.ndarray], new: dict[str, np.ndarray]) -> None:
        for key, value in new.items():
            cols[key] = np.concatenate([cols[key], value]) if key in cols else value

    def _add_packages(self, records: Sequence[PackageRecord], X: sp.csr_matrix) -> None:
        for record in records:
            if record.id in self._package_slot:
                self._package_cols["active"][self._package_slot[record.id]] = False
        slots = self._package_rows.append(X)
        self._append_cols(self._package_cols, self._package_columns(records))
        for slot, record in zip(slots.tolist(), records, strict=True):
            self.package_ids_.append(record.id)
            self._package_slot[record.id] = slot
            self._package_hash[record.id] = _record_hash(record)
            price = self._subsidised.get(record.id) if hasattr(self, "_subsidised") else None
            if price is not None:
                self._package_cols["subsidised"][slot] = price
            for code in record.regions_served:
                self._region_slots.setdefault(str(code), []).append(slot)
        self._static_cache = None

    def _add_needs(self, records: Sequence[NeedRecord], X: sp.csr_matrix, probs) -> None:
        for record in records:
            if record.id in self._need_slot:
                self._need_cols["active"][self._need_slot[record.id]] = False
        slots = self._need_rows.append(X)
        self._append_cols(self._need_cols, self._need_columns(records, X, probs))
        for slot, record in zip(slots.tolist(), records, strict=True):
            self.need_ids_.append(record.id)
            self._need_meta.append(_meta(record))
            self._need_slot[record.id] = slot
            self._need_hash[record.id] = _record_hash(record)

    # ------------------------------------------------------------------ updates

    def upsert_packages(self, packages: Iterable[PackageRecord]) -> None:
        """Add or replace packages using the fitted vocabulary; seen at once by queries.

        Words new since the fit are not in the word vocabulary, but the character n-grams and
        the scenario vocabulary still match them; refit (e.g. nightly) to take them in.
        """
        check_is_fitted(self)
        records = _last_of_each_id(packages)
        if records:
            X, _ = self._transform(records, indexed=True)
            with self._lock:
                self._add_packages(records, X)
                self._maybe_compact()

    def remove_packages(self, ids: Iterable[ItemId]) -> None:
        """Stop recommending these packages (unknown ids are ignored)."""
        check_is_fitted(self)
        with self._lock:
            for item in ids:
                slot = self._package_slot.pop(item, None)
                if slot is not None:
                    self._package_cols["active"][slot] = False
                    self._package_hash.pop(item, None)
            self._maybe_compact()

    def upsert_needs(self, needs: Iterable[NeedRecord]) -> None:
        """Add or replace open needs (the candidates of :meth:`recommend_needs`)."""
        check_is_fitted(self)
        records = list(needs)
        if records:
            X, probs = self._transform(records)
            with self._lock:
                self._add_needs(records, X, probs)
                self._maybe_compact()

    def remove_needs(self, ids: Iterable[ItemId]) -> None:
        """Drop needs that were closed or deleted."""
        check_is_fitted(self)
        with self._lock:
            for item in ids:
                slot = self._need_slot.pop(item, None)
                if slot is not None:
                    self._need_cols["active"][slot] = False
                    self._need_hash.pop(item, None)
            self._maybe_compact()

    def _maybe_compact(self, force: bool = False) -> None:
        """Merge the delta segment once it, or the dead rows, pass 10% of the index."""
        for kind in ("package", "need"):
            rows = getattr(self, f"_{kind}_rows")
            cols = getattr(self, f"_{kind}_cols")
            dead = int((~cols["active"]).sum())
            limit = max(256, rows.n_slots // 10)
            if force or rows.n_delta > limit or dead > limit:
                self._compact(kind)

    def _compact(self, kind: str) -> None:
        rows = getattr(self, f"_{kind}_rows")
        cols = getattr(self, f"_{kind}_cols")
        ids = getattr(self, f"{kind}_ids_")
        keep = np.flatnonzero(cols["active"])
        rows.compact(keep)
        for key in cols:
            cols[key] = cols[key][keep]
        new_ids = [ids[i] for i in keep.tolist()]
        setattr(self, f"{kind}_ids_", new_ids)
        if kind == "need":
            self._need_meta = [self._need_meta[i] for i in keep.tolist()]
        setattr(self, f"_{kind}_slot", {item: slot for slot, item in enumerate(new_ids)})
        if kind == "package":
            remap = np.full(len(ids), -1, dtype=np.int64)
            remap[keep] = np.arange(len(keep))
            regions = {}
            for code, slots in self._region_slots.items():
                moved = remap[np.asarray(slots, dtype=np.int64)]
                regions[code] = moved[moved >= 0].tolist()
            self._region_slots = regions
            self._static_cache = None

    def set_chain_adoption(self, adoption: Mapping[ItemId, Any]) -> None:
        """Which providers the SMEs of each chain already use.

        Parameters
        ----------
        adoption : mapping
            Chain leader id → provider ids (a collection) or provider id → number of SMEs of
            that chain that adopted it.
        """
        table: dict[int, dict[int, int]] = {}
        for leader, providers in adoption.items():
            counts = providers if isinstance(providers, Mapping) else dict.fromkeys(providers, 1)
            row = table.setdefault(_int_id(self._chains, leader), {})
            for provider, count in counts.items():
                row[_int_id(self._providers, provider)] = int(count)
        self._adoption = table
        self._static_cache = None

    def set_subsidised_prices(self, prices: Mapping[ItemId, int]) -> None:
        """Price after the best applicable subsidy (从优、就高、不重复), in fen, per package id."""
        self._subsidised = dict(prices)
        column = np.full(len(self.package_ids_), np.nan)
        for item, price in self._subsidised.items():
            slot = self._package_slot.get(item)
            if slot is not None and price is not None:
                column[slot] = price
        self._package_cols["subsidised"] = column
        self._static_cache = None

    # ------------------------------------------------------------------ scoring

    def _weighted(self, Q: sp.csr_matrix) -> sp.csr_matrix:
        """The query with each block scaled by its weight (the indexed rows stay unweighted)."""
        Q = sp.csr_matrix(Q, dtype=np.float32, copy=True)
        Q.data *= self._column_weights[Q.indices]
        return Q

    def _text_scores(self, T: np.ndarray, has_text: np.ndarray, valid: np.ndarray):
        """Scaled text term and gate from raw weighted similarities ``T`` (rows = queries).

        ``T`` is overwritten with the text term; the gate is a new array.
        """
        W = np.float32(sum(self.weights_[f] for f in TEXT_FEATURES))
        if W <= 0:
            return np.zeros_like(T), np.ones_like(T)
        invalid = np.flatnonzero(~valid) if valid.ndim == 1 else None
        if invalid is not None:
            T[:, invalid] = 0.0  # few slots; a masked max (where=) is ~10x slower
            best = T.max(axis=1, keepdims=True)
        else:
            best = np.where(valid, T, 0.0).max(axis=1, keepdims=True)
        scale = np.where(best > 0, W / np.where(best > 0, best, 1.0), 0.0).astype(np.float32)
        T *= scale
        lo, hi = self.gate
        gate = T * np.float32(1.0 / (W * (hi - lo)))
        gate -= np.float32(lo / (hi - lo))
        np.clip(gate, 0.0, 1.0, out=gate)
        # Without any text match there is nothing to gate against: structure decides alone.
        no_match = (best <= 0) | ~np.asarray(has_text).reshape(-1, 1)
        if no_match.any():
            gate[no_match[:, 0]] = 1.0
        return T, gate

    def _static(self) -> np.ndarray:
        """Provider quality and subsidy per package slot (the same for every query)."""
        return self._cached()["static"]

    def _cached(self) -> dict[str, Any]:
        """Per-package arrays and slot indexes derived from the columns, rebuilt after changes.

        They let a query add most terms only at the slots they touch (a chain's platform, the
        providers adopted in the chain, one category) instead of passing over every package.
        """
        if getattr(self, "_static_cache", None) is not None:
            return self._static_cache
        cols, w = self._package_cols, self.weights_
        price = np.fmin(cols["price"], cols["subsidised"])
        static = (
            w["preferred_provider"] * cols["preferred"]
            + w["verified_provider"] * cols["verified"]
            + w["rating"] * cols["rating"]
            + w["tier"] * cols["tier"]
            + w["subsidy"] * (cols["subsidised"] < cols["price"])
        ).astype(np.float32)
        self._static_cache = {
            "static": static,
            "valid": cols["active"] & ~cols["eliminated"],
            "penalty": np.where(cols["active"] & ~cols["eliminated"], 0.0, -np.inf).astype(
                np.float32
            ),
            "has_price": np.isfinite(price),
            "price": np.nan_to_num(price, nan=0.0).astype(np.float32),
            "has_ind": cols["ind"] != 0,
            "cat_slots": _slots_by(cols["cat"]),
            "chain_slots": _slots_by(cols["chain"]),
            "provider_slots": _slots_by(cols["provider"]),
            "region_slots": {
                code: np.asarray(slots, dtype=np.int64)
                for code, slots in self._region_slots.items()
            },
        }
        return self._static_cache

    def _pair_terms(self, nd: dict, pk: dict, served, adopted) -> dict[str, np.ndarray]:
        """Structured terms; ``nd`` and ``pk`` arrays broadcast against each other."""
        w, out = self.weights_, {}
        if w["same_category"] or w["likely_category"]:
            known = nd["cat"] >= 0
            out["same_category"] = known & (nd["cat"] == pk["cat"])
            out["likely_category"] = np.where(known, 0.0, np.take(nd["catprob"], pk["cat"], -1))
        if (w["same_level"] or w["adjacent_level"]) and np.any(nd["level"]):
            same = (nd["level"] & pk["level"]) != 0
            near = (((nd["level"] << 1) | (nd["level"] >> 1)) & pk["level"]) != 0
            out["same_level"], out["adjacent_level"] = same, near & ~same
        if (w["same_industry"] or w["other_industry"]) and np.any(nd["ind"]):
            shared = (nd["ind"] & pk["ind"]) != 0
            out["same_industry"] = shared
            out["other_industry"] = (nd["ind"] != 0) & (pk["ind"] != 0) & ~shared
        if w["same_cluster"] and np.any(nd["clu"]):
            out["same_cluster"] = (nd["clu"] & pk["clu"]) != 0
        if served is not None:
            explicit, ok = served
            out["serves_region"], out["region_not_served"] = explicit, ~ok
        if np.any(np.isfinite(nd["budget"])):
            price = np.fmin(pk["price"], pk["subsidised"])
            with np.errstate(invalid="ignore", divide="ignore"):
                out["within_budget"] = price <= nd["budget"]
                over = np.nan_to_num((price - nd["budget"]) / nd["budget"], nan=0.0)
            out["over_budget"] = np.clip(over, 0.0, 1.0)
        if np.any(nd["chain"] >= 0):
            out["chain_leader_platform"] = (nd["chain"] >= 0) & (pk["chain"] == nd["chain"])
            if adopted is not None:
                out["chain_adopted"] = adopted
        return out

    def _combine(self, text, gate, terms: Mapping[str, np.ndarray], static) -> np.ndarray:
        score = text.copy()
        gated = np.zeros_like(score) if static is None else np.broadcast_to(static, score.shape)
        gated = gated.copy()
        for name, value in terms.items():
            weight = self.weights_[name]
            if weight:
                target = score if name in UNGATED else gated
                target += weight * value
        return score + gate * gated

    # ------------------------------------------------------------ need → packages

    def _need_side(self, needs: Sequence[NeedRecord], X: sp.csr_matrix, probs) -> dict:
        cols = self._need_columns(needs, X, probs)
        side = {k: v.reshape(len(needs), -1) if v.ndim == 1 else v for k, v in cols.items()}
        side["records"] = needs
        return side

    def _adopted_for(self, chain: int, pk: dict) -> np.ndarray | None:
        row = self._adoption.get(chain)
        if not row:
            return None
        counts = np.zeros(len(self._providers) + 1, dtype=np.float32)
        for provider, count in row.items():
            counts[provider] = count
        return _adoption_strength(counts[pk["provider"]])

    def _score_needs_batch(self, needs: Sequence[NeedRecord], X, probs, valid_extra=None):
        """Scores of every package slot for each need: (scores, needs' columns, gate)."""
        nd = self._need_side(needs, X, probs)
        cache = self._cached()
        valid, penalty = cache["valid"], cache["penalty"]
        if valid_extra is not None:
            valid = valid & valid_extra
            penalty = np.where(valid, penalty, np.float32(-np.inf))
        T = self._package_rows.scores(self._weighted(X))
        text, gate = self._text_scores(T, nd["has_text"], valid)
        sides = []
        for i, need in enumerate(needs):
            one = {k: v[i] for k, v in nd.items() if k != "records"}
            # text[i] becomes the score row in place: one buffer per row, few temporaries.
            self._score_row(text[i], gate[i], one, need, cache, penalty)
            sides.append(one)
        return text, sides, gate

    def _score_row(self, score, gate, nd, need, cache, penalty) -> None:
        """Add every structured term to ``score`` in place (the fast path of :meth:`_combine`).

        Terms that touch few packages (category, chain platform, adopted providers, regions)
        are added at their slots only. Gated terms are computed only where the gate is open
        (typically a fifth of the catalogue); the ungated penalties are in-place float32 passes
        over all slots. Masked ufuncs (``where=``) and boolean-mask assignment are avoided:
        both are ~20x slower here.
        """
        w, f32 = self.weights_, np.float32
        cat = int(nd["cat"][0])
        if cat >= 0:
            slots = cache["cat_slots"].get(cat)
            if slots is not None:
                score[slots] += w["same_category"]
        elif w["likely_category"]:
            for c in np.flatnonzero(nd["catprob"][:-1]).tolist():
                slots = cache["cat_slots"].get(c)
                if slots is not None:
                    score[slots] += f32(w["likely_category"] * nd["catprob"][c])
        self._add_ungated_terms(score, nd, need, cache)
        self._add_dense_gated_terms(score, gate, nd, cache)
        sparse = []
        chain = int(nd["chain"][0])
        if chain >= 0:
            slots = cache["chain_slots"].get(chain)
            if slots is not None:
                sparse.append((slots, f32(w["chain_leader_platform"])))
            slots, strength = self._adopted_slots(chain, cache)
            if len(slots):
                sparse.append((slots, f32(w["chain_adopted"]) * strength))
        listed = [cache["region_slots"].get(str(code)) for code in need.regions]
        listed = [slots for slots in listed if slots is not None]
        if listed:
            # Served explicitly counts once, however many of the need's codes list the slot.
            slots = np.unique(np.concatenate(listed)) if len(listed) > 1 else listed[0]
            sparse.append((slots, f32(w["serves_region"])))
        for slots, value in sparse:
            score[slots] += value * gate[slots]
        score += penalty

    def _adopted_slots(self, chain: int, cache: dict) -> tuple[np.ndarray, np.ndarray]:
        """Package slots of the providers adopted in a chain, with the adoption strength."""
        per_chain = cache.setdefault("adopted", {})
        if chain not in per_chain:
            slots, strength = [], []
            for provider, count in self._adoption.get(chain, {}).items():
                found = cache["provider_slots"].get(provider)
                if found is not None:
                    slots.append(found)
                    strength.append(np.full(len(found), _adoption_strength(count), np.float32))
            per_chain[chain] = (
                (np.concatenate(slots), np.concatenate(strength))
                if slots
                else (np.empty(0, np.int64), np.empty(0, np.float32))
            )
        return per_chain[chain]

    def _add_dense_gated_terms(self, score, gate, nd, cache) -> None:
        """Provider quality, level, industry, cluster and budget fit where the gate is open."""
        w, cols, f32 = self.weights_, self._package_cols, np.float32
        open_ = np.flatnonzero(gate > 0)  # on a bool array: 5x faster than on floats
        gated = cache["static"][open_]
        level = int(nd["level"][0])
        if level:
            levels = cols["level"][open_]
            same = (levels & level) != 0
            near = ((levels & ((level << 1) | (level >> 1))) != 0) & ~same
            gated += f32(w["same_level"]) * same
            gated += f32(w["adjacent_level"]) * near
        ind = int(nd["ind"][0])
        if ind:
            gated += f32(w["same_industry"]) * ((cols["ind"][open_] & np.uint32(ind)) != 0)
        clu = int(nd["clu"][0])
        if clu:
            gated += f32(w["same_cluster"]) * ((cols["clu"][open_] & clu) != 0)
        budget = float(nd["budget"][0])
        if np.isfinite(budget) and budget > 0:
            within = cache["has_price"][open_] & (cache["price"][open_] <= budget)
            gated += f32(w["within_budget"]) * within
        gated *= gate[open_]
        score[open_] += gated

    def _add_ungated_terms(self, score, nd, need, cache) -> None:
        w, cols, f32 = self.weights_, self._package_cols, np.float32
        ind = int(nd["ind"][0])
        if ind and w["other_industry"]:
            shared = (cols["ind"] & np.uint32(ind)) != 0
            score += f32(w["other_industry"]) * (cache["has_ind"] > shared)
        if need.regions:
            served = cols["serves_all"].copy()
            for code in need.regions:
                slots = cache["region_slots"].get(str(code))
                if slots is not None:
                    served[slots] = True
            score += f32(w["region_not_served"]) * ~served
            if self.strict_region:
                score += np.where(served, f32(0.0), f32(-np.inf))
        budget = float(nd["budget"][0])
        if np.isfinite(budget) and budget > 0 and w["over_budget"]:
            over = cache["price"] - f32(budget)
            over *= f32(1.0 / budget)
            np.clip(over, 0.0, 1.0, out=over)
            over *= f32(w["over_budget"])
            score += over

    @staticmethod
    def _top(scores: np.ndarray, N: int) -> np.ndarray:
        """Slots of the ``N`` best finite scores, best first (ties: lower slot first)."""
        n = len(scores)
        k = min(N, n)
        if k <= 0:
            return np.empty(0, dtype=np.int64)
        if k < n:
            # Every slot tied with the k-th score competes, so ties fall to the lower slot
            # whatever argpartition picked: the top 10 is the start of the top 20.
            kth = scores[np.argpartition(scores, n - k)[n - k]]
            part = np.flatnonzero(scores >= kth)
        else:
            part = np.arange(n)
        part = part[np.isfinite(scores[part])]
        return part[np.lexsort((part, -scores[part]))][:k]

    def _mask_for(self, ids_to_slot: dict, n: int, filter_items, items) -> np.ndarray | None:
        if filter_items is None and items is None:
            return None
        mask = np.ones(n, dtype=bool)
        if items is not None:
            mask[:] = False
            slots = [ids_to_slot[i] for i in items if i in ids_to_slot]
            mask[slots] = True
        for item in filter_items or ():
            slot = ids_to_slot.get(item)
            if slot is not None:
                mask[slot] = False
        return mask

    def recommend(
        self,
        query: NeedRecord | EnterpriseRecord | ItemId,
        N: int = 10,
        *,
        filter_items: Collection[ItemId] | None = None,
        items: Collection[ItemId] | None = None,
    ) -> list[Recommendation]:
        """Packages for a need (need page) or for an enterprise ("为您推荐").

        Parameters
        ----------
        query : NeedRecord, EnterpriseRecord or need id
            A need record (its stored row is reused when the index holds this exact record),
            an enterprise, or the id of an indexed need.
        N : int
            How many packages at most.
        filter_items : collection of package ids, optional
            Never return these (e.g. dismissed or already requested).
        items : collection of package ids, optional
            Only consider these.

        Returns
        -------
        list of Recommendation
            ``(id, score, reasons)``, best first.
        """
        check_is_fitted(self)
        if isinstance(query, EnterpriseRecord):
            return self._recommend_enterprise(query, N, filter_items, items)
        if not isinstance(query, NeedRecord):
            slot = self._need_slot.get(query)
            if slot is None:
                raise KeyError(f"unknown need {query!r}")
            # The stored need keeps no text; its row says whether it had any words.
            if not self._need_cols["has_text"][slot]:
                return []
            return self._recommend_many(
                [self._need_meta[slot]], N, filter_items, items, True, None, 1
            )[0]
        return self.recommend_batch([query], N, filter_items=filter_items, items=items)[0]

    def recommend_batch(
        self,
        needs: Sequence[NeedRecord],
        N: int = 10,
        *,
        filter_items: Collection[ItemId] | None = None,
        items: Collection[ItemId] | None = None,
        reasons: bool = True,
        chunk_size: int | None = None,
        n_jobs: int = 1,
    ) -> list[list[Recommendation]]:
        """:meth:`recommend` for many needs at once (a sparse matrix product per chunk).

        Parameters
        ----------
        needs : sequence of NeedRecord
        N, filter_items, items
            As in :meth:`recommend`.
        reasons : bool
            Build reasons (about half the time of a batch without them).
        chunk_size : int, optional
            Needs per chunk; by default chosen so a chunk's dense scores stay near 4M cells.
        n_jobs : int
            Threads scoring chunks side by side (numpy and scipy release the GIL in their
            loops). On the shared 2-core bench machine 2 threads were slower than 1, so the
            default stays 1; try it where cores are idle.
        """
        check_is_fitted(self)
        needs = list(needs)
        # A need without words says nothing to match: no recommendations rather than a list
        # ranked by provider quality alone (the enterprise profile path asks for that on purpose).
        wordy = [i for i, need in enumerate(needs) if has_text(need.full_text)]
        results: list[list[Recommendation]] = [[] for _ in needs]
        found = self._recommend_many(
            [needs[i] for i in wordy], N, filter_items, items, reasons, chunk_size, n_jobs
        )
        for i, recs in zip(wordy, found, strict=True):
            results[i] = recs
        return results

    def _recommend_many(self, needs, N, filter_items, items, reasons, chunk_size, n_jobs):
        if not needs:
            return []
        with self._lock:
            n_slots = len(self.package_ids_)
            extra = self._mask_for(self._package_slot, n_slots, filter_items, items)
            chunk = chunk_size or max(1, min(512, (1 << 22) // max(n_slots, 1)))
            parts = [needs[i : i + chunk] for i in range(0, len(needs), chunk)]
            self._cached()  # build shared caches once, before any thread reads them

            def run(part):
                return self._batch_chunk(part, N, extra, reasons)

            if n_jobs > 1 and len(parts) > 1:
                with ThreadPoolExecutor(max_workers=n_jobs) as pool:
                    chunks = list(pool.map(run, parts))
            else:
                chunks = [run(part) for part in parts]
        return [recs for chunk_results in chunks for recs in chunk_results]

    def _batch_chunk(self, part, N, extra, reasons) -> list[list[Recommendation]]:
        X, probs = self._transform_needs(part)
        scores, sides, gate = self._score_needs_batch(part, X, probs, extra)
        return [
            self._package_results(
                need, X[i], self._top(scores[i], N), scores[i], gate[i], sides[i], reasons
            )
            for i, need in enumerate(part)
        ]

    def _transform_needs(self, needs: Sequence[NeedRecord]):
        """Rows of needs, reusing the stored row of any need the index holds unchanged.

        The need page asks for the need it shows, which was indexed when it was saved: no
        segmentation, n-grams or concept search at query time.
        """
        stored = []
        for i, need in enumerate(needs):
            slot = self._need_slot.get(need.id)
            if slot is not None and (
                need is self._need_meta[slot] or self._need_hash.get(need.id) == _record_hash(need)
            ):
                stored.append((i, slot))
        if not stored:
            return self._transform(needs)
        fresh = [i for i in range(len(needs)) if i not in dict(stored)]
        parts_X, parts_p, order = [], [], []
        if fresh:
            X_new, p_new = self._transform([needs[i] for i in fresh])
            parts_X.append(X_new)
            parts_p.append(p_new)
            order += fresh
        slots = np.array([s for _, s in stored], dtype=np.int64)
        parts_X.append(self._need_rows.rows(slots))
        parts_p.append(self._need_cols["catprob"][slots])
        order += [i for i, _ in stored]
        back = np.argsort(np.array(order))
        X = sp.vstack(parts_X, format="csr")[back] if len(parts_X) > 1 else parts_X[0]
        return X, np.concatenate(parts_p)[back]

    def _package_results(self, need, q, top, scores, gate, one, with_reasons):
        if not with_reasons:
            return [Recommendation(self.package_ids_[s], float(scores[s])) for s in top.tolist()]
        pk = {k: v[top] for k, v in self._package_cols.items()}
        served = self._served_at(need.regions, top, pk)
        terms = self._pair_terms(one, pk, served, self._adopted_for(int(one["chain"][0]), pk))
        terms = _listify(terms, len(top))
        text_reasons = self._text_reasons(q, self._package_rows, top)
        out = []
        for j, slot in enumerate(top.tolist()):
            structured = self._structured_reasons(terms, j, pk, need, float(gate[slot]))
            reasons = text_reasons[j] + structured
            out.append(Recommendation(self.package_ids_[slot], float(scores[slot]), reasons))
        return out

    def _served_at(self, regions, slots: np.ndarray, pk: dict):
        """(explicitly served, served at all) for the given package slots, or ``None``."""
        if not regions:
            return None
        explicit = np.zeros(len(slots), dtype=bool)
        for code in regions:
            listed = self._cached()["region_slots"].get(str(code))
            if listed is not None and len(listed):
                # Slots are appended in increasing order, so each list is sorted.
                at = np.minimum(np.searchsorted(listed, slots), len(listed) - 1)
                explicit |= listed[at] == slots
        return explicit, explicit | pk["serves_all"]

    # ------------------------------------------------------------ reasons

    def _text_reasons(self, q: sp.csr_matrix, store, slots) -> list[tuple[Reason, ...]]:
        """Shared words and shared scenario concepts of the query and each slot, strongest first."""
        w_start, w_stop = self.blocks_["words"]
        c_start, c_stop = self.blocks_["concepts"]
        q = sp.csr_matrix(q)
        keep = ((q.indices >= w_start) & (q.indices < w_stop)) | (q.indices >= c_start)
        order = np.argsort(q.indices[keep])
        q_idx, q_val = q.indices[keep][order], q.data[keep][order]
        out = []
        for slot in np.asarray(slots).tolist():
            idx, val = store.row_arrays(slot)
            if len(q_idx):
                pos = np.minimum(np.searchsorted(q_idx, idx), len(q_idx) - 1)
                hit = q_idx[pos] == idx
                shared = val[hit] * q_val[pos[hit]]
                cols = idx[hit][np.lexsort((idx[hit], -shared))]
            else:
                cols = idx[:0]
            words = [str(self.word_names_[c - w_start]) for c in cols if c < w_stop]
            words = [word for word in words if chip_word(word)]
            concepts = [str(self.concept_names_[c - c_start]) for c in cols if c >= c_start]
            concepts = [c for c in concepts if not c.startswith("cat:")][: self.max_terms]
            reasons = []
            if concepts:
                labels = [self.vocabulary_.label(c) for c in concepts]
                labels_en = [self.vocabulary_.label(c, "en") for c in concepts]
                params = {"concepts": concepts, "labels": labels, "labels_en": labels_en}
                reasons.append(Reason("shared_concepts", params))
            if words:
                reasons.append(Reason("shared_terms", {"terms": words[: self.max_terms]}))
            out.append(tuple(reasons))
        return out

    def _structured_reasons(self, terms, j, pk, need, gate: float) -> tuple[Reason, ...]:
        """Reasons for the structured terms that actually added to item ``j``'s score."""
        w, scored = self.weights_, []
        for name, values in terms.items():
            value = values[j]
            contribution = w[name] * value * (1.0 if name in UNGATED else gate)
            if contribution > 0 and name not in _SILENT:
                scored.append((contribution, name))
        if gate > 0:
            quality = [
                (w["preferred_provider"] * float(pk["preferred"][j]), "preferred_provider"),
                (w["verified_provider"] * float(pk["verified"][j]), "verified_provider"),
            ]
            rating = float(pk["rating_raw"][j])
            if np.isfinite(rating) and rating >= 4.5:
                quality.append((w["rating"] * (rating - 3) / 2, "high_rating"))
            if pk["tier"][j] >= 0.6:
                quality.append((w["tier"] * float(pk["tier"][j]), "platform_tier"))
            if pk["subsidised"][j] < pk["price"][j]:
                quality.append((w["subsidy"], "subsidy"))
            scored += [(c * gate, name) for c, name in quality if c > 0]
        scored.sort(key=lambda x: -x[0])
        return tuple(self._reason(name, j, pk, need, terms) for _, name in scored)

    def _reason(self, name: str, j: int, pk: dict, need, terms) -> Reason:
        params: dict[str, Any] = {}
        cat = int(pk["cat"][j])
        if name in ("same_category", "likely_category") and cat >= 0:
            params["category"] = codes.CATEGORIES[cat]
        elif name in ("same_level", "adjacent_level") and need is not None:
            params["level"] = getattr(need, "scenario_level", None)
        elif name == "same_industry" and need is not None:
            params["industry"] = getattr(need, "industry", None)
        elif name == "same_cluster" and need is not None:
            params["cluster"] = getattr(need, "cluster", None)
        elif name == "serves_region" and need is not None:
            params["region"] = need.regions[0] if need.regions else None
        elif name in ("within_budget", "subsidy"):
            params["price_fen"] = _fen(pk["price"][j])
            params["subsidised_price_fen"] = _fen(pk["subsidised"][j])
            params["budget_max_fen"] = getattr(need, "budget_max_fen", None)
        elif name == "chain_leader_platform":
            params["chain_leader_id"] = getattr(need, "chain_leader_id", None)
        elif name == "chain_adopted":
            row = self._adoption.get(self._chains.get(getattr(need, "chain_leader_id", None)), {})
            params["count"] = int(row.get(int(pk["provider"][j]), 0))
        elif name == "high_rating":
            params["rating"] = round(float(pk["rating_raw"][j]), 1)
        elif name == "platform_tier":
            rank = round(float(pk["tier"][j]) * 5)
            params["tier"] = max((t for t, r in codes.TIER_RANK.items() if r == rank), default=None)
        return Reason(name, params)

    # ------------------------------------------------------------ enterprise

    def _recommend_enterprise(self, enterprise, N, filter_items, items):
        needs = [need for need in enterprise.open_needs if has_text(need.full_text)]
        if not needs:
            # The profile as a need without text: industry, cluster, region and chain decide.
            needs = [
                NeedRecord(
                    id=None,
                    text="",
                    industry=enterprise.industry,
                    cluster=enterprise.cluster,
                    regions=enterprise.regions,
                    chain_leader_id=enterprise.chain_leader_id,
                    enterprise_id=enterprise.id,
                    tokens=(),
                )
            ]
        per_need = self._recommend_many(needs, N, filter_items, items, True, None, 1)
        best: dict[ItemId, Recommendation] = {}
        hits: dict[ItemId, int] = {}
        for need, recs in zip(needs, per_need, strict=True):
            for rec in recs:
                hits[rec.id] = hits.get(rec.id, 0) + 1
                if rec.id not in best or rec.score > best[rec.id].score:
                    extra = (Reason("for_need", {"need": need.id}),) if need.id is not None else ()
                    best[rec.id] = Recommendation(rec.id, rec.score, extra + rec.reasons)
        # A package that fits several of the enterprise's needs is worth a little more.
        merged = [
            Recommendation(r.id, r.score + 0.05 * (hits[r.id] - 1), r.reasons)
            for r in best.values()
        ]
        return sorted(merged, key=lambda r: -r.score)[:N]

    # ------------------------------------------------------------ package → needs

    def _package_query(self, package: PackageRecord | ItemId):
        """Row and columns of a package: from the index by id, or transformed from a record."""
        if isinstance(package, PackageRecord):
            q, _ = self._transform([package])
            with self._lock:
                pk = self._package_columns([package])
            pk["subsidised"][0] = self._subsidised.get(package.id, np.nan)
            return package.id, q, pk, tuple(package.regions_served)
        slot = self._package_slot.get(package)
        if slot is None:
            raise KeyError(f"unknown package {package!r}")
        pk = {k: v[[slot]] for k, v in self._package_cols.items()}
        regions = tuple(c for c, slots in self._region_slots.items() if slot in slots)
        return package, self._package_rows.row(slot), pk, regions

    def recommend_needs(
        self,
        package: PackageRecord | ItemId,
        N: int = 10,
        *,
        filter_items: Collection[ItemId] | None = None,
        items: Collection[ItemId] | None = None,
    ) -> list[Recommendation]:
        """Open needs that fit a package: a provider's leads page.

        Parameters
        ----------
        package : PackageRecord or package id
            A record (e.g. a draft being edited) or the id of an indexed package.
        N, filter_items, items
            As in :meth:`recommend`, with need ids.
        """
        check_is_fitted(self)
        with self._lock:
            _, q, pk, regions = self._package_query(package)
            nd = self._need_cols
            valid = nd["active"].copy()
            extra = self._mask_for(self._need_slot, len(valid), filter_items, items)
            if extra is not None:
                valid &= extra
            if pk["eliminated"][0] or not valid.any():
                return []
            T = self._need_rows.scores(self._weighted(q))
            text, gate = self._text_scores(T, np.array([q.nnz > 0]), valid)
            pk0 = {k: v[0] for k, v in pk.items()}
            served = self._needs_served(regions, bool(pk0["serves_all"]))
            adopted = self._adopted_by_chain(int(pk0["provider"]))
            terms = self._pair_terms(nd, pk0, served, adopted)
            static = self._static_for(pk0)
            row_valid = valid & served[1] if self.strict_region else valid
            scores = np.where(row_valid, self._combine(text[0], gate[0], terms, static), -np.inf)
            top = self._top(scores, N)
            return self._need_results(q, top, scores, gate[0], terms, pk)

    def _needs_served(self, regions, serves_all: bool):
        nd_regions = self._need_cols["regions"]
        has_region = (nd_regions > 0).any(axis=1)
        if serves_all:
            return np.zeros(len(nd_regions), bool), np.ones(len(nd_regions), bool)
        codes_int = np.array([_region_int(c) for c in regions], dtype=np.int64)
        explicit = np.isin(nd_regions, codes_int).any(axis=1)
        return explicit, explicit | ~has_region

    def _adopted_by_chain(self, provider: int):
        if provider < 0 or not self._adoption:
            return None
        counts = np.zeros(len(self._chains) + 1, dtype=np.float32)
        for chain, row in self._adoption.items():
            counts[chain] = row.get(provider, 0)
        return _adoption_strength(counts[self._need_cols["chain"]])

    def _static_for(self, pk0: dict) -> float:
        w = self.weights_
        return float(
            w["preferred_provider"] * pk0["preferred"]
            + w["verified_provider"] * pk0["verified"]
            + w["rating"] * pk0["rating"]
            + w["tier"] * pk0["tier"]
            + w["subsidy"] * (pk0["subsidised"] < pk0["price"])
        )

    def _need_results(self, q, top, scores, gate, terms, pk):
        text_reasons = self._text_reasons(q, self._need_rows, top)
        sub_terms = _listify({k: np.broadcast_to(v, scores.shape)[top] for k, v in terms.items()})
        pk_rep = {k: np.repeat(v, len(top)) for k, v in pk.items()}
        out = []
        for j, slot in enumerate(top.tolist()):
            need = self._need_meta[slot]
            structured = self._structured_reasons(sub_terms, j, pk_rep, need, float(gate[slot]))
            reasons = text_reasons[j] + structured
            out.append(Recommendation(self.need_ids_[slot], float(scores[slot]), reasons))
        return out

    # ------------------------------------------------------------ package → packages

    def similar_packages(
        self,
        package: PackageRecord | ItemId,
        N: int = 10,
        *,
        filter_items: Collection[ItemId] | None = None,
        items: Collection[ItemId] | None = None,
    ) -> list[Recommendation]:
        """Packages like this one (package page): text, category, level, industry, cluster."""
        check_is_fitted(self)
        with self._lock:
            item_id, q, pk_q, _ = self._package_query(package)
            pk = self._package_cols
            valid = pk["active"] & ~pk["eliminated"]
            extra = self._mask_for(self._package_slot, len(valid), filter_items, items)
            if extra is not None:
                valid &= extra
            own = self._package_slot.get(item_id)
            if own is not None:
                valid[own] = False
            T = self._package_rows.scores(self._weighted(self._package_rows.without_common(q)))
            text, gate = self._text_scores(T, np.array([q.nnz > 0]), valid)
            nd = {
                "cat": pk_q["cat"][0],
                "catprob": np.zeros(len(codes.CATEGORIES) + 1, np.float32),
                "level": pk_q["level"][0],
                "ind": pk_q["ind"][0],
                "clu": pk_q["clu"][0],
                "budget": np.nan,
                "chain": -1,
            }
            terms = self._pair_terms(nd, pk, None, None)
            combined = self._combine(text[0], gate[0], terms, self._static())
            scores = np.where(valid, combined, -np.inf)
            top = self._top(scores, N)
            sub = {k: v[top] for k, v in pk.items()}
            sub_terms = _listify(
                {k: np.broadcast_to(v, scores.shape)[top] for k, v in terms.items()}
            )
            text_reasons = self._text_reasons(q, self._package_rows, top)
            like = _PackageAsNeed(package if isinstance(package, PackageRecord) else None)
            return [
                Recommendation(
                    self.package_ids_[slot],
                    float(scores[slot]),
                    text_reasons[j]
                    + self._structured_reasons(sub_terms, j, sub, like, float(gate[0][slot])),
                )
                for j, slot in enumerate(top.tolist())
            ]

    # ------------------------------------------------------------ learning support

    def pair_features(self, need: NeedRecord, package_ids: Sequence[ItemId]) -> np.ndarray:
        """Unweighted terms of (need, package) pairs, columns in :data:`FEATURE_NAMES` order.

        The text columns are each block's cosine divided by the query's best weighted text
        score (times ``W``), so ``features @ weights`` reproduces the score's shape.
        """
        check_is_fitted(self)
        X, probs = self._transform([need])
        slots = np.array([self._package_slot[p] for p in package_ids], dtype=np.int64)
        _, sides, gate = self._score_needs_batch([need], X, probs)
        one = sides[0]
        pk = {k: v[slots] for k, v in self._package_cols.items()}
        served = self._served_at(need.regions, slots, pk)
        terms = self._pair_terms(one, pk, served, self._adopted_for(int(one["chain"][0]), pk))
        T_all = self._package_rows.scores(self._weighted(X))[0]
        W = sum(self.weights_[f] for f in TEXT_FEATURES)
        best = float(T_all.max()) or 1.0
        rows = self._package_rows.rows(slots)
        out = np.zeros((len(slots), len(FEATURE_NAMES)), dtype=np.float64)
        for block, name in zip(_BLOCKS, TEXT_FEATURES, strict=True):
            start, stop = self.blocks_[block]
            cos = np.asarray((rows[:, start:stop] @ X[:, start:stop].T).todense()).ravel()
            out[:, FEATURE_NAMES.index(name)] = W * cos / best
        static = {
            "preferred_provider": pk["preferred"],
            "verified_provider": pk["verified"],
            "rating": pk["rating"],
            "tier": pk["tier"],
            "subsidy": pk["subsidised"] < pk["price"],
        }
        g = gate[0][slots]
        for name, value in {**terms, **static}.items():
            column = np.broadcast_to(np.asarray(value, dtype=np.float64), (len(slots),))
            out[:, FEATURE_NAMES.index(name)] = column if name in UNGATED else g * column
        return out

    # ------------------------------------------------------------ persistence

    @property
    def fingerprint_(self) -> str:
        """What the index holds now; compare with :func:`fingerprint` of the database's records."""
        check_is_fitted(self)
        items = {"package": self._package_hash, "need": self._need_hash}
        return _combine_hashes(self.get_params(), items)

    def fingerprint_for(
        self, packages: Iterable[PackageRecord], needs: Iterable[NeedRecord] = ()
    ) -> str:
        """:func:`fingerprint` with this matcher's hyperparameters."""
        return fingerprint(packages, needs, self.get_params())

    def __getstate__(self) -> dict:
        state = super().__getstate__() if hasattr(super(), "__getstate__") else dict(self.__dict__)
        state = dict(state)
        state.pop("_lock", None)
        state.pop("_static_cache", None)
        return state

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        if "weights_" in state:
            self._lock = threading.RLock()
            self._static_cache = None

    def save(self, directory: str | Path) -> Path:
        """Write the fitted matcher under ``directory`` (created if needed), atomically.

        Readers in other processes see either the old or the new files, never half of one.
        Returns the directory.
        """
        check_is_fitted(self)
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._maybe_compact(force=True)
            payload = pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)
            meta = {
                "format": FORMAT_VERSION,
                "fingerprint": self.fingerprint_,
                "n_packages": len(self._package_slot),
                "n_needs": len(self._need_slot),
            }
        _atomic_write(directory / "matcher.pkl", payload)
        _atomic_write(directory / "meta.json", json.dumps(meta, indent=2).encode())
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Matcher:
        """Load a matcher written by :meth:`save` (only load files you wrote yourself)."""
        with open(Path(directory) / "matcher.pkl", "rb") as fh:
            matcher = pickle.load(fh)
        if not isinstance(matcher, cls):
            raise TypeError(f"{directory} does not hold a {cls.__name__}")
        return matcher

    @property
    def memory_bytes(self) -> int:
        """Approximate bytes held by the index (rows and per-slot columns)."""
        total = self._package_rows.nbytes + self._need_rows.nbytes
        for cols in (self._package_cols, self._need_cols):
            total += sum(v.nbytes for v in cols.values())
        return total

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "weights_")


def _token_triplets(docs: Sequence[Sequence[str]], index: Mapping[str, int]):
    """(row, column) of every known token; unknown tokens are dropped."""
    rows: list[int] = []
    cols: list[int] = []
    get = index.get
    for i, doc in enumerate(docs):
        found = [c for c in map(get, doc) if c is not None]
        cols.extend(found)
        rows.extend([i] * len(found))
    return np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)


def _tfidf_triplets(
    rows: np.ndarray, cols: np.ndarray, n_rows: int, idf: np.ndarray, pivot: float = 0.0
):
    """Sublinear TF-IDF with l2-normalised rows from raw (row, column) occurrences.

    The same numbers scikit-learn's ``TfidfVectorizer(sublinear_tf=True)`` gives, sorted by
    row then column.
    """
    width = max(len(idf), 1)
    keys, counts = np.unique(rows * width + cols, return_counts=True)
    rows, cols = keys // width, keys % width
    vals = (1.0 + np.log(counts)) * idf[cols]
    norms = np.sqrt(np.bincount(rows, weights=vals * vals, minlength=n_rows))
    norms = np.maximum(np.where(norms > 0, norms, 1.0), pivot)
    vals = vals / norms[rows]
    return rows, cols, vals.astype(np.float32)


def _csr_from_triplets(rows_all, cols_all, vals_all, n_rows: int, width: int) -> sp.csr_matrix:
    if not rows_all:
        return sp.csr_matrix((n_rows, width), dtype=np.float32)
    rows = np.concatenate(rows_all)
    # Blocks come in column order and each is sorted by (row, column): a stable sort by row
    # keeps every row's columns sorted.
    order = np.argsort(rows, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_rows))])
    return sp.csr_matrix(
        (
            np.concatenate(vals_all)[order],
            np.concatenate(cols_all)[order].astype(np.int32),
            indptr.astype(np.int32),
        ),
        shape=(n_rows, width),
    )


def _listify(terms: Mapping[str, Any], n: int | None = None) -> dict[str, list[float]]:
    """Term values as plain float lists (one per item), read item by item by the reasons."""
    out = {}
    for name, values in terms.items():
        arr = np.asarray(values, dtype=np.float64).reshape(-1)
        out[name] = (
            np.broadcast_to(arr, (n,)) if n is not None and arr.size == 1 else arr
        ).tolist()
    return out


def _adoption_strength(count):
    """1 adopter gives 0.39, 5 or more give 1: the first adopters say the most."""
    return np.minimum(1.0, np.log1p(count) / np.log1p(5.0))


def _slots_by(values: np.ndarray) -> dict[int, np.ndarray]:
    """Slots grouped by value (negative values, meaning "none", are left out)."""
    order = np.argsort(values, kind="stable")
    keys, starts = np.unique(values[order], return_index=True)
    groups = np.split(order, starts[1:])
    return {int(k): g for k, g in zip(keys.tolist(), groups, strict=True) if k >= 0}


def _meta(need: NeedRecord) -> NeedRecord:
    """The need without its text: what reasons on the leads page may mention."""
    return NeedRecord(
        id=need.id,
        text="",
        category=need.category,
        scenario_level=need.scenario_level,
        industry=need.industry,
        cluster=need.cluster,
        regions=need.regions,
        budget_max_fen=need.budget_max_fen,
        chain_leader_id=need.chain_leader_id,
        enterprise_id=need.enterprise_id,
    )


class _PackageAsNeed:
    """Reason parameters for similar packages, taken from the query package."""

    def __init__(self, package: PackageRecord | None):
        def first(values):
            return values[0] if values else None

        self.scenario_level = first(package.scenario_levels) if package else None
        self.industry = first(package.industries) if package else None
        self.cluster = first(package.clusters) if package else None
        self.regions = ()
        self.budget_max_fen = None
        self.chain_leader_id = None


def _fen(value: float) -> int | None:
    return None if not np.isfinite(value) else int(value)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _refuse_duplicate_ids(records: Sequence[PackageRecord | NeedRecord], kind: str) -> None:
    """Two records under one id would both be indexed and both be returned: refuse them."""
    seen: set[ItemId] = set()
    twice = []
    for record in records:
        if record.id in seen:
            twice.append(record.id)
        seen.add(record.id)
    if twice:
        raise ValueError(f"duplicate {kind} ids: {sorted(map(repr, set(twice)))[:10]}")


def _last_of_each_id(records: Iterable[PackageRecord]) -> list[PackageRecord]:
    """One record per id, the last given: as upserting them one after the other would keep."""
    return list({record.id: record for record in records}.values())
