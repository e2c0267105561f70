"""Rows the home and report tests need, with the values the numbers are computed from."""
from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from app.billing.models import Invoice, InvoiceStatus, Payment, PaymentMethod
from app.fulfillment.models import FulfillmentOrder, FulfillmentStatus
from app.inbox.models import Booking, BookingStatus, Conversation, ConversationChannel

_n = itertools.count(1)


def invoice(db_session, company, *, total: str, paid: str = "0.00", status=InvoiceStatus.SENT,
            sent_at: datetime | None = None, due=None, lead=None) -> Invoice:
    total_d, paid_d = Decimal(total), Decimal(paid)
    row = Invoice(company_id=company.id, lead_id=lead.id if lead else None,
                  invoice_number=f"T-{uuid.uuid4().hex[:8]}-{next(_n)}", status=status, subtotal=total_d,
                  total=total_d, amount_paid=paid_d, balance_due=total_d - paid_d, sent_at=sent_at, due_date=due)
    db_session.add(row)
    db_session.flush()
    return row


def payment(db_session, invoice_row, amount: str, method=PaymentMethod.CHECK, paid_at: datetime | None = None):
    row = Payment(invoice_id=invoice_row.id, amount=Decimal(amount), method=method, paid_at=paid_at)
    db_session.add(row)
    db_session.flush()
    return row


def order(db_session, company, *, created_at: datetime, status=FulfillmentStatus.PENDING, devices: int = 2,
          shipped_at: datetime | None = None) -> FulfillmentOrder:
    """An order of its own paid invoice (an invoice has one open order at most)."""
    invoice_row = invoice(db_session, company, total="10.00", paid="10.00", status=InvoiceStatus.PAID)
    row = FulfillmentOrder(invoice_id=invoice_row.id, company_id=invoice_row.company_id, status=status,
                           device_count=devices, created_at=created_at, shipped_at=shipped_at)
    db_session.add(row)
    db_session.flush()
    return row


def booking(db_session, lead, start: datetime, status=BookingStatus.SCHEDULED) -> Booking:
    row = Booking(cal_booking_uid=uuid.uuid4().hex, lead_id=lead.id, contact_id=lead.contact_id,
                  attendee_email="a@example.com", event_type_slug="demo", event_type_title="Demo call",
                  start_at=start, end_at=start + timedelta(minutes=30), status=status)
    db_session.add(row)
    db_session.flush()
    return row


def conversation(db_session, user, lead, *, awaiting=True, done=False, at: datetime,
                 channel=ConversationChannel.SMS) -> Conversation:
    row = Conversation(user_id=user.id, lead_id=lead.id, contact_id=lead.contact_id, channel=channel,
                       last_message_at=at, last_message_preview="Can you call me?", awaiting_reply=awaiting,
                       done_at=at if done else None)
    db_session.add(row)
    db_session.flush()
    return row
