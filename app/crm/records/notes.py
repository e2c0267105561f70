"""Notes on a company (optionally about one of its leads): add, and edit by the author
or an administrator. Each change is an activity."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.activity.services import record
from app.auth.models import UserRole
from app.crm.models import Company, Lead, Note
from app.extensions import db

MAX_BODY = 10_000
EDITOR_ROLES = frozenset({UserRole.ADMIN, UserRole.NICK})


class NoteError(Exception):
    """Refused input; the message is shown to the user."""


class NoteForbidden(NoteError):
    """The actor may not do this to the note."""


def company_notes(company_id) -> list[Note]:
    """Newest first, with author and lead loaded."""
    return list(db.session.scalars(
        select(Note).where(Note.company_id == company_id)
        .options(selectinload(Note.author), selectinload(Note.lead).selectinload(Lead.contact))
        .order_by(Note.created_at.desc(), Note.id.desc())))


def can_edit(note: Note, user) -> bool:
    return bool(user is not None and (note.author_id == user.id or user.role in EDITOR_ROLES))


def _body(body: str | None) -> str:
    body = (body or "").strip()
    if not body:
        raise NoteError("Write something first.")
    if len(body) > MAX_BODY:
        raise NoteError(f"Keep a note under {MAX_BODY:,} characters.")
    return body


def _excerpt(body: str) -> str:
    line = " ".join(body.split())
    return line if len(line) <= 80 else line[:79] + "…"


def add_note(company: Company, body: str, *, actor, lead: Lead | None = None) -> Note:
    body = _body(body)
    if lead is not None and lead.company_id != company.id:
        raise NoteError("That lead belongs to another company.")
    note = Note(company_id=company.id, lead_id=lead.id if lead else None, author_id=actor.id, body=body)
    db.session.add(note)
    db.session.flush()
    record("note.added", f"Note: {_excerpt(body)}", actor=actor, company=company, lead=lead,
           contact=lead.contact_id if lead else None, detail={"note_id": note.id})
    return note


def edit_note(note: Note, body: str, *, actor) -> Note:
    if not can_edit(note, actor):
        raise NoteForbidden("Only the author of a note or an administrator can edit it.")
    body = _body(body)
    if body == note.body:
        return note
    before = note.body
    note.body = body
    note.edited_at = datetime.now(UTC)
    db.session.flush()
    record("note.edited", f"Edited a note: {_excerpt(body)}", actor=actor, company=note.company_id,
           lead=note.lead_id, detail={"note_id": note.id, "before": {"body": before}, "after": {"body": body}})
    return note
