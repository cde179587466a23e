"""idempotency keys remember the object they were used on

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 01:00:00

A key is a repeat only of the same action on the same target (services.txn.run_once). Keys
stored before this revision name no target: sent again on any object, they are refused with a
message rather than taken for a repeat (they were made for one form, so only a double click
across the upgrade meets this).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target', sa.String(length=80), nullable=False,
                                      server_default=''))


def downgrade():
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_column('target')
