"""The packing screen and slip say which models to pick; a re-scan says "already scanned";
statuses read as words ("In stock"); the packing pages carry no inline style."""
from __future__ import annotations

import re
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.auth.models import UserRole
from app.billing.models import InvoiceLineItem, Product
from app.fulfillment import packing
from app.fulfillment.models import Device, SimCard, SimStatus
from tests.factories import csrf_token, login
from tests.integration.test_warehouse import iccid, imei, invoice_with_devices, stock


def hardware(db_session, sku: str, name: str) -> Product:
    product = db_session.scalar(select(Product).where(Product.sku == sku))
    if product is None:
        product = Product(qb_item_id=f"t-{uuid.uuid4().hex[:8]}", name=name, sku=sku,
                          unit_price=Decimal("89.00"), category="Hardware")
        db_session.add(product)
        db_session.flush()
    return product


def two_model_order(db_session, factory, op, *, gl300=2, gv57=1):
    """An order for `gl300` GL300s (line by SKU) and `gv57` GV57MGs (line by QuickBooks id)."""
    invoice = invoice_with_devices(db_session, factory, units=gl300)
    gv = hardware(db_session, "GV57MG", "GV57MG Vehicle Tracker")
    db_session.add(InvoiceLineItem(invoice_id=invoice.id, description="GV57MG Vehicle Tracker", quantity=gv57,
                                   unit_price=Decimal("89.00"), total=Decimal("89.00") * gv57,
                                   product_code=gv.qb_item_id))
    db_session.flush()
    db_session.refresh(invoice)
    return packing.create_order_for_invoice(invoice, actor=op)


def gv57_in_stock(db_session) -> Device:
    device = Device(serial_number=f"GV57MG-{uuid.uuid4().hex[:8].upper()}", imei=imei(), model="GV57MG")
    db_session.add(device)
    db_session.flush()
    return device


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_pick_list_has_each_model_its_quantity_and_how_many_are_picked(db_session, factory):
    op = factory.user(UserRole.OPERATOR)
    order = two_model_order(db_session, factory, op)
    (gl,) = stock(db_session, 1)

    assert order.device_count == 3
    packing.scan(order.id, gl.imei, actor=op)
    lines = packing.pick_list(order.invoice, packing._items(order))

    assert [(line.model, line.name, line.quantity, line.picked) for line in lines] == [
        ("GL300", "GL300 tracker", 2, 1), ("GV57MG", "GV57MG Vehicle Tracker", 1, 0)]


def test_the_packing_screen_and_slip_say_what_to_pick(app, client, db_session, factory):
    op = factory.user(UserRole.OPERATOR)
    order = two_model_order(db_session, factory, op)
    (gl,) = stock(db_session, 1, paired=True)
    login(client, op)

    page = text_of(client.get(f"/warehouse/orders/{order.id}").get_data(as_text=True))
    assert "To pick" in page
    assert "GL300 GL300 tracker 2 0 of 2" in page
    assert "GV57MG GV57MG Vehicle Tracker 1 0 of 1" in page

    scanned = client.post(f"/warehouse/orders/{order.id}/scan", headers={"HX-Request": "true"},
                          data={"code": gl.imei, "csrf_token": csrf_token(client, app)})
    assert scanned.status_code == 200
    assert "GL300 GL300 tracker 2 1 of 2" in text_of(scanned.get_data(as_text=True))

    slip = text_of(client.get(f"/warehouse/orders/{order.id}/slip").get_data(as_text=True))
    assert "Pick Model Item Quantity Picked" in slip
    assert "GL300 GL300 tracker 2 1 of 2" in slip and "GV57MG GV57MG Vehicle Tracker 1 0 of 1" in slip


def test_a_device_of_a_model_the_order_does_not_need_is_refused(db_session, factory):
    op = factory.user(UserRole.OPERATOR)
    order = packing.create_order_for_invoice(invoice_with_devices(db_session, factory, units=1), actor=op)
    other = gv57_in_stock(db_session)
    hardware(db_session, "GV57MG", "GV57MG Vehicle Tracker")

    with pytest.raises(packing.PackingError, match=r"is a GV57MG; this order needs 1 × GL300"):
        packing.scan(order.id, other.imei, actor=op)


def test_a_model_already_all_picked_is_refused(db_session, factory):
    op = factory.user(UserRole.OPERATOR)
    order = two_model_order(db_session, factory, op, gl300=1, gv57=1)
    first, second = stock(db_session, 2, paired=True)
    packing.scan(order.id, first.imei, actor=op)
    packing.scan(order.id, first.sim_card.iccid, actor=op)

    with pytest.raises(packing.PackingError, match=r"All 1 × GL300 are picked; this order still needs 1 × GV57MG"):
        packing.scan(order.id, second.imei, actor=op)


