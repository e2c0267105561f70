"""The rep activity report: calls (by outcome), e-mails, texts, notes, stage moves and
meetings per rep, and per rep per week. Meetings are the bookings of the rep's leads (by the
meeting's start); the rest come from the activity log (who did it, when), as on the owner's
home, through its daily rollup (app.reports.models.ReportDailyWork): calls are `call.logged`
and `call.voicemail_dropped`, whose detail names the outcome.
The source and campaign filters do not apply to work."""
from __future__ import annotations

import uuid
from datetime import date

from flask import url_for
from sqlalchemy import BigInteger, Date, cast, func, literal, select, union_all

from app.auth.models import User, UserRole
from app.crm.models import Company, Lead
from app.inbox.models import Booking, BookingStatus, CallOutcome
from app.reports import reads
from app.reports.filters import ReportFilters
from app.reports.models import ReportDailyWork
from app.reports.tables import Column, Table

KINDS = {"call": "Calls", "email.sent": "E-mails", "sms.sent": "Texts", "note.added": "Notes",
         "lead.stage_changed": "Stage moves", "meeting": "Meetings"}


def _work(f: ReportFilters):
    """(user_id, week, kind, n): the daily rollup of the log, and the meetings, grouped."""
    w = ReportDailyWork
    logged = (select(w.user_id.label("user_id"), cast(func.date_trunc("week", w.day), Date).label("week"),
                     w.kind.label("kind"), w.n.label("n"))
              .where(w.day >= f.first_day, w.day <= f.last_day))
    meetings = (select(Company.assigned_rep_id, cast(func.date_trunc("week", func.timezone("UTC", Booking.start_at)), Date),
                       literal("meeting"), literal(1))
                .join(Lead, Lead.id == Booking.lead_id).join(Company, Company.id == Lead.company_id)
                .where(Booking.start_at >= f.start, Booking.start_at < f.end,
                       Booking.status != BookingStatus.CANCELLED, Company.assigned_rep_id.isnot(None)))
    if f.rep_id:
        logged = logged.where(w.user_id == f.rep_id)
        meetings = meetings.where(Company.assigned_rep_id == f.rep_id)
    work = union_all(logged, meetings).subquery()
    return select(work.c.user_id, work.c.week, work.c.kind, cast(func.sum(work.c.n), BigInteger)).group_by(
        work.c.user_id, work.c.week, work.c.kind)


def build(f: ReportFilters) -> list[Table]:
    counted = reads.execute(_work(f)).all()
    w = ReportDailyWork
    outcomes_query = (select(w.user_id, w.outcome, cast(func.sum(w.n), BigInteger))
                      .where(w.kind == "call", w.day >= f.first_day, w.day <= f.last_day)
                      .group_by(w.user_id, w.outcome))
    if f.rep_id:
        outcomes_query = outcomes_query.where(w.user_id == f.rep_id)
    outcomes = reads.execute(outcomes_query).all()
    people_query = select(User).where(User.role.in_((UserRole.REP, UserRole.NICK, UserRole.ADMIN)))
    if f.rep_id:
        people_query = people_query.where(User.id == f.rep_id)
    people = {u.id: u for u in reads.execute(people_query).scalars()}
    names = {uid: u.full_name for uid, u in people.items()}
    active = {uid for uid, u in people.items() if u.is_active}

    per_rep: dict[uuid.UUID, dict[str, int]] = {uid: dict.fromkeys(KINDS, 0) for uid in active}
    per_week: dict[tuple[uuid.UUID, date], dict[str, int]] = {}
    for user_id, week, kind, n in counted:
        if user_id not in names:
            continue
        per_rep.setdefault(user_id, dict.fromkeys(KINDS, 0))[kind] += n
        per_week.setdefault((user_id, week), dict.fromkeys(KINDS, 0))[kind] += n

    kind_columns = [Column(label, "int") for label in KINDS.values()]
    totals = Table("reps", "Per rep", [Column("Rep"), *kind_columns, Column("Total", "int")], chart=len(KINDS) + 1,
                   note="The source and campaign filters do not apply here.",
                   empty="Nobody logged any work in this range.")
    ordered = sorted(per_rep.items(), key=lambda kv: (-sum(kv[1].values()), names.get(kv[0], "")))
    for user_id, counts in ordered:
        totals.add([names[user_id], *counts.values(), sum(counts.values())],
                   url_for("reports.activity", **f.as_args(rep=str(user_id))))
    weeks = Table("weeks", "Per rep per week", [Column("Rep"), Column("Week of", "date"), *kind_columns,
                                                Column("Total", "int")],
                  empty="Nobody logged any work in this range.")
    for (user_id, week), counts in sorted(per_week.items(), key=lambda kv: (names[kv[0][0]], kv[0][1])):
        weeks.add([names[user_id], week, *counts.values(), sum(counts.values())])

    outcome_columns = [Column(o.value.replace("_", " ").capitalize(), "int") for o in CallOutcome]
    calls = Table("calls", "Calls by outcome", [Column("Rep"), *outcome_columns, Column("Other", "int"),
                                                Column("Calls", "int")],
                  chart=len(CallOutcome) + 2, empty="No call was logged in this range.")
    by_rep: dict[uuid.UUID, dict[CallOutcome | None, int]] = {}
    known = {o.value: o for o in CallOutcome}
    for user_id, outcome_text, n in outcomes:
        if user_id in names:
            counts = by_rep.setdefault(user_id, {**dict.fromkeys(CallOutcome, 0), None: 0})
            counts[known.get(outcome_text)] += n
    for user_id, counts in sorted(by_rep.items(), key=lambda kv: (-sum(kv[1].values()), names[kv[0]])):
        calls.add([names[user_id], *counts.values(), sum(counts.values())],
                  url_for("reports.activity", **f.as_args(rep=str(user_id))))
    return [totals, calls, weeks]
