"""``python -m search rank``: rank packages for short queries on a temporary Whoosh index.

Packages come in the JSON-lines format of ``python -m matching rank`` (read by
:mod:`matching.io`: codes or labels, duplicate ids refused), plus the optional ``summary``,
``provider_name`` and ``cases`` (list of texts) of the app's search documents. They are built
into documents by :func:`search.package_document`, the app's own builder, and searched with
query expansion and the partial-match fallback, as the app asks for them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

from matching.io import DataError, InputReport, package_from_dict, read_jsonl

from .documents import package_document
from .index import SearchIndex
from .query import SearchQuery
from .records import PACKAGE


def documents(rows: list[dict[str, Any]], report: InputReport | None = None):
    """Search documents of package lines, with integer ids (Whoosh's) and the original ids."""
    docs, original = [], []
    seen = set()
    for number, row in enumerate(rows, 1):
        record = package_from_dict(row, report)
        if record.id in seen:
            raise DataError(f"package id {record.id!r} appears twice (record {number})")
        seen.add(record.id)
        docs.append(
            package_document(
                number,
                record.title,
                summary=row.get("summary") or "",
                description=record.text,
                provider_name=row.get("provider_name") or "",
                cases=[str(c) for c in row.get("cases") or ()],
                category=record.category,
                scenario_levels=record.scenario_levels,
                industries=record.industries,
                clusters=record.clusters,
                acl=("public",),
            )
        )
        original.append(record.id)
    return docs, original


def rank(
    rows: list[dict[str, Any]],
    queries: Sequence[tuple[Any, str]],
    k: int = 10,
    report: InputReport | None = None,
) -> list[dict[str, Any]]:
    """``{"query": id, "packages": [ids best first]}`` per query."""
    docs, original = documents(rows, report)
    out = []
    with tempfile.TemporaryDirectory(prefix="search-rank-") as directory:
        index = SearchIndex(directory)
        try:
            index.apply(upserts=docs)
            for query_id, text in queries:
                query = SearchQuery(
                    PACKAGE,
                    text,
                    {"public"},
                    per_page=k,
                    facets=(),
                    highlight=False,
                    expand=True,
                    fallback=True,
                )
                hits = index.search(query).hits
                out.append({"query": query_id, "packages": [original[h.id - 1] for h in hits]})
        finally:
            index.close()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m search rank", description=__doc__)
    parser.add_argument("--packages", required=True, help="JSON lines, as for matching rank")
    parser.add_argument("--queries", required=True, help='JSON lines: {"id", "query"}')
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args(argv)
    report = InputReport()
    try:
        rows = list(read_jsonl(args.packages))
        queries = []
        for row in read_jsonl(args.queries):
            if "id" not in row or not isinstance(row.get("query"), str):
                raise DataError(f"query line needs id and query: {row!r:.80}")
            queries.append((row["id"], row["query"]))
        results = rank(rows, queries, args.k, report)
    except (DataError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    line = report.summary("packages", len(rows))
    if line:
        print(f"warning: {line}", file=sys.stderr)
    for result in results:
        print(json.dumps(result, ensure_ascii=False))
    return 0
