"""Reports and homes at 1.5M leads (issue 13's performance gaps): a lead's rep on the lead,
and a rollup of the leads for the funnel and the sources report.

- leads.rep_id: the rep of the lead's company (companies.assigned_rep_id), kept by triggers:
  a BEFORE trigger on leads sets it from the company on insert and on a change of company
  (a deleted company sets company_id NULL through the foreign key, so rep_id NULL too);
  a change of a company's rep updates its leads. The rep's home counts "my stale deals" with
  an index-only scan of ix_leads_rep_id_open_stage_changed_at (open stages only) instead of
  visiting each of a busy rep's 40,000 leads through their companies.
- report_lead_funnel: the leads per creation day (span 'day') and per creation month (span
  'month', day = the 1st) × rep × source × campaign × the furthest funnel step the lead
  reached (its stage now or any stage its stage changes took it to: report_step()), with
  how many of them are won / lost now and the revenue won. A report over a range reads the
  month rows of the whole months inside it and the day rows of the edges: at most ~12 + 62
  periods of rows whatever the number of leads. Kept exact by triggers on leads (insert,
  delete, a change of stage, revenue, rep, company, source, campaign or creation time: the
  lead's old contribution out, its new one in) and on report_stage_changes (a new stage
  change may raise the lead's furthest step); each statement applies its deltas in key
  order, so concurrent writers lock the rows in the same order.
- ix_tasks_assigned_to_id_open_due_at: a rep's open tasks by due time (the rep's home: its
  first rows in order and its count, index-only).
- ix_leads_won_at_won, ix_leads_lost_at_closed: the deals won / lost in a span with what the
  owner's month and the won & lost report sum and filter on, read index-only (at 1.5M leads
  the owner's home spent 300 ms fetching every won lead's row).
- report_rep_open_days: each rep's open leads per UTC day they entered their stage (triggers on
  leads): a rep's stale-deal count is the days before the cutoff's day summed (~2 years of
  rows) plus that one day's leads counted from the index, however many stale deals they have.
- report_stage_days: the stage changes per day / month × rep × stage left × a bucket of the
  days spent in it (report_days_bucket(): 4 buckets per doubling, from an hour to 3 years; -1
  when unknown), kept by triggers on report_stage_changes (insert) and leads (a change of rep,
  a delete: the lead's changes move to the new rep, or to none). The exact median days in
  stage is then two reads: the buckets' counts find, per stage, the bucket(s) holding the
  middle rank(s); the stage changes of only those buckets are read from
  ix_report_stage_changes_stage_bucket (stage, bucket, time; an index-only scan: the row's
  rep and bucket are kept on it by a BEFORE trigger) and sorted. A bucket holds a few
  percent of a stage's changes, so the read is bounded by the bucket, not the range.
- report_rollups_rebuild() also refills report_lead_funnel from leads and the stage changes
  (a bulk load that skipped triggers sets leads.rep_id itself, then runs it; the rows
  the triggers left at zero are the only difference, and the reports ignore them).

Revision ID: 0030_report_funnel
Revises: 0031_views_exports
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0030_report_funnel"
down_revision = "0031_views_exports"
branch_labels = None
depends_on = None

OPEN_STAGES = "('NEW_LEAD', 'HOT', 'QUALIFIED', 'QUOTED', 'BUY_PERIOD_90', 'BUY_PERIOD_60', 'BUY_PERIOD_30')"
WORK_KINDS = "('call.logged', 'call.voicemail_dropped', 'email.sent', 'sms.sent', 'note.added', 'lead.stage_changed')"

# A lead's contribution: (creation day, rep, source, campaign, furthest step, won, lost, revenue won).
CONTRIBUTION = """
((({l}).created_at AT TIME ZONE 'UTC')::date, ({l}).rep_id, ({l}).source, ({l}).source_campaign,
 greatest(report_step(({l}).stage::text), COALESCE({log}, -1::smallint)), {sign},
 {sign} * (({l}).stage = 'WON')::int, {sign} * (({l}).stage = 'LOST')::int,
 {sign} * CASE WHEN ({l}).stage = 'WON' THEN COALESCE(({l}).estimated_revenue, 0) ELSE 0 END)
