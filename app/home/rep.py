"""A rep's day: what needs them now. One statement per block, whatever the rows."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import BigInteger, cast, func, or_, select
from sqlalchemy.orm import joinedload

from app.billing.models import Invoice, InvoiceStatus
from app.crm.models import Company, Contact, Lead, Task
from app.crm.pipeline import board
from app.extensions import db
from app.inbox.models import Booking, BookingStatus, Conversation
from app.reports.models import ReportRepOpenDays
from app.reports.settings import OPEN_STAGES
from app.sequences.models import SequenceRun, SequenceStatus

SHOWN = 8  # rows a block lists; its count says how many there are in all


@dataclass
class Block:
    rows: list
    count: int
    extra: dict


def _block(result, extra_names: tuple[str, ...] = (), empty: dict | None = None) -> Block:
    rows = result.unique().all()
    if not rows:
        return Block([], 0, empty or {name: 0 for name in extra_names})
    first = rows[0]
    return Block([r[0] for r in rows], first[1], {name: first[2 + i] for i, name in enumerate(extra_names)})


@dataclass
class MyDay:
    tasks: Block          # overdue and due today (extra: overdue)
    conversations: Block  # awaiting my reply
    bookings: Block       # today's, of my leads
    stale: Block          # my open leads longer than the threshold in their stage
    invoices: Block       # mine, sent, unpaid and past due (extra: balance)
    sequences: Block      # runs of my leads paused by a stop or a failed step: resume or cancel
    stale_days: int
    now: datetime


def day_bounds(now: datetime) -> tuple[datetime, datetime]:
    start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def _rep_companies(user_id: uuid.UUID):
    return select(Company.id).where(Company.assigned_rep_id == user_id)


def _first_rows(entity, where: list, order, options, *counts):
    """The first SHOWN rows and, in the same statement, how many match in all (uncorrelated
    scalar subqueries: computed once, on the narrow table, not over the joined rows)."""
    totals = [select(func.count()).select_from(entity).where(*where, *extra).scalar_subquery()
              for extra in ((), *counts)]
    return db.session.execute(select(entity, *totals).where(*where).options(*options)
                              .order_by(*order).limit(SHOWN))


def _stale_leads(user_id: uuid.UUID, cutoff: datetime):
    """The rep's open leads in their stage since before `cutoff`, the longest first, and how
    many in all: the days before the cutoff's day from report_rep_open_days (a row per day,
    kept by triggers), that day's leads from ix_leads_rep_id_open_stage_changed_at — a sum of
    ~2 years of rows and a short index range, however many stale deals a busy rep has."""
    cutoff_day = cutoff.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    open_lead = [Lead.rep_id == user_id, Lead.stage.in_(OPEN_STAGES)]
    before = (select(func.coalesce(func.sum(ReportRepOpenDays.n), 0))
              .where(ReportRepOpenDays.rep_id == user_id, ReportRepOpenDays.day < cutoff_day.date()).scalar_subquery())
    on_the_day = (select(func.count()).select_from(Lead)
                  .where(*open_lead, Lead.stage_changed_at >= cutoff_day, Lead.stage_changed_at < cutoff)
                  .scalar_subquery())
    return db.session.execute(
        select(Lead, cast(before + on_the_day, BigInteger)).where(*open_lead, Lead.stage_changed_at < cutoff)
        .options(joinedload(Lead.company), joinedload(Lead.contact))
        .order_by(Lead.stage_changed_at, Lead.id).limit(SHOWN))


def my_day(user_id: uuid.UUID, now: datetime | None = None) -> MyDay:
    now = now or datetime.now(UTC)
    start, end = day_bounds(now)
    tasks = _first_rows(
        Task, [Task.assigned_to_id == user_id, Task.is_completed.is_(False), Task.due_at < end],
        (Task.due_at, Task.created_at),
        (joinedload(Task.lead).joinedload(Lead.contact), joinedload(Task.lead).joinedload(Lead.company),
         joinedload(Task.company)),
        (Task.due_at < now,))
    # the inbox's "Needs reply · Mine" tab (app.inbox.queue.queries); written as the predicate
    # of ix_conversations_rep_needs_reply (`NOT is_archived`, not `IS false`) so the planner uses it
    conversations = _first_rows(
        Conversation, [Conversation.user_id == user_id, Conversation.last_message_at.isnot(None),
                       Conversation.awaiting_reply, Conversation.done_at.is_(None), ~Conversation.is_archived,
                       or_(Conversation.snoozed_until.is_(None), Conversation.snoozed_until <= now)],
        (Conversation.last_message_at,), (joinedload(Conversation.contact).joinedload(Contact.company),))
    bookings = _first_rows(
        Booking, [Booking.start_at >= start, Booking.start_at < end, Booking.status != BookingStatus.CANCELLED,
                  Booking.lead_id.in_(select(Lead.id).where(Lead.company_id.in_(_rep_companies(user_id))))],
        (Booking.start_at,), (joinedload(Booking.lead).joinedload(Lead.company),
                              joinedload(Booking.lead).joinedload(Lead.contact)))
    stale_days = board.stale_after_days()
    stale = _stale_leads(user_id, now - timedelta(days=stale_days))
    overdue_invoice = [Invoice.company_id.in_(_rep_companies(user_id)),
                       Invoice.status.in_((InvoiceStatus.SENT, InvoiceStatus.PARTIAL)), Invoice.balance_due > 0,
                       Invoice.due_date < now.date()]
    balance = select(func.coalesce(func.sum(Invoice.balance_due), 0)).where(*overdue_invoice).scalar_subquery()
    invoices = db.session.execute(
        select(Invoice, select(func.count()).select_from(Invoice).where(*overdue_invoice).scalar_subquery(), balance)
        .where(*overdue_invoice).options(joinedload(Invoice.company)).order_by(Invoice.due_date, Invoice.id)
        .limit(SHOWN))
    # a sequence's call steps are CALL tasks (in `tasks` above); what else needs the rep is a
    # run that stopped itself (a reply, a failed send) and waits for resume or cancel
    sequences = _first_rows(
        SequenceRun, [SequenceRun.status == SequenceStatus.PAUSED,
                      SequenceRun.lead_id.in_(select(Lead.id).where(Lead.company_id.in_(_rep_companies(user_id))))],
        (SequenceRun.paused_at.desc().nulls_last(), SequenceRun.id),
        (joinedload(SequenceRun.lead).joinedload(Lead.company), joinedload(SequenceRun.lead).joinedload(Lead.contact),
         joinedload(SequenceRun.sequence_def)))
    return MyDay(_block(tasks, ("overdue",)), _block(conversations), _block(bookings), _block(stale),
                 _block(invoices, ("balance",), {"balance": Decimal("0.00")}), _block(sequences), stale_days, now)
