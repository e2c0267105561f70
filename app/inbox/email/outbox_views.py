"""/outbox/email (development only, with the outbox blueprint): the lead e-mails the `outbox`
mail backend "sent", each with "reply as the customer", fed through the same ingest service
a real mailbox would use (ingest_inbound_email)."""
from __future__ import annotations

import uuid

from flask import flash, redirect, url_for
from sqlalchemy import select

from app.auth.permissions import INBOX, require
from app.errors import abort_with
from app.extensions import db
from app.htmx import render
from app.inbox.email.forms import EmailReplyForm
from app.inbox.email.services import ingest_inbound_email
from app.inbox.models import EmailMessage, MessageDirection
from app.integrations.models import OutboxMessage
from app.integrations.outbox_views import bp


def _page(form: EmailReplyForm | None = None, replying_to=None, status: int = 200):
    rows = db.session.execute(
        select(OutboxMessage, EmailMessage).join(EmailMessage, EmailMessage.message_id == OutboxMessage.message_key)
        .where(EmailMessage.direction == MessageDirection.OUTBOUND)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id).limit(200)).all()
    return render("inbox/email/outbox.html", status=status, context=dict(
        rows=rows, form=form or EmailReplyForm(formdata=None), replying_to=replying_to))


@bp.get("/email")
@require(INBOX)
def email_outbox():
    return _page()


@bp.post("/email/<uuid:message_id>/reply")
@require(INBOX)
def email_outbox_reply(message_id):
    row = db.session.execute(
        select(OutboxMessage, EmailMessage).join(EmailMessage, EmailMessage.message_id == OutboxMessage.message_key)
        .where(OutboxMessage.id == message_id)).first()
    if row is None:
        abort_with(404, "That e-mail is not in the outbox.")
    sent, ours = row
    form = EmailReplyForm()
    if not form.validate_on_submit():
        return _page(form, replying_to=sent.id, status=422)
    subject = ours.subject or ""
    domain = (ours.to_address.rpartition("@")[2] or "customer.invalid").strip("> ")
    references = " ".join(filter(None, [ours.references, ours.message_id]))
    ingest_inbound_email(ours.to_address, ours.from_address,
                         subject if subject.lower().startswith("re:") else f"Re: {subject}", form.body.data,
                         f"<{uuid.uuid4()}@{domain}>", in_reply_to=ours.message_id, references=references)
    db.session.commit()
    flash("The customer's reply arrived (through the inbound e-mail ingest).", "success")
    return redirect(url_for("outbox.email_outbox"))
