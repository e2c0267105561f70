"""Companies list: an index for ORDER BY name, id (keyset pages without sorting 100k rows).

Revision ID: 0004_companies_name_order
Revises: 0003_lead_stage_totals
Create Date: 2026-11-22
"""
from alembic import op

revision = "0004_companies_name_order"
down_revision = "0003_lead_stage_totals"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_companies_name_id", "companies", ["name", "id"])


def downgrade():
    op.drop_index("ix_companies_name_id", table_name="companies")
