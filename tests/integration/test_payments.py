"""Payments: the ledger on real rows, manual payments, Stripe payments and refunds,
the append-only guard, and the rep's send / revoke / record routes."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from rq import SimpleWorker
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.activity.models import Activity
from app.auth.models import UserRole
from app.billing.models import (
    AgreementTemplate,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    Product,
    ProductType,
)
from app.billing.payments import (
    PaymentMismatch,
    PaymentNotYetRecorded,
    PaymentRefused,
    record_manual_payment,
    record_stripe_payment,
    record_stripe_refund,
    set_payment_options,
)
from app.queue import QUEUES, get_queue, redis_connection
from tests.factories import csrf_token, login

AGREEMENT = (
    "SERVICE AGREEMENT\n\nEffective {{effective_date}} between GPS Leaders LLC and {{company_name}}.\n"
    "Provider supplies {{device_count}} device(s) at {{monthly_rate}} per device per month "
    "for {{contract_term}}.\n"
)


def _product(session, name, price, category, type_):
    product = Product(qb_item_id=f"t-{uuid.uuid4().hex[:10]}", name=name, unit_price=Decimal(price),
                      category=category, type=type_)
    session.add(product)
    session.flush()
    return product


def make_invoice(factory, *, devices=22, device_price="79.00", monthly="24.95", shipping="18.00",
                 agreement=True, send=True, company_name=None, actor=None):
    """An invoice built through the invoice services: `devices` trackers, one month of
    service per device, shipping. Defaults: the samples' $2,304.90 (230490 cents).
    Returns (invoice, token or None)."""
    from app.billing import invoices as svc
    from app.billing.sending import send_invoice
    from app.billing.totals import recompute_invoice

    session = factory.session
    company = factory.company(**({"name": company_name} if company_name else {}))
    contact = factory.contact(company)
    lead = factory.lead(company, contact)
    actor = actor or factory.user(UserRole.REP)
    invoice = svc.create_invoice(company, actor=actor, lead=lead)
    tracker = _product(session, "GL300 4G LTE GPS Tracker", device_price, "Hardware", ProductType.ONE_TIME)
    svc.add_line(invoice, actor=actor, product=tracker, quantity=devices, unit_price=None)
    if monthly:
        plan = _product(session, "Fleet Tracking Service - Monthly", monthly, "Service Plans",
                        ProductType.RECURRING)
        svc.add_line(invoice, actor=actor, product=plan, quantity=devices, unit_price=None)
    if agreement:
        template = AgreementTemplate(slug=f"t-{uuid.uuid4().hex[:10]}", name="GPS Tracking Service Agreement",
                                     body=AGREEMENT, variables=["company_name", "device_count"])
        session.add(template)
        invoice.agreement_template = template
    invoice.shipping_cost = Decimal(shipping) if shipping else None
    recompute_invoice(invoice)
    session.flush()
    token = None
    if send:
        token = send_invoice(invoice, actor=actor).rsplit("/", 1)[1]
    session.commit()  # a view that rolls back a refused change must not undo the fixture
    return invoice, token


def work_all():
    SimpleWorker([get_queue(n) for n in QUEUES], connection=redis_connection()).work(burst=True)


def payments_of(session, invoice):
    return session.scalars(select(Payment).where(Payment.invoice_id == invoice.id)
                           .order_by(Payment.paid_at, Payment.created_at)).all()


# ------------------------------------------------------------------ the ledger

def test_the_sample_invoice_totals(factory):
    invoice, _ = make_invoice(factory)
    assert invoice.total == Decimal("2304.90")
    assert invoice.balance_due == Decimal("2304.90")
    assert invoice.status is InvoiceStatus.SENT


def test_manual_payments_move_the_invoice_to_partial_then_paid(factory, db_session):
    invoice, _ = make_invoice(factory)
    rep = factory.user()
    record_manual_payment(invoice, actor=rep, amount="1000.00", method="CHECK", reference="1042")
    assert (invoice.amount_paid, invoice.balance_due) == (Decimal("1000.00"), Decimal("1304.90"))
    assert invoice.status is InvoiceStatus.PARTIAL and invoice.paid_at is None
    record_manual_payment(invoice, actor=rep, amount=Decimal("1304.90"), method=PaymentMethod.WIRE)
    assert invoice.status is InvoiceStatus.PAID and invoice.paid_at is not None
    assert invoice.balance_due == Decimal("0.00")
    kinds = db_session.scalars(select(Activity.activity_type).where(
        Activity.company_id == invoice.company_id, Activity.activity_type == "payment.recorded")).all()
    assert len(kinds) == 2


@pytest.mark.parametrize("amount, message", [
    ("2304.91", "more than the balance due"),
    ("0", r"more than \$0\.00"),
    ("-5.00", r"more than \$0\.00"),
    ("10.005", "whole cents"),
    ("ten", "as a number"),
    ("NaN", "as a number"),
])
def test_manual_payment_refusals_change_nothing(factory, db_session, amount, message):
    invoice, _ = make_invoice(factory)
    with pytest.raises(PaymentRefused, match=message):
        record_manual_payment(invoice, actor=factory.user(), amount=amount, method="CASH")
    assert payments_of(db_session, invoice) == []
    assert invoice.amount_paid == Decimal("0.00") and invoice.status is InvoiceStatus.SENT


def test_overpayment_only_when_the_invoice_allows_it(factory):
    invoice, _ = make_invoice(factory)
    rep = factory.user()
    set_payment_options(invoice, actor=rep, allow_partial=False, allow_overpayment=True)
    record_manual_payment(invoice, actor=rep, amount="2400.00", method="CHECK")
    assert invoice.balance_due == Decimal("-95.10") and invoice.status is InvoiceStatus.PAID


def test_card_payments_are_not_recorded_by_hand_and_void_invoices_take_nothing(factory, db_session):
    invoice, _ = make_invoice(factory)
    with pytest.raises(PaymentRefused, match="Stripe"):
        record_manual_payment(invoice, actor=factory.user(), amount="10.00", method="STRIPE")
    invoice.status = InvoiceStatus.VOID
    db_session.flush()
    with pytest.raises(PaymentRefused, match="void"):
        record_manual_payment(invoice, actor=factory.user(), amount="10.00", method="CASH")


def test_payments_are_append_only_in_the_database(factory, db_session):
    invoice, _ = make_invoice(factory)
    payment = record_manual_payment(invoice, actor=factory.user(), amount="10.00", method="CASH")
    for statement in ("UPDATE payments SET amount = 1 WHERE id = :id",
                      "DELETE FROM payments WHERE id = :id"):
        nested = db_session.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            db_session.execute(text(statement), {"id": payment.id})
        nested.rollback()
    db_session.execute(text("UPDATE payments SET qb_payment_id = '1203' WHERE id = :id"), {"id": payment.id})


def test_stripe_payment_is_recorded_once_per_payment_intent(factory, db_session):
    invoice, _ = make_invoice(factory)
    first = record_stripe_payment(invoice.id, payment_intent_id="pi_test_1", amount_cents=230490,
                                  currency="usd")
    again = record_stripe_payment(invoice.id, payment_intent_id="pi_test_1", amount_cents=230490,
                                  currency="usd")
    assert first is not None and again is None
    assert invoice.status is InvoiceStatus.PAID and len(payments_of(db_session, invoice)) == 1


@pytest.mark.parametrize("cents, currency, message", [
    (230491, "usd", "more than the balance"),
    (230490, "eur", "currency"),
    (0, "usd", "more than \\$0.00"),
    ("230490", "usd", "integer"),
])
def test_stripe_payments_that_do_not_fit_change_nothing(factory, db_session, cents, currency, message):
    invoice, _ = make_invoice(factory)
    with pytest.raises(PaymentMismatch, match=message):
        record_stripe_payment(invoice.id, payment_intent_id="pi_x", amount_cents=cents, currency=currency)
    assert payments_of(db_session, invoice) == [] and invoice.status is InvoiceStatus.SENT


def _refund(invoice, total_cents, charge="py_test_1"):
    return record_stripe_refund(invoice.id, charge_id=charge, payment_intent_id="pi_test_1",
                                amount_refunded_cents=total_cents, charge_amount_cents=230490,
                                currency="usd", refunded_at=datetime.now(UTC))


def test_refunds_are_new_negative_rows_in_any_order_and_once(factory, db_session):
    invoice, _ = make_invoice(factory)
    record_stripe_payment(invoice.id, payment_intent_id="pi_test_1", amount_cents=230490, currency="usd")
    assert _refund(invoice, 15800).amount == Decimal("-158.00")
    assert _refund(invoice, 15800) is None  # duplicate delivery
    assert invoice.status is InvoiceStatus.PARTIAL and invoice.balance_due == Decimal("158.00")
    assert _refund(invoice, 31600).amount == Decimal("-158.00")  # the second refund, cumulative
    assert _refund(invoice, 15800) is None  # an older state, delivered late
    assert invoice.amount_paid == Decimal("2146.90") - Decimal("158.00")
    assert sum(p.amount for p in payments_of(db_session, invoice)) == invoice.amount_paid


def test_a_late_older_refund_event_adds_nothing(factory, db_session):
    invoice, _ = make_invoice(factory)
    record_stripe_payment(invoice.id, payment_intent_id="pi_test_1", amount_cents=230490, currency="usd")
    assert _refund(invoice, 31600).amount == Decimal("-316.00")  # newest state first
    assert _refund(invoice, 15800) is None
    assert invoice.amount_paid == Decimal("1988.90")


def test_a_refund_before_its_payment_waits_and_a_refund_above_it_is_refused(factory):
    invoice, _ = make_invoice(factory)
    with pytest.raises(PaymentNotYetRecorded):
        _refund(invoice, 15800)
    record_stripe_payment(invoice.id, payment_intent_id="pi_test_1", amount_cents=100000, currency="usd")
    with pytest.raises(PaymentMismatch):
        _refund(invoice, 100001)


def test_void_stays_void_and_unsent_is_draft(factory, db_session):
    from app.billing.payments import apply_payments

    invoice, _ = make_invoice(factory, send=False)
    assert invoice.status is InvoiceStatus.DRAFT
    invoice.status = InvoiceStatus.VOID
    apply_payments(invoice)
    assert invoice.status is InvoiceStatus.VOID


# ------------------------------------------------------------------ the rep's routes

def test_send_stores_only_a_hash_and_emails_the_link_through_the_outbox(app, client, factory, db_session):
    from app.integrations.models import OutboxMessage

    invoice, _ = make_invoice(factory, send=False)
    rep = factory.user(UserRole.REP)
    login(client, rep)
    response = client.post(f"/invoices/{invoice.id}/send", data={"csrf_token": csrf_token(client, app)})
    assert response.status_code == 303
    assert invoice.status is InvoiceStatus.SENT and invoice.sent_at is not None
    assert len(invoice.payment_token) == 64  # a SHA-256, not the token
    assert get_queue("mail").count == 1
    work_all()
    message = db_session.scalar(select(OutboxMessage).where(OutboxMessage.invoice_id == invoice.id))
    assert invoice.invoice_number in message.subject
    link = next(word for word in message.body_text.split() if "/pay/" in word)
    token = link.rsplit("/", 1)[1]
    assert len(token) >= 43 and token not in invoice.payment_token
    assert client.get(f"/pay/{token}").status_code == 200
    work_all()  # a re-run of the mail job adds nothing
    assert len(db_session.scalars(select(OutboxMessage).where(OutboxMessage.invoice_id == invoice.id)).all()) == 1
    page = client.get("/outbox")
    assert page.status_code == 200 and invoice.invoice_number in page.get_data(as_text=True)
    assert client.get(f"/outbox/{message.id}").status_code == 200
    assert db_session.scalar(select(Activity).where(Activity.activity_type == "invoice.sent",
                                                    Activity.company_id == invoice.company_id))


def test_revoke_and_reissue_links(app, client, factory):
    invoice, token = make_invoice(factory)
    login(client, factory.user(UserRole.REP))
    assert client.post(f"/invoices/{invoice.id}/link/revoke",
                       data={"csrf_token": csrf_token(client, app)}).status_code == 303
    assert invoice.payment_token is None
    assert client.get(f"/pay/{token}").status_code == 404
    client.post(f"/invoices/{invoice.id}/send", data={"csrf_token": csrf_token(client, app)})
    assert invoice.payment_token is not None
    assert client.get(f"/pay/{token}").status_code == 404  # the old link stays dead


def test_send_refuses_empty_invoices_and_operators(app, client, factory, db_session):
    from app.billing import invoices as svc

    company = factory.company()
    factory.contact(company)
    empty = svc.create_invoice(company, actor=factory.user())
    rep, operator = factory.user(UserRole.REP), factory.user(UserRole.OPERATOR)
    db_session.commit()
    login(client, rep)
    response = client.post(f"/invoices/{empty.id}/send", data={"csrf_token": csrf_token(client, app)})
    assert response.status_code == 422 and empty.payment_token is None
    login(client, operator)
    assert client.post(f"/invoices/{empty.id}/send",
                       data={"csrf_token": csrf_token(client, app)}).status_code == 403
    assert client.get("/outbox").status_code == 403


def test_record_payment_route(app, client, factory, db_session):
    invoice, _ = make_invoice(factory)
    rep = factory.user(UserRole.ADMIN)  # manual payments are an admin's (test_billing_roles)
    db_session.commit()
    login(client, rep)
    url = f"/invoices/{invoice.id}/payments"
    bad = client.post(url, data={"csrf_token": csrf_token(client, app), "amount": "9999.00",
                                 "method": "CHECK"}, headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "more than the balance due" in bad.get_data(as_text=True)
    assert payments_of(db_session, invoice) == []
    ok = client.post(url, data={"csrf_token": csrf_token(client, app), "amount": "2304.90",
                                "method": "CHECK", "reference": "1042"})
    assert ok.status_code == 303 and invoice.status is InvoiceStatus.PAID
    assert client.get(f"/invoices/{invoice.id}/sharing").status_code == 200
    assert client.get(f"/invoices/{invoice.id}/certificate").status_code == 404  # not signed


def test_a_fully_refunded_invoice_stays_locked_and_can_be_reissued(factory, db_session):
    from app.billing.invoices import lock_reason, reissue_invoice

    invoice, _ = make_invoice(factory)
    record_stripe_payment(invoice.id, payment_intent_id="pi_test_1", amount_cents=230490, currency="usd")
    _refund(invoice, 230490)
    assert invoice.amount_paid == Decimal("0.00") and invoice.status is InvoiceStatus.SENT
    assert "paid and refunded" in lock_reason(invoice)
    # a partial payment refunded before the invoice was ever paid in full: locked too
    other, _ = make_invoice(factory)
    record_stripe_payment(other.id, payment_intent_id="pi_test_2", amount_cents=1000, currency="usd")
    record_stripe_refund(other.id, charge_id="py_test_2", payment_intent_id="pi_test_2", amount_refunded_cents=1000,
                         charge_amount_cents=1000, currency="usd", refunded_at=datetime.now(UTC))
    assert other.paid_at is None and "paid and refunded" in lock_reason(other)
    copy = reissue_invoice(invoice, actor=factory.user())
    assert invoice.status is InvoiceStatus.VOID and lock_reason(copy) is None
