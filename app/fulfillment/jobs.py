"""Warehouse jobs: ids in, idempotent."""
from __future__ import annotations

import uuid

from flask import render_template

from app.extensions import db
from app.fulfillment.codes import tracking_url
from app.fulfillment.models import FulfillmentOrder
from app.integrations.mail import MailMessage, default_sender, get_mail_backend


def send_tracking_email(order_id: str) -> None:
    """Tell the customer their trackers are on the way (once per order: message_key)."""

    order = db.session.get(FulfillmentOrder, uuid.UUID(order_id))
    if order is None or order.tracking_number is None:
        return
    company = order.company
    contact = next((c for c in company.contacts if c.email), None)
    if contact is None:
        return
    context = {
        "order": order,
        "greeting": f"Hi {contact.first_name}," if contact.first_name else "Hello,",
        "devices": f"{order.device_count} GPS tracker{'s' if order.device_count != 1 else ''}",
        "tracking_url": tracking_url(order.carrier, order.tracking_number),
    }
    get_mail_backend().send(MailMessage(
        to=contact.email, subject=f"Your trackers shipped: {order.carrier} {order.tracking_number}",
        body_text=render_template("fulfillment/email_tracking.txt", **context),
        body_html=render_template("fulfillment/email_tracking.html", **context),
        from_address=default_sender(), invoice_id=str(order.invoice_id), message_key=f"tracking-{order.id}"))
    db.session.commit()
