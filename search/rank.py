"""``python -m search rank`` and ``evaluate``: packages for queries on a temporary Whoosh index.

Packages come in the JSON-lines format of ``python -m matching rank`` (read by
:mod:`matching.io`: codes or labels, duplicate ids refused), plus the optional ``summary``,
``provider_name`` and ``cases`` (list of texts) of the app's search documents. They are built
into documents by :func:`search.package_document`, the app's own builder, and searched with
query expansion and the partial-match fallback, as the app asks for them.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

from matching.io import DataError, InputReport, package_from_dict, read_jsonl
from matching.metrics import hit_at, reciprocal_rank

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
    relaxed: bool = True,
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
                    expand=relaxed,
                    fallback=relaxed,
                )
                hits = index.search(query).hits
                out.append({"query": query_id, "packages": [original[h.id - 1] for h in hits]})
        finally:
            index.close()
    return out


def first_clause(text: str) -> str:
    """A need cut at its first punctuation mark: about what an owner types into a search box."""
    return re.split(r"[，。,；;！!？?\n]", text, maxsplit=1)[0]


def evaluate(
    rows: list[dict[str, Any]], needs: list[dict[str, Any]], k: int = 10, **options: Any
) -> dict[str, float]:
    """Needs' texts (or first clauses) as queries against their ``relevant`` lists."""
    short = options.pop("short", False)
    labelled = [n for n in needs if n.get("relevant")]
    queries = [(n["id"], first_clause(n["text"]) if short else n["text"]) for n in labelled]
    found = {r["query"]: r["packages"] for r in rank(rows, queries, k, **options)}
    n = max(len(labelled), 1)

    def mean(metric) -> float:
        return sum(metric(found[d["id"]], d["relevant"]) for d in labelled) / n

    return {
        "queries": len(labelled),
        "mean_chars": round(sum(len(q) for _, q in queries) / n, 1),
        "hit@5": round(mean(lambda r, rel: hit_at(r, rel, 5)), 3),
        "hit@1_first": round(mean(lambda r, rel: hit_at(r, rel[:1], 1)), 3),
        "mrr": round(mean(reciprocal_rank), 3),
        "empty": sum(1 for d in labelled if not found[d["id"]]),
    }


def main_evaluate(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m search evaluate",
        description="labelled needs as search queries: hit@5, best first, MRR, empty lists",
    )
    parser.add_argument("--packages", required=True)
    parser.add_argument("--needs", required=True, help="as for matching evaluate")
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args(argv)
    try:
        rows, needs = list(read_jsonl(args.packages)), list(read_jsonl(args.needs))
        for short in (True, False):
            for relaxed in (False, True):
                result = evaluate(rows, needs, args.k, short=short, relaxed=relaxed)
                mode = ", expand + fallback" if relaxed else ", all words"
                name = ("first clause" if short else "full text") + mode
                print(json.dumps({"set": name, **result}, ensure_ascii=False))
    except (DataError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


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
