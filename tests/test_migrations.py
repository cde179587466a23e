"""Migrations on a database that has rows: a downgrade never widens what a row allows."""

from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from marketplace import create_app
from marketplace.extensions import db
from marketplace.models import ApiToken, Role, User
from marketplace.services import tokens
from marketplace.services.accounts import hash_password
from marketplace.services.refdata import seed_reference_data
from tests.conftest import test_config as config_for


def test_downgrading_0015_ends_the_tokens_it_cannot_keep_narrow(tmp_path):
    """0014 has no scope or expiry: a read-only or expiring token would come back as a
    read-write token for ever, so the downgrade revokes those and keeps the others."""
    app = create_app({**config_for(f"sqlite:///{tmp_path / 'm.db'}"),
                      "SEARCH_INDEX_DIR": str(tmp_path / "search"),
                      "MATCHING_DIR": str(tmp_path / "matching")})
    with app.app_context():
        upgrade()
        seed_reference_data()
        user = User(email="dev@example.com", display_name="开发者", role=Role.SME,
                    password_hash=hash_password("correct-horse-42"))
        db.session.add(user)
        db.session.flush()
        made = {name: tokens.create_token(user, name, scope, days)[0].id for name, scope, days in
                [("读", "read", None), ("写到期", "write", 30), ("写", "write", None)]}
        db.session.commit()
        db.session.remove()
        downgrade(revision="0014")
        upgrade()
        revoked = {token.id: token.revoked_at is not None
                   for token in db.session.scalars(select(ApiToken))}
        assert revoked == {made["读"]: True, made["写到期"]: True, made["写"]: False}
        db.session.remove()
        db.engine.dispose()
