"""Core CRM: companies (the master record), contacts, leads (pipeline pursuits),
notes, tags, lead scores, taxonomy dropdowns, company addresses and tasks."""
from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Boolean,
    Enum,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
    Uuid,
    desc,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.crm.records.normalize import format_phone
from app.db import created_at, sql_bool, updated_at, uuid_pk
from app.extensions import db

if TYPE_CHECKING:
    from app.activity.models import Activity
    from app.auth.models import User
    from app.billing.models import Invoice
    from app.fulfillment.models import Device, FulfillmentOrder
    from app.inbox.models import Booking, CallLog, Conversation, EmailThread, SmsMessage
    from app.sequences.models import SequenceRun


class CompanyStatus(enum.Enum):
    LEAD = "LEAD"
    CUSTOMER = "CUSTOMER"
    PARTNER = "PARTNER"
    CONTACT = "CONTACT"
    INACTIVE = "INACTIVE"
    DEAD = "DEAD"


class AddressType(enum.Enum):
    BILLING = "BILLING"
    SHIPPING = "SHIPPING"
    BOTH = "BOTH"


class TaxonomyType(enum.Enum):
    INDUSTRY = "INDUSTRY"
    SOURCE = "SOURCE"
    VENDOR = "VENDOR"
    CELLULAR_CARRIER = "CELLULAR_CARRIER"
    BACKEND = "BACKEND"
    PAYMENT_INTERVAL = "PAYMENT_INTERVAL"
    SHIPPING_TYPE = "SHIPPING_TYPE"
    PAYMENT_METHOD = "PAYMENT_METHOD"


class TagCategory(enum.Enum):
    DISPOSITION = "DISPOSITION"
    ICP = "ICP"
    GATE = "GATE"
    CUSTOM = "CUSTOM"


class LeadStage(enum.Enum):
    # Pipeline order: the board shows the columns in this order.
    NEW_LEAD = "NEW_LEAD"
    HOT = "HOT"
    QUALIFIED = "QUALIFIED"
    QUOTED = "QUOTED"
    BUY_PERIOD_30 = "BUY_PERIOD_30"
    BUY_PERIOD_60 = "BUY_PERIOD_60"
    BUY_PERIOD_90 = "BUY_PERIOD_90"
    WON = "WON"
    LOST = "LOST"
    BOGUS = "BOGUS"


