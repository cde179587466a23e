"""idempotency keys remember the object they were used on

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 01:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
