"""The e-mail panel of the lead page (loaded lazily): the lead's e-mails in time order and
the composer (a reply keeps the lead's latest thread)."""
from __future__ import annotations

from flask_login import current_user

from app.auth.permissions import INBOX, require
from app.crm.models import Lead
from app.errors import get_or_404
from app.extensions import db
from app.htmx import activity_changed, render
from app.inbox import bp
from app.inbox.email import accounts, services
from app.inbox.email.forms import EmailForm

PANEL = "inbox/email/_panel.html"


def _panel(lead: Lead, form: EmailForm, *, status: int = 200, error: str | None = None):
    thread = services.latest_thread(lead.id)
    if not form.thread_id.data:
        form.thread_id.data = str(thread.id) if thread else ""
    if not form.subject.data and thread is not None and thread.subject:
        subject = thread.subject
        form.subject.data = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    sender = accounts.sending_account(current_user.id)
    return render(PANEL, status=status, context=dict(
        lead=lead, form=form, messages=services.thread_messages(lead.id), refusal=services.refusal(lead),
        error=error, thread=thread, sender=accounts.from_header(sender) if sender else services.default_sender(),
        reconnect=[a for a in accounts.reconnect_notices(current_user) if a.user_id == current_user.id]))


@bp.get("/leads/<uuid:lead_id>/email")
@require(INBOX)
def email_panel(lead_id):
    lead = get_or_404(Lead, lead_id)
    return _panel(lead, EmailForm(formdata=None))


@bp.post("/leads/<uuid:lead_id>/email")
@require(INBOX)
def send_email(lead_id):
    lead = get_or_404(Lead, lead_id)
    form = EmailForm()
    if not form.validate_on_submit():
        return _panel(lead, form, status=422)
    try:
        services.send_email(lead, subject=form.subject.data, body=form.body.data, actor=current_user,
                            thread_id=form.thread_id.data or None)
    except services.EmailRefused as exc:
        db.session.rollback()
        return _panel(lead, form, status=422, error=str(exc))
    db.session.commit()
    return activity_changed(_panel(lead, EmailForm(formdata=None)), "E-mail queued")
