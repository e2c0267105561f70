"""The customer's page /pay/<token>: what it shows, signing, paying through the
sandbox, bad input (each refused, nothing changed), rate limiting, and its speed."""
from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from html import unescape

import pytest
from sqlalchemy import select

from app.billing.models import InvoiceStatus
from app.billing.signing import InvoiceSignature
from tests.integration.test_payments import make_invoice, payments_of, work_all


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def page_csrf(client, token) -> str:
    html = client.get(f"/pay/{token}").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]*)"', html).group(1)


def sign_form(client, token, **overrides):
    html = client.get(f"/pay/{token}").get_data(as_text=True)
    data = {"csrf_token": hidden(html, "csrf_token"), "agreement_sha256": hidden(html, "agreement_sha256"),
            "content_sha256": hidden(html, "content_sha256"), "consent": "yes", "name": "Tanya Brooks"}
    data.update(overrides)
    return data


def sign(client, token, headers=None, **overrides):
    return client.post(f"/pay/{token}/sign", data=sign_form(client, token, **overrides), headers=headers or {})


def test_the_page_shows_the_invoice_and_its_agreement(client, factory, db_session):
    from app.settings.models import Setting

    if db_session.scalar(select(Setting).where(Setting.key == "company.profile")) is None:
        db_session.add(Setting(key="company.profile", value={"name": "GPS Leaders",
                                                             "legal_name": "GPS Leaders LLC",
                                                             "city": "Santa Clara", "state": "CA"}))
    invoice, token = make_invoice(factory, company_name="Cool Breeze <script>alert(1)</script> & Air")
    response = client.get(f"/pay/{token}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "GPS Leaders LLC" in html and invoice.invoice_number in html
    assert "$2,304.90" in html and "GL300 4G LTE GPS Tracker" in html
    assert "Provider supplies 22 device(s) at $24.95 per device per month" in html
    assert "<script>alert(1)</script>" not in html  # escaped, in the agreement too
    assert "Cool Breeze &lt;script&gt;alert(1)&lt;/script&gt; &amp; Air" in html
    assert "sidebar" not in html and "nav__link" not in html  # no app navigation
    assert 'name="viewport"' in html


def test_wrong_revoked_and_void_links_all_look_the_same(client, factory, db_session):
    from app.billing.sending import revoke_link

    revoked, revoked_token = make_invoice(factory)
    revoke_link(revoked, actor=None)
    void, void_token = make_invoice(factory)
    void.status = InvoiceStatus.VOID
    db_session.commit()
    bodies = set()
    for token in ("nope", "x" * 43, revoked_token, void_token, "y" * 500):
        response = client.get(f"/pay/{token}")
        assert response.status_code == 404
        bodies.add(re.sub(r'name="csrf-token" content="[^"]*"', "", response.get_data(as_text=True)))
    assert len(bodies) == 1
    html = client.get("/pay/nope").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]*)"', html).group(1)
    for path in ("sign", "checkout"):
        response = client.post(f"/pay/{void_token}/{path}", data={"csrf_token": csrf, "consent": "yes",
                                                                   "name": "Tanya Brooks"})
        assert response.status_code == 404
    assert void.signed_at is None


def test_signing_records_the_evidence(client, factory, db_session):
    invoice, token = make_invoice(factory)
    response = sign(client, token, headers={"User-Agent": "Mozilla/5.0 (Phone) Test",
                                            "X-Forwarded-For": "203.0.113.9"})
    assert response.status_code == 303
    db_session.refresh(invoice)
    assert invoice.signed_name == "Tanya Brooks" and invoice.signed_at is not None
    assert invoice.signed_ip_addr == "127.0.0.1"  # X-Forwarded-For ignored: no trusted proxy
    assert invoice.signed_user_agent == "Mozilla/5.0 (Phone) Test"
    assert "Provider supplies 22 device(s)" in invoice.signed_agreement_snapshot
    signature = db_session.get(InvoiceSignature, invoice.id)
    assert signature.agreement_sha256 == hashlib.sha256(
        invoice.signed_agreement_snapshot.encode()).hexdigest()
    assert signature.content_snapshot["total"] == "2304.90" and len(signature.content_sha256) == 64
    page = client.get(f"/pay/{token}").get_data(as_text=True)
    assert "Signed by <strong>Tanya Brooks</strong>" in page and "Pay $2,304.90" in page
    cert = client.get(f"/pay/{token}/certificate").get_data(as_text=True)
    assert signature.content_sha256 in cert and "Mozilla/5.0 (Phone) Test" in cert


