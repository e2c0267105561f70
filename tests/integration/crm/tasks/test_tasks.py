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


def _bulk_tasks(db_session, rep, n, due_at, prefix):
    from sqlalchemy import insert

    from app.crm.models import TaskPriority, TaskType

    db_session.execute(insert(Task), [
        {"title": f"{prefix} {i:03d}", "assigned_to_id": rep.id, "task_type": TaskType.CALL,
         "priority": TaskPriority.NORMAL, "due_at": due_at(i), "is_completed": False} for i in range(n)])
    db_session.flush()


def test_a_long_list_shows_a_page_of_each_group_with_its_true_count_and_opens_a_group_paged(
        app, client, db_session, factory):
    """A rep with 130 overdue calls gets the first 50 (oldest first) and "Show all 130", not a
    page of every task; the opened group pages on 50 at a time ("Show more"), each task once."""
    import re
    from datetime import UTC, datetime, timedelta

    from app.crm.tasks.queries import GROUP_SHOWN

    rep = factory.user()
    now = datetime.now(UTC)
    _bulk_tasks(db_session, rep, 130, lambda i: now - timedelta(days=200 - i), "Overdue call")
    _bulk_tasks(db_session, rep, 3, lambda i: now + timedelta(days=5 + i), "Later call")
    db_session.commit()
    login(client, rep)
    page = client.get("/tasks").get_data(as_text=True)
    overdue = page[page.index('id="tasks-overdue"'):page.index('id="tasks-upcoming"')]
    assert re.findall(r'task__title">(Overdue call \d{3})<', overdue) == [f"Overdue call {i:03d}" for i in range(GROUP_SHOWN)]
    assert ">130<" in page and "Show all 130 overdue" in page and "Later call 002" in page

    opened = client.get("/tasks?due=overdue").get_data(as_text=True)
    seen = re.findall(r'task__title">(Overdue call \d{3})<', opened)
    assert "Later call" not in opened and "Show 50 more of 130" in opened
    offset = 50
    while True:
        more = client.get(f"/tasks?due=overdue&offset={offset}", headers={"HX-Request": "true"}).get_data(as_text=True)
        assert "<html" not in more  # the group's rows, appended in place
        seen += re.findall(r'task__title">(Overdue call \d{3})<', more)
        found = re.search(r"offset=(\d+)", more)
        if not found:
            break
        offset = int(found.group(1))
    assert seen == [f"Overdue call {i:03d}" for i in range(130)]
    assert "Show 30 more of 130" in client.get("/tasks?due=overdue&offset=50", headers={"HX-Request": "true"}).text


def test_the_tasks_page_reads_a_constant_few_statements_however_many_tasks(app, client, db_session, factory,
                                                                          count_statements):
    from datetime import UTC, datetime, timedelta

    rep = factory.user()
    now = datetime.now(UTC)
    login(client, rep)

    def measure():
        db_session.expire_all()
        with count_statements() as counter:
            assert client.get("/tasks").status_code == 200
        return counter.count

    _bulk_tasks(db_session, rep, 5, lambda i: now - timedelta(days=i + 1), "few")
    db_session.commit()
    few = measure()
    _bulk_tasks(db_session, rep, 300, lambda i: now + timedelta(days=i + 1), "many")
    db_session.commit()
    assert measure() == few
