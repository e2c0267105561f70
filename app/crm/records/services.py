"""Companies, contacts and leads: create and edit with their derived keys, find
duplicates before saving, and merge two records into one. (A lead's stage is not
edited here: moves go through app.crm.pipeline.moves, where their rules live.)

Derived keys are computed here and nowhere else: `normalized_name`,
`email_normalized`, `phone_e164`, `phone_type`, `is_sms_eligible`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import joinedload

from app.activity.services import record
from app.crm.models import Company, Contact, Lead, LeadStage
from app.crm.records.normalize import normalize_company_name, normalize_email, phone_to_e164
from app.extensions import db


class RecordError(Exception):
    """Refused; the message is shown next to the field or on the form."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass
class Duplicate:
    kind: str  # "company" or "contact"
    record: Company | Contact
    reasons: list[str] = field(default_factory=list)
    blocking: bool = False  # a unique key in the database: saving cannot go on


COMPANY_FIELDS = ("name", "website", "phone", "industry", "icp_tag", "fleet_size", "source",
                  "vendor", "sales_note", "taxable", "assigned_rep_id", "status", "google_place_id",
                  "linkedin_company_url", "owner_name")
CONTACT_FIELDS = ("company_id", "first_name", "last_name", "title", "email", "phone", "timezone",
                  "linkedin_url", "source", "notes")


def _clean(value):
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def company_duplicates(*, name: str | None, phone: str | None = None, google_place_id: str | None = None,
                       exclude_id=None) -> list[Duplicate]:
    found: dict = {}

    def add(company, reason, blocking=False):
        dup = found.setdefault(company.id, Duplicate("company", company))
        dup.reasons.append(reason)
        dup.blocking = dup.blocking or blocking

    key = normalize_company_name(name)
    clauses = []
    if key:
        clauses.append(Company.normalized_name == key)
    if google_place_id:
        clauses.append(Company.google_place_id == google_place_id.strip())
    e164, _, _ = phone_to_e164(phone)
    if e164:
        clauses.append(Company.phone == phone.strip())
    if not clauses:
        return []
    query = select(Company).where(or_(*clauses)).limit(10)
    if exclude_id:
        query = query.where(Company.id != exclude_id)
    for company in db.session.scalars(query):
        if key and company.normalized_name == key:
            add(company, "same name")
        if google_place_id and company.google_place_id == google_place_id.strip():
            add(company, "same Google place", blocking=True)
        if e164 and company.phone and phone_to_e164(company.phone)[0] == e164:
            add(company, "same phone")
    return list(found.values())


def contact_duplicates(*, email: str | None, phone: str | None, exclude_id=None) -> list[Duplicate]:
    found: dict = {}
    email_key = normalize_email(email)
    e164, _, _ = phone_to_e164(phone)
    clauses = []
    if email_key:
        clauses.append(Contact.email_normalized == email_key)
    if e164:
        clauses.append(Contact.phone_e164 == e164)
    if not clauses:
        return []
    query = select(Contact).where(or_(*clauses)).limit(10)
    if exclude_id:
        query = query.where(Contact.id != exclude_id)
    for contact in db.session.scalars(query):
        dup = found.setdefault(contact.id, Duplicate("contact", contact))
        if email_key and contact.email_normalized == email_key:
            dup.reasons.append("same e-mail")
            dup.blocking = True
        if e164 and contact.phone_e164 == e164:
            dup.reasons.append("same phone")
    return list(found.values())


def company_merge_candidates(company: Company, limit: int = 10) -> list[Company]:
    """Companies that may be the same business: the same name key (normalize_company_name:
    "&"/"and", punctuation, legal suffixes), or a similar name."""
    return db.session.scalars(
        select(Company).where(Company.id != company.id,
                              Company.name.op("%")(company.name) | (Company.normalized_name == company.normalized_name))
        .order_by((Company.normalized_name == company.normalized_name).desc(),
                  func.similarity(Company.name, company.name).desc(), Company.id)
        .limit(limit)).all()


