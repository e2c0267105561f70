"""The warehouse: intake with check digits, pairing, orders, and scan-first packing."""
from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.auth.models import UserRole
from app.billing.models import Invoice, InvoiceLineItem, Product
from app.fulfillment import inventory, packing
from app.fulfillment.codes import luhn_check_digit
from app.fulfillment.models import Device, DeviceStatus, FulfillmentStatus, SimCard, SimStatus
from tests.factories import csrf_token, login

_serial = itertools.count(100000)


def imei() -> str:
    base = f"86280405{next(_serial):06d}"
    return base + luhn_check_digit(base)


def iccid() -> str:
    base = f"890141032{next(_serial):09d}"
    return base + luhn_check_digit(base)


def stock(db_session, n, *, paired=False):
    devices = []
    for _ in range(n):
        device = Device(serial_number=f"GL300-{uuid.uuid4().hex[:8].upper()}", imei=imei())
        if paired:
            sim = SimCard(iccid=iccid())
            db_session.add(sim)
            db_session.flush()
            device.sim_card_id = sim.id
        db_session.add(device)
        devices.append(device)
    db_session.flush()
    return devices


def invoice_with_devices(db_session, factory, units=3):
    company = factory.company()
    factory.contact(company, email="buyer@example.com", email_normalized=f"buyer-{uuid.uuid4().hex[:6]}@example.com")
    if db_session.scalar(select(Product).where(Product.sku == "GL300")) is None:
        db_session.add(Product(qb_item_id=f"t-{uuid.uuid4().hex[:6]}", name="GL300 tracker", sku="GL300",
                               unit_price=Decimal("79.00"), category="Hardware"))
    invoice = Invoice(company_id=company.id, invoice_number=f"INV-T-{uuid.uuid4().hex[:6]}",
                      subtotal=Decimal("0"), total=Decimal("0"), balance_due=Decimal("0"))
    db_session.add(invoice)
    db_session.flush()
    db_session.add_all([
        InvoiceLineItem(invoice_id=invoice.id, description="GL300", quantity=units, unit_price=Decimal("79.00"),
                        total=Decimal("79.00") * units, product_code="GL300"),
        InvoiceLineItem(invoice_id=invoice.id, description="Service", quantity=units, unit_price=Decimal("24.95"),
                        total=Decimal("24.95") * units, product_code="SVC-MONTHLY"),
    ])
    db_session.flush()
    db_session.refresh(invoice)
    return invoice


def test_intake_checks_digits_and_reports_duplicates(db_session, factory):
    op = factory.user(UserRole.OPERATOR)
    good = imei()
    result = inventory.intake_devices(
        [{"imei": good}, {"imei": good}, {"imei": good[:-1] + str((int(good[-1]) + 1) % 10)}, {"imei": "123"}],
        actor=op)
    assert result.created == [good]
    reasons = [r for _, _, r in result.problems]
    assert "twice in this batch" in reasons and any("check digit" in r for r in reasons)
    again = inventory.intake_devices([{"imei": good}], actor=op)
    assert again.created == [] and again.problems[0][2] == "already in inventory"
    sims = inventory.intake_sims([{"iccid": iccid()}, {"iccid": "8901"}], actor=op, carrier="AT&T")
    assert len(sims.created) == 1 and "19 or 20" in sims.problems[0][2]


def test_pairing_is_one_to_one(db_session, factory):
    op = factory.user(UserRole.OPERATOR)
    d1, d2 = stock(db_session, 2)
    sim = SimCard(iccid=iccid())
    db_session.add(sim)
    db_session.flush()
    inventory.pair(d1, sim, actor=op)
    with pytest.raises(inventory.InventoryError, match="already paired"):
        inventory.pair(d2, sim, actor=op)


