"""Issue 9, security 5: /activity/timeline needs the permission of the page each subject
belongs to; the warehouse role can't read payments or anyone's actions through it."""
from __future__ import annotations

import pytest

from app.activity.services import record
from app.auth.models import UserRole
from tests.factories import login


@pytest.fixture
def subjects(db_session, factory):
    admin = factory.user(UserRole.ADMIN)
    company = factory.company()
    lead = factory.lead(company)
    record("payment.recorded", "Payment of $1,234.00 recorded (secret)", actor=admin, company=company,
           lead=lead, contact=lead.contact_id)
    db_session.flush()
    return {"company_id": company.id, "lead_id": lead.id, "contact_id": lead.contact_id,
            "user_id": admin.id}


@pytest.mark.parametrize("subject", ["company_id", "lead_id", "contact_id", "user_id"])
def test_operator_reads_no_timeline(client, factory, subjects, subject):
    login(client, factory.user(UserRole.OPERATOR))
    response = client.get(f"/activity/timeline?{subject}={subjects[subject]}")
    assert response.status_code == 403
    assert b"secret" not in response.data


def test_each_subject_needs_its_page_permission(app, factory, subjects):
    rep, admin = app.test_client(), app.test_client()
    login(rep, factory.user(UserRole.REP))
    login(admin, factory.user(UserRole.ADMIN))
    for subject in ("company_id", "lead_id", "contact_id"):
        response = rep.get(f"/activity/timeline?{subject}={subjects[subject]}")
        assert response.status_code == 200 and b"secret" in response.data
    # Another user's actions are the user administration's (settings), not a rep's.
    assert rep.get(f"/activity/timeline?user_id={subjects['user_id']}").status_code == 403
    assert rep.get(f"/activity/timeline?company_id={subjects['company_id']}"
                   f"&user_id={subjects['user_id']}").status_code == 403
    response = admin.get(f"/activity/timeline?user_id={subjects['user_id']}")
    assert response.status_code == 200 and b"secret" in response.data
