"""The board filtered by a rep (or "mine"): each column's top-N by an index range scan.

- ix_leads_stage_rep_id_last_activity_at_id (stage, rep_id, last_activity_at DESC, id DESC):
  a board filtered by a rep asks, per stage, for the rep's most recently active leads. It
  probed the company of each lead of the stage (an EXISTS on companies.assigned_rep_id) until
  it had found N of the rep's; it now filters on leads.rep_id (the company's rep, kept equal
  to companies.assigned_rep_id by the triggers of 0030_report_funnel, NULL without a company)
  and reads the first N entries of this index, whatever the rep's share of the leads.

Revision ID: 0033_board_rep_index
Revises: 0029_qbo_batch
Create Date: 2026-11-28
"""
from alembic import op
from sqlalchemy import text

revision = "0033_board_rep_index"
down_revision = "0029_qbo_batch"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_leads_stage_rep_id_last_activity_at_id", "leads",
                    ["stage", "rep_id", text("last_activity_at DESC"), text("id DESC")])


def downgrade():
    op.drop_index("ix_leads_stage_rep_id_last_activity_at_id", table_name="leads")