class DealRisk(enum.Enum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    UNKNOWN = "UNKNOWN"


class TaskType(enum.Enum):
    CALL = "CALL"
    EMAIL = "EMAIL"
    SMS = "SMS"
    FOLLOW_UP = "FOLLOW_UP"
    GENERAL = "GENERAL"


class TaskPriority(enum.Enum):
    URGENT = "URGENT"
    HIGH = "HIGH"
    NORMAL = "NORMAL"
    LOW = "LOW"


class Company(db.Model):
    """The master record of a business; `status` says what it currently is."""

    __tablename__ = "companies"
    # Fuzzy search (misspelled names) through pg_trgm; the extension is created
    # by the initial migration.
    __table_args__ = (
        Index("ix_companies_name_trgm", "name", postgresql_using="gin",
              postgresql_ops={"name": "gin_trgm_ops"}),
        Index("ix_companies_name_id", "name", "id"),  # the list's keyset order
        # each name's words, for the search's close-match pass (name_words(): migration 0027)
        Index("ix_companies_name_words", text("name_words(name)"), postgresql_using="gin"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str]
    # Dedupe/match key: case- and punctuation-folded name.
    normalized_name: Mapped[str] = mapped_column(index=True)
    website: Mapped[str | None]
    phone: Mapped[str | None]
    industry: Mapped[str | None]
    icp_tag: Mapped[str | None] = mapped_column(index=True)
    business_label: Mapped[str | None]
    fleet_size: Mapped[int | None] = mapped_column(Integer)
    google_rating: Mapped[Decimal | None] = mapped_column(Numeric(2, 1))
    google_review_count: Mapped[int | None] = mapped_column(Integer)
    hero_photo_url: Mapped[str | None]
    google_maps_url: Mapped[str | None]
    about_description: Mapped[str | None]
    google_place_id: Mapped[str | None] = mapped_column(unique=True)
    linkedin_company_url: Mapped[str | None]
    owner_name: Mapped[str | None]
    source: Mapped[str | None]
    vendor: Mapped[str | None]
    sales_note: Mapped[str | None]
    taxable: Mapped[bool] = mapped_column(Boolean, server_default=sql_bool(True), default=True)
    assigned_rep_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    qb_customer_id: Mapped[str | None]
    stripe_customer_id: Mapped[str | None]
    status: Mapped[CompanyStatus] = mapped_column(
        Enum(CompanyStatus, name="company_status"),
        index=True,
        server_default=CompanyStatus.LEAD.value,
        default=CompanyStatus.LEAD,
    )
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    assigned_rep: Mapped[User | None] = relationship()
    contacts: Mapped[list[Contact]] = relationship(back_populates="company", passive_deletes=True)
    addresses: Mapped[list[CompanyAddress]] = relationship(
        back_populates="company",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="CompanyAddress.created_at",
    )
    leads: Mapped[list[Lead]] = relationship(back_populates="company", passive_deletes=True)
    notes: Mapped[list[Note]] = relationship(
        back_populates="company",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Note.created_at.desc()",
    )
    tasks: Mapped[list[Task]] = relationship(back_populates="company", passive_deletes=True)
    invoices: Mapped[list[Invoice]] = relationship(back_populates="company")
    devices: Mapped[list[Device]] = relationship(back_populates="company", passive_deletes=True)
    fulfillment_orders: Mapped[list[FulfillmentOrder]] = relationship(back_populates="company")
    # Read-only: activities are never updated by the app (see app/activity/models.py).
    activities: Mapped[list[Activity]] = relationship(
        viewonly=True, order_by="Activity.occurred_at.desc()"
    )

    @property
    def default_billing_address(self) -> CompanyAddress | None:
        return next((a for a in self.addresses if a.is_default_billing), None)

    @property
    def default_shipping_address(self) -> CompanyAddress | None:
        return next((a for a in self.addresses if a.is_default_shipping), None)

    def __repr__(self) -> str:
        return f"<Company {self.name!r} {self.status.value if self.status else None}>"


class CompanyWord(db.Model):
    """Not in the spec: every word of any company's name (lower case), for the company
    search to match a misspelled word against (app/crm/search/services.py). Kept by a
    trigger on companies (migration 0027); words are only ever added."""

    __tablename__ = "company_words"
    __table_args__ = (
        Index("ix_company_words_word_trgm", "word", postgresql_using="gin",
              postgresql_ops={"word": "gin_trgm_ops"}),
    )

    word: Mapped[str] = mapped_column(Text, primary_key=True)


def contact_display_name(full_name, first_name, last_name, email, company_name, phone) -> str:
    """How a contact is named (Contact.display_name, from its columns: pages that select them):
    its name, else its e-mail; a contact that is only a phone line (an imported business
    number) goes by its company, else by its number."""
    if full_name:
        return full_name
    name = " ".join(p for p in (first_name, last_name) if p)
    if name or email:
        return name or email
    if company_name is not None:
        return company_name
    return format_phone(phone)


class Contact(db.Model):
    """A person: the channel identity (email, E.164 phone) communications use."""

    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_full_name_trgm", "full_name", postgresql_using="gin",
              postgresql_ops={"full_name": "gin_trgm_ops"}),
        Index("ix_contacts_email_normalized_trgm", "email_normalized", postgresql_using="gin",
              postgresql_ops={"email_normalized": "gin_trgm_ops"}),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), index=True
    )
    first_name: Mapped[str | None]
    last_name: Mapped[str | None]
    full_name: Mapped[str | None]
    title: Mapped[str | None]
    email: Mapped[str | None]
    email_normalized: Mapped[str | None] = mapped_column(unique=True)
    email_status: Mapped[str | None]
    email_verified_at: Mapped[datetime | None]
    phone: Mapped[str | None]
    phone_e164: Mapped[str | None] = mapped_column(index=True)
    phone_type: Mapped[str | None]
    phone_verified_at: Mapped[datetime | None]
    is_sms_eligible: Mapped[bool] = mapped_column(
        Boolean, server_default=sql_bool(False), default=False
    )
    timezone: Mapped[str | None]
    linkedin_url: Mapped[str | None]
    source: Mapped[str | None]
    plusvibe_lead_id: Mapped[str | None]
    notes: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    company: Mapped[Company | None] = relationship(back_populates="contacts")
    leads: Mapped[list[Lead]] = relationship(back_populates="contact")
    sms_messages: Mapped[list[SmsMessage]] = relationship(
        back_populates="contact", passive_deletes=True
    )
    call_logs: Mapped[list[CallLog]] = relationship(back_populates="contact", passive_deletes=True)
    conversations: Mapped[list[Conversation]] = relationship(
        back_populates="contact", passive_deletes=True
    )
    bookings: Mapped[list[Booking]] = relationship(back_populates="contact", passive_deletes=True)
    activities: Mapped[list[Activity]] = relationship(
        viewonly=True, order_by="Activity.occurred_at.desc()"
    )

    @property
    def display_name(self) -> str:
        # its company is read only when the contact has no name or e-mail (no load otherwise)
        named = self.full_name or self.first_name or self.last_name or self.email
        company = self.company if not named and self.company_id is not None else None
        return contact_display_name(self.full_name, self.first_name, self.last_name, self.email,
                                    company.name if company is not None else None, self.phone_e164 or self.phone)

    def __repr__(self) -> str:
        return f"<Contact {self.display_name!r}>"


