"""Everything that touches Whoosh: schema, tokenizer, writing, and reading postings and columns
into numpy arrays for the query engine (:mod:`search._engine`).

Whoosh (pure Python, unmaintained, pinned to whoosh-reloaded 2.7.x) is used as a segmented,
crash-safe inverted index with stored fields and per-document columns. Queries are not run by
Whoosh's collectors: its exact hit count re-runs the query and its facets loop over every hit in
Python, both far too slow at 100k documents. Instead posting lists and columns are read in bulk
(a few private attributes of the w3 codec, named in :func:`_posting_arrays` and
:func:`_column_array`, each with a slow public fallback) and evaluated with numpy. The worker
processes of a parallel rebuild are in :mod:`search._rebuild`.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import columns, index
from whoosh import query as wq
from whoosh.analysis import Token, Tokenizer
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.fields import COLUMN, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.formats import Positions
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound
from whoosh.support.levenshtein import damerau_levenshtein
from whoosh.system import pack_uint
from whoosh.util.numeric import byte_to_length
from whoosh.util.text import utf8encode
from whoosh.writing import SegmentWriter

from matching.text import Segmenter

from .analysis import Segmented, index_tokens
from .errors import IndexBusyError, RecordError
from .query import SPECS, KeywordField, KindSpec, code_terms

TEXT_FIELDS = ("title", "text")
NO_PRICE = -1  # price column value for "price on request"
EVERYWHERE = "*"  # region term of a package that serves the whole province
_BYTE_TO_LENGTH = np.array([byte_to_length(b) for b in range(256)], dtype=np.float32)

# The segmenter the tokenizer uses for plain strings. Set by SearchIndex; rebuild workers are
# forked from that process and inherit it, already loaded.
_segmenter: Segmenter | None = None


def use_segmenter(segmenter: Segmenter) -> None:
    global _segmenter
    _segmenter = segmenter


class SegmentedTokenizer(Tokenizer):
    """Whoosh tokenizer over :func:`search.analysis.index_tokens`.

    Takes the tokens of a :class:`Segmented` value as they are; a plain string is cut with the
    process's default segmenter. Holds no state because Whoosh pickles the schema into the
    index's table of contents.
    """

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="",
                 **kwargs) -> Iterator[Token]:
        tokens = value.tokens if isinstance(value, Segmented) else index_tokens(value, _segmenter)
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for word, pos in tokens:
            token.text = word
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = word
            if positions:
                token.pos = start_pos + pos
            yield token


class SegmentedText(TEXT):
    """A phrase-searchable text field that indexes a :class:`Segmented` value's tokens directly.

    Produces exactly what ``TEXT`` with :class:`SegmentedTokenizer` and the ``Positions``
    format produce (``tests/search/test_search_analysis.py`` compares them), without a Whoosh
    ``Token`` per word: per word its UTF-8 bytes, frequency, weight and the position deltas
    encoded as ``Positions.encode`` does (0.13 instead of 0.18 ms per package). A plain string
    (or another format) takes Whoosh's own path.
    """

    def index(self, value, **kwargs):
        tokens = getattr(value, "tokens", None)
        if tokens is None or type(self.format) is not Positions:
            yield from super().index(value, **kwargs)
            return
        positions: dict[str, list[int]] = {}
        for word, pos in tokens:
            found = positions.get(word)
            if found is None:
                positions[word] = [pos]
            else:
                found.append(pos)
        boost = self.format.field_boost
        for word, poslist in positions.items():
            deltas = [b - a for a, b in zip([0, *poslist], poslist)]  # noqa: B905 (n+1, n)
            yield (word.encode("utf-8"), len(poslist), len(poslist) * boost,
                   pack_uint(len(deltas)) + pickle.dumps(deltas, 2))


def keyword_field_name(name: str) -> str:
    return f"k_{name}"


def build_schema(spec: KindSpec) -> Schema:
    """The Whoosh schema of one kind: text fields, one keyword field per code, columns."""
    analyzer = SegmentedTokenizer()
    schema = Schema(
        id=ID(unique=True),
        title=SegmentedText(analyzer=analyzer, phrase=True),
        text=SegmentedText(analyzer=analyzer, phrase=True),
        # scorable: only so Whoosh's writer finds a lengths column; without one it stats the
        # missing column file once per posting, a fifth of the indexing time.
        acl=KEYWORD(scorable=True),
        record=STORED(),
        c_id=COLUMN(columns.NumericColumn("q", default=0)),
        c_price=COLUMN(columns.NumericColumn("q", default=NO_PRICE)),
        c_date=COLUMN(columns.NumericColumn("q", default=0)),
    )
    for kw in spec.keywords:
        schema.add(keyword_field_name(kw.name), KEYWORD(scorable=True))
    return schema


def create_index(path, spec: KindSpec) -> index.Index:
    return index.create_in(str(path), build_schema(spec))


def open_index(path) -> index.Index:
    return index.open_dir(str(path))


# Regions: GB/T 2260 codes are hierarchical (32 province, 3201 city, 320102 county).

def region_ancestors(code: str) -> list[str]:
    """The city and province codes above a county or city code, nearest first."""
    if len(code) != 6 or not code.isdigit():
        return []
    above = [code[:4] + "00", code[:2] + "0000"]
    return [c for c in dict.fromkeys(above) if c != code]


def _keyword_terms(kw: KeywordField, spec: KindSpec, value: object) -> list[str]:
    terms = code_terms(value)
    if kw.name != "region":
        return terms
    if spec.kind == "package":
        # A package serving a province serves all of it: keep only the widest codes so one
        # package is counted once under a county's facet (county + city + province + "*").
        wide = [t for t in terms if not set(region_ancestors(t)) & set(terms)]
        return wide or [EVERYWHERE]
    # A need located in a county is also in its city and province.
    return list(dict.fromkeys(t for code in terms for t in (code, *region_ancestors(code))))


def _date_ms(record: Any, spec: KindSpec) -> int:
    for attr in spec.date_attrs:
        value = getattr(record, attr)
        if value is not None:
            return int(value.timestamp() * 1000)
    return 0


def prepare(record: Any, title: str, text: str) -> dict[str, Any]:
    """The Whoosh document of a record; ``title`` and ``text`` are best :class:`Segmented`
    (plain strings are segmented by the tokenizer, e.g. in a rebuild's worker processes)."""
    spec = SPECS.get(getattr(record, "kind", ""))
    if spec is None or not isinstance(record, spec.record_type):
        raise RecordError(f"not a search record: {record!r}")
    price = getattr(record, spec.price_attr)
    doc = {
        "id": str(record.id),
        "title": title,
        "text": text,
        "acl": code_terms(record.acl),
        "record": {f.name: getattr(record, f.name) for f in fields(record)},
        "c_id": int(record.id),
        "c_price": NO_PRICE if price is None else int(price),
        "c_date": _date_ms(record, spec),
    }
    for kw in spec.keywords:
        doc[keyword_field_name(kw.name)] = _keyword_terms(kw, spec, getattr(record, kw.attr))
    return doc


def bulk_writer(ix: index.Index, limitmb: int, **kwargs) -> SegmentWriter:
    """A writer for a rebuild: a big posting pool, and no per-block field-length statistics.

    Those statistics only feed the quality bounds of Whoosh's own scorers, which this library
    never runs (BM25 uses the length columns, :func:`_lengths_array`, phrases only need
    positions); looking up the field length of each of a package's ~90 postings cost 0.085 ms
    per package. Merges made later by :func:`write` compute them for the segments they write.
    """
    writer = SegmentWriter(ix, limitmb=limitmb, **kwargs)
    writer.codec.length_stats = False  # this writer's own codec instance
    return writer


def write(ix: index.Index, ops: Iterable[tuple[str, Any]], timeout: float) -> None:
    """Apply ``("upsert", doc)`` / ``("delete", id)`` operations in one Whoosh commit."""
    from whoosh.index import LockError

    try:
        writer = ix.writer(timeout=timeout, delay=0.05)
    except LockError as exc:  # only a writer outside this library can hold it this long
        raise IndexBusyError("the Whoosh write lock is held") from exc
    try:
        for op, payload in ops:
            if op == "upsert":
                writer.update_document(**payload)
            else:
                writer.delete_by_term("id", str(payload))
    except BaseException:
        writer.cancel()
        raise
    try:
        writer.commit()
    except BaseException:
        # Whoosh releases its write lock only at the end of a commit that succeeded: after a
        # failed one every later writer of this process would wait out its timeout.
        _release_lock(writer)
        raise


def _release_lock(writer: SegmentWriter) -> None:
    if writer.writelock is not None and not writer.is_closed:
        writer.writelock.release()
        writer.is_closed = True


# Reading: posting lists and columns as numpy arrays.

_EMPTY_IDS = np.zeros(0, dtype=np.int64)
_EMPTY_TF = np.zeros(0, dtype=np.float32)


def _posting_arrays(reader, field: str, term: bytes, weights: bool):
    """All doc numbers (and term frequencies) of one term in one segment.

    Deleted documents are included; the engine masks them. Reads whole posting blocks through
    the w3 codec's private ``_read_data`` / ``_next_block`` and decodes each block's delta-coded
    ids with numpy, instead of stepping the public matcher one posting at a time (10–30×
    slower). Any other matcher takes the public path.
    """
    try:
        matcher = reader.postings(field, term)
    except TermNotFound:
        return _EMPTY_IDS, (_EMPTY_TF if weights else None)
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
    if isinstance(matcher, W3LeafMatcher) and not matcher._byteids:
        id_parts, tf_parts = [], []
        while matcher.is_active():
            if matcher._data is None:
                matcher._read_data()
            deltas, block_weights = matcher._data[0], matcher._data[1]
            id_parts.append(np.cumsum(np.asarray(deltas, dtype=np.int64)))
            if weights:
                if block_weights is None or isinstance(block_weights, float):
                    tf_parts.append(np.full(len(deltas), block_weights or 1.0, np.float32))
                else:
                    tf_parts.append(np.asarray(block_weights, dtype=np.float32))
            matcher._next_block()
        ids = np.concatenate(id_parts) if id_parts else _EMPTY_IDS
        return ids, (np.concatenate(tf_parts) if weights and tf_parts else
                     (_EMPTY_TF if weights else None))
    pairs = list(matcher.items_as("weight"))
    ids = np.array([d for d, _ in pairs], dtype=np.int64)
    return ids, (np.array([w for _, w in pairs], dtype=np.float32) if weights else None)


def _column_array(reader, name: str, dtype: str, n: int) -> np.ndarray:
    """A numeric column of one segment, padded with the column's default.

    The w3 numeric column is a run of big-endian values for docs ``0 … count-1``; its reader's
    private ``_dbfile``/``_basepos``/``_count`` let numpy read it in one go.
    """
    col = reader.column_reader(name)
    try:
        raw = col._dbfile.get(col._basepos, col._count * col._fixedlen)
        values = np.frombuffer(raw, dtype=dtype).astype(np.int64)
        out = np.full(n, col._default, dtype=np.int64)
        out[: len(values)] = values
        return out
    except AttributeError:  # another codec: the slow public way
        return np.fromiter(col, dtype=np.int64, count=n)


def _lengths_array(reader, field: str, n: int) -> np.ndarray:
    """Token counts of ``field`` per document, from Whoosh's one-byte length column (private
    ``_perdoc`` reader; the public ``doc_field_length`` is one call per document)."""
    try:
        col = reader._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
        if col is None:  # no document in this segment has the field
            return np.zeros(n, dtype=np.float32)
        raw = np.frombuffer(col._dbfile.get(col._basepos, col._count), dtype=np.uint8)
        codes = np.zeros(n, dtype=np.uint8)
        codes[: len(raw)] = raw
        return _BYTE_TO_LENGTH[codes]
    except AttributeError:
        return np.array([reader.doc_field_length(d, field, 0) for d in range(n)], np.float32)


@dataclass
class Postings:
    """Every posting list of one text field of one segment, as flat numpy arrays."""

    terms: dict[str, int]
    offsets: np.ndarray  # postings of term i are [offsets[i], offsets[i + 1])
    docs: np.ndarray
    tfs: np.ndarray

    def get(self, word: str) -> tuple[np.ndarray, np.ndarray]:
        i = self.terms.get(word)
        if i is None:
            return _EMPTY_IDS, _EMPTY_TF
        lo, hi = self.offsets[i], self.offsets[i + 1]
        return self.docs[lo:hi], self.tfs[lo:hi]


@dataclass
class SegmentArrays:
    """What the engine needs of one segment, as numpy arrays.

    Whoosh segments never change once written (deletions are kept apart), so these are computed
    once per segment and saved beside it (:func:`sidecar_path`); every process then loads them
    with ``np.load`` instead of decoding Whoosh's pickled posting blocks on each query.
    """

    n: int
    ids: np.ndarray
    price: np.ndarray
    date: np.ndarray
    lengths: dict[str, np.ndarray]
    keywords: dict[str, tuple[list[str], np.ndarray, np.ndarray]]  # vocab, docs, value codes
    postings: dict[str, Postings]


def _field_postings(reader, field: str) -> Postings:
    terms, offsets, docs, tfs = [], [0], [], []
    for btext in reader.lexicon(field):
        ids, weights = _posting_arrays(reader, field, btext, weights=True)
        terms.append(btext.decode("utf-8"))
        docs.append(ids.astype(np.int32))
        tfs.append(weights)
        offsets.append(offsets[-1] + len(ids))
    return Postings(
        terms={t: i for i, t in enumerate(terms)},
        offsets=np.asarray(offsets, dtype=np.int64),
        docs=np.concatenate(docs) if docs else np.zeros(0, np.int32),
        tfs=np.concatenate(tfs) if tfs else _EMPTY_TF,
    )


def build_segment(reader, spec: KindSpec) -> SegmentArrays:
    n = reader.doc_count_all()
    keywords = {}
    for kw in spec.keywords:
        field = keyword_field_name(kw.name)
        vocab, docs, vals = [], [], []
        for btext in reader.lexicon(field):
            ids, _ = _posting_arrays(reader, field, btext, weights=False)
            vals.append(np.full(len(ids), len(vocab), dtype=np.int32))
            vocab.append(btext.decode("utf-8"))
            docs.append(ids)
        keywords[kw.name] = (
            vocab,
            np.concatenate(docs) if docs else _EMPTY_IDS,
            np.concatenate(vals) if vals else np.zeros(0, dtype=np.int32),
        )
    return SegmentArrays(
        n=n,
        ids=_column_array(reader, "c_id", ">i8", n),
        price=_column_array(reader, "c_price", ">i8", n),
        date=_column_array(reader, "c_date", ">i8", n),
        lengths={field: _lengths_array(reader, field, n) for field in TEXT_FIELDS},
        keywords=keywords,
        postings={field: _field_postings(reader, field) for field in TEXT_FIELDS},
    )


SIDECAR_PREFIX = "arrays-"


def sidecar_path(generation: Path, reader) -> Path:
    return generation / f"{SIDECAR_PREFIX}{segment_key(reader)}.npz"


def _save(arrays: SegmentArrays, path: Path) -> None:
    out: dict[str, np.ndarray] = {
        "n": np.array([arrays.n]), "ids": arrays.ids, "price": arrays.price, "date": arrays.date,
    }
    for field in TEXT_FIELDS:
        post = arrays.postings[field]
        out[f"len_{field}"] = arrays.lengths[field]
        out[f"terms_{field}"] = np.array(list(post.terms) or [""], dtype=str)
        out[f"offsets_{field}"] = post.offsets
        out[f"docs_{field}"] = post.docs
        out[f"tfs_{field}"] = post.tfs
    for name, (vocab, docs, vals) in arrays.keywords.items():
        out[f"vocab_{name}"] = np.array(vocab or [""], dtype=str)
        out[f"kwdocs_{name}"] = docs
        out[f"kwvals_{name}"] = vals
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **out)
    os.replace(tmp, path)  # readers see the whole file or none


