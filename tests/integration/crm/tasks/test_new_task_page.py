"""Issue 9: no "New task" on the tasks page."""
from __future__ import annotations

from sqlalchemy import func, select

from app.auth.models import UserRole
from app.crm.models import Task, TaskPriority, TaskType
from tests.factories import csrf_token, login


def test_new_task_from_the_tasks_page(app, client, db_session, factory):
    rep = factory.user()
    other = factory.user(UserRole.REP)
    login(client, rep)
    assert 'href="/tasks/new"' in client.get("/tasks").get_data(as_text=True)
    form = client.get("/tasks/new")
    assert form.status_code == 200 and f'<option selected value="{rep.id}">' in form.get_data(as_text=True)
    done = client.post("/tasks/new", data={
        "csrf_token": csrf_token(client, app), "title": "Order more GL300 stock", "task_type": "GENERAL",
        "priority": "HIGH", "due_at": "2030-01-02T09:30", "assigned_to": str(other.id)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/tasks")
    task = db_session.scalar(select(Task).where(Task.title == "Order more GL300 stock"))
    assert task.assigned_to_id == other.id and task.priority is TaskPriority.HIGH
    assert task.task_type is TaskType.GENERAL and task.lead_id is None and task.company_id is None
    assert task.due_at.isoformat().startswith("2030-01-02T09:30")
    before = db_session.scalar(select(func.count()).select_from(Task))
    refused = client.post("/tasks/new", data={"csrf_token": csrf_token(client, app), "title": "",
                                              "task_type": "GENERAL", "priority": "NORMAL",
                                              "assigned_to": str(rep.id)})
    assert refused.status_code == 422 and "Say what needs doing." in refused.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(Task)) == before
