"""Create the contact and lead an unknown sender is, from the Unmatched view: an unmatched
conversation (SMS, e-mail) or an unmatched Cal.com booking. The form comes prefilled with what
they sent (number, address, name); on save the conversation (or booking) moves to the new lead
and the rep lands on it."""
from __future__ import annotations

from email.utils import parseaddr

from flask import flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.auth.permissions import INBOX, require
from app.crm.records.services import RecordError
from app.errors import get_or_404
from app.extensions import db
from app.htmx import render
from app.inbox import bp
from app.inbox.bookings.services import AttachError, attach_booking
from app.inbox.forms import NewLeadForm
from app.inbox.models import (
    Booking,
    Conversation,
    ConversationChannel,
    EmailMessage,
    EmailThread,
    MessageDirection,
    SmsMessage,
)
from app.inbox.queue import services


def _split(name: str | None) -> tuple[str, str]:
    first, _, last = (name or "").strip().partition(" ")
    return first, last.strip()


def _conversation_sender(conversation: Conversation) -> dict:
    """What the unknown sender gave away: their number or address, and a name when an e-mail
    carried one."""
    if conversation.channel is ConversationChannel.EMAIL:
        sender = db.session.scalar(
            select(EmailMessage.from_address).join(EmailThread, EmailThread.id == EmailMessage.thread_id)
            .where(EmailThread.conversation_id == conversation.id,
                   EmailMessage.direction == MessageDirection.INBOUND)
            .order_by(EmailMessage.created_at.desc()).limit(1))
        name, address = parseaddr(sender or "")
        first, last = _split(name)
        return dict(email=conversation.unmatched_address or address, first_name=first, last_name=last)
    number = conversation.unmatched_address or db.session.scalar(
        select(SmsMessage.from_number).where(SmsMessage.conversation_id == conversation.id,
                                             SmsMessage.direction == MessageDirection.INBOUND)
        .order_by(SmsMessage.created_at.desc()).limit(1))
    return dict(phone=number or "")


def _page(form: NewLeadForm, *, action: str, what: str, error: str | None = None, status: int = 200):
    return render("inbox/new_lead.html", "new_lead_form", status=status,
                  context=dict(form=form, action=action, what=what, error=error))


def _save(form: NewLeadForm):
    """The new lead, or (None, the error: on its field when it has one)."""
    try:
        with db.session.begin_nested():  # a refusal after the company was written takes it back
            lead = services.create_contact_and_lead(
                company_name=form.company_name.data, first_name=form.first_name.data,
                last_name=form.last_name.data, email=form.email.data, phone=form.phone.data, actor=current_user)
    except RecordError as exc:
        field = {"company_name": form.company_name, "first_name": form.first_name, "email": form.email,
                 "phone": form.phone}.get(exc.field or "")
        if field is not None:
            field.errors = [*field.errors, str(exc)]
        return None, str(exc)
    return lead, None


@bp.route("/inbox/conversations/<conversation_id>/new-lead", methods=["GET", "POST"])
@require(INBOX)
def conversation_new_lead(conversation_id: str):
    conversation = get_or_404(Conversation, conversation_id, lock=request.method == "POST")
    action = url_for("inbox.conversation_new_lead", conversation_id=conversation.id)
    what = "texts" if conversation.channel is ConversationChannel.SMS else "e-mails"
    if conversation.lead_id is not None:
        return redirect(url_for("crm.lead", lead_id=conversation.lead_id))
    if request.method == "GET":
        return _page(NewLeadForm(data=_conversation_sender(conversation)), action=action, what=what)
    form = NewLeadForm()
    if not form.validate_on_submit():
        return _page(form, action=action, what=what, status=422)
    lead, error = _save(form)
    if lead is None:
        return _page(form, action=action, what=what, error=error, status=422)
    services.attach(conversation, lead.contact, actor=current_user)
    db.session.commit()
    flash(f"{lead.contact.display_name} is a new lead; their {what} moved to it.", "success")
    return redirect(url_for("crm.lead", lead_id=lead.id))


@bp.route("/inbox/bookings/<booking_id>/new-lead", methods=["GET", "POST"])
@require(INBOX)
def booking_new_lead(booking_id: str):
    booking = get_or_404(Booking, booking_id, lock=request.method == "POST")
    action = url_for("inbox.booking_new_lead", booking_id=booking.id)
    if booking.contact_id is not None:
        return redirect(url_for("crm.lead", lead_id=booking.lead_id) if booking.lead_id
                        else url_for("crm.contact", contact_id=booking.contact_id))
    if request.method == "GET":
        first, last = _split(booking.attendee_name)
        return _page(NewLeadForm(data=dict(email=booking.attendee_email, first_name=first, last_name=last)),
                     action=action, what="booking")
    form = NewLeadForm()
    if not form.validate_on_submit():
        return _page(form, action=action, what="booking", status=422)
    lead, error = _save(form)
    if lead is None:
        return _page(form, action=action, what="booking", error=error, status=422)
    try:
        attach_booking(booking, lead.contact, actor=current_user)
    except AttachError as exc:  # not expected: the booking is locked and was checked above
        return _page(form, action=action, what="booking", error=str(exc), status=409)
    db.session.commit()
    flash(f"{lead.contact.display_name} is a new lead; the booking moved to it.", "success")
    return redirect(url_for("crm.lead", lead_id=lead.id))
