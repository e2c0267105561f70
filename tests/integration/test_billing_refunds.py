"""An admin refunds a Stripe payment of an invoice through Stripe's API (idempotency key:
twice is one refund); the refund row comes with Stripe's `charge.refunded`, once. A rep
sees the refund disabled with the reason and asks for it instead."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from app.auth.models import UserRole
from app.billing.models import InvoiceStatus
from app.crm.models import Task
from tests.factories import csrf_token, login
from tests.integration.test_billing_roles import _disabled_with_reason
from tests.integration.test_payments import make_invoice, payments_of, work_all
from tests.integration.test_stripe_webhook import adapted, post, secret  # noqa: F401 (fixture)


def _paid(client, invoice, suffix):
    event = adapted("payment_intent.succeeded", invoice, suffix=suffix)
    assert post(client, event).status_code == 200
    work_all()
    from app.extensions import db

    [payment] = payments_of(db.session, invoice)
    return event["data"]["object"], payment


def test_an_admin_refunds_a_stripe_payment_once(app, client, factory, db_session, secret, monkeypatch):  # noqa: F811
    import stripe

    from tests.stripe_api_fake import FakeStripeAPI

    invoice, _ = make_invoice(factory)
    intent, payment = _paid(client, invoice, "rf")
    admin = factory.user(UserRole.ADMIN)
    db_session.commit()  # (a refused refund rolls the request back)
    api = FakeStripeAPI().start()
    api.payment_intents[intent["id"]] = {"amount": 230490, "currency": "usd",
                                         "latest_charge": intent["latest_charge"]}
    url = f"/invoices/{invoice.id}/payments/{payment.id}/refund"
    try:
        monkeypatch.setattr(stripe, "api_base", api.url)
        monkeypatch.setitem(app.config, "PAYMENTS_BACKEND", "stripe")
        monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_fake")
        login(client, admin)
        assert f'action="{url}"' in client.get(f"/invoices/{invoice.id}/sharing").get_data(as_text=True)
        for bad in ("2304.91", "1e400", "-5", "NaN", "1.001"):
            refused = client.post(url, data={"csrf_token": csrf_token(client, app), "amount": bad})
            assert refused.status_code == 422, bad
        for _ in range(2):
            assert client.post(url, data={"csrf_token": csrf_token(client, app), "amount": "158.00"}).status_code == 303
    finally:
        api.stop()
    first, second = api.calls("/v1/refunds")
    assert first["form"]["payment_intent"] == intent["id"] and first["form"]["amount"] == "15800"
    assert first["headers"]["Idempotency-Key"] == second["headers"]["Idempotency-Key"]
    assert api.refunded[intent["id"]] == 15800
    assert len(payments_of(db_session, invoice)) == 1  # recorded when Stripe confirms
    confirmed = adapted("charge.refunded", invoice, suffix="rf")  # amount_refunded 15800
    for _ in range(2):
        assert post(client, confirmed).status_code == 200
    work_all()
    db_session.refresh(invoice)
    assert [p.amount for p in payments_of(db_session, invoice)] == [Decimal("2304.90"), Decimal("-158.00")]
    assert invoice.status is InvoiceStatus.PARTIAL


def test_a_rep_sees_the_refund_disabled_and_asks_for_it(app, client, factory, db_session, secret):  # noqa: F811
    admin = factory.user(UserRole.ADMIN)
    invoice, _ = make_invoice(factory)
    _, payment = _paid(client, invoice, "rr")
    login(client, factory.user(UserRole.REP))
    url = f"/invoices/{invoice.id}/payments/{payment.id}/refund"
    page = client.get(f"/invoices/{invoice.id}/sharing").get_data(as_text=True)
    assert _disabled_with_reason(page, "Only an owner or admin can refund a payment.")
    assert f'action="{url}"' not in page and "Request a refund" in page
    assert client.post(url, data={"csrf_token": csrf_token(client, app), "amount": "10.00"}).status_code == 403
    response = client.post(f"/invoices/{invoice.id}/requests",
                           data={"csrf_token": csrf_token(client, app), "kind": "refund",
                                 "note": "Refund $158 for two trackers sent back"})
    assert response.status_code == 303
    [task] = db_session.scalars(select(Task).where(Task.company_id == invoice.company_id)).all()
    assert task.assigned_to_id == admin.id and "Refund a payment on" in task.title
    assert len(payments_of(db_session, invoice)) == 1


def test_the_sandbox_pays_and_refunds_offline(app, client, factory, db_session, secret, monkeypatch):  # noqa: F811
    """The loop a person can try without Stripe: pay through the sandbox checkout, refund
    part of it as an admin; the sandbox posts the Stripe-signed events to the webhook."""
    from app.integrations import sandbox_checkout
    from tests.integration.test_public_page import page_csrf, sign

    def post_event(url, payload, signature, timeout=10.0):
        return client.post("/webhooks/stripe", data=payload, headers={"Stripe-Signature": signature}).status_code

    monkeypatch.setattr(sandbox_checkout, "post_event", post_event)
    monkeypatch.setitem(app.config, "PAYMENTS_BACKEND", "sandbox")
    admin = factory.user(UserRole.ADMIN)
    invoice, token = make_invoice(factory)
    sign(client, token)
    csrf = page_csrf(client, token)
    checkout_url = client.post(f"/pay/{token}/checkout", data={"csrf_token": csrf}).location
    client.post(f"/pay/{token}/sandbox-checkout",
                data={"csrf_token": csrf, "session": checkout_url.split("session=")[1]})
    work_all()
    [payment] = payments_of(db_session, invoice)
    login(client, admin)
    url = f"/invoices/{invoice.id}/payments/{payment.id}/refund"
    for _ in range(2):
        assert client.post(url, data={"csrf_token": csrf_token(client, app), "amount": "79.00"}).status_code == 303
    work_all()
    db_session.refresh(invoice)
    assert [p.amount for p in payments_of(db_session, invoice)] == [Decimal("2304.90"), Decimal("-79.00")]
    assert invoice.balance_due == Decimal("79.00")
