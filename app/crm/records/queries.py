"""Read-side queries of the sales workspace (one statement per page part)."""
from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Text, Uuid, bindparam, func, select
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


def active_tags(lead: Lead) -> list[LeadTag]:
    return [t for t in lead.tags if t.removed_at is None]


def assignable_users():
    return db.session.scalars(
        select(User).where(User.is_active.is_(True),
                           User.role.in_([UserRole.REP, UserRole.ADMIN, UserRole.NICK]))
        .order_by(User.first_name, User.last_name)
    ).all()
