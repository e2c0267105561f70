"""In a real browser: a rep builds an invoice with three lines, a tax rate and shipping,
and the totals follow every change without a reload."""
from __future__ import annotations

import os
import re
import uuid
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from app.auth.models import UserRole
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e

SCREENSHOTS = os.environ.get("INVOICE_SCREENSHOTS")  # a folder to keep screenshots in (optional)


def seed(app):
    from app.auth.services import create_user
    from app.billing.models import Product, ProductType, ShippingType, TaxRate, TaxRateCategory
    from app.crm.models import AddressType, Company, CompanyAddress, Contact
    from app.extensions import db

    with app.app_context():
        tag = uuid.uuid4().hex[:6]
        user = create_user(email=f"invoice-{tag}@example.com", first_name="Ina", last_name="Voice",
                           role=UserRole.REP, password="invoice pass 123")
        company = Company(name=f"Builder Towing {tag}", normalized_name=f"builder towing {tag}")
        db.session.add(company)
        db.session.flush()
        db.session.add(Contact(company_id=company.id, first_name="Dana", full_name="Dana Buyer",
                               email=f"dana-{tag}@example.com", email_normalized=f"dana-{tag}@example.com"))
        db.session.add(CompanyAddress(company_id=company.id, label="HQ", type=AddressType.BOTH,
                                      address_line1="1 Main St", city="San Jose", state="CA", zip="95110",
                                      is_default_billing=True, is_default_shipping=True))
        db.session.add_all([
            Product(qb_item_id=f"e2e-{tag}-1", name=f"GL300 Tracker {tag}", unit_price=Decimal("79.00"),
                    type=ProductType.ONE_TIME, category="Hardware"),
            Product(qb_item_id=f"e2e-{tag}-2", name=f"Installation {tag}", unit_price=Decimal("65.00"),
                    type=ProductType.SERVICE, category="Services"),
            TaxRate(slug=f"sc-{tag}", name=f"Santa Clara {tag}", rate=Decimal("0.09375"),
                    category=TaxRateCategory.CA_DISTRICT),
            ShippingType(slug=f"ground-{tag}", name=f"UPS Ground {tag}", default_cost=Decimal("18.00")),
        ])
        db.session.commit()
        return user.email, str(company.id), tag


def total(page, key):
    return page.locator(f'#invoice-totals [data-total="{key}"]')


