"""Read-side queries of the sales workspace (one statement per page part)."""
from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Text, Uuid, bindparam, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import joinedload, selectinload

from app.auth.models import User, UserRole
from app.crm.importing.services import import_token
from app.crm.models import (
    Company,
    CompanyStatus,
    Contact,
    DealRisk,
    Lead,
    LeadScore,
    LeadStage,
    LeadTag,
    Note,
    Tag,
    Task,
    TaskPriority,
    TaskType,
    contact_display_name,
)
from app.db import fetch_all
from app.extensions import db
from app.paging import Keyset, split_page


@dataclass
class CompanyPage:
    companies: list[Company]
    next_after: str | None


COMPANY_SORTS = {
    "name": Keyset(Company.name, Company.id, descending=False, kind=str),
    "newest": Keyset(Company.created_at, Company.id, descending=True, kind=datetime),
    "fleet": Keyset(func.coalesce(Company.fleet_size, -1), Company.id, descending=True, kind=int),
}
# a listed company's value of each sort (what its Keyset's column reads)
_SORT_VALUES = {
    "name": lambda company: company.name,
    "newest": lambda company: company.created_at,
    "fleet": lambda company: company.fleet_size if company.fleet_size is not None else -1,
}


@dataclass(frozen=True)
class CompanyFilters:
    q: str | None = None
    status: str | None = None
    rep_id: uuid.UUID | None = None
    industry: str | None = None
    sort: str = "name"
    import_token: str | None = None  # only what one CSV import created

    @classmethod
    def from_args(cls, args) -> CompanyFilters:
        status = args.get("status") if args.get("status") in CompanyStatus.__members__ else None
        try:
            rep_id = uuid.UUID(args["rep"]) if args.get("rep") else None
        except ValueError:
            rep_id = None
        sort = args.get("sort") if args.get("sort") in COMPANY_SORTS else "name"
        q = (args.get("q") or "").strip()[:100] or None

        return cls(q, status, rep_id, (args.get("industry") or "").strip() or None, sort,
                   import_token(args.get("import")))

    def as_args(self, **extra) -> dict:
        args = {"q": self.q, "status": self.status, "rep": str(self.rep_id) if self.rep_id else None,
                "industry": self.industry, "sort": None if self.sort == "name" else self.sort,
                "import": self.import_token, **extra}
        return {k: v for k, v in args.items() if v}


def filter_params(filters: CompanyFilters) -> dict:
    """The values of the list's filters that are on, by the name of their bound parameter."""
    values = {"f_status": CompanyStatus[filters.status] if filters.status else None, "f_rep": filters.rep_id,
              "f_industry": filters.industry, "f_import": filters.import_token}
    return {name: value for name, value in values.items() if value}


@functools.lru_cache(maxsize=128)
def _filtered(query, shape: frozenset):
    """`query` with the filters named in `shape` as bound parameters (values: filter_params),
    built once per query and shape: a statement built once is compiled and keyed once."""
    if "f_status" in shape:
        query = query.where(Company.status == bindparam("f_status", type_=Company.status.type))
    if "f_rep" in shape:
        query = query.where(Company.assigned_rep_id == bindparam("f_rep", type_=Uuid))
    if "f_industry" in shape:
        query = query.where(Company.industry == bindparam("f_industry", type_=Text))
    if "f_import" in shape:
        from app.crm.importing.services import created_by_import

        query = query.where(Company.id.in_(created_by_import(bindparam("f_import", type_=Text), "company")))
    return query


def filtered_companies(filters: CompanyFilters, query):
    """`query` on Company with the list's filters (not its text search) applied."""
    params = filter_params(filters)
    return _filtered(query, frozenset(params)).params(**params)


@functools.cache
def list_rows():
    """What a row of the companies list shows (and its sorts' values), read as plain rows: the
    list has no use for whole companies (a row read as an object costs ~4x the CPU). Built once."""
    return (select(Company.id, Company.name, Company.status, Company.industry, Company.fleet_size,
                   Company.phone, Company.created_at, User.id.label("rep_id"),
                   User.first_name.label("rep_first_name"), User.last_name.label("rep_last_name"))
            .outerjoin(User, User.id == Company.assigned_rep_id))


@functools.cache
def _whole_companies():
    return select(Company).options(joinedload(Company.assigned_rep))


