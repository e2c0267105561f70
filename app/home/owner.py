"""The owner's and admins' home: this month against the last, the pipe, the money owed,
the warehouse's queue and who is working. One statement per block."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import BigInteger, and_, cast, func, select

from app.auth.models import User, UserRole
from app.billing.models import Invoice, InvoiceStatus
from app.crm.models import Lead, LeadStage, LeadStageTotal
from app.crm.pipeline.moves import STAGE_LABELS
from app.extensions import db
from app.fulfillment.models import FulfillmentOrder, FulfillmentStatus
from app.reports import settings as report_settings
from app.reports.models import ReportDailyWork
from app.reports.settings import weighted

ZERO = Decimal("0.00")
WAITING = (FulfillmentStatus.PENDING, FulfillmentStatus.PICKING, FulfillmentStatus.PACKED)
# activity kinds counted as a rep's work, in the order the table shows them
# the kinds of the log's daily rollup (app.reports.models.ReportDailyWork): "call" is a
# call.logged or a call.voicemail_dropped
WORK = {"call": "Calls", "email.sent": "E-mails", "sms.sent": "Texts", "note.added": "Notes",
        "lead.stage_changed": "Stage moves"}


@dataclass
class Won:
    count: int
    revenue: Decimal
    units: int


@dataclass
class RepWeek:
    user: User
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class OwnerHome:
    month_start: date
    this_month: Won
    last_month: Won
    pipeline: list[tuple[LeadStage, str, int, Decimal, int, Decimal]]  # stage, label, count, value, %, weighted
    outstanding: tuple[int, Decimal]
    overdue: tuple[int, Decimal]
    waiting: tuple[int, datetime | None]
    week_start: date
    reps: list[RepWeek]

    @property
    def pipeline_value(self) -> Decimal:
        return sum((row[3] for row in self.pipeline), ZERO)

    @property
    def weighted_value(self) -> Decimal:
        return sum((row[5] for row in self.pipeline), ZERO)


def month_start(day: date, back: int = 0) -> date:
    year, month = day.year, day.month - back
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1)


def _at(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def owner_home(now: datetime | None = None) -> OwnerHome:
    now = now or datetime.now(UTC)
    today = now.date()
    this_start, last_start = month_start(today), month_start(today, 1)
    next_start = month_start(month_start(today) + timedelta(days=32))
    in_this = Lead.won_at >= _at(this_start)
    row = db.session.execute(
        select(func.count().filter(in_this), func.coalesce(func.sum(Lead.estimated_revenue).filter(in_this), 0),
               func.coalesce(func.sum(Lead.estimated_units).filter(in_this), 0),
               func.count().filter(~in_this), func.coalesce(func.sum(Lead.estimated_revenue).filter(~in_this), 0),
               func.coalesce(func.sum(Lead.estimated_units).filter(~in_this), 0))
        .where(Lead.stage == LeadStage.WON, Lead.won_at >= _at(last_start), Lead.won_at < _at(next_start))).one()

    probabilities = report_settings.stage_probabilities()
    totals = {stage: (count, revenue) for stage, count, revenue in db.session.execute(
        select(LeadStageTotal.stage, LeadStageTotal.lead_count, LeadStageTotal.revenue)
        .where(LeadStageTotal.stage.in_(report_settings.OPEN_STAGES)))}
    pipeline = []
    for stage in report_settings.OPEN_STAGES:
        count, revenue = totals.get(stage, (0, ZERO))
        pipeline.append((stage, STAGE_LABELS[stage], count, revenue, probabilities[stage],
                         weighted(revenue, probabilities[stage])))

    open_invoice = and_(Invoice.status.in_((InvoiceStatus.SENT, InvoiceStatus.PARTIAL)), Invoice.balance_due > 0)
    late = Invoice.due_date < today
    money = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Invoice.balance_due), 0),
               func.count().filter(late), func.coalesce(func.sum(Invoice.balance_due).filter(late), 0))
        .where(open_invoice)).one()
    waiting = db.session.execute(
        select(func.count(), func.min(FulfillmentOrder.created_at)).where(FulfillmentOrder.status.in_(WAITING))).one()

    week_start = today - timedelta(days=today.weekday())
    reps = rep_week(week_start)
    return OwnerHome(this_start, Won(row[0], row[1], row[2]), Won(row[3], row[4], row[5]), pipeline,
                     (money[0], money[1]), (money[2], money[3]), (waiting[0], waiting[1]), week_start, reps)


def rep_week(week_start: date) -> list[RepWeek]:
    """Each active rep's (and owner's, admin's) work since Monday, from the log's daily rollup."""
    w = ReportDailyWork
    counts = (select(w.user_id, w.kind, cast(func.sum(w.n), BigInteger).label("n")).where(w.day >= week_start, w.kind.in_(WORK))
              .group_by(w.user_id, w.kind).subquery())
    rows = db.session.execute(
        select(User, counts.c.kind, counts.c.n).outerjoin(counts, counts.c.user_id == User.id)
        .where(User.is_active.is_(True), User.role.in_((UserRole.REP, UserRole.NICK, UserRole.ADMIN)))
        .order_by(User.first_name, User.last_name, User.id)).all()
    by_user: dict[uuid.UUID, RepWeek] = {}
    for user, kind, n in rows:
        week = by_user.setdefault(user.id, RepWeek(user, {k: 0 for k in WORK}))
        if kind:
            week.counts[kind] = n
    return sorted(by_user.values(), key=lambda w: (-w.total, w.user.full_name))
