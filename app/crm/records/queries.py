"""Read-side queries of the sales workspace (one statement per page part)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from app.auth.models import User, UserRole
from app.crm.importing.services import import_token
from app.crm.models import Company, CompanyStatus, Lead, LeadTag, Note, Task
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


def filtered_companies(filters: CompanyFilters, query):
    """`query` on Company with the list's filters (not its text search) applied."""
    if filters.status:
        query = query.where(Company.status == CompanyStatus[filters.status])
    if filters.rep_id:
        query = query.where(Company.assigned_rep_id == filters.rep_id)
    if filters.industry:
        query = query.where(Company.industry == filters.industry)
    if filters.import_token:
        from app.crm.importing.services import created_by_import

        query = query.where(Company.id.in_(created_by_import(filters.import_token, "company")))
    return query


def list_rows():
    """What a row of the companies list shows (and its sorts' values), read as plain rows: the
    list has no use for whole companies (a row read as an object costs ~4x the CPU)."""
    return (select(Company.id, Company.name, Company.status, Company.industry, Company.fleet_size,
                   Company.phone, Company.created_at, User.id.label("rep_id"),
                   User.first_name.label("rep_first_name"), User.last_name.label("rep_last_name"))
            .outerjoin(User, User.id == Company.assigned_rep_id))


def companies_page(filters: CompanyFilters, after: str | None, limit: int = 50, query=None) -> CompanyPage:
    """Filters and a sort, keyset-paged on (sort value, id). A text search shows the
    best matches first (misspellings via pg_trgm, substrings via ILIKE) without pages.
    `query`: what to read of each company (whole companies with their rep by default;
    `list_rows()` for the list page)."""
    if query is None:
        query = select(Company).options(joinedload(Company.assigned_rep))
    query = filtered_companies(filters, query)
    if filters.q:
        from app.crm.search.services import find_companies

        return CompanyPage(find_companies(filters.q, query, limit), None)
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


def active_tags(lead: Lead) -> list[LeadTag]:
    return [t for t in lead.tags if t.removed_at is None]


def assignable_users():
    return db.session.scalars(
        select(User).where(User.is_active.is_(True),
                           User.role.in_([UserRole.REP, UserRole.ADMIN, UserRole.NICK]))
        .order_by(User.first_name, User.last_name)
    ).all()
