"""``python -m marketplace.bench {seed,dashboard,load} --database-url postgresql+psycopg://…``

- ``seed``: create (if missing), migrate and seed the database; optionally index and fit.
- ``dashboard``: seed if asked (default: when it holds no needs), then time the statistics.
- ``load``: seed (default: when empty) with search index and recommender, start gunicorn,
  drive it from concurrent clients and report per route.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

from .seed import Volume
from .timing import machine_note

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1/zgsz_bench"


def _common(parser: argparse.ArgumentParser, packages: int, needs: int, deals: int) -> None:
    parser.add_argument("--database-url", default=DEFAULT_URL,
                        help=f"PostgreSQL, created if missing (default {DEFAULT_URL})")
    parser.add_argument("--packages", type=int, default=packages)
    parser.add_argument("--needs", type=int, default=needs)
    parser.add_argument("--deals", type=int, default=deals)
    parser.add_argument("--random-seed", type=int, default=2026)
    parser.add_argument("--seed", action=argparse.BooleanOptionalAction, default=None,
                        help="seed the volume (default: only when the database has no needs)")
    parser.add_argument("--workdir", type=Path,
                        default=Path(tempfile.gettempdir()) / "zgsz-bench",
                        help="instance files: search index, saved recommender, logs")


def _volume(args) -> Volume:
    return Volume(packages=args.packages, needs=args.needs, deals=args.deals,
                  seed=args.random_seed)


def _config(args) -> dict:
    """The benchmark app's instance files live in ``--workdir``, never in ``instance/``."""
    args.workdir.mkdir(parents=True, exist_ok=True)
    config = {"SEARCH_INDEX_DIR": str(args.workdir / "search"),
              "MATCHING_DIR": str(args.workdir / "matching"),
              "SECRET_KEY": os.environ.get("MARKETPLACE_SECRET_KEY", "zgsz-bench-secret")}
    if getattr(args, "search_backend", None):
        config["SEARCH_BACKEND"] = args.search_backend
    return config


def cmd_seed(args) -> None:
    from .database import bench_app, ensure_database, prepare

    ensure_database(args.database_url)
    app = bench_app(args.database_url, **_config(args))
    report = prepare(app, _volume(args), True if args.seed is None else args.seed,
                     index=args.index)
    if report:
        print(f"seeded in {report.seconds:.1f} s: {report.counts}")


def cmd_dashboard(args) -> None:
    from . import dashboard
    from .database import bench_app, ensure_database, prepare

    ensure_database(args.database_url)
    prepare(bench_app(args.database_url, **_config(args)), _volume(args), args.seed)
    # One pooled connection: one PostgreSQL backend serves every timed query (its CPU is read).
    # No kept figures: every call counts afresh (what a scope nobody asked for a minute costs).
    app = bench_app(args.database_url, **_config(args), STATS_CACHE_SECONDS=0,
                    SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0,
                                               "pool_pre_ping": True, "hide_parameters": True})
    print(f"timing the dashboard ({args.repeat} runs after {args.warmup} warm-up) …")
    results = dashboard.run(app, repeat=args.repeat, warmup=args.warmup)
    print(f"\n{machine_note()}\n")
    print(dashboard.report(results))


def cmd_load(args) -> None:
    from . import load
    from .database import bench_app, ensure_database, prepare

    ensure_database(args.database_url)
    config = _config(args)
    prepare(bench_app(args.database_url, **config), _volume(args), args.seed, index=True)
    settings = load.Settings(database_url=args.database_url, workdir=args.workdir,
                             workers=args.workers, threads=args.threads,
                             clients=args.clients, duration=args.duration,
                             warmup=args.warmup, search_backend=args.search_backend,
                             secret_key=config["SECRET_KEY"], keep_figures=args.keep_figures)
    outcome = load.run(settings)
    print(f"\n{machine_note()}\n")
    print(load.report(outcome))
    if outcome.errors:
        sys.exit(1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m marketplace.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    seed = commands.add_parser("seed", help="create, migrate and seed a database")
    _common(seed, packages=20_000, needs=100_000, deals=50_000)
    seed.add_argument("--index", action="store_true",
                      help="also rebuild the search index and fit the recommender")
    seed.set_defaults(run=cmd_seed)

    dash = commands.add_parser("dashboard", help="time the officials' statistics")
    _common(dash, packages=20_000, needs=100_000, deals=50_000)
    dash.add_argument("--repeat", type=int, default=20)
    dash.add_argument("--warmup", type=int, default=3)
    dash.set_defaults(run=cmd_dashboard)

    load = commands.add_parser("load", help="gunicorn under concurrent clients")
    _common(load, packages=100_000, needs=200_000, deals=50_000)
    load.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    load.add_argument("--threads", type=int, default=1,
                      help="threads per worker (1: sync workers)")
    load.add_argument("--clients", type=int, default=16)
    load.add_argument("--duration", type=float, default=60.0, help="seconds of measured load")
    load.add_argument("--warmup", type=float, default=15.0, help="seconds of unmeasured load")
    load.add_argument("--search-backend", default=None,
                      help="SEARCH_BACKEND for the workers (default: the app's default)")
    load.add_argument("--keep-figures", action=argparse.BooleanOptionalAction, default=True,
                      help="keep landing counts, dashboards and leads for 60 s as production "
                           "does (--no-keep-figures: compute them on every request)")
    load.set_defaults(run=cmd_load)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    args.run(args)


if __name__ == "__main__":
    main()
