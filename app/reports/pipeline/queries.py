"""The pipeline report's reads.

- Open pipeline now: count and value per open stage (the maintained stage totals when no
  filter or only a rep narrows it), weighted by Settings → Pipeline's probabilities.
- Funnel: the leads created in the range, and how many of them reached each step (their
  stage now, or any stage the activity log's stage changes took them to), summed from the
  leads' rollup (report_lead_funnel: per day/month × rep × source × campaign × step).
- Days in stage: each stage left in the range, how long the lead had been in it (from the
  stage change before, or the lead's creation), median and count.
"""
from __future__ import annotations

from decimal import Decimal

from flask import url_for
from sqlalchemy import Float, and_, case, func, or_, select

from app.crm.models import Lead, LeadStage, LeadStageRepTotal, LeadStageTotal
from app.crm.pipeline.moves import STAGE_LABELS
from app.reports import reads
from app.reports import settings as report_settings
from app.reports.filters import ReportFilters
from app.reports.models import ReportLeadFunnel, ReportStageChange, ReportStageDays
from app.reports.scope import funnel_conditions, lead_conditions, rollup_periods
from app.reports.settings import weighted
from app.reports.tables import Column, Table

STAGE_CHANGED = "lead.stage_changed"
# The funnel's steps in order; the three buying periods are one step.
STEPS = (("NEW_LEAD", "New lead", (LeadStage.NEW_LEAD,)), ("HOT", "Hot", (LeadStage.HOT,)),
         ("QUALIFIED", "Qualified", (LeadStage.QUALIFIED,)), ("QUOTED", "Quoted", (LeadStage.QUOTED,)),
         ("BUYING", "Buying (30/60/90 days)",
          (LeadStage.BUY_PERIOD_90, LeadStage.BUY_PERIOD_60, LeadStage.BUY_PERIOD_30)),
         ("WON", "Won", (LeadStage.WON,)))
STEP_INDEX = {key: i for i, (key, _, _) in enumerate(STEPS)}


def step_of(stage_text):
    """The funnel step (0..5) of a stage name, -1 for lost/bogus."""
    whens = [(stage_text.in_([s.value for s in stages]), i) for i, (_, _, stages) in enumerate(STEPS)]
    return case(*whens, else_=-1)


def drill(f: ReportFilters, set_: str, value: str) -> str:
    return url_for("reports.leads", **f.as_args(set=set_, value=value))


def open_pipeline(f: ReportFilters) -> Table:
    probabilities = report_settings.stage_probabilities()
    if not (f.source or f.campaign):
        if f.rep_id:
            totals_query = select(LeadStageRepTotal.stage, LeadStageRepTotal.lead_count, LeadStageRepTotal.revenue) \
                .where(LeadStageRepTotal.rep_id == f.rep_id)
        else:
            totals_query = select(LeadStageTotal.stage, LeadStageTotal.lead_count, LeadStageTotal.revenue)
    else:
        totals_query = select(Lead.stage, func.count(), func.coalesce(func.sum(Lead.estimated_revenue), 0)) \
            .where(*lead_conditions(f)).group_by(Lead.stage)
    totals = {stage: (count, revenue) for stage, count, revenue in reads.execute(totals_query)}
    table = Table("open", "Open pipeline now", [Column("Stage"), Column("Leads", "int"), Column("Value", "money"),
                                                Column("Probability", "pct"), Column("Weighted", "money")], chart=2,
                  note="Today's open leads whatever the date range; weighted by each stage's probability "
                       "(Settings → Pipeline).", empty="No open lead. New leads appear on the board.")
    for stage in report_settings.OPEN_STAGES:
        count, revenue = totals.get(stage, (0, Decimal("0.00")))
        percent = probabilities[stage]
        table.add([STAGE_LABELS[stage], count, revenue, Decimal(percent), weighted(revenue, percent)],
                  drill(f, "stage", stage.value))
    return table


def funnel(f: ReportFilters) -> Table:
    # how many of the range's new leads reached each furthest step (their stage now, or any
    # stage their stage changes took them to): the leads' rollup, kept by triggers (0030)
    r = ReportLeadFunnel
    tops = {top: int(n) for top, n in reads.execute(
        select(r.top, func.sum(r.leads)).where(*funnel_conditions(f)).group_by(r.top)).all()}
    total = sum(tops.values())
    table = Table("funnel", "Funnel of the range's new leads",
                  [Column("Step"), Column("Reached", "int"), Column("Dropped before the next", "int"),
                   Column("Of the step before", "pct"), Column("Of all new leads", "pct")], chart=1,
                  note=f"{total} leads created in the range; a lead counts at every step up to the furthest it "
                       "reached (lost and bogus leads at the steps they reached first).",
                  empty="No lead was created in this range.")
    counts = [sum(n for top, n in tops.items() if top is not None and top >= i) for i in range(len(STEPS))]
    counts[0] = total  # every new lead starts at the first step, whatever it became
    for i, (key, label, _) in enumerate(STEPS):
        reached_n = counts[i]
        dropped = reached_n - counts[i + 1] if i + 1 < len(STEPS) else None
        before = counts[i - 1] if i else total
        table.add([label, reached_n, dropped, _pct(reached_n, before), _pct(reached_n, total)],
                  drill(f, "reached", key))
    if not total:
        table.rows, table.links = [], []
    return table


