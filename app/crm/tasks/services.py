"""Tasks: create, complete (idempotent), reopen, reassign. Each is an activity."""
from __future__ import annotations

from datetime import UTC, datetime

from app.activity.services import record
from app.auth.services import admin_to_ask
from app.crm.models import Task, TaskPriority, TaskType
from app.extensions import db


def create_task(*, title: str, actor, lead=None, company=None, assigned_to=None,
                task_type: TaskType = TaskType.GENERAL, priority: TaskPriority = TaskPriority.NORMAL,
                due_at: datetime | None = None, description: str | None = None) -> Task:
    company_id = company.id if company is not None else (lead.company_id if lead is not None else None)
    task = Task(title=title.strip(), description=(description or "").strip() or None,
                lead_id=lead.id if lead is not None else None, company_id=company_id,
                assigned_to_id=(assigned_to or actor).id, task_type=task_type, priority=priority,
                due_at=due_at, is_completed=False)
    db.session.add(task)
    db.session.flush()
    record("task.created", f"Task: {task.title}", actor=actor, lead=task.lead_id, company=company_id,
           detail={"task_id": task.id, "due_at": due_at, "assigned_to": task.assigned_to_id})
    return task


def create_task_for_an_admin(*, title: str, description: str, actor, company=None, lead=None,
                             priority: TaskPriority = TaskPriority.HIGH) -> Task | None:
    """A request or an alert for the owner's and admins' decision (a void, a refund, a merge,
    money nobody applied): one task for the first active admin, else the owner. None when
    there is nobody to ask; the caller says so in its own words."""
    admin = admin_to_ask()
    if admin is None:
        return None
    return create_task(title=title, description=description, actor=actor, company=company,
                       lead=lead, assigned_to=admin, priority=priority)


def complete_task(task: Task, *, actor) -> bool:
    """Mark done; False when it already was (a double click changes nothing)."""
    if task.is_completed:
        return False
    task.is_completed = True
    task.completed_at = datetime.now(UTC)
    record("task.completed", f"Completed: {task.title}", actor=actor, lead=task.lead_id,
           company=task.company_id, detail={"task_id": task.id})
    db.session.flush()
    return True


def reopen_task(task: Task, *, actor) -> bool:
    if not task.is_completed:
        return False
    task.is_completed = False
    task.completed_at = None
    record("task.reopened", f"Reopened: {task.title}", actor=actor, lead=task.lead_id,
           company=task.company_id, detail={"task_id": task.id})
    db.session.flush()
    return True


def reassign_task(task: Task, user, *, actor) -> bool:
    if task.assigned_to_id == user.id:
        return False
    before = task.assigned_to_id
    task.assigned_to_id = user.id
    record("task.reassigned", f"Reassigned “{task.title}” to {user.full_name}", actor=actor,
           lead=task.lead_id, company=task.company_id,
           detail={"task_id": task.id, "before": before, "after": user.id})
    db.session.flush()
    return True
