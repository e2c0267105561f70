"""Money Stripe took that the CRM refuses to apply reaches a person: a task for an admin
with the amount, the customer and the reason; the admin's refund goes to Stripe once
(idempotency key) and is recorded once, when Stripe's `charge.refunded` confirms it."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from app.auth.models import UserRole
from app.billing.models import InvoiceStatus, UnappliedPayment
from app.crm.models import Task
from app.webhooks.models import WebhookEvent
from tests.factories import csrf_token, login
from tests.integration.test_payments import make_invoice, payments_of, work_all
from tests.integration.test_stripe_webhook import adapted, post, secret  # noqa: F401 (fixture)

OVERPAID = 300000  # $3,000.00 for an invoice of $2,304.90


def _ledger(db_session, intent):
    return db_session.scalars(select(UnappliedPayment).where(UnappliedPayment.payment_intent_id == intent)
                              .order_by(UnappliedPayment.created_at, UnappliedPayment.amount_minor.desc())).all()


def _overpay(client, invoice, suffix):
    """Stripe's events of one card payment of $3,000.00 for the invoice."""
    paid = adapted("payment_intent.succeeded", invoice, suffix=suffix,
                   amount=OVERPAID, amount_received=OVERPAID)
    session = adapted("checkout.session.async_payment_succeeded", invoice, suffix=suffix,
                      amount_total=OVERPAID, amount_subtotal=OVERPAID)
    for event in (paid, session):
        assert post(client, event).status_code == 200
    work_all()
    return paid


def test_an_overpayment_becomes_a_task_for_an_admin_and_is_refunded_once(
        app, client, factory, db_session, secret, monkeypatch):  # noqa: F811
    import stripe

    from tests.stripe_api_fake import FakeStripeAPI

    admin = factory.user(UserRole.ADMIN, first_name="Ada", last_name="Admin")
    invoice, _ = make_invoice(factory, company_name="Cool Breeze Heating & Air")
    paid = _overpay(client, invoice, "ov")
    intent = paid["data"]["object"]["id"]

    # refused as before: the invoice is untouched, the event says why
    stored = db_session.scalar(select(WebhookEvent).where(WebhookEvent.provider_event_id == paid["id"]))
    assert "more than the balance" in stored.error
    db_session.refresh(invoice)
    assert payments_of(db_session, invoice) == [] and invoice.status is InvoiceStatus.SENT
    # ... and it reaches a person: one row and one task for the two events of the payment
    [held] = _ledger(db_session, intent)
    assert (held.amount_minor, held.currency, held.invoice_id) == (OVERPAID, "usd", invoice.id)
    [task] = db_session.scalars(select(Task).where(Task.company_id == invoice.company_id)).all()
    assert task.assigned_to_id == admin.id and not task.is_completed and held.task_id == task.id
    assert "$3,000.00" in task.title and "Cool Breeze Heating & Air" in task.title
    assert "more than the balance" in task.description and invoice.invoice_number in task.description

    # a rep sees it on the invoice and in the list, with the refund disabled and why;
    # a forged refund is refused
    login(client, factory.user(UserRole.REP))
    assert "Stripe took $3,000.00 for this invoice" in client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    page = client.get("/invoices/unapplied").get_data(as_text=True)
    assert "Cool Breeze Heating &amp; Air" in page and "$3,000.00" in page
    assert 'disabled aria-describedby="refund-reason"' in page
    assert client.post(f"/invoices/unapplied/{held.id}/refund",
                       data={"csrf_token": csrf_token(client, app)}).status_code == 403

    # the admin refunds through the Stripe SDK, twice (a double click): one refund at Stripe
    api = FakeStripeAPI().start()
    charge = adapted("charge.refunded", invoice, suffix="ov")["data"]["object"]["id"]
    api.payment_intents[intent] = {"amount": OVERPAID, "currency": "usd", "latest_charge": charge}
    try:
        monkeypatch.setattr(stripe, "api_base", api.url)
        monkeypatch.setitem(app.config, "PAYMENTS_BACKEND", "stripe")
        monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_fake")
        login(client, admin)
        assert 'disabled aria-describedby="refund-reason"' not in client.get("/invoices/unapplied").get_data(as_text=True)
        for _ in range(2):
            response = client.post(f"/invoices/unapplied/{held.id}/refund",
                                   data={"csrf_token": csrf_token(client, app)})
            assert response.status_code == 303
    finally:
        api.stop()
    first, second = api.calls("/v1/refunds")
    assert first["form"] == second["form"]
    assert first["form"]["payment_intent"] == intent and first["form"]["amount"] == str(OVERPAID)
    assert first["form"]["metadata[invoice_id]"] == str(invoice.id)
    assert first["headers"]["Idempotency-Key"] == second["headers"]["Idempotency-Key"]
    assert api.refunded[intent] == OVERPAID  # one refund, not two
    assert len(_ledger(db_session, intent)) == 1  # nothing recorded before Stripe confirms

    # Stripe confirms; a redelivery (and a second event of the same state) records nothing more
    confirmed = adapted("charge.refunded", invoice, suffix="ov", amount=OVERPAID, amount_captured=OVERPAID,
                        amount_refunded=OVERPAID, refunded=True)
    again = dict(confirmed, id=confirmed["id"] + "_again")
    for event in (confirmed, confirmed, again):
        assert post(client, event).status_code == 200
    work_all()
    received, refund = _ledger(db_session, intent)
    assert refund.amount_minor == -OVERPAID and refund.stripe_key == f"{charge}:refund:{OVERPAID}"
    db_session.refresh(task)
    db_session.refresh(invoice)
    assert task.is_completed
    assert payments_of(db_session, invoice) == [] and invoice.status is InvoiceStatus.SENT
    events = db_session.scalars(select(WebhookEvent).where(
        WebhookEvent.provider_event_id.in_([confirmed["id"], again["id"]]))).all()
    assert len(events) == 2 and all(e.processed_at and e.error is None for e in events)
    assert "Stripe took" not in client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    page = client.get("/invoices/unapplied").get_data(as_text=True)
    assert "Refunded</span>" in page and f"/invoices/unapplied/{held.id}/refund" not in page
    # a third click: nothing left to refund, Stripe is not asked
    client.post(f"/invoices/unapplied/{held.id}/refund", data={"csrf_token": csrf_token(client, app)})
    assert len(api.calls("/v1/refunds")) == 2


