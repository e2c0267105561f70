"""Read-side queries of the sales workspace (one statement per page part)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from app.crm.models import Company, Lead, LeadTag, Task
from app.extensions import db


@dataclass
class CompanyPage:
    companies: list[Company]
    next_after: str | None


def companies_page(q: str | None, after: str | None, limit: int = 50) -> CompanyPage:
    """Keyset-paged by (name, id); `q` matches the name by similarity or substring."""
    query = select(Company).options(joinedload(Company.assigned_rep))
    if q:
        # A search shows the best matches first (no further pages): misspellings
        # through pg_trgm, substrings through ILIKE, both on the trigram index.
        q = q.strip()
        pattern = f"%{q}%"
        rows = db.session.scalars(
            query.where(or_(Company.name.ilike(pattern), Company.name.op("%")(q)))
            .order_by(func.similarity(Company.name, q).desc(), Company.name).limit(limit)
        ).all()
        return CompanyPage(list(rows), None)
    if after:
        name, _, ident = after.rpartition("|")
        try:
            query = query.where(
                or_(Company.name > name, and_(Company.name == name, Company.id > uuid.UUID(ident)))
            )
        except ValueError:
            pass
    rows = db.session.scalars(query.order_by(Company.name, Company.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = list(rows[:limit])
    return CompanyPage(rows, f"{rows[-1].name}|{rows[-1].id}" if more else None)


def company_detail(company_id: uuid.UUID) -> Company | None:
    return db.session.scalar(
        select(Company)
        .where(Company.id == company_id)
        .options(
            selectinload(Company.contacts),
            selectinload(Company.addresses),
            selectinload(Company.leads).joinedload(Lead.contact),
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
            selectinload(Lead.notes),
        )
    )


def active_tags(lead: Lead) -> list[LeadTag]:
    return [t for t in lead.tags if t.removed_at is None]


@dataclass
class TaskGroups:
    overdue: list[Task]
    today: list[Task]
    upcoming: list[Task]
    someday: list[Task]


def my_open_tasks(user_id: uuid.UUID, now: datetime | None = None) -> TaskGroups:
    now = now or datetime.now(UTC)
    start_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    end_of_day = start_of_day + timedelta(days=1)
    tasks = db.session.scalars(
        select(Task)
        .where(Task.assigned_to_id == user_id, Task.is_completed.is_(False))
        .options(joinedload(Task.lead).joinedload(Lead.contact), joinedload(Task.company))
        .order_by(Task.due_at.asc().nulls_last(), Task.created_at)
        .limit(500)
    ).all()
    groups = TaskGroups([], [], [], [])
    for task in tasks:
        if task.due_at is None:
            groups.someday.append(task)
        elif task.due_at < now:
            groups.overdue.append(task)
        elif task.due_at < end_of_day:
            groups.today.append(task)
        else:
            groups.upcoming.append(task)
    return groups


def assignable_users():
    from app.auth.models import User, UserRole

    return db.session.scalars(
        select(User).where(User.is_active.is_(True),
                           User.role.in_([UserRole.REP, UserRole.ADMIN, UserRole.NICK]))
        .order_by(User.first_name, User.last_name)
    ).all()
