"""/outbox/sms (development only, with the outbox blueprint): the texts the `outbox` SMS
backend "sent", each with "reply as the customer"."""
from __future__ import annotations

from flask import flash, redirect, url_for
from sqlalchemy import select

from app.auth.permissions import INBOX, require
from app.errors import get_or_404
from app.extensions import db
from app.htmx import render
from app.inbox.sms.dev_reply import reply_event
from app.inbox.sms.forms import ReplyForm
from app.inbox.sms.models import SmsOutboxMessage
from app.integrations.outbox_views import bp
from app.queue import enqueue
from app.urls import absolute_url


def _page(form: ReplyForm | None = None, replying_to=None, status: int = 200):
    messages = db.session.scalars(
        select(SmsOutboxMessage).order_by(SmsOutboxMessage.created_at.desc(), SmsOutboxMessage.id).limit(200)).all()
    return render("inbox/sms/outbox.html", status=status, context=dict(
        messages=messages, form=form or ReplyForm(formdata=None), replying_to=replying_to))


@bp.get("/sms")
@require(INBOX)
def sms_outbox():
    return _page()


@bp.post("/sms/<uuid:message_id>/reply")
@require(INBOX)
def sms_outbox_reply(message_id):
    sent = get_or_404(SmsOutboxMessage, message_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        return _page(form, replying_to=sent.id, status=422)
    event = reply_event(customer=sent.to_number, our_number=sent.from_number, text=form.body.data)
    enqueue("sms", "app.inbox.sms.dev_reply.deliver_reply", absolute_url("webhooks.sms_webhook"), event)
    db.session.commit()
    flash("The customer's reply is on its way (through /webhooks/sms).", "success")
    return redirect(url_for("outbox.sms_outbox"))
