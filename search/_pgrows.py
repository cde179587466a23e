"""Records as rows of the PostgreSQL backend, and query text as ``tsquery``.

Pure functions (no database), so rebuild worker processes can run them. Words come from the
same analyzer as the Whoosh backend (:func:`search.analysis.index_tokens`): jieba's words at
consecutive positions, a long word's dictionary sub-words at the position of that word.

Why the ``tsvector`` is written as a literal (``'质量':1A,7B '检测':2A``) rather than as
``to_tsvector('simple', <the words joined by spaces>)``: PostgreSQL's parser numbers every word
it sees, so the sub-words sharing a position would get positions of their own and phrase queries
would miss; and it splits tokens again (``c++`` → ``c``, ``e-commerce`` → three lexemes). The
literal is exactly the analyzer's tokens, positions included, under the ``simple`` rules (no
stemming, no stop words: the analyzer already dropped them).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import Any, get_args, get_type_hints

from matching.text import Segmenter

from . import _whoosh
from .analysis import index_tokens, normalize, query_words
from .errors import RecordError
from .expansion import expansions
from .query import PRICE_BANDS, SPECS, split_text
from .records import Record

#: PostgreSQL clamps positions to 16383 and keeps 256 positions per lexeme.
MAX_POSITION = 16383
MAX_POSITIONS_PER_LEXEME = 256
#: Longer lexemes are refused by PostgreSQL; no query could find them anyway.
MAX_LEXEME_BYTES = 2046
TITLE_WEIGHT, TEXT_WEIGHT = "A", "B"

#: Filter and facet names, numbered for :func:`code_id` (append only: stored ids use them).
CODE_NAMES = ("category", "scenario_level", "industry", "cluster", "region", "deployment",
              "provider_tier", "subsidy", "provider", "status", "enterprise", "price_band")
CODE_NAME_SHIFT = 56


def code_id(code: str) -> int:
    """A code (``"category=quality"``) as a 64-bit integer: the name's number in the top byte,
    56 bits of a hash of the whole code below. Facets count integers about three times faster
    than strings; a collision within one name needs ~2^28 values."""
    name = code.split("=", 1)[0]
    digest = hashlib.blake2b(code.encode("utf-8"), digest_size=7).digest()
    return (CODE_NAMES.index(name) << CODE_NAME_SHIFT) | int.from_bytes(digest, "big")


def code_name_number(name: str) -> int:
    return CODE_NAMES.index(name)


def quote(word: str) -> str:
    """A lexeme as ``tsvector``/``tsquery`` input: quoted, quotes and backslashes doubled."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def fits(word: str) -> bool:
    return len(word.encode("utf-8")) <= MAX_LEXEME_BYTES


def tsvector_literal(title_tokens: list[tuple[str, int]],
                     text_tokens: list[tuple[str, int]]) -> str:
    """Title tokens at positions 1… with weight A, text tokens after a gap with weight B.

    The gap keeps a phrase from matching across the end of the title and the start of the
    text (Whoosh matches phrases within one field).
    """
    positions: dict[str, list[str]] = {}

    def add(tokens: list[tuple[str, int]], offset: int, weight: str) -> int:
        span = 0
        for word, pos in tokens:
            found = positions.setdefault(word, [])
            if len(found) < MAX_POSITIONS_PER_LEXEME:
                found.append(f"{min(offset + pos + 1, MAX_POSITION)}{weight}")
            span = max(span, pos + 1)
        return span

    title_span = add(title_tokens, 0, TITLE_WEIGHT)
    add(text_tokens, title_span + 1, TEXT_WEIGHT)
    return " ".join(f"{quote(word)}:{','.join(found)}" for word, found in positions.items()
                    if fits(word))


@dataclass(frozen=True)
class Row:
    """One ``search_documents`` row of a record, without its kind and generation."""

    doc_id: int
    record: str  # JSON
    acl: list[str]
    code_terms: list[str]  # "name=value" for every filter and facet, price band included
    codes: list[int]  # their code_id()s
    price: int | None
    sort_ms: int
    tsv: str  # tsvector literal

    def values(self) -> tuple:
        """The ``search_documents`` columns ``doc_id, record, acl, codes, price, sort_ms,
        tsv``."""
        return (self.doc_id, self.record, self.acl, self.codes, self.price, self.sort_ms,
                self.tsv)