def test_order_from_invoice_counts_device_lines(db_session, factory):
    rep = factory.user()
    invoice = invoice_with_devices(db_session, factory, units=4)
    order = packing.create_order_for_invoice(invoice, actor=rep)
    assert order.device_count == 4 and order.status is FulfillmentStatus.PENDING
    assert packing.create_order_for_invoice(invoice, actor=rep).id == order.id  # one per invoice
    other = invoice_with_devices(db_session, factory)
    with pytest.raises(packing.PackingError, match="Say why"):
        packing.create_order_for_invoice(other, actor=rep, released_by_hand=True, reason=" ")


def test_scan_flow_pack_and_ship(app, db_session, factory):
    op = factory.user(UserRole.OPERATOR)
    invoice = invoice_with_devices(db_session, factory, units=2)
    order = packing.create_order_for_invoice(invoice, actor=op)
    (d1, d2), sims = stock(db_session, 2), [SimCard(iccid=iccid()), SimCard(iccid=iccid())]
    db_session.add_all(sims)
    db_session.flush()
    t = datetime.now(UTC)
    assert packing.scan(order.id, d1.imei, actor=op, now=t).ok
    twice = packing.scan(order.id, d1.imei, actor=op, now=t + timedelta(milliseconds=300))
    assert twice.ignored  # a scanner's double Enter
    with pytest.raises(packing.PackingError, match="SIM of"):
        packing.scan(order.id, d2.serial_number, actor=op, now=t + timedelta(seconds=2))
    packing.scan(order.id, sims[0].iccid, actor=op)
    with pytest.raises(packing.PackingError, match="not in stock|no device"):
        packing.scan(order.id, "GL300-NOPE", actor=op)
    packing.scan(order.id, d2.serial_number, actor=op)
    packing.scan(order.id, sims[1].iccid, actor=op)
    undone = packing.scan(order.id, "*UNDO*", actor=op)
    assert "Undid the SIM scan" in undone.message
    db_session.refresh(d2)
    assert d2.sim_card_id is None
    packing.scan(order.id, sims[1].iccid, actor=op)
    packing.scan(order.id, "", actor=op)  # Enter on an empty input packs
    assert order.status is FulfillmentStatus.PACKED
    with pytest.raises(packing.PackingError, match="UPS"):
        packing.ship(order.id, carrier="UPS", tracking_number="1Z123", actor=op)
    packing.ship(order.id, carrier="ups", tracking_number="1Z999AA10123456784", actor=op)
    for device in (d1, d2):
        db_session.refresh(device)
        assert device.status is DeviceStatus.SHIPPED and device.company_id == invoice.company_id
        assert device.invoice_id == invoice.id
        assert device.sim_card.status is SimStatus.ASSIGNED
    with pytest.raises(packing.PackingError, match="shipped"):
        packing.scan(order.id, imei(), actor=op)


def test_device_cannot_go_into_two_orders(db_session, factory):
    op = factory.user(UserRole.OPERATOR)
    first = packing.create_order_for_invoice(invoice_with_devices(db_session, factory), actor=op)
    second = packing.create_order_for_invoice(invoice_with_devices(db_session, factory), actor=op)
    (device,) = stock(db_session, 1)
    packing.scan(first.id, device.imei, actor=op)
    with pytest.raises(packing.PackingError, match="another order"):
        packing.scan(second.id, device.imei, actor=op)


def test_a_device_not_in_stock_is_refused_with_its_status(db_session, factory):
    op = factory.user(UserRole.OPERATOR)
    order = packing.create_order_for_invoice(invoice_with_devices(db_session, factory), actor=op)
    (device,) = stock(db_session, 1)
    device.status = DeviceStatus.DEFECTIVE
    db_session.flush()
    with pytest.raises(packing.PackingError, match=rf"^{device.serial_number} is defective, not in stock\.$"):
        packing.scan(order.id, device.imei, actor=op)
    db_session.refresh(device)
    assert device.status is DeviceStatus.DEFECTIVE and device.fulfillment_items == []