def _load(path: Path, spec: KindSpec) -> SegmentArrays:
    with np.load(path) as data:
        def strings(key: str, count: int) -> list[str]:
            return data[key].tolist()[:count]

        postings = {}
        for field in TEXT_FIELDS:
            offsets = data[f"offsets_{field}"]
            terms = strings(f"terms_{field}", len(offsets) - 1)
            postings[field] = Postings({t: i for i, t in enumerate(terms)}, offsets,
                                       data[f"docs_{field}"], data[f"tfs_{field}"])
        keywords = {}
        for kw in spec.keywords:
            vals = data[f"kwvals_{kw.name}"]
            count = int(vals.max()) + 1 if len(vals) else 0
            keywords[kw.name] = (strings(f"vocab_{kw.name}", count), data[f"kwdocs_{kw.name}"],
                                 vals)
        return SegmentArrays(
            n=int(data["n"][0]), ids=data["ids"], price=data["price"], date=data["date"],
            lengths={f: data[f"len_{f}"] for f in TEXT_FIELDS}, keywords=keywords,
            postings=postings,
        )


def load_segment(reader, spec: KindSpec, generation: Path | None) -> SegmentArrays:
    """The segment's arrays from its sidecar file, building (and saving) it when missing."""
    path = sidecar_path(generation, reader) if generation is not None else None
    if path is not None and path.exists():
        try:
            return _load(path, spec)
        except (OSError, ValueError, KeyError):  # damaged: build it again
            pass
    arrays = build_segment(reader, spec)
    if path is not None:
        _save(arrays, path)
    return arrays


