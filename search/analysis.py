"""Chinese (and mixed Chinese/English) text analysis for the index, on the shared Segmenter.

Why not jieba's own ``ChineseAnalyzer``: it stores character offsets as token positions, so the
words of a phrase are never at consecutive positions and phrase queries find nothing. Here the
words jieba cuts in its default mode get positions 0, 1, 2 …; the shorter dictionary words
that search mode also yields inside a long word (``工业``, ``互联网`` inside ``工业互联网平台``)
share the position of that long word. So a phrase query, cut in default mode, lines up with
the index, and a one-word query still finds the sub-words.

Segmenting is the slow part of indexing, so it happens once per text, before the write lock is
taken (or in worker processes during a rebuild): :func:`segment` returns a :class:`Segmented`
string that the Whoosh tokenizer uses without cutting again.
"""

from __future__ import annotations

from collections.abc import Iterable

from matching.text import Segmenter, default_segmenter, normalize

__all__ = ["Segmented", "index_tokens", "query_words", "segment", "normalize"]


class Segmented(str):
    """A text that carries its index tokens: ``(word, position)`` pairs.

    A ``str`` subclass on purpose: Whoosh hands strings to the analyzer but treats tuples and
    lists as already-tokenized words with positions 0, 1, 2 …, which would lose the shared
    positions of sub-words.
    """

    tokens: tuple[tuple[str, int], ...]

    def __new__(cls, text: str, tokens: Iterable[tuple[str, int]]) -> Segmented:
        obj = super().__new__(cls, text)
        obj.tokens = tuple(tokens)
        return obj

    def __reduce__(self):  # pickle the tokens too (journal entries, worker results)
        return (Segmented, (str(self), self.tokens))

    @property
    def length(self) -> int:
        """Number of tokens, the field length used by BM25."""
        return len(self.tokens)


def index_tokens(text: str, segmenter: Segmenter | None = None) -> list[tuple[str, int]]:
    """Cut ``text`` for indexing: ``(word, position)`` pairs, sub-words sharing a position.

    jieba's search mode yields a long word's sub-words just before the word itself, all inside
    its span; a backwards scan tells the long ("main") words from the sub-words.
    """
    spans = list((segmenter or default_segmenter()).spans(text, search_mode=True))
    is_main = [False] * len(spans)
    main_start = main_end = -1
    for i in range(len(spans) - 1, -1, -1):
        _, start, end = spans[i]
        if main_start <= start and end <= main_end and main_start >= 0:
            continue  # inside the main word that follows it
        is_main[i] = True
        main_start, main_end = start, end
    tokens: list[tuple[str, int]] = []
    position = 0
    for (word, _, _), main in zip(spans, is_main, strict=True):
        tokens.append((word, position))  # a sub-word takes the position of its main word
        if main:
            position += 1
    return tokens


def segment(text: str, segmenter: Segmenter | None = None) -> Segmented:
    """``text`` with its index tokens attached, ready to be written without cutting again."""
    return Segmented(text or "", index_tokens(text or "", segmenter))


def query_words(text: str, segmenter: Segmenter | None = None) -> list[str]:
    """The words of a query, cut in jieba's default mode (the positions of a phrase)."""
    return [word for word, _, _ in (segmenter or default_segmenter()).spans(text)]