def shot(page, name):
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def test_rep_builds_an_invoice_and_sees_live_totals(live_app, live_server, page):
    email, company_id, tag = seed(live_app)
    sign_in(page, live_server, email, "invoice pass 123")

    page.goto(f"{live_server}/invoices/new?company_id={company_id}")
    page.get_by_role("button", name="Create draft invoice").click()
    page.wait_for_url(re.compile(r"/invoices/[0-9a-f-]{36}$"))
    expect(page.locator(".topbar")).to_contain_text(re.compile(r"INV-\d{4}-\d{5}"))
    expect(total(page, "total")).to_have_text("$0.00")

    # 1. a product line: choosing the product prefills its name and price
    page.get_by_label("Product").select_option(label=f"GL300 Tracker {tag} — $79.00")
    expect(page.locator("#add-line").get_by_label("Unit price")).to_have_value("79.00")
    page.locator("#add-line").get_by_label("Qty").fill("10")
    page.get_by_role("button", name="Add line").click()
    expect(total(page, "subtotal")).to_have_text("$790.00")

    # 2. a service line (not taxed); the quantity typed first survives choosing the product
    page.locator("#add-line").get_by_label("Qty").fill("10")
    page.get_by_label("Product").select_option(label=f"Installation {tag} — $65.00")
    expect(page.locator("#add-line").get_by_label("Description")).to_have_value(f"Installation {tag}")
    expect(page.locator("#add-line").get_by_label("Qty")).to_have_value("10")
    page.get_by_role("button", name="Add line").click()
    expect(total(page, "subtotal")).to_have_text("$1,440.00")

    # 3. a typed line
    page.locator("#add-line").get_by_label("Description").fill("Magnetic case")
    page.locator("#add-line").get_by_label("Qty").fill("3")
    page.locator("#add-line").get_by_label("Unit price").fill("14.95")
    page.get_by_role("button", name="Add line").click()
    expect(total(page, "subtotal")).to_have_text("$1,484.85")
    expect(page.locator("#invoice-lines .inv-line")).to_have_count(3)

    # tax rate and shipping from the terms form
    page.get_by_label("Tax rate").select_option(label=f"Santa Clara {tag} — 9.375%")
    # taxable: 790.00 + 44.85 = 834.85 × 0.09375 = 78.2671875 -> 78.27
    expect(total(page, "tax")).to_have_text("$78.27")
    page.get_by_label("Shipping", exact=True).select_option(label=f"UPS Ground {tag}")
    expect(total(page, "shipping")).to_have_text("$18.00")
    expect(total(page, "total")).to_have_text("$1,581.12")
    expect(total(page, "balance")).to_have_text("$1,581.12")
    shot(page, "invoice-built")

    # edit a line inline: 10 trackers -> 12, the totals follow
    first_line = page.locator("#invoice-lines .inv-line").first
    first_line.get_by_label("Quantity").fill("12")
    first_line.get_by_label("Quantity").press("Tab")
    expect(first_line.locator(".inv-line__total")).to_have_text("$948.00")
    # taxable 948.00 + 44.85 = 992.85 × 0.09375 = 93.0796875 -> 93.08; total 1642.85 + 93.08 + 18
    expect(total(page, "tax")).to_have_text("$93.08")
    expect(total(page, "total")).to_have_text("$1,753.93")

    # a bad edit is refused in place and changes nothing
    first_line.get_by_label("Quantity").fill("0")
    first_line.get_by_label("Quantity").press("Tab")
    expect(page.locator("#invoice-lines .inv-line").first.locator(".inv-line__error")).to_contain_text("From 1")
    expect(total(page, "total")).to_have_text("$1,753.93")
    shot(page, "invoice-bad-edit")

    # remove the typed line
    page.get_by_role("button", name="Remove Magnetic case").click()
    expect(page.locator("#invoice-lines .inv-line")).to_have_count(2)
    expect(total(page, "subtotal")).to_have_text("$1,598.00")

    # the numbers survive a reload
    page.reload()
    expect(total(page, "total")).to_have_text("$1,704.88")  # 1598.00 + 88.88 tax + 18.00
    shot(page, "invoice-reloaded")

    # ...then sends it; the customer opens the link from the outbox, signs and pays
    # through the sandbox, and the invoice is PAID with one payment.
    from tests.e2e.test_pay_flow import run_jobs

    invoice_id = page.url.rsplit("/", 1)[-1]
    live_app.config["APP_BASE_URL"] = live_server  # e-mailed links and sandbox events come here
    number = re.search(r"INV-\d{4}-\d{5}", page.locator(".topbar").inner_text()).group(0)
    page.get_by_role("link", name="Send to customer").click()
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Sending to").first).to_be_visible()
    run_jobs(live_app)
    page.goto(f"{live_server}/outbox")
    page.get_by_role("link", name=f"Invoice {number}").first.click()
    link = page.locator(".outbox-message__links a").first.get_attribute("href")
    customer = page.context.browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    customer.goto(link)
    expect(customer.locator("#balance-due")).to_have_text("$1,704.88")
    customer.get_by_label("I agree to sign electronically").check()
    customer.get_by_label("Your full name").fill("Dana Buyer")
    customer.get_by_role("button", name="Sign").click()
    customer.get_by_role("button", name="Pay $1,704.88").click()
    customer.get_by_role("button", name="Pay $1,704.88").click()
    run_jobs(live_app)  # the sandbox posts Stripe-signed events; the webhook job applies them
    customer.reload()
    expect(customer.get_by_role("heading", name="Paid — thank you!")).to_be_visible()

    from sqlalchemy import select

    from app.billing.models import Invoice, InvoiceStatus, Payment
    from app.extensions import db

    with live_app.app_context():
        invoice = db.session.get(Invoice, uuid.UUID(invoice_id))
        payments = db.session.scalars(select(Payment).where(Payment.invoice_id == invoice.id)).all()
        assert invoice.status is InvoiceStatus.PAID
        assert [p.amount for p in payments] == [invoice.total]
