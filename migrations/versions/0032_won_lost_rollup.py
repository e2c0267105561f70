"""The won & lost report at 1.5M leads: a rollup of the deals won, lost and marked bogus.

- report_won_lost: the leads won (by `won_at`) or lost / bogus (by `lost_at`) on a UTC day
  (span 'day') and in a month (span 'month', day = the 1st) × rep × source × campaign ×
  outcome (the stage: WON, LOST, BOGUS) × the lost reason exactly as written (NULL for the
  won; the report folds case and spaces itself, as before, and names a group by its most
  common spelling, so the raw spellings are kept) with their count, units and revenue (the
  leads' estimates, NULL as 0). A lead counts only while its stage is that outcome and its
  date is set, as the report reads it. A year reads the month rows of the whole months and
  the day rows of the edges (~12 + 62 periods of rows) instead of every deal closed in it
  (~300,000 index entries at 1.5M leads).
- Kept exact by triggers on leads (insert, delete, a change of stage, won_at, lost_at,
  lost_reason, rep, company, source, campaign, units or revenue: the lead's old contribution
  out, its new one in, in key order); report_rollups_rebuild() refills it (its trigger idles
  while it runs: report.rebuilding). Rows left at zero by the triggers are ignored by the
  report (HAVING), as with report_lead_funnel.

Revision ID: 0032_won_lost_rollup
Revises: 0030_report_funnel
Create Date: 2026-11-27
"""
import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0032_won_lost_rollup"
down_revision = "0030_report_funnel"
branch_labels = None
depends_on = None


