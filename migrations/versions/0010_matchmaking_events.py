"""matchmaking events: events, registrations and the meeting schedule

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 12:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('match_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('link', sa.String(length=300), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('slot_minutes', sa.Integer(), nullable=False),
    sa.Column('slot_count', sa.Integer(), nullable=False),
    sa.Column('table_count', sa.Integer(), nullable=False),
    sa.Column('meetings_per_sme', sa.Integer(), nullable=False),
    sa.Column('sme_capacity', sa.Integer(), nullable=False),
    sa.Column('provider_capacity', sa.Integer(), nullable=False),
    sa.Column('registration_deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cluster_code', sa.String(length=32), nullable=True),
    sa.Column('chain_leader_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['chain_leader_id'], ['enterprises.id'], name=op.f('fk_match_events_chain_leader_id_enterprises')),
    sa.ForeignKeyConstraint(['cluster_code'], ['clusters.code'], name=op.f('fk_match_events_cluster_code_clusters')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_match_events_created_by_id_users')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_match_events_region_id_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_events'))
    )
    with op.batch_alter_table('match_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_events_region_id'), ['region_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_match_events_starts_at'), ['starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_match_events_status'), ['status'], unique=False)

    op.create_table('event_registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=True),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('registered_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(enterprise_id IS NULL) <> (provider_id IS NULL)', name=op.f('ck_event_registrations_one_party')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_event_registrations_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['event_id'], ['match_events.id'], name=op.f('fk_event_registrations_event_id_match_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_event_registrations_provider_id_providers')),
    sa.ForeignKeyConstraint(['registered_by_id'], ['users.id'], name=op.f('fk_event_registrations_registered_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_registrations')),
    sa.UniqueConstraint('event_id', 'enterprise_id', name='uq_event_registrations_enterprise'),
    sa.UniqueConstraint('event_id', 'provider_id', name='uq_event_registrations_provider')
    )
    with op.batch_alter_table('event_registrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_registrations_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_registrations_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_registrations_provider_id'), ['provider_id'], unique=False)

    op.create_table('event_meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('slot_index', sa.Integer(), nullable=False),
    sa.Column('table_index', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=True),
    sa.Column('package_id', sa.Integer(), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('sme_outcome', sa.String(length=16), nullable=False),
    sa.Column('sme_note', sa.Text(), nullable=False),
    sa.Column('provider_outcome', sa.String(length=16), nullable=False),
    sa.Column('provider_note', sa.Text(), nullable=False),
    sa.Column('deal_request_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['deal_request_id'], ['deal_requests.id'], name=op.f('fk_event_meetings_deal_request_id_deal_requests')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_event_meetings_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['event_id'], ['match_events.id'], name=op.f('fk_event_meetings_event_id_match_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_event_meetings_need_id_needs')),
    sa.ForeignKeyConstraint(['package_id'], ['packages.id'], name=op.f('fk_event_meetings_package_id_packages')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_event_meetings_provider_id_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_meetings')),
    sa.UniqueConstraint('event_id', 'enterprise_id', 'provider_id', name='uq_event_meetings_pair'),
    sa.UniqueConstraint('event_id', 'slot_index', 'enterprise_id', name='uq_event_meetings_slot_enterprise'),
    sa.UniqueConstraint('event_id', 'slot_index', 'provider_id', name='uq_event_meetings_slot_provider'),
    sa.UniqueConstraint('event_id', 'slot_index', 'table_index', name='uq_event_meetings_slot_table')
    )
    with op.batch_alter_table('event_meetings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_meetings_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_meetings_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_meetings_provider_id'), ['provider_id'], unique=False)


def downgrade():
    with op.batch_alter_table('event_meetings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_meetings_provider_id'))
        batch_op.drop_index(batch_op.f('ix_event_meetings_event_id'))
        batch_op.drop_index(batch_op.f('ix_event_meetings_enterprise_id'))

    op.drop_table('event_meetings')
    with op.batch_alter_table('event_registrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_registrations_provider_id'))
        batch_op.drop_index(batch_op.f('ix_event_registrations_event_id'))
        batch_op.drop_index(batch_op.f('ix_event_registrations_enterprise_id'))

    op.drop_table('event_registrations')
    with op.batch_alter_table('match_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_match_events_status'))
        batch_op.drop_index(batch_op.f('ix_match_events_starts_at'))
        batch_op.drop_index(batch_op.f('ix_match_events_region_id'))

    op.drop_table('match_events')
