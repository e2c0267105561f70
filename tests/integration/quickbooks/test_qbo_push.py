"""Pushes to QuickBooks through python-quickbooks against the local QuickBooks: the ledger row
written with its change, customers matched before created, invoices and payments once,
requestid replays, the stale SyncToken path, 429 back-off."""
from __future__ import annotations

import json
import time
from decimal import Decimal

from sqlalchemy import func, select

from app.billing.models import InvoiceStatus, PaymentMethod
from app.extensions import db
from app.quickbooks import limits, push
from app.quickbooks.models import LedgerEntity, LedgerOperation, LedgerState, SyncLedgerRow
from tests.integration.test_payments import make_invoice


def _rows(entity=None):
    stmt = select(SyncLedgerRow).order_by(SyncLedgerRow.created_at)
    if entity is not None:
        stmt = stmt.where(SyncLedgerRow.entity == entity)
    return list(db.session.scalars(stmt))


def _row(entity, local_id, operation=LedgerOperation.CREATE):
    return db.session.scalar(select(SyncLedgerRow).where(SyncLedgerRow.entity == entity,
                                                         SyncLedgerRow.local_id == local_id,
                                                         SyncLedgerRow.operation == operation))


def test_nothing_is_recorded_while_quickbooks_is_not_connected(db_session, factory, qbo_config):
    make_invoice(factory)
    assert _rows() == []


def test_sending_an_invoice_writes_customer_and_invoice_rows_in_its_transaction(db_session, factory, connected):
    from app.billing.sending import send_invoice

    invoice, _ = make_invoice(factory, send=False)
    savepoint = db.session.begin_nested()
    send_invoice(invoice, actor=factory.user())
    assert {r.entity for r in _rows()} == {LedgerEntity.CUSTOMER, LedgerEntity.INVOICE}
    savepoint.rollback()  # the change rolled back: no ledger row, no job
    assert _rows() == []
    from app.job_outbox.models import OutboxJob
    assert db.session.scalar(select(func.count()).select_from(OutboxJob).where(
        OutboxJob.func == "app.quickbooks.jobs.push_row")) == 0

    send_invoice(invoice, actor=factory.user())
    db.session.commit()
    rows = _rows()
    assert [(r.entity, r.state) for r in rows] == [(LedgerEntity.CUSTOMER, LedgerState.PENDING),
                                                   (LedgerEntity.INVOICE, LedgerState.PENDING)]
    assert all(r.request_id == str(r.id) for r in rows)
    jobs = db.session.scalars(select(OutboxJob).where(OutboxJob.func == "app.quickbooks.jobs.push_row")).all()
    assert sorted(j.args["args"][0] for j in jobs) == sorted(str(r.id) for r in rows)


def test_invoice_and_payment_pushed_once_with_the_customer_first(db_session, factory, connected, fake_qbo):
    from app.billing.payments import record_manual_payment

    invoice, _ = make_invoice(factory)
    invoice_row = _row(LedgerEntity.INVOICE, invoice.id)
    assert push.process_row(invoice_row.id) == "synced"  # pushes the customer first, in the same job
    db.session.refresh(invoice)
    customer = fake_qbo.objects["Customer"][invoice.company.qb_customer_id]
    assert customer["DisplayName"] == invoice.company.name
    assert f"CRM account {invoice.company_id}" in customer["Notes"]
    remote = fake_qbo.objects["Invoice"][invoice.qb_invoice_id]
    assert remote["DocNumber"] == invoice.invoice_number
    assert remote["CustomerRef"]["value"] == invoice.company.qb_customer_id
    assert Decimal(str(remote["TotalAmt"])) == invoice.subtotal + (invoice.shipping_cost or 0)
    assert remote["Line"][-1]["SalesItemLineDetail"]["ItemRef"]["value"] == "SHIPPING_ITEM_ID"
    assert [line["SalesItemLineDetail"]["ItemRef"]["value"] for line in remote["Line"][:-1]] == \
        [line.product_code for line in invoice.line_items]
    assert _row(LedgerEntity.CUSTOMER, invoice.company_id).state is LedgerState.SYNCED

    payment = record_manual_payment(invoice, actor=factory.user(), amount="100.00", method=PaymentMethod.CHECK,
                                    reference="CHK 1042")
    db.session.commit()
    payment_row = _row(LedgerEntity.PAYMENT, payment.id)
    assert push.process_row(payment_row.id) == "synced"
    assert push.process_row(payment_row.id) == "not due"  # a second delivery of the job
    remote_payment = fake_qbo.objects["Payment"][payment.qb_payment_id]
    assert remote_payment["Line"][0]["LinkedTxn"] == [{"TxnId": invoice.qb_invoice_id, "TxnType": "Invoice"}]
    assert remote_payment["TotalAmt"] == 100.0
    assert len(fake_qbo.objects["Payment"]) == 1 and len(fake_qbo.objects["Invoice"]) == 1
    assert len(fake_qbo.objects["Customer"]) == 1