def contact_merge_candidates(contact: Contact, limit: int = 10) -> list[Contact]:
    """Contacts that may be the same person: the same phone, or a similar name."""
    name = contact.display_name
    similar = [Contact.phone_e164 == contact.phone_e164] if contact.phone_e164 else []
    if contact.full_name:
        similar.append(Contact.full_name.op("%")(name))
    if not similar:
        return []
    return db.session.scalars(
        select(Contact).options(joinedload(Contact.company))
        .where(Contact.id != contact.id, or_(*similar))
        .order_by(func.similarity(func.coalesce(Contact.full_name, ""), name).desc(), Contact.id)
        .limit(limit)).all()


def _assign(obj, data: dict, fields) -> dict:
    """Set the given fields present in `data` (cleaned); return {field: {before, after}}
    for those that changed: what the *.updated activity records."""
    changes = {}
    for name in fields:
        if name in data:
            value = _clean(data[name])
            if getattr(obj, name) != value:
                changes[name] = {"before": getattr(obj, name), "after": value}
                setattr(obj, name, value)
    return changes


def _apply_company(company: Company, data: dict) -> dict:
    changes = _assign(company, data, COMPANY_FIELDS)
    if not company.name:
        raise RecordError("A company needs a name.", "name")
    company.normalized_name = normalize_company_name(company.name) or company.name.casefold()
    return changes


def save_company(data: dict, *, actor, company: Company | None = None,
                 allow_duplicates: bool = False) -> tuple[Company | None, list[Duplicate]]:
    """Create or update. Returns (company, []) or (None, duplicates) when the
    caller must first confirm (or cannot save at all: a blocking duplicate)."""
    dups = company_duplicates(name=data.get("name"), phone=data.get("phone"),
                              google_place_id=_clean(data.get("google_place_id")),
                              exclude_id=company.id if company else None)
    if dups and (not allow_duplicates or any(d.blocking for d in dups)):
        return None, dups
    created = company is None
    company = company or Company()
    changes = _apply_company(company, data)
    if created:
        db.session.add(company)
    db.session.flush()
    if created:
        record("company.created", f"Created company {company.name}", actor=actor, company=company)
    elif changes:
        record("company.updated", f"Updated {', '.join(changes)}", actor=actor, company=company,
               detail={"changes": changes})
    return company, []


def _apply_contact(contact: Contact, data: dict) -> dict:
    changes = _assign(contact, data, CONTACT_FIELDS)
    if contact.email:
        contact.email_normalized = normalize_email(contact.email)
        if contact.email_normalized is None:
            raise RecordError("That e-mail address does not look right.", "email")
    else:
        contact.email_normalized = None
    if contact.phone:
        e164, phone_type, sms = phone_to_e164(contact.phone)
        if e164 is None:
            raise RecordError("That phone number is not valid (US numbers need 10 digits).", "phone")
        contact.phone_e164, contact.phone_type, contact.is_sms_eligible = e164, phone_type, sms
    else:
        contact.phone_e164, contact.phone_type, contact.is_sms_eligible = None, None, False
    full = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    contact.full_name = full or None
    if not (contact.full_name or contact.email or contact.phone):
        raise RecordError("Give the contact a name, an e-mail or a phone number.", "first_name")
    return changes


def save_contact(data: dict, *, actor, contact: Contact | None = None,
                 allow_duplicates: bool = False) -> tuple[Contact | None, list[Duplicate]]:
    dups = contact_duplicates(email=data.get("email"), phone=data.get("phone"),
                              exclude_id=contact.id if contact else None)
    if dups and (not allow_duplicates or any(d.blocking for d in dups)):
        return None, dups
    created = contact is None
    contact = contact or Contact()
    changes = _apply_contact(contact, data)
    if created:
        db.session.add(contact)
    db.session.flush()
    if created:
        record("contact.created", f"Added contact {contact.display_name}", actor=actor,
               company=contact.company_id, contact=contact)
    elif changes:
        record("contact.updated", f"Updated contact {contact.display_name}: {', '.join(changes)}",
               actor=actor, company=contact.company_id, contact=contact, detail={"changes": changes})
    return contact, []