def _funnel_migration():
    """0030's module: its rebuild's parts, so this one's rebuild is that one plus a step."""
    path = Path(__file__).with_name("0030_report_funnel.py")
    spec = importlib.util.spec_from_file_location("migration_0030_report_funnel", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# A lead's contribution (nothing unless it is won / lost / bogus with its date set).
CONTRIBUTION = """
SELECT (CASE WHEN ({l}).stage = 'WON' THEN ({l}).won_at ELSE ({l}).lost_at END AT TIME ZONE 'UTC')::date,
       ({l}).rep_id, ({l}).source, ({l}).source_campaign, ({l}).stage::text,
       CASE WHEN ({l}).stage = 'WON' THEN NULL ELSE ({l}).lost_reason END,
       {sign}, {sign} * COALESCE(({l}).estimated_units, 0)::bigint, {sign} * COALESCE(({l}).estimated_revenue, 0)
 WHERE ({l}).stage IN ('WON', 'LOST', 'BOGUS')
   AND (CASE WHEN ({l}).stage = 'WON' THEN ({l}).won_at ELSE ({l}).lost_at END) IS NOT NULL
"""

MOVE = f"""
CREATE FUNCTION report_won_lost_move(o leads, n leads) RETURNS void LANGUAGE sql AS $$
INSERT INTO report_won_lost AS t (span, day, rep_id, source, campaign, outcome, reason, n, units, revenue)
SELECT s.span, CASE s.span WHEN 'month' THEN date_trunc('month', d.day)::date ELSE d.day END,
       d.rep, d.source, d.campaign, d.outcome, d.reason, sum(d.n), sum(d.units), sum(d.rev)
  FROM ({CONTRIBUTION.format(l="o", sign="-1")} UNION ALL {CONTRIBUTION.format(l="n", sign="1")})
       AS d(day, rep, source, campaign, outcome, reason, n, units, rev)
 CROSS JOIN (VALUES ('day'), ('month')) AS s(span)
 GROUP BY 1, 2, 3, 4, 5, 6, 7
HAVING sum(d.n) <> 0 OR sum(d.units) <> 0 OR sum(d.rev) <> 0
 ORDER BY 1, 2, 3, 4, 5, 6, 7
ON CONFLICT (span, day, rep_id, source, campaign, outcome, reason) DO UPDATE
   SET n = t.n + EXCLUDED.n, units = t.units + EXCLUDED.units, revenue = t.revenue + EXCLUDED.revenue
$$;

CREATE FUNCTION report_won_lost_on_lead() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('report.rebuilding', true) = 'on' THEN RETURN NULL; END IF;
  IF TG_OP = 'INSERT' THEN
    PERFORM report_won_lost_move(NULL, NEW);
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM report_won_lost_move(OLD, NULL);
  ELSE
    PERFORM report_won_lost_move(OLD, NEW);
  END IF;
  RETURN NULL;
END $$;
"""

WON_LOST_REBUILD = """
  DELETE FROM report_won_lost;
  INSERT INTO report_won_lost (span, day, rep_id, source, campaign, outcome, reason, n, units, revenue)
  SELECT s.span, CASE s.span WHEN 'month' THEN date_trunc('month', x.day)::date ELSE x.day END,
         x.rep_id, x.source, x.campaign, x.outcome, x.reason, count(*), sum(x.units), sum(x.rev)
    FROM (SELECT (CASE WHEN l.stage = 'WON' THEN l.won_at ELSE l.lost_at END AT TIME ZONE 'UTC')::date AS day,
                 l.rep_id, l.source, l.source_campaign AS campaign, l.stage::text AS outcome,
                 CASE WHEN l.stage = 'WON' THEN NULL ELSE l.lost_reason END AS reason,
                 COALESCE(l.estimated_units, 0)::bigint AS units, COALESCE(l.estimated_revenue, 0) AS rev
            FROM leads l
           WHERE (l.stage = 'WON' AND l.won_at IS NOT NULL)
              OR (l.stage IN ('LOST', 'BOGUS') AND l.lost_at IS NOT NULL)) x
   CROSS JOIN (VALUES ('day'), ('month')) AS s(span)
   GROUP BY 1, 2, 3, 4, 5, 6, 7;
"""

TRIGGERS = """
CREATE TRIGGER report_won_lost_on_lead_insert_delete AFTER INSERT OR DELETE ON leads
  FOR EACH ROW EXECUTE FUNCTION report_won_lost_on_lead();
CREATE TRIGGER report_won_lost_on_lead_update
  AFTER UPDATE OF stage, won_at, lost_at, lost_reason, rep_id, company_id, source, source_campaign,
                  estimated_units, estimated_revenue ON leads
  FOR EACH ROW WHEN (OLD.stage IS DISTINCT FROM NEW.stage OR OLD.won_at IS DISTINCT FROM NEW.won_at
                     OR OLD.lost_at IS DISTINCT FROM NEW.lost_at OR OLD.lost_reason IS DISTINCT FROM NEW.lost_reason
                     OR OLD.rep_id IS DISTINCT FROM NEW.rep_id OR OLD.source IS DISTINCT FROM NEW.source
                     OR OLD.source_campaign IS DISTINCT FROM NEW.source_campaign
                     OR OLD.estimated_units IS DISTINCT FROM NEW.estimated_units
                     OR OLD.estimated_revenue IS DISTINCT FROM NEW.estimated_revenue)
  EXECUTE FUNCTION report_won_lost_on_lead();
"""


def _rebuild(m, with_won_lost: bool) -> str:
    return f"""
CREATE OR REPLACE FUNCTION report_rollups_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('report.rebuilding', 'on', true);
{m.REBUILD_0026}
  -- set here, not only by the BEFORE trigger: a bulk load runs with triggers off (replica role)
  UPDATE report_stage_changes c SET rep_id = l.rep_id, days_bucket = report_days_bucket(c.occurred_at, c.entered_at)
    FROM leads l WHERE l.id = c.lead_id;
{m.FUNNEL_REBUILD}
{m.STAGE_DAYS_REBUILD}
{m.OPEN_DAYS_REBUILD}
{WON_LOST_REBUILD if with_won_lost else ""}
  PERFORM set_config('report.rebuilding', 'off', true);
END $$;
"""


def upgrade():
    op.create_table(
        "report_won_lost",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("span", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rep_id", sa.Uuid(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("campaign", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("n", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("units", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("revenue", sa.Numeric(16, 2), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_report_won_lost"),
    )
    op.create_index("uq_report_won_lost_key", "report_won_lost",
                    ["span", "day", "rep_id", "source", "campaign", "outcome", "reason"], unique=True,
                    postgresql_nulls_not_distinct=True)
    op.create_index("ix_report_won_lost_rep_id_span_day", "report_won_lost", ["rep_id", "span", "day"])
    op.execute(MOVE)
    m = _funnel_migration()
    op.execute(_rebuild(m, True))
    op.execute("SELECT set_config('report.rebuilding', 'on', true)")
    op.execute(WON_LOST_REBUILD)
    op.execute("SELECT set_config('report.rebuilding', 'off', true)")
    op.execute(TRIGGERS)


def downgrade():
    for trigger in ("report_won_lost_on_lead_update", "report_won_lost_on_lead_insert_delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON leads")
    op.execute(_rebuild(_funnel_migration(), False))
    op.execute("DROP FUNCTION IF EXISTS report_won_lost_on_lead()")
    op.execute("DROP FUNCTION IF EXISTS report_won_lost_move(leads, leads)")
    op.drop_table("report_won_lost")
