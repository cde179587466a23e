"""Command line: ``python -m search bench [--sizes 10000 100000] [--workers 2]``."""

import sys


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] != "bench":
        print("usage: python -m search bench [--help]", file=sys.stderr)
        return 2
    from .bench import main as bench

    return bench(sys.argv[2:])


if __name__ == "__main__":  # guarded: rebuild workers are spawned and re-import this module
    sys.exit(main())
