"""POST /webhooks/stripe with the sample payloads (../shared/samples/stripe), adapted to a
test invoice and signed with a test secret; bad signatures; duplicates; concurrency."""
from __future__ import annotations

import copy
import json
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.activity.models import Activity
from app.billing.models import InvoiceStatus, Payment
from app.integrations.sandbox_checkout import encode_event, stripe_signature
from app.webhooks.models import WebhookEvent
from tests.conftest import committing_app
from tests.integration.test_payments import make_invoice, payments_of, work_all

SECRET = "whsec_test_0123456789abcdef"
SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "stripe"  # copies of ../shared/samples
SAMPLE_INVOICE_ID = "7d3f5a2e-9c41-4b8e-a6d2-3f1e8c9b0a57"
ORDER = ["checkout.session.completed", "payment_intent.succeeded",
         "checkout.session.async_payment_succeeded", "charge.refunded"]

# The README's test vectors: (file, t, v1) with secret whsec_sampleOnly0NotARealSecret0000000.
VECTORS = [
    ("checkout.session.completed.json", 1794939753,
     "60856eed9d616f512199c4ba1f69491dc3ff03c3b5c3fdb98361b8ad3a98823d"),
    ("charge.refunded.json", 1795279229,
     "fc38361d57638076592f651f594a9e7df99cd2b5abb162a751c50853f190785d"),
]


def sample(name: str) -> dict:
    path = SAMPLES / f"{name}.json"
    if not path.exists():
        pytest.fail(f"sample {path} is missing")
    return json.loads(path.read_text())


def adapted(name: str, invoice, *, suffix: str = "", **changes) -> dict:
    """The sample event with our invoice's id (and unique ids per test)."""
    event = copy.deepcopy(sample(name))
    raw = json.dumps(event).replace(SAMPLE_INVOICE_ID, str(invoice.id))
    for old in ("pi_3ST7kQHf2mXv9Lp01aB4cD7e", "py_3ST7kQHf2mXv9Lp01xY6zQ2w"):
        raw = raw.replace(old, f"{old}{suffix}")
    event = json.loads(raw)
    event["id"] = f"{event['id']}{suffix}"
    event["data"]["object"].update(changes)
    return event


def signed(event: dict, *, secret: str = SECRET, timestamp: int | None = None) -> tuple[bytes, dict]:
    body = encode_event(event)
    return body, {"Stripe-Signature": stripe_signature(body, secret, timestamp),
                  "Content-Type": "application/json"}


def post(client, event: dict, **kw):
    body, headers = signed(event, **kw)
    return client.post("/webhooks/stripe", data=body, headers=headers)