def write_sidecar(generation: Path, reader, spec: KindSpec) -> None:
    """Build and save the sidecar of one segment's reader (a rebuild worker's new segment)."""
    _save(build_segment(reader, spec), sidecar_path(generation, reader))


def prepare_sidecars(generation: Path, spec: KindSpec) -> None:
    """Build missing sidecars of the generation's segments and drop those of merged-away
    segments, so the next query loads instead of decoding (call after a commit)."""
    ix = open_index(generation)
    with ix.reader() as reader:
        wanted = set()
        for leaf, _ in _segment_leaves(reader):
            path = sidecar_path(generation, leaf)
            wanted.add(path.name)
            if not path.exists():
                _save(build_segment(leaf, spec), path)
    for path in generation.glob(f"{SIDECAR_PREFIX}*.npz"):
        if path.name not in wanted:
            path.unlink(missing_ok=True)


def _segment_leaves(reader) -> list:
    """The reader's leaves that hold a segment: an index with no documents has one empty leaf
    without a segment, which has nothing to cache."""
    return [(leaf, offset) for leaf, offset in reader.leaf_readers()
            if leaf.segment() is not None]


def segment_key(reader) -> str:
    seg = reader.segment()
    return f"{seg.segment_id()}"


class OneEditIndex:
    """The terms of a field by their one-character deletions ("symmetric delete"): the terms
    within one edit (Damerau–Levenshtein) of a word share a deletion with it, or are one of
    its deletions, or it is one of theirs. Finding them compares the word with those few
    terms instead of every term of the field, as Whoosh's ``terms_within`` does (135 ms a
    suggestion at 100k packages, in Python)."""

    def __init__(self, terms: Iterable[str]):
        self._by_variant: dict[str, list[str]] = {}
        for term in terms:
            for variant in _with_deletions(term):
                self._by_variant.setdefault(variant, []).append(term)

    def within_one(self, word: str) -> list[str]:
        """The terms at most one edit from ``word`` (``word`` itself too, if it is one)."""
        seen: set[str] = set()
        found = []
        for variant in _with_deletions(word):
            for term in self._by_variant.get(variant, ()):
                if term not in seen:
                    seen.add(term)
                    if damerau_levenshtein(word, term) <= 1:
                        found.append(term)
        return found


