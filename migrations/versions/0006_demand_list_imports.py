"""demand list imports: import batches, their problem rows, imported enterprises, needs.import_batch_id

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 11:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('file_format', sa.String(length=8), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('visibility', sa.String(length=16), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_imported', sa.Integer(), nullable=False),
    sa.Column('rows_duplicate', sa.Integer(), nullable=False),
    sa.Column('rows_invalid', sa.Integer(), nullable=False),
    sa.Column('enterprises_created', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_import_batches_region_id_regions')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_import_batches_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_batches')),
    sa.UniqueConstraint('region_id', 'sha256', name=op.f('uq_import_batches_region_id'))
    )
    op.create_table('import_problems',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('cells', sa.JSON(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_import_problems_batch_id_import_batches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_problems'))
    )
    with op.batch_alter_table('import_problems', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_problems_batch_id'), ['batch_id'], unique=False)

    op.create_table('imported_enterprises',
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_imported_enterprises_batch_id_import_batches')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_imported_enterprises_enterprise_id_enterprises')),
    sa.PrimaryKeyConstraint('enterprise_id', name=op.f('pk_imported_enterprises'))
    )
    with op.batch_alter_table('imported_enterprises', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_imported_enterprises_batch_id'), ['batch_id'], unique=False)

    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('import_batch_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_needs_import_batch_id'), ['import_batch_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_needs_import_batch_id_import_batches'), 'import_batches', ['import_batch_id'], ['id'])


def downgrade():
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_needs_import_batch_id_import_batches'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_needs_import_batch_id'))
        batch_op.drop_column('import_batch_id')

    with op.batch_alter_table('imported_enterprises', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_imported_enterprises_batch_id'))

    op.drop_table('imported_enterprises')
    with op.batch_alter_table('import_problems', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_problems_batch_id'))

    op.drop_table('import_problems')
    op.drop_table('import_batches')
