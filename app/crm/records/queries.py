"""Read-side queries of the sales workspace (one statement per page part)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from app.crm.models import Company, Lead, LeadTag, Note, Task
from app.extensions import db


@dataclass
class CompanyPage:
    companies: list[Company]
    next_after: str | None


COMPANY_SORTS = {
    "name": (Company.name, False),
    "newest": (Company.created_at, True),
    "fleet": (func.coalesce(Company.fleet_size, -1), True),
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
        from app.crm.models import CompanyStatus

        status = args.get("status") if args.get("status") in CompanyStatus.__members__ else None
        try:
            rep_id = uuid.UUID(args["rep"]) if args.get("rep") else None
        except ValueError:
            rep_id = None
        sort = args.get("sort") if args.get("sort") in COMPANY_SORTS else "name"
        q = (args.get("q") or "").strip()[:100] or None
        from app.crm.importing.services import import_token

        return cls(q, status, rep_id, (args.get("industry") or "").strip() or None, sort,
                   import_token(args.get("import")))

    def as_args(self, **extra) -> dict:
        args = {"q": self.q, "status": self.status, "rep": str(self.rep_id) if self.rep_id else None,
                "industry": self.industry, "sort": None if self.sort == "name" else self.sort,
                "import": self.import_token, **extra}
        return {k: v for k, v in args.items() if v}


def companies_page(filters: CompanyFilters, after: str | None, limit: int = 50) -> CompanyPage:
    """Filters and a sort, keyset-paged on (sort value, id). A text search shows the
    best matches first (misspellings via pg_trgm, substrings via ILIKE) without pages."""
    from app.crm.models import CompanyStatus

    query = select(Company).options(joinedload(Company.assigned_rep))
    if filters.status:
        query = query.where(Company.status == CompanyStatus[filters.status])
    if filters.rep_id:
        query = query.where(Company.assigned_rep_id == filters.rep_id)
    if filters.industry:
        query = query.where(Company.industry == filters.industry)
    if filters.import_token:
        from app.crm.importing.services import created_by_import

        query = query.where(Company.id.in_(created_by_import(filters.import_token, "company")))
    if filters.q:
        from app.crm.search.services import find_companies

        return CompanyPage(find_companies(filters.q, query, limit), None)
    column, descending = COMPANY_SORTS[filters.sort]
    if after:
        raw, _, ident = after.rpartition("|")
        try:
            value = raw if filters.sort == "name" else (
                datetime.fromisoformat(raw) if filters.sort == "newest" else int(raw))
            ident = uuid.UUID(ident)
            if descending:
                query = query.where(or_(column < value, and_(column == value, Company.id < ident)))
            else:
                query = query.where(or_(column > value, and_(column == value, Company.id > ident)))
        except ValueError:
            pass
    order = (column.desc(), Company.id.desc()) if descending else (column.asc(), Company.id.asc())
    rows = db.session.scalars(query.order_by(*order).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = list(rows[:limit])
    if not more:
        return CompanyPage(rows, None)
    last = rows[-1]
    value = {"name": last.name, "newest": last.created_at.isoformat() if last.created_at else "",
             "fleet": str(last.fleet_size if last.fleet_size is not None else -1)}[filters.sort]
    return CompanyPage(rows, f"{value}|{last.id}")


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
    from app.auth.models import User, UserRole

    return db.session.scalars(
        select(User).where(User.is_active.is_(True),
                           User.role.in_([UserRole.REP, UserRole.ADMIN, UserRole.NICK]))
        .order_by(User.first_name, User.last_name)
    ).all()
