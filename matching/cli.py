"""The ``python -m matching`` commands: evaluate, rank, bench, retrain."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .io import DataError, InputReport, read_needs, read_packages
from .metrics import METRICS


def _read(args: argparse.Namespace):
    """Packages and needs (with labels) of the command, unrecognised values told on stderr."""
    report = InputReport()
    packages = read_packages(args.packages, report)
    needs, labels = read_needs(args.needs, report)
    for kind, records in (("packages", packages), ("needs", needs)):
        line = report.summary(kind, len(records))
        if line:
            print(f"warning: {line}", file=sys.stderr)
    return packages, needs, labels


def _evaluate(args: argparse.Namespace) -> int:
    from .evaluation import evaluate

    packages, needs, labels = _read(args)
    if not labels:
        raise DataError(f"{args.needs}: no need has a 'relevant' list")
    table = evaluate(packages, needs, labels, k=args.k, ablation=args.ablation)
    if args.json:
        print(json.dumps({"k": args.k, "needs": len(labels), "results": table}, indent=2))
        return 0
    print(f"{len(packages)} packages, {len(labels)} labelled needs, k={args.k}")
    header = f"{'system':<22}" + "".join(f"{m:>12}" for m in METRICS)
    print(header)
    print("-" * len(header))
    for system, scores in table.items():
        print(f"{system:<22}" + "".join(f"{scores[m]:>12.3f}" for m in METRICS))
    return 0


def _rank(args: argparse.Namespace) -> int:
    from .matcher import Matcher

    packages, needs, _ = _read(args)
    matcher = Matcher().fit(packages)
    for need, recs in zip(needs, matcher.recommend_batch(needs, args.k), strict=True):
        line = {
            "need": need.id,
            "packages": [r.id for r in recs],
            "scores": [round(r.score, 6) for r in recs],
            "reasons": [[reason.as_dict() for reason in r.reasons] for r in recs],
        }
        print(json.dumps(line, ensure_ascii=False))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from .bench import run_bench

    report = run_bench(
        sizes=args.sizes, batch=args.batch, queries=args.queries, seed=args.seed, log=print
    )
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


def _retrain(args: argparse.Namespace) -> int:
    from .learn import InsufficientFeedback, retrain_from_files

    try:
        result = retrain_from_files(
            args.packages,
            args.needs,
            args.feedback,
            min_events=args.min_events,
            seed=args.seed,
        )
    except InsufficientFeedback as exc:
        print(f"not retrained: {exc}", file=sys.stderr)
        return 3
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(result.weights, fh, indent=2)
    print(json.dumps(result.report(), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m matching", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    ev = sub.add_parser("evaluate", help="matcher vs TF-IDF and BM25 on a labelled set")
    ev.add_argument("--packages", required=True)
    ev.add_argument("--needs", required=True)
    ev.add_argument("--k", type=int, default=10)
    ev.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    ev.add_argument("--ablation", action="store_true", help="also score each part on its own")
    ev.set_defaults(func=_evaluate)

    rk = sub.add_parser("rank", help="one JSON line of ranked packages per need")
    rk.add_argument("--packages", required=True)
    rk.add_argument("--needs", required=True)
    rk.add_argument("--k", type=int, default=10)
    rk.set_defaults(func=_rank)

    bn = sub.add_parser("bench", help="synthetic catalogues: fit, latency, throughput")
    bn.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    bn.add_argument("--batch", type=int, default=20_000, help="needs × packages of the batch run")
    bn.add_argument("--queries", type=int, default=300, help="single queries timed per size")
    bn.add_argument("--seed", type=int, default=0)
    bn.add_argument("--json", action="store_true")
    bn.set_defaults(func=_bench)

    rt = sub.add_parser("retrain", help="learn weights from deal feedback")
    rt.add_argument("--packages", required=True)
    rt.add_argument("--needs", required=True)
    rt.add_argument("--feedback", required=True, help="JSONL: need, package, event")
    rt.add_argument("--out", help="write the learned weights here (JSON)")
    rt.add_argument("--min-events", type=int, default=50)
    rt.add_argument("--seed", type=int, default=0)
    rt.set_defaults(func=_retrain)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (DataError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
