"""package list index: packages by publication, newest first (the package list and the home
page stop after a page instead of sorting every public package)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 15:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    # SQLite refuses NULLS LAST in an index; its NULLs sort last in DESC order anyway.
    nulls = ' NULLS LAST' if op.get_bind().dialect.name == 'postgresql' else ''
    op.create_index('ix_packages_newest', 'packages',
                    [sa.text(f'published_at DESC{nulls}'), sa.text('id DESC')])


def downgrade():
    op.drop_index('ix_packages_newest', table_name='packages')
