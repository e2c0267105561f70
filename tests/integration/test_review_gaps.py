"""Routes that had no test of their own (found when reviewing the whole change)."""
from __future__ import annotations

import re

from sqlalchemy import select

from app.auth.models import User, UserRole
from app.crm.tasks.services import complete_task, create_task
from tests.factories import csrf_token, login
from tests.integration.test_payments import make_invoice

HX = {"HX-Request": "true"}


def test_inline_duplicate_check_while_typing_a_company_name(app, client, db_session, factory):
    existing = factory.company(name="Harbor Plumbing", normalized_name="harbor plumbing")
    login(client, factory.user())
    hit = client.get("/companies/check-duplicates?name=Harbor+Plumbing,+LLC", headers=HX)
    assert hit.status_code == 200 and str(existing.id).encode() in hit.data
    mine = client.get(f"/companies/check-duplicates?name=Harbor+Plumbing&exclude={existing.id}", headers=HX)
    assert str(existing.id).encode() not in mine.data


def test_reopen_a_completed_task(app, client, db_session, factory):
    rep = factory.user()
    task = create_task(title="Call back", actor=rep, lead=factory.lead())
    complete_task(task, actor=rep)
    login(client, rep)
    response = client.post(f"/tasks/{task.id}/reopen", data={"csrf_token": csrf_token(client, app)}, headers=HX)
    assert response.status_code == 200 and b"is-done" not in response.data
    db_session.refresh(task)
    assert not task.is_completed and task.completed_at is None


def test_admin_issues_a_new_invite_link_only_before_a_password_is_set(app, client, db_session, factory):
    login(client, factory.user(UserRole.ADMIN))
    invited = factory.user(password_hash="!pending")
    active = factory.user()
    fresh = client.post(f"/settings/users/{invited.id}/invite-link", data={"csrf_token": csrf_token(client, app)},
                        headers=HX)
    assert fresh.status_code == 200
    link = re.search(rb"/invite/([\w.-]+)", fresh.data).group(1).decode()
    assert app.test_client().get(f"/invite/{link}").status_code == 200  # the new link opens
    refused = client.post(f"/settings/users/{active.id}/invite-link", data={"csrf_token": csrf_token(client, app)})
    assert refused.status_code == 302
    assert db_session.scalar(select(User).where(User.id == active.id)).has_password


def test_rep_allows_partial_payment_on_an_invoice(app, client, db_session, factory):
    from app.billing.payments import payment_options

    rep = factory.user()
    invoice, _ = make_invoice(factory, actor=rep)
    login(client, rep)
    response = client.post(f"/invoices/{invoice.id}/payment-options",
                           data={"allow_partial": "yes", "csrf_token": csrf_token(client, app)}, headers=HX)
    assert response.status_code == 200
    assert payment_options(invoice).allow_partial and not payment_options(invoice).allow_overpayment