def price_band(price: int | None) -> str | None:
    if price is None or price < 0:
        return None
    for key, low, high in PRICE_BANDS:
        if low <= price and (high is None or price < high):
            return key
    return None


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def prepare_row(record: Record, segmenter: Segmenter | None) -> Row:
    """The row of ``record``: segmented words, codes, price, date and the record as JSON.

    Codes, price and date come from the Whoosh backend's :func:`search._whoosh.prepare`, so
    both backends file a record under exactly the same terms.
    """
    if SPECS.get(getattr(record, "kind", "")) is None:
        raise RecordError(f"not a search record: {record!r}")
    doc = _whoosh.prepare(record, record.title or "", record.text or "")
    spec = SPECS[record.kind]
    codes = [f"{kw.name}={term}" for kw in spec.keywords
             for term in doc[_whoosh.keyword_field_name(kw.name)]]
    price = doc["c_price"] if doc["c_price"] >= 0 else None
    band = price_band(price)
    if band is not None:
        codes.append(f"price_band={band}")
    try:
        record_json = json.dumps(doc["record"], ensure_ascii=False, default=_json_default)
    except TypeError as exc:
        raise RecordError(f"cannot store {record!r}: {exc}") from exc
    tsv = tsvector_literal(index_tokens(record.title or "", segmenter),
                           index_tokens(record.text or "", segmenter))
    code_terms = list(dict.fromkeys(codes))
    return Row(int(record.id), record_json, list(doc["acl"]), code_terms,
               [code_id(code) for code in code_terms], price, doc["c_date"], tsv)


@cache
def _converters(record_type: type) -> dict[str, Any]:
    """Field name → how to turn its JSON value back (tuples and datetimes)."""
    hints = get_type_hints(record_type)
    out = {}
    for f in fields(record_type):
        hint = hints[f.name]
        if getattr(hint, "__origin__", None) is tuple:
            out[f.name] = tuple
        elif hint is datetime or datetime in get_args(hint):
            out[f.name] = datetime.fromisoformat
    return out


def record_from_json(record_type: type, data: dict[str, Any]) -> Record:
    convert = _converters(record_type)
    values = {name: (convert[name](value) if name in convert and value is not None else value)
              for name, value in data.items()}
    return record_type(**values)


@dataclass(frozen=True)
class TextQuery:
    """The text of a query as ``tsquery`` input.

    ``match`` selects documents (``None``: every document); ``rank`` scores them (``None``:
    no words, so "relevance" means newest first); ``words`` are the highlighted words.
    ``impossible`` is set when a required word cannot be in any index (too long).
    ``groups`` counts the required words (each with its expansion terms): a fallback to
    partial matches only makes sense with more than one.
    """

    match: str | None
    rank: str | None
    words: tuple[str, ...]
    impossible: bool = False
    groups: int = 0


def text_query(text: str, segmenter: Segmenter | None, *, expand: bool = False,
               partial: bool = False) -> TextQuery:
    """What :func:`search._engine.match_text` does with the text, as ``tsquery`` strings:
    every word (phrase words too) required, phrases as ``a <-> b``, ``-word`` excluded.

    ``expand`` lets each word be matched by its concept terms too (``(w | t1 | t2)``);
    ``partial`` asks for any of the words instead of all (``g1 | g2``; phrases and exclusions
    still hold), ranked by ``ts_rank``, which grows with the words a document matches.
    """
    parsed = split_text(text)
    words = list(dict.fromkeys(query_words(parsed.plain, segmenter)))
    phrases = [query_words(p, segmenter) for p in parsed.phrases]
    words += [p[0] for p in phrases if len(p) == 1 and p[0] not in words]
    phrases = [p for p in phrases if len(p) > 1]
    required = list(dict.fromkeys([*words, *(w for p in phrases for w in p)]))
    excluded = [w for part in parsed.excluded for w in query_words(part, segmenter)]
    shown = list(dict.fromkeys([*words, *(normalize(p) for p in parsed.phrases)]))
    extra = expansions(parsed.plain, segmenter) if expand else {}
    groups = []
    for word in required:
        terms = [t for t in (word, *extra.get(word, ())) if fits(t)]
        alternatives = " | ".join(quote(t) for t in terms)
        groups.append(None if not terms else f"({alternatives})" if len(terms) > 1
                      else alternatives)
        shown += [t for t in extra.get(word, ()) if t not in shown]
    found = [g for g in groups if g is not None]
    impossible = not found if partial else None in groups
    joined = (" | " if partial else " & ").join(found)
    parts = [f"({joined})" if partial and len(found) > 1 else joined] if found else []
    parts += ["(" + " <-> ".join(quote(w) for w in phrase) + ")" for phrase in phrases]
    parts += ["!" + quote(w) for w in dict.fromkeys(excluded) if fits(w)]
    return TextQuery(" & ".join(parts) or None, joined or None, tuple(shown),
                     bool(required) and impossible, len(required))