def test_a_trusted_proxy_makes_forwarded_for_count(app, client, factory, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "TRUSTED_PROXY_COUNT", 1)
    invoice, token = make_invoice(factory)
    sign(client, token, headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9"})
    db_session.refresh(invoice)
    assert invoice.signed_ip_addr == "203.0.113.9"


def test_signed_content_can_no_longer_be_changed(factory, db_session, client):
    from app.billing.invoices import InvoiceLocked, assert_editable

    invoice, token = make_invoice(factory)
    sign(client, token)
    db_session.refresh(invoice)
    with pytest.raises(InvoiceLocked):
        assert_editable(invoice)


@pytest.mark.parametrize("overrides, status, message", [
    ({"consent": ""}, 422, "Tick the box"),
    ({"name": "   "}, 422, "Type your full name"),
    ({"agreement_sha256": "0" * 64}, 409, "changed while you were reading"),
    ({"content_sha256": "0" * 64}, 409, "changed while you were reading"),
])
def test_signing_refusals_change_nothing(client, factory, db_session, overrides, status, message):
    invoice, token = make_invoice(factory)
    response = sign(client, token, **overrides)
    assert response.status_code == status
    assert message in unescape(response.get_data(as_text=True))
    db_session.refresh(invoice)
    assert invoice.signed_at is None and db_session.get(InvoiceSignature, invoice.id) is None


def test_signing_twice_is_refused(client, factory, db_session):
    invoice, token = make_invoice(factory)
    data = sign_form(client, token)
    assert client.post(f"/pay/{token}/sign", data=data).status_code == 303
    again = client.post(f"/pay/{token}/sign", data={**data, "name": "Someone Else"})
    assert again.status_code == 409
    db_session.refresh(invoice)
    assert invoice.signed_name == "Tanya Brooks"


def test_pay_requires_a_signature_and_an_unpaid_balance(client, factory, db_session):
    invoice, token = make_invoice(factory)
    csrf = page_csrf(client, token)
    refused = client.post(f"/pay/{token}/checkout", data={"csrf_token": csrf})
    assert refused.status_code == 409 and "sign the agreement" in refused.get_data(as_text=True)
    sign(client, token)
    started = client.post(f"/pay/{token}/checkout", data={"csrf_token": csrf})
    assert started.status_code == 303 and f"/pay/{token}/sandbox-checkout?session=" in started.location
    from app.billing.payments import record_manual_payment

    db_session.refresh(invoice)
    record_manual_payment(invoice, actor=None, amount="2304.90", method="WIRE")
    db_session.commit()
    paid = client.post(f"/pay/{token}/checkout", data={"csrf_token": csrf})
    assert paid.status_code == 409 and "already paid" in paid.get_data(as_text=True)
    assert len(payments_of(db_session, invoice)) == 1


def test_partial_payment_only_when_allowed(client, factory, db_session):
    from app.billing.payments import set_payment_options
    from app.integrations.sandbox_checkout import load_session

    invoice, token = make_invoice(factory)
    sign(client, token)
    csrf = page_csrf(client, token)
    full = client.post(f"/pay/{token}/checkout", data={"csrf_token": csrf, "amount": "100.00"})
    with client.application.test_request_context():
        assert load_session(full.location.split("session=")[1])["amount"] == 230490  # flag off: ignored
    set_payment_options(invoice, actor=None, allow_partial=True, allow_overpayment=False)
    db_session.commit()
    assert 'name="amount"' in client.get(f"/pay/{token}").get_data(as_text=True)
    part = client.post(f"/pay/{token}/checkout", data={"csrf_token": csrf, "amount": "100.00"})
    with client.application.test_request_context():
        assert load_session(part.location.split("session=")[1])["amount"] == 10000
    over = client.post(f"/pay/{token}/checkout", data={"csrf_token": csrf, "amount": "2304.91"})
    assert over.status_code == 422


def test_paying_through_the_sandbox_runs_the_real_webhook(client, factory, db_session, monkeypatch):
    """Sign, pay, the sandbox's job posts Stripe-signed events to /webhooks/stripe
    (through the test client instead of HTTP), the billing job applies them."""
    from app.integrations import sandbox_checkout

    def post_event(url, payload, signature, timeout=10.0):
        assert url.endswith("/webhooks/stripe")
        return client.post("/webhooks/stripe", data=payload,
                           headers={"Stripe-Signature": signature}).status_code

    monkeypatch.setattr(sandbox_checkout, "post_event", post_event)
    invoice, token = make_invoice(factory)
    sign(client, token)
    csrf = page_csrf(client, token)
    checkout_url = client.post(f"/pay/{token}/checkout", data={"csrf_token": csrf}).location
    page = client.get(checkout_url)
    assert page.status_code == 200 and "Sandbox checkout" in page.get_data(as_text=True)
    session_blob = checkout_url.split("session=")[1]
    done = client.post(f"/pay/{token}/sandbox-checkout",
                       data={"csrf_token": csrf, "session": session_blob, "method": "us_bank_account"})
    assert done.status_code == 303 and done.location.endswith(f"/pay/{token}/thanks")
    work_all()
    db_session.refresh(invoice)
    assert invoice.status is InvoiceStatus.PAID
    assert [p.amount for p in payments_of(db_session, invoice)] == [Decimal("2304.90")]
    # paying the same session again re-delivers the same events: nothing new
    client.post(f"/pay/{token}/sandbox-checkout", data={"csrf_token": csrf, "session": session_blob})
    work_all()
    assert len(payments_of(db_session, invoice)) == 1
    assert "Paid — thank you!" in client.get(f"/pay/{token}/thanks").get_data(as_text=True)


def test_a_forged_sandbox_session_is_not_available(client, factory):
    _, token = make_invoice(factory)
    assert client.get(f"/pay/{token}/sandbox-checkout?session=forged").status_code == 404


def test_public_pages_are_rate_limited_per_ip(client):
    statuses = [client.get("/pay/unknown-token").status_code for _ in range(31)]
    assert statuses[:30] == [404] * 30 and statuses[30] == 429
    other_ip = client.get("/pay/unknown-token", environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other_ip.status_code == 404


