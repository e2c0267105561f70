"""The rollups the reports read (report_stage_changes, report_daily_work) equal a recomputation
from the activity log, whichever way the activities were written."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import text

from app.activity.services import activity_values, record, record_many
from app.auth.models import UserRole
from app.crm.models import LeadStage
from app.crm.pipeline.moves import move_lead_to_stage
from app.inbox.calls.services import log_call
from app.inbox.models import CallOutcome, MessageDirection
from app.reports.models import ReportDailyWork, ReportStageChange


def _snapshot(db_session):
    changes = sorted((r.activity_id, r.lead_id, r.from_stage, r.to_stage, r.occurred_at, r.entered_at)
                     for r in db_session.query(ReportStageChange))
    work = sorted((r.day, r.user_id, r.kind, r.outcome, r.n) for r in db_session.query(ReportDailyWork))
    return changes, work


def test_rollups_equal_a_recomputation(db_session, factory):
    rep, other = factory.user(UserRole.REP), factory.user(UserRole.ADMIN)
    start = datetime(2030, 1, 6, 9, tzinfo=UTC)
    lead = factory.lead(created_at=start - timedelta(days=3))
    second = factory.lead(created_at=start - timedelta(days=10))
    move_lead_to_stage(lead.id, LeadStage.HOT, actor=rep, now=start)
    move_lead_to_stage(lead.id, LeadStage.QUOTED, actor=rep, now=start + timedelta(days=2, hours=5))
    move_lead_to_stage(lead.id, LeadStage.LOST, actor=other, now=start + timedelta(days=9), lost_reason="No budget")
    move_lead_to_stage(second.id, LeadStage.WON, actor=None, now=start + timedelta(hours=1))  # the system's
    log_call(lead, actor=rep, direction=MessageDirection.OUTBOUND, outcome=CallOutcome.NO_ANSWER)
    log_call(lead, actor=rep, direction=MessageDirection.OUTBOUND, outcome=CallOutcome.NO_ANSWER)
    log_call(second, actor=other, direction=MessageDirection.OUTBOUND, outcome=CallOutcome.CONNECTED)
    record("email.sent", "x", actor=rep, lead=lead, occurred_at=start + timedelta(days=1, hours=23, minutes=59))
    record("note.added", "x", actor=rep, lead=lead, occurred_at=start + timedelta(days=2))
    record("task.created", "not work the reports count", actor=rep, lead=lead)
    record_many([activity_values("sms.sent", "bulk", actor=other, lead=second, occurred_at=start + timedelta(days=1))
                 for _ in range(3)])
    db_session.flush()

    kept = _snapshot(db_session)
    changes, work = kept
    assert len(changes) == 4
    hot = next(c for c in changes if c[3] == "HOT")
    assert hot[2] == "NEW_LEAD" and hot[5] == lead.created_at  # entered at the lead's creation
    quoted = next(c for c in changes if c[3] == "QUOTED")
    assert quoted[5] == start  # entered when it was moved to Hot
    assert (start.date(), rep.id, "lead.stage_changed", "", 1) in work
    assert any(w[1] == rep.id and w[2] == "call" and w[3] == "NO_ANSWER" and w[4] == 2 for w in work)
    assert (start.date() + timedelta(days=1), other.id, "sms.sent", "", 3) in work
    assert not any(w[2] == "task.created" for w in work)

    db_session.execute(text("SELECT report_rollups_rebuild()"))
    db_session.expire_all()
    assert _snapshot(db_session) == kept


def _funnel(db_session):
    """The leads' rollup as (span, day, rep, source, campaign, top) -> counts, rows at zero left out
    (the triggers leave a key at zero when its last lead moves away; the rebuild has no such row)."""
    rows = db_session.execute(text(
        "SELECT span, day, rep_id, source, campaign, top, leads, won, lost, revenue_won FROM report_lead_funnel "
        "WHERE leads <> 0 OR won <> 0 OR lost <> 0 OR revenue_won <> 0")).all()
    return {tuple(r[:6]): tuple(r[6:]) for r in rows}


def test_lead_funnel_rollup_equals_a_recomputation(db_session, factory):
    """Every change that moves a lead in the funnel rollup (report_lead_funnel) or changes its
    rep (leads.rep_id): the trigger-kept rows equal report_rollups_rebuild()'s recount."""
    from app.crm.models import Company, Lead

    rep, other = factory.user(UserRole.REP), factory.user(UserRole.REP)
    start = datetime(2030, 1, 30, 22, tzinfo=UTC)  # month and day edges in UTC
    mine, theirs, nobody = factory.company(assigned_rep_id=rep.id), factory.company(assigned_rep_id=other.id), \
        factory.company()
    a = factory.lead(company=mine, created_at=start, source="Google Maps")
    b = factory.lead(company=mine, created_at=start + timedelta(hours=3), source="Plusvibe", source_campaign="Q1")
    c = factory.lead(company=theirs, created_at=start - timedelta(days=40), source=None)
    d = factory.lead(company=nobody, created_at=start + timedelta(days=2))
    gone = factory.lead(company=theirs, created_at=start)
    db_session.flush()
    assert (a.rep_id, c.rep_id, d.rep_id) == (rep.id, other.id, None)  # the company's rep, by trigger

    move_lead_to_stage(a.id, LeadStage.QUOTED, actor=rep, now=start + timedelta(days=1))
    move_lead_to_stage(a.id, LeadStage.HOT, actor=rep, now=start + timedelta(days=2))  # furthest stays Quoted
    move_lead_to_stage(b.id, LeadStage.WON, actor=rep, now=start + timedelta(days=3))
    move_lead_to_stage(c.id, LeadStage.LOST, actor=other, now=start, lost_reason="Price")
    # stage changes written straight into the log: one further than the lead's stage now
    record_many([activity_values("lead.stage_changed", "imported", actor=None, lead=d,
                                 detail={"from": "NEW_LEAD", "to": to}, occurred_at=start + timedelta(days=3, hours=i))
                 for i, to in enumerate(("QUALIFIED", "BUY_PERIOD_60", "HOT"))])
    db_session.flush()
    after_moves = _funnel(db_session)
    day_of = {(k[1], k[2], k[3], k[5]): v for k, v in after_moves.items() if k[0] == "day"}
    assert day_of[(start.date(), rep.id, "Google Maps", 3)][0] == 1  # a: reached Quoted
    assert day_of[((start + timedelta(days=2)).date(), None, None, 4)][0] == 1  # d: a buying period, by the log
    assert day_of[((start + timedelta(hours=3)).date(), rep.id, "Plusvibe", 5)] == (1, 1, 0, Decimal("790.00"))

    db_session.execute(text("SELECT report_rollups_rebuild()"))
    assert _funnel(db_session) == after_moves

    # a company changes hands, a lead changes company, source and revenue, a company and a lead go
    db_session.get(Company, mine.id).assigned_rep_id = other.id
    db_session.flush()
    db_session.get(Lead, c.id).company_id = nobody.id
    db_session.get(Lead, b.id).estimated_revenue = Decimal("1000.50")
    db_session.get(Lead, d.id).source = "Referral"
    db_session.get(Company, nobody.id).assigned_rep_id = rep.id
    db_session.flush()
    db_session.delete(db_session.get(Lead, gone.id))
    db_session.flush()
    db_session.expire_all()
    assert db_session.get(Lead, a.id).rep_id == other.id
    assert db_session.get(Lead, c.id).rep_id == rep.id and db_session.get(Lead, d.id).rep_id == rep.id
    db_session.execute(text("DELETE FROM companies WHERE id = :id"), {"id": mine.id})  # its leads keep no company
    db_session.expire_all()
    assert db_session.get(Lead, a.id).rep_id is None and db_session.get(Lead, b.id).company_id is None
    kept = _funnel(db_session)
    assert kept != after_moves
    assert sum(v[0] for k, v in kept.items() if k[0] == "day") == 4
    assert sum(v[0] for k, v in kept.items() if k[0] == "month") == 4

    db_session.execute(text("SELECT report_rollups_rebuild()"))
    assert _funnel(db_session) == kept
    recount = db_session.execute(text(
        "SELECT count(*) FROM leads l LEFT JOIN companies co ON co.id = l.company_id "
        "WHERE l.rep_id IS DISTINCT FROM co.assigned_rep_id")).scalar()
    assert recount == 0


