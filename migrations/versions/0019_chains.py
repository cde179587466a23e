"""chain leaders, confirmed supply-chain memberships and their history

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 02:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
