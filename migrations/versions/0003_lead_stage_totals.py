"""Maintained per-stage lead counts and revenue for the unfiltered board.

At 150k+ leads a GROUP BY over all leads on every board load costs tens of ms;
a trigger keeps one row per stage exact instead (same transaction as the
change, so it never drifts). Filtered boards still count with GROUP BY.

Revision ID: 0003_lead_stage_totals
Revises: 0002_lead_stage_changed_at
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_lead_stage_totals"
down_revision = "0002_lead_stage_changed_at"
branch_labels = None
depends_on = None

TRIGGER = """
CREATE FUNCTION lead_stage_totals_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE lead_stage_totals
           SET lead_count = lead_count - 1, revenue = revenue - COALESCE(OLD.estimated_revenue, 0)
         WHERE stage = OLD.stage;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE lead_stage_totals
           SET lead_count = lead_count + 1, revenue = revenue + COALESCE(NEW.estimated_revenue, 0)
         WHERE stage = NEW.stage;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER lead_stage_totals_on_insert_delete
    AFTER INSERT OR DELETE ON leads FOR EACH ROW EXECUTE FUNCTION lead_stage_totals_apply();
CREATE TRIGGER lead_stage_totals_on_update
    AFTER UPDATE OF stage, estimated_revenue ON leads FOR EACH ROW
    WHEN (OLD.stage IS DISTINCT FROM NEW.stage
          OR OLD.estimated_revenue IS DISTINCT FROM NEW.estimated_revenue)
    EXECUTE FUNCTION lead_stage_totals_apply();
"""


def upgrade():
    op.create_table(
        "lead_stage_totals",
        sa.Column("stage", postgresql.ENUM(name="lead_stage", create_type=False), primary_key=True),
        sa.Column("lead_count", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("revenue", sa.Numeric(14, 2), server_default=sa.text("0"), nullable=False),
    )
    op.execute("""
        INSERT INTO lead_stage_totals (stage, lead_count, revenue)
        SELECT s.stage, count(l.id), COALESCE(sum(l.estimated_revenue), 0)
        FROM unnest(enum_range(NULL::lead_stage)) AS s(stage)
        LEFT JOIN leads l ON l.stage = s.stage
        GROUP BY s.stage
    """)
    op.execute(TRIGGER)


def downgrade():
    op.execute("DROP TRIGGER IF EXISTS lead_stage_totals_on_update ON leads")
    op.execute("DROP TRIGGER IF EXISTS lead_stage_totals_on_insert_delete ON leads")
    op.execute("DROP FUNCTION IF EXISTS lead_stage_totals_apply()")
    op.drop_table("lead_stage_totals")
