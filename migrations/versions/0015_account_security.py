"""accounts: password reset, login throttling by account and address, scoped API tokens

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 01:00:00

Password reset and registration links are signed, not stored, and the throttling counters live
in the limiter's store, so only API tokens change: a scope (read, or write which includes read)
and an optional expiry. Tokens made before scopes existed could write, and keep that.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.String(length=8), server_default='write',
                                      nullable=False))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    # Without these columns every token reads and writes for ever: the tokens that were
    # narrower than that end rather than grow.
    op.execute("UPDATE api_tokens SET revoked_at = CURRENT_TIMESTAMP WHERE revoked_at IS NULL "
               "AND (scope <> 'write' OR expires_at IS NOT NULL)")
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
        batch_op.drop_column('scope')
