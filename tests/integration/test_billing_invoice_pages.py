"""What people read on and about an invoice: one source of shipping, product names (not
codes) on lines, the issue date, the e-mail's plain text, no inline styles under the CSP."""
from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from app.auth.models import UserRole
from app.billing import invoices as svc
from app.billing.models import Product, ProductType, ShippingType
from tests.factories import csrf_token, login
from tests.integration.test_payments import make_invoice


@pytest.fixture
def shipping(db_session):
    tag = uuid.uuid4().hex[:6]
    rows = {
        "ground": ShippingType(slug=f"ground-{tag}", name="UPS Ground", default_cost=Decimal("18.00")),
        "air": ShippingType(slug=f"air-{tag}", name="UPS Air", default_cost=Decimal("32.00")),
        "product": Product(qb_item_id=f"s-{tag}", name="Shipping & Handling", unit_price=Decimal("18.00"),
                           category="Shipping", type=ProductType.SERVICE),
    }
    db_session.add_all(rows.values())
    db_session.flush()
    return rows


def _terms_form(invoice, **changes):
    data = {"bill_to_id": "", "ship_to_id": "", "tax_rate_id": "",
            "shipping_type_id": str(invoice.shipping_type_id or ""),
            "shipping_cost": f"{invoice.shipping_cost:.2f}" if invoice.shipping_cost is not None else "",
            "payment_term_id": "", "due_date": "", "contract_term_id": "", "backend_id": "",
            "carrier_id": "", "agreement_template_id": "", "notes": ""}
    data.update(changes)
    return data


def _post_terms(client, app, invoice, **changes):
    response = client.post(f"/invoices/{invoice.id}/terms", data=_terms_form(invoice, **changes),
                           headers={"X-CSRFToken": csrf_token(client, app), "HX-Request": "true"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


# ------------------------------------------------------------------ shipping: one source

def test_the_shipping_method_is_the_one_source_of_shipping(app, client, factory, db_session, shipping):
    invoice, _ = make_invoice(factory, send=False, shipping=None)
    login(client, factory.user(UserRole.REP))
    _post_terms(client, app, invoice, shipping_type_id=str(shipping["ground"].id))
    assert invoice.shipping_cost == Decimal("18.00")
    total_with = invoice.total
    # another method: its cost (the form still carries the old 18.00)
    _post_terms(client, app, invoice, shipping_type_id=str(shipping["air"].id))
    assert invoice.shipping_cost == Decimal("32.00")
    # a cost typed for the method is kept
    _post_terms(client, app, invoice, shipping_cost="25.00")
    assert invoice.shipping_cost == Decimal("25.00")
    # "None": no shipping charged, although the form still says 25.00
    _post_terms(client, app, invoice, shipping_type_id="")
    assert invoice.shipping_cost is None and invoice.total == total_with - Decimal("18.00")


def test_the_catalogues_shipping_product_is_not_a_line(app, client, factory, db_session, shipping):
    invoice, _ = make_invoice(factory, send=False)
    rep = factory.user(UserRole.REP)
    with pytest.raises(svc.InvoiceError, match="shipping method"):
        svc.add_line(invoice, actor=rep, product=shipping["product"], quantity=1, unit_price=None)
    login(client, rep)
    page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    add_form = page[page.index('id="add-line"'):]
    assert "Shipping &amp; Handling" not in add_form and "GL300 4G LTE GPS Tracker" in add_form
    lines = len(invoice.line_items)
    forged = client.post(f"/invoices/{invoice.id}/lines", headers={"X-CSRFToken": csrf_token(client, app)},
                         data={"product_id": str(shipping["product"].id), "description": "", "quantity": "1",
                               "unit_price": "18.00"})
    assert forged.status_code in (303, 422)
    db_session.refresh(invoice)
    assert len(invoice.line_items) == lines


# ------------------------------------------------------------------ what the pages say

def test_lines_show_the_product_name_not_its_code(app, client, factory, db_session):
    invoice, _ = make_invoice(factory, send=False)
    code = str(900000 + int(uuid.uuid4().int % 99999))
    product = Product(qb_item_id=code, name="GV500MA OBD-II Plug-in Tracker", unit_price=Decimal("69.00"))
    db_session.add(product)
    db_session.flush()
    svc.add_line(invoice, actor=factory.user(), product=product, description="OBD trackers for the vans",
                 quantity=2, unit_price=None)
    login(client, factory.user(UserRole.REP))
    editable = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    invoice.signed_at = datetime.now(UTC)  # locked: the lines are plain text
    db_session.commit()
    locked = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    for html in (editable, locked):
        assert "GV500MA OBD-II Plug-in Tracker" in html
        assert not re.search(rf">\s*{code}\s*<", html)


def test_the_customers_document_says_the_issue_date(client, factory):
    invoice, token = make_invoice(factory)
    html = client.get(f"/pay/{token}").get_data(as_text=True)
    issued = re.search(r"<dt>Issued</dt><dd>(.*?)</dd>", html).group(1)
    assert "just now" not in issued and invoice.sent_at.strftime("%b %-d, %Y") in issued


def test_the_invoice_emails_text_has_one_fact_per_line(app, factory, db_session):
    from app.billing.sending import invoice_email

    invoice, _ = make_invoice(factory)
    invoice.due_date = date.today() + timedelta(days=30)
    with app.test_request_context():
        text = invoice_email(invoice, link="https://crm.example.com/pay/abc", to="a@example.com").body_text
    lines = text.splitlines()
    assert "Total: $2,304.90" in lines and "Balance due: $2,304.90" in lines
    assert f"Due: {invoice.due_date.strftime('%b %-d, %Y')}" in lines
    assert "https://crm.example.com/pay/abc" in lines


def test_invoice_pages_have_no_inline_styles(app, client, factory, db_session):
    """The CSP (style-src 'self') blocks style attributes and <style> elements."""
    invoice, token = make_invoice(factory)
    login(client, factory.user(UserRole.ADMIN))
    pages = [f"/invoices/{invoice.id}", f"/invoices/{invoice.id}/sharing", "/invoices",
             "/invoices/unapplied", f"/pay/{token}"]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert not re.search(r"<[^>]+\sstyle\s*=", html) and "<style" not in html, path