def test_canceled_order_refuses_scans_and_frees_devices(db_session, factory):
    op = factory.user(UserRole.OPERATOR)
    order = packing.create_order_for_invoice(invoice_with_devices(db_session, factory), actor=op)
    (device,) = stock(db_session, 1)
    packing.scan(order.id, device.imei, actor=op)
    packing.cancel(order.id, actor=op, reason="Customer changed the order")
    db_session.refresh(device)
    assert device.status is DeviceStatus.IN_STOCK
    with pytest.raises(packing.PackingError, match="canceled"):
        packing.scan(order.id, device.imei, actor=op)


def test_packing_screen_over_http(app, client, db_session, factory):
    op = factory.user(UserRole.OPERATOR)
    order = packing.create_order_for_invoice(invoice_with_devices(db_session, factory, units=1), actor=op)
    (device,) = stock(db_session, 1, paired=True)
    login(client, op)
    page = client.get(f"/warehouse/orders/{order.id}")
    assert page.status_code == 200 and b"data-scan-input" in page.data
    bad = client.post(f"/warehouse/orders/{order.id}/scan", data={"code": "490154203237519", "csrf_token": csrf_token(client, app)},
                      headers={"HX-Request": "true"})
    assert bad.status_code == 422 and b"check digit" in bad.data and b'role="alert"' in bad.data
    ok = client.post(f"/warehouse/orders/{order.id}/scan", data={"code": device.imei, "csrf_token": csrf_token(client, app)},
                     headers={"HX-Request": "true"})
    assert ok.status_code == 200 and b"<strong>1</strong> of 1 devices" in ok.data
    client.post(f"/warehouse/orders/{order.id}/scan", data={"code": device.sim_card.iccid, "csrf_token": csrf_token(client, app)},
                headers={"HX-Request": "true"})
    client.post(f"/warehouse/orders/{order.id}/pack", data={"csrf_token": csrf_token(client, app)}, headers={"HX-Request": "true"})
    shipped = client.post(f"/warehouse/orders/{order.id}/ship", data={
        "carrier": "UPS", "tracking_number": "1Z999AA10123456784", "csrf_token": csrf_token(client, app)},
        headers={"HX-Request": "true"})
    assert shipped.status_code == 200 and b"1Z999AA10123456784" in shipped.data
    assert client.get(f"/warehouse/orders/{order.id}/slip").status_code == 200
    login(client, factory.user(UserRole.REP))
    assert client.get("/warehouse").status_code == 403


def test_company_and_invoice_pages_show_the_shipment(app, client, db_session, factory):
    op = factory.user(UserRole.OPERATOR)
    invoice = invoice_with_devices(db_session, factory, units=1)
    order = packing.create_order_for_invoice(invoice, actor=op)
    (device,) = stock(db_session, 1, paired=True)
    packing.scan(order.id, device.imei, actor=op)
    packing.scan(order.id, device.sim_card.iccid, actor=op)
    packing.pack(order.id, actor=op)
    packing.ship(order.id, carrier="UPS", tracking_number="1Z999AA10123456784", actor=op)
    login(client, factory.user(UserRole.ADMIN))
    company_part = client.get(f"/companies/{invoice.company_id}/devices", headers={"HX-Request": "true"})
    assert device.serial_number.encode() in company_part.data and b"1Z999AA10123456784" in company_part.data
    invoice_part = client.get(f"/invoices/{invoice.id}/fulfillment", headers={"HX-Request": "true"})
    assert b"shipped by UPS" in invoice_part.data


