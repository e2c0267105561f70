"""Leads: last_activity_at, kept by a trigger on activities; the board orders by it.

The board shows each column's leads "by recent activity": a call or a note on a lead
moves it up, which `updated_at` (changes to the lead row only) did not. Every activity
row with a lead_id moves the lead's stamp forward (never back: a backfilled event keeps
the newer stamp). The move statement sets it itself, so its trigger finds nothing to do.

Revision ID: 0008_lead_last_activity_at
Revises: 0007_fulfillment_scans
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_lead_last_activity_at"
down_revision = "0007_fulfillment_scans"
branch_labels = None
depends_on = None

TRIGGER = """
CREATE FUNCTION leads_touch_last_activity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE leads SET last_activity_at = NEW.occurred_at
     WHERE id = NEW.lead_id AND last_activity_at < NEW.occurred_at;
    RETURN NULL;
END
$$;
CREATE TRIGGER activities_touch_lead
    AFTER INSERT ON activities FOR EACH ROW WHEN (NEW.lead_id IS NOT NULL)
    EXECUTE FUNCTION leads_touch_last_activity();
"""


def upgrade():
    op.add_column("leads", sa.Column("last_activity_at", sa.DateTime(timezone=True),
                                     server_default=sa.text("now()"), nullable=False))
    # Existing rows: their newest activity, else their creation.
    op.execute("UPDATE leads SET last_activity_at = created_at")
    op.execute("""
        UPDATE leads l SET last_activity_at = GREATEST(l.created_at, a.latest)
        FROM (SELECT lead_id, max(occurred_at) AS latest FROM activities
              WHERE lead_id IS NOT NULL GROUP BY lead_id) a
        WHERE a.lead_id = l.id
    """)
    op.execute(TRIGGER)
    op.drop_index("ix_leads_stage_updated_at_id", table_name="leads")
    op.create_index("ix_leads_stage_last_activity_at_id", "leads",
                    ["stage", sa.text("last_activity_at DESC"), sa.text("id DESC")])


def downgrade():
    op.drop_index("ix_leads_stage_last_activity_at_id", table_name="leads")
    op.create_index("ix_leads_stage_updated_at_id", "leads",
                    ["stage", sa.text("updated_at DESC"), sa.text("id DESC")])
    op.execute("DROP TRIGGER IF EXISTS activities_touch_lead ON activities")
    op.execute("DROP FUNCTION IF EXISTS leads_touch_last_activity()")
    op.drop_column("leads", "last_activity_at")
