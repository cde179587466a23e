"""claims keep an eligibility snapshot; profile changes of region and size are audited

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 01:00:00

Claims made before this revision get the snapshot of their enterprise, package and provider as
they are at the upgrade: the nearest to what made them eligible that is still known. Edits keep
their old and new values in ``audit_log.details`` (JSON already); the new index finds one
object's history.
"""
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

CLAIM_FACTS = sa.text("""
SELECT c.id, r.code AS county_code, e.size_class_code, e.employees, e.revenue_wan,
       e.industry_code, e.cluster_code, p.id AS package_id, p.category_code,
       v.tier, v.verified, v.standing
FROM subsidy_claims c
JOIN enterprises e ON e.id = c.enterprise_id
JOIN regions r ON r.id = e.county_id
JOIN orders o ON o.id = c.order_id
JOIN packages p ON p.id = o.package_id
JOIN providers v ON v.id = p.provider_id
""")
PACKAGE_LEVELS = sa.text(
    "SELECT package_id, scenario_level_code FROM package_scenario_levels "
    "ORDER BY package_id, scenario_level_code")


def upgrade():
    with op.batch_alter_table('subsidy_claims', schema=None) as batch_op:
        # a plain default: an expression would make batch mode copy the table, which fails on
        # SQLite while the ledger's rows refer to the claims
        batch_op.add_column(sa.Column('eligibility', sa.JSON(), nullable=False,
                                      server_default='{}'))
    _backfill_snapshots()
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_object', ['object_type', 'object_id'], unique=False)


def _backfill_snapshots():
    """The keys of services.subsidies.Eligibility, filled from the rows as they are now."""
    bind = op.get_bind()
    levels = defaultdict(list)
    for package_id, code in bind.execute(PACKAGE_LEVELS):
        levels[package_id].append(code)
    claims = sa.table('subsidy_claims', sa.column('id', sa.Integer()),
                      sa.column('eligibility', sa.JSON()))
    for row in bind.execute(CLAIM_FACTS).mappings().all():
        snapshot = {
            'county_code': row['county_code'], 'size_class_code': row['size_class_code'],
            'employees': row['employees'], 'revenue_wan': row['revenue_wan'],
            'industry_code': row['industry_code'], 'cluster_code': row['cluster_code'] or '',
            'category_code': row['category_code'],
            'scenario_level_codes': levels[row['package_id']],
            'provider_tier': row['tier'], 'provider_verified': bool(row['verified']),
            'provider_standing': row['standing'],
        }
        bind.execute(claims.update().where(claims.c.id == row['id'])
                     .values(eligibility=snapshot))


def downgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_object')
    # dropped in place (SQLite 3.35+), for the same reason
    with op.batch_alter_table('subsidy_claims', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('eligibility')