# Segments never change: each one's index is built at its first suggestion and kept (by segment
# id, per process) while the segment is searched; a write adds a small segment of its own.
_ONE_EDIT: dict[tuple[str, str], OneEditIndex] = {}
_ONE_EDIT_KEPT = 64


def _one_edit_index(leaf, field: str) -> OneEditIndex:
    key = (segment_key(leaf), field)
    found = _ONE_EDIT.get(key)
    if found is None:
        if len(_ONE_EDIT) >= _ONE_EDIT_KEPT:  # merged-away segments: start over
            _ONE_EDIT.clear()
        found = _ONE_EDIT[key] = OneEditIndex(leaf.field_terms(field))
    return found


def _with_deletions(text: str) -> set[str]:
    return {text, *(text[:i] + text[i + 1:] for i in range(len(text)))}


class WhooshView:
    """One searcher's documents as numpy arrays, with global doc numbers.

    Built when the searcher changes (after a write), from per-segment arrays cached by segment
    id, so an incremental write only loads its new, small segment.
    """

    def __init__(self, searcher, spec: KindSpec, cache: dict[str, SegmentArrays],
                 generation: Path | None = None):
        self.searcher = searcher
        self.spec = spec
        self.leaves = _segment_leaves(searcher.reader())
        fresh: dict[str, SegmentArrays] = {}
        parts = []
        for reader, _ in self.leaves:
            key = segment_key(reader)
            fresh[key] = cache.get(key) or load_segment(reader, spec, generation)
            parts.append((reader, fresh[key]))
        cache.clear()
        cache.update(fresh)
        self.n = sum(p.n for _, p in parts)
        self.live = np.ones(self.n, dtype=bool)
        for (reader, _), (_, offset) in zip(parts, self.leaves, strict=True):
            deleted = list(reader.deleted_docs_set) if reader.has_deletions() else []
            self.live[np.asarray(deleted, dtype=np.int64) + offset] = False
        arrays = [p for _, p in parts]
        self.ids = _concat([a.ids for a in arrays], np.int64)
        self.price = _concat([a.price for a in arrays], np.int64)
        self.date = _concat([a.date for a in arrays], np.int64)
        self.lengths = {
            f: _concat([a.lengths[f] for a in arrays], np.float32) for f in TEXT_FIELDS
        }
        self.doc_count = int(self.live.sum())
        self.avg_length = {
            f: float(self.lengths[f][self.live].mean()) if self.doc_count else 1.0
            for f in TEXT_FIELDS
        }
        self.keywords = {
            kw.name: _merge_keywords([a.keywords[kw.name] for a in arrays],
                                     [off for _, off in self.leaves])
            for kw in spec.keywords
        }
        self._term_cache: dict[tuple[str, str], np.ndarray] = {}
        self._segment_arrays = arrays

    def postings(self, field: str, word: str, weights: bool = True):
        """Global doc numbers (and frequencies) of ``word`` in a text field, or of a term of
        another field (read from Whoosh: only the acl, whose masks are cached)."""
        ids_parts, tf_parts = [], []
        if field in TEXT_FIELDS:
            for arrays, (_, offset) in zip(self._segment_arrays, self.leaves, strict=True):
                ids, tfs = arrays.postings[field].get(word)
                ids_parts.append(ids.astype(np.int64) + offset)
                tf_parts.append(tfs)
        else:
            btext = utf8encode(word)[0]
            for reader, offset in self.leaves:
                ids, tfs = _posting_arrays(reader, field, btext, weights)
                ids_parts.append(ids + offset)
                tf_parts.append(tfs)
        if len(ids_parts) == 1:
            return ids_parts[0], (tf_parts[0] if weights else None)
        ids = np.concatenate(ids_parts) if ids_parts else _EMPTY_IDS
        tfs = np.concatenate(tf_parts) if weights and tf_parts else None
        return ids, tfs

    def term_mask(self, field: str, word: str) -> np.ndarray:
        """Documents having the term, cached for the life of the view (acl principals)."""
        key = (field, word)
        mask = self._term_cache.get(key)
        if mask is None:
            mask = np.zeros(self.n, dtype=bool)
            mask[self.postings(field, word, weights=False)[0]] = True
            if len(self._term_cache) > 512:
                self._term_cache.clear()
            self._term_cache[key] = mask
        return mask

    def phrase_mask(self, field: str, words: list[str]) -> np.ndarray:
        """Documents with ``words`` at consecutive positions in ``field``."""
        mask = np.zeros(self.n, dtype=bool)
        docs = list(self.searcher.docs_for_query(wq.Phrase(field, words)))
        mask[np.asarray(docs, dtype=np.int64)] = True
        return mask

    def similar_terms(self, word: str) -> dict[str, int]:
        """Index terms one edit from ``word`` with their document frequency in ``text``."""
        reader = self.searcher.reader()
        out: dict[str, int] = {}
        for leaf, _offset in self.leaves:
            for field in TEXT_FIELDS:
                for term in _one_edit_index(leaf, field).within_one(word):
                    if term != word and term not in out:
                        out[term] = reader.doc_frequency("text", term)
        return out

    def record_fields(self, docnum: int) -> dict[str, Any]:
        return self.searcher.stored_fields(int(docnum))["record"]


def _concat(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)


def _merge_keywords(parts, offsets):
    """Per-segment (vocab, docs, codes) → one global vocabulary and global doc numbers."""
    vocab: dict[str, int] = {}
    docs, vals = [], []
    for (seg_vocab, seg_docs, seg_vals), offset in zip(parts, offsets, strict=True):
        remap = np.array([vocab.setdefault(v, len(vocab)) for v in seg_vocab], dtype=np.int32)
        docs.append(seg_docs + offset)
        vals.append(remap[seg_vals] if len(seg_vals) else seg_vals)
    return (
        list(vocab),
        np.concatenate(docs) if docs else _EMPTY_IDS,
        np.concatenate(vals) if vals else np.zeros(0, dtype=np.int32),
    )