def test_a_retried_create_sends_the_same_requestid_and_gets_the_original(db_session, factory, connected, fake_qbo):
    invoice, _ = make_invoice(factory)
    row = _row(LedgerEntity.CUSTOMER, invoice.company_id)
    assert push.process_row(row.id) == "synced"
    first_id = invoice.company.qb_customer_id
    # The worker died after QuickBooks made the customer, before our commit: nothing of it here.
    invoice.company.qb_customer_id = None
    row.state, row.remote_id = LedgerState.IN_FLIGHT, None
    # QuickBooks' search does not show the new customer yet: only the requestid can save us
    fake_qbo._query = lambda statement: {"QueryResponse": {}, "time": "2026-11-27T00:00:00Z"}
    db.session.commit()
    client = push.api()
    again = push.push_claimed(client, db.session.get(SyncLedgerRow, row.id))
    assert again == "synced"
    assert invoice.company.qb_customer_id == first_id
    creates = fake_qbo.api_requests("POST", "/customer")
    assert len(creates) == 2 and {c["args"]["requestid"] for c in creates} == {str(row.id)}
    assert len(fake_qbo.objects["Customer"]) == 1  # one QuickBooks object


def test_a_matching_customer_is_a_conflict_to_link_or_create(db_session, factory, connected, fake_qbo):
    from app.quickbooks import ledger

    existing = fake_qbo.add_customer("Cool Breeze Heating & Air", "tanya@coolbreezeaz.example.com")
    invoice, _ = make_invoice(factory, company_name="Cool Breeze Heating & Air")
    row = _row(LedgerEntity.CUSTOMER, invoice.company_id)
    assert push.process_row(row.id) == "conflict"
    db.session.refresh(row)
    assert row.state is LedgerState.CONFLICT
    assert row.conflict["candidates"][0]["id"] == existing["Id"]
    assert f"link to QuickBooks customer {existing['Id']} or create new" in row.last_error
    assert len(fake_qbo.objects["Customer"]) == 1  # never silently duplicated
    invoice_row = _row(LedgerEntity.INVOICE, invoice.id)
    assert push.process_row(invoice_row.id) == "waiting"  # the invoice waits for its customer

    ledger.resolve(row, choice="link", remote_id=existing["Id"], actor=None)
    db.session.commit()
    assert invoice.company.qb_customer_id == existing["Id"]
    db.session.execute(SyncLedgerRow.__table__.update().where(SyncLedgerRow.id == invoice_row.id)
                       .values(next_attempt_at=None))
    assert push.process_row(invoice_row.id) == "synced"
    assert fake_qbo.objects["Invoice"][invoice.qb_invoice_id]["CustomerRef"]["value"] == existing["Id"]
    assert len(fake_qbo.objects["Customer"]) == 1


