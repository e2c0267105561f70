"""The shipping e-mail: one fact per line, and a link to the carrier's tracking page."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.auth.models import UserRole
from app.fulfillment import packing
from app.fulfillment.codes import tracking_url
from app.fulfillment.jobs import send_tracking_email
from app.integrations.models import OutboxMessage
from tests.integration.test_warehouse import invoice_with_devices, stock


def shipped(db_session, factory, carrier: str, number: str, units: int = 2):
    op = factory.user(UserRole.OPERATOR)
    invoice = invoice_with_devices(db_session, factory, units=units)
    order = packing.create_order_for_invoice(invoice, actor=op)
    for device in stock(db_session, units, paired=True):
        packing.scan(order.id, device.imei, actor=op)
        packing.scan(order.id, device.sim_card.iccid, actor=op)
    packing.pack(order.id, actor=op)
    packing.ship(order.id, carrier=carrier, tracking_number=number, actor=op)
    return order


def sent_for(db_session, order) -> OutboxMessage:
    send_tracking_email(str(order.id))
    return db_session.scalar(select(OutboxMessage).where(OutboxMessage.invoice_id == order.invoice_id))


@pytest.mark.parametrize("carrier,number,url", [
    ("UPS", "1Z999AA10123456784", "https://www.ups.com/track?tracknum=1Z999AA10123456784"),
    ("FedEx", "123456789012", "https://www.fedex.com/fedextrack/?trknbr=123456789012"),
    ("USPS", "9400100000000000000000",
     "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400100000000000000000"),
])
def test_the_email_links_to_the_carriers_tracking_page(db_session, factory, carrier, number, url):
    order = shipped(db_session, factory, carrier, number)

    message = sent_for(db_session, order)

    assert f"\nTrack the package: {url}\n" in message.body_text
    assert f'<a href="{url}">' in message.body_html


def test_the_email_puts_each_fact_on_its_own_line(db_session, factory):
    order = shipped(db_session, factory, "UPS", "1Z999AA10123456784")

    body = sent_for(db_session, order).body_text

    assert body.startswith("Hi ") or body.startswith("Hello,")
    lines = body.splitlines()
    assert f"Your 2 GPS trackers for {order.company.name} shipped today by UPS." in lines
    assert "Tracking number: 1Z999AA10123456784" in lines
    assert "Track the package: https://www.ups.com/track?tracknum=1Z999AA10123456784" in lines
    assert "— GPS Leaders" in lines
    # paragraphs are separated by a blank line, and no two facts share one
    assert "\n\nYour 2 GPS trackers" in body and "ready.\n\n— GPS Leaders" in body
    assert all(line.count("1Z999AA10123456784") <= 1 for line in lines)


def test_the_packing_screen_links_the_tracking_number(app, client, db_session, factory):
    from tests.factories import login

    order = shipped(db_session, factory, "UPS", "1Z999AA10123456784", units=1)
    login(client, factory.user(UserRole.OPERATOR))

    page = client.get(f"/warehouse/orders/{order.id}").get_data(as_text=True)

    assert 'href="https://www.ups.com/track?tracknum=1Z999AA10123456784"' in page


def test_tracking_url():
    assert tracking_url("dhl", "1234567890").endswith("tracking-id=1234567890")
    assert tracking_url("UPS", " 1z999aa1 0123456784 ") == "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    assert tracking_url("Pigeon", "42") is None
    assert tracking_url("UPS", None) is None
