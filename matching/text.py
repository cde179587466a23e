"""Chinese text processing shared by the recommender and the search index.

Owns the jieba tokenizer with the marketplace's domain dictionary and stop words. A
:class:`Segmenter` keeps its own ``jieba.Tokenizer`` (never the module-global one), loads the
user dictionary once at start (``add_word`` is not thread-safe) and keeps jieba's prefix-dict
cache in a file chosen by the caller, so several processes do not fight over ``/tmp``.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import jieba

DATA_DIR = Path(__file__).parent / "data"
USER_DICT = DATA_DIR / "userdict.txt"
STOPWORDS_FILE = DATA_DIR / "stopwords.txt"

# Tokens worth keeping: CJK runs, Latin words (with digits, e.g. "mes", "5g", "iso9001"), numbers.
_WORD = re.compile(r"[\u4e00-\u9fff]+|[a-z0-9]+(?:[.\-][a-z0-9]+)*[+#]*")

jieba.setLogLevel(logging.WARNING)


def normalize(text: str) -> str:
    """Fold full-width forms and case so ``ＭＥＳ`` and ``mes`` are one word."""
    return unicodedata.normalize("NFKC", text or "").lower()


def load_stopwords(path: Path = STOPWORDS_FILE) -> frozenset[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


class Segmenter:
    """jieba word segmentation with the domain dictionary and stop words.

    Parameters
    ----------
    cache_file : str or Path, optional
        Where jieba keeps its prefix-dictionary cache. Defaults to jieba's temp file.
    user_dict : Path
        Extra words, one per line in jieba's ``word [freq] [tag]`` format.
    """

    def __init__(self, cache_file: str | Path | None = None, user_dict: Path = USER_DICT):
        self.cache_file = cache_file
        self.user_dict = user_dict
        self._tokenizer: jieba.Tokenizer | None = None
        self._lock = threading.Lock()
        self.stopwords = load_stopwords()

    def _ready(self) -> jieba.Tokenizer:
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    tokenizer = jieba.Tokenizer()
                    if self.cache_file:
                        Path(self.cache_file).parent.mkdir(parents=True, exist_ok=True)
                        tokenizer.cache_file = str(Path(self.cache_file).resolve())
                    tokenizer.initialize()
                    # A file object we close: jieba leaves a path's file open.
                    with open(self.user_dict, "rb") as fh:
                        tokenizer.load_userdict(fh)
                    self._tokenizer = tokenizer
        return self._tokenizer

    def initialize(self) -> Segmenter:
        """Load the dictionaries now rather than on first use."""
        self._ready()
        return self

    def spans(self, text: str, search_mode: bool = False) -> Iterator[tuple[str, int, int]]:
        """Yield ``(word, start, end)`` for every kept word, offsets into the normalized text.

        ``search_mode`` also yields the shorter words inside long ones (jieba's search mode),
        which helps recall in a full-text index.
        """
        norm = normalize(text)
        mode = "search" if search_mode else "default"
        for word, start, _end in self._ready().tokenize(norm, mode=mode):
            for match in _WORD.finditer(word):
                token = match.group()
                if token not in self.stopwords:
                    yield token, start + match.start(), start + match.end()

    def words(self, text: str) -> list[str]:
        """The kept words of ``text`` in order, e.g. for TF-IDF."""
        return [word for word, _, _ in self.spans(text)]


_default: Segmenter | None = None
_default_lock = threading.Lock()


def default_segmenter(cache_file: str | Path | None = None) -> Segmenter:
    """The process-wide segmenter; the first caller may choose its cache file."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Segmenter(cache_file=cache_file)
        return _default


def words(text: str) -> list[str]:
    """Shortcut for ``default_segmenter().words(text)``; picklable as a module-level function."""
    return default_segmenter().words(text)
