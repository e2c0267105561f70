"""The tasks page, a task's complete / reopen / reassign, and the new-task form that the lead
and company pages share."""
import uuid
from datetime import UTC

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from app.auth.models import User
from app.auth.permissions import SALES, require
from app.crm import bp
from app.crm.models import Task, TaskPriority, TaskType
from app.crm.records import queries
from app.crm.tasks import queries as task_queries
from app.crm.tasks import services as tasking
from app.crm.tasks.forms import TaskForm
from app.errors import get_or_404
from app.extensions import db
from app.htmx import activity_changed, render


def _assignee_choices():
    return [(str(u.id), u.full_name) for u in queries.assignable_users()]


def new_task_form(*, blank: bool, assignees: list[tuple[str, str]] | None = None) -> TaskForm:
    """The new-task form of a lead or company page (assigned to the rep by default).
    `assignees`: the (id, name) choices when the page has read them already."""
    form = TaskForm(formdata=None) if blank else TaskForm()
    form.assigned_to.choices = assignees if assignees is not None else _assignee_choices()
    if not form.assigned_to.data:
        form.assigned_to.data = str(current_user.id)
    return form


def add_task_from(form: TaskForm, *, lead=None, company=None):
    due = form.due_at.data.replace(tzinfo=UTC) if form.due_at.data else None
    return tasking.create_task(title=form.title.data, actor=current_user, lead=lead, company=company,
                               assigned_to=db.session.get(User, uuid.UUID(form.assigned_to.data)),
                               task_type=TaskType(form.task_type.data),
                               priority=TaskPriority(form.priority.data), due_at=due)


@bp.post("/tasks/<task_id>/complete")
@require(SALES)
def complete_task(task_id: str):
    task = get_or_404(Task, task_id)
    tasking.complete_task(task, actor=current_user)
    db.session.commit()
    return activity_changed(render("crm/tasks/_task_item.html", context=dict(task=task, users=queries.assignable_users())))


@bp.post("/tasks/<task_id>/reopen")
@require(SALES)
def reopen_task(task_id: str):
    task = get_or_404(Task, task_id)
    tasking.reopen_task(task, actor=current_user)
    db.session.commit()
    return activity_changed(render("crm/tasks/_task_item.html", context=dict(task=task, users=queries.assignable_users())))


@bp.post("/tasks/<task_id>/reassign")
@require(SALES)
def reassign_task(task_id: str):
    task = get_or_404(Task, task_id)
    try:
        user = db.session.get(User, uuid.UUID(request.form.get("user_id", "")))
    except ValueError:
        user = None
    if user is None or not user.is_active:
        abort(422)
    tasking.reassign_task(task, user, actor=current_user)
    db.session.commit()
    response = render("crm/tasks/_task_item.html", context=dict(task=task, users=queries.assignable_users()))
    return activity_changed(response, f"Reassigned to {user.full_name}")


@bp.get("/tasks")
@require(SALES)
def tasks():
    filters = task_queries.TaskFilters.from_args(request.args)
    users = queries.assignable_users()
    # a group opened alone (?due=) pages on: "Show more" asks for the rows from `offset`
    offset = request.args.get("offset", type=int, default=0) if filters.due else 0
    offset = max(0, min(offset or 0, 1_000_000))
    groups = task_queries.task_list(filters, current_user.id, offset=offset)
    context = dict(groups=groups, users=users, filters=filters, due_labels=task_queries.DUE,
                   page_size=task_queries.GROUP_SHOWN,
                   choices=dict(types=list(TaskType), priorities=list(TaskPriority), due=task_queries.DUE,
                                sorts=task_queries.SORTS))
    if offset:
        return render("crm/tasks/tasks.html", "group_items", context={**context, "group": getattr(groups, filters.due)})
    return render("crm/tasks/tasks.html", context=context)


@bp.route("/tasks/new", methods=["GET", "POST"])
@require(SALES)
def new_task():
    """"New task" on the tasks page: a to-do of its own (not tied to a lead or company;
    those are added from their pages)."""
    form = new_task_form(blank=False)
    if form.validate_on_submit():
        task = add_task_from(form)
        db.session.commit()
        flash(f"Task added: {task.title}", "success")
        return redirect(url_for("crm.tasks"))
    return render("crm/tasks/task_form.html", context=dict(form=form),
                  status=422 if request.method == "POST" else 200)
