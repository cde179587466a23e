"""``python -m search bench``: indexing time and query latency on synthetic catalogues.

For each size: a full rebuild (segmenting in worker processes), the first query (which loads
the Whoosh index's arrays), then typical two-word Chinese queries with every default facet,
highlights and a mix of filters and sort orders, browsing without words (everything visible,
all facets), and single-package updates.

``--backend postgresql --dsn postgresql://user@host/db`` measures the PostgreSQL backend in a
schema of its own in that database (created, then dropped).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from matching.text import Segmenter

from . import _synthetic
from ._pgschema import TABLES, create_tables, libpq_dsn
from ._postgres import PostgresSearchIndex
from .index import SearchIndex
from .query import SearchQuery

PRINCIPALS = frozenset({"public", "enterprise:7"})
#: A word no synthetic package holds (``--plain-words``: every query falls back).
NO_MATCH = "发票税务"


def _queries(count: int) -> list[SearchQuery]:
    """Queries as a results page asks them: most plain, some with a filter or another sort."""
    out = []
    categories = tuple(_synthetic.CATEGORIES)
    for i in range(count):
        text = _synthetic.QUERIES[i % len(_synthetic.QUERIES)]
        filters: dict = {}
        if i % 4 == 1:
            filters = {"category": [categories[i % len(categories)]]}
        elif i % 4 == 2:
            filters = {"region": ["320102"], "subsidy": [True]}
        sort = ("relevance", "relevance", "newest", "price_asc")[i % 4 if i % 8 > 3 else 0]
        out.append(SearchQuery("package", text, PRINCIPALS, filters=filters, sort=sort,
                               page=1 + (i % 3 == 2)))
    return out


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the rebuild's worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _browse_queries(count: int) -> list[SearchQuery]:
    """The search page without words: everything visible, newest first, every facet."""
    categories = tuple(_synthetic.CATEGORIES)
    return [SearchQuery("package", "", PRINCIPALS,
                        filters={"category": [categories[i % len(categories)]]} if i % 2 else {},
                        page=1 + i % 3)
            for i in range(count)]


def _timed(index, queries: list[SearchQuery]) -> tuple[list[float], list[int]]:
    latencies, totals = [], []
    for query in queries:
        started = time.perf_counter()
        results = index.search(query)
        latencies.append((time.perf_counter() - started) * 1000)
        totals.append(results.total)
    return latencies, totals


@contextmanager
def whoosh_store(root: Path, n: int, segmenter: Segmenter) -> Iterator[tuple]:
    """A Whoosh index under ``root`` and a function giving its size in bytes."""
    path = root / f"bench-{n}"
    with SearchIndex(path, segmenter=segmenter) as index:
        yield index, lambda: sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


@contextmanager
def postgres_store(dsn: str, n: int, segmenter: Segmenter) -> Iterator[tuple]:
    """A PostgreSQL index in a schema of its own (dropped afterwards) and its size in bytes."""
    schema = f"search_bench_{os.getpid()}_{n}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
        scoped = make_conninfo(dsn, options=f"-c search_path={schema}")
        create_tables(scoped)

        def size() -> int:
            return sum(conn.execute("SELECT pg_total_relation_size(%s)",
                                    (f"{schema}.{table}",)).fetchone()[0] for table in TABLES)

        try:
            # No result cache: the bench repeats its queries, and would measure the cache.
            with PostgresSearchIndex(scoped, segmenter=segmenter, cache_size=0) as index:
                yield index, size
        finally:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def bench_size(n: int, workers: int, queries: int, store: Callable, segmenter: Segmenter,
               plain_words: bool = False) -> dict:
    with store(n, segmenter) as (index, size_bytes):
        return _bench(index, size_bytes, n, workers, queries, plain_words)


def _bench(index, size_bytes: Callable[[], int], n: int, workers: int, queries: int,
           plain_words: bool = False) -> dict:
    load = os.getloadavg()[0]
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    index.rebuild("package", _synthetic.packages(n), workers=workers)
    rebuild_s = time.perf_counter() - started
    rebuild_cpu_s = _cpu_seconds() - cpu_before

    started = time.perf_counter()
    index.search(SearchQuery("package", "设备 联网", PRINCIPALS))
    first_ms = (time.perf_counter() - started) * 1000

    latencies, totals = _timed(index, _queries(queries))
    browse, _ = _timed(index, _browse_queries(max(10, queries // 10)))
    plain = {}
    if plain_words:
        # As the search page asks: expansion + fallback; then with a word no package holds,
        # so that every query falls back to ranking its partial matches.
        asked = [replace(q, expand=True, fallback=True) for q in _queries(queries)]
        plain["plain"] = _timed(index, asked)[0]
        plain["fallback"] = _timed(index, [replace(q, text=q.text + " " + NO_MATCH)
                                           for q in asked])[0]

    updates = []
    for doc in list(_synthetic.packages(20, seed=99)):
        started = time.perf_counter()
        index.apply(upserts=[replace(doc, id=n + doc.id)])
        updates.append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    index.search(SearchQuery("package", "设备 联网", PRINCIPALS))
    after_update_ms = (time.perf_counter() - started) * 1000
    return {
        "documents": n,
        "rebuild_s": rebuild_s,
        "rebuild_cpu_s": rebuild_cpu_s,
        "load_before": load,
        "index_mb": size_bytes() / 1e6,
        "first_query_ms": first_ms,
        "p50_ms": statistics.median(latencies),
        "p95_ms": _percentile(latencies, 0.95),
        "max_ms": max(latencies),
        "mean_hits": statistics.mean(totals),
        "browse_p50_ms": statistics.median(browse),
        "browse_p95_ms": _percentile(browse, 0.95),
        "update_p50_ms": statistics.median(updates),
        "query_after_update_ms": after_update_ms,
        **{f"{name}_{stat}_ms": fn(values) for name, values in plain.items()
           for stat, fn in (("p50", statistics.median),
                            ("p95", lambda v: _percentile(v, 0.95)))},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m search bench", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--workers", type=int, default=2, help="segmenting processes")
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--backend", choices=("whoosh", "postgresql"), default="whoosh")
    parser.add_argument("--dsn", help="postgresql: the database (libpq or SQLAlchemy URL)")
    parser.add_argument("--dir", type=Path, help="whoosh: where to build (default: a temp dir)")
    parser.add_argument("--plain-words", action="store_true",
                        help="also time the queries with expansion + fallback, as the search "
                             "page asks them, and with a word no package holds (all fall back)")
    args = parser.parse_args(argv)
    if args.backend == "postgresql" and not args.dsn:
        parser.error("--backend postgresql needs --dsn")
    segmenter = Segmenter(cache_file=Path(tempfile.gettempdir()) / "search-bench-jieba.cache")
    segmenter.initialize()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        if args.backend == "postgresql":
            def store(n, seg):
                return postgres_store(libpq_dsn(args.dsn), n, seg)
        else:
            def store(n, seg):
                return whoosh_store(Path(tmp), n, seg)
        for n in args.sizes:
            row = bench_size(n, args.workers, args.queries, store, segmenter, args.plain_words)
            print(
                f"{args.backend}: {row['documents']:>7} packages  "
                f"rebuild {row['rebuild_s']:6.1f} s "
                f"(CPU {row['rebuild_cpu_s']:.0f} s, load before {row['load_before']:.1f}, "
                f"{row['index_mb']:.0f} MB)  first query {row['first_query_ms']:5.0f} ms  "
                f"query p50 {row['p50_ms']:5.1f} ms  p95 {row['p95_ms']:5.1f} ms  "
                f"max {row['max_ms']:5.1f} ms  (mean {row['mean_hits']:.0f} hits)  "
                f"browse p50 {row['browse_p50_ms']:5.1f} ms  p95 {row['browse_p95_ms']:5.1f} ms  "
                f"1-doc update p50 {row['update_p50_ms']:4.0f} ms, "
                f"next query {row['query_after_update_ms']:4.0f} ms",
                flush=True,
            )
            if args.plain_words:
                print(f"{args.backend}: {row['documents']:>7} packages  expansion + fallback "
                      f"p50 {row['plain_p50_ms']:5.1f} ms  p95 {row['plain_p95_ms']:5.1f} ms;  "
                      f"+ '{NO_MATCH}' (all fall back) p50 {row['fallback_p50_ms']:5.1f} ms  "
                      f"p95 {row['fallback_p95_ms']:5.1f} ms", flush=True)
    return 0
