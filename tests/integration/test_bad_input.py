"""Bad input gets a clear message and changes nothing: NUL bytes (refused before any view),
money that is not a finite amount within Numeric(10,2), phones and websites that are not."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.auth.models import UserRole
from app.billing.models import InvoiceStatus, TaxRate
from app.crm.models import Company
from app.errors import NUL_MESSAGE
from tests.factories import csrf_token, login
from tests.integration.test_payments import make_invoice, payments_of
from tests.integration.test_public_page import page_csrf, sign, sign_form

HX = {"HX-Request": "true"}
NEW_COMPANY = {"name": "Harbor Plumbing", "status": "LEAD", "assigned_rep_id": ""}


def companies(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(Company))


def test_a_nul_byte_in_a_form_is_refused_with_a_message_and_nothing_saved(app, client, db_session, factory):
    login(client, factory.user())
    before = companies(db_session)
    plain = client.post("/companies/new", data={**NEW_COMPANY, "name": "Harbor\x00 Plumbing",
                                                "csrf_token": csrf_token(client, app)})
    assert plain.status_code == 422 and NUL_MESSAGE in plain.get_data(as_text=True)
    htmx = client.post("/companies/new", data={**NEW_COMPANY, "sales_note": "a\x00b",
                                               "csrf_token": csrf_token(client, app)}, headers=HX)
    assert htmx.status_code == 422 and htmx.headers["HX-Reswap"] == "none"  # the form keeps what was typed
    assert NUL_MESSAGE in json.loads(htmx.headers["HX-Trigger"])["toast"]["message"]
    renamed = client.post("/companies/new", data={**NEW_COMPANY, "name\x00": "x", "csrf_token": csrf_token(client, app)})
    assert renamed.status_code == 422  # a field's name too
    assert companies(db_session) == before


@pytest.mark.parametrize("url", ["/search?q=a%00b", "/companies?q=%00", "/leads?tag=x%00", "/pipeline?source=%00",
                                 "/invoices/new?q=ab%00", "/warehouse/inventory?q=%00", "/companies?industry=a&industry=%00"])
def test_a_nul_byte_in_a_query_string_is_a_400_with_a_message(client, factory, url):
    login(client, factory.user(UserRole.ADMIN))
    response = client.get(url)
    assert response.status_code == 400 and NUL_MESSAGE in response.get_data(as_text=True)


def test_a_nul_byte_on_the_public_sign_form(client, factory, db_session):
    invoice, token = make_invoice(factory)
    response = client.post(f"/pay/{token}/sign", data=sign_form(client, token, name="Tanya\x00 Brooks"))
    assert response.status_code == 422 and NUL_MESSAGE in response.get_data(as_text=True)
    db_session.refresh(invoice)
    assert invoice.signed_at is None


@pytest.mark.parametrize("amount, message", [
    ("1e400", "as a number"), ("Infinity", "as a number"), ("sNaN", "as a number"), ("NaN", "as a number"),
    ("9" * 40, "up to $99,999,999.99"), ("100.005", "whole cents"), ("-0", "more than $0.00"),
])
def test_the_public_checkout_amount_is_refused_with_a_message(client, factory, db_session, amount, message):
    from app.billing.payments import set_payment_options

    invoice, token = make_invoice(factory)
    sign(client, token)
    set_payment_options(invoice, actor=None, allow_partial=True, allow_overpayment=False)
    db_session.commit()
    response = client.post(f"/pay/{token}/checkout", data={"csrf_token": page_csrf(client, token), "amount": amount})
    assert response.status_code == 422 and message in response.get_data(as_text=True)


@pytest.mark.parametrize("amount, message", [("1e400", "as a number"), ("9" * 40, "up to $99,999,999.99"),
                                             ("sNaN", "as a number")])
def test_a_manual_payment_amount_is_refused_with_a_message(app, client, db_session, factory, amount, message):
    invoice, _ = make_invoice(factory)
    admin = factory.user(UserRole.ADMIN)
    db_session.commit()  # the view rolls back a refused payment: the admin must outlive that
    login(client, admin)
    response = client.post(f"/invoices/{invoice.id}/payments", headers=HX, data={
        "amount": amount, "method": "CHECK", "csrf_token": csrf_token(client, app)})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert payments_of(db_session, invoice) == [] and invoice.status is InvoiceStatus.SENT


@pytest.mark.parametrize("field, value, message", [
    ("unit_price", "1e400", "as a number"), ("unit_price", "Infinity", "as a number"),
    ("unit_price", "9" * 40, "up to $99,999,999.99"), ("unit_price", "-1", "$0.00 or more"),
    ("cost", "sNaN", "as a number"), ("unit_price", "1.005", "whole cents"),
])
def test_a_product_price_is_refused_with_a_message(app, client, db_session, factory, field, value, message):
    from app.billing.models import Product

    login(client, factory.user(UserRole.ADMIN))
    before = db_session.scalar(select(func.count()).select_from(Product))
    data = {"name": "GL320", "unit_price": "79.00", "type": "ONE_TIME", field: value,
            "csrf_token": csrf_token(client, app)}
    response = client.post("/settings/billing/products", data=data, headers=HX)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(Product)) == before


@pytest.mark.parametrize("rate, message", [("sNaN", "as a number"), ("1e400", "as a number"),
                                           ("9" * 40, "from 0 to 0.99999"), ("0.000001", "at most 5 decimals")])
def test_a_tax_rate_is_refused_with_a_message(app, client, db_session, factory, rate, message):
    login(client, factory.user(UserRole.ADMIN))
    before = db_session.scalar(select(func.count()).select_from(TaxRate))
    response = client.post("/settings/billing/tax-rates", headers=HX, data={
        "name": "Travis County", "rate": rate, "category": "STATE", "csrf_token": csrf_token(client, app)})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(TaxRate)) == before


def test_junk_phone_and_website_are_refused_and_a_bare_domain_is_kept_as_https(app, client, db_session, factory):
    login(client, factory.user())
    before = companies(db_session)
    phone = client.post("/companies/new", data={**NEW_COMPANY, "phone": "call me maybe",
                                                "csrf_token": csrf_token(client, app)})
    assert phone.status_code == 422 and "Enter a valid phone number" in phone.get_data(as_text=True)
    site = client.post("/companies/new", data={**NEW_COMPANY, "website": "not a url",
                                               "csrf_token": csrf_token(client, app)})
    assert site.status_code == 422 and "Enter a web address" in site.get_data(as_text=True)
    assert companies(db_session) == before
    saved = client.post("/companies/new", data={**NEW_COMPANY, "website": "harborplumbing.com",
                                                "phone": "(512) 555-0142", "csrf_token": csrf_token(client, app)})
    assert saved.status_code == 302
    company = db_session.scalar(select(Company).where(Company.name == "Harbor Plumbing"))
    assert company.website == "https://harborplumbing.com" and company.phone == "(512) 555-0142"


def test_a_contact_phone_that_is_not_a_number_is_refused_on_the_form(app, client, db_session, factory):
    company = factory.company()
    login(client, factory.user())
    response = client.post(f"/companies/{company.id}/contacts/new", data={
        "first_name": "Mike", "phone": "call me maybe", "csrf_token": csrf_token(client, app)})
    assert response.status_code == 422 and "Enter a valid phone number" in response.get_data(as_text=True)
    assert company.contacts == []


def test_lead_revenue_refuses_what_numeric_10_2_cannot_hold(app, client, db_session, factory):
    lead = factory.lead(estimated_revenue=Decimal("790.00"))
    login(client, factory.user())
    for bad in ("sNaN", "1e400", "9" * 40):
        response = client.post(f"/leads/{lead.id}/edit", data={
            "contact_id": str(lead.contact_id), "estimated_revenue": bad, "csrf_token": csrf_token(client, app)})
        assert response.status_code == 422, bad
    db_session.refresh(lead)
    assert lead.estimated_revenue == Decimal("790.00")


def test_a_nul_byte_in_the_path_or_a_header_is_refused_too(client, factory, db_session):
    invoice, token = make_invoice(factory)
    assert client.get("/pay/abc%00def").status_code == 400
    signed = client.post(f"/pay/{token}/sign", data=sign_form(client, token), headers={"User-Agent": "x\x00y"})
    assert signed.status_code == 400 and NUL_MESSAGE in signed.get_data(as_text=True)
    db_session.refresh(invoice)
    assert invoice.signed_at is None  # the user agent is stored with the signature
