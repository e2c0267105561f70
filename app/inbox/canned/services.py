"""Message templates: save (checked), archive, and render_canned for the composers.

Services flush, the caller commits. A template that fails the merge-field check is
never stored (TemplateRefused carries one message per problem, keyed by the text it
was found in: "subject" or "body").
"""
from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from app.activity.services import record
from app.crm.models import Lead
from app.extensions import db
from app.inbox.canned.fields import field_values
from app.inbox.canned.rendering import RenderRefused, TemplateRefused, check_template, render_text
from app.inbox.models import MessageTemplate, TemplateCategory, TemplateChannel

NAME_MAX = 120
SUBJECT_MAX = 200
BODY_MAX = {TemplateChannel.EMAIL: 10_000, TemplateChannel.SMS: 1_600}


class TemplateInvalid(Exception):
    """The template can't be saved: {"name" | "subject" | "body": [messages]}."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(m for msgs in errors.values() for m in msgs))
        self.errors = errors


@dataclass(frozen=True)
class RenderedMessage:
    subject: str | None
    body: str


def _slug(name: str, exclude: uuid.UUID | None) -> str:
    base = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    base = re.sub(r"[^a-z0-9]+", "-", base).strip("-")[:60] or "template"
    query = select(MessageTemplate.slug).where(MessageTemplate.slug.like(f"{base}%"))
    if exclude is not None:
        query = query.where(MessageTemplate.id != exclude)
    taken = set(db.session.scalars(query).all())
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def save_template(template: MessageTemplate | None, *, name: str, channel: TemplateChannel,
                  body: str, subject: str | None = None,
                  category: TemplateCategory = TemplateCategory.CANNED, actor) -> MessageTemplate:
    """Create (template=None) or update a template after checking its merge fields."""
    name, body = (name or "").strip(), (body or "").strip()
    subject = (subject or "").strip() or None
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Give the template a name."]
    elif len(name) > NAME_MAX:
        errors["name"] = [f"Keep the name under {NAME_MAX} characters."]
    if channel is TemplateChannel.EMAIL and not subject:
        errors["subject"] = ["An e-mail template needs a subject."]
    if channel is TemplateChannel.SMS:
        subject = None
    if subject and len(subject) > SUBJECT_MAX:
        errors["subject"] = [f"Keep the subject under {SUBJECT_MAX} characters."]
    if not body:
        errors["body"] = ["Write the message."]
    elif len(body) > BODY_MAX[channel]:
        errors["body"] = [f"Keep the message under {BODY_MAX[channel]:,} characters."]
    for key, text in (("subject", subject), ("body", body)):
        try:
            check_template(text)
        except TemplateRefused as exc:
            errors.setdefault(key, []).extend(exc.problems)
    if errors:
        raise TemplateInvalid(errors)
    created = template is None
    slug = _slug(name, None if created else template.id) if created or template.name != name else None
    if created:
        template = MessageTemplate(created_by_id=getattr(actor, "id", None), is_active=True)
        db.session.add(template)
    if slug:
        template.slug = slug
    template.name, template.channel, template.category = name, channel, category
    template.subject, template.body = subject, body
    db.session.flush()
    record("settings.message_template_saved",
           f"{'Created' if created else 'Changed'} the message template “{name}”", actor=actor,
           detail={"template_id": template.id, "channel": channel.value, "category": category.value})
    return template


def set_active(template: MessageTemplate, active: bool, *, actor) -> None:
    template.is_active = active
    db.session.flush()
    record("settings.message_template_" + ("restored" if active else "archived"),
           f"{'Restored' if active else 'Archived'} the message template “{template.name}”", actor=actor,
           detail={"template_id": template.id})


def render_for_lead(template: MessageTemplate, *, lead: Lead, rep, html: bool = False) -> RenderedMessage:
    """The template filled with the lead's and the rep's values, or RenderRefused."""
    try:
        fields = check_template(template.subject, template.body)
    except TemplateRefused as exc:
        raise RenderRefused(f"“{template.name}” is not valid: {exc}") from exc
    values, reasons = field_values(fields, lead=lead, rep=rep)
    subject = render_text(template.subject, values, reasons=reasons) if template.subject else None
    body = render_text(template.body, values, html=html, reasons=reasons)
    return RenderedMessage(subject=subject, body=body)


def render_canned(template_id, *, lead: Lead, rep, html: bool = False) -> RenderedMessage:
    """What the composers call: an active template by id, rendered for the lead."""
    try:
        template = db.session.get(MessageTemplate, uuid.UUID(str(template_id)))
    except ValueError:
        template = None
    if template is None or not template.is_active:
        raise RenderRefused("This template does not exist or has been archived.")
    return render_for_lead(template, lead=lead, rep=rep, html=html)


def canned_templates(channel: TemplateChannel) -> list[MessageTemplate]:
    return list(db.session.scalars(select(MessageTemplate).where(
        MessageTemplate.category == TemplateCategory.CANNED, MessageTemplate.channel == channel,
        MessageTemplate.is_active.is_(True)).order_by(MessageTemplate.name)).all())


def all_templates() -> list[MessageTemplate]:
    return list(db.session.scalars(select(MessageTemplate).order_by(
        MessageTemplate.is_active.desc(), MessageTemplate.category, MessageTemplate.channel,
        MessageTemplate.name)).all())


# GSM 03.38 basic set and its extension (which costs two septets).
_GSM = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
           "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
_GSM_EXT = set("^{}\\[~]|€")


def sms_segments(text: str) -> tuple[int, int]:
    """(segments, characters per segment) of an SMS: 160/153 in GSM-7, 70/67 in UCS-2."""
    if all(c in _GSM or c in _GSM_EXT for c in text):
        length, single, multi = sum(2 if c in _GSM_EXT else 1 for c in text), 160, 153
    else:
        length, single, multi = len(text.encode("utf-16-le")) // 2, 70, 67
    if length <= single:
        return (1 if length else 0), single
    return -(-length // multi), multi
