"""Highlighted titles and snippets: HTML-escaped text with ``<mark>`` around the query words.

Marks are placed by finding the query words in the normalized text (full-width folded, lower
case) rather than by re-segmenting each hit, which keeps highlighting cheap and independent of the
backend. Latin words only match whole words, so ``ai`` does not light up inside ``email``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from .analysis import normalize
from .query import Html

MARK_OPEN, MARK_CLOSE = "<mark>", "</mark>"
_ASCII_WORD = re.compile(r"[a-z0-9]")


def _normalized_with_offsets(text: str) -> tuple[str, list[int] | None]:
    """The normalized text and, when normalization changed its length, a map from each
    normalized character back to the original one (``None`` means the map is the identity)."""
    norm = normalize(text)
    if len(norm) == len(text):
        return norm, None
    chars: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        folded = normalize(ch)
        chars.append(folded)
        offsets.extend([i] * len(folded))
    return "".join(chars), offsets


def _find(norm: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Merged ``(start, end)`` spans of every occurrence of the terms in ``norm``."""
    spans = []
    for term in {t for t in terms if t}:
        latin = bool(_ASCII_WORD.fullmatch(term[0])) and bool(_ASCII_WORD.fullmatch(term[-1]))
        start = norm.find(term)
        while start >= 0:
            end = start + len(term)
            whole = not latin or (
                (start == 0 or not _ASCII_WORD.match(norm[start - 1]))
                and (end == len(norm) or not _ASCII_WORD.match(norm[end]))
            )
            if whole:
                spans.append((start, end))
            start = norm.find(term, start + 1)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _render(text: str, spans: list[tuple[int, int]], lo: int, hi: int) -> str:
    out, pos = [], lo
    for start, end in spans:
        start, end = max(start, lo), min(end, hi)
        if start >= end:
            continue
        out.append(html.escape(text[pos:start]))
        out.append(MARK_OPEN + html.escape(text[start:end]) + MARK_CLOSE)
        pos = end
    out.append(html.escape(text[pos:hi]))
    return "".join(out)


def _best_window(spans: list[tuple[int, int]], size: int, length: int) -> tuple[int, int]:
    """The window of ``size`` characters holding the most marks, starting a little before one."""
    if not spans:
        return 0, min(size, length)
    best_start, best_count = spans[0][0], 0
    for i, (start, _) in enumerate(spans):
        count = sum(1 for s, _ in spans[i:] if s < start + size)
        if count > best_count:
            best_start, best_count = start, count
    lo = max(0, min(best_start - size // 5, length - size))
    return lo, min(length, lo + size)


def highlight(text: str, terms: Iterable[str], fragment_chars: int | None = None) -> Html:
    """``text`` escaped, with the query ``terms`` (normalized words) marked.

    With ``fragment_chars`` only the best window of that many characters is kept, with an
    ellipsis where the text was cut.
    """
    text = text or ""
    norm, offsets = _normalized_with_offsets(text)
    spans = _find(norm, terms)
    if offsets is not None:  # back to positions in the original text
        spans = [(offsets[s], offsets[e - 1] + 1) for s, e in spans]
    if fragment_chars is None or len(text) <= fragment_chars:
        return Html(_render(text, spans, 0, len(text)))
    lo, hi = _best_window(spans, fragment_chars, len(text))
    body = _render(text, spans, lo, hi)
    return Html(("…" if lo > 0 else "") + body + ("…" if hi < len(text) else ""))