def test_resolving_a_customer_conflict_by_creating_new(db_session, factory, connected, fake_qbo):
    from app.quickbooks import ledger

    fake_qbo.add_customer("Acme Fleet")
    invoice, _ = make_invoice(factory, company_name="Acme Fleet")
    row = _row(LedgerEntity.CUSTOMER, invoice.company_id)
    assert push.process_row(row.id) == "conflict"
    ledger.resolve(db.session.get(SyncLedgerRow, row.id), choice="create", actor=None)
    db.session.commit()
    assert push.process_row(row.id) == "synced"
    assert len(fake_qbo.objects["Customer"]) == 2
    assert fake_qbo.objects["Customer"][invoice.company.qb_customer_id]["DisplayName"].startswith("Acme Fleet (CRM ")


def test_a_taken_doc_number_is_a_conflict(db_session, factory, connected, fake_qbo):
    invoice, _ = make_invoice(factory)
    fake_qbo._create("Invoice", {"DocNumber": invoice.invoice_number, "Line": [], "PrivateNote": "typed by hand"})
    row = _row(LedgerEntity.INVOICE, invoice.id)
    assert push.process_row(row.id) == "conflict"
    db.session.refresh(row)
    assert "is taken in QuickBooks" in row.last_error and row.conflict["kind"] == "doc_number"
    assert len(fake_qbo.objects["Invoice"]) == 1


def test_a_stale_sync_token_is_read_again_and_retried_once_then_a_conflict(db_session, factory, connected, fake_qbo):
    from app.billing import invoices as svc

    invoice, _ = make_invoice(factory)
    assert push.process_row(_row(LedgerEntity.INVOICE, invoice.id).id) == "synced"
    remote_id = invoice.qb_invoice_id

    line = invoice.line_items[0]
    svc.update_line(invoice, line, actor=factory.user(), description=line.description, quantity=5,
                    unit_price=line.unit_price)
    db.session.commit()
    update_row = _row(LedgerEntity.INVOICE, invoice.id, LedgerOperation.UPDATE)
    fake_qbo.stale_next[f"Invoice:{remote_id}"] = 1  # someone saves it in QuickBooks meanwhile, once
    assert push.process_row(update_row.id) == "synced"
    assert [h["what"] for h in update_row.history].count("stale SyncToken (5010)") == 1
    assert fake_qbo.objects["Invoice"][remote_id]["Line"][0]["SalesItemLineDetail"]["Qty"] == 5
    sent_updates = [json.loads(r["body"]) for r in fake_qbo.api_requests("POST", "/invoice") if '"sparse": true' in r["body"]]
    assert len(sent_updates) == 2 and sent_updates[1]["SyncToken"] != sent_updates[0]["SyncToken"]

    svc.update_line(invoice, line, actor=factory.user(), description=line.description, quantity=6,
                    unit_price=line.unit_price)
    db.session.commit()
    second = db.session.scalar(select(SyncLedgerRow).where(SyncLedgerRow.operation == LedgerOperation.UPDATE,
                                                           SyncLedgerRow.state == LedgerState.PENDING))
    fake_qbo.stale_next[f"Invoice:{remote_id}"] = 2  # stale twice: a person decides
    assert push.process_row(second.id) == "conflict"
    assert fake_qbo.objects["Invoice"][remote_id]["Line"][0]["SalesItemLineDetail"]["Qty"] == 5  # never overwritten blindly


def test_void_in_the_crm_voids_in_quickbooks(db_session, factory, connected, fake_qbo):
    from app.billing import invoices as svc

    invoice, _ = make_invoice(factory)
    svc.void_invoice(invoice, actor=factory.user(), reason="wrong company")
    db.session.commit()
    assert invoice.status is InvoiceStatus.VOID
    void_row = _row(LedgerEntity.INVOICE, invoice.id, LedgerOperation.VOID)
    assert push.process_row(void_row.id) == "synced"  # creates it first (it was sent), then voids it
    remote = fake_qbo.objects["Invoice"][invoice.qb_invoice_id]
    assert remote["Voided"] is True
    assert [r["args"].get("operation") for r in fake_qbo.api_requests("POST", "/invoice")][-1] == "void"