def test_rep_releases_an_unpaid_invoice_by_hand(app, client, db_session, factory):
    rep = factory.user(UserRole.REP)
    invoice = invoice_with_devices(db_session, factory, units=2)
    login(client, rep)
    no_reason = client.post(f"/invoices/{invoice.id}/release", data={"reason": "", "csrf_token": csrf_token(client, app)})
    assert no_reason.status_code == 302
    from app.fulfillment.models import FulfillmentOrder
    assert db_session.scalar(select(FulfillmentOrder).where(FulfillmentOrder.invoice_id == invoice.id)) is None
    done = client.post(f"/invoices/{invoice.id}/release", data={"reason": "Net-30 fleet customer",
                                                                "csrf_token": csrf_token(client, app)})
    assert done.status_code == 302
    order = db_session.scalar(select(FulfillmentOrder).where(FulfillmentOrder.invoice_id == invoice.id))
    assert order.device_count == 2 and "Net-30" in order.notes


def test_cancel_from_the_packing_screen(app, client, db_session, factory):
    op = factory.user(UserRole.OPERATOR)
    order = packing.create_order_for_invoice(invoice_with_devices(db_session, factory, units=1), actor=op)
    (device,) = stock(db_session, 1)
    packing.scan(order.id, device.imei, actor=op)
    login(client, op)
    no_reason = client.post(f"/warehouse/orders/{order.id}/cancel", data={"csrf_token": csrf_token(client, app)},
                            headers={"HX-Request": "true"})
    assert no_reason.status_code == 422 and b"Say why" in no_reason.data
    done = client.post(f"/warehouse/orders/{order.id}/cancel", data={
        "reason": "Customer changed the order", "csrf_token": csrf_token(client, app)}, headers={"HX-Request": "true"})
    assert done.status_code == 200 and b"back in stock" in done.data
    db_session.refresh(device)
    assert order.status is FulfillmentStatus.CANCELED and device.status is DeviceStatus.IN_STOCK


def test_intake_over_http_by_scanning_or_csv(app, client, db_session, factory):
    import io

    login(client, factory.user(UserRole.OPERATOR))
    good, bad = imei(), "490154203237519"
    scanned = client.post("/warehouse/inventory/intake", data={
        "kind": "devices", "codes": f"{good}\n{bad}\n", "csrf_token": csrf_token(client, app)},
        headers={"HX-Request": "true"})
    assert scanned.status_code == 200 and b"<strong>1</strong> added" in scanned.data and b"check digit" in scanned.data
    sim = iccid()
    csv_file = (io.BytesIO(f"iccid,phone_number,carrier\n{sim},+12145550100,AT&T\n".encode()), "sims.csv")
    uploaded = client.post("/warehouse/inventory/intake", data={
        "kind": "sims", "file": csv_file, "csrf_token": csrf_token(client, app)},
        headers={"HX-Request": "true"}, content_type="multipart/form-data")
    assert uploaded.status_code == 200
    assert db_session.scalar(select(SimCard).where(SimCard.iccid == sim)).carrier == "AT&T"
    wrong = client.post("/warehouse/inventory/intake", data={
        "kind": "sims", "file": (io.BytesIO(b"serial\nabc\n"), "x.csv"), "csrf_token": csrf_token(client, app)},
        headers={"HX-Request": "true"}, content_type="multipart/form-data")
    assert wrong.status_code == 422 and b"iccid" in wrong.data
    listing = client.get(f"/warehouse/inventory?q={good}")
    assert listing.status_code == 200 and good.encode() in listing.data


def test_activation_by_scanning_shipped_devices(app, client, db_session, factory):
    op = factory.user(UserRole.OPERATOR)
    shipped, in_stock = stock(db_session, 2, paired=True)
    shipped.status = DeviceStatus.SHIPPED
    db_session.flush()
    login(client, op)
    page = client.post("/warehouse/activate", data={
        "codes": f"{shipped.sim_card.iccid}\n{in_stock.imei}\nnope", "csrf_token": csrf_token(client, app)})
    assert page.status_code == 200 and b"not shipped" in page.data and b"unknown code" in page.data
    db_session.refresh(shipped)
    assert shipped.status is DeviceStatus.ACTIVATED and shipped.activation_date is not None
    assert shipped.sim_card.status is SimStatus.ACTIVE and shipped.tracking_active
