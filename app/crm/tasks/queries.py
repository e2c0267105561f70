"""Reads of tasks: a rep's open tasks by due date, a company's tasks."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.crm.models import Lead, Task
from app.extensions import db


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


def company_tasks(company_id: uuid.UUID, done_limit: int = 10) -> list[Task]:
    """The company's tasks and its leads' (open ones by due date, then the last few done),
    with what a task item shows loaded."""
    options = (joinedload(Task.lead).joinedload(Lead.contact), joinedload(Task.lead).joinedload(Lead.company),
               joinedload(Task.company))
    open_ = db.session.scalars(
        select(Task).where(Task.company_id == company_id, Task.is_completed.is_(False)).options(*options)
        .order_by(Task.due_at.asc().nulls_last(), Task.created_at)).all()
    done = db.session.scalars(
        select(Task).where(Task.company_id == company_id, Task.is_completed.is_(True)).options(*options)
        .order_by(Task.completed_at.desc().nulls_last()).limit(done_limit)).all()
    return [*open_, *done]