def _stage_days(db_session):
    rows = db_session.execute(text(
        "SELECT span, day, rep_id, from_stage, bucket, n FROM report_stage_days WHERE n <> 0")).all()
    return {tuple(r[:5]): r[5] for r in rows}


def test_median_days_in_stage_from_the_buckets_is_percentile_cont(db_session, factory):
    """The pipeline report's median days in stage (bucket counts, then the changes of the
    median's bucket only) equals percentile_cont(0.5) over every stage change of the range, to
    the last bit, with and without a rep, over whole months and edge days; the bucket rollup
    kept by triggers equals its rebuild, also after a company changes hands."""
    import random

    from app.crm.models import Company
    from app.reports.filters import ReportFilters
    from app.reports.pipeline import queries as pipeline

    rep, other = factory.user(UserRole.REP), factory.user(UserRole.REP)
    companies = [factory.company(assigned_rep_id=rep.id), factory.company(assigned_rep_id=other.id),
                 factory.company()]
    base = datetime(2031, 1, 1, tzinfo=UTC)
    rng = random.Random(13)
    values = []
    for i in range(24):
        lead = factory.lead(company=companies[i % 3], created_at=base - timedelta(days=rng.randint(0, 30)))
        when = base
        for _ in range(rng.randint(1, 6)):
            # some changes seconds apart, some many days: several per bucket, odd and even counts
            when += timedelta(seconds=rng.choice([30, 600, 3600 * 5, 86400 * rng.randint(1, 40)]) + rng.random())
            values.append(activity_values("lead.stage_changed", "moved", actor=None, lead=lead, occurred_at=when,
                                          detail={"from": rng.choice(["NEW_LEAD", "HOT", "QUOTED"]),
                                                  "to": rng.choice(["HOT", "QUOTED", "LOST"])}))
    record_many(values)
    db_session.flush()

    def exact(f):
        c = ReportStageChange
        from sqlalchemy import Float, func, select

        from app.crm.models import Lead

        days = (func.extract("epoch", c.occurred_at - c.entered_at) / 86400).cast(Float)
        query = (select(c.from_stage, func.count(), func.percentile_cont(0.5).within_group(days))
                 .where(c.occurred_at >= f.start, c.occurred_at < f.end).group_by(c.from_stage))
        if f.rep_id:
            query = query.join(Lead, Lead.id == c.lead_id).where(Lead.rep_id == f.rep_id)
        return {stage: (n, median) for stage, n, median in db_session.execute(query)}

    ranges = [(date(2031, 1, 1), date(2031, 12, 31)), (date(2031, 1, 9), date(2031, 3, 20)),
              (date(2031, 2, 3), date(2031, 2, 17)), (date(2030, 12, 15), date(2031, 5, 31))]

    def check():
        checked = 0
        for first, last in ranges:
            for rep_id in (None, rep.id, other.id):
                f = ReportFilters("custom", first, last, rep_id)
                expected = exact(f)
                assert pipeline._medians(f) == expected, (first, last, rep_id)
                checked += sum(n for n, _ in expected.values())
        assert checked > 100

    check()
    kept = _stage_days(db_session)
    db_session.execute(text("SELECT report_rollups_rebuild()"))
    assert _stage_days(db_session) == kept

    db_session.get(Company, companies[0].id).assigned_rep_id = other.id  # rep's leads move to the other
    db_session.flush()
    check()
    moved = _stage_days(db_session)
    assert moved != kept
    db_session.execute(text("SELECT report_rollups_rebuild()"))
    assert _stage_days(db_session) == moved

    # a bulk load runs with the triggers off (bench.generate: replica role): the rebuild alone
    # sets each change's rep and bucket, then the counts
    db_session.execute(text("SET LOCAL session_replication_role = replica"))
    db_session.execute(text("UPDATE report_stage_changes SET rep_id = NULL, days_bucket = -1"))
    db_session.execute(text("SELECT report_rollups_rebuild()"))
    db_session.execute(text("SET LOCAL session_replication_role = origin"))
    assert _stage_days(db_session) == moved
    check()


