"""The rollups the reports read (report_stage_changes, report_daily_work) equal a recomputation
from the activity log, whichever way the activities were written."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
