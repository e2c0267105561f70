"""Sending an e-mail (the conversation composer's e-mail tab, app/inbox/thread/; a reply
keeps the lead's latest thread)."""
from __future__ import annotations

from flask_login import current_user

from app.auth.permissions import INBOX, require
from app.crm.models import Lead
from app.errors import get_or_404
from app.extensions import commit_keeping_loaded, db
from app.htmx import activity_changed
from app.inbox import bp
from app.inbox.email import services
from app.inbox.email.forms import EmailForm
from app.inbox.thread.views import panel as thread_panel


@bp.post("/leads/<uuid:lead_id>/email")
@require(INBOX)
def send_email(lead_id):
    """The conversation composer's e-mail tab: answers with the conversation card."""
    lead = get_or_404(Lead, lead_id)
    form = EmailForm()
    if not form.validate_on_submit():
        return thread_panel(lead, tab="email", email_form=form, status=422)
    try:
        services.send_email(lead, subject=form.subject.data, body=form.body.data, actor=current_user,
                            thread_id=form.thread_id.data or None)
    except services.EmailRefused as exc:
        db.session.rollback()
        return thread_panel(lead, tab="email", email_form=form, status=422, error=str(exc))
    commit_keeping_loaded()  # the card shows the lead, contact and rep this request has just read
    return activity_changed(thread_panel(lead, tab="email"), "E-mail queued")
