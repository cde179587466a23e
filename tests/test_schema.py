"""The Alembic revisions build exactly the schema of the models, on every backend."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from marketplace.extensions import db


def test_migrations_match_models(ctx):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_constraint_names_follow_the_convention(ctx):
    names = {fk.name for table in db.metadata.sorted_tables
             for fk in table.foreign_key_constraints}
    assert all(name and name.startswith("fk_") for name in names)
