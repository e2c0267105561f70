"""Saved views of the board, the tasks list and the inbox (the same views as the leads,
companies and invoices lists): saved with the list's filters, shared and opened by a teammate
(the list filtered as saved), changed only by their owner, a default opening the bare list;
and the tasks list's own filters, which its views keep."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.auth.models import UserRole
from app.crm.models import TaskPriority, TaskType
from app.crm.tasks.services import complete_task, create_task
from app.inbox.models import ConversationChannel
from app.reports.models import SavedView
from tests.factories import csrf_token, login
from tests.integration.inbox.queue.test_queue import conversation

NOW = datetime.now(UTC)


def _board(factory, owner):
    factory.lead(company=factory.company(name="Saved Maps Towing"), source="Google Maps")
    factory.lead(company=factory.company(name="Saved Referral Haulers"), source="Referral")
    return "/pipeline", "source=Google+Maps", "Saved Maps Towing", "Saved Referral Haulers"


def _tasks(factory, owner):
    lead = factory.lead()
    create_task(title="Call the urgent fleet", actor=owner, lead=lead, priority=TaskPriority.URGENT,
                assigned_to=owner, due_at=NOW + timedelta(days=1))
    create_task(title="File the normal paperwork", actor=owner, lead=lead, priority=TaskPriority.NORMAL,
                assigned_to=owner, due_at=NOW + timedelta(days=1))
    # the teammate opens the owner's view: "everyone's" urgent tasks, so the owner's show
    return "/tasks", "priority=URGENT&who=all", "Call the urgent fleet", "File the normal paperwork"


def _inbox(factory, owner):
    conversation(factory, channel=ConversationChannel.EMAIL, preview="Saved e-mail about trackers")
    conversation(factory, channel=ConversationChannel.SMS, preview="Saved text about trackers")
    return "/inbox", "tab=all&channel=EMAIL", "Saved e-mail about trackers", "Saved text about trackers"


LISTS = {"board": _board, "tasks": _tasks, "inbox": _inbox}


def save(client, app, **fields):
    return client.post("/views", data={"csrf_token": csrf_token(client, app), **fields})


@pytest.mark.parametrize("list_name", sorted(LISTS))
def test_a_view_of_the_list_is_saved_shared_opened_and_made_default(app, client, db_session, factory, list_name):
    owner, teammate = factory.user(UserRole.REP), factory.user(UserRole.REP)
    path, query, shown, hidden = LISTS[list_name](factory, owner)
    login(client, owner)
    saved = save(client, app, list_name=list_name, name=f"My {list_name} view", query=f"{query}&after=xyz",
                 shared="y")
    assert saved.status_code == 303
    view = db_session.query(SavedView).filter_by(user_id=owner.id, list_name=list_name).one()
    assert saved.headers["Location"].startswith(f"{path}?") and f"view={view.id}" in saved.headers["Location"]
    assert "after" not in view.query  # paging is not a filter
    save(client, app, list_name=list_name, name="Private one", query=query)

    mate = app.test_client()
    login(mate, teammate)
    page = mate.get(f"{path}?view=all").get_data(as_text=True)
    assert f"My {list_name} view" in page and "Private one" not in page  # the shared tab, not the private one
    assert 'class="saved-views"' in page
    opened = mate.get(f"{path}?{view.query}&view={view.id}")
    html = opened.get_data(as_text=True)
    assert opened.status_code == 200 and f'aria-current="page">My {list_name} view' in html
    assert shown in html and hidden not in html  # the list as the view filters it
    unfiltered = mate.get(f"{path}?view=all&{'who=all' if list_name == 'tasks' else 'tab=all'}")
    assert hidden in unfiltered.get_data(as_text=True)  # (it is there without the view's filter)
    token = csrf_token(mate, app)
    assert mate.post(f"/views/{view.id}/delete", data={"csrf_token": token}).status_code == 403
    assert mate.post(f"/views/{view.id}/default", data={"csrf_token": token}).status_code == 403
    assert mate.get(path).status_code == 200  # the owner's default is not the teammate's

    made = client.post(f"/views/{view.id}/default", data={"csrf_token": csrf_token(client, app)})
    assert made.status_code == 303
    bare = client.get(path)
    assert bare.status_code == 302 and bare.headers["Location"] == f"{path}?{view.query}&view={view.id}"
    assert client.get(f"{path}?view=all").status_code == 200  # "All" is never redirected
    assert client.get(path, headers={"HX-Request": "true"}).status_code == 200  # nor an htmx refresh


def test_the_board_clear_link_does_not_bounce_back_to_the_default(app, client, db_session, factory):
    rep = factory.user(UserRole.REP)
    login(client, rep)
    save(client, app, list_name="board", name="Maps", query="source=Google+Maps", make_default="y")
    html = client.get("/pipeline?source=Google+Maps").get_data(as_text=True)
    assert 'href="/pipeline?view=all">Clear' in html


def test_the_tasks_list_filters_and_sorts(app, client, db_session, factory):
    rep, other = factory.user(UserRole.REP), factory.user(UserRole.REP)
    lead = factory.lead()

    def task(title, **kw):
        kw.setdefault("assigned_to", rep)
        return create_task(title=title, actor=rep, lead=lead, **kw)

    task("Alpha call overdue", task_type=TaskType.CALL, priority=TaskPriority.LOW, due_at=NOW - timedelta(days=1))
    task("Bravo e-mail later", task_type=TaskType.EMAIL, priority=TaskPriority.URGENT,
         due_at=NOW + timedelta(days=3))
    task("Charlie someday", priority=TaskPriority.HIGH)
    complete_task(task("Delta finished", due_at=NOW - timedelta(days=2)), actor=rep)
    task("Echo for the other rep", assigned_to=other, due_at=NOW + timedelta(days=2))
    login(client, rep)

    def titles(query=""):
        html = client.get(f"/tasks?view=all&{query}").get_data(as_text=True)
        html = html[html.index("</form>"):]  # after the filters
        names = ["Alpha call overdue", "Bravo e-mail later", "Charlie someday", "Delta finished",
                 "Echo for the other rep"]
        return sorted((n for n in names if n in html), key=html.index)

    assert titles() == ["Alpha call overdue", "Bravo e-mail later", "Charlie someday"]  # mine, open, by due
    assert titles("who=all") == ["Alpha call overdue", "Echo for the other rep", "Bravo e-mail later",
                                 "Charlie someday"]
    assert titles(f"who={other.id}") == ["Echo for the other rep"]
    assert titles("type=CALL") == ["Alpha call overdue"]
    assert titles("priority=URGENT") == ["Bravo e-mail later"]
    assert titles("due=overdue") == ["Alpha call overdue"]
    assert titles("due=upcoming") == ["Bravo e-mail later"]
    assert titles("due=someday") == ["Charlie someday"]
    assert titles("q=bravo") == ["Bravo e-mail later"]
    assert titles("done=1") == ["Delta finished"]
    # by priority: each due group lists its tasks by priority (by due date, Echo came first)
    assert titles("sort=priority&due=upcoming&who=all") == ["Bravo e-mail later", "Echo for the other rep"]
    # what does not read is the default, never an error
    assert client.get("/tasks?who=nobody&type=X&priority=Y&due=Z&sort=W").status_code == 200
    assert titles("who=nobody&type=X") == ["Alpha call overdue", "Bravo e-mail later", "Charlie someday"]