class Lead(db.Model):
    """A pipeline pursuit: requires a contact, optionally tied to a company."""

    __tablename__ = "leads"
    # The board takes the most recently active leads of each stage: one index
    # range scan per column (see app/crm/pipeline/board.py).
    __table_args__ = (
        Index("ix_leads_stage_last_activity_at_id", "stage", desc("last_activity_at"), desc("id")),
        # ...and a rep's (a board filtered by a rep, or "mine"): leads.rep_id, the company's rep (0033)
        Index("ix_leads_stage_rep_id_last_activity_at_id", "stage", "rep_id", desc("last_activity_at"), desc("id")),
        # the leads list: its default order and each sort it offers (lead_list.SORTS; 0027)
        Index("ix_leads_last_activity_at_id", desc("last_activity_at"), desc("id")),
        Index("ix_leads_created_at_id", desc("created_at"), desc("id")),
        Index("ix_leads_revenue_id", text("COALESCE(estimated_revenue, -1) DESC"), desc("id")),
        Index("ix_leads_stage_changed_at_id", "stage_changed_at", "id"),
        # a rep's open leads by time in stage: the rep's home counts their stale deals (0030)
        Index("ix_leads_rep_id_open_stage_changed_at", "rep_id", "stage_changed_at", "id",
              postgresql_where=text("stage IN ('NEW_LEAD', 'HOT', 'QUALIFIED', 'QUOTED', "
                                    "'BUY_PERIOD_90', 'BUY_PERIOD_60', 'BUY_PERIOD_30')")),
        # deals won / lost in a span, index-only (the owner's month, the won & lost report; 0030)
        Index("ix_leads_won_at_won", "won_at", postgresql_where=text("stage = 'WON'"),
              postgresql_include=["estimated_revenue", "estimated_units", "rep_id", "source", "source_campaign"]),
        Index("ix_leads_lost_at_closed", "lost_at", postgresql_where=text("stage IN ('LOST', 'BOGUS')"),
              postgresql_include=["stage", "lost_reason", "estimated_revenue", "rep_id", "source",
                                  "source_campaign"]),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id"), index=True)
    stage: Mapped[LeadStage] = mapped_column(
        Enum(LeadStage, name="lead_stage"),
        index=True,
        server_default=LeadStage.NEW_LEAD.value,
        default=LeadStage.NEW_LEAD,
    )
    source: Mapped[str | None] = mapped_column(index=True)
    source_campaign: Mapped[str | None]
    estimated_units: Mapped[int | None] = mapped_column(Integer)
    estimated_revenue: Mapped[Decimal | None]
    lost_reason: Mapped[str | None]
    won_at: Mapped[datetime | None]
    lost_at: Mapped[datetime | None]
    plusvibe_paused: Mapped[bool] = mapped_column(
        Boolean, server_default=sql_bool(False), default=False
    )
    plusvibe_stopped: Mapped[bool] = mapped_column(
        Boolean, server_default=sql_bool(False), default=False
    )
    is_dnc: Mapped[bool] = mapped_column(Boolean, server_default=sql_bool(False), default=False)
    created_at: Mapped[datetime] = mapped_column(
        "created_at", nullable=False, server_default=func.now(), index=True
    )
    updated_at: Mapped[datetime] = updated_at()
    # Not in the spec: when `stage` last changed (days in stage, the stale flag).
    stage_changed_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # The newest activity's occurred_at (a trigger on activities keeps it; migration 0008):
    # the board's order.
    last_activity_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Not in the spec: the rep of the lead's company (companies.assigned_rep_id), kept by
    # triggers (migration 0030): whatever is written here, the company's rep wins.
    rep_id: Mapped[uuid.UUID | None] = mapped_column(server_default=FetchedValue(),
                                                     server_onupdate=FetchedValue())

    company: Mapped[Company | None] = relationship(back_populates="leads")
    contact: Mapped[Contact] = relationship(back_populates="leads")
    tags: Mapped[list[LeadTag]] = relationship(back_populates="lead", order_by="LeadTag.applied_at")
    score: Mapped[LeadScore | None] = relationship(back_populates="lead", uselist=False)
    notes: Mapped[list[Note]] = relationship(
        back_populates="lead", passive_deletes=True, order_by="Note.created_at.desc()"
    )
    tasks: Mapped[list[Task]] = relationship(back_populates="lead", passive_deletes=True)
    email_threads: Mapped[list[EmailThread]] = relationship(
        back_populates="lead", passive_deletes=True
    )
    sms_messages: Mapped[list[SmsMessage]] = relationship(
        back_populates="lead", passive_deletes=True
    )
    call_logs: Mapped[list[CallLog]] = relationship(back_populates="lead", passive_deletes=True)
    conversations: Mapped[list[Conversation]] = relationship(
        back_populates="lead", passive_deletes=True
    )
    bookings: Mapped[list[Booking]] = relationship(back_populates="lead", passive_deletes=True)
    sequence_runs: Mapped[list[SequenceRun]] = relationship(back_populates="lead")
    invoices: Mapped[list[Invoice]] = relationship(back_populates="lead", passive_deletes=True)
    activities: Mapped[list[Activity]] = relationship(
        viewonly=True, order_by="Activity.occurred_at.desc()"
    )

    @property
    def active_tags(self) -> list[LeadTag]:
        return [t for t in self.tags if t.removed_at is None]

    def __repr__(self) -> str:
        return f"<Lead {self.id} {self.stage.value if self.stage else None}>"


class LeadStageTotal(db.Model):
    """Not in the spec: per-stage count and revenue of all leads, kept exact by
    a trigger on leads (migration 0003). Read by the unfiltered board."""

    __tablename__ = "lead_stage_totals"

    stage: Mapped[LeadStage] = mapped_column(Enum(LeadStage, name="lead_stage"), primary_key=True)
    lead_count: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    revenue: Mapped[Decimal] = mapped_column(Numeric(14, 2), server_default=text("0"))


class LeadStageRepTotal(db.Model):
    """Not in the spec: per-stage count and revenue of each rep's leads (the rep being the
    lead's company's assigned rep), kept exact by triggers on leads and on companies
    (migration 0010). Read by a board filtered by a rep or "mine"."""

    __tablename__ = "lead_stage_rep_totals"

    stage: Mapped[LeadStage] = mapped_column(Enum(LeadStage, name="lead_stage"), primary_key=True)
    rep_id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    lead_count: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    revenue: Mapped[Decimal] = mapped_column(Numeric(14, 2), server_default=text("0"))


class Note(db.Model):
    """Free text by a user, always anchored to a company, optionally to a lead."""

    __tablename__ = "notes"
    __table_args__ = (
        Index(None, "company_id", "created_at"),
        Index(None, "lead_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str]
    created_at: Mapped[datetime] = created_at()
    # Explicit edit tracking instead of updated_at: set by the code that edits the body.
    edited_at: Mapped[datetime | None]

    company: Mapped[Company] = relationship(back_populates="notes")
    lead: Mapped[Lead | None] = relationship(back_populates="notes")
    author: Mapped[User] = relationship()


class Tag(db.Model):
    """Tag catalog. Lead tags refer to it by slug (no foreign key)."""

    __tablename__ = "tags"
    __table_args__ = (Index(None, "category", "is_active", "sort_order"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    slug: Mapped[str] = mapped_column(unique=True)
    name: Mapped[str]
    category: Mapped[TagCategory] = mapped_column(Enum(TagCategory, name="tag_category"))
    color: Mapped[str | None]
    description: Mapped[str | None]
    is_system: Mapped[bool] = mapped_column(Boolean, server_default=sql_bool(False), default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=sql_bool(True), default=True)
    sort_order: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    def __repr__(self) -> str:
        return f"<Tag {self.slug}>"


class LeadTag(db.Model):
    """A tag applied to a lead; removal is soft (`removed_at`)."""

    __tablename__ = "lead_tags"
    __table_args__ = (UniqueConstraint("lead_id", "tag_slug", name="unique_active_tag"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id"))
    # Loose reference to Tag.slug (no enforced foreign key).
    tag_slug: Mapped[str] = mapped_column(index=True)
    applied_at: Mapped[datetime] = mapped_column(server_default=func.now())
    applied_by: Mapped[str] = mapped_column(server_default=text("'nick'"), default="nick")
    removed_at: Mapped[datetime | None]

    lead: Mapped[Lead] = relationship(back_populates="tags")

    @property
    def is_active(self) -> bool:
        return self.removed_at is None


class LeadScore(db.Model):
    """Computed scores of a lead (1:1)."""

    __tablename__ = "lead_scores"

    id: Mapped[uuid.UUID] = uuid_pk()
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id"), unique=True)
    quality_score: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    engagement_score: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    deal_risk: Mapped[DealRisk] = mapped_column(
        Enum(DealRisk, name="deal_risk"),
        server_default=DealRisk.UNKNOWN.value,
        default=DealRisk.UNKNOWN,
    )
    last_interaction_at: Mapped[datetime | None]
    days_since_contact: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = updated_at()

    lead: Mapped[Lead] = relationship(back_populates="score")


class TaxonomyValue(db.Model):
    """One option of a data-driven dropdown list (industry, source, vendor, ...)."""

    __tablename__ = "taxonomy_values"
    __table_args__ = (
        UniqueConstraint("type", "value"),
        Index(None, "type", "active", "sort_order"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    type: Mapped[TaxonomyType] = mapped_column(Enum(TaxonomyType, name="taxonomy_type"))
    value: Mapped[str]
    sort_order: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    active: Mapped[bool] = mapped_column(Boolean, server_default=sql_bool(True), default=True)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class CompanyAddress(db.Model):
    """A billing and/or shipping address of a company."""

    __tablename__ = "company_addresses"

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str]
    type: Mapped[AddressType] = mapped_column(Enum(AddressType, name="address_type"))
    address_line1: Mapped[str]
    address_line2: Mapped[str | None]
    city: Mapped[str]
    state: Mapped[str]
    zip: Mapped[str]
    country: Mapped[str] = mapped_column(server_default=text("'US'"), default="US")
    notes: Mapped[str | None]
    is_default_billing: Mapped[bool] = mapped_column(
        Boolean, server_default=sql_bool(False), default=False
    )
    is_default_shipping: Mapped[bool] = mapped_column(
        Boolean, server_default=sql_bool(False), default=False
    )
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    company: Mapped[Company] = relationship(back_populates="addresses")
    billed_invoices: Mapped[list[Invoice]] = relationship(
        back_populates="bill_to_address",
        foreign_keys="Invoice.bill_to_address_id",
        passive_deletes=True,
    )
    shipped_invoices: Mapped[list[Invoice]] = relationship(
        back_populates="ship_to_address",
        foreign_keys="Invoice.ship_to_address_id",
        passive_deletes=True,
    )

    @property
    def lines(self) -> list[str]:
        """The address as printable lines (for invoices and labels)."""
        out = [self.address_line1]
        if self.address_line2:
            out.append(self.address_line2)
        out.append(f"{self.city}, {self.state} {self.zip}")
        if self.country and self.country != "US":
            out.append(self.country)
        return out


class Task(db.Model):
    """A to-do / follow-up, possibly generated by a sequence step."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("sequence_run_id", "sequence_step_number", name="task_run_step_unique"),
        Index(None, "is_completed", "due_at"),
        # not in the spec (migration 0009): a company page's tasks, a rep's open tasks
        Index("ix_tasks_company_id", "company_id"),
        Index("ix_tasks_assigned_to_id_is_completed", "assigned_to_id", "is_completed"),
        # a rep's open tasks by due time: the rep's home counts and lists them index-only (0030)
        Index("ix_tasks_assigned_to_id_open_due_at", "assigned_to_id", "due_at", "created_at",
              postgresql_where=text("is_completed IS false")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    lead_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("leads.id", ondelete="SET NULL"), index=True
    )
    company_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL")
    )
    assigned_to_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    title: Mapped[str]
    description: Mapped[str | None]
    task_type: Mapped[TaskType] = mapped_column(
        Enum(TaskType, name="task_type"),
        server_default=TaskType.GENERAL.value,
        default=TaskType.GENERAL,
    )
    priority: Mapped[TaskPriority] = mapped_column(
        Enum(TaskPriority, name="task_priority"),
        index=True,
        server_default=TaskPriority.NORMAL.value,
        default=TaskPriority.NORMAL,
    )
    due_at: Mapped[datetime | None]
    calendar_event_id: Mapped[str | None]
    duration_min: Mapped[int | None] = mapped_column(Integer)
    completed_at: Mapped[datetime | None]
    is_completed: Mapped[bool] = mapped_column(
        Boolean, server_default=sql_bool(False), default=False
    )
    sequence_run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sequence_runs.id", ondelete="SET NULL")
    )
    sequence_step_number: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    lead: Mapped[Lead | None] = relationship(back_populates="tasks")
    company: Mapped[Company | None] = relationship(back_populates="tasks")
    assigned_to: Mapped[User | None] = relationship()
    sequence_run: Mapped[SequenceRun | None] = relationship(back_populates="tasks")

    def __repr__(self) -> str:
        return f"<Task {self.title!r}>"


__all__ = [
    "AddressType",
    "Company",
    "CompanyAddress",
    "CompanyStatus",
    "Contact",
    "DealRisk",
    "Lead",
    "LeadScore",
    "LeadStage",
    "LeadTag",
    "Note",
    "Tag",
    "TagCategory",
    "TaskPriority",
    "TaskType",
    "Task",
    "TaxonomyType",
    "TaxonomyValue",
]