def test_rescanning_a_device_of_this_order_says_already_scanned(app, client, db_session, factory):
    op = factory.user(UserRole.OPERATOR)
    order = packing.create_order_for_invoice(invoice_with_devices(db_session, factory, units=2), actor=op)
    first, second = stock(db_session, 2, paired=True)
    packing.scan(order.id, first.imei, actor=op)
    with pytest.raises(packing.PackingError, match=rf"^{first.serial_number} is already scanned into this order "
                                                   r"\(device 1 of 2\)\. Now scan its SIM\.$"):
        packing.scan(order.id, first.serial_number, actor=op)
    packing.scan(order.id, first.sim_card.iccid, actor=op)
    packing.scan(order.id, second.imei, actor=op)
    packing.scan(order.id, second.sim_card.iccid, actor=op)

    login(client, op)
    again = client.post(f"/warehouse/orders/{order.id}/scan", headers={"HX-Request": "true"},
                        data={"code": first.imei, "csrf_token": csrf_token(client, app)})
    body = again.get_data(as_text=True)
    assert again.status_code == 422
    assert f"{first.serial_number} is already scanned into this order (device 1 of 2)." in body
    assert "not in stock" not in body

    sim_again = client.post(f"/warehouse/orders/{order.id}/scan", headers={"HX-Request": "true"},
                            data={"code": first.sim_card.iccid, "csrf_token": csrf_token(client, app)})
    assert sim_again.status_code == 422
    assert f"is already scanned with {first.serial_number}" in sim_again.get_data(as_text=True)


def test_statuses_read_as_words(app, client, db_session, factory):
    sim = SimCard(iccid=iccid(), status=SimStatus.IN_STOCK)
    db_session.add(sim)
    db_session.flush()
    login(client, factory.user(UserRole.ADMIN))

    sims = client.get(f"/warehouse/inventory?kind=sims&q={sim.iccid}").get_data(as_text=True)
    assert ">In stock<" in sims
    assert "In_stock" not in sims and "In_Stock" not in sims
    devices = client.get("/warehouse/inventory?kind=devices").get_data(as_text=True)
    assert "In_stock" not in devices and "In Stock" not in devices
    warehouse = client.get("/warehouse").get_data(as_text=True)
    assert ">In stock<" in warehouse and "In_stock" not in warehouse


def test_the_label_filter():
    from app.fulfillment.models import DeviceStatus
    from app.template_helpers import enum_label

    assert enum_label(SimStatus.IN_STOCK) == "In stock"
    assert enum_label(DeviceStatus.DEFECTIVE) == "Defective"
    assert enum_label("PICKING") == "Picking"
    assert enum_label(None) == "—"


def test_the_packing_pages_have_no_inline_style(app, client, db_session, factory):
    op = factory.user(UserRole.OPERATOR)
    order = packing.create_order_for_invoice(invoice_with_devices(db_session, factory, units=1), actor=op)
    (device,) = stock(db_session, 1, paired=True)
    login(client, op)
    pages = [client.get(f"/warehouse/orders/{order.id}"), client.get(f"/warehouse/orders/{order.id}/slip"),
             client.get("/warehouse"), client.get("/warehouse/inventory")]
    for code in (device.imei, device.sim_card.iccid, ""):
        pages.append(client.post(f"/warehouse/orders/{order.id}/scan", headers={"HX-Request": "true"},
                                 data={"code": code, "csrf_token": csrf_token(client, app)}))
    pages.append(client.post(f"/warehouse/orders/{order.id}/ship", headers={"HX-Request": "true"}, data={
        "carrier": "UPS", "tracking_number": "1Z999AA10123456784", "csrf_token": csrf_token(client, app)}))

    for response in pages:
        html = response.get_data(as_text=True)
        assert response.status_code == 200, html[:300]
        assert not re.search(r"\sstyle\s*=", html, re.I), response.request.path
        assert "<style" not in html.lower(), response.request.path


def test_inputs_in_the_swapped_packing_block_have_no_id(app, client, db_session, factory):
    """htmx's settle step copies a style attribute onto a swapped-in element with the id of
    one on the page; anything that styled the old input (an extension, Playwright's screenshot
    caret) then shows as a blocked inline style in the CSP log after every scan."""
    op = factory.user(UserRole.OPERATOR)
    order = packing.create_order_for_invoice(invoice_with_devices(db_session, factory, units=1), actor=op)
    (device,) = stock(db_session, 1, paired=True)
    login(client, op)

    for code in (device.imei, device.sim_card.iccid, ""):  # picking, then packed (the ship form)
        fragment = client.post(f"/warehouse/orders/{order.id}/scan", headers={"HX-Request": "true"},
                               data={"code": code, "csrf_token": csrf_token(client, app)}).get_data(as_text=True)
        swapped = fragment.split("</hx-partial>")[-1]
        assert not re.findall(r"<(?:input|select|textarea)[^>]*\sid=", swapped), swapped
