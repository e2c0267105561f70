"""Leads: stage_changed_at (days in stage, stale flag) and the board index.

Revision ID: 0002_lead_stage_changed_at
Revises: 0001_initial
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_lead_stage_changed_at"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("leads", sa.Column("stage_changed_at", sa.DateTime(timezone=True),
                                     server_default=sa.text("now()"), nullable=False))
    # Best knowledge for existing rows: the close stamp, else the last update.
    op.execute("UPDATE leads SET stage_changed_at = COALESCE(won_at, lost_at, updated_at, created_at)")
    op.create_index("ix_leads_stage_updated_at_id", "leads",
                    ["stage", sa.text("updated_at DESC"), sa.text("id DESC")])


def downgrade():
    op.drop_index("ix_leads_stage_updated_at_id", table_name="leads")
    op.drop_column("leads", "stage_changed_at")
