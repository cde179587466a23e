"""Text features: the scenario vocabulary, character n-grams and word TF-IDF helpers.

Everything here is fitted once and then only transforms, so new packages and needs can be
added without a refit. Callables handed to scikit-learn are module-level functions so a fitted
matcher can be pickled in one process and loaded in another.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer

from .text import _WORD, DATA_DIR, default_segmenter, normalize

CONCEPTS_FILE = DATA_DIR / "concepts.txt"
# Bits per Unicode code point when n-grams are packed into one int64 (max code point < 2**21).
_BITS = 21


def analyze(text: str) -> tuple[str, ...]:
    """Words of ``text`` as the matcher sees them; store them with the record at write time."""
    return tuple(default_segmenter().words(text))


WEAK_WORDS_FILE = DATA_DIR / "weakwords.txt"
# 两个, 几台, 三天, 第一: a numeral (with 第) before an optional measure word.
_COUNTED = re.compile(
    r"第?[一二两三四五六七八九十百千万几半0-9]+"
    r"[个台家种次天年月日条件套位名人批回遍些]?"
)


@functools.cache
def _weak_words() -> frozenset[str]:
    lines = WEAK_WORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


def chip_word(word: str) -> bool:
    """Whether a shared word is worth a "shared keywords" chip: a content word of at least two
    characters, not a number or a counted quantity, not an everyday verb or vague noun."""
    return (
        len(word) >= 2
        and not word.isdigit()
        and _COUNTED.fullmatch(word) is None
        and word not in _weak_words()
    )


def has_text(text: str) -> bool:
    """Whether ``text`` holds any word character (CJK, latin letter or digit)."""
    return _WORD.search(normalize(text)) is not None


def passthrough(doc: Sequence[str]) -> Sequence[str]:
    """Analyzer for already tokenised documents (module-level so it pickles)."""
    return doc


@dataclass(frozen=True, slots=True)
class Concept:
    id: str
    category: str
    label_zh: str
    label_en: str
    triggers: tuple[str, ...]


class ScenarioVocabulary:
    """Curated map from everyday wording and solution wording to shared scenario concepts.

    A text gets a concept when it contains one of the concept's triggers as a substring. Given
    the segmenter's words, a trigger must also start and end on word boundaries (it may span
    several words: "排产靠excel"), so "联网" inside "互联网" is no mention.

    Parameters
    ----------
    path : Path
        The vocabulary file (format described at its top).
    """

    def __init__(self, path: Path = CONCEPTS_FILE):
        self.path = Path(path)
        self.concepts: dict[str, Concept] = {}
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                cid, category, zh, en, triggers = (part.strip() for part in line.split("|"))
                phrases = tuple(normalize(t.strip()) for t in triggers.split(",") if t.strip())
                self.concepts[cid] = Concept(cid, category, zh, en, phrases)
        # Triggers indexed by their first two characters: one dict probe per text position
        # instead of one regex alternation per trigger.
        self._by_prefix: dict[str, list[tuple[str, str]]] = {}
        for concept in self.concepts.values():
            for phrase in concept.triggers:
                if len(phrase) < 2:
                    raise ValueError(f"trigger {phrase!r} of {concept.id} is shorter than 2")
                self._by_prefix.setdefault(phrase[:2], []).append((phrase, concept.id))
        self._prefix_codes = np.array(
            sorted((ord(p[0]) << _BITS) | ord(p[1]) for p in self._by_prefix), dtype=np.int64
        )

    def find(self, text: str, words: Sequence[str] | None = None) -> dict[str, list[str]]:
        """Concept ids found in ``text``, each with the triggers that matched (once a mention).

        With ``words`` (the segmenter's words of ``text``, in order) a trigger only counts where
        it starts and ends on a word boundary: "联网" inside "互联网" is not a mention.
        """
        return self.find_many(TextBatch([text]), None if words is None else [words])[0]

    def find_many(
        self,
        texts: Sequence[str] | TextBatch,
        words: Sequence[Sequence[str]] | None = None,
    ) -> list[dict[str, list[str]]]:
        """:meth:`find` for a batch; numpy picks the few positions where a trigger may start."""
        batch = _batch(texts)
        found: list[dict[str, list[str]]] = [{} for _ in range(batch.n)]
        points, joined = batch.points, batch.joined
        if len(points) < 2:
            return found
        inside = None if words is None else batch.inside_words(words)
        pairs = (points[:-1] << _BITS) | points[1:]
        slot = np.minimum(np.searchsorted(self._prefix_codes, pairs), len(self._prefix_codes) - 1)
        spans: list[dict[str, list[tuple[int, int, str]]]] = [{} for _ in range(batch.n)]
        for pos in np.flatnonzero(self._prefix_codes[slot] == pairs).tolist():
            if inside is not None and inside[pos]:
                continue
            for phrase, cid in self._by_prefix[joined[pos : pos + 2]]:
                end = pos + len(phrase)
                if joined.startswith(phrase, pos) and (inside is None or not inside[end]):
                    spans[batch.docs[pos]].setdefault(cid, []).append((pos, end, phrase))
        for doc, by_concept in enumerate(spans):
            for cid, hits in by_concept.items():
                found[doc][cid] = _mentions(hits)
        return found

    def tokens(self, text: str) -> list[str]:
        """Concept tokens for TF-IDF: each concept once, plus its category as ``cat:<code>``."""
        return self.tokens_many([text])[0]

    def tokens_many(
        self,
        texts: Sequence[str] | TextBatch,
        words: Sequence[Sequence[str]] | None = None,
        counts: bool = False,
    ) -> list[list[str]]:
        """Concept tokens of each text; with ``counts`` a concept (and its category) is repeated
        once per mention, so dampened term weighting favours what a text is mostly about."""
        result = []
        for concepts in self.find_many(texts, words):
            tokens: list[str] = []
            categories: dict[str, int] = {}
            for cid in sorted(concepts):
                n = len(concepts[cid]) if counts else 1
                tokens += [cid] * n
                category = self.concepts[cid].category
                categories[category] = categories.get(category, 0) + n
            for category in sorted(categories):
                tokens += [f"cat:{category}"] * (categories[category] if counts else 1)
            result.append(tokens)
        return result

    def feature_names(self) -> list[str]:
        categories = sorted({c.category for c in self.concepts.values()})
        return sorted(self.concepts) + [f"cat:{c}" for c in categories]

    def label(self, token: str, language: str = "zh") -> str:
        """A concept's label in ``zh`` or ``en`` (the token itself when it is no concept)."""
        concept = self.concepts.get(token)
        if concept is None:
            return token
        return concept.label_en if language == "en" else concept.label_zh


class TextBatch:
    """Normalised texts joined into one string and one code-point array.

    Built once per batch and shared by the n-gram and concept extractors, which then work on
    the whole batch with numpy instead of looping over documents in Python.
    """

    def __init__(self, texts: Iterable[str]):
        norms = [normalize(t) for t in texts]
        self.n = len(norms)
        lengths = np.fromiter((len(t) + 1 for t in norms), dtype=np.int64, count=self.n)
        # A NUL after every document: not a word character, so nothing spans two documents.
        self.joined = "\x00".join(norms) + "\x00"
        raw = np.frombuffer(self.joined.encode("utf-32-le"), dtype=np.uint32)
        self.points = raw.astype(np.int64)
        self.docs = np.repeat(np.arange(self.n, dtype=np.int64), lengths)
        self._starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).tolist()
        self._norms = norms

    def inside_words(self, words: Sequence[Sequence[str]]) -> np.ndarray:
        """``inside[p]``: position ``p`` of :attr:`joined` lies strictly inside a word, so a
        match may neither start nor end there. Words are found in order in their text."""
        delta = np.zeros(len(self.joined) + 1, dtype=np.int32)
        opens, closes = [], []
        for norm, offset, doc_words in zip(self._norms, self._starts, words, strict=True):
            pos = 0
            for word in doc_words:
                at = norm.find(word, pos)
                if at < 0:
                    continue
                if len(word) > 1:
                    opens.append(offset + at + 1)
                    closes.append(offset + at + len(word))
                pos = at + len(word)
        np.add.at(delta, np.asarray(opens, dtype=np.int64), 1)
        np.add.at(delta, np.asarray(closes, dtype=np.int64), -1)
        return np.cumsum(delta)[:-1] > 0