def test_rep_open_days_and_the_stale_count(db_session, factory):
    """report_rep_open_days (a rep's open leads per day they entered their stage) equals its
    rebuild after moves, a company changing hands and a deleted lead; the rep's home counts
    the stale deals from it exactly, the cutoff falling inside a day with leads on both sides."""
    from sqlalchemy import func, select

    from app.crm.models import Company, Lead
    from app.home.rep import _stale_leads
    from app.reports.settings import OPEN_STAGES

    rep, other = factory.user(UserRole.REP), factory.user(UserRole.REP)
    mine, theirs = factory.company(assigned_rep_id=rep.id), factory.company(assigned_rep_id=other.id)
    cutoff = datetime(2031, 6, 10, 12, tzinfo=UTC)
    leads = []
    for i, hours in enumerate((-400, -30, -13, -1, 1, 5, 30, -2000)):  # around the cutoff, both sides of noon
        leads.append(factory.lead(company=mine if i % 4 else theirs, stage=LeadStage.HOT,
                                  stage_changed_at=cutoff + timedelta(hours=hours)))
    won = factory.lead(company=mine, stage=LeadStage.WON, stage_changed_at=cutoff - timedelta(days=9))
    db_session.flush()
    db_session.get(Lead, leads[1].id).stage = LeadStage.LOST
    db_session.get(Lead, won.id).stage = LeadStage.QUOTED  # reopened
    db_session.get(Lead, leads[2].id).stage_changed_at = cutoff - timedelta(days=3)
    db_session.flush()
    db_session.get(Company, theirs.id).assigned_rep_id = rep.id
    db_session.flush()
    db_session.delete(db_session.get(Lead, leads[3].id))
    db_session.flush()

    def days():
        return sorted(db_session.execute(text(
            "SELECT rep_id, day, n FROM report_rep_open_days WHERE n <> 0")).all())

    kept = days()
    db_session.execute(text("SELECT report_rollups_rebuild()"))
    assert days() == kept
    for rep_id in (rep.id, other.id):
        for moment in (cutoff, cutoff + timedelta(hours=3), cutoff - timedelta(hours=12, seconds=1)):
            expected = db_session.scalar(select(func.count()).select_from(Lead).where(
                Lead.rep_id == rep_id, Lead.stage.in_(OPEN_STAGES), Lead.stage_changed_at < moment))
            rows = _stale_leads(rep_id, moment).unique().all()
            assert (rows[0][1] if rows else 0) == expected
    assert expected == 0 and db_session.scalar(select(func.count()).select_from(Lead).where(
        Lead.rep_id == rep.id, Lead.stage.in_(OPEN_STAGES), Lead.stage_changed_at < cutoff)) == 4