def open_lead(company: Company, *, contact_id, stage, source=None, estimated_units=None,
              estimated_revenue=None, actor) -> Lead:
    """A new pursuit for one of the company's contacts, in an open stage (a lead is
    won or lost on the board, where the rules for that live)."""
    from datetime import UTC, datetime

    from app.crm.pipeline.moves import LOST_STAGES

    if stage in LOST_STAGES or stage == LeadStage.WON:
        raise RecordError("Start a lead in an open stage; move it on the board later.", "stage")
    if contact_id not in {c.id for c in company.contacts}:
        raise RecordError("Pick one of this company's contacts.", "contact_id")
    now = datetime.now(UTC)
    lead = Lead(company_id=company.id, contact_id=contact_id, stage=stage, source=source,
                estimated_units=estimated_units, estimated_revenue=estimated_revenue, stage_changed_at=now)
    db.session.add(lead)
    db.session.flush()
    record("lead.created", f"{getattr(actor, 'full_name', 'System')} opened a lead", actor=actor, lead=lead,
           company=company, contact=contact_id, detail={"stage": stage})
    return lead


LEAD_FIELDS = ("contact_id", "source", "source_campaign", "estimated_units", "estimated_revenue", "is_dnc")
_LEAD_LABELS = {"contact_id": "contact", "source": "source", "source_campaign": "campaign",
                "estimated_units": "units", "estimated_revenue": "value", "is_dnc": "do not contact"}


def update_lead(lead: Lead, data: dict, *, actor) -> dict:
    """Edit what a rep may edit of a lead; returns the changes ({} when none)."""
    if "contact_id" in data and lead.company is not None \
            and data["contact_id"] not in {c.id for c in lead.company.contacts}:
        raise RecordError("Pick one of this company's contacts.", "contact_id")
    if "is_dnc" in data:
        data = {**data, "is_dnc": bool(data["is_dnc"])}
    changes = _assign(lead, data, LEAD_FIELDS)
    if changes:
        db.session.flush()
        record("lead.updated", f"{getattr(actor, 'full_name', 'System')} changed the lead's "
               f"{', '.join(_LEAD_LABELS[n] for n in changes)}", actor=actor, lead=lead,
               company=lead.company_id, contact=lead.contact_id, detail={"changes": changes})
    return changes


def children_of(parent_table: str) -> list[tuple[str, str]]:
    """Every (table, column) with a foreign key to `parent_table`, from the schema itself: a
    new table with a `company_id` / `contact_id` is moved on a merge without being listed."""
    return sorted((table.name, fk.parent.name) for table in db.metadata.tables.values()
                  for fk in table.foreign_keys if fk.column.table.name == parent_table)


def _forget_moved_rows() -> None:
    """The children were moved by SQL: every object the session holds may still point at
    the duplicate (a loaded `duplicate.addresses` would even be cascade-deleted with it).
    Expire them all so they reload as the database now has them."""
    db.session.expire_all()


def _move_children(children, column_value_from, column_value_to) -> dict[str, int]:
    moved = {}
    for table_name, column in children:
        table = db.metadata.tables[table_name]
        result = db.session.execute(
            update(table).where(table.c[column] == column_value_from).values({column: column_value_to}))
        if result.rowcount:
            moved[table_name] = result.rowcount
    return moved