@pytest.fixture
def secret(app, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", SECRET)
    return SECRET


def stored_count(session) -> int:
    return session.scalar(select(func.count()).select_from(WebhookEvent))


@pytest.mark.parametrize("name, t, v1", VECTORS)
def test_our_signer_reproduces_the_sample_vectors(name, t, v1):
    path = SAMPLES / name
    if not path.exists():
        pytest.fail("samples missing")
    header = stripe_signature(path.read_bytes(), "whsec_sampleOnly0NotARealSecret0000000", t)
    assert header == f"t={t},v1={v1}"


def test_the_sample_story_pays_once_then_refunds(client, factory, db_session, secret):
    invoice, _ = make_invoice(factory)  # $2,304.90, as in the samples
    for name in ORDER[:3]:
        response = post(client, adapted(name, invoice, suffix="a"))
        assert response.status_code == 200, response.get_data(as_text=True)
        work_all()
        if name == "checkout.session.completed":  # ACH: "unpaid" -> nothing yet
            assert payments_of(db_session, invoice) == []
    db_session.refresh(invoice)
    [payment] = payments_of(db_session, invoice)
    assert payment.amount == Decimal("2304.90") and payment.stripe_payment_id.startswith("pi_")
    assert invoice.status is InvoiceStatus.PAID and invoice.paid_at is not None
    assert post(client, adapted("charge.refunded", invoice, suffix="a")).status_code == 200
    work_all()
    db_session.refresh(invoice)
    amounts = [p.amount for p in payments_of(db_session, invoice)]
    assert amounts == [Decimal("2304.90"), Decimal("-158.00")]
    assert invoice.status is InvoiceStatus.PARTIAL and invoice.balance_due == Decimal("158.00")
    events = db_session.scalars(select(WebhookEvent).where(WebhookEvent.provider_event_id.like("%a"))).all()
    assert len(events) == 4 and all(e.processed_at and e.error is None for e in events)


def test_a_duplicate_delivery_is_acknowledged_and_stores_nothing(client, factory, db_session, secret):
    invoice, _ = make_invoice(factory)
    event = adapted("payment_intent.succeeded", invoice, suffix="d")
    before = stored_count(db_session)
    assert post(client, event).get_json() == {"received": True, "duplicate": False, "requeued": False}
    # not processed yet: the redelivery asks for its (one) job again
    assert post(client, event).get_json() == {"received": True, "duplicate": True, "requeued": True}
    assert stored_count(db_session) == before + 1
    work_all()
    work_all()
    assert len(payments_of(db_session, invoice)) == 1
    assert post(client, event).get_json() == {"received": True, "duplicate": True, "requeued": False}


def test_refused_deliveries_store_nothing(client, factory, db_session, secret):
    invoice, _ = make_invoice(factory)
    event = adapted("payment_intent.succeeded", invoice, suffix="r")
    before = stored_count(db_session)
    body, headers = signed(event, secret="whsec_wrong")
    assert client.post("/webhooks/stripe", data=body, headers=headers).status_code == 400
    body, headers = signed(event, timestamp=int(time.time()) - 301)  # too old
    assert client.post("/webhooks/stripe", data=body, headers=headers).status_code == 400
    body, headers = signed(event)
    reserialized = json.dumps(json.loads(body), indent=2).encode()  # same JSON, other bytes
    assert client.post("/webhooks/stripe", data=reserialized, headers=headers).status_code == 400
    assert client.post("/webhooks/stripe", data=body).status_code == 400  # no header
    assert client.post("/webhooks/stripe", data=body,
                       headers={"Stripe-Signature": "t=1,v1=zz"}).status_code == 400
    assert stored_count(db_session) == before
    assert payments_of(db_session, invoice) == []


@pytest.mark.parametrize("changes, reason", [
    ({"amount_received": 230491, "amount": 230491}, "more than the balance"),
    ({"currency": "eur"}, "currency"),
])
def test_a_payment_that_does_not_fit_marks_the_event_and_changes_nothing(
        client, factory, db_session, secret, changes, reason):
    invoice, _ = make_invoice(factory)
    event = adapted("payment_intent.succeeded", invoice, suffix="m", **changes)
    assert post(client, event).status_code == 200
    work_all()
    stored = db_session.scalar(select(WebhookEvent).where(WebhookEvent.provider_event_id == event["id"]))
    assert reason in stored.error and stored.processed_at is not None
    db_session.refresh(invoice)
    assert payments_of(db_session, invoice) == [] and invoice.status is InvoiceStatus.SENT
    note = db_session.scalar(select(Activity).where(Activity.activity_type == "payment.rejected",
                                                    Activity.company_id == invoice.company_id))
    assert note is not None and invoice.invoice_number in note.summary


def test_unknown_invoice_and_other_event_types(client, factory, db_session, secret):
    invoice, _ = make_invoice(factory)
    event = adapted("payment_intent.succeeded", invoice, suffix="u")
    event["data"]["object"]["metadata"] = {"invoice_id": "not-a-uuid"}
    other = adapted("payment_intent.succeeded", invoice, suffix="o")
    other["type"] = "customer.created"
    assert post(client, event).status_code == 200 and post(client, other).status_code == 200
    work_all()
    rows = {e.provider_event_id: e for e in db_session.scalars(select(WebhookEvent).where(
        WebhookEvent.provider_event_id.in_([event["id"], other["id"]])))}
    assert "invoice_id" in rows[event["id"]].error and rows[other["id"]].error is None
    assert payments_of(db_session, invoice) == []


# ------------------------------------------------------------------ concurrency (own database)

@pytest.fixture(scope="module")
def committed_app(databases, redis_url):
    # (no RATELIMIT_ENABLED=False: Flask-Limiter's one limiter would stay off for every later test)
    with committing_app(databases, redis_url, "crm_webhook_race", STRIPE_WEBHOOK_SECRET=SECRET) as app:
        yield app


def test_five_concurrent_replays_of_every_event_make_one_payment(committed_app):
    from app.extensions import db
    from app.queue import redis_connection
    from tests.factories import Factory

    app = committed_app
    with app.app_context():
        invoice, _ = make_invoice(Factory(db.session))
        db.session.commit()
        invoice_id = invoice.id
        events = [adapted(name, invoice, suffix="c") for name in ORDER[:3]]
        events[0]["data"]["object"]["payment_status"] = "paid"  # a card: the session pays too
        db.session.remove()

    bodies = [signed(e) for e in events]
    barrier = threading.Barrier(5 * len(bodies))
    statuses: list[int] = []

    def deliver(body, headers):
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post("/webhooks/stripe", data=body, headers=headers).status_code)

    threads = [threading.Thread(target=deliver, args=b) for b in bodies for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a delivery is stuck"
    assert statuses == [200] * 15

    # The three stored events applied at the same time by three "workers".
    with app.app_context():
        ids = db.session.scalars(select(WebhookEvent.id).where(
            WebhookEvent.provider_event_id.in_([e["id"] for e in events]))).all()
        db.session.remove()
        assert len(ids) == 3
        redis_connection().flushdb()  # the enqueued jobs: applied by hand below, in parallel
    start = threading.Barrier(len(ids) * 2)
    errors: list[BaseException] = []

    def apply(event_id):
        from app.billing.jobs import apply_stripe_event

        with app.app_context():
            try:
                start.wait()
                apply_stripe_event(str(event_id))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    workers = [threading.Thread(target=apply, args=(i,)) for i in ids for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert not any(w.is_alive() for w in workers), "a worker is stuck (deadlock?)"
    assert errors == []
    with app.app_context():
        rows = db.session.scalars(select(Payment).where(Payment.invoice_id == invoice_id)).all()
        assert [p.amount for p in rows] == [Decimal("2304.90")]
        from app.billing.models import Invoice

        invoice = db.session.get(Invoice, invoice_id)
        assert invoice.status is InvoiceStatus.PAID and invoice.amount_paid == Decimal("2304.90")
        assert all(e.processed_at for e in db.session.scalars(
            select(WebhookEvent).where(WebhookEvent.id.in_(ids))))
        db.session.remove()


def test_the_stripe_backend_creates_checkout_with_metadata_and_idempotency_keys(
        app, client, factory, db_session, monkeypatch):
    """The `stripe` backend through the official SDK, against Stripe's API served on this
    machine (tests/stripe_api_fake.py): one Customer per company (idempotency key
    `company-<uuid>`, stored), a Checkout Session with card + us_bank_account, cents, and
    metadata.invoice_id on the Session and its PaymentIntent, as the SDK puts them on the wire."""
    import stripe

    from tests.integration.test_public_page import page_csrf, sign
    from tests.stripe_api_fake import FakeStripeAPI

    api = FakeStripeAPI().start()
    try:
        monkeypatch.setattr(stripe, "api_base", api.url)
        monkeypatch.setitem(app.config, "PAYMENTS_BACKEND", "stripe")
        monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_fake")
        invoice, token = make_invoice(factory)
        sign(client, token)
        redirects = []
        for _ in range(2):
            response = client.post(f"/pay/{token}/checkout", data={"csrf_token": page_csrf(client, token)})
            assert response.status_code == 303
            redirects.append(response.location)
    finally:
        api.stop()
    db_session.refresh(invoice)
    [customer] = api.calls("/v1/customers")  # the second checkout reuses the stored customer
    assert invoice.company.stripe_customer_id.startswith("cus_fake")
    assert customer["headers"]["Authorization"] == "Bearer sk_test_fake"
    assert customer["headers"]["Idempotency-Key"] == f"company-{invoice.company_id}"
    assert customer["form"]["metadata[company_id]"] == str(invoice.company_id)
    first, second = api.calls("/v1/checkout/sessions")
    wire = first["form"]
    assert wire["customer"] == invoice.company.stripe_customer_id and wire["mode"] == "payment"
    assert (wire["payment_method_types[0]"], wire["payment_method_types[1]"]) == ("card", "us_bank_account")
    assert wire["line_items[0][price_data][unit_amount]"] == "230490"
    assert wire["line_items[0][price_data][currency]"] == "usd"
    assert wire["metadata[invoice_id]"] == str(invoice.id) == wire["client_reference_id"]
    assert wire["payment_intent_data[metadata][invoice_id]"] == str(invoice.id)
    assert wire["success_url"].endswith(f"/pay/{token}/thanks")
    # the same attempt twice: the same key, so Stripe answers with the same Session
    assert first["headers"]["Idempotency-Key"] == second["headers"]["Idempotency-Key"]
    assert redirects[0] == redirects[1] and redirects[0].startswith("https://checkout.stripe.com/c/pay/cs_test_fake")


def test_a_stripe_outage_tells_the_customer_and_changes_nothing(app, client, factory, db_session, monkeypatch):
    import stripe

    from tests.integration.test_public_page import page_csrf, sign
    from tests.stripe_api_fake import FakeStripeAPI

    api = FakeStripeAPI().start()
    try:
        monkeypatch.setattr(stripe, "api_base", api.url)
        monkeypatch.setattr(stripe, "max_network_retries", 0)  # (the SDK would retry a 500 itself)
        monkeypatch.setitem(app.config, "PAYMENTS_BACKEND", "stripe")
        monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_fake")
        invoice, token = make_invoice(factory)
        sign(client, token)
        api.failing["/v1/checkout/sessions"] = 1  # the Customer is created, the Session fails
        down = client.post(f"/pay/{token}/checkout", data={"csrf_token": page_csrf(client, token)})
        assert down.status_code == 503
        assert "Nothing was charged" in down.get_data(as_text=True)
        db_session.refresh(invoice)
        assert invoice.company.stripe_customer_id is None and invoice.status is InvoiceStatus.SENT
        up = client.post(f"/pay/{token}/checkout", data={"csrf_token": page_csrf(client, token)})
        assert up.status_code == 303 and up.location.startswith("https://checkout.stripe.com/")
    finally:
        api.stop()
    # the retry asked for the Customer again with the same key: Stripe answered with the same one
    first, again = api.calls("/v1/customers")
    assert first["headers"]["Idempotency-Key"] == again["headers"]["Idempotency-Key"]
    db_session.refresh(invoice)
    assert invoice.company.stripe_customer_id and invoice.status is InvoiceStatus.SENT