def _won_lost(db_session):
    """The won & lost rollup as key -> (n, units, revenue), rows at zero left out."""
    rows = db_session.execute(text(
        "SELECT span, day, rep_id, source, campaign, outcome, reason, n, units, revenue FROM report_won_lost "
        "WHERE n <> 0 OR units <> 0 OR revenue <> 0")).all()
    return {tuple(r[:7]): tuple(r[7:]) for r in rows}


def _expected_won_lost(db_session, f):
    """The won & lost report's numbers computed in Python from every lead (no rollup)."""
    from app.crm.models import Lead
    from app.reports.scope import NONE
    from app.reports.won_lost.queries import fold_reason

    def kept(lead):
        return ((not f.rep_id or lead.rep_id == f.rep_id)
                and (not f.source or lead.source == (None if f.source == NONE else f.source))
                and (not f.campaign or lead.source_campaign == (None if f.campaign == NONE else f.campaign)))

    leads = [lead for lead in db_session.query(Lead) if kept(lead)]
    won: dict[str, list] = {}
    for lead in leads:
        if lead.stage == LeadStage.WON and lead.won_at and f.start <= lead.won_at < f.end:
            row = won.setdefault(lead.won_at.astimezone(UTC).strftime("%Y-%m"), [0, 0, Decimal("0")])
            row[0] += 1
            row[1] += lead.estimated_units or 0
            row[2] += lead.estimated_revenue or 0
    groups: dict[str, dict] = {}
    for lead in leads:
        if lead.stage in (LeadStage.LOST, LeadStage.BOGUS) and lead.lost_at and f.start <= lead.lost_at < f.end:
            g = groups.setdefault(fold_reason(lead.lost_reason), {"lost": 0, "bogus": 0, "spellings": {}})
            g["lost" if lead.stage == LeadStage.LOST else "bogus"] += 1
            spelling = " ".join((lead.lost_reason or "").split())
            g["spellings"][spelling] = g["spellings"].get(spelling, 0) + 1
    reasons = sorted(([min(g["spellings"].items(), key=lambda kv: (-kv[1], kv[0]))[0] or "(no reason)",
                       g["lost"], g["bogus"], g["lost"] + g["bogus"]] for g in groups.values()),
                     key=lambda row: (-row[3], fold_reason(row[0]) if row[0] != "(no reason)" else ""))
    lost_value = sum((lead.estimated_revenue or 0 for lead in leads if lead.stage == LeadStage.LOST
                      and lead.lost_at and f.start <= lead.lost_at < f.end), Decimal("0"))
    return [[m, *v] for m, v in sorted(won.items())], reasons, lost_value


