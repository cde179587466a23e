"""statistics indexes (intentionally empty: the number was reserved for indexes that turned out
not to be needed; the statistics' schema change is 0011)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 12:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
