"""Query evaluation with numpy over a :class:`search._whoosh.WhooshView`.

Every step is a whole-array operation: a term's posting list becomes a boolean mask and a BM25
score vector, filters and the acl are masks, facet counts are ``bincount`` over (doc, value)
pairs, and sorting uses ``argpartition`` + ``lexsort``. The exact total comes for free (the
number of set bits), so nothing is run twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from matching.text import Segmenter

from ._whoosh import EVERYWHERE, TEXT_FIELDS, WhooshView, region_ancestors
from .analysis import normalize, query_words
from .expansion import expansions
from .highlight import highlight
from .query import (
    PRICE_BAND_KEYS,
    PRICE_BANDS,
    SPECS,
    FacetCount,
    Hit,
    SearchQuery,
    SearchResults,
    split_text,
)

K1, B = 1.2, 0.75
#: Weight of an expansion term's score against the query word's own.
EXPANSION_WEIGHT = 0.5
FIELD_BOOSTS = {"title": 2.5, "text": 1.0}
SNIPPET_CHARS = 120


@dataclass
class _Match:
    """Documents matching the text part of a query, with their scores (``None``: no words)."""

    mask: np.ndarray
    score: np.ndarray | None
    words: tuple[str, ...]


def _word(view: WhooshView, word: str) -> tuple[np.ndarray, np.ndarray]:
    """Mask and BM25F score of one word over title and text."""
    mask = np.zeros(view.n, dtype=bool)
    per_field = []
    for field in TEXT_FIELDS:
        ids, tfs = view.postings(field, word)
        mask[ids] = True
        per_field.append((field, ids, tfs))
    df = int(np.count_nonzero(mask & view.live))
    score = np.zeros(view.n, dtype=np.float32)
    if df == 0:
        return mask, score
    idf = np.log(1.0 + (view.doc_count - df + 0.5) / (df + 0.5))
    for field, ids, tfs in per_field:
        if len(ids) == 0:
            continue
        norm = K1 * (1 - B + B * view.lengths[field][ids] / max(view.avg_length[field], 1e-6))
        score[ids] += FIELD_BOOSTS[field] * idf * tfs * (K1 + 1) / (tfs + norm)
    return mask, score


def _group(view: WhooshView, word: str, alternatives: tuple[str, ...]):
    """Mask and score of a query word or any of its expansion terms.

    Expansion terms score from their postings (no float array over all documents per term): a
    word brings up to ten of them.
    """
    mask, score = _word(view, word)
    for term in alternatives:
        per_field = [(field, *view.postings(field, term)) for field in TEXT_FIELDS]
        found = np.zeros(view.n, dtype=bool)  # a bool pass is cheaper than np.unique
        for _, ids, _ in per_field:
            found[ids] = True
        df = int(np.count_nonzero(found & view.live))
        if df == 0:
            continue
        mask |= found
        idf = np.log(1.0 + (view.doc_count - df + 0.5) / (df + 0.5))
        for field, ids, tfs in per_field:
            if len(ids):
                avg = max(view.avg_length[field], 1e-6)
                norm = K1 * (1 - B + B * view.lengths[field][ids] / avg)
                weight = EXPANSION_WEIGHT * FIELD_BOOSTS[field] * idf
                score[ids] += (weight * tfs * (K1 + 1) / (tfs + norm)).astype(np.float32)
    return mask, score


def match_text(
    view: WhooshView,
    text: str,
    segmenter: Segmenter | None,
    expand: bool = False,
    partial: bool = False,
) -> _Match:
    """Documents matching ``text``: every word (or, with ``expand``, one of its expansion
    terms), every phrase and no excluded word. ``partial`` asks for some of the words instead
    of all, scored by BM25 times the share of words matched (phrases and exclusions still
    hold)."""
    parsed = split_text(text)
    words = list(dict.fromkeys(query_words(parsed.plain, segmenter)))
    phrases = [query_words(p, segmenter) for p in parsed.phrases]
    words += [p[0] for p in phrases if len(p) == 1 and p[0] not in words]
    phrases = [p for p in phrases if len(p) > 1]
    extra = expansions(parsed.plain, segmenter) if expand else {}
    mask = view.live.copy()
    score = None
    groups = list(dict.fromkeys([*words, *(w for p in phrases for w in p)]))
    matched = np.zeros(view.n, dtype=np.float32) if partial else None
    any_group = np.zeros(view.n, dtype=bool)
    for word in groups:
        word_mask, word_score = _group(view, word, extra.get(word, ()))
        if matched is None:
            mask &= word_mask
        else:
            matched += word_mask
            any_group |= word_mask
        score = word_score if score is None else score + word_score
    if matched is not None and groups:
        mask &= any_group
        score = score * (matched / np.float32(len(groups)))
    for phrase in phrases:
        phrase_mask = np.zeros(view.n, dtype=bool)
        for field in TEXT_FIELDS:
            phrase_mask |= view.phrase_mask(field, phrase)
        mask &= phrase_mask
    for excluded in parsed.excluded:
        for word in query_words(excluded, segmenter):
            mask &= ~_word(view, word)[0]
    shown = tuple(dict.fromkeys([*words, *(normalize(p) for p in parsed.phrases)]))
    if extra:
        shown += tuple(t for terms in extra.values() for t in terms if t not in shown)
    return _Match(mask, score, tuple(dict.fromkeys(shown)))


def acl_mask(view: WhooshView, principals: frozenset[str]) -> np.ndarray:
    """Documents any of the principals may see; none at all without principals."""
    mask = np.zeros(view.n, dtype=bool)
    for principal in principals:
        mask |= view.term_mask("acl", principal)
    return mask & view.live


def _wanted_codes(view: WhooshView, kind: str, name: str, values: tuple[str, ...]):
    vocab = view.keywords[name][0]
    wanted = set(values)
    if name == "region" and kind == "package":  # serving the province serves the county
        wanted |= {a for v in values for a in region_ancestors(v)} | {EVERYWHERE}
    index = {v: i for i, v in enumerate(vocab)}
    return np.array([index[v] for v in wanted if v in index], dtype=np.int32)


def _price_band(price: np.ndarray) -> np.ndarray:
    """Band number of each price, -1 for "price on request"."""
    lows = np.array([low for _, low, _ in PRICE_BANDS], dtype=np.int64)
    band = np.searchsorted(lows, price, side="right") - 1
    return np.where(price < 0, -1, band)


def filter_masks(view: WhooshView, query: SearchQuery) -> dict[str, np.ndarray]:
    """One mask per filter name (so facets can leave their own filter out)."""
    masks = {}
    for name, values in query.filters.items():
        if name == "price_band":
            bands = [PRICE_BAND_KEYS.index(v) for v in values]
            masks[name] = np.isin(_price_band(view.price), bands)
            continue
        _, docs, vals = view.keywords[name]
        mask = np.zeros(view.n, dtype=bool)
        mask[docs[np.isin(vals, _wanted_codes(view, query.kind, name, values))]] = True
        masks[name] = mask
    if query.price_min_fen is not None or query.price_max_fen is not None:
        low = query.price_min_fen if query.price_min_fen is not None else 0
        high = query.price_max_fen if query.price_max_fen is not None else np.iinfo(np.int64).max
        masks["price"] = (view.price >= max(low, 0)) & (view.price <= high)
    return masks


def _and_all(base: np.ndarray, masks: Mapping[str, np.ndarray], skip: str | None = None):
    out = base
    for name, mask in masks.items():
        if name != skip:
            out = out & mask
    return out


def facet_counts(view, query: SearchQuery, base, masks) -> dict[str, tuple[FacetCount, ...]]:
    """Counts per facet value. A facet ignores its own filter, so picking one category still
    shows how many results the other categories would give."""
    out = {}
    for name in query.facets:
        mask = _and_all(base, masks, skip=name)
        selected = set(query.filters.get(name, ()))
        if name == "price_band":
            counts = np.bincount(_price_band(view.price[mask]) + 1, minlength=len(PRICE_BANDS) + 1)
            out[name] = tuple(
                FacetCount(key, int(c), key in selected)
                for key, c in zip(PRICE_BAND_KEYS, counts[1:], strict=True)
                if c or key in selected
            )
            continue
        vocab, docs, vals = view.keywords[name]
        raw = np.bincount(vals[mask[docs]], minlength=len(vocab))
        by_code = dict(zip(vocab, raw.tolist(), strict=True))
        if name == "region" and query.kind == "package":
            by_code = _served_counts(by_code)
        values = sorted(
            ((code, count) for code, count in by_code.items() if count or code in selected),
            key=lambda item: (-item[1], item[0]),
        )
        out[name] = tuple(FacetCount(code, count, code in selected) for code, count in values)
    return out


def _served_counts(raw: dict[str, int]) -> dict[str, int]:
    """Packages serving each region: its own, its city's and province's, and province-wide ones.
    Exact because a package indexes only its widest codes (no code with its ancestor)."""
    everywhere = raw.pop(EVERYWHERE, 0)
    return {
        code: count + everywhere + sum(raw.get(a, 0) for a in region_ancestors(code))
        for code, count in raw.items()
    }


def order(view: WhooshView, docs: np.ndarray, score, sort: str, limit: int) -> np.ndarray:
    """The first ``limit`` of ``docs`` in the requested order; ties break by newest, then id."""
    if sort == "relevance" and score is None:
        sort = "newest"
    if sort == "relevance":
        primary = -score[docs].astype(np.float64)
    elif sort == "newest":
        primary = -view.date[docs].astype(np.float64)
    else:
        price = view.price[docs].astype(np.float64)
        price[price < 0] = np.inf  # "price on request" goes last either way
        primary = price if sort == "price_asc" else np.where(np.isinf(price), np.inf, -price)
    if limit < len(docs):
        # Keep every document tied with the limit-th one, so pages stay stable under ties.
        kth = np.partition(primary, limit - 1)[limit - 1]
        keep = primary <= kth
        docs, primary = docs[keep], primary[keep]
    ranked = np.lexsort((view.ids[docs], -view.date[docs], primary))
    return docs[ranked[:limit]]


def suggest(view, query: SearchQuery, visible, masks, segmenter) -> str | None:
    """A query that finds something visible: a one-edit spelling fix per chunk of the text,
    else the text without the word that emptied it."""
    chunks = query.text.split()
    fixed, changed = [], False
    for chunk in chunks:
        words = query_words(chunk.strip('"“”-'), segmenter)
        # Only visible documents count: a word found just in hidden ones still gets a
        # suggestion, so suggestions reveal nothing about drafts or private needs.
        if not words or all((_word(view, w)[0] & visible).any() for w in words):
            fixed.append(chunk)
            continue
        candidates = view.similar_terms(normalize(chunk)) or {}
        if not candidates and len(words) == 1:
            candidates = view.similar_terms(words[0])
        if candidates:
            fixed.append(max(candidates.items(), key=lambda kv: (kv[1], kv[0]))[0])
            changed = True
        else:
            fixed.append(chunk)
    options = [" ".join(fixed)] if changed else []
    for i in range(len(chunks) if len(chunks) > 1 else 0):
        rest = chunks[:i] + chunks[i + 1:]
        if any(not c.startswith(("-", "－")) for c in rest):  # never only exclusions
            options.append(" ".join(rest))
    best, best_total = None, 0
    for text in options:
        found = match_text(view, text, segmenter).mask & visible
        total = int(np.count_nonzero(_and_all(found, masks)))
        if total > best_total:
            best, best_total = text, total
    return best


def run(view: WhooshView, query: SearchQuery, segmenter: Segmenter | None) -> SearchResults:
    visible = acl_mask(view, query.principals)
    if not visible.any():
        return empty_results(query)
    matched = match_text(view, query.text, segmenter, expand=query.expand)
    base = matched.mask & visible
    masks = filter_masks(view, query)
    final = _and_all(base, masks)
    docs = np.flatnonzero(final)
    relaxed = False
    if len(docs) == 0 and query.fallback and len(matched.words) > 1:
        # Not every word can match: rank the documents matching some of them instead.
        matched = match_text(view, query.text, segmenter, expand=query.expand, partial=True)
        base = matched.mask & visible
        final = _and_all(base, masks)
        docs = np.flatnonzero(final)
        relaxed = len(docs) > 0
    start = (query.page - 1) * query.per_page
    page_docs = order(view, docs, matched.score, query.sort, start + query.per_page)[start:]
    record_type = SPECS[query.kind].record_type
    hits = []
    for docnum in page_docs:
        record = record_type(**view.record_fields(docnum))
        terms = matched.words if query.highlight else ()
        title = highlight(record.title, terms)
        snippet = highlight(record.text, terms, SNIPPET_CHARS)
        score = float(matched.score[docnum]) if matched.score is not None else 0.0
        hits.append(Hit(record, score, title, snippet))
    suggestion = None
    if len(docs) == 0 and matched.words:
        suggestion = suggest(view, query, visible, masks, segmenter)
    return SearchResults(
        hits=tuple(hits),
        total=len(docs),
        page=query.page,
        per_page=query.per_page,
        facets=facet_counts(view, query, base, masks),
        suggestion=suggestion,
        words=matched.words,
        relaxed=relaxed,
    )


def empty_results(query: SearchQuery) -> SearchResults:
    return SearchResults((), 0, query.page, query.per_page, {name: () for name in query.facets})
