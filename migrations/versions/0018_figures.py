"""figures: what the official figures need stored

The ledger's system notes (initial budget, budget edit, order cancelled) are stored as a code,
``subsidy_ledger.note_code``, and rendered in the reader's language; ``note`` keeps only what a
person wrote (an adjustment's reason, a payment reference). Rows written before keep their
text (the ledger is append-only) and are recognised when shown.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 02:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('subsidy_ledger', schema=None) as batch_op:
        # a plain default, so SQLite adds the column in place (a copy would lose the
        # append-only triggers)
        batch_op.add_column(sa.Column('note_code', sa.String(length=32), nullable=False,
                                      server_default=''))


def downgrade():
    # dropped in place (SQLite 3.35+), keeping the table and its triggers
    with op.batch_alter_table('subsidy_ledger', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('note_code')
