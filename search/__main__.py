"""Command line: ``python -m search bench [--sizes 10000 100000] [--workers 2]`` and
``python -m search rank --packages P.jsonl --queries Q.jsonl [--k 10]`` and
``python -m search evaluate --packages P.jsonl --needs N.jsonl``."""

import sys


def main() -> int:
    if len(sys.argv) >= 2 and sys.argv[1] == "rank":
        from .rank import main as rank

        return rank(sys.argv[2:])
    if len(sys.argv) >= 2 and sys.argv[1] == "evaluate":
        from .rank import main_evaluate

        return main_evaluate(sys.argv[2:])
    if len(sys.argv) < 2 or sys.argv[1] != "bench":
        print("usage: python -m search {bench,rank,evaluate} [--help]", file=sys.stderr)
        return 2
    from .bench import main as bench

    return bench(sys.argv[2:])


if __name__ == "__main__":  # guarded: rebuild workers are spawned and re-import this module
    sys.exit(main())
