"""In a real browser, driven only by typing codes and Enter like a scanner: open its own
order from the warehouse queue (found by its id: the queue is shared), scan 3 devices and their SIMs (one wrong code on the way), pack,
enter a tracking number and ship."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from app.auth.models import UserRole
from tests.e2e.conftest import sign_in
from tests.integration.test_warehouse import iccid, imei

pytestmark = pytest.mark.e2e


def seed(app):
    from sqlalchemy import select

    from app.auth.services import create_user
    from app.billing.models import Invoice, InvoiceLineItem, Product
    from app.crm.models import Company, Contact
    from app.extensions import db
    from app.fulfillment import packing
    from app.fulfillment.models import Device, SimCard

    with app.app_context():
        tag = uuid.uuid4().hex[:6]
        op = create_user(email=f"packer-{tag}@example.com", first_name="Pat", last_name="Packer",
                         role=UserRole.OPERATOR, password="packer pass 1")
        company = Company(name=f"Cool Breeze {tag}", normalized_name=f"cool breeze {tag}")
        db.session.add(company)
        db.session.flush()
        db.session.add(Contact(company_id=company.id, first_name="Tanya", full_name="Tanya Brooks",
                               email=f"tanya-{tag}@example.com", email_normalized=f"tanya-{tag}@example.com"))
        if db.session.scalar(select(Product).where(Product.sku == "GL300")) is None:
            db.session.add(Product(qb_item_id=f"e2e-{tag}", name="GL300", sku="GL300",
                                   unit_price=Decimal("79.00"), category="Hardware"))
        invoice = Invoice(company_id=company.id, invoice_number=f"INV-E2E-{tag}", subtotal=Decimal("237.00"),
                          total=Decimal("237.00"), balance_due=Decimal("0"))
        db.session.add(invoice)
        db.session.flush()
        db.session.add(InvoiceLineItem(invoice_id=invoice.id, description="GL300", quantity=3,
                                       unit_price=Decimal("79.00"), total=Decimal("237.00"), product_code="GL300"))
        db.session.flush()
        db.session.refresh(invoice)
        order = packing.create_order_for_invoice(invoice, actor=op)
        devices, sims = [], []
        for _ in range(3):
            sim = SimCard(iccid=iccid())
            device = Device(serial_number=f"GL300-{uuid.uuid4().hex[:8].upper()}", imei=imei())
            db.session.add_all([sim, device])
            devices.append(device)
            sims.append(sim)
        db.session.commit()
        return op.email, str(order.id), [d.imei for d in devices], [s.iccid for s in sims], str(company.id)


def test_packer_scans_packs_and_ships(live_app, live_server, page):
    email, order_id, imeis, iccids, company_id = seed(live_app)
    sign_in(page, live_server, email, "packer pass 1")  # the warehouse's home
    page.goto(f"{live_server}/warehouse")
    page.screenshot(path=str(_shot("warehouse-queue.png")))
    page.locator(f'a[href="/warehouse/orders/{order_id}"]').click()  # this test's order, not the first
    page.wait_for_url(f"{live_server}/warehouse/orders/{order_id}")

    def scan(code):
        page.keyboard.type(code)
        page.keyboard.press("Enter")

    message = page.locator(".pack__message")
    scan(imeis[0])
    expect(message).to_contain_text("1 of 3")
    scan(iccids[0])
    expect(message).to_contain_text("paired with")
    scan("490154203237519")  # a misread IMEI: wrong check digit
    expect(message).to_contain_text("check digit")
    expect(message).to_have_class("pack__message is-error")
    for device, sim in zip(imeis[1:], iccids[1:], strict=True):
        scan(device)
        expect(message).to_contain_text("added")
        scan(sim)
        expect(message).to_contain_text("paired with")
    expect(page.locator(".pack__count")).to_contain_text("3 of 3 devices")
    scan("")  # Enter on the empty field packs
    expect(message).to_contain_text("Packed")
    page.keyboard.type("1Z999AA10123456784")
    page.keyboard.press("Enter")
    expect(page.locator(".pack__done")).to_contain_text("1Z999AA10123456784")
    page.screenshot(path=str(_shot("packing-shipped.png")))

    from rq import SimpleWorker
    from sqlalchemy import select

    from app.extensions import db
    from app.fulfillment.models import (
        Device,
        DeviceStatus,
        FulfillmentOrder,
        FulfillmentStatus,
        SimStatus,
    )
    from app.integrations.models import OutboxMessage
    from app.queue import QUEUES, get_queue, redis_connection

    with live_app.app_context():
        # the live server has no worker: run the queued tracking e-mail job here
        SimpleWorker([get_queue(n) for n in QUEUES], connection=redis_connection()).work(burst=True)
        mail = db.session.scalar(select(OutboxMessage).where(OutboxMessage.subject.contains("1Z999AA10123456784")))
        assert mail is not None and mail.to_address.startswith("tanya-")
        order = db.session.get(FulfillmentOrder, uuid.UUID(order_id))
        assert order.status is FulfillmentStatus.SHIPPED and order.carrier == "UPS"
        for device in db.session.scalars(select(Device).where(Device.imei.in_(imeis))):
            assert device.status is DeviceStatus.SHIPPED and str(device.company_id) == company_id
            assert device.invoice_id == order.invoice_id
            assert device.sim_card.status is SimStatus.ASSIGNED

    # the company page and the invoice page show the shipment (as a rep sees them)
    from app.auth.services import create_user

    with live_app.app_context():
        rep = create_user(email=f"rep-{uuid.uuid4().hex[:6]}@example.com", first_name="R", last_name="Ep",
                          role=UserRole.ADMIN, password="rep pass 1234")
        db.session.commit()
        rep_email, invoice_id = rep.email, str(order.invoice_id)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server}/login")
    sign_in(page, live_server, rep_email, "rep pass 1234")
    page.goto(f"{live_server}/companies/{company_id}")
    expect(page.locator("#company-devices")).to_contain_text("1Z999AA10123456784")
    page.goto(f"{live_server}/invoices/{invoice_id}")
    expect(page.locator("#invoice-fulfillment")).to_contain_text("shipped by UPS")


def _shot(name):
    from pathlib import Path

    out = Path(__file__).resolve().parents[2] / "test-results"
    out.mkdir(exist_ok=True)
    return out / name