"""

# Every (day, rep, source, campaign, top) delta counted into its day row and its month row.
APPLY = """
INSERT INTO report_lead_funnel AS f (span, day, rep_id, source, campaign, top, leads, won, lost, revenue_won)
SELECT s.span, CASE s.span WHEN 'month' THEN date_trunc('month', d.day)::date ELSE d.day END,
       d.rep, d.source, d.campaign, d.top, sum(d.n), sum(d.won), sum(d.lost), sum(d.rev)
  FROM {deltas} AS d(day, rep, source, campaign, top, n, won, lost, rev)
 CROSS JOIN (VALUES ('day'), ('month')) AS s(span)
 WHERE d.day IS NOT NULL
 GROUP BY 1, 2, 3, 4, 5, 6
HAVING sum(d.n) <> 0 OR sum(d.won) <> 0 OR sum(d.lost) <> 0 OR sum(d.rev) <> 0
 ORDER BY 1, 2, 3, 4, 5, 6
ON CONFLICT (span, day, rep_id, source, campaign, top) DO UPDATE
   SET leads = f.leads + EXCLUDED.leads, won = f.won + EXCLUDED.won, lost = f.lost + EXCLUDED.lost,
       revenue_won = f.revenue_won + EXCLUDED.revenue_won
"""

# Days-in-stage buckets: 0 below 0 days, then 4 per doubling from 1/32 day (45 min) to 2^11
# days; numeric comparisons, so the same on every server (a replica's index agrees).
THRESHOLDS = "{" + ",".join(["0"] + [format(2 ** (i / 4), ".6f") for i in range(-20, 45)]) + "}"

STAGE_DAYS_APPLY = """
INSERT INTO report_stage_days AS t (span, day, rep_id, from_stage, bucket, n)
SELECT s.span, CASE s.span WHEN 'month' THEN date_trunc('month', d.day)::date ELSE d.day END,
       d.rep, d.stage, d.bucket, sum(d.n)
  FROM {deltas} AS d(day, rep, stage, bucket, n)
 CROSS JOIN (VALUES ('day'), ('month')) AS s(span)
 GROUP BY 1, 2, 3, 4, 5
HAVING sum(d.n) <> 0
 ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (span, day, rep_id, from_stage, bucket) DO UPDATE SET n = t.n + EXCLUDED.n
"""

STAGE_DAYS_ON_CHANGE = STAGE_DAYS_APPLY.format(deltas="""(VALUES ((NEW.occurred_at AT TIME ZONE 'UTC')::date,
      NEW.rep_id, NEW.from_stage, NEW.days_bucket, 1))""")
STAGE_DAYS_ON_LEAD = STAGE_DAYS_APPLY.format(deltas="""(
      SELECT (c.occurred_at AT TIME ZONE 'UTC')::date, r.rep, c.from_stage,
             c.days_bucket, r.sign * count(*)
        FROM report_stage_changes c CROSS JOIN (VALUES (OLD.rep_id, -1), (new_rep, 1)) AS r(rep, sign)
       WHERE c.lead_id = OLD.id
       GROUP BY 1, 2, 3, 4, r.sign)""")

FUNCTIONS = f"""
CREATE FUNCTION report_days_bucket(occurred_at timestamptz, entered_at timestamptz) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT COALESCE(width_bucket(extract(epoch FROM occurred_at - entered_at) / 86400, '{THRESHOLDS}'::numeric[]),
                  -1)::smallint
$$;

-- a stage change's rep (its lead's) and bucket of days, before it is written
CREATE FUNCTION report_stage_changes_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.lead_id IS DISTINCT FROM OLD.lead_id THEN
    NEW.rep_id := (SELECT l.rep_id FROM leads l WHERE l.id = NEW.lead_id);
  END IF;
  NEW.days_bucket := report_days_bucket(NEW.occurred_at, NEW.entered_at);
  RETURN NEW;
END $$;

CREATE FUNCTION report_stage_days_on_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('report.rebuilding', true) = 'on' THEN RETURN NULL; END IF;
  {STAGE_DAYS_ON_CHANGE};
  RETURN NULL;
END $$;

-- a lead's rep changed or the lead went: its stage changes move to the new rep (or none)
CREATE FUNCTION report_stage_days_on_lead() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE new_rep uuid;
BEGIN
  IF current_setting('report.rebuilding', true) = 'on' THEN RETURN NULL; END IF;
  IF TG_OP = 'UPDATE' THEN new_rep := NEW.rep_id; END IF;
  {STAGE_DAYS_ON_LEAD};
  UPDATE report_stage_changes SET rep_id = new_rep WHERE lead_id = OLD.id AND rep_id IS DISTINCT FROM new_rep;
  RETURN NULL;