def _pct(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def _medians_per_row(f: ReportFilters) -> dict:
    """Every stage change of the range (a source or campaign filter: not in the rollup)."""
    c = ReportStageChange
    days = (func.extract("epoch", c.occurred_at - c.entered_at) / 86400).cast(Float)
    query = (select(c.from_stage, func.count(), func.percentile_cont(0.5).within_group(days))
             .where(c.occurred_at >= f.start, c.occurred_at < f.end).group_by(c.from_stage)
             .join(Lead, Lead.id == c.lead_id).where(*lead_conditions(f)))
    return {stage: (n, median) for stage, n, median in reads.execute(query)}


def _middle(buckets: dict[int, int], known: int) -> list[tuple[int, int]]:
    """The (bucket, rank inside it) of the one or two middle values of `known` durations."""
    picks = []
    for rank in ((known - 1) // 2, known // 2):
        below = 0
        for bucket in sorted(b for b in buckets if b >= 0):
            if rank < below + buckets[bucket]:
                picks.append((bucket, rank - below))
                break
            below += buckets[bucket]
    return picks


def _medians(f: ReportFilters) -> dict:
    """Per stage left: (changes, exact median days) — percentile_cont(0.5) of every change's
    days, computed from the bucket counts (ReportStageDays) and the changes of the median's
    bucket(s) only (an index-only scan of ix_report_stage_changes_stage_bucket), two statements
    whatever the range."""
    if f.source or f.campaign:
        return _medians_per_row(f)
    r, c = ReportStageDays, ReportStageChange
    counts = select(r.from_stage, r.bucket, func.sum(r.n)).where(rollup_periods(r, f)).group_by(r.from_stage, r.bucket)
    if f.rep_id:
        counts = counts.where(r.rep_id == f.rep_id)
    per_stage: dict = {}
    for stage, bucket, n in reads.execute(counts):
        per_stage.setdefault(stage, {})[bucket] = int(n)
    result, wanted = {}, {}
    for stage, buckets in per_stage.items():
        total = sum(buckets.values())
        if not total:
            continue  # a key the triggers left at zero
        result[stage] = (total, None)
        known = total - buckets.get(-1, 0)  # -1: no time known (percentile_cont skips NULL)
        if known:
            wanted[stage] = _middle(buckets, known)
    if not wanted:
        return result
    bucket = c.days_bucket
    days = (func.extract("epoch", c.occurred_at - c.entered_at) / 86400).cast(Float)
    pairs = [and_(c.from_stage.is_(None) if stage is None else c.from_stage == stage, bucket == b)
             for stage, picks in wanted.items() for b in sorted({b for b, _ in picks})]
    query = select(c.from_stage, bucket, days).where(c.occurred_at >= f.start, c.occurred_at < f.end, or_(*pairs))
    if f.rep_id:
        query = query.where(c.rep_id == f.rep_id)
    values: dict = {}
    for stage, b, value in reads.execute(query):
        values.setdefault((stage, b), []).append(value)
    for found in values.values():
        found.sort()
    for stage, ((b1, i1), (b2, i2)) in wanted.items():
        low, high = values[(stage, b1)][i1], values[(stage, b2)][i2]
        # as percentile_cont interpolates: low + 0.5 × (high − low)
        result[stage] = (result[stage][0], low if (b1, i1) == (b2, i2) else low + 0.5 * (high - low))
    return result


def days_in_stage(f: ReportFilters) -> Table:
    """Stage changes in the range; the time since the lead entered the stage it left (the
    rollups of the log's stage changes, app.reports.models)."""
    rows = _medians(f)
    table = Table("days", "Days in stage", [Column("Stage left"), Column("Leads that left it", "int"),
                                            Column("Median days in it", "days")], chart=2,
                  note="Each stage change in the range: how long the lead had been in the stage it left.",
                  empty="No lead changed stage in this range.")
    for stage in (*report_settings.OPEN_STAGES, LeadStage.WON, LeadStage.LOST, LeadStage.BOGUS):
        if stage.value in rows:
            n, median = rows[stage.value]
            table.add([STAGE_LABELS[stage], n, Decimal(str(round(median, 1))) if median is not None else None],
                      drill(f, "left", stage.value))
    return table


def build(f: ReportFilters) -> list[Table]:
    return [open_pipeline(f), funnel(f), days_in_stage(f)]


