"""need milestones: when each need's first request and first quote came and its live order was
placed, kept on the need row for the statistics (marketplace/milestones.py keeps them current)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 15:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

COLUMNS = ('first_request_at', 'first_quote_at', 'ordered_at')
BACKFILL = """
UPDATE needs SET
  first_request_at = (SELECT min(r.created_at) FROM deal_requests r WHERE r.need_id = needs.id),
  first_quote_at = (SELECT min(q.created_at) FROM quotes q
                    JOIN deal_requests r ON r.id = q.request_id WHERE r.need_id = needs.id),
  ordered_at = (SELECT min(o.created_at) FROM orders o
                WHERE o.need_id = needs.id AND o.status != 'cancelled')
"""


def upgrade():
    with op.batch_alter_table('needs', schema=None) as batch_op:
        for column in COLUMNS:
            batch_op.add_column(sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    op.execute(BACKFILL)


def downgrade():
    with op.batch_alter_table('needs', schema=None) as batch_op:
        for column in reversed(COLUMNS):
            batch_op.drop_column(column)