END $$;

-- each rep's open leads per UTC day they entered their stage (the rep's stale deals)
CREATE FUNCTION report_rep_open_days_on_lead() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('report.rebuilding', true) = 'on' THEN RETURN NULL; END IF;
  INSERT INTO report_rep_open_days AS t (rep_id, day, n)
  SELECT d.rep, d.day, sum(d.n)
    FROM (SELECT OLD.rep_id, (OLD.stage_changed_at AT TIME ZONE 'UTC')::date, -1
           WHERE TG_OP <> 'INSERT' AND OLD.rep_id IS NOT NULL AND OLD.stage::text IN {OPEN_STAGES}
          UNION ALL
          SELECT NEW.rep_id, (NEW.stage_changed_at AT TIME ZONE 'UTC')::date, 1
           WHERE TG_OP <> 'DELETE' AND NEW.rep_id IS NOT NULL AND NEW.stage::text IN {OPEN_STAGES}) AS d(rep, day, n)
   GROUP BY 1, 2 HAVING sum(d.n) <> 0 ORDER BY 1, 2
  ON CONFLICT (rep_id, day) DO UPDATE SET n = t.n + EXCLUDED.n;
  RETURN NULL;
END $$;

CREATE FUNCTION report_step(stage text) RETURNS smallint LANGUAGE sql IMMUTABLE AS $$
  SELECT (CASE stage WHEN 'NEW_LEAD' THEN 0 WHEN 'HOT' THEN 1 WHEN 'QUALIFIED' THEN 2 WHEN 'QUOTED' THEN 3
                     WHEN 'BUY_PERIOD_90' THEN 4 WHEN 'BUY_PERIOD_60' THEN 4 WHEN 'BUY_PERIOD_30' THEN 4
                     WHEN 'WON' THEN 5 ELSE -1 END)::smallint
$$;

CREATE FUNCTION leads_rep_from_company() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.rep_id := (SELECT c.assigned_rep_id FROM companies c WHERE c.id = NEW.company_id);
  RETURN NEW;
END $$;

CREATE FUNCTION leads_rep_on_company() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE leads SET rep_id = NEW.assigned_rep_id
   WHERE company_id = NEW.id AND rep_id IS DISTINCT FROM NEW.assigned_rep_id;
  RETURN NULL;
END $$;

-- o / n: the lead before and after (NULL when absent), o_log / n_log: the furthest step its
-- stage changes reached then and now.
CREATE FUNCTION report_funnel_move(o leads, o_log smallint, n leads, n_log smallint)
RETURNS void LANGUAGE sql AS $$
{APPLY.format(deltas="(VALUES " + CONTRIBUTION.format(l="o", log="o_log", sign="-1") + ", "
              + CONTRIBUTION.format(l="n", log="n_log", sign="1") + ")")}
$$;

CREATE FUNCTION report_funnel_on_lead() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE log_top smallint;
BEGIN
  IF current_setting('report.rebuilding', true) = 'on' THEN RETURN NULL; END IF;
  IF TG_OP = 'DELETE' THEN
    SELECT max(report_step(c.to_stage)) INTO log_top FROM report_stage_changes c WHERE c.lead_id = OLD.id;
    PERFORM report_funnel_move(OLD, log_top, NULL, NULL);
  ELSE
    SELECT max(report_step(c.to_stage)) INTO log_top FROM report_stage_changes c WHERE c.lead_id = NEW.id;
    IF TG_OP = 'INSERT' THEN
      PERFORM report_funnel_move(NULL, NULL, NEW, log_top);
    ELSE
      PERFORM report_funnel_move(OLD, log_top, NEW, log_top);
    END IF;
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION report_funnel_on_stage_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE l leads; before smallint; after smallint;
BEGIN
  IF current_setting('report.rebuilding', true) = 'on' THEN RETURN NULL; END IF;
  SELECT * INTO l FROM leads WHERE id = NEW.lead_id;
  IF NOT FOUND THEN RETURN NULL; END IF;
  SELECT max(report_step(c.to_stage)) INTO before FROM report_stage_changes c
   WHERE c.lead_id = NEW.lead_id AND c.activity_id <> NEW.activity_id;
  after := greatest(COALESCE(before, -1::smallint), report_step(NEW.to_stage));
  IF greatest(report_step(l.stage::text), COALESCE(before, -1::smallint))
     <> greatest(report_step(l.stage::text), after) THEN
    PERFORM report_funnel_move(l, before, l, after);
  END IF;
  RETURN NULL;
