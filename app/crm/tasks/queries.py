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

GROUP_SHOWN = 50  # each due-date group shows this many on the page; "Show all" opens the group, paged
DUE = {"overdue": "Overdue", "today": "Today", "upcoming": "Upcoming", "someday": "No due date"}
SORTS = {"due": "Due date", "priority": "Priority", "created": "Newest"}
WHO = ("mine", "all")  # or a user's id
_PRIORITY_RANK = case({TaskPriority.URGENT: 0, TaskPriority.HIGH: 1, TaskPriority.NORMAL: 2,
                       TaskPriority.LOW: 3}, value=Task.priority, else_=4)


@dataclass
class TaskGroup:
    key: str  # a key of DUE
    tasks: list[Task]
    total: int  # how many the filters match in this group (the page shows the first GROUP_SHOWN)
    next_offset: int | None = None  # a group opened alone (?due=): where its next page starts


@dataclass
class TaskGroups:
    overdue: TaskGroup
    today: TaskGroup
    upcoming: TaskGroup
    someday: TaskGroup

    def __iter__(self):
        return iter((self.overdue, self.today, self.upcoming, self.someday))

    @property
    def total(self) -> int:
        return sum(g.total for g in self)


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


def _filtered(f: TaskFilters, user_id: uuid.UUID, now: datetime):
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
    return stmt


def _order(f: TaskFilters) -> tuple:
    due_order = (Task.due_at.asc().nulls_last(),)
    if f.sort == "priority":
        order = (_PRIORITY_RANK, *due_order, Task.created_at)
    elif f.sort == "created":
        order = (Task.created_at.desc(),)
    elif f.done:
        order = (Task.completed_at.desc().nulls_last(), Task.created_at)
    else:
        order = (*due_order, Task.created_at)
    return (*order, Task.id)


def _statement(f: TaskFilters, user_id: uuid.UUID, now: datetime):
    return _filtered(f, user_id, now).order_by(*_order(f))


def _bucket(now: datetime):
    """The due-date group of a task, as a number in the page's order (a key of DUE by index)."""
    _, end_of_day = _day(now)
    return case((Task.due_at.is_(None), 3), (Task.due_at < now, 0), (Task.due_at < end_of_day, 1), else_=2)


def task_list(f: TaskFilters, user_id: uuid.UUID, now: datetime | None = None, *, shown: int = GROUP_SHOWN,
              offset: int = 0) -> TaskGroups:
    """The tasks the filters match, grouped by due date, in their sort: the first `shown` of each
    group and each group's count, in one statement (a window over the matching rows, so a rep with
    thousands of open tasks gets a page of a few dozen, not all of them). With a due filter one
    group is open: `shown` rows from `offset`, and where the next page starts."""
    now = now or datetime.now(UTC)
    bucket = _bucket(now)
    ranked = (_filtered(f, user_id, now).with_only_columns(
        Task.id, bucket.label("bucket"),
        func.row_number().over(partition_by=bucket, order_by=_order(f)).label("rank"),
        func.count().over(partition_by=bucket).label("total"))).subquery()
    first, last = offset + 1, offset + shown + 1  # one more than shown: is there a next page
    rows = db.session.execute(
        select(Task, ranked.c.bucket, ranked.c.total).join(ranked, ranked.c.id == Task.id)
        .where(ranked.c.rank.between(first, last))
        .options(joinedload(Task.lead).joinedload(Lead.contact), joinedload(Task.lead).joinedload(Lead.company),
                 joinedload(Task.company))
        .order_by(ranked.c.bucket, ranked.c.rank)).unique().all()
    keys = list(DUE)
    groups = {key: TaskGroup(key, [], 0) for key in keys}
    for task, number, total in rows:
        group = groups[keys[number]]
        group.total = total
        if len(group.tasks) < shown:
            group.tasks.append(task)
        elif f.due:  # the group opened alone pages on; the others link to it
            group.next_offset = offset + shown
    return TaskGroups(**groups)


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