def test_won_lost_rollup_equals_a_recomputation_and_the_report_the_leads(app, db_session, factory):
    """report_won_lost (migration 0032) kept by triggers equals report_rollups_rebuild()'s
    recount after every kind of change to a lead; and the won & lost report read from it
    equals the numbers computed from the leads themselves, over several ranges, reps, sources
    and campaigns."""
    import random

    from app.crm.models import Company, Lead
    from app.reports.filters import ReportFilters
    from app.reports.won_lost import queries as won_lost

    rep, other = factory.user(UserRole.REP), factory.user(UserRole.REP)
    companies = [factory.company(assigned_rep_id=rep.id), factory.company(assigned_rep_id=other.id),
                 factory.company()]
    base = datetime(2032, 1, 1, tzinfo=UTC)
    rng = random.Random(32)
    spellings = ["Too expensive", "too  EXPENSIVE ", "Too expensive", "No budget", None, "", "Duplicate"]
    leads = []
    for i in range(60):
        stage = rng.choice([LeadStage.WON, LeadStage.LOST, LeadStage.BOGUS, LeadStage.HOT])
        when = base + timedelta(days=rng.randint(-20, 200), hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
        values = dict(company=companies[i % 3], stage=stage, source=rng.choice(["Google Maps", "Plusvibe", None]),
                      source_campaign=rng.choice(["Q1", None]), estimated_units=rng.choice([None, 1, 7, 30]),
                      estimated_revenue=rng.choice([None, Decimal("0.05"), Decimal("378.40"), Decimal("1200.99")]))
        if stage == LeadStage.WON:
            values["won_at"] = when if i % 11 else None  # a won lead without its date counts nowhere
        elif stage in (LeadStage.LOST, LeadStage.BOGUS):
            values.update(lost_at=when, lost_reason=rng.choice(spellings))
        leads.append(factory.lead(**values))
    db_session.flush()
    # moves through the app: won, lost with a reason, won again (a lost lead reopened and won)
    move_lead_to_stage(leads[3].id, LeadStage.WON, actor=rep, now=base + timedelta(days=40))
    move_lead_to_stage(leads[4].id, LeadStage.LOST, actor=rep, now=base + timedelta(days=31, hours=23),
                       lost_reason="NO budget")
    move_lead_to_stage(leads[5].id, LeadStage.LOST, actor=rep, now=base + timedelta(days=59), lost_reason="x")
    move_lead_to_stage(leads[5].id, LeadStage.WON, actor=rep, now=base + timedelta(days=60))
    db_session.flush()

    def rebuilt_equals_kept():
        kept = _won_lost(db_session)
        db_session.execute(text("SELECT report_rollups_rebuild()"))
        assert _won_lost(db_session) == kept
        return kept

    first = rebuilt_equals_kept()
    assert sum(v[0] for k, v in first.items() if k[0] == "day") == sum(v[0] for k, v in first.items()
                                                                       if k[0] == "month") > 40

    # each column the rollup keys or sums on changes alone (one lead each), on each outcome
    won = [lead for lead in leads if lead.stage == LeadStage.WON and lead.won_at]
    lost = [lead for lead in leads if lead.stage == LeadStage.LOST and lead.estimated_revenue]
    bogus = [lead for lead in leads if lead.stage == LeadStage.BOGUS]
    changes = [(won[0], "won_at", datetime(2032, 3, 31, 23, 30, tzinfo=UTC)), (won[1], "estimated_units", 99),
               (won[2], "estimated_revenue", Decimal("12.34")), (won[3], "source", "Referral"),
               (lost[0], "lost_reason", "  No   Budget"), (lost[1], "lost_at", datetime(2032, 4, 1, 0, 5, tzinfo=UTC)),
               (lost[2], "estimated_revenue", None), (lost[3], "source_campaign", "Q9"),
               (bogus[0], "stage", LeadStage.LOST), (bogus[1], "lost_reason", "Spam"),
               (won[4], "stage", LeadStage.HOT)]
    second = first
    for lead, column, value in changes:
        assert getattr(lead, column) != value
        setattr(lead, column, value)
        db_session.flush()
        kept = rebuilt_equals_kept()
        assert kept != second, column
        second = kept

    # a company changes hands, a lead changes company, a lead and a company go, a lead comes
    db_session.get(Company, companies[0].id).assigned_rep_id = other.id
    db_session.flush()
    db_session.get(Lead, leads[1].id).company_id = companies[2].id
    db_session.flush()
    db_session.delete(db_session.get(Lead, leads[7].id))
    db_session.flush()
    db_session.execute(text("DELETE FROM companies WHERE id = :id"), {"id": companies[1].id})
    factory.lead(company=companies[0], stage=LeadStage.BOGUS, lost_at=base + timedelta(days=3), lost_reason="Spam")
    db_session.flush()
    db_session.expire_all()
    third = rebuilt_equals_kept()
    assert third != second

    ranges = [(date(2032, 1, 1), date(2032, 12, 31)), (date(2032, 1, 9), date(2032, 4, 1)),
              (date(2032, 2, 3), date(2032, 2, 17)), (date(2031, 12, 15), date(2032, 7, 31)),
              (date(2032, 4, 1), date(2032, 4, 1))]
    checked = 0
    with app.test_request_context():
        for first_day, last_day in ranges:
            for rep_id, source, campaign in ((None, None, None), (rep.id, None, None), (other.id, None, None),
                                             (None, "Google Maps", None), (None, "(none)", None),
                                             (rep.id, "Plusvibe", "Q1"), (None, None, "(none)")):
                f = ReportFilters("custom", first_day, last_day, rep_id, source, campaign)
                expected_won, expected_reasons, lost_value = _expected_won_lost(db_session, f)
                won_table = won_lost.won_by_month(f)
                closed, reasons, rate = won_lost.closed_and_reasons(f, won_table)
                where = (first_day, last_day, rep_id, source, campaign)
                assert won_table.rows == expected_won, where
                assert reasons.rows == expected_reasons, where
                n_won, n_lost = sum(r[1] for r in expected_won), sum(r[1] for r in expected_reasons)
                if closed.rows:
                    assert closed.rows[1] == ["Lost", n_lost, lost_value], where
                if n_won + n_lost:
                    assert rate == (Decimal(n_won) * 100 / (n_won + n_lost)).quantize(Decimal("0.1")), where
                checked += n_won + sum(r[3] for r in expected_reasons)
    assert checked > 200
