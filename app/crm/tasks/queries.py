"""Reads of tasks: the tasks list (filters, sort, grouped by due date), a company's tasks."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from app.crm.models import Lead, Task, TaskPriority, TaskType
from app.db import escape_like
from app.extensions import db

LIST_LIMIT = 500  # the page shows this many at most (the CSV has them all)
DUE = {"overdue": "Overdue", "today": "Today", "upcoming": "Upcoming", "someday": "No due date"}
SORTS = {"due": "Due date", "priority": "Priority", "created": "Newest"}
WHO = ("mine", "all")  # or a user's id
_PRIORITY_RANK = case({TaskPriority.URGENT: 0, TaskPriority.HIGH: 1, TaskPriority.NORMAL: 2,
                       TaskPriority.LOW: 3}, value=Task.priority, else_=4)


@dataclass
class TaskGroups:
    overdue: list[Task]
    today: list[Task]
    upcoming: list[Task]
    someday: list[Task]


@dataclass(frozen=True)
class TaskFilters:
    """The tasks list's filters and sort, read from its URL (what a saved view keeps)."""

    who: str = "mine"  # mine | all | a user's id
    task_type: TaskType | None = None
    priority: TaskPriority | None = None
    due: str | None = None  # a key of DUE
    q: str | None = None
    sort: str = "due"
    done: bool = False  # completed tasks instead of open ones

    @classmethod
    def from_args(cls, args) -> TaskFilters:
        """Anything that does not read is the default (a list, not a form)."""
        who = args.get("who") or "mine"
        if who not in WHO:
            try:
                who = str(uuid.UUID(who))
            except ValueError:
                who = "mine"
        task_type = args.get("type")
        priority = args.get("priority")
        return cls(who=who,
                   task_type=TaskType(task_type) if task_type in TaskType.__members__ else None,
                   priority=TaskPriority(priority) if priority in TaskPriority.__members__ else None,
                   due=args.get("due") if args.get("due") in DUE else None,
                   q=(args.get("q") or "").strip()[:100] or None,
                   sort=args.get("sort") if args.get("sort") in SORTS else "due",
                   done=args.get("done") == "1")

    def as_args(self) -> dict[str, str]:
        args = {"who": None if self.who == "mine" else self.who,
                "type": self.task_type.value if self.task_type else None,
                "priority": self.priority.value if self.priority else None, "due": self.due, "q": self.q,
                "sort": None if self.sort == "due" else self.sort, "done": "1" if self.done else None}
        return {k: v for k, v in args.items() if v}

    @property
    def assignee_id(self) -> uuid.UUID | None:
        return uuid.UUID(self.who) if self.who not in WHO else None


def _day(now: datetime) -> tuple[datetime, datetime]:
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def _statement(f: TaskFilters, user_id: uuid.UUID, now: datetime):
    start_of_day, end_of_day = _day(now)
    stmt = select(Task).where(Task.is_completed.is_(f.done))
    if f.who == "mine":
        stmt = stmt.where(Task.assigned_to_id == user_id)
    elif f.assignee_id is not None:
        stmt = stmt.where(Task.assigned_to_id == f.assignee_id)
    if f.task_type is not None:
        stmt = stmt.where(Task.task_type == f.task_type)
    if f.priority is not None:
        stmt = stmt.where(Task.priority == f.priority)
    if f.due == "overdue":
        stmt = stmt.where(Task.due_at < now)
    elif f.due == "today":
        stmt = stmt.where(Task.due_at >= now, Task.due_at < end_of_day)
    elif f.due == "upcoming":
        stmt = stmt.where(Task.due_at >= end_of_day)
    elif f.due == "someday":
        stmt = stmt.where(Task.due_at.is_(None))
    if f.q:
        stmt = stmt.where(Task.title.ilike(f"%{escape_like(f.q)}%"))
    due_order = (Task.due_at.asc().nulls_last(),)
    if f.sort == "priority":
        order = (_PRIORITY_RANK, *due_order, Task.created_at)
    elif f.sort == "created":
        order = (Task.created_at.desc(),)
    elif f.done:
        order = (Task.completed_at.desc().nulls_last(), Task.created_at)
    else:
        order = (*due_order, Task.created_at)
    return stmt.order_by(*order, Task.id)


def task_list(f: TaskFilters, user_id: uuid.UUID, now: datetime | None = None,
              limit: int = LIST_LIMIT) -> TaskGroups:
    """The tasks the filters match, in their sort, grouped by due date (one statement)."""
    now = now or datetime.now(UTC)
    _, end_of_day = _day(now)
    tasks = db.session.scalars(
        _statement(f, user_id, now)
        .options(joinedload(Task.lead).joinedload(Lead.contact), joinedload(Task.lead).joinedload(Lead.company),
                 joinedload(Task.company))
        .limit(limit)
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


def my_open_tasks(user_id: uuid.UUID, now: datetime | None = None) -> TaskGroups:
    return task_list(TaskFilters(), user_id, now)


def task_rows(f: TaskFilters, user_id: uuid.UUID, now: datetime | None = None,
              batch: int = 1000) -> Iterator[Task]:
    """Every task the filters match (not one page), in the list's order: one statement read
    `batch` rows at a time through a server-side cursor (memory stays flat)."""
    now = now or datetime.now(UTC)
    stmt = _statement(f, user_id, now).options(
        joinedload(Task.lead).joinedload(Lead.contact), joinedload(Task.lead).joinedload(Lead.company),
        joinedload(Task.company), joinedload(Task.assigned_to))
    yield from db.session.scalars(stmt.execution_options(yield_per=batch))


def count_tasks(f: TaskFilters, user_id: uuid.UUID, now: datetime | None = None, cap: int | None = None) -> int:
    """How many tasks the filters match (at most `cap`)."""
    stmt = _statement(f, user_id, now or datetime.now(UTC)).order_by(None).with_only_columns(Task.id)
    if cap is not None:
        stmt = stmt.limit(cap)
    return db.session.scalar(select(func.count()).select_from(stmt.subquery()))


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
