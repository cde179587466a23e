"""Backing up and restoring the whole database (``flask backup create|restore PATH``).

- SQLite: the sqlite3 online backup API, a consistent copy while the app keeps running; a
  restore copies the file's pages back into the live database.
- PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean --if-exists
  --single-transaction`` (all or nothing). The SQLAlchemy URL is turned into a libpq URI; the
  password travels in ``PGPASSWORD``, never on a command line.

A restore replaces every table of the backup (users, needs, deals, the audit log …); tables
the backup does not have are left alone. Restore into the same version of the application,
then rebuild the search index and refit the recommender (the CLI does both) and restart the
app servers. Raises :class:`BackupFailed` (a :class:`~.errors.ServiceError`) with the reason.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from ..extensions import db
from . import audit
from .errors import ServiceError

SQLITE_HEADER = b"SQLite format 3\x00"
PG_TIMEOUT = "30s"  # waiting for locks held by running app servers: fail, do not hang


class BackupFailed(ServiceError):
    pass


@dataclass(frozen=True)
class BackupResult:
    path: Path
    backend: str
    size: int


def create_backup(path: str | os.PathLike, overwrite: bool = False) -> BackupResult:
    """Write a backup of the database to ``path`` (readable by its owner only)."""
    target = Path(path)
    if target.exists() and not overwrite:
        raise BackupFailed(f"{target} exists (overwrite it with --force)")
    if not target.parent.is_dir():
        raise BackupFailed(f"no such directory: {target.parent}")
    partial = target.with_name(target.name + ".part")
    url = db.engine.url
    try:
        if url.get_backend_name() == "sqlite":
            _sqlite_backup(_sqlite_file(url), partial)
        elif url.get_backend_name() == "postgresql":
            _run(["pg_dump", "--format=custom", f"--file={partial}", "--no-password",
                  f"--lock-wait-timeout={PG_TIMEOUT}", f"--dbname={_libpq_uri(url)}"], url)
        else:
            raise BackupFailed(f"backups of {url.get_backend_name()} are not supported")
        os.chmod(partial, 0o600)  # password hashes and private needs are inside
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(target, url.get_backend_name(), target.stat().st_size)


def restore_backup(path: str | os.PathLike) -> str:
    """Replace the database's content with the backup at ``path``; returns the backend name.

    The backup is checked first (the right kind of file, made of this application's
    database); a failed check or restore leaves the database as it was.
    """
    source = Path(path)
    if not source.is_file():
        raise BackupFailed(f"no such file: {source}")
    url = db.engine.url
    db.session.remove()
    db.engine.dispose()  # this process holds no connection or lock during the restore
    if url.get_backend_name() == "sqlite":
        _check_sqlite_backup(source)
        _sqlite_restore(source, _sqlite_file(url))
    elif url.get_backend_name() == "postgresql":
        _check_pg_backup(source, url)
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
              "--single-transaction", "--exit-on-error", "--no-password",
              f"--dbname={_libpq_uri(url)}", str(source)], url)
    else:
        raise BackupFailed(f"backups of {url.get_backend_name()} are not supported")
    audit.record(None, "restore_backup", None, file=source.name)
    db.session.commit()
    return url.get_backend_name()


# --- SQLite ----------------------------------------------------------------------------------

def _sqlite_file(url: URL) -> Path:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupFailed("only a SQLite database in a file can be backed up")
    return Path(url.database)


def _sqlite_backup(database: Path, target: Path) -> None:
    source = sqlite3.connect(database, timeout=30)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
    except sqlite3.Error as exc:
        raise BackupFailed(f"SQLite backup failed: {exc}") from None
    finally:
        source.close()


def _check_sqlite_backup(source: Path) -> None:
    with source.open("rb") as handle:
        if handle.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupFailed(f"{source.name} is not a SQLite backup")
    connection = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    try:
        if connection.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupFailed(f"{source.name} is damaged (integrity check failed)")
        tables = {row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as exc:
        raise BackupFailed(f"{source.name} cannot be read: {exc}") from None
    finally:
        connection.close()
    if not {"alembic_version", "users"} <= tables:
        raise BackupFailed(f"{source.name} is not a backup of this application's database")


def _sqlite_restore(source: Path, database: Path) -> None:
    backup = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    try:
        live = sqlite3.connect(database, timeout=30)
        try:
            backup.backup(live)
        finally:
            live.close()
    except sqlite3.Error as exc:
        raise BackupFailed(f"SQLite restore failed: {exc}") from None
    finally:
        backup.close()


# --- PostgreSQL ------------------------------------------------------------------------------

def _libpq_uri(url: URL) -> str:
    """``postgresql+psycopg://u:pw@h/db`` → ``postgresql://u@h/db`` (libpq has no driver part;
    the password goes into the environment instead)."""
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _pg_environment(url: URL) -> dict[str, str]:
    env = dict(os.environ, PGOPTIONS=f"-c lock_timeout={PG_TIMEOUT}")
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return env


def _run(command: list[str], url: URL) -> str:
    if shutil.which(command[0]) is None:
        raise BackupFailed(f"{command[0]} not found: install the PostgreSQL client programs")
    finished = subprocess.run(command, env=_pg_environment(url), capture_output=True,
                              text=True, check=False)
    if finished.returncode != 0:
        raise BackupFailed(f"{command[0]} failed: {finished.stderr.strip()[-2000:]}")
    return finished.stdout


def _check_pg_backup(source: Path, url: URL) -> None:
    try:
        contents = _run(["pg_restore", "--list", str(source)], url)
    except BackupFailed:
        raise BackupFailed(f"{source.name} is not a PostgreSQL backup (pg_dump -Fc)") from None
    if " alembic_version " not in contents or " users " not in contents:
        raise BackupFailed(f"{source.name} is not a backup of this application's database")