END $$;
"""

FUNNEL_REBUILD = """
  DELETE FROM report_lead_funnel;
  INSERT INTO report_lead_funnel (span, day, rep_id, source, campaign, top, leads, won, lost, revenue_won)
  SELECT s.span, CASE s.span WHEN 'month' THEN date_trunc('month', x.day)::date ELSE x.day END,
         x.rep_id, x.source, x.campaign, x.top, count(*), sum(x.won), sum(x.lost), sum(x.rev)
    FROM (SELECT (l.created_at AT TIME ZONE 'UTC')::date AS day, l.rep_id, l.source, l.source_campaign AS campaign,
                 greatest(report_step(l.stage::text), COALESCE(t.top, -1::smallint)) AS top,
                 (l.stage = 'WON')::int AS won, (l.stage = 'LOST')::int AS lost,
                 CASE WHEN l.stage = 'WON' THEN COALESCE(l.estimated_revenue, 0) ELSE 0 END AS rev
            FROM leads l
            LEFT JOIN (SELECT c.lead_id, max(report_step(c.to_stage)) AS top
                         FROM report_stage_changes c GROUP BY c.lead_id) t ON t.lead_id = l.id) x
   CROSS JOIN (VALUES ('day'), ('month')) AS s(span)
   GROUP BY 1, 2, 3, 4, 5, 6;
"""

# 0026's rebuild, with the funnel rollup refilled at its end (its triggers idle meanwhile).
REBUILD_0026 = f"""
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
"""

OPEN_DAYS_REBUILD = f"""
  DELETE FROM report_rep_open_days;
  INSERT INTO report_rep_open_days (rep_id, day, n)
  SELECT rep_id, (stage_changed_at AT TIME ZONE 'UTC')::date, count(*) FROM leads
   WHERE rep_id IS NOT NULL AND stage::text IN {OPEN_STAGES} GROUP BY 1, 2;
"""

STAGE_DAYS_REBUILD = """
  DELETE FROM report_stage_days;
  INSERT INTO report_stage_days (span, day, rep_id, from_stage, bucket, n)
  SELECT s.span, CASE s.span WHEN 'month' THEN date_trunc('month', x.day)::date ELSE x.day END,
         x.rep_id, x.from_stage, x.bucket, count(*)
    FROM (SELECT (c.occurred_at AT TIME ZONE 'UTC')::date AS day, c.rep_id, c.from_stage, c.days_bucket AS bucket
            FROM report_stage_changes c) x
   CROSS JOIN (VALUES ('day'), ('month')) AS s(span)
   GROUP BY 1, 2, 3, 4, 5;
"""

REBUILD = f"""
CREATE OR REPLACE FUNCTION report_rollups_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('report.rebuilding', 'on', true);
{REBUILD_0026}
  -- set here, not only by the BEFORE trigger: a bulk load runs with triggers off (replica role)
  UPDATE report_stage_changes c SET rep_id = l.rep_id, days_bucket = report_days_bucket(c.occurred_at, c.entered_at)
    FROM leads l WHERE l.id = c.lead_id;
{FUNNEL_REBUILD}
{STAGE_DAYS_REBUILD}
{OPEN_DAYS_REBUILD}
  PERFORM set_config('report.rebuilding', 'off', true);
END $$;
"""

REBUILD_DOWN = f"""
CREATE OR REPLACE FUNCTION report_rollups_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
{REBUILD_0026}
END $$;
"""

TRIGGERS = """
CREATE TRIGGER leads_rep_from_company BEFORE INSERT OR UPDATE OF company_id, rep_id ON leads
  FOR EACH ROW EXECUTE FUNCTION leads_rep_from_company();
CREATE TRIGGER leads_rep_on_company AFTER UPDATE OF assigned_rep_id ON companies
  FOR EACH ROW WHEN (OLD.assigned_rep_id IS DISTINCT FROM NEW.assigned_rep_id)
  EXECUTE FUNCTION leads_rep_on_company();
