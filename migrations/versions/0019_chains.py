"""chain leaders, confirmed supply-chain memberships and their history

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 02:00:00

Existing data: every enterprise flagged is_chain_leader gets an approved application marked
as made by this migration (so it stays a 链主, and officials can see where the status came
from); every enterprise that declared a chain leader itself gets a join request to that leader,
pending the leader's confirmation, and its chain_leader_id is cleared: the recommender and the
figures read confirmed membership only. The downgrade puts back the declared leader (confirmed,
else still requested) as chain_leader_id.
"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

MIGRATED_LEADER = '迁移：原有链主标记（0019 之前设定，未经申请审核）'
MIGRATED_REQUEST = '迁移：企业此前自行填报的所在产业链，等待链主确认'


def upgrade():
    op.create_table('chain_leader_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('revenue_wan', sa.Integer(), nullable=False),
    sa.Column('supplier_count', sa.Integer(), nullable=False),
    sa.Column('platform_id', sa.Integer(), nullable=True),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('designated', sa.Boolean(), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoke_reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_chain_leader_applications_decided_by_id_users')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_chain_leader_applications_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['platform_id'], ['providers.id'], name=op.f('fk_chain_leader_applications_platform_id_providers')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'], name=op.f('fk_chain_leader_applications_revoked_by_id_users')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_chain_leader_applications_submitted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chain_leader_applications'))
    )
    with op.batch_alter_table('chain_leader_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chain_leader_applications_enterprise_id'), ['enterprise_id'], unique=False)

    op.create_table('chain_memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('leader_id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('asked_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer_reason', sa.Text(), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_by_id', sa.Integer(), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_chain_memberships_answered_by_id_users')),
    sa.ForeignKeyConstraint(['asked_by_id'], ['users.id'], name=op.f('fk_chain_memberships_asked_by_id_users')),
    sa.ForeignKeyConstraint(['ended_by_id'], ['users.id'], name=op.f('fk_chain_memberships_ended_by_id_users')),
    sa.ForeignKeyConstraint(['leader_id'], ['enterprises.id'], name=op.f('fk_chain_memberships_leader_id_enterprises')),
    sa.ForeignKeyConstraint(['supplier_id'], ['enterprises.id'], name=op.f('fk_chain_memberships_supplier_id_enterprises')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chain_memberships'))
    )
    with op.batch_alter_table('chain_memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chain_memberships_leader_id'), ['leader_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_chain_memberships_supplier_id'), ['supplier_id'], unique=False)
    _move_declared_chains()


def _move_declared_chains():
    conn = op.get_bind()
    now = datetime.now(UTC)
    leaders = conn.execute(sa.text(
        'SELECT e.id, e.revenue_wan, (SELECT count(*) FROM enterprises s '
        'WHERE s.chain_leader_id = e.id) FROM enterprises e WHERE e.is_chain_leader = :t'),
        {'t': True}).all()
    for enterprise_id, revenue, suppliers in leaders:
        conn.execute(sa.text(
            'INSERT INTO chain_leader_applications (enterprise_id, status, revenue_wan, '
            'supplier_count, evidence, designated, decided_at, reason, revoke_reason, '
            'created_at, updated_at) VALUES (:e, :s, :r, :n, :ev, :d, :now, :reason, :empty, '
            ':now, :now)'),
            {'e': enterprise_id, 's': 'approved', 'r': revenue, 'n': suppliers, 'ev': '',
             'd': True, 'now': now, 'reason': MIGRATED_LEADER, 'empty': ''})
    conn.execute(sa.text(
        'INSERT INTO chain_memberships (leader_id, supplier_id, status, note, answer_reason, '
        'end_reason, created_at, updated_at) SELECT chain_leader_id, id, :s, :note, :empty, '
        ':empty, :now, :now FROM enterprises WHERE chain_leader_id IS NOT NULL'),
        {'s': 'requested', 'note': MIGRATED_REQUEST, 'empty': '', 'now': now})
    conn.execute(sa.text('UPDATE enterprises SET chain_leader_id = NULL'))


def downgrade():
    conn = op.get_bind()
    for status in ('requested', 'confirmed'):  # confirmed last: it wins
        conn.execute(sa.text(
            'UPDATE enterprises SET chain_leader_id = (SELECT max(m.leader_id) FROM '
            'chain_memberships m WHERE m.supplier_id = enterprises.id AND m.status = :s) '
            'WHERE EXISTS (SELECT 1 FROM chain_memberships m WHERE '
            'm.supplier_id = enterprises.id AND m.status = :s)'), {'s': status})
    with op.batch_alter_table('chain_memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chain_memberships_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_chain_memberships_leader_id'))

    op.drop_table('chain_memberships')
    with op.batch_alter_table('chain_leader_applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chain_leader_applications_enterprise_id'))

    op.drop_table('chain_leader_applications')
