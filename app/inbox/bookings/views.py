"""Bookings pages: the unmatched list with "attach to contact" (search, then attach), and the
bookings card the lead page loads after itself. (The webhook is webhook.py.)"""
from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_login import current_user

from app.auth.permissions import INBOX, SALES, require
from app.crm.models import Contact, Lead
from app.errors import get_or_404, uuid_or_404
from app.extensions import db
from app.htmx import render
from app.inbox import bp
from app.inbox.attach_views import attach_candidates
from app.inbox.bookings import queries
from app.inbox.bookings.services import AttachError, attach_booking
from app.inbox.forms import AttachForm
from app.inbox.models import Booking


def _unmatched_page(*, status=200, error=None, block=None):
    return render("inbox/bookings/unmatched.html", block, status=status,
                  context=dict(bookings=queries.unmatched_bookings(), form=AttachForm(formdata=None),
                               error=error))


@bp.get("/inbox/bookings/unmatched")
@require(INBOX)
def unmatched_bookings():
    return _unmatched_page()


@bp.get("/inbox/bookings/<booking_id>/contacts")
@require(INBOX)
def booking_contact_candidates(booking_id: str):
    """The contacts a rep's search finds for one unmatched booking, each with "Attach"."""
    booking = get_or_404(Booking, booking_id)
    return attach_candidates(attach_url=url_for("inbox.attach_booking_to_contact", booking_id=booking.id),
                             new_lead_url=url_for("inbox.booking_new_lead", booking_id=booking.id))


@bp.post("/inbox/bookings/<booking_id>/attach")
@require(INBOX)
def attach_booking_to_contact(booking_id: str):
    booking = get_or_404(Booking, booking_id, lock=True)
    form = AttachForm()
    if not form.validate_on_submit():
        return _unmatched_page(status=422, error="Pick a contact from the search.", block="list")
    contact = db.session.get(Contact, uuid_or_404(form.contact_id.data))
    if contact is None:
        return _unmatched_page(status=422, error="That contact no longer exists.", block="list")
    try:
        attach_booking(booking, contact, actor=current_user)
    except AttachError as exc:
        return _unmatched_page(status=409, error=str(exc), block="list")
    db.session.commit()
    flash(f"Booking attached to {contact.display_name}.", "success")
    return redirect(url_for("crm.lead", lead_id=booking.lead_id) if booking.lead_id
                    else url_for("crm.contact", contact_id=contact.id))


@bp.get("/leads/<lead_id>/bookings")
@require(SALES)
def lead_bookings(lead_id: str):
    """The lead page's bookings card (loaded after the page: hx-get)."""
    lead = db.session.get(Lead, uuid_or_404(lead_id))
    if lead is None:
        abort(404)
    return render("inbox/bookings/_lead_bookings.html",
                  context=dict(lead=lead, bookings=queries.lead_bookings(lead.id)))
