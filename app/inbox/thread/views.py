"""The lead page's conversation (loaded lazily): every channel in one thread, newest last,
with the composer under it (E-mail | SMS | Log call). Each tab posts to its channel's send
route, which answers with `panel()` again: the thread with the new QUEUED item, or the
composer with the errors (422). The contact page shows the same thread over all its leads."""
from __future__ import annotations

from flask import abort, request
from flask_login import current_user

from app.auth.permissions import INBOX, require
from app.crm.models import Contact, Lead
from app.errors import get_or_404
from app.htmx import render
from app.inbox import bp
from app.inbox.calls import services as call_services
from app.inbox.calls.forms import CallForm
from app.inbox.email import accounts as email_accounts
from app.inbox.email import services as email_services
from app.inbox.email.forms import EmailForm
from app.inbox.sms import services as sms_services
from app.inbox.sms.forms import SmsForm
from app.inbox.sms.segments import count_segments
from app.inbox.thread import queries

PANEL = "inbox/thread/_panel.html"
ITEMS = "inbox/thread/_items.html"
TABS = ("email", "sms", "call")


def _cursor():
    try:
        return queries.Cursor.parse(request.args.get("before"))
    except ValueError:
        abort(400)


def _email_form(lead: Lead, form: EmailForm | None) -> tuple[EmailForm, object]:
    """A reply stays in the lead's latest thread (its subject, Re:)."""
    form = form or EmailForm(formdata=None)
    latest = email_services.latest_thread(lead.id)
    if not form.thread_id.data:
        form.thread_id.data = str(latest.id) if latest else ""
    if not form.subject.data and latest is not None and latest.subject:
        subject = latest.subject
        form.subject.data = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    return form, latest


def panel(lead: Lead, *, tab: str | None = None, email_form: EmailForm | None = None,
          sms_form: SmsForm | None = None, call_form: CallForm | None = None,
          error: str | None = None, status: int = 200):
    """The whole conversation card's inside: thread and composer. `tab` is the open tab;
    when not given, the channel the customer last wrote on (a reply goes back the way they
    came), else the first one that may send. `error` is shown under that tab."""
    refusals = {"email": email_services.refusal(lead),
                "sms": sms_services.refusal(lead, lead.contact, current_user), "call": None}
    page = queries.lead_thread(lead.id)
    if tab not in TABS:
        last_inbound = next((i.kind for i in reversed(page.items)
                             if i.direction == "INBOUND" and i.kind in ("email", "sms")), None)
        tab = next(t for t in (last_inbound, *TABS) if t is not None and refusals[t] is None)
    email_form, email_thread = _email_form(lead, email_form)
    sms_form = sms_form or SmsForm(formdata=None)
    return render(PANEL, status=status, context=dict(
        lead=lead, contact=None, page=page, tab=tab, refusals=refusals, error=error,
        email_form=email_form, email_thread=email_thread, sms_form=sms_form,
        segments=count_segments(sms_form.body.data or ""), call_form=call_form or CallForm(formdata=None),
        **_sender(), **_labels()))


def _sender() -> dict:
    """Who the e-mail tab sends as (the rep's own live mailbox, else the system sender) and the
    rep's mailboxes Google stopped accepting (app.inbox.email.accounts)."""
    sender = email_accounts.sending_account(current_user.id)
    return dict(sender=email_accounts.from_header(sender) if sender else email_services.default_sender(),
                reconnect=[a for a in email_accounts.reconnect_notices(current_user) if a.user_id == current_user.id])


def _labels() -> dict:
    return dict(outcomes={o.value: label for o, label in call_services.OUTCOME_LABELS.items()},
                duration=call_services.format_duration)


@bp.get("/leads/<uuid:lead_id>/thread")
@require(INBOX)
def lead_thread(lead_id):
    """The conversation card; with ?before=<cursor>, only the page of older items."""
    lead = get_or_404(Lead, lead_id)
    before = _cursor()
    if before is not None:
        return render(ITEMS, context=dict(page=queries.lead_thread(lead.id, before), lead=lead, contact=None,
                                          **_labels()))
    return panel(lead, tab=request.args.get("tab"))


@bp.get("/contacts/<uuid:contact_id>/thread")
@require(INBOX)
def contact_thread(contact_id):
    """Every lead of the contact in one thread (read-only: each item links to its lead,
    where the composer is)."""
    contact = get_or_404(Contact, contact_id)
    before = _cursor()
    context = dict(page=queries.contact_thread(contact.id, before), lead=None, contact=contact, **_labels())
    return render(ITEMS if before is not None else PANEL, context=context)