def test_a_429_backs_off_at_least_60_seconds_for_every_worker(db_session, factory, connected, fake_qbo):
    invoice, _ = make_invoice(factory)
    row = _row(LedgerEntity.CUSTOMER, invoice.company_id)
    fake_qbo.throttle_next = 1
    before = time.time()
    assert push.process_row(row.id) == "throttled"
    db.session.refresh(row)
    assert row.state is LedgerState.PENDING and "rate limit" in row.last_error
    assert (row.next_attempt_at.timestamp() - before) >= 59
    realm = "9341455123456789"
    assert limits.backoff_until(realm) - before >= 60
    sent = len(fake_qbo.api_requests())
    assert push.process_row(row.id) == "not due"  # not before its time
    row.next_attempt_at = None
    db.session.commit()
    assert push.process_row(row.id) == "throttled"  # due, but the realm's back-off holds every worker
    assert len(fake_qbo.api_requests()) == sent  # QuickBooks was not asked during the back-off
    limits.redis_connection().delete(limits._keys(realm)[2])  # the minute has passed
    db.session.execute(SyncLedgerRow.__table__.update().where(SyncLedgerRow.id == row.id).values(next_attempt_at=None))
    assert push.process_row(row.id) == "synced"


def test_the_bucket_holds_a_realm_to_its_limits(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "QBO_REQUESTS_PER_SECOND", 10)
    monkeypatch.setitem(app.config, "QBO_REQUESTS_PER_MINUTE", 500)
    now = 1_000_000.0
    granted = sum(1 for _ in range(15) if limits.take("realm-a", now=now) == 0)
    assert granted == 10  # 10 a second
    assert limits.take("realm-b", now=now) == 0  # another realm has its own bucket
    assert 1.0 < limits.take("realm-a", now=now + 0.05) <= 1.5  # the 11th waits for the 1st to leave the window
    assert limits.take("realm-a", now=now + 1.51) == 0
    times, t = [], now + 1.51
    while t < now + 60:
        t += 0.05
        if limits.take("realm-a", now=t) == 0:
            times.append(t)
    everything = [now] * 10 + [now + 1.51] + times
    assert max(sum(1 for x in everything if s <= x < s + 1) for s in everything) <= 10  # any second
    assert len(everything) >= 390  # and close to 10 every 1.5 s

    monkeypatch.setitem(app.config, "QBO_REQUESTS_PER_SECOND", 1000)  # the minute's limit alone
    monkeypatch.setitem(app.config, "QBO_REQUESTS_PER_MINUTE", 500)
    later = now + 1000
    assert sum(1 for _ in range(520) if limits.take("realm-c", now=later) == 0) == 500
    assert 60 < limits.take("realm-c", now=later + 0.5) <= 61  # the 501st waits for the minute
    assert limits.take("realm-c", now=later + 61.01) == 0


def test_validation_faults_fail_with_quickbooks_message_and_are_not_retried(db_session, factory, connected, fake_qbo):
    invoice, _ = make_invoice(factory, company_name="Dup Name Co")
    row = _row(LedgerEntity.CUSTOMER, invoice.company_id)
    # QuickBooks refuses the create (a name it has, which its search did not show yet)
    original = fake_qbo._query
    fake_qbo._query = lambda statement: {"QueryResponse": {}, "time": "2026-11-27T00:00:00Z"}
    fake_qbo.add_customer("Dup Name Co")
    assert push.process_row(row.id) == "failed"
    fake_qbo._query = original
    db.session.refresh(row)
    assert row.state is LedgerState.FAILED and "Duplicate Name Exists Error" in row.last_error
    assert push.process_row(row.id) == "not due"


