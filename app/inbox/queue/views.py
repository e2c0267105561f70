"""The inbox queue: /inbox (tabs, filters, keyset pages; the list block for htmx), the
actions on one or many conversations, Unmatched attach, and the nav's unread badge."""
from __future__ import annotations

import uuid

from flask import flash, make_response, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.auth.models import User
from app.auth.permissions import INBOX, can, require
from app.crm.models import Contact, Lead
from app.errors import get_or_404, uuid_or_404
from app.extensions import db
from app.htmx import add_trigger, is_htmx, render
from app.inbox import bp
from app.inbox.attach_views import attach_candidates
from app.inbox.conversations import mark_read
from app.inbox.forms import AttachForm
from app.inbox.models import Conversation, ConversationChannel
from app.inbox.queue import queries, services
from app.inbox.queue.forms import QueueActionForm

QUEUE_CHANGED = "queueChanged"
MESSAGES = {"done": "Marked done", "archive": "Archived", "unarchive": "Back in the inbox",
            "snooze_tomorrow": "Snoozed until tomorrow 9:00", "snooze_week": "Snoozed until next week",
            "assign": "Assigned"}


def _reps() -> list[User]:
    users = db.session.scalars(select(User).where(User.is_active.is_(True))
                               .order_by(User.first_name, User.last_name)).all()
    return [u for u in users if can(u, INBOX)]


def _action_form(reps) -> QueueActionForm:
    form = QueueActionForm()
    form.assignee_id.choices = [("", "Nobody")] + [(str(u.id), u.full_name) for u in reps]
    return form


def _queue(*, status=200, error=None):
    f = queries.QueueFilter.from_args(request.args)
    rows, next_cursor = queries.queue_page(f, user_id=current_user.id, cursor=request.args.get("after"))
    reps = _reps()
    paged = bool(request.args.get("after"))
    return render("inbox/queue/index.html", "rows" if paged else "list", status=status, context=dict(
        rows=rows, next_cursor=next_cursor, f=f, reps=reps, channels=list(ConversationChannel),
        tabs=queries.TABS, form=_action_form(reps), error=error,
        paged=paged))


@bp.get("/inbox")
@require(INBOX)
def index():
    return _queue()


@bp.get("/inbox/unread-badge")
@require(INBOX)
def unread_badge():
    return render("inbox/queue/_badge.html", context=dict(count=queries.unread_count(current_user.id)))


@bp.post("/leads/<lead_id>/conversations/read")
@require(INBOX)
def mark_lead_read(lead_id: str):
    """The lead page was opened: its conversations are read; the badge reloads (queueChanged)."""
    lead = get_or_404(Lead, lead_id)
    changed = mark_read(lead.id)
    db.session.commit()
    response = make_response("", 200)
    return add_trigger(response, {QUEUE_CHANGED: True}) if changed else response


@bp.post("/inbox/actions")
@require(INBOX)
def queue_action():
    reps = _reps()
    form = _action_form(reps)
    if not form.validate_on_submit():
        return _queue(status=422, error=_first_error(form))
    assignee = None
    if form.action.data == "assign" and form.assignee_id.data:
        try:
            assignee = uuid.UUID(form.assignee_id.data)
        except ValueError:
            assignee = None
        if assignee not in {u.id for u in reps}:
            return _queue(status=422, error="Pick a rep to assign to.")
    ids = [uuid.UUID(v) for v in form.ids.data]
    changed = services.apply(form.action.data, ids, assignee_id=assignee)
    db.session.commit()
    message = f"{MESSAGES[form.action.data]}: {changed} conversation{'s' if changed != 1 else ''}."
    if is_htmx():
        return add_trigger(_queue(), {QUEUE_CHANGED: True, "toast": {"message": message, "level": "success"}})
    flash(message, "success")
    return redirect(url_for("inbox.index"))


def _first_error(form) -> str:
    for errors in form.errors.values():
        for error in errors:
            return error if isinstance(error, str) else "Check the form."
    return "Check the form."


@bp.get("/inbox/conversations/<conversation_id>/contacts")
@require(INBOX)
def conversation_contact_candidates(conversation_id: str):
    """The contacts a rep's search finds for one unmatched conversation, each with "Attach"."""
    conversation = get_or_404(Conversation, conversation_id)
    return attach_candidates(attach_url=url_for("inbox.attach_conversation", conversation_id=conversation.id),
                             new_lead_url=url_for("inbox.conversation_new_lead", conversation_id=conversation.id))


@bp.post("/inbox/conversations/<conversation_id>/attach")
@require(INBOX)
def attach_conversation(conversation_id: str):
    conversation = get_or_404(Conversation, conversation_id, lock=True)
    form = AttachForm()
    if not form.validate_on_submit():
        return _queue(status=422, error="Pick a contact from the search.")
    contact = db.session.get(Contact, uuid_or_404(form.contact_id.data))
    if contact is None:
        return _queue(status=422, error="That contact no longer exists.")
    try:
        target = services.attach(conversation, contact, actor=current_user)
    except services.QueueError as exc:
        return _queue(status=409, error=str(exc))
    lead_id = target.lead_id
    db.session.commit()
    flash(f"Conversation attached to {contact.display_name}.", "success")
    return redirect(url_for("crm.lead", lead_id=lead_id))
