"""Money decisions are the owner's and admins': a rep sees them disabled with the reason,
asks for them (a task for an admin), and a forged POST is refused with nothing changed."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.auth.models import UserRole
from app.billing.models import InvoiceStatus
from app.billing.payments import payment_options
from app.billing.requests import REASONS
from app.crm.models import Task
from tests.factories import csrf_token, login
from tests.integration.test_payments import make_invoice, payments_of


@pytest.fixture
def admin(factory):
    return factory.user(UserRole.ADMIN)


def _post(client, app, url, **data):
    return client.post(url, data={"csrf_token": csrf_token(client, app), **data})


def test_a_rep_cannot_void_record_a_payment_or_accept_overpayment(app, client, factory, db_session, admin):
    invoice, _ = make_invoice(factory)
    login(client, factory.user(UserRole.REP))
    assert _post(client, app, f"/invoices/{invoice.id}/void", reason="x").status_code == 403
    assert _post(client, app, f"/invoices/{invoice.id}/reissue", reason="x").status_code == 403
    assert _post(client, app, f"/invoices/{invoice.id}/payments", amount="10.00",
                 method="CASH").status_code == 403
    assert _post(client, app, f"/invoices/{invoice.id}/payment-options",
                 allow_overpayment="yes").status_code == 403
    db_session.refresh(invoice)
    assert invoice.status is InvoiceStatus.SENT and invoice.voided_at is None
    assert payments_of(db_session, invoice) == []
    assert not payment_options(invoice).allow_overpayment


def test_an_admin_and_the_owner_can(app, client, factory, db_session, admin):
    invoice, _ = make_invoice(factory)
    login(client, admin)
    assert _post(client, app, f"/invoices/{invoice.id}/payment-options",
                 allow_overpayment="yes").status_code == 303
    assert payment_options(invoice).allow_overpayment
    assert _post(client, app, f"/invoices/{invoice.id}/payments", amount="10.00",
                 method="CASH").status_code == 303
    assert [p.amount for p in payments_of(db_session, invoice)] == [10]
    draft, _ = make_invoice(factory, send=False)
    login(client, factory.user(UserRole.NICK))
    assert _post(client, app, f"/invoices/{draft.id}/void", reason="wrong company").status_code == 303
    db_session.refresh(draft)
    assert draft.status is InvoiceStatus.VOID


def test_a_rep_keeps_an_overpayment_an_admin_allowed_when_saving_other_options(
        app, client, factory, db_session, admin):
    from app.billing.payments import set_payment_options

    invoice, _ = make_invoice(factory)
    set_payment_options(invoice, actor=admin, allow_partial=False, allow_overpayment=True)
    login(client, factory.user(UserRole.REP))
    page = client.get(f"/invoices/{invoice.id}/sharing").get_data(as_text=True)
    form = page[page.index("share-options"):page.index("Save options")]
    assert 'name="allow_overpayment" value="yes"' in form  # kept by a hidden field
    assert _post(client, app, f"/invoices/{invoice.id}/payment-options", allow_partial="yes",
                 allow_overpayment="yes").status_code == 303
    assert payment_options(invoice).allow_partial and payment_options(invoice).allow_overpayment
    assert _post(client, app, f"/invoices/{invoice.id}/payment-options").status_code == 403  # turning it off


def _disabled_with_reason(html: str, reason: str) -> bool:
    """A disabled control described by an element that says `reason`."""
    for match in re.finditer(r"<(?:button|input)\b[^>]*\bdisabled\b[^>]*>", html):
        tag = match.group(0)
        described = re.search(r'aria-describedby="([^"]+)"', tag)
        if described and re.search(rf'id="{described.group(1)}"[^>]*>{re.escape(reason)}<', html):
            return True
    return False


def test_a_rep_sees_the_disabled_controls_with_their_reason(app, client, factory, admin):
    invoice, _ = make_invoice(factory, send=False)
    login(client, factory.user(UserRole.REP))
    page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert _disabled_with_reason(page, REASONS["void"])
    assert f'title="{REASONS["void"]}"' in page and "Request void" in page
    assert f'action="/invoices/{invoice.id}/void"' not in page
    sharing = client.get(f"/invoices/{invoice.id}/sharing").get_data(as_text=True)
    assert _disabled_with_reason(sharing, REASONS["payment"])
    assert _disabled_with_reason(sharing, REASONS["overpayment"])
    assert f'action="/invoices/{invoice.id}/payments"' not in sharing
    assert "Request a recorded payment" in sharing and "Request overpayment" in sharing

    login(client, admin)
    page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert REASONS["void"] not in page and f'action="/invoices/{invoice.id}/void"' in page
    sharing = client.get(f"/invoices/{invoice.id}/sharing").get_data(as_text=True)
    assert not _disabled_with_reason(sharing, REASONS["payment"])
    assert f'action="/invoices/{invoice.id}/payments"' in sharing


@pytest.mark.parametrize("kind, back", [("void", ""), ("payment", "/sharing"), ("overpayment", "/sharing")])
def test_a_reps_request_becomes_a_task_for_an_admin(app, client, factory, db_session, admin, kind, back):
    invoice, _ = make_invoice(factory)
    rep = factory.user(UserRole.REP)
    login(client, rep)
    response = _post(client, app, f"/invoices/{invoice.id}/requests", kind=kind,
                     note="Customer paid $500 cash at the office")
    assert response.status_code == 303 and response.location.endswith(f"/invoices/{invoice.id}{back}")
    [task] = db_session.scalars(select(Task).where(Task.company_id == invoice.company_id)).all()
    assert task.assigned_to_id == admin.id and task.lead_id == invoice.lead_id
    assert invoice.invoice_number in task.title and rep.full_name in task.title
    assert "Customer paid $500 cash at the office" in task.description
    db_session.refresh(invoice)
    assert invoice.status is InvoiceStatus.SENT and payments_of(db_session, invoice) == []


def test_a_request_needs_a_reason(app, client, factory, db_session, admin):
    invoice, _ = make_invoice(factory)
    login(client, factory.user(UserRole.REP))
    response = _post(client, app, f"/invoices/{invoice.id}/requests", kind="void", note="  ")
    assert response.status_code == 303
    assert db_session.scalars(select(Task).where(Task.company_id == invoice.company_id)).all() == []
