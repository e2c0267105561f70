"""A rep's day: what needs them now. One statement per block, whatever the rows."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from app.billing.models import Invoice, InvoiceStatus
from app.crm.models import Company, Contact, Lead, Task
from app.crm.pipeline import board
from app.extensions import db
from app.inbox.models import Booking, BookingStatus, Conversation
from app.reports.settings import OPEN_STAGES

SHOWN = 8  # rows a block lists; its count says how many there are in all


@dataclass
class Block:
    rows: list
    count: int
    extra: dict


def _block(result, extra_names: tuple[str, ...] = ()) -> Block:
    rows = result.unique().all() if hasattr(result, "unique") else list(result)
    if not rows:
        return Block([], 0, {name: 0 for name in extra_names})
    first = rows[0]
    return Block([r[0] for r in rows], first[1], {name: first[2 + i] for i, name in enumerate(extra_names)})


@dataclass
class MyDay:
    tasks: Block          # overdue and due today (extra: overdue)
    conversations: Block  # awaiting my reply
    bookings: Block       # today's, of my leads
    stale: Block          # my open leads longer than the threshold in their stage
    invoices: Block       # mine, sent, unpaid and past due (extra: balance)
    stale_days: int
    now: datetime


def day_bounds(now: datetime) -> tuple[datetime, datetime]:
    start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def _mine(query, user_id: uuid.UUID, company_column):
    return query.join(Company, Company.id == company_column).where(Company.assigned_rep_id == user_id)


def my_day(user_id: uuid.UUID, now: datetime | None = None) -> MyDay:
    now = now or datetime.now(UTC)
    start, end = day_bounds(now)
    tasks = db.session.execute(
        select(Task, func.count().over(), func.count().filter(Task.due_at < now).over())
        .where(Task.assigned_to_id == user_id, Task.is_completed.is_(False), Task.due_at < end)
        .options(joinedload(Task.lead).joinedload(Lead.contact), joinedload(Task.lead).joinedload(Lead.company),
                 joinedload(Task.company))
        .order_by(Task.due_at, Task.created_at).limit(SHOWN))
    # the inbox's "Needs reply · Mine" tab (app.inbox.queue.queries)
    conversations = db.session.execute(
        select(Conversation, func.count().over())
        .where(Conversation.user_id == user_id, Conversation.last_message_at.isnot(None),
               Conversation.is_archived.is_(False), Conversation.awaiting_reply.is_(True),
               Conversation.done_at.is_(None),
               or_(Conversation.snoozed_until.is_(None), Conversation.snoozed_until <= now))
        .options(joinedload(Conversation.contact).joinedload(Contact.company))
        .order_by(Conversation.last_message_at).limit(SHOWN))
    bookings = db.session.execute(
        _mine(select(Booking, func.count().over()).join(Lead, Lead.id == Booking.lead_id), user_id, Lead.company_id)
        .where(Booking.start_at >= start, Booking.start_at < end, Booking.status != BookingStatus.CANCELLED)
        .options(joinedload(Booking.lead).joinedload(Lead.company), joinedload(Booking.lead).joinedload(Lead.contact))
        .order_by(Booking.start_at).limit(SHOWN))
    stale_days = board.stale_after_days()
    stale = db.session.execute(
        _mine(select(Lead, func.count().over()), user_id, Lead.company_id)
        .where(Lead.stage.in_(OPEN_STAGES), Lead.stage_changed_at < now - timedelta(days=stale_days))
        .options(joinedload(Lead.company), joinedload(Lead.contact))
        .order_by(Lead.stage_changed_at).limit(SHOWN))
    invoices = db.session.execute(
        _mine(select(Invoice, func.count().over(), func.sum(Invoice.balance_due).over()), user_id, Invoice.company_id)
        .where(Invoice.status.in_((InvoiceStatus.SENT, InvoiceStatus.PARTIAL)), Invoice.balance_due > 0,
               Invoice.due_date < now.date())
        .options(joinedload(Invoice.company))
        .order_by(Invoice.due_date).limit(SHOWN))
    day = MyDay(_block(tasks, ("overdue",)), _block(conversations), _block(bookings), _block(stale),
                _block(invoices, ("balance",)), stale_days, now)
    day.invoices.extra["balance"] = day.invoices.extra["balance"] or Decimal("0.00")
    return day