def test_a_stripe_payment_and_its_refund_are_a_payment_and_a_refund_receipt(db_session, factory, connected, fake_qbo):
    from app.billing.payments import record_stripe_payment, record_stripe_refund

    invoice, _ = make_invoice(factory, devices=1, monthly=None, shipping=None)  # $79.00
    payment = record_stripe_payment(invoice.id, payment_intent_id="pi_3ST7kQHf2mXv9Lp01aB4cD7e", amount_cents=7900,
                                    currency="usd", source="card")
    refund = record_stripe_refund(invoice.id, charge_id="ch_1", payment_intent_id="pi_3ST7kQHf2mXv9Lp01aB4cD7e",
                                  amount_refunded_cents=2000, charge_amount_cents=7900, currency="usd")
    db.session.commit()
    refund_row = _row(LedgerEntity.REFUND, refund.id)
    assert push.process_row(refund_row.id) == "synced"  # customer and invoice first, in the same job
    receipt = fake_qbo.objects["RefundReceipt"][refund.qb_payment_id]
    assert receipt["Line"][0]["Amount"] == 20.0 and receipt["CustomerRef"]["value"] == invoice.company.qb_customer_id
    assert str(refund.id) in receipt["PrivateNote"]
    # QBO_REFUND_ACCOUNT_ID unset: the company's Bank account, found once and kept on the connection
    assert receipt["DepositToAccountRef"] == {"value": "35"}
    assert db.session.get(type(connected), connected.id).refund_account_id == "35"
    assert len([r for r in fake_qbo.api_requests("POST", "/query") if "from Account" in r["body"]]) == 1
    assert push.process_row(_row(LedgerEntity.PAYMENT, payment.id).id) == "synced"
    remote = fake_qbo.objects["Payment"][payment.qb_payment_id]
    assert remote["PaymentRefNum"] == "pi_3ST7kQHf2mXv9Lp01a"[:21] and remote["TotalAmt"] == 79.0
    assert len(fake_qbo.objects["Invoice"]) == 1 and len(fake_qbo.objects["Customer"]) == 1


def test_the_periodic_sync_takes_back_a_push_left_in_flight_by_a_dead_worker(app, db_session, factory, connected,
                                                                            fake_qbo, monkeypatch):
    from datetime import UTC, datetime, timedelta

    from app.job_outbox.models import OutboxJob
    from app.quickbooks import jobs

    invoice, _ = make_invoice(factory)
    row = _row(LedgerEntity.CUSTOMER, invoice.company_id)
    row.state, row.started_at, row.attempts = LedgerState.IN_FLIGHT, datetime.now(UTC) - timedelta(seconds=30), 1
    db.session.commit()
    monkeypatch.setitem(app.config, "QBO_STUCK_AFTER_S", 120)
    assert jobs.periodic_sync()["asked"] == 1  # the invoice's row (pending); the customer's is not stuck yet
    assert push.process_row(row.id) == "not due"
    monkeypatch.setitem(app.config, "QBO_STUCK_AFTER_S", 10)
    before = db.session.scalar(select(func.count()).select_from(OutboxJob).where(
        OutboxJob.func == "app.quickbooks.jobs.push_row"))
    outcome = jobs.periodic_sync()
    assert outcome["asked"] == 2 and outcome["connected"] is True
    assert db.session.scalar(select(func.count()).select_from(OutboxJob).where(
        OutboxJob.func == "app.quickbooks.jobs.push_row")) == before + 2
    assert push.process_row(row.id) == "synced"
    db.session.refresh(row)
    assert row.attempts == 2


def test_pushes_wait_while_the_grant_is_dead_and_go_out_after_reconnecting(db_session, factory, connected, fake_qbo):
    from datetime import UTC, datetime, timedelta

    from app.quickbooks import jobs
    from app.quickbooks.models import ConnectionStatus
    from tests.integration.quickbooks.conftest import connect

    invoice, _ = make_invoice(factory)
    connected.access_expires_at = datetime.now(UTC) - timedelta(minutes=1)
    fake_qbo.refresh_tokens.clear()
    db.session.commit()
    row = _row(LedgerEntity.INVOICE, invoice.id)
    assert push.process_row(row.id).startswith("waiting")
    db.session.refresh(connected)
    assert connected.status is ConnectionStatus.DEAD
    assert jobs.periodic_sync() == {"connected": False}  # nothing asked of Intuit meanwhile
    assert _row(LedgerEntity.INVOICE, invoice.id).state is LedgerState.PENDING
    connect(fake_qbo)  # an admin reconnects
    assert push.process_row(row.id) == "synced"
    assert len(fake_qbo.objects["Invoice"]) == 1


