"""The lists reps live in read a constant number of statements, however many rows
they show and whoever those rows point at (no query per row)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.auth.models import UserRole
from app.crm.models import LeadTag, Tag, TagCategory, Task
from tests.factories import login


def add_rows(db_session, factory, viewer, n: int) -> None:
    """n more leads, companies and tasks, each with its own rep, contact and tag."""
    for _ in range(n):
        rep = factory.user(UserRole.REP)
        company = factory.company(assigned_rep_id=rep.id)
        lead = factory.lead(company=company)
        slug = f"list-{lead.id.hex[:8]}"
        db_session.add(Tag(slug=slug, name=slug, category=TagCategory.CUSTOM))
        db_session.flush()
        db_session.add(LeadTag(lead_id=lead.id, tag_slug=slug, applied_by="test"))
        db_session.add(Task(lead_id=lead.id, company_id=company.id, title="Call back", assigned_to_id=viewer.id,
                            due_at=datetime.now(UTC) - timedelta(days=1)))
    db_session.flush()


# the leads list: the user, its saved views, the page, the filters' choices (one statement)
BOUNDS = {"/leads": 4, "/leads?sort=value": 4}


@pytest.mark.parametrize("url", ["/leads", "/companies", "/tasks", "/pipeline", "/leads?sort=value"])
def test_list_pages_read_a_constant_few_statements(app, client, db_session, factory, count_statements, url):
    viewer = factory.user(UserRole.ADMIN)
    login(client, viewer)
    add_rows(db_session, factory, viewer, 2)
    client.get(url)  # warm-up: first-request work

    def measure():
        db_session.expire_all()  # as a new request finds it: nothing loaded
        assert viewer.id
        with count_statements() as counter:
            assert client.get(url).status_code == 200
        return counter

    few = measure()
    add_rows(db_session, factory, viewer, 6)
    many = measure()
    assert many.count == few.count, "\n".join(s[:120] for s in many.statements)
    assert many.count <= BOUNDS.get(url, 8), "\n".join(s[:120] for s in many.statements)