def companies_page(filters: CompanyFilters, after: str | None, limit: int = 50, query=None) -> CompanyPage:
    """Filters and a sort, keyset-paged on (sort value, id). A text search shows the
    best matches first (misspellings via pg_trgm, substrings via ILIKE) without pages.
    `query`: what to read of each company (whole companies with their rep by default;
    `list_rows()` for the list page), a statement built once."""
    query = _whole_companies() if query is None else query
    if filters.q:
        from app.crm.search.services import find_companies

        params = filter_params(filters)
        return CompanyPage(find_companies(filters.q, _filtered(query, frozenset(params)), limit, params), None)
    query = filtered_companies(filters, query)
    keyset = COMPANY_SORTS[filters.sort]
    query = keyset.continue_after(query, after)
    rows, more = split_page(fetch_all(query.order_by(*keyset.order_by()).limit(limit + 1)), limit)
    if not more:
        return CompanyPage(rows, None)
    last = rows[-1]
    return CompanyPage(rows, keyset.cursor(_SORT_VALUES[filters.sort](last), last.id))


def company_detail(company_id: uuid.UUID) -> Company | None:
    return db.session.scalar(
        select(Company)
        .where(Company.id == company_id)
        .options(
            selectinload(Company.contacts),
            selectinload(Company.addresses),
            selectinload(Company.leads).joinedload(Lead.contact),
            selectinload(Company.notes).joinedload(Note.author),
            joinedload(Company.assigned_rep),
        )
    )


def lead_detail(lead_id: uuid.UUID) -> Lead | None:
    return db.session.scalar(
        select(Lead)
        .where(Lead.id == lead_id)
        .options(
            joinedload(Lead.company),
            joinedload(Lead.contact),
            joinedload(Lead.score),
            selectinload(Lead.tags),
            selectinload(Lead.tasks).joinedload(Task.assigned_to),
            selectinload(Lead.notes).joinedload(Note.author),
        )
    )


# ------------------------------------------------------------------ the lead page
# What the lead page shows, read in one statement of the columns it shows (the lead with its
# company, contact and score; its active tags, tasks and notes; the tag catalogue and the
# assignees its forms offer; the lost reasons its stage form suggests) instead of ORM
# entities with four selectin loads and three more reads.

ASSIGNABLE_ROLES = (UserRole.REP, UserRole.ADMIN, UserRole.NICK)


@dataclass(frozen=True)
class LeadCompany:
    id: uuid.UUID
    name: str


@dataclass(frozen=True)
class LeadContact:
    id: uuid.UUID
    display_name: str
    email: str | None
    phone_e164: str | None


@dataclass(frozen=True)
class LeadScores:
    quality_score: int
    engagement_score: int
    deal_risk: DealRisk


@dataclass(frozen=True)
class LeadTask:
    """A task of the lead page (what crm/tasks/_task_item.html reads); `lead` is the page's."""
    id: uuid.UUID
    title: str
    is_completed: bool
    priority: TaskPriority
    task_type: TaskType
    due_at: datetime | None
    lead: LeadPage = field(repr=False, compare=False)
    company = None  # a task of a lead links to its lead


@dataclass(frozen=True)
class LeadNote:
    body: str
    author_name: str
    created_at: datetime
    edited_at: datetime | None


@dataclass(eq=False)
class LeadPage:
    id: uuid.UUID
    stage: LeadStage
    source: str | None
    source_campaign: str | None
    estimated_units: int | None
    estimated_revenue: Decimal | None
    stage_changed_at: datetime
    lost_reason: str | None
    is_dnc: bool
    company: LeadCompany | None
    contact: LeadContact
    score: LeadScores | None
    tags: list[str]  # the active tags' slugs, in the order they were applied
    catalog: list[tuple[str, str, bool]]  # every tag: (slug, name, is_active), in the catalogue's order
    assignees: list[tuple[str, str]]  # (id, full name) of who a task can be assigned to
    tasks: list[LeadTask]
    notes: list[LeadNote]  # newest first
    lost_reasons_setting: object = None  # the stored value of Settings → Lost reasons (None: not set)


def _json_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