def merge_companies(survivor: Company, duplicate: Company, *, actor) -> dict[str, int]:
    """Move every child row of `duplicate` onto `survivor`, fill survivor's empty
    fields from it, delete it, and record the merge on the survivor."""
    if survivor.id == duplicate.id:
        raise RecordError("Pick two different companies.")
    filled = []
    for name in COMPANY_FIELDS + ("google_rating", "google_review_count", "google_maps_url",
                                  "hero_photo_url", "about_description", "qb_customer_id",
                                  "stripe_customer_id"):
        if getattr(survivor, name) in (None, "") and getattr(duplicate, name) not in (None, ""):
            if name == "google_place_id":
                continue  # unique: copied after the duplicate is gone
            setattr(survivor, name, getattr(duplicate, name))
            filled.append(name)
    place_id = duplicate.google_place_id if not survivor.google_place_id else None
    db.session.flush()
    snapshot = {"id": duplicate.id, "name": duplicate.name}
    moved = _move_children(children_of(Company.__tablename__), duplicate.id, survivor.id)
    _forget_moved_rows()
    db.session.delete(duplicate)
    db.session.flush()
    if place_id:
        survivor.google_place_id = place_id
    record("company.merged", f"Merged {snapshot['name']} into this company", actor=actor,
           company=survivor, detail={"merged": snapshot, "moved": moved, "filled": filled})
    db.session.flush()
    return moved


def merge_contacts(survivor: Contact, duplicate: Contact, *, actor) -> dict[str, int]:
    if survivor.id == duplicate.id:
        raise RecordError("Pick two different contacts.")
    email_to_take = duplicate.email if not survivor.email else None
    for name in ("first_name", "last_name", "full_name", "title", "phone", "phone_e164", "phone_type",
                 "timezone", "linkedin_url", "source", "plusvibe_lead_id", "company_id"):
        if getattr(survivor, name) in (None, "") and getattr(duplicate, name) not in (None, ""):
            setattr(survivor, name, getattr(duplicate, name))
    survivor.is_sms_eligible = survivor.is_sms_eligible or duplicate.is_sms_eligible
    db.session.flush()
    snapshot = {"id": duplicate.id, "name": duplicate.display_name, "email": duplicate.email}
    moved = _move_children(children_of(Contact.__tablename__), duplicate.id, survivor.id)
    _forget_moved_rows()
    db.session.delete(duplicate)
    db.session.flush()
    if email_to_take:
        survivor.email, survivor.email_normalized = email_to_take, normalize_email(email_to_take)
    record("contact.merged", f"Merged contact {snapshot['name']} into {survivor.display_name}", actor=actor,
           company=survivor.company_id, contact=survivor, detail={"merged": snapshot, "moved": moved})
    db.session.flush()
    return moved




# What a user who may not merge is told next to the disabled control.
MERGE_REFUSED = {"company": "Only an owner or admin can merge companies.",
                 "contact": "Only an owner or admin can merge contacts."}
MAX_REQUEST_NOTE = 2000


def request_merge(survivor: Company | Contact, duplicate: Company | Contact, *, actor, link: str,
                  note: str | None = None):
    """A rep's request to merge `duplicate` into `survivor`: a task for an admin, on the
    survivor's company, saying who asked, what and why, with `link` to the merge page."""
    from app.crm.tasks.services import create_task_for_an_admin

    if survivor.id == duplicate.id:
        raise RecordError("Pick two different records.")
    note = " ".join((note or "").split())
    if len(note) > MAX_REQUEST_NOTE:
        raise RecordError(f"Keep the note under {MAX_REQUEST_NOTE} characters.", "note")
    is_company = isinstance(survivor, Company)
    name = (lambda r: r.name) if is_company else (lambda r: r.display_name)
    kind = "company" if is_company else "contact"
    title = f"Merge {kind} {name(duplicate)} into {name(survivor)} (asked by {actor.full_name})"
    description = "\n".join(line for line in (
        f"{actor.full_name} asks to merge {name(duplicate)} into {name(survivor)}.",
        f"Why: {note}" if note else None, f"Merge page: {link}") if line)
    company = survivor if is_company else survivor.company
    task = create_task_for_an_admin(title=title, description=description, actor=actor, company=company)
    if task is None:
        raise RecordError("There is no active owner or admin to ask.")
    return task