def _mentions(hits: list[tuple[int, int, str]]) -> list[str]:
    """Triggers of one concept, one per mention: a trigger inside a longer one of the same
    concept ("停机" in "非计划停机") is the same mention."""
    kept: list[str] = []
    last_end = -1
    for start, end, phrase in sorted(hits, key=lambda h: (h[0], -h[1])):
        if start >= last_end:
            kept.append(phrase)
            last_end = end
        elif end > last_end:
            last_end = end
    return kept


def _batch(texts: Sequence[str] | TextBatch) -> TextBatch:
    return texts if isinstance(texts, TextBatch) else TextBatch(texts)


def _is_word_char(points: np.ndarray) -> np.ndarray:
    return (
        ((points >= 0x4E00) & (points <= 0x9FFF))
        | ((points >= ord("a")) & (points <= ord("z")))
        | ((points >= ord("0")) & (points <= ord("9")))
    )


def char_ngram_codes(
    texts: Sequence[str] | TextBatch, ngram_range: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Every character n-gram of ``texts`` packed into an int64, with its document index.

    N-grams never cross punctuation, spaces or document ends. Done with numpy over the whole
    corpus at once, because a Python loop over 100k documents is what makes refits slow.
    """
    batch = _batch(texts)
    points, docs = batch.points, batch.docs
    word = _is_word_char(points)
    all_codes, all_docs = [], []
    for n in range(ngram_range[0], ngram_range[1] + 1):
        m = len(points) - n + 1
        if m <= 0:
            continue
        ok = word[:m].copy()
        code = points[:m].copy()
        for k in range(1, n):
            ok &= word[k : k + m]
            code = (code << _BITS) | points[k : k + m]
        all_codes.append(code[ok])
        all_docs.append(docs[:m][ok])
    if not all_codes:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(all_codes), np.concatenate(all_docs)


def tfidf_rows(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear TF × IDF with l2-normalised rows, as scikit-learn's ``TfidfTransformer``
    (``sublinear_tf=True``) computes it, without its per-call validation overhead."""
    counts = sp.csr_matrix(counts, dtype=np.float32, copy=True)
    counts.sum_duplicates()
    data = (1.0 + np.log(counts.data)) * idf[counts.indices]
    rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=counts.shape[0]))
    counts.data = (data / np.where(norms > 0, norms, 1.0)[rows]).astype(np.float32)
    return counts


