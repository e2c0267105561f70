"""In a real browser: the rep sends an invoice; the customer opens the link from the
outbox on a phone, reads, signs and pays through the sandbox checkout; the invoice
is PAID with one payment. The live server has no worker: the test runs the jobs with
a burst SimpleWorker (the sandbox's delivery job posts the Stripe-signed events to
the live server over HTTP, whose webhook enqueues the job that applies them)."""
from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect
from rq import SimpleWorker
from sqlalchemy import select

from app.auth.models import UserRole
from app.billing.models import Invoice, InvoiceStatus, Payment
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e

PASSWORD = "browser pass 123"
SHOTS = Path(__file__).resolve().parents[2] / "test-results"


def run_jobs(app):
    from app.queue import QUEUES, get_queue, redis_connection

    with app.app_context():
        SimpleWorker([get_queue(n) for n in QUEUES], connection=redis_connection()).work(burst=True)


def shot(page, name):
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


@pytest.fixture
def invoice_to_send(live_app, live_server):
    from app.auth.services import create_user
    from app.extensions import db
    from tests.factories import Factory
    from tests.integration.test_payments import make_invoice

    old_base = live_app.config.get("APP_BASE_URL")
    live_app.config["APP_BASE_URL"] = live_server  # links in e-mails point at this server
    with live_app.app_context():
        rep = create_user(email=f"e2e-{uuid.uuid4().hex[:8]}@example.com", first_name="Riley",
                          last_name="Rep", role=UserRole.REP, password=PASSWORD)
        invoice, _ = make_invoice(Factory(db.session), send=False, company_name="Cool Breeze Heating & Air")
        db.session.commit()
        ids = (rep.email, invoice.id, invoice.invoice_number)
        db.session.remove()
    yield ids
    live_app.config["APP_BASE_URL"] = old_base


def test_customer_reads_signs_and_pays_the_link_from_the_outbox(live_app, live_server, browser,
                                                                 invoice_to_send):
    email, invoice_id, number = invoice_to_send
    errors: list[str] = []

    # The rep sends the invoice.
    rep = browser.new_context(viewport={"width": 1366, "height": 860})
    page = rep.new_page()
    page.set_default_timeout(10_000)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server, email, PASSWORD)
    page.goto(f"{live_server}/invoices/{invoice_id}/sharing")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Sending to").first).to_be_visible()
    run_jobs(live_app)  # the mail job: the outbox backend stores the e-mail

    page.goto(f"{live_server}/outbox")
    page.get_by_role("link", name=f"Invoice {number}").first.click()
    link = page.locator(".outbox-message__links a").first.get_attribute("href")
    assert link.startswith(f"{live_server}/pay/")
    shot(page, "pay-outbox.png")

    # The customer, on a phone.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                user_agent="Mozilla/5.0 (iPhone) e2e")
    customer = phone.new_page()
    customer.set_default_timeout(10_000)
    customer.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    customer.goto(link)
    expect(customer.get_by_role("heading", name=f"Invoice {number}")).to_be_visible()
    expect(customer.locator(".pay-agreement__text")).to_contain_text("22 device(s) at $24.95")
    expect(customer.locator("#balance-due")).to_have_text("$2,304.90")
    expect(customer.locator(".sidebar")).to_have_count(0)
    shot(customer, "pay-public-page.png")

    customer.get_by_label("Your full name").fill("Tanya Brooks")
    customer.get_by_role("button", name="Sign").click()  # no consent yet: refused
    expect(customer.get_by_text("Tick the box to agree")).to_be_visible()
    customer.get_by_label("I agree to sign electronically").check()
    customer.get_by_label("Your full name").fill("Tanya Brooks")
    customer.get_by_role("button", name="Sign").click()
    expect(customer.get_by_text("Signed by Tanya Brooks")).to_be_visible()

    customer.get_by_role("button", name="Pay $2,304.90").click()
    expect(customer.get_by_text("Sandbox checkout")).to_be_visible()
    shot(customer, "pay-sandbox-checkout.png")
    customer.get_by_role("button", name="Pay $2,304.90").click()
    expect(customer.get_by_role("heading", name="Confirming your payment…")).to_be_visible()

    run_jobs(live_app)  # delivers the events to /webhooks/stripe, then applies them
    customer.reload()
    expect(customer.get_by_role("heading", name="Paid — thank you!")).to_be_visible()
    customer.goto(link)
    expect(customer.locator("#invoice-status")).to_have_text("Paid")
    customer.get_by_role("link", name="Printable copy and signature certificate").click()
    expect(customer.get_by_role("heading", name="Signature certificate")).to_be_visible()
    expect(customer.get_by_text("Mozilla/5.0 (iPhone) e2e")).to_be_visible()
    shot(customer, "pay-certificate.png")

    from app.extensions import db

    with live_app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        payments = db.session.scalars(select(Payment).where(Payment.invoice_id == invoice_id)).all()
        assert invoice.status is InvoiceStatus.PAID and invoice.signed_name == "Tanya Brooks"
        assert [p.amount for p in payments] == [Decimal("2304.90")]
        db.session.remove()
    assert not [e for e in errors if "Content Security Policy" in e], errors
    rep.close()
    phone.close()
