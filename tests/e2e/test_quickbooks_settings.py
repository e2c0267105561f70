"""In a real browser: Settings → QuickBooks connects through the OAuth round trip (the local
QuickBooks answers Intuit's authorize page with a code), then shows the ledger with a customer
conflict to link or create; no CSP violation. Screenshots land in QBO_SCREENSHOTS when set."""
from __future__ import annotations

import os
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.integration.quickbooks.conftest import qbo_settings
from tests.integration.quickbooks.fake_qbo import FakeQuickBooks

pytestmark = pytest.mark.e2e
PASSWORD = "browser pass 123"


def _shot(page, name):
    folder = os.environ.get("QBO_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, name), full_page=True)


def use_fake(monkeypatch, live_app, fake, live_server) -> None:
    """The live server talks to the local QuickBooks for this test."""
    for key, value in {**qbo_settings(fake.url), "APP_BASE_URL": live_server}.items():
        monkeypatch.setitem(live_app.config, key, value)


def new_admin():
    """An admin who signs in with PASSWORD (inside an app context; the caller commits)."""
    from app.auth.models import UserRole
    from app.auth.services import create_user

    return create_user(email=f"e2e-qbo-{uuid.uuid4().hex[:8]}@example.com", first_name="Ada",
                       last_name="Admin", role=UserRole.ADMIN, password=PASSWORD)


def test_connect_and_resolve_from_the_settings_page(live_app, live_server, page, monkeypatch):
    from app.extensions import db
    from app.quickbooks import push
    from app.quickbooks.models import LedgerEntity, SyncLedgerRow
    from tests.factories import Factory
    from tests.integration.test_payments import make_invoice

    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    with FakeQuickBooks() as fake:
        use_fake(monkeypatch, live_app, fake, live_server)
        with live_app.app_context():
            admin = new_admin()
            db.session.commit()
            email = admin.email
            db.session.remove()
        sign_in(page, live_server, email, PASSWORD)
        page.goto(f"{live_server}/settings")
        page.get_by_role("link", name="QuickBooks").click()
        _shot(page, "qbo-settings-not-connected.png")
        page.get_by_role("button", name="Connect to QuickBooks").click()  # → Intuit (local) → our callback
        expect(page.get_by_text("QuickBooks is connected.")).to_be_visible()
        expect(page.get_by_role("button", name="Sync now")).to_be_visible()

        with live_app.app_context():
            fake.add_customer("Cool Breeze Heating & Air", "tanya@coolbreezeaz.example.com")
            factory = Factory(db.session)
            for name in ("Cool Breeze Heating & Air", "Mesa Fleet Services"):
                make_invoice(factory, company_name=name)
            for row in db.session.scalars(select_rows(SyncLedgerRow, LedgerEntity)).all():
                push.process_row(row.id)
            db.session.remove()
        page.reload()
        expect(page.get_by_role("button", name="Create new")).to_be_visible()
        _shot(page, "qbo-settings-ledger.png")
        page.get_by_role("button", name="Link to").first.click()
        expect(page.get_by_text("Conflict resolved.")).to_be_visible()
        _shot(page, "qbo-settings-resolved.png")
    assert not [e for e in errors if "Content Security Policy" in e], errors


def select_rows(model, entity):
    from sqlalchemy import select

    return select(model).where(model.entity == entity.CUSTOMER).order_by(model.created_at)


def test_the_invoice_page_shows_each_payments_quickbooks_state(live_app, live_server, page, monkeypatch):
    from sqlalchemy import select

    from app.billing.models import PaymentMethod
    from app.billing.payments import record_manual_payment
    from app.extensions import db
    from app.quickbooks import push
    from app.quickbooks.models import LedgerEntity, SyncLedgerRow
    from tests.factories import Factory
    from tests.integration.quickbooks.conftest import connect
    from tests.integration.test_payments import make_invoice

    with FakeQuickBooks() as fake:
        use_fake(monkeypatch, live_app, fake, live_server)
        with live_app.app_context():
            admin = new_admin()
            connect(fake, admin)
            invoice, _ = make_invoice(Factory(db.session), company_name="Sonoran Pool Supply")
            db.session.commit()
            push.process_row(db.session.scalar(select(SyncLedgerRow.id).where(
                SyncLedgerRow.entity == LedgerEntity.INVOICE, SyncLedgerRow.local_id == invoice.id)))
            fake.refuse["CHK 2210"] = {"Error": [{"Message": "Account Period Closed, Cannot Update Through "
                                                  "Services API", "code": "6210"}], "type": "ValidationFault"}
            first = record_manual_payment(invoice, actor=admin, amount="1000.00", method=PaymentMethod.CHECK,
                                          reference="CHK 2209")
            record_manual_payment(invoice, actor=admin, amount="200.00", method=PaymentMethod.CHECK,
                                  reference="CHK 2210")
            db.session.commit()
            push.process_row(db.session.scalar(select(SyncLedgerRow.id).where(SyncLedgerRow.local_id == first.id)))
            email, invoice_id = admin.email, invoice.id
            db.session.remove()
        sign_in(page, live_server, email, PASSWORD)
        page.goto(f"{live_server}/invoices/{invoice_id}")
        payments = page.locator("section.card", has=page.get_by_role("heading", name="Payments"))
        expect(payments.locator("tr", has_text="CHK 2209").get_by_text("In QuickBooks")).to_be_visible()
        expect(payments.locator("tr", has_text="CHK 2210").get_by_text("QuickBooks refused")).to_be_visible()
        payments.scroll_into_view_if_needed()
        _shot(page, "qbo-invoice-payments.png")
