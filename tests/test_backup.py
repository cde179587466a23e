"""``flask backup create`` / ``flask backup restore``: a round trip on SQLite and on PostgreSQL
(data written, backed up, changed and deleted, restored: the data is back)."""

import os
import shutil
import stat

import pytest

from marketplace.extensions import db
from marketplace.models import AuditEntry, Need, Package, User
from marketplace.services.backup import BackupFailed, create_backup, restore_backup
from tests.conftest import PASSWORD


@pytest.fixture(autouse=True)
def postgresql_client_programs(database_url):
    if database_url.startswith("postgresql") and not (shutil.which("pg_dump")
                                                      and shutil.which("pg_restore")):
        pytest.skip("PostgreSQL backups need pg_dump and pg_restore (Debian: postgresql-client)")


def _titles(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(db.select(Need.title)))


def test_round_trip(app, runner, make_user, make_need, make_package, tmp_path):
    sme = make_user()
    with app.app_context():
        enterprise = db.session.get(User, sme.id).enterprise_id
        provider = db.session.get(User, make_user(role="provider").id).provider_id
    kept = make_need(enterprise, title="备份前的需求")
    doomed = make_need(enterprise, title="将被删除的需求")
    package = make_package(provider, title="备份前的设备联网方案包")
    path = tmp_path / "marketplace.backup"

    result = runner.invoke(args=["backup", "create", str(path)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # password hashes are inside

    with app.app_context():  # after the backup: a change, a deletion, an addition
        db.session.get(Need, kept).title = "改过的需求"
        db.session.delete(db.session.get(Need, doomed))
        db.session.get(Package, package).price_fen = 1
        db.session.commit()
    make_need(enterprise, title="备份后的需求")
    assert _titles(app) == {"改过的需求", "备份后的需求"}

    result = runner.invoke(args=["backup", "restore", str(path), "--yes"])
    assert result.exit_code == 0, result.output
    assert "search index rebuilt" in result.output, result.output
    assert _titles(app) == {"备份前的需求", "将被删除的需求"}
    with app.app_context():
        assert db.session.get(Package, package).price_fen == 1_280_000
        assert db.session.get(User, sme.id) is not None
        restored = db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.action == "restore_backup")).all()
        assert [entry.details for entry in restored] == [{"file": path.name}]
    # the app works on the restored data: log in, search
    client = app.test_client()
    with app.app_context():
        email = db.session.get(User, sme.id).email
    assert client.post("/auth/login", data={"email": email, "password": PASSWORD}) \
        .status_code == 302
    assert "备份前的" in client.get("/search/?q=设备联网").get_data(as_text=True)


def test_restore_asks_before_replacing_everything(app, runner, make_user, tmp_path):
    path = tmp_path / "b.backup"
    assert runner.invoke(args=["backup", "create", str(path)]).exit_code == 0
    make_user(email="after@example.com")
    result = runner.invoke(args=["backup", "restore", str(path)], input="n\n")
    assert result.exit_code != 0 and "Aborted" in result.output
    with app.app_context():
        assert db.session.scalar(db.select(User).where(User.email == "after@example.com"))


def test_create_refuses_to_overwrite(app, runner, tmp_path):
    path = tmp_path / "exists.backup"
    path.write_text("precious")
    result = runner.invoke(args=["backup", "create", str(path)])
    assert result.exit_code != 0 and "exists" in result.output
    assert path.read_text() == "precious"
    assert runner.invoke(args=["backup", "create", str(path), "--force"]).exit_code == 0
    assert path.read_bytes() != b"precious"


@pytest.mark.parametrize("content", [b"not a backup at all", b"SQLite format 3\x00" + b"\x00" * 200,
                                     b"PGDMP" + b"\x01" * 100])
def test_restore_refuses_what_is_not_a_backup_and_changes_nothing(app, runner, make_user,
                                                                   tmp_path, content):
    make_user(email="still-here@example.com")
    path = tmp_path / "bogus.backup"
    path.write_bytes(content)
    result = runner.invoke(args=["backup", "restore", str(path), "--yes"])
    assert result.exit_code != 0 and "Error" in result.output
    with app.app_context():
        assert db.session.scalar(db.select(User).where(User.email == "still-here@example.com"))


def test_a_backup_of_another_database_is_refused(app, tmp_path):
    """A SQLite file that is not this application's database."""
    import sqlite3

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")
    connection.close()
    with app.app_context(), pytest.raises(BackupFailed):
        restore_backup(other)


def test_service_reports_backend_and_size(app, tmp_path):
    with app.app_context():
        result = create_backup(tmp_path / "s.backup")
        assert result.backend == db.engine.url.get_backend_name()
        assert result.size == (tmp_path / "s.backup").stat().st_size > 0
        assert not (tmp_path / "s.backup.part").exists()