CREATE TRIGGER report_funnel_on_lead_insert_delete AFTER INSERT OR DELETE ON leads
  FOR EACH ROW EXECUTE FUNCTION report_funnel_on_lead();
CREATE TRIGGER report_funnel_on_lead_update
  AFTER UPDATE OF stage, estimated_revenue, rep_id, company_id, source, source_campaign, created_at ON leads
  FOR EACH ROW WHEN (OLD.stage IS DISTINCT FROM NEW.stage OR OLD.estimated_revenue IS DISTINCT FROM NEW.estimated_revenue
                     OR OLD.rep_id IS DISTINCT FROM NEW.rep_id OR OLD.source IS DISTINCT FROM NEW.source
                     OR OLD.source_campaign IS DISTINCT FROM NEW.source_campaign
                     OR OLD.created_at IS DISTINCT FROM NEW.created_at)
  EXECUTE FUNCTION report_funnel_on_lead();
CREATE TRIGGER report_funnel_on_stage_change AFTER INSERT ON report_stage_changes
  FOR EACH ROW EXECUTE FUNCTION report_funnel_on_stage_change();
CREATE TRIGGER report_rep_open_days_on_lead_insert_delete AFTER INSERT OR DELETE ON leads
  FOR EACH ROW EXECUTE FUNCTION report_rep_open_days_on_lead();
CREATE TRIGGER report_rep_open_days_on_lead_update AFTER UPDATE OF stage, stage_changed_at, rep_id, company_id ON leads
  FOR EACH ROW WHEN (OLD.stage IS DISTINCT FROM NEW.stage OR OLD.stage_changed_at IS DISTINCT FROM NEW.stage_changed_at
                     OR OLD.rep_id IS DISTINCT FROM NEW.rep_id)
  EXECUTE FUNCTION report_rep_open_days_on_lead();
CREATE TRIGGER report_stage_changes_fill BEFORE INSERT OR UPDATE ON report_stage_changes
  FOR EACH ROW EXECUTE FUNCTION report_stage_changes_fill();
CREATE TRIGGER report_stage_days_on_change AFTER INSERT ON report_stage_changes
  FOR EACH ROW EXECUTE FUNCTION report_stage_days_on_change();
CREATE TRIGGER report_stage_days_on_lead_update AFTER UPDATE OF rep_id, company_id ON leads
  FOR EACH ROW WHEN (OLD.rep_id IS DISTINCT FROM NEW.rep_id) EXECUTE FUNCTION report_stage_days_on_lead();
CREATE TRIGGER report_stage_days_on_lead_delete AFTER DELETE ON leads
  FOR EACH ROW EXECUTE FUNCTION report_stage_days_on_lead();
