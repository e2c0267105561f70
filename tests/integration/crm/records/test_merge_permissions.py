"""Issue 9, security item 6: merging (deleting) companies and contacts is the owner's and
admins'. A rep sees the control disabled with the reason and asks an admin instead (a task);
a rep's forged POST is 403 and changes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.auth.models import UserRole
from app.crm.models import Company, Contact, Task
from tests.factories import csrf_token, login

REASON = "Only an owner or admin can merge companies"


def test_rep_sees_the_merge_disabled_with_the_reason(client, db_session, factory):
    keep, dupe = factory.company(name="Harbor Plumbing"), factory.company(name="Harbor Plumbing LLC")
    login(client, factory.user())
    page = client.get(f"/companies/{keep.id}/merge?with={dupe.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert REASON in html
    assert 'disabled aria-describedby="merge-refused"' in html
    assert f'action="/companies/{keep.id}/merge/request"' in html


@pytest.mark.parametrize("role", [UserRole.ADMIN, UserRole.NICK])
def test_owner_and_admin_see_an_enabled_merge(client, db_session, factory, role):
    keep, dupe = factory.company(name="Harbor Plumbing"), factory.company(name="Harbor Plumbing LLC")
    login(client, factory.user(role))
    html = client.get(f"/companies/{keep.id}/merge?with={dupe.id}").get_data(as_text=True)
    assert REASON not in html and "disabled" not in html and "merge/request" not in html


def test_forged_rep_merges_are_403_and_change_nothing(app, client, db_session, factory):
    keep, dupe = factory.company(name="Harbor Plumbing"), factory.company(name="Harbor Plumbing LLC")
    lead = factory.lead(company=dupe)
    person, other = factory.contact(keep, full_name="Carlos Knox"), factory.contact(keep, full_name="Carlos Knox")
    login(client, factory.user())
    token = csrf_token(client, app)
    assert client.post(f"/companies/{keep.id}/merge", data={"with": str(dupe.id), "csrf_token": token}).status_code == 403
    assert client.post(f"/contacts/{person.id}/merge", data={"with": str(other.id), "csrf_token": token}).status_code == 403
    db_session.expire_all()
    assert db_session.get(Company, dupe.id) is not None and db_session.get(Contact, other.id) is not None
    assert lead.company_id == dupe.id


def test_admin_merge_still_works(app, client, db_session, factory):
    keep, dupe = factory.company(name="Harbor Plumbing"), factory.company(name="Harbor Plumbing LLC")
    login(client, factory.user(UserRole.ADMIN))
    done = client.post(f"/companies/{keep.id}/merge", data={"with": str(dupe.id), "csrf_token": csrf_token(client, app)})
    assert done.status_code == 302
    db_session.expire_all()
    assert db_session.get(Company, dupe.id) is None


def test_a_rep_asks_an_admin_to_merge(app, client, db_session, factory):
    admin = factory.user(UserRole.ADMIN)
    rep = factory.user()
    keep, dupe = factory.company(name="Harbor Plumbing"), factory.company(name="Harbor Plumbing LLC")
    person, other = factory.contact(keep, full_name="Carlos Knox"), factory.contact(keep, full_name="C. Knox")
    login(client, rep)
    token = csrf_token(client, app)
    asked = client.post(f"/companies/{keep.id}/merge/request",
                        data={"with": str(dupe.id), "note": "Same yard, two listings", "csrf_token": token})
    assert asked.status_code == 302 and asked.headers["Location"].endswith(f"/companies/{keep.id}")
    asked = client.post(f"/contacts/{person.id}/merge/request", data={"with": str(other.id), "csrf_token": token})
    assert asked.status_code == 302
    tasks = db_session.scalars(select(Task).where(Task.assigned_to_id == admin.id).order_by(Task.created_at)).all()
    assert len(tasks) == 2
    company_task, contact_task = tasks
    assert company_task.title == f"Merge company Harbor Plumbing LLC into Harbor Plumbing (asked by {rep.full_name})"
    assert "Why: Same yard, two listings" in company_task.description
    assert f"/companies/{keep.id}/merge?with={dupe.id}" in company_task.description
    assert company_task.company_id == keep.id
    assert contact_task.title.startswith("Merge contact C. Knox into Carlos Knox")
    # Nothing merged: the admin does it from the task's link.
    db_session.expire_all()
    assert db_session.get(Company, dupe.id) is not None and db_session.get(Contact, other.id) is not None
    assert client.post(f"/companies/{keep.id}/merge/request", data={"csrf_token": token}).status_code == 422
