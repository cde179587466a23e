"""money and inputs: free trials, the ledger refuses DELETE on SQLite too

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 01:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

# SQLite has one event per trigger: 0004's subsidy_ledger_append_only refuses UPDATE, this one
# DELETE. (PostgreSQL's trigger of 0004 refuses both already.)
SQLITE_DELETE_TRIGGER = 'subsidy_ledger_append_only_delete'


def upgrade():
    # an order placed on a package's free trial (a quote of 0 yuan): no subsidy applies
    with op.batch_alter_table('orders', schema=None) as batch_op:
        # a plain default: an expression (sa.false()) would make batch mode copy the table
        batch_op.add_column(sa.Column('free_trial', sa.Boolean(), nullable=False,
                                      server_default='0'))
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'CREATE TRIGGER {SQLITE_DELETE_TRIGGER} BEFORE DELETE ON subsidy_ledger '
                   "BEGIN SELECT RAISE(ABORT, 'subsidy_ledger is append-only'); END")


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'DROP TRIGGER IF EXISTS {SQLITE_DELETE_TRIGGER}')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('free_trial')
