"""In a real browser: the sign form's consent error goes away once the box is ticked, and
the invoice pages (internal and public) log no CSP violation, also while being edited."""
from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e

PASSWORD = "browser pass 123"


@pytest.fixture
def billing_invoice(live_app):
    from app.auth.models import UserRole
    from app.auth.services import create_user
    from app.extensions import db
    from tests.factories import Factory
    from tests.integration.test_payments import make_invoice

    with live_app.app_context():
        admin = create_user(email=f"e2e-bill-{uuid.uuid4().hex[:8]}@example.com", first_name="Ada",
                            last_name="Admin", role=UserRole.ADMIN, password=PASSWORD)
        invoice, token = make_invoice(Factory(db.session), company_name="Cool Breeze Heating & Air")
        draft, _ = make_invoice(Factory(db.session), send=False, company_name="Draft Towing")
        db.session.commit()
        ids = (admin.email, invoice.id, token, draft.id)
        db.session.remove()
    return ids


def _watch(page, errors):
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)


def test_the_consent_error_goes_away_when_the_box_is_ticked(live_server, browser, billing_invoice):
    _, _, token, _ = billing_invoice
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    _watch(page, errors)
    page.goto(f"{live_server}/pay/{token}")
    page.get_by_label("Your full name").fill("Tanya Brooks")
    page.get_by_role("button", name="Sign").click()
    message = page.get_by_text("Tick the box to agree")
    expect(message).to_be_visible()
    page.get_by_label("I agree to sign electronically").check()
    expect(message).to_have_count(0)
    expect(page.locator("#sign .field--error")).to_have_count(0)
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()


def test_invoice_pages_log_no_csp_violation(live_server, browser, billing_invoice):
    email, invoice_id, token, draft_id = billing_invoice
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1366, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10_000)
    _watch(page, errors)
    sign_in(page, live_server, email, PASSWORD)
    page.goto(f"{live_server}/invoices/{draft_id}")
    expect(page.locator("#invoice-totals")).to_be_visible()
    quantity = page.locator("#invoice-lines input[name=quantity]").first
    quantity.fill("3")
    quantity.press("Tab")
    page.get_by_label("Notes").fill("Gate code 1234")
    page.get_by_label("Notes").press("Tab")
    page.wait_for_load_state("networkidle")
    for path in (f"/invoices/{invoice_id}", f"/invoices/{invoice_id}/sharing", "/invoices/unapplied",
                 f"/pay/{token}"):
        page.goto(live_server + path)
        page.wait_for_load_state("networkidle")
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()
