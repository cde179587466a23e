"""Command-line commands: ``flask seed …``, ``flask users create``, ``flask backup …``,
``flask stats refresh``."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from .extensions import db

seed = AppGroup("seed", help="Load reference data and demo data.")
users = AppGroup("users", help="Manage accounts.")
search_cli = AppGroup("search", help="The full-text search index.")


@search_cli.command("rebuild")
def search_rebuild():
    """Rebuild the search index from the database."""
    from .services.search import rebuild

    counts = rebuild()
    click.echo(", ".join(f"{kind}: {n}" for kind, n in counts.items()))


@search_cli.command("drain")
def search_drain():
    """Index every change not yet in the index (what each write request does)."""
    from .services.search import drain_all

    click.echo(f"indexed {drain_all()} changes")


@search_cli.command("subsidies")
@click.option("--days", default=1, show_default=True,
              help="Programs that started or ended in this many days up to today.")
def search_subsidies(days: int):
    """Queue the packages of subsidy programs that started or ended lately, so 可享补贴
    follows the programs' dates (run once a day, before `search drain`)."""
    from .services.deals import today
    from .services.subsidies import queue_date_boundaries

    count = queue_date_boundaries(today(), days)
    db.session.commit()
    click.echo(f"{count} programs started or ended; their packages are queued")


@seed.command("refdata")
def seed_refdata():
    """Insert missing reference data (regions, industries, categories …)."""
    from .services.refdata import seed_reference_data

    counts = seed_reference_data()
    db.session.commit()
    click.echo(", ".join(f"{kind}: {n}" for kind, n in counts.items()))


@seed.command("demo")
@click.option("--force", is_flag=True, help="Load even if the database already has users.")
def seed_demo(force: bool):
    """Load the demo companies, packages, needs and logins into an empty database."""
    from .demo import build_demo
    from .services.demo import DEMO_PASSWORD, database_is_empty, load_demo
    from .services.refdata import seed_reference_data

    if not force and not database_is_empty():
        raise click.ClickException("the database already has users; use --force to add demo data")
    seed_reference_data()
    logins = load_demo(build_demo())
    db.session.commit()
    for email, role in logins.items():
        click.echo(f"{role:15} {email} / {DEMO_PASSWORD}")


@users.command("create")
@click.option("--email", required=True)
@click.option("--name", "display_name", required=True)
@click.option("--role", type=click.Choice(["sme", "provider", "gov", "admin"]), required=True)
@click.option("--region", "region_code", help="GB/T 2260 code of a gov user's region.")
@click.password_option()
def create_user(email, display_name, role, region_code, password):
    """Create an account (gov and admin accounts are created this way or by an admin)."""
    from .services.accounts import NewAccount, create_account
    from .services.errors import ValidationFailed

    try:
        user = create_account(None, NewAccount(email, password, display_name, role, region_code))
    except ValidationFailed as failure:
        db.session.rollback()
        raise click.ClickException(
            "; ".join(f"{k}: {v}" for k, v in failure.errors.items())
        ) from None
    db.session.commit()
    click.echo(f"created {user.role} {user.email}")


matching_cli = AppGroup("matching", help="The recommender.")


@matching_cli.command("refit")
def matching_refit():
    """Fit the recommender from the database and save it (running processes pick it up)."""
    from .services.matching import get_recommender

    get_recommender().refit()
    click.echo("recommender fitted and saved")


@matching_cli.command("retrain")
@click.option("--min-events", default=50, show_default=True,
              help="Fewest positive and negative pairs to learn from.")
def matching_retrain(min_events: int):
    """Learn signal weights from requests, orders, acceptances, dismissals and impressions,
    print the metrics before and after on held-out needs, and refit with the new weights."""
    import json

    from matching.learn import InsufficientFeedback

    from .services.matching import get_recommender, retrain

    try:
        result = retrain(min_events)
    except InsufficientFeedback as exc:
        raise click.ClickException(f"not retrained: {exc}") from None
    click.echo(json.dumps(result.report(), indent=2, ensure_ascii=False))
    get_recommender().refit()


backup_cli = AppGroup("backup", help="Back up and restore the database.")


@backup_cli.command("create")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
def backup_create(path: str, force: bool):
    """Write a backup of the database to PATH (SQLite: online backup; PostgreSQL: pg_dump)."""
    from .services.backup import BackupFailed, create_backup

    try:
        result = create_backup(path, overwrite=force)
    except BackupFailed as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backed up the {result.backend} database to {result.path} "
               f"({result.size} bytes)")


@backup_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--no-reindex", is_flag=True,
              help="Skip rebuilding the search index and refitting the recommender.")
def backup_restore(path: str, yes: bool, no_reindex: bool):
    """Replace the database's content with the backup at PATH, then rebuild the search
    index and refit the recommender. Stop the app servers first; restart them after."""
    from .services.backup import BackupFailed, restore_backup

    if not yes:
        click.confirm(f"Replace everything in {db.engine.url!r} with {path}?", abort=True)
    try:
        restore_backup(path)
    except BackupFailed as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"restored {path}")
    if not no_reindex:
        from .services.matching import get_recommender
        from .services.search import rebuild

        counts = rebuild()
        click.echo("search index rebuilt: " + ", ".join(f"{k}: {n}" for k, n in counts.items()))
        get_recommender().refit()
        click.echo("recommender refitted")


stats_cli = AppGroup("stats", help="The statistics officials see.")


@stats_cli.command("refresh")
def stats_refresh():
    """Recompute every need's milestones (first request, first quote, live order) from the
    deal tables: after rows were loaded with SQL that went around the app."""
    from .milestones import refresh

    with db.engine.begin() as connection:
        refresh(connection)
    click.echo("need milestones recomputed")


def init_app(app: Flask) -> None:
    app.cli.add_command(seed)
    app.cli.add_command(users)
    app.cli.add_command(search_cli)
    app.cli.add_command(matching_cli)
    app.cli.add_command(backup_cli)
    app.cli.add_command(stats_cli)
