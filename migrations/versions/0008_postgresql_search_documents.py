"""postgresql search documents: the tables of the PostgreSQL full-text search backend

Created on every database so the models and the schema agree everywhere; the full-text parts
(tsvector, text[] and GIN indexes) only on PostgreSQL. SQLite gets TEXT and JSON columns and
ordinary indexes of the same names (tests/test_schema.py compares indexes, and Alembic does not
honour an index's ddl_if); the backend refuses to run there, so the tables stay empty.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 12:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

GIN_INDEXES = ('tsv', 'acl', 'codes')


def upgrade():
    on_postgres = op.get_bind().dialect.name == 'postgresql'
    text_array = postgresql.ARRAY(sa.Text()) if on_postgres else sa.JSON()
    bigint_array = postgresql.ARRAY(sa.BigInteger()) if on_postgres else sa.JSON()
    op.create_table('search_documents',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('generation', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('doc_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('deleted', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('record', sa.JSON(), nullable=False),
    sa.Column('acl', text_array, nullable=False),
    sa.Column('codes', bigint_array, nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=True),
    sa.Column('sort_ms', sa.BigInteger(), nullable=False),
    sa.Column('tsv', postgresql.TSVECTOR() if on_postgres else sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'generation', 'doc_id', name=op.f('pk_search_documents'))
    )
    op.create_table('search_generations',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('live', sa.Integer(), nullable=False),
    sa.Column('building', sa.Integer(), nullable=True),
    sa.Column('version', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.PrimaryKeyConstraint('kind', name=op.f('pk_search_generations'))
    )
    op.create_table('search_terms',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('generation', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('field', sa.String(length=8), nullable=False),
    sa.Column('term', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'generation', 'field', 'term', name=op.f('pk_search_terms'))
    )
    for column in GIN_INDEXES:
        op.create_index(f'ix_search_documents_{column}', 'search_documents', [column],
                        unique=False, postgresql_using='gin')
    if on_postgres:
        # A search ranks every match by its tsvector but reads only the page's records: keep
        # tsv in the row and move the record out of it (see search/_pgschema.py).
        op.execute('ALTER TABLE search_documents ALTER COLUMN tsv SET STORAGE MAIN, '
                   'ALTER COLUMN record SET STORAGE EXTERNAL')


def downgrade():
    for column in GIN_INDEXES:
        op.drop_index(f'ix_search_documents_{column}', table_name='search_documents')
    op.drop_table('search_terms')
    op.drop_table('search_generations')
    op.drop_table('search_documents')