def token_counts(docs: Sequence[Sequence[str]], index: dict[str, int]) -> sp.csr_matrix:
    """Count matrix of tokenised documents over a fitted vocabulary (unknown tokens dropped)."""
    cols: list[int] = []
    indptr = [0]
    get = index.get
    for doc in docs:
        cols.extend(c for c in map(get, doc) if c is not None)
        indptr.append(len(cols))
    data = np.ones(len(cols), dtype=np.float32)
    return sp.csr_matrix(
        (data, np.asarray(cols, dtype=np.int32), np.asarray(indptr, dtype=np.int64)),
        shape=(len(docs), len(index)),
    )


def _batch_len(texts: Sequence[str] | TextBatch) -> int:
    return texts.n if isinstance(texts, TextBatch) else len(texts)


def decode_ngram(code: int) -> str:
    chars = []
    while code:
        chars.append(chr(code & ((1 << _BITS) - 1)))
        code >>= _BITS
    return "".join(reversed(chars))


class CharNgramTfidf:
    """TF-IDF over character n-grams, so words jieba never saw still match.

    Parameters
    ----------
    ngram_range : (int, int)
    min_df : int
        Drop n-grams seen in fewer documents at fit.
    max_df : float
        Drop n-grams in more than this share of documents: they discriminate nothing and
        make every query touch every row.
    """

    def __init__(self, ngram_range: tuple[int, int] = (2, 3), min_df: int = 1, max_df=0.5):
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_df = max_df

    def _counts(self, texts: Sequence[str] | TextBatch, vocab: np.ndarray) -> sp.csr_matrix:
        codes, docs = char_ngram_codes(texts, self.ngram_range)
        col = np.searchsorted(vocab, codes)
        col_clipped = np.minimum(col, len(vocab) - 1)
        known = (vocab[col_clipped] == codes) if len(vocab) else np.zeros(len(codes), bool)
        data = np.ones(int(known.sum()), dtype=np.float32)
        counts = sp.csr_matrix(
            (data, (docs[known], col[known])),
            shape=(_batch_len(texts), len(vocab)),
            dtype=np.float32,
        )
        counts.sum_duplicates()
        return counts

    def fit_transform(self, texts: Sequence[str] | TextBatch) -> sp.csr_matrix:
        texts = _batch(texts)
        codes, docs = char_ngram_codes(texts, self.ngram_range)
        vocab, cols = np.unique(codes, return_inverse=True)
        counts = sp.csr_matrix(
            (np.ones(len(codes), np.float32), (docs, cols)),
            shape=(texts.n, len(vocab)),
            dtype=np.float32,
        )
        counts.sum_duplicates()
        df = np.bincount(counts.indices, minlength=len(vocab))
        # A tiny catalogue (a new marketplace) must still get a vocabulary: a term in one
        # document is never "too common".
        keep = (df >= self.min_df) & (df <= max(self.max_df * texts.n, 1))
        if not keep.any():
            keep = df >= 1
        self.vocabulary_ = vocab[keep]
        counts = counts[:, np.flatnonzero(keep)]
        tfidf = TfidfTransformer(sublinear_tf=True).fit(counts)
        self.idf_ = tfidf.idf_.astype(np.float32)
        return tfidf_rows(counts, self.idf_)

    def triplets(self, texts: Sequence[str] | TextBatch) -> tuple[np.ndarray, np.ndarray]:
        """(document, column) of every known n-gram occurrence, for a caller that weights them."""
        codes, docs = char_ngram_codes(texts, self.ngram_range)
        vocab = self.vocabulary_
        if not len(vocab):
            return np.empty(0, np.int64), np.empty(0, np.int64)
        col = np.searchsorted(vocab, codes)
        known = vocab[np.minimum(col, len(vocab) - 1)] == codes
        return docs[known], col[known]

    def transform(self, texts: Sequence[str] | TextBatch) -> sp.csr_matrix:
        return tfidf_rows(self._counts(texts, self.vocabulary_), self.idf_)