"""


def upgrade():
    op.add_column("leads", sa.Column("rep_id", sa.Uuid(), nullable=True))
    op.execute("UPDATE leads l SET rep_id = c.assigned_rep_id FROM companies c "
               "WHERE c.id = l.company_id AND c.assigned_rep_id IS NOT NULL")
    op.create_index("ix_leads_rep_id_open_stage_changed_at", "leads", ["rep_id", "stage_changed_at", "id"],
                    postgresql_where=sa.text(f"stage IN {OPEN_STAGES}"))
    op.create_index("ix_tasks_assigned_to_id_open_due_at", "tasks", ["assigned_to_id", "due_at", "created_at"],
                    postgresql_where=sa.text("is_completed IS false"))
    # the deals won / lost in a span (the owner's month, the won & lost report): index-only
    op.create_index("ix_leads_won_at_won", "leads", ["won_at"],
                    postgresql_include=["estimated_revenue", "estimated_units", "rep_id", "source", "source_campaign"],
                    postgresql_where=sa.text("stage = 'WON'"))
    op.create_index("ix_leads_lost_at_closed", "leads", ["lost_at"],
                    postgresql_include=["stage", "lost_reason", "estimated_revenue", "rep_id", "source",
                                        "source_campaign"],
                    postgresql_where=sa.text("stage IN ('LOST', 'BOGUS')"))
    op.create_table(
        "report_lead_funnel",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("span", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rep_id", sa.Uuid(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("campaign", sa.Text(), nullable=True),
        sa.Column("top", sa.SmallInteger(), nullable=False),
        sa.Column("leads", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("won", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("lost", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("revenue_won", sa.Numeric(16, 2), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_report_lead_funnel"),
    )
    op.create_index("uq_report_lead_funnel_key", "report_lead_funnel",
                    ["span", "day", "rep_id", "source", "campaign", "top"], unique=True,
                    postgresql_nulls_not_distinct=True)
    op.create_index("ix_report_lead_funnel_rep_id_span_day", "report_lead_funnel", ["rep_id", "span", "day"])
    op.create_table(
        "report_stage_days",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("span", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rep_id", sa.Uuid(), nullable=True),
        sa.Column("from_stage", sa.Text(), nullable=True),
        sa.Column("bucket", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_report_stage_days"),
    )
    op.create_index("uq_report_stage_days_key", "report_stage_days",
                    ["span", "day", "rep_id", "from_stage", "bucket"], unique=True,
                    postgresql_nulls_not_distinct=True)
    op.create_index("ix_report_stage_days_rep_id_span_day", "report_stage_days", ["rep_id", "span", "day"])
    op.create_table(
        "report_rep_open_days",
        sa.Column("rep_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("n", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("rep_id", "day", name="pk_report_rep_open_days"),
    )
    op.execute(FUNCTIONS)
    op.add_column("report_stage_changes", sa.Column("rep_id", sa.Uuid(), nullable=True))
    op.add_column("report_stage_changes", sa.Column("days_bucket", sa.SmallInteger(),
                                                    server_default=sa.text("-1"), nullable=False))
    op.execute("UPDATE report_stage_changes c SET rep_id = l.rep_id, "
               "days_bucket = report_days_bucket(c.occurred_at, c.entered_at) "
               "FROM leads l WHERE l.id = c.lead_id")
    op.execute("UPDATE report_stage_changes c SET days_bucket = report_days_bucket(c.occurred_at, c.entered_at) "
               "WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = c.lead_id)")
    op.create_index("ix_report_stage_changes_stage_bucket", "report_stage_changes",
                    ["from_stage", "days_bucket", "occurred_at"],
                    postgresql_include=["entered_at", "rep_id"])
    op.execute(REBUILD)
    op.execute("SELECT set_config('report.rebuilding', 'on', true)")
    op.execute(FUNNEL_REBUILD)
    op.execute(STAGE_DAYS_REBUILD)
    op.execute(OPEN_DAYS_REBUILD)
    op.execute("SELECT set_config('report.rebuilding', 'off', true)")
    op.execute(TRIGGERS)


def downgrade():
    for trigger, table in (("report_rep_open_days_on_lead_update", "leads"),
                           ("report_rep_open_days_on_lead_insert_delete", "leads"),
                           ("report_stage_days_on_lead_delete", "leads"), ("report_stage_days_on_lead_update", "leads"),
                           ("report_stage_days_on_change", "report_stage_changes"),
                           ("report_stage_changes_fill", "report_stage_changes"),
                           ("report_funnel_on_stage_change", "report_stage_changes"),
                           ("report_funnel_on_lead_update", "leads"),
                           ("report_funnel_on_lead_insert_delete", "leads"),
                           ("leads_rep_on_company", "companies"), ("leads_rep_from_company", "leads")):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    op.execute(REBUILD_DOWN)
    for function in ("report_funnel_on_stage_change()", "report_funnel_on_lead()",
                     "report_funnel_move(leads, smallint, leads, smallint)", "leads_rep_on_company()",
                     "leads_rep_from_company()", "report_step(text)"):
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.drop_index("ix_report_stage_changes_stage_bucket", table_name="report_stage_changes")
    op.drop_column("report_stage_changes", "days_bucket")
    op.drop_column("report_stage_changes", "rep_id")
    for function in ("report_stage_days_on_lead()", "report_stage_days_on_change()", "report_stage_changes_fill()",
                     "report_days_bucket(timestamptz, timestamptz)"):
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    op.execute("DROP FUNCTION IF EXISTS report_rep_open_days_on_lead()")
    op.drop_table("report_rep_open_days")
    op.drop_table("report_stage_days")
    op.drop_table("report_lead_funnel")
    op.drop_index("ix_tasks_assigned_to_id_open_due_at", table_name="tasks")
    op.drop_index("ix_leads_lost_at_closed", table_name="leads")
    op.drop_index("ix_leads_won_at_won", table_name="leads")
    op.drop_index("ix_leads_rep_id_open_stage_changed_at", table_name="leads")
    op.drop_column("leads", "rep_id")
