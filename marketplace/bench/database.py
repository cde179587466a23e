"""The benchmark's database: created when missing, migrated, reference data loaded, seeded."""

from __future__ import annotations

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from .. import create_app
from ..extensions import db
from ..models import Need
from ..services.refdata import seed_reference_data
from .seed import SeedReport, Volume, index_and_fit, seed_volume


def ensure_database(url: str) -> bool:
    """Create the PostgreSQL database of ``url`` if it does not exist; True if it was made."""
    target = make_url(url)
    if target.get_backend_name() != "postgresql":
        raise SystemExit("the benchmarks measure PostgreSQL: give a postgresql+psycopg:// URL")
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                       {"name": target.database})
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        engine.dispose()
    return not exists


def bench_app(url: str, **config) -> Flask:
    """The app on the benchmark database (its own instance files under ``config``)."""
    return create_app({"SQLALCHEMY_DATABASE_URI": url, **config})


def _indexed(app: Flask) -> bool:
    """Whether the work directory holds a search index and a saved recommender."""
    from pathlib import Path

    from ..services import search

    matching_dir = Path(app.config.get("MATCHING_DIR") or Path(app.instance_path) / "matching")
    return (matching_dir / "sync.json").exists() and not search.index_is_empty()


def prepare(app: Flask, volume: Volume, seed: bool | None, index: bool = False,
            log=print) -> SeedReport | None:
    """Migrate, load reference data and, if asked (``None``: when there are no needs yet),
    seed ``volume``; with ``index`` also rebuild search and fit the recommender (after seeding,
    or when the work directory has neither yet)."""
    with app.app_context():
        upgrade()
        seed_reference_data()
        db.session.commit()
        empty = not db.session.scalar(select(func.count()).select_from(Need))
        report = None
        if seed or (seed is None and empty):
            log(f"seeding {volume} …")
            report = seed_volume(volume, log=log)
            if index:
                index_and_fit(log=log)
        elif seed is None:
            log("the database already holds data: not seeding (--seed to insist)")
        if index and report is None and not _indexed(app):
            log("no search index or saved recommender in the work directory: building them …")
            index_and_fit(log=log)
        db.session.remove()
    return report