@functools.cache  # built once (its cache key computed once), at the first page: reports and
def _lead_page_statement():  # settings import crm's package
    from app.reports.settings import LOST_REASONS
    from app.settings.models import Setting

    leads, companies, contacts = Lead.__table__, Company.__table__, Contact.__table__
    scores, lead_tags, tags, users = LeadScore.__table__, LeadTag.__table__, Tag.__table__, User.__table__
    tasks, notes, settings = Task.__table__, Note.__table__, Setting.__table__
    contact_company = companies.alias("contact_company")
    authors = users.alias("authors")
    active_tags = (select(func.array_agg(aggregate_order_by(lead_tags.c.tag_slug, lead_tags.c.applied_at,
                                                           lead_tags.c.id)))
                   .where(lead_tags.c.lead_id == leads.c.id, lead_tags.c.removed_at.is_(None)).scalar_subquery())
    catalog = select(func.json_agg(aggregate_order_by(
        func.json_build_array(tags.c.slug, tags.c.name, tags.c.is_active),
        tags.c.category, tags.c.sort_order, tags.c.name))).scalar_subquery()
    assignees = (select(func.json_agg(aggregate_order_by(
        func.json_build_array(users.c.id, users.c.first_name, users.c.last_name), users.c.first_name,
        users.c.last_name)))
        .where(users.c.is_active.is_(True), users.c.role.in_(ASSIGNABLE_ROLES)).scalar_subquery())
    lead_tasks = (select(func.json_agg(aggregate_order_by(
        func.json_build_array(tasks.c.id, tasks.c.title, tasks.c.is_completed, tasks.c.priority,
                              tasks.c.task_type, tasks.c.due_at), tasks.c.created_at, tasks.c.id)))
        .where(tasks.c.lead_id == leads.c.id).scalar_subquery())
    lead_notes = (select(func.json_agg(aggregate_order_by(
        func.json_build_array(notes.c.body, authors.c.first_name, authors.c.last_name, notes.c.created_at,
                              notes.c.edited_at), notes.c.created_at.desc(), notes.c.id)))
        .select_from(notes.join(authors, authors.c.id == notes.c.author_id))
        .where(notes.c.lead_id == leads.c.id).scalar_subquery())
    return (
        select(leads.c.id, leads.c.stage, leads.c.source, leads.c.source_campaign, leads.c.estimated_units,
               leads.c.estimated_revenue, leads.c.stage_changed_at, leads.c.lost_reason, leads.c.is_dnc,
               companies.c.id, companies.c.name,
               contacts.c.id, contacts.c.full_name, contacts.c.first_name, contacts.c.last_name, contacts.c.email,
               contacts.c.phone_e164, contacts.c.phone, contact_company.c.name,
               scores.c.quality_score, scores.c.engagement_score, scores.c.deal_risk,
               active_tags, catalog, assignees, lead_tasks, lead_notes,
               select(settings.c.value).where(settings.c.key == LOST_REASONS).scalar_subquery())
        .select_from(leads.join(contacts, contacts.c.id == leads.c.contact_id)
                     .outerjoin(companies, companies.c.id == leads.c.company_id)
                     .outerjoin(contact_company, contact_company.c.id == contacts.c.company_id)
                     .outerjoin(scores, scores.c.lead_id == leads.c.id))
        .where(leads.c.id == bindparam("lead_id"))
    )


def lead_page(lead_id: uuid.UUID) -> LeadPage | None:
    """The lead page's data in one statement (None: no such lead)."""
    row = db.session.execute(_lead_page_statement(), {"lead_id": lead_id}).first()
    if row is None:
        return None
    (id_, stage, source, campaign, units, revenue, changed, lost_reason, is_dnc, company_id, company_name,
     contact_id, full, first, last, email, phone_e164, phone, contact_company, quality, engagement, risk,
     active, catalog, assignees, tasks, notes, lost_reasons_setting) = row
    page = LeadPage(
        id_, stage, source, campaign, units, revenue, changed, lost_reason, is_dnc,
        LeadCompany(company_id, company_name) if company_id is not None else None,
        LeadContact(contact_id, contact_display_name(full, first, last, email, contact_company, phone_e164 or phone),
                    email, phone_e164),
        LeadScores(quality, engagement, risk) if risk is not None else None,
        active or [], [(slug, name, is_active) for slug, name, is_active in catalog or ()],
        [(user_id, f"{first_name} {last_name}".strip()) for user_id, first_name, last_name in assignees or ()],
        [], [LeadNote(body, f"{first_name} {last_name}".strip(), _json_time(created), _json_time(edited))
             for body, first_name, last_name, created, edited in notes or ()], lost_reasons_setting)
    page.tasks = [LeadTask(uuid.UUID(task_id), title, done, TaskPriority(priority), TaskType(task_type),
                           _json_time(due), page)
                  for task_id, title, done, priority, task_type, due in tasks or ()]
    return page


def assignable_users():
    return db.session.scalars(
        select(User).where(User.is_active.is_(True), User.role.in_(ASSIGNABLE_ROLES))
        .order_by(User.first_name, User.last_name)
    ).all()
