"""/outbox/customers (development only, with the outbox blueprint): the e-mails and texts the
`outbox` backends "sent" to leads, newest first, each with "reply as the customer" through the
channel's real ingest path — a signed gateway event posted to /webhooks/sms by a job for a text
(app.inbox.sms.dev_reply), the inbound e-mail ingest for an e-mail (app.inbox.email.dev_reply)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import flash, redirect, url_for
from sqlalchemy import select

from app.auth.permissions import INBOX, require
from app.errors import abort_with
from app.extensions import db
from app.htmx import render
from app.inbox.email.dev_reply import reply_as_customer
from app.inbox.forms import CustomerReplyForm
from app.inbox.models import EmailMessage, MessageDirection
from app.inbox.sms.dev_reply import reply_event
from app.inbox.sms.models import SmsOutboxMessage
from app.integrations.models import OutboxMessage
from app.integrations.outbox_views import bp
from app.queue import enqueue
from app.urls import absolute_url

LIMIT = 200


@dataclass(frozen=True)
class Sent:
    """One message to a customer, whatever its channel."""

    channel: str  # "sms" | "email"
    id: object
    at: datetime
    to: str
    text: str
    outbox_url: str | None = None  # an e-mail's full view


def _email_rows():
    return db.session.execute(
        select(OutboxMessage, EmailMessage).join(EmailMessage, EmailMessage.message_id == OutboxMessage.message_key)
        .where(EmailMessage.direction == MessageDirection.OUTBOUND)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id).limit(LIMIT)).all()


def _sent() -> list[Sent]:
    texts = db.session.scalars(select(SmsOutboxMessage).order_by(SmsOutboxMessage.created_at.desc(),
                                                                 SmsOutboxMessage.id).limit(LIMIT)).all()
    rows = [Sent("sms", t.id, t.created_at, t.to_number, t.body) for t in texts]
    rows += [Sent("email", sent.id, sent.created_at, sent.to_address, sent.subject or "",
                  url_for("outbox.message", message_id=sent.id)) for sent, _ in _email_rows()]
    return sorted(rows, key=lambda r: r.at, reverse=True)[:LIMIT]


def _page(form: CustomerReplyForm | None = None, replying_to=None, status: int = 200):
    return render("inbox/outbox.html", status=status, context=dict(
        messages=_sent(), form=form or CustomerReplyForm(formdata=None), replying_to=replying_to))


@bp.get("/customers")
@require(INBOX)
def customers():
    return _page()


@bp.post("/<channel>/<uuid:message_id>/reply")
@require(INBOX)
def reply(channel: str, message_id):
    if channel == "sms":
        sent = db.session.get(SmsOutboxMessage, message_id)
    elif channel != "email":
        sent = None
    else:
        sent = db.session.execute(
            select(EmailMessage).join(OutboxMessage, EmailMessage.message_id == OutboxMessage.message_key)
            .where(OutboxMessage.id == message_id)).scalar_one_or_none()
    if sent is None:
        abort_with(404, "That message is not in the outbox.")
    form = CustomerReplyForm()
    if not form.validate_on_submit():
        return _page(form, replying_to=message_id, status=422)
    if channel == "sms":
        event = reply_event(customer=sent.to_number, our_number=sent.from_number, text=form.body.data)
        enqueue("sms", "app.inbox.sms.dev_reply.deliver_reply", absolute_url("webhooks.sms_webhook"), event)
        message = "The customer's reply is on its way (through /webhooks/sms)."
    else:
        reply_as_customer(sent, form.body.data)
        message = "The customer's reply arrived (through the inbound e-mail ingest)."
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("outbox.customers"))