def test_the_documented_answers_are_read_as_quickbooks_sends_them(db_session, factory, connected, fake_qbo):
    """Intuit's recorded create answers (tests/samples/quickbooks) for customer 58, invoice 1187
    and payment 1203, and a recorded CDC answer, through the same code."""
    from app.billing.payments import record_stripe_payment
    from app.quickbooks.pull import pull_items
    from tests.integration.quickbooks.fake_qbo import sample

    pull_items()
    invoice, _ = make_invoice(factory, company_name="Cool Breeze Heating & Air")
    payment = record_stripe_payment(invoice.id, payment_intent_id="pi_3ST7kQHf2mXv9Lp01aB4cD7e",
                                    amount_cents=230490, currency="usd")
    db.session.commit()
    fake_qbo.recorded.update({"customer": sample("customer-create-response.json"),
                              "invoice": sample("invoice-create-response.json"),
                              "payment": sample("payment-create-response.json")})
    assert push.process_row(_row(LedgerEntity.PAYMENT, payment.id).id) == "synced"
    db.session.refresh(invoice)
    assert (invoice.company.qb_customer_id, invoice.qb_invoice_id, payment.qb_payment_id) == ("58", "1187", "1203")

    fake_qbo.recorded["cdc"] = sample("cdc-response.json")  # invoice 1187 paid, item 21 changed
    outcome = pull_items()
    assert outcome["kind"] == "cdc" and outcome.get("updated") == 1
    from app.billing.models import Product

    assert db.session.scalar(select(Product).where(Product.qb_item_id == "21")).sku == "NS-300"


def test_a_refused_access_token_is_refreshed_on_the_next_attempt(db_session, factory, connected, fake_qbo):
    invoice, _ = make_invoice(factory)
    row = _row(LedgerEntity.CUSTOMER, invoice.company_id)
    fake_qbo.access_tokens.clear()  # revoked at Intuit before its hour was up
    assert push.process_row(row.id) == "retry"
    db.session.refresh(row)
    assert row.state is LedgerState.PENDING and "refused the access token" in row.last_error
    row.next_attempt_at = None
    db.session.commit()
    assert push.process_row(row.id) == "synced"
    assert fake_qbo.refresh_calls == 1


def test_a_refund_goes_out_from_the_configured_account_or_fails_for_a_person_without_one(
        app, db_session, factory, connected, fake_qbo, monkeypatch):
    from app.billing.payments import record_stripe_payment, record_stripe_refund

    def refund_row(charge):
        invoice, _ = make_invoice(factory, devices=1, monthly=None, shipping=None)
        record_stripe_payment(invoice.id, payment_intent_id=f"pi_{charge}", amount_cents=7900, currency="usd",
                              source="card")
        refund = record_stripe_refund(invoice.id, charge_id=f"ch_{charge}", payment_intent_id=f"pi_{charge}",
                                      amount_refunded_cents=1000, charge_amount_cents=7900, currency="usd")
        db.session.commit()
        return refund, _row(LedgerEntity.REFUND, refund.id)

    fake_qbo.objects["Account"]["36"] = {"Id": "36", "Name": "Savings", "AccountType": "Bank", "Active": True}
    monkeypatch.setitem(app.config, "QBO_REFUND_ACCOUNT_ID", "36")
    refund, row = refund_row("a")
    assert push.process_row(row.id) == "synced"
    assert fake_qbo.objects["RefundReceipt"][refund.qb_payment_id]["DepositToAccountRef"] == {"value": "36"}

    monkeypatch.setitem(app.config, "QBO_REFUND_ACCOUNT_ID", "")
    for account_id in [a for a, acc in fake_qbo.objects["Account"].items() if acc["AccountType"] == "Bank"]:
        del fake_qbo.objects["Account"][account_id]  # a company with no bank account
    refund, row = refund_row("b")
    assert push.process_row(row.id) == "failed"
    db.session.refresh(row)
    assert "no active Bank account" in row.last_error and "QBO_REFUND_ACCOUNT_ID" in row.last_error
    assert len(fake_qbo.objects["RefundReceipt"]) == 1  # never sent without an account
