"""Reports and homes (issue 13): the activity log read by kind and time, and two rollups of it
kept exact by a trigger (the log is append-only: an insert is the only change to follow).

- ix_activities_activity_type_occurred_at: reads of the log by kind over a span of time.
- report_stage_changes: one narrow row per `lead.stage_changed` (the stage left and entered,
  when, and when the lead had entered the stage it left: its stage change before, or its
  creation). The funnel and "days in stage" read it instead of the wide, scattered log.
- report_daily_work: per UTC day × user × kind (× call outcome), how many activities a user
  logged of the kinds the rep activity report and the owner's home count.
- saved_views: a list's filters and sort under a name, private or shared, one default per user
  and list.
- report_rollups_rebuild(): empties and refills both from the log, the same rules as the
  trigger (the backfill here; a bulk load that skipped triggers runs it after).

Revision ID: 0026_reports
Revises: 0028_thread
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0026_reports"
down_revision = "0028_thread"
branch_labels = None
depends_on = None

WORK_KINDS = "('call.logged', 'call.voicemail_dropped', 'email.sent', 'sms.sent', 'note.added', 'lead.stage_changed')"

FUNCTIONS = f"""
CREATE FUNCTION report_work_kind(activity_type text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN activity_type IN ('call.logged', 'call.voicemail_dropped') THEN 'call' ELSE activity_type END
$$;

CREATE FUNCTION report_rollups_on_activity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.activity_type = 'lead.stage_changed' AND NEW.lead_id IS NOT NULL THEN
    INSERT INTO report_stage_changes (activity_id, lead_id, from_stage, to_stage, occurred_at, entered_at)
    VALUES (NEW.id, NEW.lead_id, NEW.detail->>'from', NEW.detail->>'to', NEW.occurred_at,
            COALESCE((SELECT max(c.occurred_at) FROM report_stage_changes c
                      WHERE c.lead_id = NEW.lead_id AND c.occurred_at < NEW.occurred_at),
                     (SELECT l.created_at FROM leads l WHERE l.id = NEW.lead_id)));
  END IF;
  IF NEW.user_id IS NOT NULL AND NEW.activity_type IN {WORK_KINDS} THEN
    INSERT INTO report_daily_work AS w (day, user_id, kind, outcome, n)
    VALUES ((NEW.occurred_at AT TIME ZONE 'UTC')::date, NEW.user_id, report_work_kind(NEW.activity_type),
            CASE WHEN NEW.activity_type IN ('call.logged', 'call.voicemail_dropped')
                 THEN COALESCE(NEW.detail->>'outcome', '') ELSE '' END, 1)
    ON CONFLICT (day, user_id, kind, outcome) DO UPDATE SET n = w.n + 1;
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION report_rollups_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM report_stage_changes;
  DELETE FROM report_daily_work;
  INSERT INTO report_stage_changes (activity_id, lead_id, from_stage, to_stage, occurred_at, entered_at)
  SELECT a.id, a.lead_id, a.detail->>'from', a.detail->>'to', a.occurred_at, l.created_at
  FROM activities a JOIN leads l ON l.id = a.lead_id
  WHERE a.activity_type = 'lead.stage_changed';
  UPDATE report_stage_changes c SET entered_at = p.before
  FROM (SELECT c2.activity_id,
               (SELECT max(c3.occurred_at) FROM report_stage_changes c3
                WHERE c3.lead_id = c2.lead_id AND c3.occurred_at < c2.occurred_at) AS before
        FROM report_stage_changes c2) p
  WHERE p.activity_id = c.activity_id AND p.before IS NOT NULL;
  INSERT INTO report_daily_work (day, user_id, kind, outcome, n)
  SELECT (a.occurred_at AT TIME ZONE 'UTC')::date, a.user_id, report_work_kind(a.activity_type),
         CASE WHEN a.activity_type IN ('call.logged', 'call.voicemail_dropped')
              THEN COALESCE(a.detail->>'outcome', '') ELSE '' END, count(*)
  FROM activities a
  WHERE a.user_id IS NOT NULL AND a.activity_type IN {WORK_KINDS}
  GROUP BY 1, 2, 3, 4;
END $$;
"""


def upgrade():
    op.create_index("ix_activities_activity_type_occurred_at", "activities", ["activity_type", "occurred_at"])
    op.create_table(
        "report_stage_changes",
        sa.Column("activity_id", sa.Uuid(), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("from_stage", sa.Text(), nullable=True),
        sa.Column("to_stage", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("activity_id", name="pk_report_stage_changes"),
    )
    op.create_index("ix_report_stage_changes_lead_id_occurred_at", "report_stage_changes", ["lead_id", "occurred_at"])
    op.create_index("ix_report_stage_changes_occurred_at", "report_stage_changes", ["occurred_at"])
    op.create_table(
        "report_daily_work",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("n", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("day", "user_id", "kind", "outcome", name="pk_report_daily_work"),
    )
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("list_name", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("shared", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_saved_views_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_saved_views"),
    )
    op.create_index("ix_saved_views_list_name_user_id", "saved_views", ["list_name", "user_id"])
    op.create_index("uq_saved_views_default", "saved_views", ["user_id", "list_name"], unique=True,
                    postgresql_where=sa.text("is_default"))
    op.execute(FUNCTIONS)
    op.execute("CREATE TRIGGER report_rollups_on_activity AFTER INSERT ON activities "
               "FOR EACH ROW EXECUTE FUNCTION report_rollups_on_activity()")
    op.execute("SELECT report_rollups_rebuild()")


def downgrade():
    op.execute("DROP TRIGGER IF EXISTS report_rollups_on_activity ON activities")
    op.execute("DROP FUNCTION IF EXISTS report_rollups_rebuild()")
    op.execute("DROP FUNCTION IF EXISTS report_rollups_on_activity()")
    op.execute("DROP FUNCTION IF EXISTS report_work_kind(text)")
    op.drop_table("saved_views")
    op.drop_table("report_daily_work")
    op.drop_table("report_stage_changes")
    op.drop_index("ix_activities_activity_type_occurred_at", table_name="activities")
