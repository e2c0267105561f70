"""Tags on leads: apply (or revive a soft-removed one), remove softly."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from app.activity.services import record
from app.crm.models import Lead, LeadTag, Tag, TagCategory
from app.crm.tags import events
from app.extensions import db


class TagError(Exception):
    """Refused; the message is shown to the user."""


def _actor_label(actor) -> str:
    return getattr(actor, "email", None) or "system"


def active_tag(lead_id, slug) -> LeadTag | None:
    return db.session.scalar(select(LeadTag).where(LeadTag.lead_id == lead_id, LeadTag.tag_slug == slug,
                                                   LeadTag.removed_at.is_(None)))


def apply_tag(lead: Lead, slug: str, *, actor) -> LeadTag:
    tag = db.session.scalar(select(Tag).where(Tag.slug == slug))
    if tag is None or not tag.is_active:
        raise TagError(f"There is no active tag “{slug}”.")
    row = db.session.scalar(select(LeadTag).where(LeadTag.lead_id == lead.id, LeadTag.tag_slug == slug)
                            .with_for_update())
    if row is not None and row.removed_at is None:
        return row  # already applied: nothing happens twice
    now = datetime.now(UTC)
    if row is None:
        row = LeadTag(lead_id=lead.id, tag_slug=slug, applied_at=now, applied_by=_actor_label(actor))
        db.session.add(row)
    else:  # the unique (lead, tag) row exists, softly removed: revive it
        row.removed_at = None
        row.applied_at = now
        row.applied_by = _actor_label(actor)
    lead.updated_at = now
    record("tag.applied", f"Tagged {tag.name}", actor=actor, lead=lead, company=lead.company_id,
           contact=lead.contact_id, detail={"tag": slug, "category": tag.category})
    db.session.flush()
    if tag.category == TagCategory.DISPOSITION:
        events.disposition_applied(lead, tag, actor)
    return row


def remove_tag(lead: Lead, slug: str, *, actor) -> None:
    row = active_tag(lead.id, slug)
    if row is None:
        return
    now = datetime.now(UTC)
    row.removed_at = now
    lead.updated_at = now
    tag = db.session.scalar(select(Tag).where(Tag.slug == slug))
    record("tag.removed", f"Removed tag {tag.name if tag else slug}", actor=actor, lead=lead,
           company=lead.company_id, contact=lead.contact_id, detail={"tag": slug})
    db.session.flush()
    if tag is not None and tag.category == TagCategory.DISPOSITION:
        events.disposition_removed(lead, tag, actor)


def catalog() -> list[Tag]:
    return list(db.session.scalars(select(Tag).order_by(Tag.category, Tag.sort_order, Tag.name)))


def delete_tag(tag: Tag, *, actor) -> None:
    if tag.is_system:
        raise TagError(f"“{tag.name}” is a system tag and cannot be deleted.")
    in_use = db.session.scalar(select(LeadTag.id).where(LeadTag.tag_slug == tag.slug).limit(1))
    if in_use:
        tag.is_active = False  # keep history readable: deactivate instead
        record("tag.deactivated", f"Deactivated tag {tag.name}", actor=actor, detail={"tag": tag.slug})
    else:
        db.session.delete(tag)
        record("tag.deleted", f"Deleted tag {tag.name}", actor=actor, detail={"tag": tag.slug})
    db.session.flush()