@pytest.mark.parametrize("changes, reason", [
    ({"currency": "eur"}, "currency"),
    ({"metadata": {"invoice_id": "not-ours"}}, "invoice_id"),
])
def test_other_currencies_and_unknown_invoices_are_held_too(
        client, factory, db_session, secret, changes, reason):  # noqa: F811
    factory.user(UserRole.ADMIN)
    invoice, _ = make_invoice(factory)
    event = adapted("payment_intent.succeeded", invoice, suffix="x" + reason[:3], **changes)
    assert post(client, event).status_code == 200
    work_all()
    [held] = _ledger(db_session, event["data"]["object"]["id"])
    assert reason in held.reason
    task = db_session.get(Task, held.task_id)
    assert reason in task.description and "2,304.90" in task.title


def test_the_sandbox_refunds_through_the_real_webhook(app, client, factory, db_session, secret, monkeypatch):  # noqa: F811
    """Offline: the sandbox backend's refund posts a Stripe-signed `charge.refunded` to
    /webhooks/stripe (through the test client), which records the refund."""
    from app.integrations import sandbox_checkout

    def post_event(url, payload, signature, timeout=10.0):
        assert url.endswith("/webhooks/stripe")
        return client.post("/webhooks/stripe", data=payload, headers={"Stripe-Signature": signature}).status_code

    monkeypatch.setattr(sandbox_checkout, "post_event", post_event)
    monkeypatch.setitem(app.config, "PAYMENTS_BACKEND", "sandbox")
    admin = factory.user(UserRole.ADMIN)
    invoice, _ = make_invoice(factory)
    paid = _overpay(client, invoice, "sb")
    [held] = _ledger(db_session, paid["data"]["object"]["id"])
    login(client, admin)
    for _ in range(2):
        assert client.post(f"/invoices/unapplied/{held.id}/refund",
                           data={"csrf_token": csrf_token(client, app)}).status_code == 303
    work_all()
    received, refund = _ledger(db_session, held.payment_intent_id)
    assert refund.amount_minor == -OVERPAID
    assert db_session.get(Task, held.task_id).is_completed


def test_the_unapplied_ledger_is_append_only(client, factory, db_session, secret):  # noqa: F811
    factory.user(UserRole.ADMIN)
    invoice, _ = make_invoice(factory)
    paid = _overpay(client, invoice, "ao")
    [held] = _ledger(db_session, paid["data"]["object"]["id"])
    with pytest.raises(DBAPIError, match="append-only"), db_session.begin_nested():
        db_session.execute(UnappliedPayment.__table__.update().where(UnappliedPayment.id == held.id)
                           .values(amount_minor=1))
    with pytest.raises(DBAPIError, match="append-only"), db_session.begin_nested():
        db_session.execute(UnappliedPayment.__table__.delete().where(UnappliedPayment.id == held.id))


def test_a_payment_not_applied_stays_not_applied(app, client, factory, db_session, secret):  # noqa: F811
    """Its later events (a bank payment's) don't apply it after all, e.g. once an admin
    turned overpayment on: the money has one fate, the one the admin's task is about."""
    from app.billing.payments import set_payment_options

    admin = factory.user(UserRole.ADMIN)
    invoice, _ = make_invoice(factory)
    session = adapted("checkout.session.async_payment_succeeded", invoice, suffix="of",
                      amount_total=OVERPAID, amount_subtotal=OVERPAID)
    assert post(client, session).status_code == 200
    work_all()
    set_payment_options(invoice, actor=admin, allow_partial=False, allow_overpayment=True)
    db_session.commit()
    paid = adapted("payment_intent.succeeded", invoice, suffix="of", amount=OVERPAID, amount_received=OVERPAID)
    assert post(client, paid).status_code == 200
    work_all()
    assert payments_of(db_session, invoice) == []
    assert len(_ledger(db_session, paid["data"]["object"]["id"])) == 1
