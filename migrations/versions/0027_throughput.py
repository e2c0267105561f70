"""Leads list: an index for its default order and for each sort it offers (issue 14).

Without them `/leads` sorted all the leads on every load (a parallel sequential scan and
an external merge sort to disk on (last_activity_at DESC, id DESC): 45 ms at 150,000).
Each serves one of `app.crm.records.lead_list.SORTS` as a keyset index range scan.

Revision ID: 0027_throughput
Revises: 0020_inbox_email
Create Date: 2026-11-27
"""
from alembic import op
from sqlalchemy import text

revision = "0027_throughput"
down_revision = "0020_inbox_email"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_leads_last_activity_at_id": ["last_activity_at DESC", "id DESC"],
    "ix_leads_created_at_id": ["created_at DESC", "id DESC"],
    "ix_leads_revenue_id": ["COALESCE(estimated_revenue, -1) DESC", "id DESC"],
    "ix_leads_stage_changed_at_id": ["stage_changed_at", "id"],
}


def upgrade():
    for name, columns in INDEXES.items():
        op.create_index(name, "leads", [text(c) for c in columns])


def downgrade():
    for name in INDEXES:
        op.drop_index(name, table_name="leads")
