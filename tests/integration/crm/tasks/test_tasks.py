"""Tasks: created from a lead page, completed once in one click, reassigned; the tasks page."""
from __future__ import annotations

from sqlalchemy import select

from app.activity.models import Activity
from app.crm.models import Task
from app.crm.tasks.services import complete_task, create_task
from tests.factories import csrf_token, login


def activity_types(db_session, lead):
    return [a.activity_type for a in db_session.scalars(
        select(Activity).where(Activity.lead_id == lead.id).order_by(Activity.occurred_at))]


def test_tasks_create_complete_once_and_reassign(app, client, db_session, factory):
    rep, other = factory.user(), factory.user()
    lead = factory.lead()
    login(client, rep)
    empty = client.post(f"/leads/{lead.id}/tasks", data={"title": "", "task_type": "CALL", "priority": "HIGH",
                                                         "assigned_to": str(rep.id), "csrf_token": csrf_token(client, app)},
                        headers={"HX-Request": "true"})
    assert empty.status_code == 422 and b"Say what needs doing." in empty.data
    made = client.post(f"/leads/{lead.id}/tasks", data={
        "title": "Call about the quote", "task_type": "CALL", "priority": "HIGH",
        "due_at": "2030-01-02T09:30", "assigned_to": str(rep.id), "csrf_token": csrf_token(client, app)},
        headers={"HX-Request": "true"})
    assert made.status_code == 200 and b"Call about the quote" in made.data
    task = db_session.scalar(select(Task).where(Task.lead_id == lead.id))
    assert task.company_id == lead.company_id and task.due_at.year == 2030
    for _ in range(2):
        done = client.post(f"/tasks/{task.id}/complete", data={"csrf_token": csrf_token(client, app)},
                           headers={"HX-Request": "true"})
        assert done.status_code == 200 and b"is-done" in done.data
    assert activity_types(db_session, lead).count("task.completed") == 1
    moved = client.post(f"/tasks/{task.id}/reassign", data={"user_id": str(other.id), "csrf_token": csrf_token(client, app)},
                        headers={"HX-Request": "true"})
    assert moved.status_code == 200
    db_session.refresh(task)
    assert task.assigned_to_id == other.id


def test_my_tasks_page_groups_and_completes(app, client, db_session, factory):
    from datetime import UTC, datetime, timedelta

    rep = factory.user()
    lead = factory.lead()
    now = datetime.now(UTC)
    create_task(title="Late", actor=rep, lead=lead, due_at=now - timedelta(days=2))
    create_task(title="Later", actor=rep, lead=lead, due_at=now + timedelta(days=3))
    done = create_task(title="Done already", actor=rep, lead=lead, due_at=now - timedelta(days=1))
    complete_task(done, actor=rep)
    login(client, rep)
    html = client.get("/tasks").get_data(as_text=True)
    html = html[html.index('class="card task-group"'):]  # the groups (the filters name them too)
    assert html.index("Overdue") < html.index("Late") < html.index("Upcoming") < html.index("Later")
    assert "Done already" not in html
